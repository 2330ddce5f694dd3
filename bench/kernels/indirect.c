/* Call-heavy: call_indirect through a table of small functions chosen by data. */
#include "common.h"

typedef u32 (*op_fn)(u32, u32);

__attribute__((noinline)) static u32 op_add(u32 a, u32 b) { return a + b; }
__attribute__((noinline)) static u32 op_xor(u32 a, u32 b) { return a ^ (b * 0x9e3779b9u); }
__attribute__((noinline)) static u32 op_rot(u32 a, u32 b) { return (a << (b & 31)) | (a >> ((32 - b) & 31)); }
__attribute__((noinline)) static u32 op_mul(u32 a, u32 b) { return a * (b | 1); }
__attribute__((noinline)) static u32 op_sub(u32 a, u32 b) { return a - (b >> 3); }

/* volatile keeps the table in memory so every call is a real call_indirect. */
static op_fn volatile ops[8] = {op_add, op_xor, op_rot, op_mul, op_sub, op_add, op_xor, op_rot};

EXPORT("run") int run(int n) {
    u32 acc = 1, x = 12345;
    for (int i = 0; i < n; i++) {
        x = xorshift32(x);
        acc = ops[x & 7](acc, x);
    }
    return (int)acc;
}
