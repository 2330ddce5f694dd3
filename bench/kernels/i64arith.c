/* 64-bit arithmetic: multiply, divide, remainder and rotates on u64 (modular powers). */
#include "common.h"

static u64 mulmod(u64 a, u64 b, u64 m) {
    /* Schoolbook multiply by doubling: 64-bit adds, compares and shifts. */
    u64 r = 0;
    a %= m;
    while (b) {
        if (b & 1) {
            r += a;
            if (r >= m) r -= m;
        }
        a <<= 1;
        if (a >= m) a -= m;
        b >>= 1;
    }
    return r;
}

static u64 powmod(u64 base, u64 exp, u64 m) {
    u64 r = 1;
    while (exp) {
        if (exp & 1) r = mulmod(r, base, m);
        base = mulmod(base, base, m);
        exp >>= 1;
    }
    return r;
}

EXPORT("run") int run(int n) {
    const u64 m = 0x7fffffffffffffe7ull; /* a large prime below 2^63 */
    u64 acc = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < n; i++) {
        u64 x = powmod(acc | 1, (u64)i + 12345, m);
        acc = (acc << 7 | acc >> 57) ^ x;
        acc += x / ((u64)i + 3);
    }
    return (int)(acc ^ (acc >> 32));
}
