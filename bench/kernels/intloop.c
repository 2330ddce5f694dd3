/* Integer loops: 32-bit arithmetic, shifts and branches (Collatz step counts). */
#include "common.h"

EXPORT("run") int run(int n) {
    u32 total = 0;
    for (int i = 1; i <= n; i++) {
        u32 x = (u32)i;
        u32 steps = 0;
        while (x != 1) {
            x = (x & 1) ? 3 * x + 1 : x >> 1;
            steps++;
        }
        total = total * 31 + steps;
    }
    return (int)total;
}
