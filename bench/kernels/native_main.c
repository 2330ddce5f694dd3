/* Native driver for one kernel: prints run(n) so the harness can check that every
 * wasm engine returns the same checksum as a native build of the same C code. */
#include <stdio.h>
#include <stdlib.h>

int run(int n);

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s N\n", argv[0]);
        return 2;
    }
    printf("%d\n", run(atoi(argv[1])));
    return 0;
}
