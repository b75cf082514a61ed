# From the state to the model: the formula of each coordinate of coef_ and
# of the averaged weights, used by ``materialize`` (coef_ as a whole) and by
# the engine's predictions (predict.pxi: one row, without materialising), so
# both give the same numbers by construction; and the schedule program's
# test hooks. Included by sgd.pyx.


cdef inline floating _coef(floating w, floating wscale) noexcept nogil:
    # coef_ = wscale * w, rounded to the dtype (scikit-learn's reset_wscale)
    return w * wscale


cdef inline floating _plain_average(floating aw, floating w, floating a,
                                    floating binv) noexcept nogil:
    # plain SGD's average: (aw + average_a * w) / average_b (Bottou 2012)
    return (aw + a * w) * binv


cdef inline floating _lazy_average(floating aw, floating w, double n_prev,
                                   double n_last) noexcept nogil:
    # another optimizer's running mean aw (up to its coordinate's last
    # update, n_prev iterates) brought forward to n_last iterates
    if n_last > n_prev:
        return <floating>(aw + (n_last - n_prev) / n_last * (w - aw))
    return aw


cdef SchedProgram _program(const int[::1] kinds, const double[::1] params,
                           const double[::1] extra, double[::1] state):
    cdef SchedProgram prog
    prog.kinds = &kinds[0]
    prog.params = &params[0]
    prog.extra = &extra[0]
    prog.state = &state[0]
    return prog


def schedule_rate(const int[::1] kinds, const double[::1] params,
                  const double[::1] extra, double[::1] state, double t):
    """The compiled schedule's rate at t (a test hook: ``_py_rate``)."""
    cdef SchedProgram prog = _program(kinds, params, extra, state)
    cdef int plateau = -1
    return sched_rate(&prog, 0, t, &plateau)


def schedule_plateau_step(const int[::1] kinds, const double[::1] params,
                          const double[::1] extra, double[::1] state, int node,
                          double metric):
    """One ReduceOnPlateau step of node ``node`` on ``metric`` (fit: per epoch)."""
    cdef SchedProgram prog = _program(kinds, params, extra, state)
    plateau_step(&prog, node, metric)


def schedule_plateau_observe(const int[::1] kinds, const double[::1] params,
                             const double[::1] extra, double[::1] state, int node,
                             double loss):
    """Feed one sample's loss to a ReduceOnPlateau node (a test hook)."""
    cdef SchedProgram prog = _program(kinds, params, extra, state)
    plateau_observe(&prog, node, loss)


def materialize_lazy_average(const floating[::1] w, const floating[::1] aw,
                             const long long[::1] stamp, double last_step,
                             long long average, floating[::1] out_aw):
    """Averaged weights of the non-SGD path: each coordinate's running mean
    (up to ``stamp[j]``) brought forward to update ``last_step``."""
    cdef Py_ssize_t j, n = w.shape[0]
    cdef double n_prev, n_last = _n_avg(last_step, average)
    with nogil:
        for j in range(n):
            n_prev = _n_avg(<double>stamp[j], average)
            out_aw[j] = _lazy_average(aw[j], w[j], n_prev, n_last)


def materialize(const floating[::1] w, const floating[::1] aw, const double[::1] scal,
                floating[::1] out_w, floating[::1] out_aw):
    """Write ``wscale * w`` into ``out_w`` and, when averaging, the averaged
    weights ``(aw + average_a * w) / average_b`` into ``out_aw``, with the
    rounding of scikit-learn's ``reset_wscale``. The state is not changed."""
    cdef Py_ssize_t j, n = w.shape[0]
    cdef floating ws = <floating>scal[SLOT_WSCALE]
    cdef floating a = <floating>scal[SLOT_AVG_A]
    cdef floating binv = <floating>(1.0 / scal[SLOT_AVG_B])
    with nogil:
        for j in range(n):
            out_w[j] = _coef(w[j], ws)
        if aw.shape[0] > 0 and out_aw.shape[0] > 0:
            for j in range(n):
                out_aw[j] = _plain_average(aw[j], w[j], a, binv)
