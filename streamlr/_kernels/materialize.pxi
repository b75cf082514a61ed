# From the state to the model: coef_ and the averaged weights as the
# predictions use them, and the schedule program's test hooks. Included by
# sgd.pyx.


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
            out_aw[j] = aw[j]
            n_prev = _n_avg(<double>stamp[j], average)
            if n_last > n_prev:
                out_aw[j] = aw[j] + (n_last - n_prev) / n_last * (w[j] - aw[j])


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
            out_w[j] = w[j] * ws
        if aw.shape[0] > 0 and out_aw.shape[0] > 0:
            for j in range(n):
                out_aw[j] = (aw[j] + a * w[j]) * binv
