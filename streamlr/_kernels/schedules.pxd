# Learning-rate schedules evaluated inside the loop, in closed form of t.
#
# Design
# ------
# * A schedule object (streamlr/schedules.py) compiles to a table of nodes:
#   ``kinds[i]`` and eight ``params[8 i : 8 i + 8]``; composites (Warmup,
#   Sequential) name their children by node index, and long lists
#   (milestones, children) live in ``extra``. ``sched_rate`` evaluates node i
#   at t (the number of updates already made) by recursion over the table.
# * Only ReduceOnPlateau has state (6 doubles per node, owned by the
#   estimator): its current rate, best loss, bad windows, cooldown, and the
#   running window. ``sched_rate`` reports which plateau node set the rate,
#   and ``plateau_observe`` feeds it each sample's loss.
# * Adding a schedule: one ``elif`` in ``sched_rate`` and a class in
#   schedules.py with the same formula in NumPy.

from libc.math cimport cos, floor, fmin, pow, INFINITY, M_PI

cdef enum:
    SCH_CONSTANT = 0
    SCH_INVSCALING = 1
    SCH_OPTIMAL = 2
    SCH_INVTIME = 3
    SCH_STEP = 4
    SCH_MULTISTEP = 5
    SCH_EXPONENTIAL = 6
    SCH_POLYNOMIAL = 7
    SCH_COSINE = 8
    SCH_COSINE_RESTARTS = 9
    SCH_CYCLIC = 10
    SCH_ONECYCLE = 11
    SCH_WARMUP = 12
    SCH_SEQUENTIAL = 13
    SCH_PLATEAU = 14

# plateau state slots
cdef enum:
    PL_LR = 0
    PL_BEST = 1
    PL_BAD = 2
    PL_COOLDOWN = 3
    PL_SUM = 4
    PL_COUNT = 5
    PL_SIZE = 6


cdef struct SchedProgram:
    const int* kinds
    const double* params
    const double* extra
    double* state


cdef inline double _anneal(double start, double end, double pct, bint cosine) noexcept nogil:
    if cosine:
        return end + (start - end) / 2.0 * (cos(M_PI * pct) + 1)
    return (end - start) * pct + start


cdef inline double sched_rate(const SchedProgram* P, int node, double t,
                              int* plateau) noexcept nogil:
    cdef const double* p = P.params + 8 * node
    cdef int kind = P.kinds[node], i, n
    cdef double x, cycle, scale, height, start, end, pct, ti, t_start, ti_len
    if kind == SCH_CONSTANT:
        return p[0]
    if kind == SCH_INVSCALING:                       # lr / (t + 1)^power_t
        return p[0] / pow(t + 1.0, p[1])
    if kind == SCH_OPTIMAL:                          # 1 / (alpha (t0 + t)), sklearn's rounding
        return 1.0 / (p[0] * ((p[1] + (t + 1.0)) - 1.0))
    if kind == SCH_INVTIME:                          # lr / (1 + rate * t / steps)
        x = t / p[2]
        if p[3] != 0:
            x = floor(x)
        return p[0] / (1.0 + p[1] * x)
    if kind == SCH_STEP:                             # lr * gamma^(t // step_size)
        return p[0] * pow(p[2], floor(t / p[1]))
    if kind == SCH_MULTISTEP:                        # lr * gamma^(#milestones <= t)
        n = 0
        for i in range(<int>p[3]):
            if P.extra[<int>p[2] + i] <= t:
                n += 1
        return p[0] * pow(p[1], n)
    if kind == SCH_EXPONENTIAL:                      # lr * gamma^t
        return p[0] * pow(p[1], t)
    if kind == SCH_POLYNOMIAL:                       # lr (1 - min(t, T)/T)^power
        return p[0] * pow(1.0 - fmin(p[1], t) / p[1], p[2])
    if kind == SCH_COSINE:                           # PyTorch's closed form
        return p[2] + (p[0] - p[2]) * (1 + cos(M_PI * t / p[1])) / 2
    if kind == SCH_COSINE_RESTARTS:                  # T_cur, T_i as PyTorch steps them
        ti_len = p[1]
        t_start = 0.0
        if p[2] == 1.0:
            t_start = floor(t / ti_len) * ti_len
        else:
            while t >= t_start + ti_len:
                t_start += ti_len
                ti_len *= p[2]
        return p[3] + (p[0] - p[3]) * (1 + cos(M_PI * (t - t_start) / ti_len)) / 2
    if kind == SCH_CYCLIC:      # p: base, max, up, down, mode (0 tri, 1 tri2, 2 exp), gamma
        cycle = floor(1 + t / (p[2] + p[3]))
        x = 1.0 + t / (p[2] + p[3]) - cycle
        ti = p[2] / (p[2] + p[3])
        scale = x / ti if x <= ti else (x - 1) / (ti - 1)
        height = (p[1] - p[0]) * scale
        if p[4] == 0:
            return p[0] + height * 1.0
        if p[4] == 1:
            return p[0] + height * (1 / (2.0 ** (cycle - 1)))
        return p[0] + height * pow(p[5], t)
    if kind == SCH_ONECYCLE:    # p: initial, max, min, end1, end2, end3, cos, phases
        n = <int>p[7]
        x = fmin(t, p[3 + n - 1])      # the final rate (t = total - 1) holds past the end
        start = 0.0
        for i in range(n):
            end = p[3 + i]
            if x <= end or i == n - 1:
                pct = (x - start) / (end - start)
                if n == 2:
                    return _anneal(p[0] if i == 0 else p[1], p[1] if i == 0 else p[2],
                                   pct, p[6] != 0)
                if i == 0:
                    return _anneal(p[0], p[1], pct, p[6] != 0)
                if i == 1:
                    return _anneal(p[1], p[0], pct, p[6] != 0)
                return _anneal(p[0], p[2], pct, p[6] != 0)
            start = end
        return p[2]
    if kind == SCH_WARMUP:      # p: child, steps, start_factor
        if t < p[1]:
            return sched_rate(P, <int>p[0], 0.0, plateau) * (p[2] + (1.0 - p[2]) * t / p[1])
        return sched_rate(P, <int>p[0], t - p[1], plateau)
    if kind == SCH_SEQUENTIAL:  # p: n children, offset; extra: children, then milestones
        n = <int>p[0]
        i = 0
        while i < n - 1 and P.extra[<int>p[1] + n + i] <= t:
            i += 1
        x = P.extra[<int>p[1] + n + i - 1] if i > 0 else 0.0
        return sched_rate(P, <int>P.extra[<int>p[1] + i], t - x, plateau)
    if kind == SCH_PLATEAU:
        plateau[0] = node
        return P.state[PL_SIZE * node + PL_LR]
    return 0.0


cdef inline void plateau_step(const SchedProgram* P, int node, double metric) noexcept nogil:
    # PyTorch's ReduceLROnPlateau.step(metric): mode "min", relative threshold.
    # p: lr, factor, patience, threshold, cooldown, lr_min, window
    cdef const double* p = P.params + 8 * node
    cdef double* s = P.state + PL_SIZE * node
    cdef double new_lr
    if metric < s[PL_BEST] * (1.0 - p[3]):
        s[PL_BEST] = metric
        s[PL_BAD] = 0
    else:
        s[PL_BAD] += 1
    if s[PL_COOLDOWN] > 0:
        s[PL_COOLDOWN] -= 1
        s[PL_BAD] = 0
    if s[PL_BAD] > p[2]:
        new_lr = s[PL_LR] * p[1]
        if new_lr < p[5]:
            new_lr = p[5]
        if s[PL_LR] - new_lr > 1e-8:
            s[PL_LR] = new_lr
        s[PL_COOLDOWN] = p[4]
        s[PL_BAD] = 0


cdef inline void plateau_observe(const SchedProgram* P, int node, double loss) noexcept nogil:
    # streaming: one step per window of `window` samples, on their mean loss
    cdef double* s = P.state + PL_SIZE * node
    s[PL_SUM] += loss
    s[PL_COUNT] += 1
    if s[PL_COUNT] >= P.params[8 * node + 6]:
        plateau_step(P, node, s[PL_SUM] / s[PL_COUNT])
        s[PL_SUM] = 0.0
        s[PL_COUNT] = 0.0


cdef inline bint sched_monotone(const SchedProgram* P, int node) noexcept nogil:
    """Whether node's rate is monotone in t (its largest rate over a range of
    updates is at one end): the scikit-learn rates."""
    cdef int kind = P.kinds[node]
    return kind == SCH_CONSTANT or kind == SCH_INVSCALING or kind == SCH_OPTIMAL
