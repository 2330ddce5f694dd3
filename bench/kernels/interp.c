/* Dispatch-heavy: a small stack-machine interpreter whose switch compiles to br_table. */
#include "common.h"

enum { PUSH, ADD, SUB, MUL, DUP, SWAP, DROP, JNZ, DEC, XOR, SHR, HALT };

/* A program that loops `count` times mixing an accumulator; stack: [acc, count]. */
static const int program[] = {
    /* 0 */ SWAP, DUP, PUSH, -1640531535, MUL, XOR, DUP, PUSH, 13, SHR, XOR,
    /* 11 */ PUSH, 7, ADD, SWAP, DEC, DUP, JNZ, 0, DROP, HALT,
};

static int exec(int count) {
    int stack[64];
    int sp = 0, pc = 0;
    stack[sp++] = 1;
    stack[sp++] = count;
    for (;;) {
        int op = program[pc++];
        switch (op) {
        case PUSH: stack[sp++] = program[pc++]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] = (int)((u32)stack[sp - 1] * (u32)stack[sp]); break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case SWAP: { int t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; } break;
        case DROP: sp--; break;
        case JNZ: { int target = program[pc++]; if (stack[--sp]) pc = target; } break;
        case DEC: stack[sp - 1]--; break;
        case XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
        case SHR: sp--; stack[sp - 1] = (int)((u32)stack[sp - 1] >> stack[sp]); break;
        case HALT: return stack[sp - 1];
        default: return -1;
        }
    }
}

EXPORT("run") int run(int n) { return exec(n); }
