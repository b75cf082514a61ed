# scikit-learn's plain SGD update on the scaled weight representation
# (``wscale * w``, Bottou's trick), averaging (Bottou 2012) and the L1
# cumulative penalty (Tsuruoka et al. 2009), each O(nnz of the row) except the
# rare fold of the scale into every weight. Included by sgd.pyx.

cdef inline void _add(floating* w, Scalars* s, const floating* v,
                      const int* idx, Py_ssize_t nnz, floating c,
                      bint track_norms) noexcept nogil:
    # w += c * x in the scaled representation
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


cdef inline void _reset_wscale(floating* w, floating* aw, Scalars* s,
                               Py_ssize_t n_features) noexcept nogil:
    # fold wscale (and the averaging coefficients) into the arrays: O(n_features),
    # but only when wscale underflows, as scikit-learn does
    cdef Py_ssize_t j
    cdef floating a, binv, ws
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


cdef inline void _scale(floating* w, floating* aw, Scalars* s, floating c,
                        Py_ssize_t n_features, double threshold) noexcept nogil:
    s.wscale *= c
    s.sq_norm *= (c * c)
    s.l1_norm *= fabs(c)
    if s.wscale < threshold:
        _reset_wscale(w, aw, s, n_features)


cdef inline void _l1_truncate(floating* w, floating* q, Scalars* s,
                              const int* idx, Py_ssize_t nnz) noexcept nogil:
    # Tsuruoka et al. (2009): clip each touched weight towards zero by the
    # penalty it has not received yet, never across zero
    cdef double wscale = s.wscale, u = s.u, z
    cdef Py_ssize_t k, j
    for k in range(nnz):
        j = k if idx == NULL else idx[k]
        z = w[j]
        if wscale * z > 0.0:
            w[j] = max(0.0, w[j] - ((u + q[j]) / wscale))
        elif wscale * z < 0.0:
            w[j] = min(0.0, w[j] + ((u - q[j]) / wscale))
        q[j] += wscale * (w[j] - z)
