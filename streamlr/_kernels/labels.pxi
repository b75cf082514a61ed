# Per-call utilities of the estimators: label indices and the binary target
# encoding in one compiled pass each, and the CSR structure checks the loop
# relies on. Included by sgd.pyx.


cdef int _check_csr(const int* indices, Py_ssize_t n_indices, const int* indptr,
                    Py_ssize_t n_rows, Py_ssize_t n_values, Py_ssize_t n_features) except -1:
    """The structure the kernel trusts: a valid row pointer, indices in range."""
    cdef Py_ssize_t i, k
    if indptr[0] != 0:
        raise ValueError("invalid CSR matrix: indptr is not a valid row pointer")
    for i in range(n_rows):
        if indptr[i + 1] < indptr[i]:
            raise ValueError("invalid CSR matrix: indptr is not a valid row pointer")
    if indptr[n_rows] > n_indices or indptr[n_rows] > n_values:
        raise ValueError("invalid CSR matrix: indptr points past the stored values")
    if n_features < 0:
        return 0
    for k in range(indptr[n_rows]):
        if indices[k] < 0 or indices[k] >= n_features:
            raise ValueError(f"invalid CSR matrix: column indices must lie in [0, {n_features}), "
                             f"found {indices[k]}")
    return 0


cdef int _check_csr_indices(const int* indices, Py_ssize_t n, Py_ssize_t n_features) except -1:
    cdef Py_ssize_t k
    for k in range(n):
        if indices[k] < 0 or indices[k] >= n_features:
            raise ValueError(f"invalid CSR matrix: column indices must lie in [0, {n_features}), "
                             f"found {indices[k]}")
    return 0


# ---------------------------------------------------------------------------
# Per-call label work in one pass (the estimators' _label_index / _encode):
# at a few ns a row it is no longer a visible part of a partial_fit call.
# ---------------------------------------------------------------------------

ctypedef fused label_t:
    int
    long long
    float
    double


cdef Py_ssize_t _label_search(const label_t* y, Py_ssize_t n, const label_t* classes,
                              Py_ssize_t n_classes, Py_ssize_t* out) noexcept nogil:
    """Index of each y in the sorted ``classes`` by binary search; returns the
    position of the first label not found, or -1."""
    cdef Py_ssize_t i, lo, hi, mid
    cdef label_t v
    for i in range(n):
        v = y[i]
        lo, hi = 0, n_classes
        while lo < hi:
            mid = (lo + hi) >> 1
            if classes[mid] < v:
                lo = mid + 1
            else:
                hi = mid
        if lo == n_classes or not (classes[lo] == v):
            return i
        out[i] = lo
    return -1


def label_indices(y, classes):
    """Index of each label of ``y`` in the sorted ``classes`` (intp), or None
    when the dtypes are not one same numeric type (the caller then searches
    with NumPy). Raises ValueError naming the first unknown label's position
    through the returned sentinel: (None, position)."""
    if (not cnp.PyArray_Check(y) or not cnp.PyArray_Check(classes) or y.dtype != classes.dtype
            or y.ndim != 1 or y.dtype.char not in "ilqfd"):
        return None, -1
    y = _np.ascontiguousarray(y)
    classes = _np.ascontiguousarray(classes)
    cdef Py_ssize_t n = y.shape[0], k = classes.shape[0], bad
    out = _np.empty(n, dtype=_np.intp)
    cdef cnp.ndarray o = out, yy = y, cc = classes
    cdef Py_ssize_t* op = <Py_ssize_t*>cnp.PyArray_DATA(o)
    cdef int t = cnp.PyArray_TYPE(yy)
    with nogil:
        if t == cnp.NPY_INT32:
            bad = _label_search(<const int*>cnp.PyArray_DATA(yy), n, <const int*>cnp.PyArray_DATA(cc), k, op)
        elif t == cnp.NPY_INT64 or t == cnp.NPY_LONGLONG:
            bad = _label_search(<const long long*>cnp.PyArray_DATA(yy), n,
                                <const long long*>cnp.PyArray_DATA(cc), k, op)
        elif t == cnp.NPY_FLOAT32:
            bad = _label_search(<const float*>cnp.PyArray_DATA(yy), n,
                                <const float*>cnp.PyArray_DATA(cc), k, op)
        else:
            bad = _label_search(<const double*>cnp.PyArray_DATA(yy), n,
                                <const double*>cnp.PyArray_DATA(cc), k, op)
    return (out, -1) if bad < 0 else (None, bad)


def encode_targets(const Py_ssize_t[::1] label_idx, Py_ssize_t pos, double neg, dtype):
    """Targets of one binary problem: 1 where the label index is ``pos``,
    else ``neg``, in ``dtype`` (float32 or float64)."""
    cdef Py_ssize_t i, n = label_idx.shape[0]
    out = _np.empty(n, dtype=dtype)
    cdef cnp.ndarray o = out
    cdef float* of
    cdef double* od
    if cnp.PyArray_TYPE(o) == cnp.NPY_FLOAT32:
        of = <float*>cnp.PyArray_DATA(o)
        with nogil:
            for i in range(n):
                of[i] = 1.0 if label_idx[i] == pos else <float>neg
    elif cnp.PyArray_TYPE(o) == cnp.NPY_FLOAT64:
        od = <double*>cnp.PyArray_DATA(o)
        with nogil:
            for i in range(n):
                od[i] = 1.0 if label_idx[i] == pos else neg
    else:
        raise ValueError("dtype must be float32 or float64")
    return out


def check_csr(const int[::1] indices, const int[::1] indptr, Py_ssize_t n_values,
              Py_ssize_t n_features, bint check_indices=True):
    """Raise ValueError unless (indices, indptr) is a CSR structure the kernel
    can trust: indptr starts at 0 and never decreases, stays within the
    stored values, and (``check_indices``) every used index lies in
    [0, n_features). ``_epoch`` checks each row's indices itself before using
    them, so the training path skips that pass over all indices here."""
    if indptr.shape[0] == 0:
        raise ValueError("invalid CSR matrix: indptr is empty")
    _check_csr(&indices[0] if indices.shape[0] else NULL, indices.shape[0], &indptr[0],
               indptr.shape[0] - 1, n_values, n_features if check_indices else -1)
