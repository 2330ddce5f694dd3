/* Memory-heavy: fill an array with pseudo-random words, quicksort it, checksum it. */
#include "common.h"

#define MAX_LEN (1 << 22)
static u32 data[MAX_LEN];

static void quicksort(u32 *a, int lo, int hi) {
    while (hi - lo > 16) {
        u32 pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                u32 t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        /* Recurse into the smaller half, loop on the larger one. */
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
    for (int i = lo + 1; i <= hi; i++) {
        u32 v = a[i];
        int k = i - 1;
        while (k >= lo && a[k] > v) {
            a[k + 1] = a[k];
            k--;
        }
        a[k + 1] = v;
    }
}

/* Sorts `rounds` arrays of 2^20 words (fewer words when rounds is small, for quick runs). */
EXPORT("run") int run(int n) {
    int len = n < 64 ? n * 16384 : (1 << 20);
    int rounds = n < 64 ? 1 : n / 64;
    u32 x = 2463534242u, sum = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < len; i++) {
            x = xorshift32(x);
            data[i] = x;
        }
        quicksort(data, 0, len - 1);
        for (int i = 0; i < len; i += 97) sum = sum * 31 + data[i];
    }
    return (int)sum;
}
