"""Plain SGD on CSR rows against scikit-learn, by size of the weight vector.

200,000 rows of 40 uniformly random columns among 2^10 ... 2^23 (8 KB to
64 MB of weights), hinge loss, constant rate, one partial_fit on a fresh
model per run (validation included); systems alternate, median of 5.
Small weight vectors show the per-sample compute, large ones the memory.

Rerun:  PYTHONPATH=. python bench/bench_csr_sizes.py
"""
import time

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier as SklearnSGD

from streamlr import SGDClassifier


def main(n=200_000, nnz=40, repeats=5):
    rng = np.random.default_rng(0)
    print("| features | streamlr ns/sample | scikit-learn ns/sample | ratio |")
    print("|---|---:|---:|---:|")
    for bits in (10, 16, 20, 23):
        d = 1 << bits
        cols = np.sort(rng.integers(0, d, size=(n, nnz)).astype(np.int32), axis=1)
        X = sp.csr_matrix((rng.standard_normal(n * nnz), cols.ravel(),
                           np.arange(0, n * nnz + 1, nnz)), shape=(n, d))
        y = rng.integers(0, 2, n)
        times = {"streamlr": [], "sklearn": []}
        for _ in range(repeats):
            for name, cls in (("streamlr", SGDClassifier), ("sklearn", SklearnSGD)):
                model = cls(loss="hinge", shuffle=False, learning_rate="constant", eta0=0.01)
                t0 = time.perf_counter()
                model.partial_fit(X, y, classes=[0, 1])
                times[name].append(time.perf_counter() - t0)
        ours, theirs = np.median(times["streamlr"]), np.median(times["sklearn"])
        print(f"| 2^{bits} | {ours / n * 1e9:.0f} | {theirs / n * 1e9:.0f} | {theirs / ours:.2f}x |")


if __name__ == "__main__":
    main()
