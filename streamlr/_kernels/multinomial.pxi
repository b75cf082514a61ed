# The softmax model of SGDClassifier(multi_class="multinomial"): K class
# rows (problems 0..K-1 of the model) learn one cross-entropy side by side.
# Included by sgd.pyx after loop.pxi, so that the hot loop of every other
# path (_epoch_rows) stays as it is: this file has its own loop.
#
# Per row: the K margins p_k (the one dot of loop.pxi, x stays in cache),
# the log-sum-exp m + log sum_k exp(p_k - m) with m = max_k p_k (no
# overflow at any margin), the progressive loss CE = lse - p_y (added to
# every class row's loss sum, so that the mean over the rows is the
# cross-entropy), the probabilities pi_k = exp(p_k - lse) and the residuals
# g_k = pi_k - [k = y], bounded by 1 whatever the margins. Then each class
# row takes its update rule's step with the gradient g_k * class_weight[y]
# * sample_weight (plain SGD: scikit-learn's update on the scaled weights;
# another rule: _opt_sample; Vowpal Wabbit's rule: its first-order step).
# Every row runs on the shared update counter t and its own schedule state
# (the same rate: a ReduceOnPlateau observes the cross-entropy in each).
#
# A drift detector (drift.pxi; ``ps.drift``) is fed each row's multiclass
# 0/1 error (the class of the first largest margin, as predict, against the
# label) after the row's update; on a detection every class row reacts
# (restart, reset) before the next row is predicted.


cdef class _SoftmaxResidual(Loss):
    """What Vowpal Wabbit's rule (``_normalized_sample``) asks a loss for,
    when the target carries the softmax residual g: the gradient is g, and
    the "invariant" move of the prediction its first-order step -a g (the
    importance-invariant update of a softmax row has no closed form)."""

    cdef double loss(self, double y, double p) noexcept nogil:
        return 0.0

    cdef double dloss(self, double y, double p) noexcept nogil:
        return y

    cdef double invariant_step(self, double y, double p, double a) noexcept nogil:
        return -a * y

    cdef bint zero_in_float32(self, double y, double p) noexcept nogil:
        # the caller's cross-entropy decides (y is the residual, not a target)
        return False


cdef _SoftmaxResidual SOFTMAX_RESIDUAL = _SoftmaxResidual()


cdef bint _softmax_row_step(
    Problem* P, const floating* v, const int* idx, Py_ssize_t nnz, double g, floating weight,
    double eta, double step, double t, double cur_loss, double p, Config cfg,
    bint track_objective,
) noexcept nogil:
    """Class row P's update with residual ``g`` (weight: class weight times
    sample weight); False if it became non-finite. Not inline: it keeps
    this loop small, and _epoch_rows untouched."""
    cdef floating* w = <floating*>P.w
    cdef floating* aw = <floating*>P.aw
    cdef Scalars* s = &P.s
    cdef Py_ssize_t S = cfg.coord_stride
    cdef double update
    cdef double threshold = 1e-9 if floating is double else 1e-6
    if cfg.optimizer != OPT_SGD:
        if cfg.optimizer == OPT_NORMALIZED:
            return _normalized_sample(w, S, cfg.slot_stride, aw, P.oint, P.stamp, s, v, idx, nnz,
                                      SOFTMAX_RESIDUAL, g, p, cur_loss, weight, eta, step, cfg)
        return _opt_sample(w, S, cfg.slot_stride, aw, P.oint, P.stamp, s, v, idx, nnz,
                           g * weight, eta, step, cfg)
    # plain SGD, as _epoch_rows (g is bounded: no clipping needed)
    update = -eta * g
    update *= weight
    if not isfinite(update):
        return False
    if cfg.penalty >= PENALTY_L2:
        _scale(w, S, aw, s, <floating>max(0.0, 1.0 - ((1.0 - cfg.l1_ratio) * eta * cfg.alpha)),
               cfg.n_features, threshold)
    if update != 0.0:
        _add(w, S, s, v, idx, nnz, <floating>update, track_objective)
    if cfg.fit_intercept and update != 0:
        s.intercept += update * cfg.intercept_decay
        if not isfinite(s.intercept):
            return False
    if 0 < cfg.average <= step:     # step: t, but restarted by a drift
        _add_average(aw, s, v, idx, nnz, <floating>update, <floating>(step - cfg.average + 1))
        s.average_intercept += ((s.intercept - s.average_intercept)
                                / (step - cfg.average + 1))
    if cfg.penalty == PENALTY_L1 or cfg.penalty == PENALTY_ELASTICNET:
        s.u += cfg.l1_ratio * eta * cfg.alpha
        _l1_truncate(w, S, <floating*>P.q, s, idx, nnz)
    return True


cdef inline bint penalty_active(Config cfg) noexcept nogil:
    return cfg.learning_rate != LR_PA1 and cfg.learning_rate != LR_PA2 and cfg.penalty > 0


cdef inline double _log_sum_exp(const double* p, int K) noexcept nogil:
    cdef double m = p[0], z = 0.0
    cdef int k
    for k in range(1, K):
        if p[k] > m:
            m = p[k]
    for k in range(K):
        z += exp(p[k] - m)
    return m + log(z)


cdef Py_ssize_t _epoch_softmax(
    Problem* P, int K, SchedProgram* progs, const Rows* R, Pass* ps,
    const floating* values, const floating* y, const floating* sample_weight,
    const double* class_weight, Config cfg, double* scratch,
) noexcept nogil:
    """Visit ``R.order[:R.n_rows]`` once with the K class rows ``P[0..K)``
    (``progs[k]``: row k's schedule; ``y``: label indices; ``scratch``: 2K
    doubles). Returns n_rows, or -(i + 1) when row i made a margin, a step
    or an intercept non-finite, or had a column index out of range (the
    caller restores its snapshot). ``ps`` carries the pass's options and
    sums (the loss: the cross-entropy; the objective: it plus every row's
    penalty)."""
    cdef const int* indices = R.indices
    cdef const int* indptr = R.indptr
    cdef Py_ssize_t n_features = R.n_features, n_rows = R.n_rows
    cdef Py_ssize_t i, r, nnz, status = n_rows, S = cfg.coord_stride
    cdef const floating* v
    cdef const int* idx
    cdef double* p = scratch
    cdef double* q = scratch + K
    cdef double t = P[0].t, eta = cfg.eta0, last_eta = ps.last_eta, step, ce, lse, lse_q, zb
    cdef double sumloss = ps.sum_loss, objective = ps.sum_objective, g, norm
    cdef double alpha = cfg.alpha, l1_ratio = cfg.l1_ratio
    cdef int lr = cfg.learning_rate, k, yi, plateau, last_plateau = ps.last_plateau, best
    cdef DriftLoop* drift = ps.drift
    cdef floating sw, weight
    cdef Py_ssize_t rn, j, pf_last = cfg.n_slots * cfg.slot_stride
    cdef const floating* pb
    # as _epoch_rows: on CSR rows of a large model, the weights (and last
    # slot) of the rows two ahead are fetched while this one learns, in
    # every class row
    cdef bint prefetch = (indptr != NULL and n_rows > PREFETCH_ROWS and
                          K * n_features * (1 + cfg.n_slots) * sizeof(floating) >= PREFETCH_MIN_BYTES)
    if lr == LR_ADAPTIVE:
        eta = ps.eta_adaptive
    for i in range(n_rows):
        r = R.order[i]
        if prefetch and i + PREFETCH_ROWS < n_rows:
            rn = R.order[i + PREFETCH_ROWS]
            for k in range(K):
                for j in range(indptr[rn], indptr[rn + 1]):
                    pb = <floating*>P[k].w + indices[j] * S
                    streamlr_prefetch_w(pb)
                    if pf_last > 0:
                        streamlr_prefetch_w(pb + pf_last)
        row_at(values, indices, indptr, n_features, r, &v, &idx, &nnz)
        if idx != NULL and not _indices_in_range(idx, nnz, n_features):
            status = -(i + 1)
            break
        for k in range(K):
            p[k] = _dot(<floating*>P[k].w, S, P[k].s.wscale, v, idx, nnz) + P[k].s.intercept
            if not isfinite(p[k]):
                status = -(i + 1)
                break
        if status < 0:
            break
        if ps.margins != NULL:      # a race's copy: its K margins of the row
            for k in range(K):
                ps.margins[k * n_rows + i] = p[k]
        yi = <int>y[r]
        sw = sample_weight[r]
        lse = _log_sum_exp(p, K)
        ce = lse - p[yi]
        sumloss += ce
        if ps.track_objective:
            objective += ce
        for k in range(K):
            P[k].s.loss_sum += ce
            P[k].s.n_seen += 1
            if ps.track_objective and penalty_active(cfg):
                norm = sqrt(P[k].s.sq_norm)
                objective += alpha * ((1 - l1_ratio) * 0.5 * norm * norm
                                      + l1_ratio * P[k].s.l1_norm)
        weight = <floating>class_weight[yi] * sw
        # schedule-free: the residuals at y = (1 - beta) z + beta x
        if cfg.grad_at_y:
            for k in range(K):
                zb = P[k].oint[1] if cfg.fit_intercept else 0.0
                if floating is double:
                    q[k] = MARGIN_AT_Y_F64(<double*>P[k].w, S, cfg.slot_stride, v, idx, nnz,
                                           p[k], zb, cfg.y_beta)
                else:
                    q[k] = MARGIN_AT_Y_F32(<float*>P[k].w, S, cfg.slot_stride, v, idx, nnz,
                                           p[k], zb, cfg.y_beta)
            lse_q = _log_sum_exp(q, K)
        else:
            for k in range(K):
                q[k] = p[k]
            lse_q = lse
        for k in range(K):
            step = t - P[k].s.clock0
            if lr == LR_SCHEDULE:
                plateau = -1
                eta = sched_rate(&progs[k], 0, step - 1.0, &plateau)
                last_plateau = plateau
                if plateau >= 0 and ps.plateau_streaming:
                    plateau_observe(&progs[k], plateau, ce)
            g = exp(q[k] - lse_q) - (1.0 if k == yi else 0.0)
            if not _softmax_row_step(&P[k], v, idx, nnz, g, weight, eta, step, t, ce, p[k], cfg,
                                     ps.track_objective):
                status = -(i + 1)
                break
        if status < 0:
            break
        last_eta = eta
        t += 1
        if drift != NULL:
            best = 0
            for k in range(1, K):      # the first maximum, as predict
                if p[k] > p[best]:
                    best = k
            if drift_update(&drift.det, 1.0 if best != yi else 0.0):
                drift_log(drift, i)
                for k in range(K):
                    drift_react(drift, <floating*>P[k].w, n_features, S, cfg.slot_stride, P[k].oint,
                                P[k].stamp, <floating*>P[k].q, <floating*>P[k].aw, &P[k].s,
                                progs[k].state, t)
    for k in range(K):
        P[k].t = t
    ps.sum_loss = sumloss
    ps.sum_objective = objective
    ps.last_eta = last_eta
    ps.last_plateau = last_plateau
    return status


# -- the engine's side: one pass of the K rows, for both paths ------------------------


cdef Py_ssize_t _softmax_run(Engine self, const floating* values, const int* indices,
                             const int* indptr, const Py_ssize_t* order, Py_ssize_t n_rows,
                             const floating* ys, const floating* ws, double t, double eta_adaptive,
                             bint track_objective, bint plateau_streaming, double* sums,
                             bint release, double* t_out, int* last_plateau,
                             bint drift=False, int c=0, double* margins=NULL) except? -3:
    """One pass of the softmax model over ``order[:n_rows]`` (``ys``: label
    indices). Sets last_lr and last_t; ``sums``: the running (loss,
    objective), continued; ``drift``: feed the model's detector (its
    detections: ``dloop.found``). A race: copy ``c``'s K class rows
    (problems k * copies + c), recording their margins of row i at
    ``margins[k * n_rows + i]``. Returns the status of ``_epoch_softmax``."""
    cdef int K = self.n_outputs, k, nc = self.copies
    cdef bint dense = indptr == NULL
    cdef Config cfg = <Config>(self.cfgs[c] if dense else self.cfgs_sparse[c])
    cdef Problem* P = <Problem*>malloc(K * sizeof(Problem))
    cdef SchedProgram* progs = <SchedProgram*>malloc(K * sizeof(SchedProgram))
    cdef double* scratch = <double*>malloc(3 * K * sizeof(double))
    cdef double* cw
    cdef Pass ps
    cdef Rows R
    cdef Py_ssize_t status
    if P == NULL or progs == NULL or scratch == NULL:
        free(P)
        free(progs)
        free(scratch)
        raise MemoryError()
    cw = scratch + 2 * K
    for k in range(K):
        # the class weights ride on the one-vs-rest configs: class k's row's positive weight
        cw[k] = (<Config>self.cfgs[k * nc + c]).weight_pos
        self._begin(k * nc + c, &P[k], &ps, &progs[k], eta_adaptive, track_objective,
                    plateau_streaming)
        P[k].t = t
    ps.sum_loss = sums[0]
    ps.sum_objective = sums[1]
    ps.margins = margins
    if drift:
        ps.drift = &self.dloop
    R.indices = indices
    R.cross = NULL
    R.indptr = indptr
    R.n_features = self.n_features
    R.order = order
    R.n_rows = n_rows
    if release:
        with nogil:
            status = _epoch_softmax(P, K, progs, &R, &ps, values, ys, ws, cw, cfg, scratch)
    else:
        status = _epoch_softmax(P, K, progs, &R, &ps, values, ys, ws, cw, cfg, scratch)
    for k in range(K):
        _store(&P[k].s, self.scalars + (k * nc + c) * N_SLOTS)
    sums[0] = ps.sum_loss
    sums[1] = ps.sum_objective
    t_out[0] = P[0].t
    last_plateau[0] = ps.last_plateau
    self.last_lr = ps.last_eta
    self.last_t = P[0].t
    free(P)
    free(progs)
    free(scratch)
    return status


# -- a rate race of softmax models (learning_rate="auto", optimizer="auto") ------------
#
# A copy is a whole softmax model: copy c's class rows are problems
# k * copies + c (class k is race.pxi's "binary problem" k). The copies learn
# a segment of rows one after the other (``_softmax_run``), recording their
# K margins per row; then the race serves the rows in order from them: the
# share-weighted mean of each class's margins (a convex combination of the
# copies' linear models, so coef_ stays the served weights), its
# cross-entropy the served loss, each copy's cross-entropy its loss. A copy
# whose cross-entropy exceeds ``wild`` times that of the zero model (log K)
# or one of whose margins exceeds ``bound`` in size is never served again.
# The race's state lives in class 0's rows; it is copied to the other
# classes' rows after each call (so that the shares, statuses and served
# sums read the same from every class). With a drift detector, a segment
# also ends where the detector may flag drift; it is fed each served row's
# multiclass 0/1 error, and a detection makes every copy still in the race
# react (drift.pxi) and re-opens the race (``_race_reopen``).


cdef void _race_serve_softmax(double* scalars, int K, const RaceRule* rule, int yi, double w,
                              const double* margins, Py_ssize_t n, const Py_ssize_t* valid,
                              Py_ssize_t i, double* q) noexcept nogil:
    """Serve row i (label index yi) from the copies' margins
    ``margins[(c * K + k) * n + i]`` (valid for i < valid[c]); ``q``: 2K
    doubles, the served margins in the first K; ``w``: the row's weight in
    the objective (sample weight times its class's weight; negative: 0),
    which weighs its cross-entropy in the copies' discounted losses."""
    cdef int R = rule.copies, c, k
    cdef double share[MAX_COPIES]
    cdef double* row
    cdef double ce, zero = log(<double>K), big
    _race_shares(scalars, 0, rule, valid, i, share)
    for k in range(K):
        q[k] = 0.0
        for c in range(R):
            if share[c] > 0.0:
                q[k] += share[c] * margins[(c * K + k) * n + i]
    scalars[SLOT_SERVED_LOSS] += _log_sum_exp(q, K) - q[yi]
    scalars[SLOT_SERVED_N] += 1.0
    if not w > 0.0:
        w = 0.0
    scalars[SLOT_RACE_COUNT] = rule.discount * scalars[SLOT_RACE_COUNT] + w
    if zero > scalars[SLOT_RACE_ZERO_LOSS]:
        scalars[SLOT_RACE_ZERO_LOSS] = zero
    for c in range(R):
        row = scalars + c * N_SLOTS
        if i >= valid[c] or not (row[SLOT_RACE_STATUS] == RACE_RACING
                                 or row[SLOT_RACE_STATUS] == RACE_WILD):
            continue
        big = 0.0
        for k in range(K):
            q[K + k] = margins[(c * K + k) * n + i]
            if fabs(q[K + k]) > big:
                big = fabs(q[K + k])
        ce = _log_sum_exp(q + K, K) - q[K + yi]
        row[SLOT_RACE_LOSS] = rule.discount * row[SLOT_RACE_LOSS] + w * (
            ce if ce < RACE_BIG_LOSS else RACE_BIG_LOSS)
        if row[SLOT_RACE_STATUS] == RACE_RACING and (
                not ce <= rule.wild * scalars[SLOT_RACE_ZERO_LOSS] or big > rule.bound):
            row[SLOT_RACE_STATUS] = RACE_WILD
    if rule.awake < R and scalars[SLOT_SERVED_N] - scalars[SLOT_RACE_OPENED] >= rule.warmup and fmod(
            scalars[SLOT_SERVED_N] - scalars[SLOT_RACE_OPENED] - rule.warmup, rule.period) == 0.0:
        _race_narrow(scalars, 0, rule)


cdef void _softmax_race_sync(Engine self) noexcept nogil:
    """Copy the race's state (class 0's rows) to every other class's rows."""
    cdef int R = self.copies, K = self.n_outputs, k, c, j
    cdef int shared[9]
    shared[0], shared[1], shared[2] = SLOT_RACE_LOSS, SLOT_RACE_STATUS, SLOT_RACE_SHARE
    shared[3], shared[4], shared[5] = SLOT_RACE_DEFAULT, SLOT_SERVED_LOSS, SLOT_SERVED_N
    shared[6], shared[7], shared[8] = SLOT_RACE_COUNT, SLOT_RACE_ZERO_LOSS, SLOT_RACE_OPENED
    for k in range(1, K):
        for c in range(R):
            for j in range(9):
                self.scalars[(k * R + c) * N_SLOTS + shared[j]] = self.scalars[c * N_SLOTS + shared[j]]


cdef int _softmax_race_out(Engine self, int c) except -1:
    """Copy c leaves the race: its K class rows back to the call's snapshot."""
    cdef int k, R = self.copies
    for k in range(self.n_outputs):
        if self.f32:
            _restore_problem(self, <float*>NULL, k * R + c, self.saved_idx, self.saved_nnz,
                             self.saved_full)
        else:
            _restore_problem(self, <double*>NULL, k * R + c, self.saved_idx, self.saved_nnz,
                             self.saved_full)
        self.scalars[(k * R + c) * N_SLOTS + SLOT_RACE_STATUS] = RACE_OUT
    return 0


cdef Py_ssize_t _softmax_race(Engine self, const floating* values, const int* indices,
                              const int* indptr, const Py_ssize_t* order, Py_ssize_t n_rows,
                              const floating* ys, const floating* ws, bint release,
                              Py_ssize_t* first_bad) except? -3:
    """One pass of a race of softmax models over ``order[:n_rows]`` (see
    above; the snapshot of the call is taken). A copy that makes a margin, a
    step or an intercept non-finite leaves the race, back to the snapshot
    (``first_bad``: the smallest such row, or -1). Returns n_rows, or -1
    when every copy left."""
    cdef int K = self.n_outputs, R = self.copies, c, k, plateau, alive
    cdef Py_ssize_t cap = min(n_rows, LOCKSTEP_ROWS), lo = 0, seg, i, status
    cdef Py_ssize_t valid[MAX_COPIES]
    cdef cnp.ndarray mbuf = _np.empty(R * K * cap + 2 * K, dtype=_np.float64)
    cdef double* margins = <double*>cnp.PyArray_DATA(mbuf)
    cdef double* q = margins + R * K * cap
    cdef double sums[2]
    cdef double t_new, st
    cdef int best, kk
    first_bad[0] = -1
    while lo < n_rows:
        seg = min(n_rows - lo, cap, _race_rows_to_narrowing(self.scalars, 0, &self.race_rule))
        if self.has_drift:      # a segment ends where the detector may flag drift
            seg = min(seg, drift_rows_to_check(&self.dloop.det))
        alive = 0
        for c in range(R):
            valid[c] = 0
            st = self.scalars[c * N_SLOTS + SLOT_RACE_STATUS]
            if st == RACE_OUT or st == RACE_ASLEEP:
                continue
            sums[0] = 0.0
            sums[1] = 0.0
            status = _softmax_run(self, values, indices, indptr, order + lo, seg, ys, ws,
                                  self.scalars[c * N_SLOTS + SLOT_T],
                                  (<Config>self.cfgs[c]).eta0, False, True, sums, release,
                                  &t_new, &plateau, False, c, margins + c * K * seg)
            if status < 0:
                valid[c] = -status - 1
                if first_bad[0] < 0 or lo + valid[c] < first_bad[0]:
                    first_bad[0] = lo + valid[c]
                _softmax_race_out(self, c)
                continue
            valid[c] = seg
            for k in range(K):
                self.scalars[(k * R + c) * N_SLOTS + SLOT_T] = t_new
            alive += 1
        if alive == 0:
            return -1
        for i in range(seg):
            kk = <int>ys[order[lo + i]]
            _race_serve_softmax(self.scalars, K, &self.race_rule, kk,
                                (<Config>self.cfgs[kk * R]).weight_pos
                                * (<double>ws[order[lo + i]] if ws != NULL else 1.0),
                                margins, seg, valid, i, q)
            if not self.has_drift:
                continue
            # the detector sees the served prediction's error; a detection
            # (on the segment's last row) makes every copy still in the race
            # react, and re-opens the race, before the next row
            best = 0
            for k in range(1, K):      # the first maximum, as predict
                if q[k] > q[best]:
                    best = k
            if drift_update(&self.dloop.det, 1.0 if best != <int>ys[order[lo + i]] else 0.0):
                drift_log(&self.dloop, lo + i)
                _race_drift_react(self, True, False)
        lo += seg
    _race_store_shares(self.scalars, 0, &self.race_rule)
    _softmax_race_sync(self)
    self.last_lr = _served_rate(self)
    self.last_t = self.scalars[SLOT_T]
    return n_rows


cdef Py_ssize_t _learn_softmax_race(Engine self, const floating* values, const int* indices,
                                    const int* indptr, Py_ssize_t n_rows, const floating* ys,
                                    const floating* ws, const Py_ssize_t* order,
                                    Py_ssize_t nnz_total, bint full) except? -3:
    """The event path of a race of softmax models (after the snapshot and
    the targets): the pass, then the copies whose state overflowed leave
    the race; rollback when none is left."""
    cdef int K = self.n_outputs, R = self.copies, c, k, alive = 0
    cdef Py_ssize_t status, bad
    cdef bint finite
    status = _softmax_race(self, values, indices, indptr, order, n_rows, ys, ws,
                           nnz_total * self.n_slots_blk * K * R > NOGIL_WORK, &bad)
    if status >= 0:
        for c in range(R):
            if self.scalars[c * N_SLOTS + SLOT_RACE_STATUS] >= RACE_OUT:
                continue
            finite = True
            for k in range(K):
                if not _problem_finite(self, <floating*>NULL, k * R + c, indices, nnz_total, full):
                    finite = False
                    break
            if finite:
                alive += 1
            else:
                _softmax_race_out(self, c)
        if alive == 0:
            status = -2
        _softmax_race_sync(self)
    if status < 0 or (self.has_drift and self.dloop.out_of_memory):
        self._restore_all()
        self._drop()
        if self.has_drift and self.dloop.out_of_memory:
            raise MemoryError("no memory left to record drift detections")
        return status
    self._drop()
    self.last_progressive = _progressive_loss(self)
    return n_rows


cdef Py_ssize_t _learn_softmax(Engine self, const floating* values, const int* indices,
                               const int* indptr, Py_ssize_t n_rows, const double* targets,
                               const double* sw, Py_ssize_t nnz_total, bint full) except? -3:
    """The event path of the softmax model (after the snapshot): the pass,
    the finiteness check of every class row, then rollback or bookkeeping
    as ``_learn_typed``."""
    cdef int K = self.n_problems, k, plateau
    cdef Py_ssize_t row_bytes = n_rows * sizeof(floating), i, status
    cdef double sums[2]
    cdef double t_new
    self._reserve(0, 2 * row_bytes + n_rows * sizeof(Py_ssize_t))
    cdef floating* ys = <floating*>self.tmp
    cdef floating* ws = ys + n_rows
    cdef Py_ssize_t* order = <Py_ssize_t*>(self.tmp + 2 * row_bytes)
    for i in range(n_rows):
        ys[i] = <floating>targets[i]
        ws[i] = <floating>sw[i]
        order[i] = i
    if self.n_counts:
        _count_classes(self, ws, targets, sw, n_rows)
    if self.copies > 1:
        return _learn_softmax_race(self, values, indices, indptr, n_rows, ys, ws, order, nnz_total,
                                   full)
    sums[0] = 0.0
    sums[1] = 0.0
    status = _softmax_run(self, values, indices, indptr, order, n_rows, ys, ws,
                          self.scalars[SLOT_T], (<Config>self.cfgs[0]).eta0, False, True, sums,
                          nnz_total * self.n_slots_blk * K > NOGIL_WORK, &t_new, &plateau,
                          self.has_drift)
    if status >= 0:
        for k in range(K):
            self.scalars[k * N_SLOTS + SLOT_T] = t_new
            if not _problem_finite(self, <floating*>NULL, k, indices, nnz_total, full):
                status = -2     # the state overflowed (t: updates made + 1)
                break
    elif status < 0:
        status = -1             # update number t made the model non-finite
    if status < 0 or (self.has_drift and self.dloop.out_of_memory):
        self._restore_all()
        self._drop()
        if self.has_drift and self.dloop.out_of_memory:
            raise MemoryError("no memory left to record drift detections")
        return status
    self._drop()
    self.last_progressive = _progressive_loss(self)
    return n_rows
