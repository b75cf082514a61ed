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
    for kk in range(self.n_problems):
        w = <floating*>self.weights + kk * per
        aw = <floating*>self.averages + kk * self.averages_d
        row = self.scalars + kk * N_SLOTS
        acc = 0.0
        if not averaged:
            # coef_ is wscale * w (rounded to the dtype), as materialize does
            ws = <floating>row[SLOT_WSCALE]
            for k in range(nnz):
                j = k if idx == NULL else idx[k]
                acc += <floating>(w[j * self.cs] * ws) * <double>v[k]
            b = row[SLOT_INTERCEPT]
        elif self.plain:
            a = <floating>row[SLOT_AVG_A]
            binv = <floating>(1.0 / row[SLOT_AVG_B])
            for k in range(nnz):
                j = k if idx == NULL else idx[k]
                acc += <floating>((aw[j] + a * w[j]) * binv) * <double>v[k]
            b = row[SLOT_AVG_INTERCEPT]
        else:
            n_last = _n_avg(row[SLOT_T] - 1.0, average)
            for k in range(nnz):
                j = k if idx == NULL else idx[k]
                c = aw[j]
                n_prev = _n_avg(<double>self.last_update[kk * d + j], average)
                if n_last > n_prev:
                    c = <floating>(aw[j] + (n_last - n_prev) / n_last * (w[j * self.cs] - aw[j]))
                acc += c * <double>v[k]
            b = row[SLOT_AVG_INTERCEPT]
        out[kk] = <floating>acc + <floating>b
