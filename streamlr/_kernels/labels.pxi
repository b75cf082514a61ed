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


cdef Py_ssize_t _binary_targets(const label_t* y, Py_ssize_t n, const label_t* classes,
                                floating neg, floating* out, Py_ssize_t* n_pos) noexcept nogil:
    """The binary targets of ``y`` (1 for ``classes[1]``, ``neg`` for
    ``classes[0]``) and the count of the positive ones; returns the position
    of the first label that is neither, or -1."""
    cdef Py_ssize_t i, pos = 0
    cdef label_t c0 = classes[0], c1 = classes[1], v
    cdef bint one, other = False
    # no branch per label (random labels mispredict half of them): a select
    # and a count; a label of neither class is searched for afterwards
    for i in range(n):
        v = y[i]
        one = v == c1
        out[i] = 1 if one else neg
        pos += one
        other |= (not one) & (v != c0)
    if other:
        pos = 0
        for i in range(n):
            v = y[i]
            if v != c1 and v != c0:
                n_pos[0] = pos
                return i
            pos += v == c1
    n_pos[0] = pos
    return -1


cdef Py_ssize_t _binary_targets_as(const label_t* y, Py_ssize_t n, const label_t* classes,
                                   double neg, void* out, bint f32, Py_ssize_t* n_pos) noexcept nogil:
    if f32:
        return _binary_targets(y, n, classes, <float>neg, <float*>out, n_pos)
    return _binary_targets(y, n, classes, neg, <double*>out, n_pos)


def binary_targets(y, classes, double neg, dtype):
    """The targets of a binary problem straight from its labels, in one
    pass: ``label_indices`` and ``encode_targets`` (pos 1) without the
    index array. ``classes``: the two sorted classes. Returns
    ``(targets, n_pos, -1)``, ``(None, 0, position)`` of the first label
    not in ``classes``, or ``(None, 0, -1)`` when the dtypes are not one
    same numeric type (the caller then takes the general path)."""
    if (not cnp.PyArray_Check(y) or not cnp.PyArray_Check(classes) or y.dtype != classes.dtype
            or y.ndim != 1 or y.dtype.char not in "ilqfd" or classes.shape[0] != 2):
        return None, 0, -1
    y = _np.ascontiguousarray(y)
    classes = _np.ascontiguousarray(classes)
    cdef Py_ssize_t n = y.shape[0], bad, n_pos = 0
    out = _np.empty(n, dtype=dtype)
    cdef cnp.ndarray o = out, yy = y, cc = classes
    cdef int t = cnp.PyArray_TYPE(yy)
    cdef bint f32 = cnp.PyArray_TYPE(o) == cnp.NPY_FLOAT32
    cdef void* op = cnp.PyArray_DATA(o)
    if not f32 and cnp.PyArray_TYPE(o) != cnp.NPY_FLOAT64:
        raise ValueError("dtype must be float32 or float64")
    with nogil:
        if t == cnp.NPY_INT32:
            bad = _binary_targets_as(<const int*>cnp.PyArray_DATA(yy), n,
                                     <const int*>cnp.PyArray_DATA(cc), neg, op, f32, &n_pos)
        elif t == cnp.NPY_INT64 or t == cnp.NPY_LONGLONG:
            bad = _binary_targets_as(<const long long*>cnp.PyArray_DATA(yy), n,
                                     <const long long*>cnp.PyArray_DATA(cc), neg, op, f32, &n_pos)
        elif t == cnp.NPY_FLOAT32:
            bad = _binary_targets_as(<const float*>cnp.PyArray_DATA(yy), n,
                                     <const float*>cnp.PyArray_DATA(cc), neg, op, f32, &n_pos)
        else:
            bad = _binary_targets_as(<const double*>cnp.PyArray_DATA(yy), n,
                                     <const double*>cnp.PyArray_DATA(cc), neg, op, f32, &n_pos)
    return (out, n_pos, -1) if bad < 0 else (None, 0, bad)


ctypedef fused int_label_t:
    int
    long long


cdef Py_ssize_t _distinct(const int_label_t* y, Py_ssize_t n, int_label_t* seen,
                          Py_ssize_t cap) noexcept nogil:
    """The distinct values of ``y``, sorted, into ``seen``; returns their
    number, or -1 past ``cap`` of them."""
    cdef Py_ssize_t i, lo, hi, mid, m = 0, j
    cdef int_label_t v, last
    if n == 0:
        return 0
    seen[0] = y[0]
    m = 1
    last = y[0]
    for i in range(1, n):
        v = y[i]
        if v == last:       # runs of one label: no search
            continue
        last = v
        lo, hi = 0, m
        while lo < hi:
            mid = (lo + hi) >> 1
            if seen[mid] < v:
                lo = mid + 1
            else:
                hi = mid
        if lo < m and seen[lo] == v:
            continue
        if m == cap:
            return -1
        j = m
        while j > lo:
            seen[j] = seen[j - 1]
            j -= 1
        seen[lo] = v
        m += 1
    return m


def distinct_labels(y, Py_ssize_t cap=64):
    """``np.unique(y)`` of an integer label array in one pass (a sorted
    set of at most ``cap`` values), or None for other dtypes or more
    distinct values (the caller then sorts with NumPy)."""
    if not cnp.PyArray_Check(y) or y.ndim != 1 or y.dtype.char not in "ilq":
        return None
    y = _np.ascontiguousarray(y)
    seen = _np.empty(cap, dtype=y.dtype)
    cdef cnp.ndarray yy = y, ss = seen
    cdef Py_ssize_t n = y.shape[0], m
    cdef bint four = y.dtype.itemsize == 4
    if y.dtype.itemsize not in (4, 8):
        return None
    with nogil:
        if four:
            m = _distinct(<const int*>cnp.PyArray_DATA(yy), n, <int*>cnp.PyArray_DATA(ss), cap)
        else:
            m = _distinct(<const long long*>cnp.PyArray_DATA(yy), n,
                          <long long*>cnp.PyArray_DATA(ss), cap)
    return None if m < 0 else seen[:m].copy()


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
