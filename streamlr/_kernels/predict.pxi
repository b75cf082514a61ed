# Predictions of the bound engine's events: the event read as learn_one
# reads it, then the one prediction routine of dot.pxi. Included by sgd.pyx,
# after engine.pxi.


cdef int _decide_event(Engine self, x, bint averaged, long long average, double* out) except -1:
    # one event (array, CSR row or dict) read as predict reads its rows (a
    # float64 row of a float32 model stays float64), by the one prediction
    # routine (dot.pxi) on the engine's view of the state
    cdef cnp.ndarray a = _event_dense(self, x, True, True)
    cdef cnp.ndarray data, ind
    if a is not None:
        return _decide_values(self, a, NULL, self.n_features, averaged, average, out)
    data, ind = _event_csr(self, x, True)
    return _decide_values(self, data, <const int*>cnp.PyArray_DATA(ind), data.shape[0],
                          averaged, average, out)


cdef int _decide_values(Engine self, cnp.ndarray values, const int* ix, Py_ssize_t nnz,
                        bint averaged, long long average, double* out) except -1:
    """The decision values of one row (``values``: float32 or float64, at
    the columns ``ix``, or dense), checked finite."""
    cdef const void* vp = cnp.PyArray_DATA(values)
    cdef bint v32 = cnp.PyArray_TYPE(values) == cnp.NPY_FLOAT32
    if not (_finite_values(<const float*>vp, nnz) if v32
            else _finite_values(<const double*>vp, nnz)):
        raise ValueError("Input X contains NaN or infinity.")
    if self.f32:
        if v32:
            _decide(&self.view, <const float*>self.view.weights, <const float*>vp, ix, nnz,
                    averaged, average, out)
        else:
            _decide(&self.view, <const float*>self.view.weights, <const double*>vp, ix, nnz,
                    averaged, average, out)
    elif v32:
        _decide(&self.view, <const double*>self.view.weights, <const float*>vp, ix, nnz,
                averaged, average, out)
    else:
        _decide(&self.view, <const double*>self.view.weights, <const double*>vp, ix, nnz,
                averaged, average, out)
    return 0


cdef double _numpy_sum(const double* a, Py_ssize_t n) noexcept nogil:
    """The sum of a[:n] in the order of NumPy's pairwise summation of a
    contiguous row of at most 128 numbers (one block: eight running sums
    over the multiples of 8, combined pairwise, then the rest in order), so
    that it is bitwise ``np.sum`` of the same numbers."""
    cdef double r[8]
    cdef double res
    cdef Py_ssize_t i, j
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    for j in range(8):
        r[j] = a[j]
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            r[j] += a[i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += a[i]
        i += 1
    return res
