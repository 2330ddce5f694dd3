/* Floating point: escape-time Mandelbrot set over an n x n grid, f64 multiply-add chains. */
#include "common.h"

EXPORT("run") int run(int n) {
    u32 hash = 0;
    for (int py = 0; py < n; py++) {
        double ci = 2.0 * py / n - 1.0;
        for (int px = 0; px < n; px++) {
            double cr = 2.0 * px / n - 1.5;
            double zr = 0, zi = 0;
            int it = 0;
            while (it < 50 && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                it++;
            }
            hash = hash * 33 + (u32)it;
        }
    }
    return (int)hash;
}
