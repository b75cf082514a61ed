"""Seeded data for the benchmark suite (``python -m bench``).

Every system sees the same arrays: a training stream and a held-out test set
drawn from the same distribution. Dense features are standard normal (already
standardised, so plain SGD with a constant rate learns); the hashed workload
imitates categorical fields hashed into 2**20 columns, with a heavy-tailed
(log-uniform) value frequency so that some features recur often enough to be
learned in one pass, and many are seen once or never.
"""
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

N_FIELDS = 40  # non-zeros per hashed row: one per categorical field


@dataclass
class Workload:
    """One learning problem: the stream, the held-out set and the step sizes."""

    name: str  # short key, e.g. "dense-clf"
    title: str  # human description for tables
    task: str  # "clf" (binary, labels 0/1) or "reg"
    X: object  # training rows: float64 ndarray or CSR matrix
    y: np.ndarray
    X_test: object
    y_test: np.ndarray
    lr: dict = field(default_factory=dict)  # optimizer name -> step size

    @property
    def sparse(self):
        return sp.issparse(self.X)

    @property
    def n_features(self):
        return self.X.shape[1]


def _split(X, y, n_train):
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def dense_classification(n, n_test, d=100, seed=0):
    """Labels from a random linear model plus noise (Bayes accuracy ~0.93)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + n_test, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = (X @ w + 0.3 * rng.standard_normal(n + n_test) > 0).astype(np.int64)
    X, y, X_test, y_test = _split(X, y, n)
    return Workload("dense-clf", f"dense {n:,}x{d} log_loss", "clf", X, y, X_test, y_test,
                    lr={"sgd": 0.01, "adam": 0.001})


def dense_regression(n, n_test, d=100, seed=1):
    """Targets from a random linear model plus noise (best R^2 = 0.8)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + n_test, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = X @ w + 0.5 * rng.standard_normal(n + n_test)
    X, y, X_test, y_test = _split(X, y, n)
    return Workload("dense-reg", f"dense {n:,}x{d} squared_error", "reg", X, y, X_test, y_test,
                    lr={"sgd": 0.01, "adam": 0.001})


def hashed_csr(n, n_test, n_features=2**20, seed=2):
    """Hashed categorical data: N_FIELDS fields, one value each per row.

    Field ``f`` has a vocabulary of ``n_features // N_FIELDS`` values whose
    frequency falls off as 1/rank; value ``r`` of field ``f`` lands in column
    ``perm[f * vocab + r]`` (a fixed random permutation of the columns, i.e. a
    collision-free hash), so every row has exactly N_FIELDS distinct columns.
    Stored values are 1/sqrt(N_FIELDS) (unit-norm rows).
    """
    rng = np.random.default_rng(seed)
    rows = n + n_test
    vocab = n_features // N_FIELDS
    rank = np.floor(vocab ** rng.random((rows, N_FIELDS))).astype(np.int64) - 1
    perm = rng.permutation(n_features)
    cols = perm[np.arange(N_FIELDS) * vocab + rank]
    cols.sort(axis=1)
    data = np.full(rows * N_FIELDS, 1.0 / np.sqrt(N_FIELDS))
    indptr = np.arange(0, rows * N_FIELDS + 1, N_FIELDS, dtype=np.int32)
    X = sp.csr_matrix((data, cols.ravel().astype(np.int32), indptr), shape=(rows, n_features))
    w = 2.0 * rng.standard_normal(n_features)
    y = (X @ w + 0.5 * rng.standard_normal(rows) > 0).astype(np.int64)
    X, y, X_test, y_test = _split(X, y, n)
    return Workload("csr", f"CSR {n:,}x2^{int(np.log2(n_features))}, {N_FIELDS} nnz/row log_loss",
                    "clf", X, y, X_test, y_test, lr={"sgd": 0.1, "adam": 0.01})


def row_dicts(X, n):
    """The first ``n`` rows as {column: value} dicts (River's input), non-zeros only."""
    if sp.issparse(X):
        X = X[:n]
        return [dict(zip(X.indices[X.indptr[i]:X.indptr[i + 1]].tolist(),
                         X.data[X.indptr[i]:X.indptr[i + 1]].tolist(), strict=True))
                for i in range(X.shape[0])]
    return [dict(enumerate(row)) for row in X[:n].tolist()]


def vw_lines(X, y, n, task):
    """The first ``n`` rows as Vowpal Wabbit text examples (``y=None``: unlabelled).

    Column j becomes feature ``j`` in namespace ``f``; VW uses an integer
    feature name as its own hash (plus the namespace's), so columns stay
    distinct. Classification labels are -1/+1.
    """
    out = []
    Xn = X[:n]
    for i in range(Xn.shape[0]):
        if sp.issparse(Xn):
            lo, hi = Xn.indptr[i], Xn.indptr[i + 1]
            pairs = zip(Xn.indices[lo:hi].tolist(), Xn.data[lo:hi].tolist(), strict=False)
        else:
            pairs = enumerate(Xn[i].tolist())
        feats = " ".join(f"{j}:{v:.9g}" for j, v in pairs)
        if y is None:
            label = ""
        elif task == "clf":
            label = "1" if y[i] else "-1"
        else:
            label = f"{y[i]:.9g}"
        out.append(f"{label} |f {feats}")
    return out
