"""CSR rows without SciPy, for the command line's training path."""
import numpy as np

__all__ = ["CSRRows"]


class CSRRows:
    """CSR rows without SciPy: ``data``, ``indices``, ``indptr``, ``shape``.

    What the command line's training path learns from (``streamlr train``
    imports neither SciPy nor scikit-learn): the kernels read it as they
    read a ``scipy.sparse.csr_matrix``.
    """

    format = "csr"
    ndim = 2

    def __init__(self, data, indices, indptr, shape):
        self.data, self.indices, self.indptr = data, indices, indptr
        self.shape = (int(shape[0]), int(shape[1]))

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def nnz(self):
        return int(self.indptr[-1] - self.indptr[0])

    def rows(self, lo, hi):
        """Rows lo:hi, sharing the values and indices (no copy)."""
        if lo == 0 and hi == self.shape[0]:
            return self
        a, b = self.indptr[lo], self.indptr[hi]
        return CSRRows(self.data[a:b], self.indices[a:b], self.indptr[lo:hi + 1] - a,
                       (hi - lo, self.shape[1]))

    def take(self, rows):
        """The rows at the positions ``rows`` (an int array), copied."""
        starts, ends = self.indptr[rows], self.indptr[np.asarray(rows) + 1]
        lengths = ends - starts
        indptr = np.zeros(len(lengths) + 1, dtype=self.indptr.dtype)
        np.cumsum(lengths, out=indptr[1:])
        pos = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return CSRRows(self.data[pos], self.indices[pos], indptr, (len(lengths), self.shape[1]))

    def tocsr(self):
        """The rows as a ``scipy.sparse.csr_matrix`` (imports SciPy)."""
        import scipy.sparse as sp

        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)
