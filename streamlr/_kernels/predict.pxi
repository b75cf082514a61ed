# Predictions of the bound engine: the decision value of a row with the
# weights as coef_ shows them (coef_ = wscale * w rounded to the dtype, or
# the averaged weights), without materialising coef_. Included by sgd.pyx,
# after engine.pxi.


cdef int _decide_event(Engine self, x, bint averaged, long long average, double* out) except -1:
    cdef cnp.ndarray a = _event_dense(self, x, True)
    cdef cnp.ndarray data, ind
    if a is not None:
        if not (_finite_values(<const float*>cnp.PyArray_DATA(a), self.n_features) if self.f32
                else _finite_values(<const double*>cnp.PyArray_DATA(a), self.n_features)):
            raise ValueError("Input X contains NaN or infinity.")
        if self.f32:
            _decide_row(self, <const float*>cnp.PyArray_DATA(a), NULL, self.n_features, averaged,
                        average, out)
        else:
            _decide_row(self, <const double*>cnp.PyArray_DATA(a), NULL, self.n_features, averaged,
                        average, out)
        return 0
    data, ind = _event_csr(self, x)
    if not (_finite_values(<const float*>cnp.PyArray_DATA(data), data.shape[0]) if self.f32
            else _finite_values(<const double*>cnp.PyArray_DATA(data), data.shape[0])):
        raise ValueError("Input X contains NaN or infinity.")
    if self.f32:
        _decide_row(self, <const float*>cnp.PyArray_DATA(data), <const int*>cnp.PyArray_DATA(ind),
                    data.shape[0], averaged, average, out)
    else:
        _decide_row(self, <const double*>cnp.PyArray_DATA(data), <const int*>cnp.PyArray_DATA(ind),
                    data.shape[0], averaged, average, out)
    return 0


cdef void _decide_row(Engine self, const floating* v, const int* idx, Py_ssize_t nnz,
                      bint averaged, long long average, double* out) noexcept:
    cdef Py_ssize_t d = self.n_features, per = d * self.n_slots_blk, k, j
    cdef int kk
    cdef double acc, n_last, n_prev, b
    cdef floating c, a, binv, ws
    cdef floating* w
    cdef floating* aw
    cdef double* row
    cdef bint race = self.copies > 1
    if race:
        # a race serves the share-weighted sum of its copies' decision values
        for kk in range(self.n_outputs):
            out[kk] = 0.0
    for kk in range(self.n_problems):
        if race and self.scalars[kk * N_SLOTS + SLOT_RACE_SHARE] == 0.0:
            continue
        w = <floating*>self.weights + kk * per
        aw = <floating*>self.averages + kk * self.averages_d
        row = self.scalars + kk * N_SLOTS
        acc = 0.0
        if not averaged:
            ws = <floating>row[SLOT_WSCALE]
            for k in range(nnz):
                j = k if idx == NULL else idx[k]
                acc += _coef(w[j * self.cs], ws) * <double>v[k]
            b = row[SLOT_INTERCEPT]
        elif self.plain:
            a = <floating>row[SLOT_AVG_A]
            binv = <floating>(1.0 / row[SLOT_AVG_B])
            for k in range(nnz):
                j = k if idx == NULL else idx[k]
                acc += _plain_average(aw[j], w[j], a, binv) * <double>v[k]
            b = row[SLOT_AVG_INTERCEPT]
        else:
            n_last = _n_avg(row[SLOT_T] - row[SLOT_CLOCK0] - 1.0, average)
            for k in range(nnz):
                j = k if idx == NULL else idx[k]
                n_prev = _n_avg(<double>self.last_update[kk * d + j], average)
                c = _lazy_average(aw[j], w[j * self.cs], n_prev, n_last)
                acc += c * <double>v[k]
            b = row[SLOT_AVG_INTERCEPT]
        if race:
            out[kk // self.copies] += row[SLOT_RACE_SHARE] * <double>(<floating>acc + <floating>b)
        else:
            out[kk] = <floating>acc + <floating>b


cdef int _decide_rows(Engine self, values, indices, indptr, Py_ssize_t n_rows, bint averaged,
                      long long average, double[:, ::1] out) except -1:
    """Decision values of a few validated rows into ``out`` (n_rows, K)."""
    cdef cnp.ndarray v = values, ind = indices, ptr = indptr
    cdef Py_ssize_t i, d = self.n_features
    cdef bint dense = ptr.shape[0] == 0
    if out.shape[0] != n_rows or out.shape[1] != self.n_outputs:
        raise ValueError("out must be (n_rows, n_outputs)")
    if cnp.PyArray_TYPE(v) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64):
        raise ValueError("values must have the model's dtype")
    if dense and v.shape[0] != n_rows * d:
        raise ValueError("dense values must hold n_rows * n_features numbers")
    if not dense and ptr.shape[0] != n_rows + 1:
        raise ValueError("indptr must hold n_rows + 1 offsets")
    if not dense and (cnp.PyArray_TYPE(ind) != cnp.NPY_INT32
                      or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32):
        raise ValueError("indices and indptr must be int32")
    cdef const int* ip = NULL if dense else <const int*>cnp.PyArray_DATA(ptr)
    cdef const int* ix = NULL if dense else <const int*>cnp.PyArray_DATA(ind)
    if not dense:
        _check_csr(ix, ind.shape[0], ip, n_rows, v.shape[0], d)
    cdef Py_ssize_t nnz = n_rows * d if dense else ip[n_rows]
    if not (_finite_values(<const float*>cnp.PyArray_DATA(v), nnz) if self.f32
            else _finite_values(<const double*>cnp.PyArray_DATA(v), nnz)):
        raise ValueError("Input X contains NaN or infinity.")
    for i in range(n_rows):
        if self.f32:
            if dense:
                _decide_row(self, <const float*>cnp.PyArray_DATA(v) + i * d, NULL, d,
                            averaged, average, &out[i, 0])
            else:
                _decide_row(self, <const float*>cnp.PyArray_DATA(v) + ip[i], ix + ip[i],
                            ip[i + 1] - ip[i], averaged, average, &out[i, 0])
        else:
            if dense:
                _decide_row(self, <const double*>cnp.PyArray_DATA(v) + i * d, NULL, d,
                            averaged, average, &out[i, 0])
            else:
                _decide_row(self, <const double*>cnp.PyArray_DATA(v) + ip[i], ix + ip[i],
                            ip[i + 1] - ip[i], averaged, average, &out[i, 0])
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
