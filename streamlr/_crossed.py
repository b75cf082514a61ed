"""Rows whose interactions (Vowpal Wabbit's ``-q``/``--cubic``) are crossed
inside the learning loop, one row at a time, right before the row routines
use it (``streamlr/_kernels/cross.pxi``): the crossed rows never form a
matrix.

A :class:`CrossedRows` holds the hashed rows without their crosses (a CSR
matrix) and the namespace byte of each stored value; the readers of the
command line (``streamlr.io.open_stream``) and ``partial_fit`` / the
predictions of a list of namespaced dict events with ``interactions`` make
them. The crosses are bitwise those the parser and ``EventHasher`` append
(``materialize`` gives that matrix, for the calls that take one).
"""
import numpy as np

from ._csr import CSRRows
from ._kernels import kernel as _k


def _rows_like(X, data, indices, indptr, shape):
    """CSR rows of the kind ``X`` is: ``CSRRows`` (the command line's
    training path, without SciPy) or a ``scipy.sparse.csr_matrix``."""
    if type(X) is CSRRows:
        return CSRRows(data, indices, indptr, shape)
    import scipy.sparse as sp

    return sp.csr_matrix((data, indices, indptr), shape=shape)


class CrossedRows:
    """Hashed CSR rows with their interactions still to cross.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix or streamlr._csr.CSRRows of shape (n_rows, 2 ** bits)
        The rows' own features (rows taken from it and ``materialize`` are
        of the same kind).
    ns : ndarray of uint8
        The namespace byte of each stored value of ``X`` (parallel to
        ``X.indices``).
    interactions : tuple of bytes
        The crosses, each 2 or 3 namespace bytes, in VW's order.
    single : bool
        Products in single precision (VW text, as the parser reads it);
        else in double (dict events).
    bits : int
        ``X`` has ``2 ** bits`` columns.
    src : ndarray of float64, optional
        The float64 values the products are made of when ``X`` holds
        float32 values (dict events in a float32 model); None: ``X.data``.
    """

    __slots__ = ("X", "ns", "interactions", "single", "bits", "src")
    ndim = 2

    def __init__(self, X, ns, interactions, single, bits, src=None):
        self.X, self.ns, self.interactions = X, ns, tuple(interactions)
        self.single, self.bits, self.src = bool(single), int(bits), src

    @property
    def shape(self):
        """(n_rows, 2 ** bits)."""
        return self.X.shape

    @property
    def dtype(self):
        """The dtype of the rows' values."""
        return self.X.dtype

    def __len__(self):
        return self.X.shape[0]

    def spec(self, values_dtype):
        """The kernel's ``cross`` argument for rows whose values are in
        ``values_dtype`` (``Engine.run_pass``, ``decision_rows``)."""
        src = None
        if not self.single and np.dtype(values_dtype) != np.float64:
            src = self.src if self.src is not None else np.ascontiguousarray(
                self.X.data, dtype=np.float64)
        return (np.ascontiguousarray(self.ns, dtype=np.uint8), src, self.interactions,
                self.single, self.bits)

    def __getitem__(self, rows):
        """The rows ``rows`` (a slice or an array of row numbers or booleans)."""
        X = self.X
        if isinstance(rows, slice) and rows.step in (None, 1):
            lo, hi, _ = rows.indices(X.shape[0])
            hi = max(lo, hi)
            a, b = X.indptr[lo], X.indptr[hi]
            sub = _rows_like(X, X.data[a:b], X.indices[a:b], X.indptr[lo:hi + 1] - a,
                             (hi - lo, X.shape[1]))
            return CrossedRows(sub, self.ns[a:b], self.interactions, self.single, self.bits,
                               None if self.src is None else self.src[a:b])
        if isinstance(rows, slice):
            rows = np.arange(X.shape[0])[rows]
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        starts = X.indptr[rows].astype(np.intp)
        lens = X.indptr[rows + 1].astype(np.intp) - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.intc)
        np.cumsum(lens, out=indptr[1:])
        pos = np.repeat(starts - indptr[:-1], lens) + np.arange(indptr[-1], dtype=np.intp)
        sub = _rows_like(X, X.data[pos], X.indices[pos], indptr, (len(rows), X.shape[1]))
        src = None if self.src is None else self.src[pos]
        return CrossedRows(sub, self.ns[pos], self.interactions, self.single, self.bits, src)

    def materialize(self, dtype=None):
        """The crossed rows as a CSR matrix: what the parser or
        ``EventHasher`` made before the crossing moved into the loop.

        The values are in the rows' dtype, each row bitwise the row the loop
        crosses for a model of that dtype (its own values in their order,
        then the crosses in VW's order, duplicates kept); then converted to
        ``dtype`` by scipy's ``astype``, as a call converts a matrix to its
        model's dtype (each row's duplicates summed, its indices sorted)."""
        X = self.X
        values, indices, indptr = _k.cross_csr(
            np.ascontiguousarray(X.data), X.indices, X.indptr, self.spec(X.dtype), X.shape[1])
        out = _rows_like(X, values, indices, indptr, X.shape)
        if dtype is None or out.dtype == dtype:
            return out
        if type(out) is CSRRows:
            out = out.tocsr()
        return out.astype(dtype)

    def row_nnz(self, r):
        """The number of values of row ``r`` once crossed."""
        return int(self[[r]].materialize().nnz)


def crossed_events(events, bits, interactions):
    """A list of dict events as :class:`CrossedRows` (hashed in compiled code,
    crossed later)."""
    import scipy.sparse as sp

    from ._kernels._hashing import EventHasher

    data, indices, indptr, ns = EventHasher(bits, interactions).hash_rows(events, True)
    X = sp.csr_matrix((data, indices, indptr), shape=(len(events), 1 << bits))
    return CrossedRows(X, ns, interactions, False, bits)
