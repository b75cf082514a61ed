# The snapshot of a call, as functions of the Engine: copy the state a call
# may change (all of it, or the touched coordinates of each problem) into the
# engine's scratch, put it back, and check the touched state is finite. Both
# paths use these (engine.pxi: _save_all, _restore_all, finite). Included by
# sgd.pyx, after engine.pxi.


# ``save_whole[kk]``: 0 the snapshot holds problem kk's scalars only, 1 its
# coordinates too, 2 room for its coordinates, not yet copied: a race's
# sleeping copy, which a restart on drift may wake during the call (its
# coordinates cannot change before, so ``_save_coordinates`` copies them then),
# 3 its coordinates, every column, in ``wide`` (see ``_widen_snapshot``).
#
# A reaction to drift (drift.pxi) changes every column of a problem (its
# slots, stamps, average). A snapshot of the call's columns only is then
# widened before the call's first reaction changes anything: every column of
# every problem whose coordinates it keeps, as they were when the call
# began (the current values, with the touched columns from the snapshot),
# goes to the engine's ``wide`` buffer. So a call pays for every column only
# when it restarts.


cdef void _save_problem(Engine self, floating* tag, int kk, const int* indices, Py_ssize_t nnz,
                        bint dense) noexcept nogil:
    cdef char* p = self.save + self.save_off[kk]
    memcpy(p, self.scalars + kk * N_SLOTS, N_SLOTS * 8)
    p += N_SLOTS * 8
    memcpy(p, self.intercepts + kk * self.intercepts_n, self.intercepts_n * 8)
    p += self.intercepts_n * 8
    memcpy(p, self.schedule_state + kk * self.schedule_state_n, self.schedule_state_n * 8)
    if self.save_whole[kk] == 1:
        _save_coordinates(self, tag, kk, indices, nnz, dense)


cdef void _save_coordinates(Engine self, floating* tag, int kk, const int* indices,
                            Py_ssize_t nnz, bint dense) noexcept nogil:
    """Copy problem kk's coordinates into its part of the snapshot (after
    its scalars, intercepts and schedule state)."""
    cdef char* p = self.save + self.save_off[kk] + (
        N_SLOTS + self.intercepts_n + self.schedule_state_n) * 8
    cdef Py_ssize_t d = self.n_features, ns = self.wn[kk], cs = self.wcs[kk], k, j, s
    cdef Py_ssize_t per = d * ns
    cdef floating* blk = <floating*>self.weights + self.woff[kk]
    self.save_whole[kk] = 1
    if dense:
        memcpy(p, blk, per * sizeof(floating))
        p += per * sizeof(floating)
        if self.averages_d:
            memcpy(p, <floating*>self.averages + kk * d, d * sizeof(floating))
            p += d * sizeof(floating)
        if self.l1_received_d:
            memcpy(p, <floating*>self.l1_received + kk * d, d * sizeof(floating))
            p += d * sizeof(floating)
        if self.last_update_d:
            memcpy(p, self.last_update + kk * d, d * 8)
        return
    cdef Py_ssize_t cb = self._coord_bytes(kk)
    cdef char* rec
    for k in range(nnz):
        j = indices[k]
        rec = p + k * cb
        if self.last_update_d:
            (<long long*>rec)[0] = self.last_update[kk * d + j]
            rec += 8
        for s in range(ns):
            (<floating*>rec)[s] = blk[j * cs + s * self.ss]
        rec += ns * sizeof(floating)
        if self.averages_d:
            (<floating*>rec)[0] = (<floating*>self.averages)[kk * d + j]
            rec += sizeof(floating)
        if self.l1_received_d:
            (<floating*>rec)[0] = (<floating*>self.l1_received)[kk * d + j]


cdef void _restore_problem(Engine self, floating* tag, int kk, const int* indices,
                           Py_ssize_t nnz, bint dense) noexcept nogil:
    cdef Py_ssize_t cb = self._coord_bytes(kk)
    cdef char* p = self.save + self.save_off[kk]
    cdef Py_ssize_t d = self.n_features, ns = self.wn[kk], cs = self.wcs[kk], k, j, s
    cdef Py_ssize_t per = d * ns
    cdef floating* blk = <floating*>self.weights + self.woff[kk]
    memcpy(self.scalars + kk * N_SLOTS, p, N_SLOTS * 8)
    p += N_SLOTS * 8
    memcpy(self.intercepts + kk * self.intercepts_n, p, self.intercepts_n * 8)
    p += self.intercepts_n * 8
    memcpy(self.schedule_state + kk * self.schedule_state_n, p, self.schedule_state_n * 8)
    p += self.schedule_state_n * 8
    if self.save_whole[kk] == 3:      # every column, taken at the call's first restart
        p = self.wide + self.wide_off[kk]
        dense = True
    elif self.save_whole[kk] != 1:    # no coordinates, or unchanged since the call began
        return
    if dense:
        memcpy(blk, p, per * sizeof(floating))
        p += per * sizeof(floating)
        if self.averages_d:
            memcpy(<floating*>self.averages + kk * d, p, d * sizeof(floating))
            p += d * sizeof(floating)
        if self.l1_received_d:
            memcpy(<floating*>self.l1_received + kk * d, p, d * sizeof(floating))
            p += d * sizeof(floating)
        if self.last_update_d:
            memcpy(self.last_update + kk * d, p, d * 8)
        return
    # backwards, so that a coordinate stored twice ends with its first copy
    cdef char* rec
    for k in range(nnz - 1, -1, -1):
        j = indices[k]
        rec = p + k * cb
        if self.last_update_d:
            self.last_update[kk * d + j] = (<long long*>rec)[0]
            rec += 8
        for s in range(ns):
            blk[j * cs + s * self.ss] = (<floating*>rec)[s]
        rec += ns * sizeof(floating)
        if self.averages_d:
            (<floating*>self.averages)[kk * d + j] = (<floating*>rec)[0]
            rec += sizeof(floating)
        if self.l1_received_d:
            (<floating*>self.l1_received)[kk * d + j] = (<floating*>rec)[0]


cdef bint _problem_finite(Engine self, floating* tag, int kk, const int* indices,
                          Py_ssize_t nnz, bint dense) noexcept nogil:
    """Problem kk's state is finite where the call touched it, and the
    float64 intercept fits the model's dtype (as ``_State.finite``)."""
    cdef double limit = FLT_MAX if floating is float else DBL_MAX
    cdef double* row = self.scalars + kk * N_SLOTS
    cdef Py_ssize_t d = self.n_features, ns = self.wn[kk], cs = self.wcs[kk], k, j, s
    cdef Py_ssize_t per = d * ns
    cdef floating* blk = <floating*>self.weights + self.woff[kk]
    cdef floating* aw = <floating*>self.averages + kk * d
    cdef floating* q = <floating*>self.l1_received + kk * d
    if not (isfinite(row[SLOT_WSCALE]) and isfinite(row[SLOT_LOSS_SUM])
            and fabs(row[SLOT_INTERCEPT]) <= limit
            and fabs(row[SLOT_AVG_INTERCEPT]) <= limit):
        return False
    for k in range(self.intercepts_n):
        if not fabs(self.intercepts[kk * self.intercepts_n + k]) <= limit:
            return False
    if dense or self.save_whole[kk] == 3:
        return (_finite_values(blk, per)
                and (self.averages_d == 0 or _finite_values(aw, d))
                and (self.l1_received_d == 0 or _finite_values(q, d)))
    for k in range(nnz):
        j = indices[k]
        for s in range(ns):
            if not isfinite(blk[j * cs + s * self.ss]):
                return False
        if self.averages_d and not isfinite(aw[j]):
            return False
        if self.l1_received_d and not isfinite(q[j]):
            return False
    return True


cdef bint _widen_hook(void* owner) noexcept nogil:
    # DriftLoop.before_react (drift.pxi): the owner is the engine
    return _widen_snapshot(<Engine>owner)


cdef bint _widen_snapshot(Engine self) noexcept nogil:
    """Before the call's first reaction to drift: a snapshot of a few
    columns takes every column of the problems whose coordinates it keeps,
    as they were when the call began (see the file's comment). False when
    out of memory (``dloop.out_of_memory`` is set: the call then fails)."""
    cdef Py_ssize_t off = 0, d = self.n_features, nbytes
    cdef int kk
    cdef void* p
    if not (self.saved and self.widen_pending):
        return True
    for kk in range(self.n_problems):
        if self.save_whole[kk] == 1 or self.save_whole[kk] == 2:
            nbytes = (d * self.wn[kk] * self.isz + (d * self.isz if self.averages_d else 0)
                      + (d * self.isz if self.l1_received_d else 0) + (d * 8 if self.last_update_d else 0))
            self.wide_off[kk] = off
            off += (nbytes + 7) & ~7
    if off > self.wide_cap:
        p = realloc(self.wide, off)
        if p == NULL:
            self.dloop.out_of_memory = True
            return False
        self.wide, self.wide_cap = <char*>p, off
    for kk in range(self.n_problems):
        if self.save_whole[kk] == 1 or self.save_whole[kk] == 2:
            if self.f32:
                _widen_problem(self, <float*>NULL, kk)
            else:
                _widen_problem(self, <double*>NULL, kk)
    self.widen_pending = False
    return True


cdef void _widen_problem(Engine self, floating* tag, int kk) noexcept nogil:
    """Problem kk's every column into ``wide`` as the call found them: the
    current values, then the touched columns' from the snapshot (backwards,
    so that a column stored twice ends with its first copy)."""
    cdef Py_ssize_t d = self.n_features, ns = self.wn[kk], cs = self.wcs[kk], k, j, s
    cdef Py_ssize_t per = d * ns
    cdef Py_ssize_t cb = self._coord_bytes(kk)
    cdef floating* wb = <floating*>(self.wide + self.wide_off[kk])
    cdef floating* wa = wb + per
    cdef floating* wq = wa + (d if self.averages_d else 0)
    cdef char* wst = <char*>(wq + (d if self.l1_received_d else 0))
    cdef char* p = self.save + self.save_off[kk] + self._problem_bytes()
    cdef char* rec
    memcpy(wb, <floating*>self.weights + self.woff[kk], per * sizeof(floating))
    if self.averages_d:
        memcpy(wa, <floating*>self.averages + kk * d, d * sizeof(floating))
    if self.l1_received_d:
        memcpy(wq, <floating*>self.l1_received + kk * d, d * sizeof(floating))
    if self.last_update_d:
        memcpy(wst, self.last_update + kk * d, d * 8)
    if self.save_whole[kk] == 1:
        for k in range(self.saved_nnz - 1, -1, -1):
            j = self.saved_idx[k]
            rec = p + k * cb
            if self.last_update_d:
                memcpy(wst + j * 8, rec, 8)
                rec += 8
            for s in range(ns):
                wb[j * cs + s * self.ss] = (<floating*>rec)[s]
            rec += ns * sizeof(floating)
            if self.averages_d:
                wa[j] = (<floating*>rec)[0]
                rec += sizeof(floating)
            if self.l1_received_d:
                wq[j] = (<floating*>rec)[0]
    self.save_whole[kk] = 3


# schedules are evaluated row by row for the bound below up to this many
# updates; a longer call with a schedule object is assumed to fold
cdef Py_ssize_t MAX_SCHEDULE_PROBE = 1 << 16


cdef bint _scale_may_fold(Config cfg, const SchedProgram* prog, double t, double wscale,
                          Py_ssize_t steps, bint f32) noexcept nogil:
    """Whether plain SGD's weight scale can fall below the kernel's threshold
    within ``steps`` updates from update ``t``. The kernel then folds it into
    every weight (scikit-learn's reset, O(n_features)), so a call that
    snapshots only its rows' columns could not undo itself. A bound: each
    update multiplies the scale by at least 1 - eta_max * alpha * (1 -
    l1_ratio), eta_max the largest rate of the call's updates (a
    ReduceOnPlateau rate only ever falls during a call)."""
    cdef double eta = 0.0, factor, threshold = 1e-6 if f32 else 1e-9
    cdef Py_ssize_t i
    cdef int plateau = -1
    if cfg.optimizer != OPT_SGD or cfg.penalty < PENALTY_L2 or steps <= 0:
        return False
    if cfg.learning_rate == LR_SCHEDULE:
        if prog == NULL:
            return True
        if sched_monotone(prog, 0):              # the scikit-learn rates: at an end
            eta = max(sched_rate(prog, 0, t - 1.0, &plateau),
                      sched_rate(prog, 0, t - 1.0 + steps, &plateau))
        elif steps > MAX_SCHEDULE_PROBE:
            return True
        else:
            for i in range(steps):
                eta = max(eta, sched_rate(prog, 0, t - 1.0 + i, &plateau))
    else:                                        # adaptive (only divided), PA
        eta = cfg.eta0
    factor = max(0.0, 1.0 - eta * cfg.alpha * (1.0 - cfg.l1_ratio))
    # (factor ** 1 is factor: the event path's one step needs no pow)
    return wscale * (factor if steps == 1 else pow(factor, <double>steps)) < threshold * (1.0 + 1e-6)
