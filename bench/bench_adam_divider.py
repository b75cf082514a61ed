"""The divider bound of dense Adam (issue #20): how long the per-coordinate
square root and division of torch's Adam formula take per row of 100
features, compiled as the kernel's dense Adam loop is (optimizers.pxd
``step_adam``: ``-O3 -fno-math-errno -ffp-contract=off``, the AVX2 build's
``-mavx2``), next to the rest of the row's arithmetic. Every loop works on
arrays that stay in L1: this is the arithmetic alone, not memory.

The loop is C (below), written to a temporary folder, compiled with the C
compiler (``cc``, or ``$CC``) and run:

    python bench/bench_adam_divider.py [--d 100] [--rows 200000] [--flags "-mavx2"]

Loops (ns per row of d coordinates, CPU time, median of 7 runs):

* ``dot``: the eight-lane dot product of the loop (rows.pxi ``_dot``);
* ``adam``: the whole dense Adam update (moments, sqrt, division, weight);
* ``sqrt+div``: the update with only the sqrt and the division (the moments
  frozen but for one add, so that nothing can be hoisted);
* ``div``: the division but no sqrt; ``sqrt``: the sqrt but no division;
* ``neither``: the Adam update with the sqrt and the division replaced by
  multiplications (the arithmetic that is not the divider);
* ``sgd add``: plain SGD's row update (w += step * x), for scale.

Compare with the ``X @ w`` floor of ``bench_sgd.py`` (~55-60 ns a row of
100 float64 features on the development machine).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

SOURCE = r"""
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAXD 4096

static double w[MAXD], x[MAXD], m[MAXD], v[MAXD];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

__attribute__((noinline)) static double dot(long d) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    long k, mm = d - d % 8;
    for (k = 0; k < mm; k += 8) {
        a0 += w[k] * x[k];
        a1 += w[k + 1] * x[k + 1];
        a2 += w[k + 2] * x[k + 2];
        a3 += w[k + 3] * x[k + 3];
        a4 += w[k + 4] * x[k + 4];
        a5 += w[k + 5] * x[k + 5];
        a6 += w[k + 6] * x[k + 6];
        a7 += w[k + 7] * x[k + 7];
    }
    for (; k < d; k++) a0 += w[k] * x[k];
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
}

/* step_adam's dense loop, operation for operation */
__attribute__((noinline)) static void adam(long d, double gs, double c1, double inv_c2) {
    const double b2 = 0.999, a1 = 0.1, a2 = 0.001, eps = 1e-8, l2 = 0.0, decay = 1.0;
    for (long k = 0; k < d; k++) {
        double wj = w[k], g = gs * x[k] + l2 * wj, mk = m[k];
        mk = mk + a1 * (g - mk);
        double vk = b2 * v[k] + a2 * g * g;
        m[k] = mk;
        v[k] = vk;
        w[k] = wj * decay - c1 * m[k] / (sqrt(v[k]) * inv_c2 + eps);
    }
}

__attribute__((noinline)) static void sqrt_div(long d, double c1, double inv_c2) {
    for (long k = 0; k < d; k++) {
        v[k] = v[k] + 1e-12;
        w[k] = w[k] - c1 * m[k] / (sqrt(v[k]) * inv_c2 + 1e-8);
    }
}

__attribute__((noinline)) static void div_only(long d, double c1, double inv_c2) {
    for (long k = 0; k < d; k++) {
        v[k] = v[k] + 1e-12;
        w[k] = w[k] - c1 * m[k] / (v[k] * inv_c2 + 1e-8);
    }
}

__attribute__((noinline)) static void sqrt_only(long d, double c1, double inv_c2) {
    for (long k = 0; k < d; k++) {
        v[k] = v[k] + 1e-12;
        w[k] = w[k] - c1 * m[k] * (sqrt(v[k]) * inv_c2 + 1e-8);
    }
}

__attribute__((noinline)) static void neither(long d, double gs, double c1, double inv_c2) {
    const double b2 = 0.999, a1 = 0.1, a2 = 0.001, eps = 1e-8, l2 = 0.0, decay = 1.0;
    for (long k = 0; k < d; k++) {
        double wj = w[k], g = gs * x[k] + l2 * wj, mk = m[k];
        mk = mk + a1 * (g - mk);
        double vk = b2 * v[k] + a2 * g * g;
        m[k] = mk;
        v[k] = vk;
        w[k] = wj * decay - c1 * m[k] * (v[k] * inv_c2 + eps);
    }
}

__attribute__((noinline)) static void sgd_add(long d, double step) {
    for (long k = 0; k < d; k++) w[k] = w[k] + x[k] * step;
}

static int cmp(const void* a, const void* b) {
    double p = *(const double*)a, q = *(const double*)b;
    return (p > q) - (p < q);
}

static void reset(long d) {
    for (long k = 0; k < d; k++) {
        x[k] = sin(k + 1.0);
        w[k] = 1e-3 * cos(k + 2.0);
        m[k] = 1e-2 * sin(3.0 * k);
        v[k] = 1e-4 * (1.5 + cos(k));
    }
}

int main(int argc, char** argv) {
    long d = argc > 1 ? atol(argv[1]) : 100, rows = argc > 2 ? atol(argv[2]) : 200000;
    const char* names[] = {"dot", "adam", "sqrt+div", "div", "sqrt", "neither", "sgd add"};
    enum { NK = 7, RUNS = 7 };
    double t[NK][RUNS];
    if (d < 1 || d > MAXD) return 1;
    for (int r = 0; r < RUNS; r++) {
        for (int kk = 0; kk < NK; kk++) {
            reset(d);
            double acc = 0, t0 = now();
            for (long i = 0; i < rows; i++) {
                double gs = 1e-3 * (double)(i & 7) - 3e-3;
                switch (kk) {
                case 0: acc += dot(d); break;
                case 1: adam(d, gs, 1e-3, 1.0); break;
                case 2: sqrt_div(d, 1e-3, 1.0); break;
                case 3: div_only(d, 1e-3, 1.0); break;
                case 4: sqrt_only(d, 1e-3, 1.0); break;
                case 5: neither(d, gs, 1e-3, 1.0); break;
                case 6: sgd_add(d, gs); break;
                }
                KEEP(&acc);
            }
            t[kk][r] = (now() - t0) * 1e9 / rows;
        }
    }
    printf("d = %ld, %ld rows, ns per row (median of %d; min-max)\n", d, rows, RUNS);
    for (int kk = 0; kk < NK; kk++) {
        qsort(t[kk], RUNS, sizeof(double), cmp);
        printf("  %-9s %7.1f  (%.1f-%.1f)  %.2f ns per coordinate\n", names[kk], t[kk][RUNS / 2],
               t[kk][0], t[kk][RUNS - 1], t[kk][RUNS / 2] / d);
    }
    return 0;
}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--d", type=int, default=100, help="features per row")
    ap.add_argument("--rows", type=int, default=200_000, help="rows per timed run")
    ap.add_argument("--flags", default="-mavx2", help="extra compiler flags (the AVX2 build's)")
    args = ap.parse_args()
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("no C compiler found (set CC)")
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "adam_divider.c"), os.path.join(tmp, "adam_divider")
        with open(src, "w") as f:
            f.write(SOURCE)
        subprocess.run([cc, "-O3", "-fno-math-errno", "-ffp-contract=off", *args.flags.split(),
                        src, "-o", exe, "-lm"], check=True)
        subprocess.run([exe, str(args.d), str(args.rows)], check=True)


if __name__ == "__main__":
    main()
