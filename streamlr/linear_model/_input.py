"""Input checks of the training and prediction calls: once per call, never
per sample. X's finiteness and CSR column indices are checked by the kernel
as it reads each row (no separate pass over the data); these helpers check
the rest and convert X to the kernel's (values, indices, indptr) form.

SciPy is not imported here: a SciPy sparse matrix exists only once SciPy is
imported (``is_sparse``), and ``streamlr._csr.CSRRows`` carries the CSR rows
of the command line's readers without it.
"""
import numbers
import sys

import numpy as np

from .._csr import CSRRows
from .._kernels import kernel as _k

MAX_INT = np.iinfo(np.int32).max
_EMPTY_INT = np.empty(0, dtype=np.intc)


def is_sparse(X):
    """Whether X is CSR rows (``CSRRows``) or a SciPy sparse matrix, without
    importing SciPy."""
    if type(X) is CSRRows:
        return True
    sp = sys.modules.get("scipy.sparse")
    return sp is not None and sp.issparse(X)


def as_kernel_input(X, dtype=None):
    """(values, indices, indptr) of a dense or CSR X for the kernel, values in
    ``dtype`` (default: X's own), without a copy when X is in it already. The
    row pointer is checked here; the column indices are checked by the
    kernel, row by row, before it uses them (a bad one stops the pass and
    ``raise_if_row_invalid`` names it)."""
    if is_sparse(X):
        if (X.indptr.dtype != np.intc or X.indices.dtype != np.intc) and X.nnz > MAX_INT:
            raise ValueError("sparse input with more than 2**31 - 1 stored values")
        indices = np.ascontiguousarray(X.indices, dtype=np.intc)
        indptr = np.ascontiguousarray(X.indptr, dtype=np.intc)
        n, d = X.shape
        if indptr.shape[0] != n + 1:
            raise ValueError("invalid CSR matrix: indptr is not a valid row pointer")
        _k.check_csr(indices, indptr, X.data.shape[0], d, check_indices=False)
        return np.ascontiguousarray(X.data, dtype=dtype), indices, indptr
    return np.ascontiguousarray(X, dtype=dtype).reshape(-1), _EMPTY_INT, _EMPTY_INT


def touched_columns(indices, indptr, n_features):
    """The columns a pass over a CSR chunk can change: its distinct columns
    when there are few of them, else None (all). Snapshots and overflow
    checks then cost O(nnz), not O(n_features). Finding them costs a sort
    (~nnz log nnz), so it pays only when the chunk is much smaller than the
    weight vector; otherwise copying and checking everything is cheaper."""
    nnz = int(indptr[-1])
    if n_features <= 64 or nnz * 64 >= n_features:
        return None
    cols = np.sort(indices[:nnz])  # sort + mask: faster than np.unique here
    if nnz and (cols[0] < 0 or cols[-1] >= n_features):
        raise ValueError(f"invalid CSR matrix: column indices must lie in [0, {n_features}), "
                         f"found {cols[0] if cols[0] < 0 else cols[-1]}")
    if nnz > 1:
        cols = cols[np.concatenate(([True], cols[1:] != cols[:-1]))]
    return cols


def raise_if_row_invalid(X, r):
    """The kernel stops at a non-finite prediction, or a CSR row with a column
    index out of range: that is how such input is detected, without a
    separate pass over the data. Raise the ValueError that names it."""
    name = r
    if hasattr(X, "materialize"):   # CrossedRows: the row as the loop crossed it
        X, r = X[[r]].materialize(), 0
    if is_sparse(X):
        lo, hi = X.indptr[r], X.indptr[r + 1]
        row, cols = X.data[lo:hi], X.indices[lo:hi]
        bad = cols[(cols < 0) | (cols >= X.shape[1])]
        if bad.size:
            raise ValueError(f"invalid CSR matrix: column indices must lie in "
                             f"[0, {X.shape[1]}), found {bad[0]} (in row {name})")
    else:
        row = X[r]
    if not np.all(np.isfinite(row)):
        raise ValueError(f"Input X contains NaN or infinity (in row {name}).")


def check_validation_rows_finite(Xv):
    # validation rows are never read by the kernel: check them here
    if is_sparse(Xv):
        _k.check_csr(np.ascontiguousarray(Xv.indices, dtype=np.intc),
                     np.ascontiguousarray(Xv.indptr, dtype=np.intc), Xv.data.shape[0], Xv.shape[1])
    if not np.all(np.isfinite(Xv.data if is_sparse(Xv) else Xv)):
        raise ValueError("Input X contains NaN or infinity (in the validation rows).")


def check_targets_finite(y):
    if not np.all(np.isfinite(y)):
        raise ValueError("Input y contains NaN or infinity.")


def check_init_finite(coef_init, intercept_init):
    """fit's ``coef_init``/``intercept_init`` (in the model's dtype): finite."""
    for name, a in (("coef_init", coef_init), ("intercept_init", intercept_init)):
        if a is not None and not np.all(np.isfinite(a)):
            raise ValueError(f"Provided {name} contains NaN or infinity (in the model's "
                             f"dtype, {np.asarray(a).dtype}).")


def check_sample_weight(sample_weight, n_samples, dtype, allow_all_zero=False):
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        sw = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        sw = np.asarray(sample_weight)
        if sw.dtype.kind not in "biuf":
            raise ValueError(f"sample_weight must be numeric, got dtype {sw.dtype}")
        sw = np.ascontiguousarray(sw, dtype=dtype)
        if sw.ndim != 1:
            raise ValueError(
                f"Sample weights must be 1D array or scalar, got {sw.ndim}D array."
            )
        if sw.shape != (n_samples,):
            raise ValueError(
                f"sample_weight.shape == {sw.shape}, expected {(n_samples,)}!"
            )
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight contains NaN or infinity.")
    # negative weights are accepted, as scikit-learn does; all-zero weights not
    if not allow_all_zero and not np.any(sw):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sw
