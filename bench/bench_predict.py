"""Whole-array predictions: the one compiled prediction routine (issue #20
item 1) against the BLAS path it replaced (materialise coef_, then
``safe_sparse_dot(X, coef_.T) + intercept_``), on dense 200k x 100 and CSR
200k x 2^20 (40 non-zeros per row), float64 and float32. Median of repeats;
the CPU model is printed with the figures.

    python bench/bench_predict.py [--repeats 7]

Measured 2026-12-07 on an Intel(R) Xeon(R) Processor (2 shared cores, load
~7), median of 7, ms per call over 200k rows, routine / old BLAS path:
dense float64 68 / 74 (decision_function), 82 / 109 (predict); dense float32
36 / 37, 34 / 37; CSR float64 88 / 95, 98 / 99; CSR float32 70 / 68, 69 / 70.
"""
import argparse
import time

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import validate_data
from suite_report import cpu_model

from streamlr import SGDClassifier, SGDRegressor


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def blas_path(est, X):
    # what decision_function did before (7ab904f): validate, materialise, BLAS
    X = validate_data(est, X, accept_sparse="csr", reset=False)
    coef, intercept = est._model.materialize()
    return safe_sparse_dot(X, coef.T, dense_output=True) + intercept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.rows
    print(f"CPU: {cpu_model()}; median of {args.repeats}")
    Xd = rng.standard_normal((n, 100))
    d = 1 << 20
    cols = np.sort(rng.integers(0, d, size=(n, 40)), axis=1)
    Xs = sp.csr_matrix((rng.standard_normal(n * 40), cols.ravel(), np.arange(0, n * 40 + 1, 40)),
                       shape=(n, d))
    Xs.sum_duplicates()
    print(f"{'input':<12}{'model':<22}{'call':<20}{'routine ms':>12}{'BLAS ms':>10}{'ratio':>8}")
    for name, X in (("dense", Xd), ("csr", Xs)):
        y = (X[:, 0].toarray().ravel() if sp.issparse(X) else X[:, 0]) + rng.standard_normal(n) * 0.1
        for dtype in (np.float64, np.float32):
            Xt = X.astype(dtype)
            clf = SGDClassifier(loss="log_loss", shuffle=False, random_state=0).partial_fit(
                Xt[:20000], y[:20000] > 0, classes=[False, True])
            reg = SGDRegressor(shuffle=False, random_state=0).partial_fit(Xt[:20000], y[:20000])
            for est, call in ((clf, "decision_function"), (reg, "predict")):
                ours = median_time(lambda est=est, call=call, Xt=Xt: getattr(est, call)(Xt), args.repeats)
                blas = median_time(lambda est=est, Xt=Xt: blas_path(est, Xt), args.repeats)
                label = f"{type(est).__name__} {np.dtype(dtype).name}"
                print(f"{name:<12}{label:<22}{call:<20}{ours * 1e3:12.1f}{blas * 1e3:10.1f}"
                      f"{ours / blas:8.2f}")


if __name__ == "__main__":
    main()
