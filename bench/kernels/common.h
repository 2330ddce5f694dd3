/* Shared helpers for the benchmark kernels: exports and a tiny PRNG. */
#ifndef KILN_BENCH_COMMON_H
#define KILN_BENCH_COMMON_H

#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(name)))
#else
/* Native builds (the checksum reference) link the kernel with native_main.c. */
#define EXPORT(name) __attribute__((used))
#endif

typedef unsigned int u32;
typedef unsigned long long u64;

/* A 32-bit xorshift step, used to make deterministic input data. */
static inline u32 xorshift32(u32 x) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

/* The cheap export used by the startup benchmark: a first result that needs no work. */
EXPORT("cheap") int cheap(void) { return 42; }

#endif
