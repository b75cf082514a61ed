# scikit-learn's plain SGD update on the scaled weight representation
# (``wscale * w``, Bottou's trick), averaging (Bottou 2012) and the L1
# cumulative penalty (Tsuruoka et al. 2009), each O(nnz of the row) except the
# rare fold of the scale into every weight. Included by sgd.pyx.
#
# The weight of coordinate j is ``w[j * S]``. S = 1 in every model of plain
# SGD alone: the inline functions below keep their unit-stride loops (the
# compiler vectorises the dense ones) and test S once per call. S > 1 for a
# plain SGD copy of a race of different rules interleaved with every copy's
# block the widest rule's (optimizer="auto" on CSR rows, as saved before
# each copy took its own rule's width, which is 1 for plain SGD); those rows
# go to the ``_strided`` twins, the same arithmetic on ``w[j * S]``, not
# inline so that their code stays out of the loop. The averaging state
# ``aw`` and the L1 state ``q`` are arrays of their own, always contiguous.

cdef inline void _add(floating* w, Py_ssize_t S, Scalars* s, const floating* v,
                      const int* idx, Py_ssize_t nnz, floating c,
                      bint track_norms) noexcept nogil:
    # w += c * x in the scaled representation
    if S != 1:
        _add_strided(w, S, s, v, idx, nnz, c, track_norms)
        return
    cdef floating wscale = <floating>s.wscale
    # c / 1.0 == c exactly: without an L2 penalty this saves a division on the
    # path from the loss derivative to the next row's prediction
    cdef floating step = c if wscale == 1 else c / wscale
    cdef double l2 = 0.0, l1 = 0.0, val
    cdef Py_ssize_t k, j
    if not track_norms:
        if idx == NULL:
            for k in range(nnz):
                w[k] = w[k] + <double>v[k] * step
        else:
            for k in range(nnz):
                j = idx[k]
                w[j] = w[j] + <double>v[k] * step
        return
    # scikit-learn's running norms, used only by the tol stopping rule: they
    # cover the coordinates of the last row added (all of them when dense)
    for k in range(nnz):
        j = k if idx == NULL else idx[k]
        val = v[k]
        w[j] = w[j] + val * step
        l2 += w[j] * w[j]
        l1 += fabs(w[j])
    s.sq_norm = l2 * (wscale * wscale)
    s.l1_norm = l1 * wscale


cdef inline void _add_average(floating* aw, Scalars* s, const floating* v,
                              const int* idx, Py_ssize_t nnz, floating c,
                              floating num_iter) noexcept nogil:
    # Bottou's sparse averaging: aw only moves on the row's coordinates
    cdef double mu = 1.0 / num_iter
    cdef double wscale = s.wscale
    cdef double coef = -c / wscale
    cdef Py_ssize_t k, j
    for k in range(nnz):
        j = k if idx == NULL else idx[k]
        aw[j] += (s.average_a * <double>v[k] * coef)
    if num_iter > 1:
        s.average_b /= (1.0 - mu)
    s.average_a += mu * s.average_b * wscale


cdef inline void _reset_wscale(floating* w, Py_ssize_t S, floating* aw, Scalars* s,
                               Py_ssize_t n_features) noexcept nogil:
    # fold wscale (and the averaging coefficients) into the arrays: O(n_features),
    # but only when wscale underflows, as scikit-learn does
    cdef Py_ssize_t j
    cdef floating a, binv, ws
    if S != 1:
        _reset_wscale_strided(w, S, aw, s, n_features)
        return
    if aw != NULL:
        a = <floating>s.average_a
        binv = <floating>(1.0 / s.average_b)
        for j in range(n_features):
            aw[j] = (aw[j] + a * w[j]) * binv
        s.average_a = 0.0
        s.average_b = 1.0
    ws = <floating>s.wscale
    for j in range(n_features):
        w[j] *= ws
    s.wscale = 1.0


cdef inline void _scale(floating* w, Py_ssize_t S, floating* aw, Scalars* s, floating c,
                        Py_ssize_t n_features, double threshold) noexcept nogil:
    s.wscale *= c
    s.sq_norm *= (c * c)
    s.l1_norm *= fabs(c)
    if s.wscale < threshold:
        _reset_wscale(w, S, aw, s, n_features)


cdef inline void _l1_truncate(floating* w, Py_ssize_t S, floating* q, Scalars* s,
                              const int* idx, Py_ssize_t nnz) noexcept nogil:
    # Tsuruoka et al. (2009): clip each touched weight towards zero by the
    # penalty it has not received yet, never across zero
    cdef double wscale = s.wscale, u = s.u, z
    cdef Py_ssize_t k, j
    if S != 1:
        _l1_truncate_strided(w, S, q, s, idx, nnz)
        return
    for k in range(nnz):
        j = k if idx == NULL else idx[k]
        z = w[j]
        if wscale * z > 0.0:
            w[j] = max(0.0, w[j] - ((u + q[j]) / wscale))
        elif wscale * z < 0.0:
            w[j] = min(0.0, w[j] + ((u - q[j]) / wscale))
        q[j] += wscale * (w[j] - z)


# -- the same on a stride (a plain SGD copy of an interleaved race) ----------------

cdef void _add_strided(floating* w, Py_ssize_t S, Scalars* s, const floating* v,
                       const int* idx, Py_ssize_t nnz, floating c,
                       bint track_norms) noexcept nogil:
    # _add with coordinate j's weight at w[j * S]
    cdef floating wscale = <floating>s.wscale
    cdef floating step = c if wscale == 1 else c / wscale
    cdef double l2 = 0.0, l1 = 0.0, val
    cdef Py_ssize_t k, j
    if not track_norms:
        for k in range(nnz):
            j = (k if idx == NULL else idx[k]) * S
            w[j] = w[j] + <double>v[k] * step
        return
    for k in range(nnz):
        j = (k if idx == NULL else idx[k]) * S
        val = v[k]
        w[j] = w[j] + val * step
        l2 += w[j] * w[j]
        l1 += fabs(w[j])
    s.sq_norm = l2 * (wscale * wscale)
    s.l1_norm = l1 * wscale


cdef void _reset_wscale_strided(floating* w, Py_ssize_t S, floating* aw, Scalars* s,
                                Py_ssize_t n_features) noexcept nogil:
    # _reset_wscale with coordinate j's weight at w[j * S]
    cdef Py_ssize_t j
    cdef floating a, binv, ws
    if aw != NULL:
        a = <floating>s.average_a
        binv = <floating>(1.0 / s.average_b)
        for j in range(n_features):
            aw[j] = (aw[j] + a * w[j * S]) * binv
        s.average_a = 0.0
        s.average_b = 1.0
    ws = <floating>s.wscale
    for j in range(n_features):
        w[j * S] *= ws
    s.wscale = 1.0


cdef void _l1_truncate_strided(floating* w, Py_ssize_t S, floating* q, Scalars* s,
                               const int* idx, Py_ssize_t nnz) noexcept nogil:
    # _l1_truncate with coordinate j's weight at w[j * S] (q stays contiguous)
    cdef double wscale = s.wscale, u = s.u, z
    cdef Py_ssize_t k, j, jw
    for k in range(nnz):
        j = k if idx == NULL else idx[k]
        jw = j * S
        z = w[jw]
        if wscale * z > 0.0:
            w[jw] = max(0.0, w[jw] - ((u + q[j]) / wscale))
        elif wscale * z < 0.0:
            w[jw] = min(0.0, w[jw] + ((u - q[j]) / wscale))
        q[j] += wscale * (w[jw] - z)
