# The one prediction routine. Every decision value the estimators return
# (predict_one / predict_proba_one of an event, predict / decision_function /
# predict_proba of a few rows or of a whole array, dense or CSR) is computed
# by ``_decide`` below on a ``ModelView`` of the model's state, so that a
# prediction is a function of the model and the row alone: not of the path,
# of the call's size, of whether an engine is bound, nor of what the model
# went through before (a failed call, a reload, set_params).
#
# The order of the arithmetic is fixed:
#   - coefficient j is computed from the state by the formulas of
#     materialize.pxi (coef_ = wscale * w rounded to the model's dtype, or
#     the averaged weight), so it is bitwise coef_[k, j];
#   - term j = coef_j * x_j in double (exact for a float32 model on float32
#     rows);
#   - the terms go to eight running sums by COLUMN: lane j % 8, in
#     increasing column order; a dense row adds its zeros, which changes no
#     sum, so a dense row and the same row in canonical CSR form (sorted
#     columns, no duplicates) give the same bits;
#   - the lanes are combined as ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7));
#   - the intercept is added in the output's dtype: float32 when both the
#     model and the rows are float32, float64 otherwise (NumPy's promotion
#     of ``X @ coef_.T + intercept_``);
#   - a rate race serves the share-weighted sum of its copies' values.
# The build uses -ffp-contract=off: no fused multiply-add anywhere, so the
# same bits on every path (and in both builds of the module).
# Included by sgd.pyx before engine.pxi.

ctypedef fused wreal:
    float
    double

ctypedef fused vreal:
    float
    double


cdef struct ModelView:
    # the model's state as the prediction routine reads it (problem k's
    # block at weights + off[k] elements, its coordinates cstride[k] apart)
    const char* weights
    const char* averages
    const long long* last_update
    const double* scalars
    Py_ssize_t d            # features
    const Py_ssize_t* off   # where each problem's block starts (ModelState.block_layout)
    const Py_ssize_t* cstride   # each problem's stride between coordinates
    Py_ssize_t averages_d, last_update_d
    int n_problems, copies, n_outputs
    bint f32
    bint plain                      # plain SGD learns every problem
    unsigned long long plain_mask   # else bit c: plain SGD learns copy c of a race


cdef int _fill_view(ModelView* m, cnp.ndarray blk, cnp.ndarray aw, cnp.ndarray stamp,
                    cnp.ndarray scal, cnp.ndarray off, cnp.ndarray cstride, Py_ssize_t d,
                    tuple plain_copies, int copies) except -1:
    """``m`` pointing into the arrays of a ModelState (which must outlive it);
    ``plain_copies``: whether plain SGD learns each copy (one entry without a
    race), which selects the average's formula per problem."""
    cdef cnp.ndarray a
    for a in (blk, aw, stamp, scal):
        if not cnp.PyArray_IS_C_CONTIGUOUS(a):
            raise ValueError("state arrays must be C-contiguous")
    if aw.ndim != 2 or stamp.ndim != 2 or scal.ndim != 2:
        raise ValueError("state arrays of the wrong rank")
    if blk.dtype not in (_np.float32, _np.float64) or aw.dtype != blk.dtype:
        raise ValueError("weights and averages must share a float32 or float64 dtype")
    if scal.dtype != _np.float64 or stamp.dtype != _np.int64 or scal.shape[1] < N_SLOTS:
        raise ValueError("scalars must be float64 (K, n_slots), last_update int64")
    m.n_problems = <int>scal.shape[0]
    if copies < 1 or m.n_problems % copies:
        raise ValueError(f"{copies} copies do not fit {m.n_problems} problems")
    if (off.dtype != _np.intp or cstride.dtype != _np.intp or off.ndim != 1 or cstride.ndim != 1
            or off.shape[0] != m.n_problems or cstride.shape[0] != m.n_problems
            or not cnp.PyArray_IS_C_CONTIGUOUS(off) or not cnp.PyArray_IS_C_CONTIGUOUS(cstride)):
        raise ValueError("one offset and stride (intp) per problem")
    if m.n_problems and d and (_np.min(off) < 0 or _np.min(cstride) < 1
                               or _np.max(off + (d - 1) * cstride) >= blk.size):
        raise ValueError("the problems' blocks do not fit the weights")
    m.copies = copies
    m.n_outputs = m.n_problems // copies
    m.f32 = blk.dtype == _np.float32
    m.plain = all(plain_copies)
    m.plain_mask = 0
    if not m.plain and any(plain_copies):
        if len(plain_copies) != copies or copies > 64:
            raise ValueError("a race of plain SGD and other rules holds at most 64 copies")
        for c in range(copies):
            if plain_copies[c]:
                m.plain_mask |= 1ULL << c
    m.d = d
    m.off = <const Py_ssize_t*>cnp.PyArray_DATA(off)
    m.cstride = <const Py_ssize_t*>cnp.PyArray_DATA(cstride)
    m.averages_d, m.last_update_d = aw.shape[1], stamp.shape[1]
    if (m.averages_d not in (0, m.d) or m.last_update_d not in (0, m.d)
            or (m.n_problems and (aw.shape[0] != m.n_problems or stamp.shape[0] != m.n_problems))):
        raise ValueError("averages and last_update must be (K, d) or (K, 0)")
    m.weights = <const char*>cnp.PyArray_DATA(blk)
    m.averages = <const char*>cnp.PyArray_DATA(aw)
    m.last_update = <const long long*>cnp.PyArray_DATA(stamp)
    m.scalars = <const double*>cnp.PyArray_DATA(scal)
    return 0


cdef inline wreal _coef_j(const wreal* w, const wreal* aw, const long long* stamp,
                          Py_ssize_t j, Py_ssize_t cs, int mode, wreal s0, wreal s1,
                          double n_last, long long average) noexcept nogil:
    # coefficient j as coef_ shows it (mode 0: the weights, 1: plain SGD's
    # average, 2: another optimizer's lazy average), materialize.pxi's formulas
    if mode == 0:
        return _coef(w[j * cs], s0)
    if mode == 1:
        return _plain_average(aw[j], w[j * cs], s0, s1)
    return _lazy_average(aw[j], w[j * cs], _n_avg(<double>stamp[j], average), n_last)


cdef inline double _lanes(const wreal* w, const wreal* aw, const long long* stamp,
                          const vreal* v, const int* idx, Py_ssize_t nnz, Py_ssize_t cs,
                          int mode, wreal s0, wreal s1, double n_last,
                          long long average) noexcept nogil:
    # sum of coef_j * x_j over the row in the fixed order (module comment)
    cdef double r[8]
    cdef Py_ssize_t k, j, q, nb
    for q in range(8):
        r[q] = 0.0
    if idx == NULL:
        nb = nnz - nnz % 8
        for k in range(0, nb, 8):
            for q in range(8):
                r[q] += (<double>_coef_j(w, aw, stamp, k + q, cs, mode, s0, s1, n_last, average)
                         * <double>v[k + q])
        for k in range(nb, nnz):
            r[k - nb] += (<double>_coef_j(w, aw, stamp, k, cs, mode, s0, s1, n_last, average)
                          * <double>v[k])
    else:
        for k in range(nnz):
            j = idx[k]
            r[j & 7] += (<double>_coef_j(w, aw, stamp, j, cs, mode, s0, s1, n_last, average)
                         * <double>v[k])
    return ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))


cdef void _decide(const ModelView* m, const wreal* w0, const vreal* v, const int* idx,
                  Py_ssize_t nnz, bint averaged, long long average, double* out) noexcept nogil:
    """The decision value of every binary problem for one row (``idx`` NULL:
    dense, ``nnz`` = d values; else CSR), into ``out`` (n_outputs). ``w0``
    is ``m.weights`` (its type selects the model's dtype)."""
    cdef Py_ssize_t d = m.d
    cdef int kk
    cdef double acc, b, value
    cdef wreal s0, s1
    cdef const wreal* w
    cdef const wreal* aw
    cdef const long long* stamp
    cdef const double* row
    cdef bint race = m.copies > 1
    cdef bint f32_out = wreal is float and vreal is float
    if race:
        for kk in range(m.n_outputs):
            out[kk] = 0.0
    for kk in range(m.n_problems):
        row = m.scalars + kk * N_SLOTS
        if race and row[SLOT_RACE_SHARE] == 0.0:
            continue
        w = w0 + m.off[kk]
        aw = <const wreal*>m.averages + kk * m.averages_d
        stamp = m.last_update + kk * m.last_update_d
        if not averaged:
            s0 = <wreal>row[SLOT_WSCALE]
            acc = _lanes(w, aw, stamp, v, idx, nnz, m.cstride[kk], 0, s0, s0, 0.0, average)
            b = row[SLOT_INTERCEPT]
        elif m.plain or (m.plain_mask >> (kk % m.copies)) & 1:
            s0 = <wreal>row[SLOT_AVG_A]
            s1 = <wreal>(1.0 / row[SLOT_AVG_B])
            acc = _lanes(w, aw, stamp, v, idx, nnz, m.cstride[kk], 1, s0, s1, 0.0, average)
            b = row[SLOT_AVG_INTERCEPT]
        else:
            acc = _lanes(w, aw, stamp, v, idx, nnz, m.cstride[kk], 2, 0, 0,
                         _n_avg(row[SLOT_T] - row[SLOT_CLOCK0] - 1.0, average), average)
            b = row[SLOT_AVG_INTERCEPT]
        if f32_out:
            value = <float>(<float>acc + <float>b)
        else:
            value = acc + <double><wreal>b
        if race:
            out[kk // m.copies] += row[SLOT_RACE_SHARE] * value
        else:
            out[kk] = value


cdef void _decide_block(const ModelView* m, const wreal* w0, const vreal* v, const int* ix,
                        const int* ip, Py_ssize_t n_rows, bint averaged, long long average,
                        double* out) noexcept nogil:
    # rows one after another, each by _decide (dense: ip NULL)
    cdef Py_ssize_t i, d = m.d, K = m.n_outputs
    for i in range(n_rows):
        if ip == NULL:
            _decide(m, w0, v + i * d, NULL, d, averaged, average, out + i * K)
        else:
            _decide(m, w0, v + ip[i], ix + ip[i], ip[i + 1] - ip[i], averaged, average,
                    out + i * K)


cdef int _decide_crossed(const ModelView* m, const vreal* v, const int* ix, const int* ip,
                         Py_ssize_t n_rows, bint averaged, long long average, double* o,
                         Cross* c, bint check_finite) noexcept nogil:
    # CSR rows each crossed (cross.pxi) right before the one prediction
    # routine reads it: -1 out of memory, -2 a crossed value not finite
    cdef const vreal* cv
    cdef const int* ci
    cdef Py_ssize_t i, nnz, K = m.n_outputs
    for i in range(n_rows):
        if cross_row(c, v + ip[i], ix + ip[i], ip[i + 1] - ip[i], ip[i], &cv, &ci, &nnz) < 0:
            return -1
        if check_finite and not _finite_values(cv, nnz):
            return -2
        if m.f32:
            _decide(m, <const float*>m.weights, cv, ci, nnz, averaged, average, o + i * K)
        else:
            _decide(m, <const double*>m.weights, cv, ci, nnz, averaged, average, o + i * K)
    return 0


cdef int _decide_rows_view(const ModelView* m, values, indices, indptr, Py_ssize_t n_rows,
                           bint averaged, long long average, double[:, ::1] out,
                           bint check_finite, cross=None) except -1:
    """Decision values of rows (values in float32 or float64; indptr empty:
    dense, n_rows * d values) into ``out`` (n_rows, n_outputs), without the
    GIL for large inputs; ``cross``: the interactions crossed into each CSR
    row (cross.pxi), or None."""
    cdef cnp.ndarray v = values, ind = indices, ptr = indptr
    cdef Py_ssize_t d = m.d
    cdef bint dense = ptr.shape[0] == 0
    cdef bint v32
    if out.shape[0] != n_rows or out.shape[1] != m.n_outputs:
        raise ValueError("out must be (n_rows, n_outputs)")
    if cnp.PyArray_TYPE(v) == cnp.NPY_FLOAT32:
        v32 = True
    elif cnp.PyArray_TYPE(v) == cnp.NPY_FLOAT64:
        v32 = False
    else:
        raise ValueError("values must be float32 or float64")
    if not cnp.PyArray_IS_C_CONTIGUOUS(v) or v.ndim != 1:
        raise ValueError("values must be a contiguous 1-D array")
    if dense and v.shape[0] != n_rows * d:
        raise ValueError("dense values must hold n_rows * n_features numbers")
    if not dense and ptr.shape[0] != n_rows + 1:
        raise ValueError("indptr must hold n_rows + 1 offsets")
    if not dense and (cnp.PyArray_TYPE(ind) != cnp.NPY_INT32
                      or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32
                      or not cnp.PyArray_IS_C_CONTIGUOUS(ind)
                      or not cnp.PyArray_IS_C_CONTIGUOUS(ptr)):
        raise ValueError("indices and indptr must be contiguous int32")
    cdef const int* ip = NULL if dense else <const int*>cnp.PyArray_DATA(ptr)
    cdef const int* ix = NULL if dense else <const int*>cnp.PyArray_DATA(ind)
    if not dense:
        _check_csr(ix, ind.shape[0], ip, n_rows, v.shape[0], d)
    cdef Py_ssize_t nnz = n_rows * d if dense else ip[n_rows]
    cdef const void* vp = cnp.PyArray_DATA(v)
    if check_finite and not (_finite_values(<const float*>vp, nnz) if v32
                             else _finite_values(<const double*>vp, nnz)):
        raise ValueError("Input X contains NaN or infinity.")
    if n_rows == 0:
        return 0
    cdef double* o = &out[0, 0]
    cdef Cross X
    cdef int rc
    if cross is not None:
        if dense:
            raise ValueError("interactions cross CSR rows")
        _cross_init(&X, cross, ind.shape[0], d)
        with nogil:
            if v32:
                rc = _decide_crossed(m, <const float*>vp, ix, ip, n_rows, averaged, average, o, &X,
                                     check_finite)
            else:
                rc = _decide_crossed(m, <const double*>vp, ix, ip, n_rows, averaged, average, o,
                                     &X, check_finite)
            _cross_free(&X)
        if rc == -1:
            raise MemoryError("no memory left to cross a row's interactions")
        if rc == -2:
            raise ValueError("Input X contains NaN or infinity.")
        return 0
    cdef bint nogil_ = (nnz + n_rows) * m.n_problems >= NOGIL_WORK
    if nogil_:
        with nogil:
            _decide_dispatch(m, vp, v32, ix, ip, n_rows, averaged, average, o)
    else:
        _decide_dispatch(m, vp, v32, ix, ip, n_rows, averaged, average, o)
    return 0


cdef void _decide_dispatch(const ModelView* m, const void* vp, bint v32, const int* ix,
                           const int* ip, Py_ssize_t n_rows, bint averaged, long long average,
                           double* o) noexcept nogil:
    if m.f32:
        if v32:
            _decide_block(m, <const float*>m.weights, <const float*>vp, ix, ip, n_rows,
                          averaged, average, o)
        else:
            _decide_block(m, <const float*>m.weights, <const double*>vp, ix, ip, n_rows,
                          averaged, average, o)
    else:
        if v32:
            _decide_block(m, <const double*>m.weights, <const float*>vp, ix, ip, n_rows,
                          averaged, average, o)
        else:
            _decide_block(m, <const double*>m.weights, <const double*>vp, ix, ip, n_rows,
                          averaged, average, o)


def decision_rows(state, values, indices, indptr, Py_ssize_t n_rows, bint averaged,
                  long long average, double[:, ::1] out, bint check_finite=True, cross=None):
    """Decision values of rows into ``out`` (n_rows, n_outputs), by the one
    prediction routine, reading the ModelState ``state`` directly (no
    engine, so no hyperparameter is validated). ``values`` float32 or
    float64 (the output's dtype is float32 only when both the model and the
    values are); ``indptr`` empty for dense rows (n_rows * d values);
    ``cross``: interactions crossed into each CSR row (cross.pxi), or None."""
    cdef ModelView m
    cdef cnp.ndarray blk = _np.ascontiguousarray(state.weight_blocks)
    cdef cnp.ndarray aw = _np.ascontiguousarray(state.average_weights)
    cdef cnp.ndarray stamp = _np.ascontiguousarray(state.last_update)
    cdef cnp.ndarray scal = _np.ascontiguousarray(state.scalars)
    off, cstride, _ = state.block_layout()
    _fill_view(&m, blk, aw, stamp, scal, off, cstride, state.n_features, state.plain_copies,
               state.copies)
    _decide_rows_view(&m, values, indices, indptr, n_rows, averaged, average, out, check_finite,
                      cross)
