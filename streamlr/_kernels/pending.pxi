# Delayed labels: the compiled half of ``predict_one(x, key=k)`` and
# ``learn_label(k, y)`` (the store of pending events is Python's, in
# streamlr/linear_model/_pending.py). Included by sgd.pyx, after events.pxi.
#
# A remembered event is the row as the model read it (its own copy, in the
# model's dtype: a dense vector, or the values and column indices of a CSR
# row or of a hashed dict) and the decision values served for it. Learning
# it later is one update through ``_learn_typed``, exactly as ``learn_one``
# of that row at the current weights; only what measures the prediction is
# taken at the served decision values: the progressive loss (the loop's
# running sum gets, in its place, the loss of the served value: the sum
# before the call plus that one loss, as the loop adds it) and the drift
# detector's input (fed after the update, as the loop feeds it, with the
# reaction applied before the next sample). The softmax model (mode 3)
# counts the cross-entropy of the served values in every class row, as its
# loop does.


cdef tuple _kept_event(Engine self, x, bint averaged, long long average, double* out):
    """(values, indices or None) of one event as the model reads it, copies
    the caller owns; the decision values served for it into ``out`` (from
    the row as predict_one reads it: a float64 row of a float32 model is
    served in float64 and kept in float32)."""
    cdef cnp.ndarray a = _event_dense(self, x, True, True)
    cdef cnp.ndarray data, ind
    cdef object kept_ind = None
    if a is not None:
        _decide_values(self, a, NULL, self.n_features, averaged, average, out)
        if cnp.PyArray_TYPE(a) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64):
            kept = a.astype(self.dtype)
        elif type(x) is not dict:     # a dict's row is a fresh buffer already
            kept = _np.array(a, copy=True)
        else:
            kept = a
        return kept, None
    data, ind = _event_csr(self, x, True)
    _decide_values(self, data, <const int*>cnp.PyArray_DATA(ind), data.shape[0], averaged,
                   average, out)
    if cnp.PyArray_TYPE(data) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64):
        kept = data.astype(self.dtype)
    elif type(x) is not dict:     # hashed dicts come as fresh arrays
        kept = _np.array(data, copy=True)
    else:
        kept = data
    kept_ind = ind if type(x) is dict else _np.array(ind, copy=True)
    return kept, kept_ind


cdef double _kept_target(Engine self, double target, int b) noexcept:
    """Binary problem b's target of a sample, as the loop reads it (the
    model's dtype)."""
    cdef double yb
    if self.mode == 0:
        yb = target
    elif <Py_ssize_t>target == (b if self.mode == 2 else 1):
        yb = 1.0
    else:
        yb = self.neg
    if self.f32:
        return <double><float>yb
    return yb


cdef Py_ssize_t _learn_kept(Engine self, cnp.ndarray values, object indices, y, sample_weight,
                            const double[::1] served) except? -3:
    """Learn a remembered event (``Engine.learn_kept``): target and weight
    checked first (ValueError, nothing changed), then one update."""
    cdef double target = _event_target(self, y)
    cdef double sw
    cdef cnp.ndarray ind
    cdef int indptr[2]
    cdef const int* ip = NULL
    cdef const int* pp = NULL
    try:
        sw = float(sample_weight)
    except (TypeError, ValueError):
        raise ValueError(f"sample_weight must be a number; got {sample_weight!r}") from None
    if not isfinite(sw):
        raise ValueError("sample_weight contains NaN or infinity.")
    if served.shape[0] != self.n_outputs:
        raise ValueError("one served decision value per output")
    if cnp.PyArray_TYPE(values) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64) \
            or not cnp.PyArray_IS_C_CONTIGUOUS(values):
        raise ValueError("a remembered event's values must be in the model's dtype")
    if indices is None:
        if values.shape[0] != self.n_features:
            raise ValueError("a remembered event does not fit the model's features")
    else:
        ind = indices
        if cnp.PyArray_TYPE(ind) != cnp.NPY_INT32 or not cnp.PyArray_IS_C_CONTIGUOUS(ind) \
                or ind.shape[0] != values.shape[0]:
            raise ValueError("a remembered event's indices must be int32, one per value")
        ip = <const int*>cnp.PyArray_DATA(ind)
        _check_csr_indices(ip, ind.shape[0], self.n_features)
        indptr[0] = 0
        indptr[1] = <int>ind.shape[0]
        pp = indptr
    return _learn_served(self, cnp.PyArray_DATA(values), ip, pp, target, sw, &served[0])


cdef Py_ssize_t _learn_served(Engine self, const void* values, const int* indices,
                              const int* indptr, double target, double sw,
                              const double* served) except? -3:
    """``_learn`` of one row whose prediction was served earlier. A
    ReduceOnPlateau schedule's streaming window observes the served loss
    too: its state is put back after the update and observes that loss (the
    update's rate was read before the loop's observation, so it is the
    same)."""
    cdef Py_ssize_t status, b, k
    cdef int R = self.copies, best, plateau
    cdef Py_ssize_t slot = SLOT_SERVED_LOSS if R > 1 else SLOT_LOSS_SUM
    cdef Py_ssize_t ssn = self.schedule_state_n if self.has_sched and R == 1 else 0
    cdef bint has_drift = self.has_drift
    cdef double t0 = self.progress.t, yb, cur_loss, feed = 0.0, ce = 0.0
    cdef double* before
    cdef double* steps
    cdef double* sched
    cdef SchedProgram prog
    if self.saved:
        raise RuntimeError("a snapshot of another call is pending")
    self._kept_buffer(self.n_outputs + self.n_problems * (ssn + 1))
    before = self.kept
    steps = before + self.n_outputs
    sched = steps + self.n_problems
    for b in range(self.n_outputs):
        before[b] = self.scalars[b * R * N_SLOTS + slot]
    if ssn:
        for k in range(self.n_problems):
            steps[k] = self.scalars[k * N_SLOTS + SLOT_T] - self.scalars[k * N_SLOTS + SLOT_CLOCK0]
        memcpy(sched, self.schedule_state, self.n_problems * ssn * sizeof(double))
    # the update without the detector: it is fed below, with the served value
    self.has_drift = False
    try:
        if self.f32:
            status = _learn_typed(self, <const float*>values, indices, indptr, 1, &target, &sw)
        else:
            status = _learn_typed(self, <const double*>values, indices, indptr, 1, &target, &sw)
    finally:
        self.has_drift = has_drift
    self.last_status = status
    if status <= 0:
        return status
    if self.mode == 3:      # the softmax: every class row counts the cross-entropy
        ce = _log_sum_exp(served, self.n_outputs) - served[<Py_ssize_t>target]
    for b in range(self.n_outputs):
        yb = _kept_target(self, target, <int>b)
        cur_loss = ce if self.mode == 3 else self.loss.loss(yb, served[b])
        self.scalars[b * R * N_SLOTS + slot] = before[b] + cur_loss
        if ssn and (<Config>(self.cfgs[b] if indptr == NULL else self.cfgs_sparse[b])
                    ).learning_rate == LR_SCHEDULE:
            memcpy(self.schedule_state + b * ssn, sched + b * ssn, ssn * sizeof(double))
            prog = self.prog_proto
            prog.state = self.schedule_state + b * ssn
            plateau = -1
            sched_rate(&prog, 0, steps[b] - 1.0, &plateau)
            if plateau >= 0:
                plateau_observe(&prog, plateau, cur_loss)
        if has_drift and self.n_outputs == 1:
            feed = drift_input(&self.dloop, yb, served[0], cur_loss)
    if has_drift:
        if self.n_outputs > 1:
            best = 0
            for b in range(1, self.n_outputs):    # the first maximum, as predict
                if served[b] > served[best]:
                    best = <int>b
            feed = 1.0 if best != <Py_ssize_t>target else 0.0
        self.dloop.n_found = 0
        if drift_update(&self.dloop.det, feed):
            if not drift_log(&self.dloop, 0):
                raise MemoryError("no memory left to record drift detections")
            _kept_drift_react(self)
            _drift_append(self, t0)
    self.last_progressive = _progressive_loss(self)
    _record_progress(self, 1)
    return status


cdef void _kept_drift_react(Engine self) noexcept:
    """Every problem reacts to a detection made at ``learn_label``, as the
    loops react: without a race, each problem; in a race, as
    ``_race_drift_react`` (after the call: the shares are stored now)."""
    cdef int k
    if self.copies == 1:
        for k in range(self.n_problems):
            _drift_react_problem(self, k)
        return
    _race_drift_react(self, self.mode == 3, True)
