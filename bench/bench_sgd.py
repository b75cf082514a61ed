"""One epoch of plain SGD: streamlr vs scikit-learn, in the same process.

Each case trains a fresh model with one ``partial_fit`` call over the whole
matrix (one epoch, ``shuffle=False``), alternating scikit-learn and streamlr,
and reports the median wall time over ``--repeats`` runs, the throughput in
samples/s and the ratio streamlr / scikit-learn.

Rerun:  python bench/bench_sgd.py            (full size, a few minutes)
        python bench/bench_sgd.py --quick    (small sizes, seconds)
"""
import argparse
import platform
import time

import numpy as np
import scipy.sparse as sp
import sklearn
import sklearn.linear_model as skl

import streamlr


def make_dense(n, d, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (X[:, : d // 2].sum(axis=1) + rng.standard_normal(n) > 0).astype(int)
    return X, y


def make_csr(n, d, nnz_per_row, dtype, seed=0):
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.integers(0, d, size=(n, nnz_per_row)), axis=1)
    # drop duplicate columns within a row by nudging them (keeps nnz fixed)
    indices = (indices + np.arange(nnz_per_row)) % d
    indices.sort(axis=1)
    data = rng.standard_normal(n * nnz_per_row).astype(dtype)
    indptr = np.arange(0, n * nnz_per_row + 1, nnz_per_row)
    X = sp.csr_matrix((data, indices.ravel().astype(np.int32), indptr.astype(np.int32)),
                      shape=(n, d))
    y = (rng.standard_normal(n) > 0).astype(int)
    return X, y


def one_epoch(cls, X, y, loss):
    model = cls(loss=loss, shuffle=False, tol=None)
    start = time.perf_counter()
    model.partial_fit(X, y, classes=np.array([0, 1]))
    return time.perf_counter() - start, model


def run_case(name, X, y, loss, repeats):
    times = {"sklearn": [], "streamlr": []}
    models = {}
    for _ in range(repeats):  # alternate so that machine noise hits both
        for label, cls in (("sklearn", skl.SGDClassifier), ("streamlr", streamlr.SGDClassifier)):
            dt, models[label] = one_epoch(cls, X, y, loss)
            times[label].append(dt)
    n = X.shape[0]
    med = {k: float(np.median(v)) for k, v in times.items()}
    diff = np.max(np.abs(models["sklearn"].coef_ - models["streamlr"].coef_))
    ratio = med["sklearn"] / med["streamlr"]
    print(f"| {name:<34} | {loss:<8} | {n / med['sklearn']:>12,.0f} | "
          f"{n / med['streamlr']:>12,.0f} | {ratio:>5.2f}x | {diff:.1e} |", flush=True)
    return ratio


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    n, d, d_sparse = (20_000, 100, 2**16) if args.quick else (200_000, 100, 2**20)
    print(f"# streamlr {streamlr.__version__}, scikit-learn {sklearn.__version__}, "
          f"numpy {np.__version__}, {platform.processor() or platform.machine()}; "
          f"median of {args.repeats}")
    print("| case                               | loss     |  sklearn s/s | streamlr s/s | ratio "
          "| max|coef diff| |")
    print("|---|---|---:|---:|---:|---:|")
    cases = [
        (f"dense {n}x{d} float64", make_dense(n, d, np.float64)),
        (f"dense {n}x{d} float32", make_dense(n, d, np.float32)),
        (f"CSR {n}x2^{int(np.log2(d_sparse))}, 40 nnz/row", make_csr(n, d_sparse, 40, np.float64)),
    ]
    for name, (X, y) in cases:
        for loss in ("log_loss", "hinge"):
            run_case(name, X, y, loss, args.repeats)


if __name__ == "__main__":
    main()
