# Interactions (Vowpal Wabbit's -q / --cubic) crossed per row inside the
# loop: a CSR row reaches the row routines (``_dot``, the update) as its own
# values followed by their crosses, built in a scratch buffer right before
# they are used; the crossed rows never form a matrix. Included by sgd.pyx.
#
# The rows come with the namespace byte of each stored value (``ns``,
# parallel to the CSR indices). The crosses are made exactly as the two
# places that made them before the rows reached the loop did, so the row the
# routines see is bitwise the row they saw then:
#   * for each interaction in turn, VW's nested loops over the row's values
#     of its namespaces in the row's order (a namespace crossed with itself
#     from the same value on); index ``vw_cross2`` of the (masked) indices,
#     masked; a zero product dropped; duplicates kept, unsorted;
#   * ``single``: VW text (streamlr.io's parser): products in single
#     precision, of the values read as floats;
#   * else dict events (EventHasher): products in double, of the float64
#     values (``src`` when the row's values were rounded to float32).

from libc.stdint cimport uint8_t, uint32_t

from streamlr._kernels.hashing cimport vw_cross2

cdef enum:
    MAX_CROSSES = 64


cdef struct Cross:
    const uint8_t* ns       # namespace byte of each stored value of the CSR arrays
    const double* src       # the float64 values the products are made of, or NULL (the row's)
    uint32_t mask           # 2 ** bits - 1
    int n_inter
    uint8_t inter[MAX_CROSSES][3]
    int inter_len[MAX_CROSSES]
    bint single             # single-precision products (VW text)
    int* idx                # scratch: the crossed row (indices, values), grown as needed
    double* val             # (room for doubles; float rows use its first half)
    Py_ssize_t cap
    int* pos                # scratch: the row positions of each crossed namespace's values
    Py_ssize_t pos_cap
    bint failed             # out of memory


cdef int _cross_init(Cross* c, spec, Py_ssize_t nnz_total, Py_ssize_t n_features) except -1:
    """Fill ``c`` from ``spec`` = (ns uint8 array, src float64 array or None,
    interactions (bytes of 2 or 3 namespace bytes), single, bits), for CSR
    arrays of ``nnz_total`` stored values; no scratch yet (``_cross_free``)."""
    cdef cnp.ndarray ns, src
    cdef Py_ssize_t t, j
    c.idx, c.val, c.cap, c.failed = NULL, NULL, 0, False
    c.pos, c.pos_cap = NULL, 0
    ns_arr, src_arr, inters, single, bits = spec
    ns = ns_arr
    if (cnp.PyArray_TYPE(ns) != cnp.NPY_UINT8 or not cnp.PyArray_IS_C_CONTIGUOUS(ns)
            or ns.shape[0] < nnz_total):
        raise ValueError("the namespaces of a crossed row must be a contiguous uint8 array "
                         "of one byte per stored value")
    c.ns = <const uint8_t*>cnp.PyArray_DATA(ns)
    c.src = NULL
    if src_arr is not None:
        src = src_arr
        if (cnp.PyArray_TYPE(src) != cnp.NPY_FLOAT64 or not cnp.PyArray_IS_C_CONTIGUOUS(src)
                or src.shape[0] < nnz_total):
            raise ValueError("the float64 values of crossed rows must be contiguous, one per "
                             "stored value")
        c.src = <const double*>cnp.PyArray_DATA(src)
    if not 1 <= bits <= 31 or (<Py_ssize_t>1 << bits) != n_features:
        raise ValueError(f"crossed rows of 2**{bits} columns, the model has {n_features}")
    c.mask = <uint32_t>((1 << bits) - 1)
    if len(inters) > MAX_CROSSES:
        raise ValueError(f"at most {MAX_CROSSES} interactions")
    c.n_inter = len(inters)
    for t in range(c.n_inter):
        inter = inters[t]
        if len(inter) not in (2, 3):
            raise ValueError(f"an interaction crosses 2 or 3 namespaces, got {inter!r}")
        c.inter_len[t] = len(inter)
        for j in range(3):
            c.inter[t][j] = inter[j] if j < len(inter) else 0
    c.single = bool(single)
    return 0


cdef inline void _cross_free(Cross* c) noexcept nogil:
    free(c.idx)
    free(c.val)
    free(c.pos)
    c.idx, c.val, c.cap = NULL, NULL, 0
    c.pos, c.pos_cap = NULL, 0


cdef int _cross_reserve(Cross* c, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t cap = c.cap if c.cap > 0 else 256
    cdef void* p
    if n <= c.cap:
        return 0
    while cap < n:
        cap *= 2
    p = realloc(c.idx, cap * sizeof(int))
    if p == NULL:
        c.failed = True
        return -1
    c.idx = <int*>p
    p = realloc(c.val, cap * sizeof(double))
    if p == NULL:
        c.failed = True
        return -1
    c.val = <double*>p
    c.cap = cap
    return 0


cdef inline Py_ssize_t _ns_count(const uint8_t* ns, Py_ssize_t nnz, uint8_t a) noexcept nogil:
    cdef Py_ssize_t k, n = 0
    for k in range(nnz):
        n += ns[k] == a
    return n


cdef inline Py_ssize_t _ns_positions(const uint8_t* ns, Py_ssize_t nnz, uint8_t a,
                                     int* out) noexcept nogil:
    # the positions of the row's values in namespace a, in the row's order
    cdef Py_ssize_t k, n = 0
    for k in range(nnz):
        out[n] = <int>k
        n += ns[k] == a
    return n


cdef int cross_row(Cross* c, const floating* v, const int* idx, Py_ssize_t nnz,
                   Py_ssize_t base, const floating** v_out, const int** idx_out,
                   Py_ssize_t* nnz_out) noexcept nogil:
    """The CSR row (v, idx, nnz), whose values start at ``base`` in the
    arrays ``c`` describes, with its crosses appended, into ``c``'s scratch;
    -1 when out of memory (``c.failed``).

    Each interaction first lists the positions of its namespaces' values,
    then runs VW's nested loops over these lists (the same pairs in the same
    order as over the row, skipping the other namespaces). Every product is
    written, and the write position moves on only past a nonzero one."""
    cdef const uint8_t* ns = c.ns + base
    cdef const double* src = c.src + base if c.src != NULL else NULL
    cdef floating* out
    cdef int* oi
    cdef int* pa
    cdef int* pb
    cdef int* pd
    cdef Py_ssize_t bound = nnz, n, i, j, k, ca, cb, cc, ii, jj, kk
    cdef int t
    cdef uint8_t a, b, d
    cdef uint32_t ha, hab, mask = c.mask
    cdef float fa, fab, f
    cdef double da, dab, x
    cdef bint single = c.single
    cdef void* p
    for t in range(c.n_inter):
        ca = _ns_count(ns, nnz, c.inter[t][0])
        cb = _ns_count(ns, nnz, c.inter[t][1])
        n = ca * cb
        if c.inter_len[t] == 3:
            n *= _ns_count(ns, nnz, c.inter[t][2])
        bound += n
    # (a row without values still gets a buffer: a NULL index array means a dense row)
    if (bound > c.cap or c.idx == NULL) and _cross_reserve(c, bound if bound > 0 else 1) < 0:
        return -1
    if c.n_inter > 0 and 3 * nnz > c.pos_cap:
        p = realloc(c.pos, 3 * nnz * sizeof(int))
        if p == NULL:
            c.failed = True
            return -1
        c.pos = <int*>p
        c.pos_cap = 3 * nnz
    out = <floating*>c.val
    oi = c.idx
    memcpy(oi, idx, nnz * sizeof(int))
    for k in range(nnz):
        out[k] = v[k]
    n = nnz
    pa, pb, pd = c.pos, c.pos + nnz, c.pos + 2 * nnz
    for t in range(c.n_inter):
        a, b, d = c.inter[t][0], c.inter[t][1], c.inter[t][2]
        ca = _ns_positions(ns, nnz, a, pa)
        cb = _ns_positions(ns, nnz, b, pb)
        if c.inter_len[t] == 2:
            for ii in range(ca):
                i = pa[ii]
                ha = <uint32_t>idx[i]
                if single:
                    fa = <float>v[i]
                    for jj in range(ii if a == b else 0, cb):
                        j = pb[jj]
                        fab = fa * <float>v[j]
                        oi[n] = <int>(vw_cross2(ha, <uint32_t>idx[j]) & mask)
                        out[n] = <floating>(<double>fab)
                        n += fab != 0
                else:
                    da = src[i] if src != NULL else <double>v[i]
                    for jj in range(ii if a == b else 0, cb):
                        j = pb[jj]
                        dab = da * (src[j] if src != NULL else <double>v[j])
                        oi[n] = <int>(vw_cross2(ha, <uint32_t>idx[j]) & mask)
                        out[n] = <floating>dab
                        n += dab != 0
            continue
        cc = _ns_positions(ns, nnz, d, pd)
        for ii in range(ca):
            i = pa[ii]
            ha = <uint32_t>idx[i]
            fa = <float>v[i]
            da = src[i] if src != NULL else <double>v[i]
            for jj in range(ii if a == b else 0, cb):
                j = pb[jj]
                if single:
                    fab = fa * <float>v[j]
                else:
                    dab = da * (src[j] if src != NULL else <double>v[j])
                hab = vw_cross2(ha, <uint32_t>idx[j])
                for kk in range(jj if b == d else 0, cc):
                    k = pd[kk]
                    if single:
                        f = fab * <float>v[k]
                        x = f
                    else:
                        x = dab * (src[k] if src != NULL else <double>v[k])
                    oi[n] = <int>(vw_cross2(hab, <uint32_t>idx[k]) & mask)
                    out[n] = <floating>x
                    n += x != 0
    v_out[0] = out
    idx_out[0] = oi
    nnz_out[0] = n
    return 0


def cross_csr(values, indices, indptr, spec, Py_ssize_t n_features):
    """(values, indices, indptr) of the CSR rows with their crosses, as the
    loop crosses them (``spec`` as ``Engine.run_pass``'s ``cross``), the
    values in ``values``' dtype: the materialised matrix, for tests and
    the calls that take whole matrices."""
    cdef cnp.ndarray v = _np.ascontiguousarray(values)
    cdef cnp.ndarray ind = _np.ascontiguousarray(indices, dtype=_np.intc)
    cdef cnp.ndarray ptr = _np.ascontiguousarray(indptr, dtype=_np.intc)
    cdef Cross c
    cdef Py_ssize_t r, n_rows = ptr.shape[0] - 1, nnz, total = 0
    cdef const int* ip = <const int*>cnp.PyArray_DATA(ptr)
    cdef const int* io
    cdef const double* vo64
    cdef const float* vo32
    cdef bint f32 = cnp.PyArray_TYPE(v) == cnp.NPY_FLOAT32
    if not f32 and cnp.PyArray_TYPE(v) != cnp.NPY_FLOAT64:
        raise ValueError("values must be float32 or float64")
    _cross_init(&c, spec, ind.shape[0], n_features)
    out_ptr = _np.zeros(n_rows + 1, dtype=_np.intc)
    parts_i, parts_v = [], []
    try:
        for r in range(n_rows):
            if f32:
                if cross_row(&c, <const float*>cnp.PyArray_DATA(v) + ip[r],
                             <const int*>cnp.PyArray_DATA(ind) + ip[r], ip[r + 1] - ip[r], ip[r],
                             &vo32, &io, &nnz) < 0:
                    raise MemoryError()
                parts_v.append(_np.asarray(<const float[:nnz]>vo32).copy() if nnz
                               else _np.empty(0, _np.float32))
            else:
                if cross_row(&c, <const double*>cnp.PyArray_DATA(v) + ip[r],
                             <const int*>cnp.PyArray_DATA(ind) + ip[r], ip[r + 1] - ip[r], ip[r],
                             &vo64, &io, &nnz) < 0:
                    raise MemoryError()
                parts_v.append(_np.asarray(<const double[:nnz]>vo64).copy() if nnz
                               else _np.empty(0, _np.float64))
            parts_i.append(_np.asarray(<const int[:nnz]>io).copy() if nnz
                           else _np.empty(0, _np.intc))
            total += nnz
            out_ptr[r + 1] = total
    finally:
        _cross_free(&c)
    dtype = _np.float32 if f32 else _np.float64
    out_v = _np.concatenate(parts_v) if parts_v else _np.empty(0, dtype)
    out_i = _np.concatenate(parts_i) if parts_i else _np.empty(0, _np.intc)
    return out_v.astype(dtype, copy=False), out_i.astype(_np.intc, copy=False), out_ptr
