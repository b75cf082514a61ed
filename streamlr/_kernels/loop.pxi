# The per-sample loop: ``_epoch`` visits a set of rows once for one binary
# problem. It is the only per-sample loop of streamlr: every public call
# (fit, partial_fit of any size, learn_one) reaches it through ``Engine``
# (engine.pxi). Included by sgd.pyx.
#
# Its inputs are three structs instead of two dozen arguments:
#   Problem  the problem's state: pointers into the model's arrays, its
#            scalar state (loaded by value) and its update counter t;
#   Rows     the structure of the rows: CSR index arrays (NULL for a dense
#            C-contiguous matrix), the visiting order;
#   Pass     the pass's options and running results (sums, last rate).
# The typed arrays (values, targets, sample weights) come as fused pointers.


cdef struct Problem:
    char* w                 # weights and optimizer slots, in cfg's layout
    char* aw                # averaging state, or NULL
    char* q                 # L1 penalty received by each weight, or NULL
    double* oint            # the intercept's block: (intercept, slots...), or NULL
    long long* stamp        # the last update that touched each coordinate, or NULL
    Scalars s               # the scalar state (loaded from the scalar row)
    double t                # scikit-learn's t: updates made + 1


cdef struct Rows:
    const int* indices      # CSR column indices, or NULL for dense rows
    const int* indptr       # CSR row pointer, or NULL for dense rows
    Py_ssize_t n_features
    const Py_ssize_t* order  # the rows to visit, in order; NULL: first, first + 1, ...
    Py_ssize_t n_rows
    Cross* cross            # interactions crossed per row (cross.pxi), or NULL
    Py_ssize_t first        # with order NULL, the first row (read only then)


cdef struct Pass:
    const SchedProgram* prog    # the compiled schedule (LR_SCHEDULE), else unused
    double eta_adaptive         # the rate of the "adaptive" rule (fit divides it)
    bint track_objective        # keep scikit-learn's running norms (tol rule)
    bint plateau_streaming      # feed ReduceOnPlateau each sample's loss
    double sum_loss             # running sums over the pass (continued across
    double sum_objective        # calls, so that blocks add up as one call)
    double last_eta             # rate of the last update made (NaN if none)
    int last_plateau            # ReduceOnPlateau node that set the last rate
    double* margins             # if set: the decision value of each row visited,
                                # before learning from it (the rate race's input)
    double* losses              # if set (with margins): the loss measured at it
    DriftLoop* drift            # if set: the model's drift detector, fed and
                                # reacted to in the loop (drift.pxi)


# the update rules' step functions by kernel code (optimizers.pxd)
cdef StepF64 STEPS_F64[MAX_OPTIMIZERS]
cdef StepF32 STEPS_F32[MAX_OPTIMIZERS]
fill_step_tables(STEPS_F64, STEPS_F32)


cdef inline void opt_step(int kind, floating* w, Py_ssize_t S, Py_ssize_t T,
                          const floating* x, const int* idx, Py_ssize_t nnz,
                          const double* hp, StepInfo* si, long long* stamp) noexcept nogil:
    # the only dispatch of the optimizers: one call per row
    if floating is double:
        STEPS_F64[kind](w, S, T, x, idx, nnz, hp, si, stamp)
    else:
        STEPS_F32[kind](w, S, T, x, idx, nnz, hp, si, stamp)


cdef inline double _n_avg(double step, long long average) noexcept nogil:
    # number of iterates in the average after update number `step` (1-based)
    cdef double n = step - average + 1
    return n if n > 0 else 0.0


cdef double _margin_at_y(const floating* w, Py_ssize_t S, Py_ssize_t T,
                         const floating* v, const int* idx, Py_ssize_t nnz,
                         double p, double z_intercept, double beta) noexcept nogil:
    # schedule-free: the margin at y = (1 - beta) z + beta x from the margin p
    # at x and z's (slot 0: w + T; z_intercept the intercept's z, or 0). Its
    # own dot (four chains): a second call of _dot kept the compiler from
    # inlining _dot into _epoch, for every rule
    cdef const floating* z = w + T
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef Py_ssize_t k, m = nnz - nnz % 4
    if idx == NULL:
        for k in range(0, m, 4):
            a0 += z[k * S] * v[k]
            a1 += z[(k + 1) * S] * v[k + 1]
            a2 += z[(k + 2) * S] * v[k + 2]
            a3 += z[(k + 3) * S] * v[k + 3]
        for k in range(m, nnz):
            a0 += z[k * S] * v[k]
    else:
        for k in range(0, m, 4):
            a0 += z[idx[k] * S] * v[k]
            a1 += z[idx[k + 1] * S] * v[k + 1]
            a2 += z[idx[k + 2] * S] * v[k + 2]
            a3 += z[idx[k + 3] * S] * v[k + 3]
        for k in range(m, nnz):
            a0 += z[idx[k] * S] * v[k]
    return beta * p + (1.0 - beta) * (((a0 + a1) + (a2 + a3)) + z_intercept)


# _margin_at_y is called through these pointers, never inlined: it would
# grow _epoch, the hot loop of every rule, for two rules
ctypedef double (*MarginF64)(const double* w, Py_ssize_t S, Py_ssize_t T, const double* v,
                             const int* idx, Py_ssize_t nnz, double p, double z_intercept,
                             double beta) noexcept nogil
ctypedef double (*MarginF32)(const float* w, Py_ssize_t S, Py_ssize_t T, const float* v,
                             const int* idx, Py_ssize_t nnz, double p, double z_intercept,
                             double beta) noexcept nogil
cdef MarginF64 MARGIN_AT_Y_F64 = _margin_at_y[double]
cdef MarginF32 MARGIN_AT_Y_F32 = _margin_at_y[float]
# and their per-sample factors (optimizers.pxd), likewise
ctypedef void (*SampleConstants)(const double* hp, const double* log_hp,
                                 StepInfo* si) noexcept nogil
cdef SampleConstants SCHEDULEFREE_CONSTANTS = schedulefree_constants


cdef inline void _average_catch_up(floating* w, Py_ssize_t S, floating* aw, long long* stamp,
                                   const int* idx, Py_ssize_t nnz, double step,
                                   long long average) noexcept nogil:
    # lazy average, before a row's update: a coordinate untouched since
    # stamp[j] kept its weight for the updates in between; fold them into
    # its running mean
    cdef double n_mid = _n_avg(step - 1, average), n_prev
    cdef Py_ssize_t k, j
    for k in range(nnz):
        j = k if idx == NULL else idx[k]
        n_prev = _n_avg(<double>stamp[j], average)
        if n_mid > n_prev:
            aw[j] += (n_mid - n_prev) / n_mid * (w[j * S] - aw[j])


cdef inline void _average_and_stamp(floating* w, Py_ssize_t S, floating* aw, long long* stamp,
                                    const int* idx, Py_ssize_t nnz, double step,
                                    long long average) noexcept nogil:
    # after a row's update: the running mean of its coordinates takes the
    # new iterate (when averaging), and each is stamped with the update
    cdef double n_now
    cdef Py_ssize_t k, j
    if average > 0:
        n_now = _n_avg(step, average)
        if n_now > 0:
            for k in range(nnz):
                j = k if idx == NULL else idx[k]
                aw[j] += (w[j * S] - aw[j]) / n_now
    if stamp != NULL:
        for k in range(nnz):
            stamp[k if idx == NULL else idx[k]] = <long long>step


cdef inline bint _opt_sample(
    floating* w, Py_ssize_t S, Py_ssize_t T, floating* aw, double* oint, long long* stamp,
    Scalars* s, const floating* v, const int* idx, Py_ssize_t nnz,
    double gscale, double eta, double step, Config cfg,
) noexcept nogil:
    """One update of a non-SGD optimizer; False if it became non-finite.
    ``w`` holds weights and slots in the layout (S, T) of optimizers.pxd."""
    cdef StepInfo si
    cdef Py_ssize_t k, j
    cdef double thr, one = 1.0, z, l2
    cdef double l1_ratio = cfg.l1_ratio
    cdef bint has_l1 = cfg.penalty == PENALTY_L1 or cfg.penalty == PENALTY_ELASTICNET
    cdef bint averaging = cfg.average > 0
    cdef int go = 1     # a two-phase rule may skip the step (finish_sample)
    if not isfinite(gscale):
        return False
    si.lr = eta
    si.step = step
    si.gscale = gscale
    si.rule = s.rule
    si.phase = 0
    si.l2 = cfg.alpha * (1.0 - l1_ratio) if cfg.penalty >= PENALTY_L2 else 0.0
    si.c4 = 0.0
    if cfg.grad_at_y:
        # schedule-free: the rule's own proximal step, on z (the averaged x
        # follows); never on x itself, which the average would pull back
        if has_l1:
            si.c4 = cfg.alpha * l1_ratio
            has_l1 = False
        SCHEDULEFREE_CONSTANTS(cfg.hp, cfg.log_hp, &si)
    else:
        per_sample_constants(cfg.optimizer, cfg.hp, cfg.log_hp, &si, &s.mu_product)

    if averaging and stamp != NULL:
        _average_catch_up(w, S, aw, stamp, idx, nnz, step, cfg.average)

    if two_phase_rule(cfg.optimizer):
        # a rule whose step needs sums over the whole problem (Prodigy's d,
        # optimizers.pxd): phase 1 gathers them over the coefficients and the
        # intercept, finish_sample updates the rule's scalars, phase 2 (the
        # calls below) moves the weights, or is skipped with the L1 step
        si.acc[0] = 0.0
        si.acc[1] = 0.0
        si.acc[2] = 0.0
        si.acc[3] = 0.0
        si.phase = 1
        opt_step(cfg.optimizer, w, S, T, v, idx, nnz, cfg.hp, &si, stamp)
        if cfg.fit_intercept:
            l2 = si.l2
            si.l2 = 0.0
            oint[0] = s.intercept
            opt_step(cfg.optimizer, oint, 1, 1, &one, NULL, 1, cfg.hp_int, &si, NULL)
            si.l2 = l2
        go = finish_sample(cfg.optimizer, cfg.hp, &si, idx == NULL)
        if go < 0:
            return False
        si.phase = 2

    if go:
        opt_step(cfg.optimizer, w, S, T, v, idx, nnz, cfg.hp, &si, stamp)

    if has_l1 and go:
        # proximal step of the L1 part of the penalty on the touched weights,
        # at the step's rate (a two-phase rule's own: finish_sample)
        thr = si.lr * cfg.alpha * l1_ratio
        for k in range(nnz):
            j = (k if idx == NULL else idx[k]) * S
            z = w[j]
            w[j] = z - thr if z > thr else (z + thr if z < -thr else 0.0)

    _average_and_stamp(w, S, aw, stamp, idx, nnz, step, cfg.average)

    if cfg.fit_intercept:
        # the intercept: a weight with x = 1, without penalty or decay; its
        # block is oint = (intercept, slots...)
        si.l2 = 0.0
        if cfg.grad_at_y:
            si.c4 = 0.0     # schedule-free's L1 strength: none for the intercept
        si.gscale = gscale
        oint[0] = s.intercept
        if go:
            opt_step(cfg.optimizer, oint, 1, 1, &one, NULL, 1, cfg.hp_int, &si, NULL)
        s.intercept = oint[0]
        if not isfinite(s.intercept):
            return False
        if 0 < cfg.average <= step:
            s.average_intercept += ((s.intercept - s.average_intercept)
                                    / (step - cfg.average + 1))
    return True


# not inline: its code stays out of _epoch's loop for the other rules
cdef bint _normalized_sample(
    floating* w, Py_ssize_t S, Py_ssize_t T, floating* aw, double* oint, long long* stamp,
    Scalars* s, const floating* v, const int* idx, Py_ssize_t nnz,
    Loss loss, double y, double p, double cur_loss, double importance, double eta, double step,
    Config cfg,
) noexcept nogil:
    """One update of Vowpal Wabbit's rule (``Normalized``, OPT_NORMALIZED);
    False if it became non-finite. It needs the label, the prediction ``p``
    and the loss itself (``cur_loss`` is its value at ``p``), not only the
    gradient: its step is the loss's importance-invariant update over the
    whole row (optimizers.pxd, vw_*).
    The rule's scalars ``s.rule``: total_weight, normalized_sum_norm_x, weighted_t."""
    cdef const double* hp = cfg.hp
    cdef double* rule = s.rule
    cdef bint adaptive = hp[VW_ADAPTIVE] != 0, normalized = hp[VW_NORMALIZED] != 0
    cdef bint has_l1 = cfg.penalty == PENALTY_L1 or cfg.penalty == PENALTY_ELASTICNET
    cdef double l1_ratio = cfg.l1_ratio, t_before = rule[2], one = 1.0
    cdef double d = 0.0, ppu = 0.0, norm_x = 0.0, mult = 1.0, scale, a, u = 0.0
    cdef double eta_bar, shrink = 1.0, thr, z, g2 = 0.0
    cdef bint learn = importance > 0.0
    cdef Py_ssize_t k, j, cached = 0
    # the first pass's denominators, reused by the second (optimizers.pxd)
    cdef double cache[3 * VW_CACHE]
    if learn:
        rule[2] = t_before + importance      # VW's t: the importance seen
        # a sample with a zero loss or gradient changes nothing (VW's rule),
        # but for a zero prediction with a nonzero gradient: the perceptron's
        # loss is 0 on the decision boundary, where every model starts. The
        # loss is 0 as VW finds it, in float32 (Loss.zero_in_float32): an
        # invariant step that stops on a kink (the hinge's margin 1) leaves a
        # row proportional to its own, or itself, on that kink up to rounding,
        # where VW skips it; a double loss of 1e-16 there would grow G, N and
        # rescale the weight (by (N_old/|x|)^(2 - 2 power_t)) instead
        d = loss.dloss(y, p)
        if not isfinite(d):
            return False
        # nor one whose squared gradient underflows to 0 (VW's grad_squared
        # == 0; a gradient below about 1e-162 while the loss is still above
        # 0, a logistic margin between about 372 and 745): a coordinate seen
        # for the first time would keep G = 0 and an infinite rate
        g2 = importance * d * d
        learn = g2 > 0.0 and ((cur_loss > 0.0 and not loss.zero_in_float32(y, p)) or p == 0.0)
    if cfg.average > 0 and stamp != NULL:
        _average_catch_up(w, S, aw, stamp, idx, nnz, step, cfg.average)
    if learn:
        if cfg.fit_intercept:
            oint[0] = s.intercept
        # first pass: G, N and the row's sums, the intercept as x = 1
        cached = vw_prepare(w, S, T, v, idx, nnz, hp, g2, &ppu, &norm_x, cache)
        if cfg.fit_intercept:
            vw_prepare(oint, 1, 1, &one, NULL, 1, hp, g2, &ppu, &norm_x)
        if normalized:
            rule[0] += importance
            rule[1] += importance * norm_x
            mult = vw_average(rule[0], rule[1], hp)
            ppu *= mult
        # an infinite ppu: a coordinate seen for the first time whose
        # g2 x^2 underflowed keeps G = 0 (its rate is infinite); VW's update
        # is then 0, and so is this one (G, N and the sums stay updated)
        if ppu > 0.0 and ppu < INFINITY:
            # the update u: the prediction moves by u * ppu
            scale = eta * importance
            if not adaptive:
                scale *= pow(t_before + importance, -hp[VW_POWER_T])
            a = scale * ppu
            if hp[VW_INVARIANT] == 0:
                u = -scale * d
            elif a > 0.0:
                u = loss.invariant_step(y, p, a) / ppu
            if not isfinite(u):
                return False
            # the penalty acts at the update's own rate (VW's --l2 and --l1)
            eta_bar = -u / d
            if cfg.penalty >= PENALTY_L2:
                shrink = 1.0 - cfg.alpha * (1.0 - l1_ratio) * eta_bar
                if shrink < 0.0:
                    shrink = 0.0
            vw_apply(w, S, T, v, idx, nnz, hp, u * mult, shrink, cache, cached)
            if has_l1:
                thr = eta_bar * cfg.alpha * l1_ratio
                for k in range(nnz):
                    if v[k] == 0:
                        continue
                    j = (k if idx == NULL else idx[k]) * S
                    z = w[j]
                    w[j] = z - thr if z > thr else (z + thr if z < -thr else 0.0)
            if cfg.fit_intercept:
                vw_apply(oint, 1, 1, &one, NULL, 1, hp, u * mult, 1.0)
        if cfg.fit_intercept:
            s.intercept = oint[0]
            if not isfinite(s.intercept):
                return False
    _average_and_stamp(w, S, aw, stamp, idx, nnz, step, cfg.average)
    if cfg.fit_intercept and 0 < cfg.average <= step:
        s.average_intercept += ((s.intercept - s.average_intercept)
                                / (step - cfg.average + 1))
    return True


# Whether a pass records its decision values (a race's copies, one-vs-rest
# with a drift detector) or feeds a drift detector (a single binary problem
# or a regressor with one): each compiled as its own specialisation of the
# loop, so that the other passes carry no trace of them (a per-row branch
# measurably slowed plain SGD on CSR rows). The first three compile plain
# SGD's stride (plain_sgd.pxi) as 1: a model of plain SGD alone, or a race
# of plain SGD copies, runs the code of plain SGD before it took a stride.
# A plain SGD copy of an interleaved race of different rules runs the fourth
# specialisation, on its stride, which records or feeds the detector as the
# pass says (tested per row: only these copies pay for it).
ctypedef fused Recording:
    char        # records into ps.margins
    short       # neither
    int         # feeds ps.drift
    long        # plain SGD on a stride: any of the three


cdef inline Py_ssize_t _epoch(
    Problem* P, const Rows* R, Pass* ps, const floating* values,
    const floating* y, const floating* sample_weight, Loss loss, Config cfg,
) noexcept nogil:
    """Visit ``R.order[:R.n_rows]`` once (``_epoch_rows``), recording each
    row's decision value into ``ps.margins`` when it is set, else feeding
    ``ps.drift`` when that is."""
    cdef bint strided = cfg.coord_stride != 1 and cfg.optimizer == OPT_SGD
    if ps.margins != NULL:
        if strided:
            return _epoch_rows(P, R, ps, values, y, sample_weight, loss, cfg, <long*>NULL)
        return _epoch_rows(P, R, ps, values, y, sample_weight, loss, cfg, <char*>NULL)
    if strided:
        return _epoch_rows(P, R, ps, values, y, sample_weight, loss, cfg, <long*>NULL)
    if ps.drift != NULL:
        return _epoch_rows(P, R, ps, values, y, sample_weight, loss, cfg, <int*>NULL)
    return _epoch_rows(P, R, ps, values, y, sample_weight, loss, cfg, <short*>NULL)


cdef Py_ssize_t _epoch_rows(
    Problem* P, const Rows* R, Pass* ps, const floating* values,
    const floating* y, const floating* sample_weight, Loss loss, Config cfg,
    Recording* recording,
) noexcept nogil:
    """Visit ``R.order[:R.n_rows]`` once. Returns n_rows, or -(i + 1) when
    sample i produced a non-finite prediction, step or intercept, or a CSR
    row with a column index out of range (the state is then partly updated:
    the caller restores its snapshot). The optimizer and the schedule run
    on the clock ``step = t - clock0`` (t itself when no drift restarted
    them; drift.pxi)."""
    cdef floating* w = <floating*>P.w
    cdef floating* aw = <floating*>P.aw
    cdef floating* q = <floating*>P.q
    cdef Scalars* s = &P.s
    cdef const int* indices = R.indices
    cdef const int* indptr = R.indptr
    cdef const Py_ssize_t* order = R.order
    cdef Py_ssize_t first = R.first if order == NULL else 0
    cdef Py_ssize_t n_features = R.n_features, n_rows = R.n_rows
    cdef const SchedProgram* prog = ps.prog
    cdef Py_ssize_t i, r, nnz, status = n_rows
    cdef const floating* v
    cdef const int* idx
    cdef floating yi, sw, class_weight, norm
    cdef double p, pg, zb, eta = cfg.eta0, update, dloss, cur_loss, sq, intercept_update
    cdef LossGrad lg
    cdef double t = P.t, last_eta = ps.last_eta, clock0 = s.clock0, step
    cdef bint drifted = False       # the last sample flagged drift: react before the next
    cdef double threshold = 1e-9 if floating is double else 1e-6
    cdef int lr = cfg.learning_rate, penalty = cfg.penalty, last_plateau = ps.last_plateau
    cdef double alpha = cfg.alpha, l1_ratio = cfg.l1_ratio
    # running sums, continued from the caller's: a pass split into several
    # calls adds them up in exactly the same order as one call
    cdef double sumloss = ps.sum_loss, objective = ps.sum_objective
    cdef int plateau = -1
    cdef bint track_objective = ps.track_objective
    cdef bint has_l1 = penalty == PENALTY_L1 or penalty == PENALTY_ELASTICNET
    cdef Py_ssize_t S = cfg.coord_stride   # see optimizers.pxd: the state layout
    # plain SGD's stride (plain_sgd.pxi): a constant 1 where _epoch says so
    cdef Py_ssize_t Sp = S if Recording is long else 1
    # (the fourth: whether it records, else whether it feeds a detector)
    cdef bint records = ps.margins != NULL
    cdef bint feeds = ps.margins == NULL and ps.drift != NULL
    cdef Py_ssize_t rn, k, pf_n = 0, pf_last = cfg.n_slots * cfg.slot_stride
    cdef const int* pf_idx = NULL
    cdef const floating* pb
    cdef bint prefetch = (indptr != NULL and n_rows > PREFETCH_ROWS and
                          n_features * (1 + cfg.n_slots) * sizeof(floating) >= PREFETCH_MIN_BYTES)
    # dense rows: how many rows ahead to prefetch the values (0: none, for
    # rows longer than DENSE_PREFETCH_BYTES, which the hardware streams alone)
    cdef Py_ssize_t pf_dense = 0
    if indptr == NULL and n_features > 0:
        pf_dense = min(DENSE_PREFETCH_BYTES // (n_features * <Py_ssize_t>sizeof(floating)),
                       DENSE_PREFETCH_MAX_ROWS)
    # plain SGD's dense float64 rows on unit stride: the row prefetch along the dot
    cdef bint ahead_ok = pf_dense > 0 and S == 1 and cfg.optimizer == OPT_SGD
    # ... and there, when nothing but the update touches the weights between
    # one row's update and the next row's dot (no L1 truncation, no norms for
    # the objective, no crossed rows; a drift reaction is checked per row),
    # the next row's sums come from the update's own pass over the weights
    # (streamlr_axpy_dot8, rows.pxi): ``fused`` holds them, ``has_fused``
    # says that the next row's dot is done
    cdef bint fuse_ok = (ahead_ok and lr != LR_PA1 and lr != LR_PA2 and not has_l1
                         and not track_objective and R.cross == NULL)
    cdef bint has_fused = False
    cdef double fused = 0.0
    cdef floating fstep
    cdef Py_ssize_t r_next
    if lr == LR_ADAPTIVE:
        eta = ps.eta_adaptive

    for i in range(n_rows):
        r = order[i] if order != NULL else first + i
        if Recording is int or Recording is long:
            if drifted:
                drift_react(ps.drift, w, n_features, S, cfg.slot_stride, P.oint, P.stamp, q, aw,
                            s, ps.prog.state, t)
                clock0 = s.clock0
                drifted = False
        step = t - clock0
        pf_n = 0
        if prefetch and i + PREFETCH_ROWS < n_rows:
            # the row whose weight blocks _dot_prefetch asks for: the weight
            # of each coordinate, and its last optimizer slot (the end of an
            # interleaved block, which may lie on the next line)
            rn = order[i + PREFETCH_ROWS] if order != NULL else first + i + PREFETCH_ROWS
            pf_idx = indices + indptr[rn]
            pf_n = indptr[rn + 1] - indptr[rn]
        pb = NULL
        if pf_dense and i + pf_dense < n_rows:
            # every cache line of a later row (and its last value: a row need
            # not start on a line): plain SGD on float64 asks for them along
            # the dot (_dot_ahead, rows.pxi), the other loops here in one burst
            pb = values + (order[i + pf_dense] if order != NULL else first + i + pf_dense) * n_features
            if not (floating is double and ahead_ok):
                for k in range(0, n_features, 8 if floating is double else 16):   # 64-byte lines
                    streamlr_prefetch_r(pb + k)
                streamlr_prefetch_r(pb + n_features - 1)
                pb = NULL
        row_at(values, indices, indptr, n_features, r, &v, &idx, &nnz)
        if idx != NULL and not _indices_in_range(idx, nnz, n_features):
            # the caller validated the row pointer, not the column indices:
            # a row is checked before it is used (it is in cache for the dot)
            status = -(i + 1)
            break
        if R.cross != NULL and cross_row(R.cross, v, idx, nnz, indptr[r], &v, &idx, &nnz) < 0:
            status = -(i + 1)       # out of memory: R.cross.failed tells the caller
            break
        yi = y[r]
        sw = sample_weight[r] if sample_weight != NULL else 1   # NULL: all 1

        if prefetch:
            p = _dot_prefetch(w, S, s.wscale, v, idx, nnz, pf_idx, pf_n, pf_last) + s.intercept
        elif has_fused:
            # the sums of this row at the weights updated by the last row
            # (its update asked for the lines of the row ahead, as the dot would)
            has_fused = False
            p = (fused if s.wscale == 1.0 else fused * s.wscale) + s.intercept
        else:
            if floating is double and pb != NULL:
                p = _dot_ahead(w, s.wscale, v, nnz, pb) + s.intercept
            else:
                p = _dot(w, S, s.wscale, v, idx, nnz) + s.intercept
        if not isfinite(p):
            status = -(i + 1)
            break
        if Recording is char:
            ps.margins[i] = p
        if Recording is long:
            if records:
                ps.margins[i] = p
        if lr == LR_SCHEDULE:
            # the schedule's clock is the number of updates already made
            plateau = -1
            eta = sched_rate(prog, 0, step - 1.0, &plateau)
            last_plateau = plateau

        # progressive loss: measured before learning from the sample; the
        # running total lives in the state, so chunking cannot change it
        # progressive loss and derivative in one call (the log loss shares
        # its exp between them); the derivative serves the rules below that
        # take the gradient at p
        lg = loss.loss_dloss(yi, p)
        cur_loss = lg.loss
        if Recording is char:
            if ps.losses != NULL:
                ps.losses[i] = cur_loss
        if Recording is long:
            if records and ps.losses != NULL:
                ps.losses[i] = cur_loss
        sumloss += cur_loss
        s.loss_sum += cur_loss
        s.n_seen += 1
        if Recording is int:
            # the detector sees the sample now; the reaction waits for its update
            if drift_update(&ps.drift.det, drift_input(ps.drift, yi, p, cur_loss)):
                drifted = True
                drift_log(ps.drift, i)
        if Recording is long:
            if feeds and drift_update(&ps.drift.det, drift_input(ps.drift, yi, p, cur_loss)):
                drifted = True
                drift_log(ps.drift, i)
        if plateau >= 0 and ps.plateau_streaming:
            plateau_observe(prog, plateau, cur_loss)
        if track_objective:
            objective += cur_loss
            if lr != LR_PA1 and lr != LR_PA2 and penalty > 0:
                norm = <floating>sqrt(s.sq_norm)
                objective += alpha * ((1 - l1_ratio) * 0.5 * norm ** 2
                                      + l1_ratio * <floating>s.l1_norm)

        class_weight = <floating>(cfg.weight_pos if yi > 0.0 else cfg.weight_neg)

        if cfg.optimizer != OPT_SGD:
            if cfg.optimizer == OPT_NORMALIZED:
                # Vowpal Wabbit's rule needs the label and the loss, not a gradient
                if not _normalized_sample(w, S, cfg.slot_stride, aw, P.oint, P.stamp, s, v, idx,
                                          nnz, loss, yi, p, cur_loss, class_weight * sw, eta,
                                          step, cfg):
                    status = -(i + 1)
                    break
                last_eta = eta
                t += 1
                continue
            pg = p
            if cfg.grad_at_y:
                # schedule-free: the gradient at y = (1 - beta) z + beta x,
                # the progressive loss (above) at x, the point served
                zb = P.oint[1] if cfg.fit_intercept else 0.0
                if floating is double:
                    pg = MARGIN_AT_Y_F64(w, S, cfg.slot_stride, v, idx, nnz, p, zb, cfg.y_beta)
                else:
                    pg = MARGIN_AT_Y_F32(w, S, cfg.slot_stride, v, idx, nnz, p, zb, cfg.y_beta)
            if not _opt_sample(w, S, cfg.slot_stride, aw, P.oint, P.stamp, s, v, idx, nnz,
                               (loss.dloss(yi, pg) if cfg.grad_at_y else lg.dloss)
                               * (class_weight * sw), eta,
                               step, cfg):
                status = -(i + 1)
                break
            last_eta = eta
            t += 1
            continue

        if lr == LR_PA1:
            sq = _sqnorm(v, nnz)
            if sq == 0:
                # scikit-learn skips the sample without a tick of t; the
                # model keeps this t (slot "t") for the next call
                continue
            update = min(cfg.eta0, loss.loss(yi, p) / sq)
        elif lr == LR_PA2:
            sq = _sqnorm(v, nnz)
            update = loss.loss(yi, p) / (sq + 0.5 / cfg.eta0)
        else:
            dloss = lg.dloss
            if dloss < -MAX_DLOSS:
                dloss = -MAX_DLOSS
            elif dloss > MAX_DLOSS:
                dloss = MAX_DLOSS
            update = -eta * dloss
        if lr == LR_PA1 or lr == LR_PA2:
            if loss.is_hinge:
                update *= yi
            elif yi - p < 0:
                update *= -1
        update *= class_weight * sw
        if not isfinite(update):
            status = -(i + 1)
            break

        if penalty >= PENALTY_L2:
            # never scale to a negative value when eta * alpha is too large
            _scale(w, Sp, aw, s, <floating>max(0.0, 1.0 - ((1.0 - l1_ratio) * eta * alpha)),
                   n_features, threshold)
        if update != 0.0:
            if floating is double and fuse_ok and i + 1 < n_rows and not drifted:
                # _add's arithmetic (plain_sgd.pxi), with the next row's dot
                fstep = <floating>update
                if s.wscale != 1:
                    fstep = fstep / <floating>s.wscale
                r_next = order[i + 1] if order != NULL else first + i + 1
                pb = values + r_next * n_features       # the row ahead, or (none) the next
                if i + 1 + pf_dense < n_rows:
                    pb = values + (order[i + 1 + pf_dense] if order != NULL
                                   else first + i + 1 + pf_dense) * n_features
                fused = streamlr_axpy_dot8(w, v, fstep, values + r_next * n_features,
                                           nnz, pb)
                has_fused = True
            else:
                _add(w, Sp, s, v, idx, nnz, <floating>update, track_objective)
        if cfg.fit_intercept:
            intercept_update = update
            if intercept_update != 0:
                s.intercept += intercept_update * cfg.intercept_decay
                if not isfinite(s.intercept):
                    status = -(i + 1)
                    break

        if 0 < cfg.average <= step:     # step: t, but restarted by a drift
            _add_average(aw, s, v, idx, nnz, <floating>update,
                         <floating>(step - cfg.average + 1))
            s.average_intercept += ((s.intercept - s.average_intercept)
                                    / (step - cfg.average + 1))

        if has_l1:
            s.u += l1_ratio * eta * alpha
            _l1_truncate(w, Sp, q, s, idx, nnz)

        last_eta = eta
        t += 1
    if Recording is int or Recording is long:
        if drifted and status >= 0:
            drift_react(ps.drift, w, n_features, S, cfg.slot_stride, P.oint, P.stamp, q, aw,
                        s, ps.prog.state, t)
    P.t = t
    ps.sum_loss = sumloss
    ps.sum_objective = objective
    ps.last_eta = last_eta
    ps.last_plateau = last_plateau
    return status
