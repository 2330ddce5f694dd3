/* Call-heavy: naive doubly recursive Fibonacci, direct calls only. */
#include "common.h"

__attribute__((noinline)) static u32 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

EXPORT("run") int run(int n) { return (int)fib((u32)n); }
