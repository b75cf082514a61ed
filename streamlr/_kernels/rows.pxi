# Row access and the read-only coordinate helpers: the only code (with
# plain_sgd.pxi and optimizers.pxd) that knows how a row is stored.
#
# A row reaches the loop as (values, indices, nnz); ``indices == NULL`` marks
# a dense C-contiguous row, walked without an index gather. ``S`` is the
# stride between two weights (the optimizer's slots interleaved, else 1).
# Included by sgd.pyx.

cdef inline void row_at(const floating* values, const int* indices,
                        const int* indptr, Py_ssize_t n_features, Py_ssize_t r,
                        const floating** v, const int** idx,
                        Py_ssize_t* nnz) noexcept nogil:
    if indptr == NULL:          # dense: contiguous, no index array
        v[0] = values + r * n_features
        idx[0] = NULL
        nnz[0] = n_features
    else:
        v[0] = values + indptr[r]
        idx[0] = indices + indptr[r]
        nnz[0] = indptr[r + 1] - indptr[r]


cdef inline floating _dot(const floating* w, Py_ssize_t S, double wscale,
                          const floating* v, const int* idx, Py_ssize_t nnz) noexcept nogil:
    # Products in the input precision (as scikit-learn), summed in double over
    # eight independent chains, so the sum is not bound by the latency of one
    # register. It differs from scikit-learn's sequential sum only in the last
    # bits of a double (float32: almost never after the final rounding).
    # S is the stride between weights (optimizer state interleaved, else 1);
    # every path sums in the same order, so the layout never changes a result.
    # A dense row on unit stride (plain SGD's dense loop) is summed here,
    # small enough to be inlined into the loop (a call there spilled the
    # loop's registers on the chain from one row's update to the next row's
    # prediction); every other row by _dot_strided, in the same order.
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef double a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
    cdef Py_ssize_t k, m = nnz - nnz % 8
    if idx != NULL or S != 1:
        return _dot_strided(w, S, wscale, v, idx, nnz)
    for k in range(0, m, 8):
        a0 += w[k] * v[k]
        a1 += w[k + 1] * v[k + 1]
        a2 += w[k + 2] * v[k + 2]
        a3 += w[k + 3] * v[k + 3]
        a4 += w[k + 4] * v[k + 4]
        a5 += w[k + 5] * v[k + 5]
        a6 += w[k + 6] * v[k + 6]
        a7 += w[k + 7] * v[k + 7]
    for k in range(m, nnz):
        a0 += w[k] * v[k]
    # wscale is exactly 1.0 without an L2 penalty: skip the multiplication
    # (exact either way) to shorten the chain from one row's update to the
    # next row's prediction
    a0 = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    return <floating>(a0 if wscale == 1.0 else a0 * wscale)


# _dot_ahead's sums written with the compiler's vector types: GCC left the
# eight scalar chains of the Cython loop unvectorised (eight vmulsd and eight
# vaddsd a block of eight; the prefetch in the loop defeats its SLP pass). Lane
# l of ``lo`` is the sum a_l, lane l of ``hi`` a_(4 + l): each lane does what
# the scalar chain did (a product rounded, then an add rounded: no
# contraction, -ffp-contract=off), so the sum is bitwise the same; a build
# without AVX splits each 4-wide operation in two SSE2 halves, other
# compilers get the scalar loop.
cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    typedef double streamlr_v4d __attribute__((vector_size(32)));
    /* an unaligned load (a macro: a function returning a 32-byte vector
       draws GCC's ABI note -Wpsabi in the build without AVX) */
    #define streamlr_load4(p) __extension__ ({ streamlr_v4d r_; \
        __builtin_memcpy(&r_, (p), sizeof(r_)); r_; })
    static inline double streamlr_dot8_ahead(const double* w, const double* v,
                                             Py_ssize_t n, const double* ahead) {
        streamlr_v4d lo = {0.0, 0.0, 0.0, 0.0}, hi = {0.0, 0.0, 0.0, 0.0};
        Py_ssize_t k, m = n - n % 8;
        double a0;
        for (k = 0; k < m; k += 8) {
            lo += streamlr_load4(w + k) * streamlr_load4(v + k);
            hi += streamlr_load4(w + k + 4) * streamlr_load4(v + k + 4);
            __builtin_prefetch((const void*)(ahead + k), 0, 3);
        }
        a0 = lo[0];
        for (k = m; k < n; k++)
            a0 += w[k] * v[k];
        if (m < n)
            __builtin_prefetch((const void*)(ahead + m), 0, 3);
        __builtin_prefetch((const void*)(ahead + n - 1), 0, 3);
        return ((a0 + lo[1]) + (lo[2] + lo[3])) + ((hi[0] + hi[1]) + (hi[2] + hi[3]));
    }
    /* w += step * v (plain SGD's dense update, plain_sgd.pxi _add) and, in
       the same pass, the eight sums of the next row u at the new weights:
       each new weight is stored and multiplied by u from its register */
    static inline double streamlr_axpy_dot8(double* w, const double* v, double step,
                                            const double* u, Py_ssize_t n,
                                            const double* ahead) {
        streamlr_v4d lo = {0.0, 0.0, 0.0, 0.0}, hi = {0.0, 0.0, 0.0, 0.0};
        streamlr_v4d sv = {step, step, step, step}, a, b;
        Py_ssize_t k, m = n - n % 8;
        double a0, x;
        for (k = 0; k < m; k += 8) {
            a = streamlr_load4(w + k) + streamlr_load4(v + k) * sv;
            b = streamlr_load4(w + k + 4) + streamlr_load4(v + k + 4) * sv;
            __builtin_memcpy(w + k, &a, sizeof(a));
            __builtin_memcpy(w + k + 4, &b, sizeof(b));
            lo += a * streamlr_load4(u + k);
            hi += b * streamlr_load4(u + k + 4);
            __builtin_prefetch((const void*)(ahead + k), 0, 3);
        }
        a0 = lo[0];
        for (k = m; k < n; k++) {
            x = w[k] + v[k] * step;
            w[k] = x;
            a0 += x * u[k];
        }
        if (m < n)
            __builtin_prefetch((const void*)(ahead + m), 0, 3);
        __builtin_prefetch((const void*)(ahead + n - 1), 0, 3);
        return ((a0 + lo[1]) + (lo[2] + lo[3])) + ((hi[0] + hi[1]) + (hi[2] + hi[3]));
    }
    #else
    static inline double streamlr_dot8_ahead(const double* w, const double* v,
                                             Py_ssize_t n, const double* ahead) {
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0;
        Py_ssize_t k, m = n - n % 8;
        (void)ahead;
        for (k = 0; k < m; k += 8) {
            a0 += w[k] * v[k];
            a1 += w[k + 1] * v[k + 1];
            a2 += w[k + 2] * v[k + 2];
            a3 += w[k + 3] * v[k + 3];
            a4 += w[k + 4] * v[k + 4];
            a5 += w[k + 5] * v[k + 5];
            a6 += w[k + 6] * v[k + 6];
            a7 += w[k + 7] * v[k + 7];
        }
        for (k = m; k < n; k++)
            a0 += w[k] * v[k];
        return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
    }
    static inline double streamlr_axpy_dot8(double* w, const double* v, double step,
                                            const double* u, Py_ssize_t n,
                                            const double* ahead) {
        Py_ssize_t k;
        (void)ahead;
        for (k = 0; k < n; k++)
            w[k] = w[k] + v[k] * step;
        return streamlr_dot8_ahead(w, u, n, ahead);
    }
    #endif
    """
    double streamlr_dot8_ahead(const double* w, const double* v, Py_ssize_t n,
                               const double* ahead) noexcept nogil
    double streamlr_axpy_dot8(double* w, const double* v, double step, const double* u,
                              Py_ssize_t n, const double* ahead) noexcept nogil


cdef inline double _dot_ahead(const double* w, double wscale, const double* v,
                              Py_ssize_t nnz, const double* ahead) noexcept nogil:
    # _dot of a dense float64 row on unit stride (bitwise: the same products in
    # the same eight sums, the same order; streamlr_dot8_ahead above) that
    # asks, along the way, for the cache lines of a later row of nnz values,
    # ``ahead``: one line after each eight products, then the line of its
    # last value (a row need not start on a line). The same requests issued
    # in one burst before the dot (the dense loop until issue #20's chain
    # work) were 6-25% slower on 200,000 x 100 rows (bench/README.md):
    # thirteen prefetches at once fill the line-fill buffers and stall;
    # spread over the dot's loads they overlap the arithmetic. A hint: it
    # never changes a value. Plain SGD only: with it in _dot, the float32 and
    # the other rules' loops were compiled worse (10-15% slower), so they keep
    # the burst.
    cdef double a0 = streamlr_dot8_ahead(w, v, nnz, ahead)
    return a0 if wscale == 1.0 else a0 * wscale


cdef floating _dot_strided(const floating* w, Py_ssize_t S, double wscale,
                           const floating* v, const int* idx, Py_ssize_t nnz) noexcept nogil:
    # _dot of a CSR row or on a stride (the order of _dot's sums)
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef double a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
    cdef Py_ssize_t k, m = nnz - nnz % 8
    if idx == NULL:
        for k in range(0, m, 8):
            a0 += w[k * S] * v[k]
            a1 += w[(k + 1) * S] * v[k + 1]
            a2 += w[(k + 2) * S] * v[k + 2]
            a3 += w[(k + 3) * S] * v[k + 3]
            a4 += w[(k + 4) * S] * v[k + 4]
            a5 += w[(k + 5) * S] * v[k + 5]
            a6 += w[(k + 6) * S] * v[k + 6]
            a7 += w[(k + 7) * S] * v[k + 7]
        for k in range(m, nnz):
            a0 += w[k * S] * v[k]
    elif S == 1:
        # CSR rows on unit stride (plain SGD, dense-layout models): no index
        # multiply; the same sums in the same order as the general case
        for k in range(0, m, 8):
            a0 += w[idx[k]] * v[k]
            a1 += w[idx[k + 1]] * v[k + 1]
            a2 += w[idx[k + 2]] * v[k + 2]
            a3 += w[idx[k + 3]] * v[k + 3]
            a4 += w[idx[k + 4]] * v[k + 4]
            a5 += w[idx[k + 5]] * v[k + 5]
            a6 += w[idx[k + 6]] * v[k + 6]
            a7 += w[idx[k + 7]] * v[k + 7]
        for k in range(m, nnz):
            a0 += w[idx[k]] * v[k]
    else:
        for k in range(0, m, 8):
            a0 += w[idx[k] * S] * v[k]
            a1 += w[idx[k + 1] * S] * v[k + 1]
            a2 += w[idx[k + 2] * S] * v[k + 2]
            a3 += w[idx[k + 3] * S] * v[k + 3]
            a4 += w[idx[k + 4] * S] * v[k + 4]
            a5 += w[idx[k + 5] * S] * v[k + 5]
            a6 += w[idx[k + 6] * S] * v[k + 6]
            a7 += w[idx[k + 7] * S] * v[k + 7]
        for k in range(m, nnz):
            a0 += w[idx[k] * S] * v[k]
    # wscale is exactly 1.0 without an L2 penalty: skip the multiplication
    # (exact either way) to shorten the chain from one row's update to the
    # next row's prediction
    a0 = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    return <floating>(a0 if wscale == 1.0 else a0 * wscale)


cdef inline floating _dot_prefetch(const floating* w, Py_ssize_t S, double wscale,
                                   const floating* v, const int* idx, Py_ssize_t nnz,
                                   const int* ahead, Py_ssize_t n_ahead, Py_ssize_t last) noexcept nogil:
    # _dot of a CSR row (bitwise: the same products summed in the same eight
    # chains, in the same order) that asks, along the way, for the weight
    # blocks of a later row: ``ahead[:n_ahead]`` (its column indices), each
    # block's first line and, when ``last`` > 0, the line of its last slot
    # (w + j * S + last). On a weight vector bigger than the caches the loop
    # waits on memory (mostly on writing back the lines it dirties); the
    # same requests issued in one burst from a loop of their own before the
    # dot were 5-10% slower than spread over the dot's loads (bench/README.md:
    # 2^20 columns, 40 non-zeros).
    # Keep it inline: called as a function, GCC (knowing it uses no AVX) put
    # no vzeroupper before the call, and the upper halves left dirty by the
    # vectorised index check reached the loss's SSE code and libm: 3x slower.
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef double a4 = 0.0, a5 = 0.0, a6 = 0.0, a7 = 0.0
    cdef Py_ssize_t k, q, m = nnz - nnz % 8, done = 0
    cdef const floating* pb
    for k in range(0, m, 8):
        a0 += w[idx[k] * S] * v[k]
        a1 += w[idx[k + 1] * S] * v[k + 1]
        a2 += w[idx[k + 2] * S] * v[k + 2]
        a3 += w[idx[k + 3] * S] * v[k + 3]
        a4 += w[idx[k + 4] * S] * v[k + 4]
        a5 += w[idx[k + 5] * S] * v[k + 5]
        a6 += w[idx[k + 6] * S] * v[k + 6]
        a7 += w[idx[k + 7] * S] * v[k + 7]
        if k + 8 <= n_ahead:
            for q in range(k, k + 8):
                pb = w + ahead[q] * S
                streamlr_prefetch_w(pb)
                if last > 0:
                    streamlr_prefetch_w(pb + last)
            done = k + 8
    for k in range(m, nnz):
        a0 += w[idx[k] * S] * v[k]
    # the blocks of the later row not asked for yet (it is longer, or this
    # row was short)
    for q in range(done, n_ahead):
        pb = w + ahead[q] * S
        streamlr_prefetch_w(pb)
        if last > 0:
            streamlr_prefetch_w(pb + last)
    a0 = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    return <floating>(a0 if wscale == 1.0 else a0 * wscale)


cdef inline bint _indices_in_range(const int* idx, Py_ssize_t nnz,
                                   Py_ssize_t n_features) noexcept nogil:
    # one unsigned compare per index (a negative index wraps to a huge one);
    # no early exit, so the loop vectorises
    cdef Py_ssize_t k
    cdef unsigned int bad = 0, limit = <unsigned int>n_features
    for k in range(nnz):
        bad |= (<unsigned int>idx[k]) >= limit
    return bad == 0


cdef inline double _sqnorm(const floating* v, Py_ssize_t nnz) noexcept nogil:
    cdef double acc = 0.0, z
    cdef Py_ssize_t k
    for k in range(nnz):
        z = v[k]
        acc += z * z
    return acc


cdef inline bint _finite_values(const floating* v, Py_ssize_t n) noexcept nogil:
    # v * 0 is NaN for NaN or +-inf, else 0: one branch at the end; eight
    # independent sums, so that a large array is not bound by add latency
    cdef Py_ssize_t k, m = n - n % 8
    cdef floating a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0
    for k in range(0, m, 8):
        a0 += v[k] * 0
        a1 += v[k + 1] * 0
        a2 += v[k + 2] * 0
        a3 += v[k + 3] * 0
        a4 += v[k + 4] * 0
        a5 += v[k + 5] * 0
        a6 += v[k + 6] * 0
        a7 += v[k + 7] * 0
    for k in range(m, n):
        a0 += v[k] * 0
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) == 0
