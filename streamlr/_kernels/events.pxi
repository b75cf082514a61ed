# The event path's own steps, as functions of the Engine: the input of
# single events (a 1-D array, a 1-row CSR matrix, a dict of named features),
# and one learning call (check, snapshot, loop per problem, finiteness
# check, rollback or bookkeeping). Included by sgd.pyx, after engine.pxi.


cdef object _event_dense(Engine self, x, bint own_buffer=False, bint predicting=False):
    """x as a C-contiguous 1-D array of the model's dtype (no copy when it
    is one already). ``predicting``: in the dtype ``predict`` reads the row
    in instead, float32 only for a float32 row of a float32 model (else
    float64), so that a float64 row is not rounded to float32 first."""
    cdef cnp.ndarray a
    if type(x) is _CSR_MATRIX or type(x) is _CSR_ARRAY:
        return None
    if type(x) is dict:
        if self.hasher is not None:
            return None     # hashed into a CSR row by _event_csr
        return _event_from_dict(self, x, own_buffer, predicting)
    if not cnp.PyArray_Check(x):
        if _issparse(x):
            return None
        if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
            raise TypeError(
                f"x must be a 1-D array, a 1-row CSR matrix or a dict; got {type(x).__name__}")
        if self.names is not None and hasattr(x, "index") and hasattr(x, "items"):
            named = _named_series(self, x)
            if named is not None:
                return _event_from_dict(self, named, own_buffer, predicting)
        x = _np.asarray(x)
    a = <cnp.ndarray>x
    if cnp.PyArray_NDIM(a) == 2 and a.shape[0] == 1:
        a = a.reshape(-1)
    if cnp.PyArray_NDIM(a) != 1:
        raise ValueError(f"x must be one row (a 1-D array); got an array of shape {(<object>a).shape}")
    if a.shape[0] != self.n_features:
        raise ValueError(f"x has {a.shape[0]} features, but the model is expecting "
                         f"{self.n_features} features as input.")
    if a.dtype.kind not in "biuf":
        if a.dtype.kind == "c":
            raise ValueError("Complex data not supported")
        try:
            a = _np.ascontiguousarray(a, dtype=_np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"x must be numeric: {e}") from None
    cdef bint f32 = self.f32 and (not predicting or cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT32)
    if cnp.PyArray_TYPE(a) != (cnp.NPY_FLOAT32 if f32 else cnp.NPY_FLOAT64) \
            or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        a = _np.ascontiguousarray(a, dtype=_np.float32 if f32 else _np.float64)
    return a


cdef object _named_series(Engine self, x):
    """A pandas Series event of a model fitted on named features, as the dict
    of its values by name when its index names features in another order
    (or some of them); None to read it by position (its index is the fitted
    names in order, or not names at all)."""
    index = list(x.index)
    if not index or not all(isinstance(k, str) for k in index):
        return None
    if len(index) == len(self.names) and index == list(self.names):
        return None
    return dict(x.items())


cdef object _event_from_dict(Engine self, dict x, bint own_buffer=False, bint predicting=False):
    if self.names is None:
        raise ValueError("x is a dict, but the model was fitted without feature "
                         "names; pass a 1-D array")
    cdef cnp.ndarray buf
    if own_buffer:      # predictions: never the buffer a learning call reads
        # (a dict's numbers are float64, as a DataFrame's are for predict)
        buf = _np.zeros(self.n_features, dtype=_np.float64 if predicting else self.dtype)
    else:
        if self.dense_buf is None:
            self.dense_buf = _np.zeros(self.n_features, dtype=self.dtype)
        buf = self.dense_buf
        buf.fill(0)
    for key, value in x.items():
        j = self.names.get(key)
        if j is None:
            raise ValueError(f"x has a feature the model was not fitted with: {key!r}")
        try:
            buf[j] = value
        except (TypeError, ValueError):
            raise ValueError(f"feature {key!r} must be numeric; got {value!r}") from None
    return buf


cdef tuple _event_csr(Engine self, x, bint predicting=False):
    """(data, indices) of a 1-row sparse x, checked; the model's dtypes
    (``predicting``: the values as _event_dense reads them then). A CSR row
    that is already in them is used without a copy. A dict event of a
    hash_bits model: its hashed features (in range by construction)."""
    if type(x) is dict:
        hashed = self.hasher.hash_one(x)
        if self.f32 and not predicting:
            return hashed[0].astype(_np.float32), hashed[1]
        return hashed
    if type(x) is not _CSR_MATRIX and type(x) is not _CSR_ARRAY:
        if x.ndim != 2:
            raise ValueError(f"x must be one row; got a sparse array of shape {x.shape}")
        x = x.tocsr()
    shape = x.shape
    if len(shape) == 1:    # a 1-D sparse array is one row too
        shape = (1, shape[0])
    if len(shape) != 2 or shape[0] != 1:
        raise ValueError(f"x must be one row; got a sparse matrix of shape {shape}")
    if shape[1] != self.n_features:
        raise ValueError(f"x has {shape[1]} features, but the model is expecting "
                         f"{self.n_features} features as input.")
    cdef cnp.ndarray data = x.data, indices = x.indices, indptr = x.indptr
    if data.dtype.kind not in "biuf":
        raise ValueError(f"x must be numeric; got dtype {data.dtype}")
    if cnp.PyArray_TYPE(indptr) != cnp.NPY_INT32:
        indptr = _np.ascontiguousarray(indptr, dtype=_np.intc)
    if indptr.shape[0] != 2:
        raise ValueError("invalid CSR matrix: indptr must hold 2 offsets for one row")
    cdef Py_ssize_t lo = (<const int*>cnp.PyArray_DATA(indptr))[0]
    cdef Py_ssize_t hi = (<const int*>cnp.PyArray_DATA(indptr))[1]
    if lo < 0 or hi < lo or hi > data.shape[0] or hi > indices.shape[0]:
        raise ValueError("invalid CSR matrix: indptr is not a valid row pointer")
    cdef bint f32 = self.f32 and (not predicting or cnp.PyArray_TYPE(data) == cnp.NPY_FLOAT32)
    if (lo != 0 or hi != data.shape[0] or not cnp.PyArray_IS_C_CONTIGUOUS(data)
            or cnp.PyArray_TYPE(data) != (cnp.NPY_FLOAT32 if f32 else cnp.NPY_FLOAT64)):
        data = _np.ascontiguousarray(data[lo:hi], dtype=_np.float32 if f32 else _np.float64)
    if (lo != 0 or hi != indices.shape[0] or not cnp.PyArray_IS_C_CONTIGUOUS(indices)
            or cnp.PyArray_TYPE(indices) != cnp.NPY_INT32):
        indices = _np.ascontiguousarray(indices[lo:hi], dtype=_np.intc)
    cdef const int* ip = <const int*>cnp.PyArray_DATA(indices)
    cdef Py_ssize_t k
    for k in range(hi - lo):
        if ip[k] < 0 or ip[k] >= self.n_features:
            raise ValueError(f"invalid CSR matrix: column index {ip[k]} is outside "
                             f"[0, {self.n_features})")
    return data, indices


cdef double _event_target(Engine self, y) except? -1.0:
    """Label index (classifiers) or value (regression) of one target."""
    cdef double v
    if self.mode == 0:
        try:
            v = float(y)
        except (TypeError, ValueError):
            raise ValueError(f"y must be a number; got {y!r}") from None
        if not isfinite(v):
            raise ValueError("Input y contains NaN or infinity.")
        if not self.loss.valid_target(v):
            raise self.loss.target_error(v)
        return v
    try:
        idx = self.labels.get(y)
    except TypeError:   # unhashable: a list or an array, not one label
        raise TypeError(f"y must be one label (a scalar); got {type(y).__name__} {y!r}") from None
    if idx is None:
        raise ValueError(f"y={y!r} is not one of the classes the model was "
                         f"fitted with: {list(self.labels)!r}")
    return <double><Py_ssize_t>idx


cdef double _progressive_loss(Engine self):
    # a race serves its own predictions: their loss, not its copies'
    cdef double n = 0.0, total = 0.0
    cdef int k
    for k in range(0, self.n_problems, self.copies):
        if self.copies > 1:
            n += self.scalars[k * N_SLOTS + SLOT_SERVED_N]
            total += self.scalars[k * N_SLOTS + SLOT_SERVED_LOSS]
        else:
            n += self.scalars[k * N_SLOTS + SLOT_N_SEEN]
            total += self.scalars[k * N_SLOTS + SLOT_LOSS_SUM]
    return total / n if n else float("nan")


cdef double _served_rate(Engine self):
    # the rate of what a race serves: its copies' rates, weighted by share
    cdef double lr = 0.0
    cdef int k
    for k in range(self.n_problems):
        lr += self.scalars[k * N_SLOTS + SLOT_RACE_SHARE] * (<Config>self.cfgs[k]).eta0
    return lr / self.n_outputs


cdef Py_ssize_t _learn(Engine self, const void* values, const int* indices, const int* indptr,
                       Py_ssize_t n_rows, const double* targets, const double* sw) except? -3:
    cdef Py_ssize_t status
    if self.saved:
        raise RuntimeError("a snapshot of another call is pending")
    if self.f32:
        status = _learn_typed(self, <const float*>values, indices, indptr, n_rows, targets, sw)
    else:
        status = _learn_typed(self, <const double*>values, indices, indptr, n_rows, targets, sw)
    self.last_status = status
    if status > 0:
        if self.has_drift and self.dloop.n_found:
            _drift_append(self, self.progress.t)
        _record_progress(self, n_rows)
    return status


cdef void _count_classes(Engine self, floating* ws, const double* targets, const double* sw,
                         Py_ssize_t n_rows) noexcept:
    """Count each row's class (the snapshot holds the counts before) and,
    with streaming class_weight="balanced", weight it by n / (K n_c) of the
    counts including it (K classes, n samples counted), times its
    sample_weight, in float64 and then the model's dtype, as the general
    path computes it (linear_model/_classifier.py)."""
    cdef Py_ssize_t i, c
    cdef long long n = 0
    for c in range(self.n_counts):
        n += self.counts[c]
    for i in range(n_rows):
        c = <Py_ssize_t>targets[i]
        self.counts[c] += 1
        n += 1
        if self.balanced:
            ws[i] = <floating>(sw[i] * (<double>n / (<double>self.n_counts * <double>self.counts[c])))


cdef int _drift_append(Engine self, double t0) except -1:
    """Add the call's detections to the model's log (``drifts_``): t_ - 1 at
    each, t0 the t_ before the call."""
    found = t0 + self.drifts_found()
    state = self.model_state
    state.drifts = _np.concatenate([state.drifts, found.astype(_np.int64)])
    self.dloop.n_found = 0
    return 0


cdef int _record_progress(Engine self, Py_ssize_t n) except -1:
    """What the general path records after a streaming pass."""
    cdef Progress pr = self.progress
    cdef double t0 = pr.t
    pr.t = t0 + n
    pr.n_iter = 1
    if isfinite(self.last_lr):
        pr.lr = self.last_lr
    pr._record(t0 - 1.0 + n, pr.lr, self.last_progressive)
    if self.verbose:
        print(f"partial_fit: {n} samples, T: {self.last_t - 1:.0f}, lr: {pr.lr:.3g}, "
              f"progressive loss: {self.last_progressive:f}")
    return 0


cdef Py_ssize_t _learn_typed(Engine self, const floating* values, const int* indices,
                             const int* indptr, Py_ssize_t n_rows, const double* targets,
                             const double* sw) except? -3:
    cdef Py_ssize_t d = self.n_features, i, nnz_total
    cdef int K = self.n_problems, kk
    cdef bint dense = indptr == NULL
    cdef Py_ssize_t row_bytes = n_rows * sizeof(floating)
    nnz_total = n_rows * d if dense else indptr[n_rows]
    # 1. the input is finite (a NaN would otherwise be learned from)
    if not _finite_values(values, nnz_total):
        for i in range(n_rows):
            if not _finite_values(values + (i * d if dense else indptr[i]),
                                  d if dense else indptr[i + 1] - indptr[i]):
                raise ValueError(f"Input X contains NaN or infinity (in row {i}).")
    # 2. the snapshot of what the call touches, for every problem: a sparse
    # call snapshots its rows' coordinates, unless plain SGD's weight scale
    # may be folded into every weight during it; scratch for the targets
    cdef bint full = dense or self._may_fold_scale(n_rows, False)
    self._save_all(indices, nnz_total, full)
    if self.mode == 3:      # the softmax model (multinomial.pxi)
        return _learn_softmax(self, values, indices, indptr, n_rows, targets, sw, nnz_total, full)
    if self.has_drift and self.copies > 1:
        return _learn_race_lockstep(self, values, indices, indptr, n_rows, targets, sw, nnz_total,
                                    full)
    if self.has_drift and K > 1:
        return _learn_lockstep(self, values, indices, indptr, n_rows, targets, sw, nnz_total, full)
    self._reserve(0, 2 * row_bytes + n_rows * sizeof(Py_ssize_t))
    cdef floating* ys = <floating*>self.tmp
    cdef floating* ws = ys + n_rows
    cdef Py_ssize_t* order = <Py_ssize_t*>(self.tmp + 2 * row_bytes)
    for i in range(n_rows):
        ws[i] = <floating>sw[i]
        order[i] = i
    if self.n_counts:
        _count_classes(self, ws, targets, sw, n_rows)
    # 3. the loop, problem by problem (one-vs-rest problems are independent;
    # in a race, each copy of a binary problem records its decision values,
    # then the race serves the rows from them)
    cdef Config cfg
    cdef Problem P
    cdef Rows R
    cdef Pass ps
    cdef double last_eta = float("nan")
    cdef Py_ssize_t status = n_rows
    cdef SchedProgram prog
    cdef double* row
    cdef bint release = nnz_total * self.n_slots_blk * K > NOGIL_WORK
    cdef int copies = self.copies, b, c, alive
    cdef bint race = copies > 1
    cdef double* margins = NULL
    cdef double* losses = NULL
    cdef Py_ssize_t valid[MAX_COPIES]
    cdef object margin_buf
    if race:
        margin_buf = _np.empty(2 * copies * n_rows, dtype=_np.float64)
        margins = <double*>cnp.PyArray_DATA(<cnp.ndarray>margin_buf)
        losses = margins + copies * n_rows
    R.indices = indices
    R.cross = NULL
    R.indptr = indptr
    R.n_features = d
    R.order = order
    R.n_rows = n_rows
    cdef Py_ssize_t lo, seg
    for b in range(self.n_outputs):
        for i in range(n_rows):
            if self.mode == 0:
                ys[i] = <floating>targets[i]
            else:
                ys[i] = (1.0 if <Py_ssize_t>targets[i] == (b if self.mode == 2 else 1)
                         else <floating>self.neg)
        lo = 0
        while lo < n_rows:
            # a race's segments end where it narrows (race.pxi)
            seg = min(n_rows - lo, _race_rows_to_narrowing(self.scalars, b, &self.race_rule)) \
                if race else n_rows
            R.order = order + lo
            R.n_rows = seg
            alive = 0
            for c in range(copies):
                kk = b * copies + c
                row = self.scalars + kk * N_SLOTS
                valid[c] = 0
                if race and (row[SLOT_RACE_STATUS] == RACE_OUT
                             or row[SLOT_RACE_STATUS] == RACE_ASLEEP):
                    continue
                cfg = <Config>(self.cfgs[kk] if dense else self.cfgs_sparse[kk])
                self._begin(kk, &P, &ps, &prog, cfg.eta0, False, True)
                if race:
                    ps.margins = margins + c * seg
                    ps.losses = losses + c * seg
                elif self.has_drift:
                    ps.drift = &self.dloop
                if release:
                    with nogil:
                        status = _epoch(&P, &R, &ps, values, ys, ws, self.loss, cfg)
                else:
                    status = _epoch(&P, &R, &ps, values, ys, ws, self.loss, cfg)
                _store(&P.s, row)
                if race:
                    # a copy that diverges leaves the race, back as it was
                    valid[c] = seg if status >= 0 else -status - 1
                    if status < 0 or not _problem_finite(self, <floating*>NULL, kk, indices,
                                                         nnz_total, full):
                        _restore_problem(self, <floating*>NULL, kk, indices, nnz_total, full)
                        row[SLOT_RACE_STATUS] = RACE_OUT
                        continue
                    alive += 1
                else:
                    if status >= 0 and not _problem_finite(self, <floating*>NULL, kk, indices,
                                                           nnz_total, full):
                        status = -2     # the state overflowed (t: updates made + 1)
                    elif status < 0:
                        status = -1     # update number t made the model non-finite
                    if status < 0:
                        self._restore_all()
                        self._drop()
                        self.last_lr = ps.last_eta if isfinite(ps.last_eta) else last_eta
                        self.last_t = P.t
                        return status
                row[SLOT_T] = P.t
                if isfinite(ps.last_eta):
                    last_eta = ps.last_eta
            if race:
                if alive == 0:
                    # every copy diverged: the call fails as a single model's would
                    self._restore_all()
                    self._drop()
                    self.last_lr = last_eta
                    self.last_t = P.t
                    return -1
                cfg = <Config>self.cfgs[b * copies]
                _race_combine(self.scalars, b, &self.race_rule, self.loss, ys + lo, ws + lo,
                              cfg.weight_pos, cfg.weight_neg, NULL, seg, margins, losses, seg,
                              valid)
            lo += seg
    if self.has_drift and self.dloop.out_of_memory:
        self._restore_all()
        self._drop()
        raise MemoryError("no memory left to record drift detections")
    self._drop()
    self.last_lr = _served_rate(self) if race else last_eta
    self.last_t = P.t
    self.last_progressive = _progressive_loss(self)
    return n_rows


cdef Py_ssize_t _learn_lockstep(Engine self, const floating* values, const int* indices,
                                const int* indptr, Py_ssize_t n_rows, const double* targets,
                                const double* sw, Py_ssize_t nnz_total, bint full) except? -3:
    """The event path of one-vs-rest with a drift detector (after the
    snapshot): every problem's targets at once, then ``_drift_lockstep``,
    the finiteness check, and rollback or bookkeeping as ``_learn_typed``."""
    cdef int K = self.n_problems, kk
    cdef Py_ssize_t row_bytes = n_rows * sizeof(floating), i, status
    self._reserve(0, (K + 1) * row_bytes + 2 * n_rows * sizeof(Py_ssize_t))
    cdef floating* ys = <floating*>self.tmp
    cdef floating* ws = ys + K * n_rows
    cdef double yb
    cdef Py_ssize_t* order = <Py_ssize_t*>(self.tmp + (K + 1) * row_bytes)
    cdef Py_ssize_t* labels = order + n_rows
    for i in range(n_rows):
        ws[i] = <floating>sw[i]
        order[i] = i
        labels[i] = <Py_ssize_t>targets[i]
        for kk in range(K):
            ys[kk * n_rows + i] = 1.0 if labels[i] == kk else <floating>self.neg
    if self.n_counts:
        _count_classes(self, ws, targets, sw, n_rows)
    status = _drift_lockstep(self, values, indices, indptr, ys, n_rows, labels, ws, order, n_rows)
    if status >= 0:
        for kk in range(K):
            if not _problem_finite(self, <floating*>NULL, kk, indices, nnz_total, full):
                status = -2     # the state overflowed (t: updates made + 1)
                break
    elif status < 0:
        status = -1
    if status < 0 or self.dloop.out_of_memory:
        self._restore_all()
        self._drop()
        if self.dloop.out_of_memory:
            raise MemoryError("no memory left to record drift detections")
        return status
    self._drop()
    self.last_progressive = _progressive_loss(self)
    return n_rows


# rows of one-vs-rest learned side by side before the detector is fed (a
# segment also ends where the detector may next flag drift)
cdef Py_ssize_t LOCKSTEP_ROWS = 4096


cdef Py_ssize_t _drift_lockstep(Engine self, const floating* values, const int* indices,
                                const int* indptr, const floating* ys, Py_ssize_t ystride,
                                const Py_ssize_t* labels, const floating* ws,
                                const Py_ssize_t* order, Py_ssize_t n_rows) except? -3:
    """One-vs-rest with a drift detector: the K binary problems learn rows
    ``order[lo:lo + seg]`` one after the other, recording their decision
    values, where the segment ends at the next row that may flag drift
    (``drift_rows_to_check``); then the detector is fed each row's
    multiclass 0/1 error (the class of the first largest decision value, as
    ``predict``, against ``labels[r]``), and a detection (on the segment's
    last row) makes every problem react before the next segment. So each
    row is learned by models that reacted to every detection before it, as
    in one loop over rows. ``ys + k * ystride``: problem k's targets.
    Returns n_rows, or -(i + 1) when row i made a problem non-finite (the
    caller restores); sets last_lr and last_t; logs the detections."""
    cdef int K = self.n_problems, k, best
    cdef bint dense = indptr == NULL
    cdef Py_ssize_t cap = min(n_rows, LOCKSTEP_ROWS), lo = 0, seg, i, status = 0, r
    cdef cnp.ndarray mbuf = _np.empty(K * cap, dtype=_np.float64)
    cdef double* margins = <double*>cnp.PyArray_DATA(mbuf)
    cdef double* row
    cdef double last_eta = NAN, t = NAN
    cdef Config cfg
    cdef Problem P
    cdef Rows R
    cdef Pass ps
    cdef SchedProgram prog
    R.indices = indices
    R.cross = NULL
    R.indptr = indptr
    R.n_features = self.n_features
    while lo < n_rows:
        seg = min(n_rows - lo, cap, drift_rows_to_check(&self.dloop.det))
        R.order = order + lo
        R.n_rows = seg
        for k in range(K):
            cfg = <Config>(self.cfgs[k] if dense else self.cfgs_sparse[k])
            self._begin(k, &P, &ps, &prog, cfg.eta0, False, True)
            ps.margins = margins + k * seg
            if seg >= 256:
                with nogil:
                    status = _epoch(&P, &R, &ps, values, ys + k * ystride, ws, self.loss, cfg)
            else:
                status = _epoch(&P, &R, &ps, values, ys + k * ystride, ws, self.loss, cfg)
            row = self.scalars + k * N_SLOTS
            _store(&P.s, row)
            row[SLOT_T] = P.t
            t = P.t
            if isfinite(ps.last_eta):
                last_eta = ps.last_eta
            if status < 0:
                self.last_lr = last_eta
                self.last_t = P.t
                return status - lo
        for i in range(seg):
            r = order[lo + i]
            best = 0
            for k in range(1, K):      # the first maximum, as predict
                if margins[k * seg + i] > margins[best * seg + i]:
                    best = k
            if drift_update(&self.dloop.det, 1.0 if best != labels[r] else 0.0):
                drift_log(&self.dloop, lo + i)
                for k in range(K):
                    _drift_react_problem(self, k)
        lo += seg
    self.last_lr = last_eta
    self.last_t = t
    return n_rows


cdef void _drift_react_problem(Engine self, int k) noexcept:
    """Problem k reacts to a detection (drift.pxi), before its next update
    (a race's copy with its own rule's template)."""
    cdef Problem P
    cdef double* row = self.scalars + k * N_SLOTS
    cdef DriftLoop dl = self.dloop
    cdef int c
    if dl.templates > 1:
        c = k % self.copies
        dl.slot_init = dl.slot_init + c * dl.n_slots
        dl.slot_from_w = dl.slot_from_w + c * dl.n_slots
        dl.rule_init = dl.rule_init + c * RULE_SCALARS
    # (a copy whose blocks are its own rule's width: its own slots only)
    dl.n_slots = <int>min(<Py_ssize_t>dl.n_slots, self.wn[k] - 1)
    self._problem(&P, k)
    _load(&P.s, row)
    if self.f32:
        drift_react(&dl, <float*>P.w, self.n_features, self.wcs[k], self.ss, P.oint, P.stamp,
                    <float*>P.q, <float*>P.aw, &P.s,
                    self.schedule_state + k * self.schedule_state_n, row[SLOT_T])
    else:
        drift_react(&dl, <double*>P.w, self.n_features, self.wcs[k], self.ss, P.oint, P.stamp,
                    <double*>P.q, <double*>P.aw, &P.s,
                    self.schedule_state + k * self.schedule_state_n, row[SLOT_T])
    _store(&P.s, row)


cdef void _race_drift_react(Engine self, bint softmax, bint settle) noexcept:
    """A race reacts to a detection: each copy still in it restarts (or
    resets), then the race re-opens. One-vs-rest: per binary problem b, its
    copies b * R + c; the softmax: per copy c (its status in class 0's
    rows), its class rows k * R + c. A sleeping copy woken during a call
    first puts its coordinates in the call's snapshot (unchanged since the
    call began). ``settle``: store the shares now (and copy the softmax's
    race state to every class row), for a reaction made after a call."""
    cdef int R = self.copies, B = 1 if softmax else self.n_outputs
    cdef int K = self.n_outputs if softmax else 1, b, c, k, kk, status_row
    if self.dloop.on_drift == ON_DRIFT_NONE:
        return
    for b in range(B):
        for c in range(R):
            status_row = c if softmax else b * R + c
            if self.scalars[status_row * N_SLOTS + SLOT_RACE_STATUS] == RACE_OUT:
                continue
            for k in range(K):
                kk = k * R + c if softmax else b * R + c
                if self.saved and self.save_whole[kk] == 2:
                    if self.f32:
                        _save_coordinates(self, <float*>NULL, kk, self.saved_idx,
                                          self.saved_nnz, self.saved_full)
                    else:
                        _save_coordinates(self, <double*>NULL, kk, self.saved_idx,
                                          self.saved_nnz, self.saved_full)
                _drift_react_problem(self, kk)
        _race_reopen(self.scalars, b, &self.race_rule)
        if settle:
            _race_store_shares(self.scalars, b, &self.race_rule)
    if settle and softmax:
        _softmax_race_sync(self)


# -- a rate race with a drift detector ------------------------------------------------


cdef Py_ssize_t _learn_race_lockstep(Engine self, const floating* values, const int* indices,
                                     const int* indptr, Py_ssize_t n_rows, const double* targets,
                                     const double* sw, Py_ssize_t nnz_total, bint full) except? -3:
    """The event path of a rate race with a drift detector (after the
    snapshot): every binary problem's targets, ``_race_drift_lockstep``,
    then the copies left non-finite leave the race, and rollback (every
    copy of a binary problem out) or bookkeeping as ``_learn_typed``."""
    cdef int B = self.n_outputs, b, kk
    cdef Py_ssize_t row_bytes = n_rows * sizeof(floating), i, status
    self._reserve(0, (B + 1) * row_bytes + 2 * n_rows * sizeof(Py_ssize_t))
    cdef floating* ys = <floating*>self.tmp
    cdef floating* ws = ys + B * n_rows
    cdef Py_ssize_t* order = <Py_ssize_t*>(self.tmp + (B + 1) * row_bytes)
    cdef Py_ssize_t* labels = order + n_rows
    for i in range(n_rows):
        ws[i] = <floating>sw[i]
        order[i] = i
        labels[i] = <Py_ssize_t>targets[i]
        for b in range(B):
            if self.mode == 0:
                ys[b * n_rows + i] = <floating>targets[i]
            else:
                ys[b * n_rows + i] = (1.0 if labels[i] == (b if self.mode == 2 else 1)
                                      else <floating>self.neg)
    if self.n_counts:
        _count_classes(self, ws, targets, sw, n_rows)
    status = _race_drift_lockstep(self, values, indices, indptr, ys, n_rows,
                                  labels if self.mode == 2 else NULL, ws, order, n_rows, None)
    if status >= 0 and not _race_drop_overflowed(self, <floating*>NULL):
        status = -2     # every copy of a binary problem overflowed
    elif status < 0:
        status = -1
    if status < 0 or self.dloop.out_of_memory:
        self._restore_all()
        self._drop()
        if self.dloop.out_of_memory:
            raise MemoryError("no memory left to record drift detections")
        return status
    self._drop()
    self.last_lr = _served_rate(self)
    self.last_progressive = _progressive_loss(self)
    return n_rows


cdef bint _race_drop_overflowed(Engine self, floating* dtype_only) noexcept:
    """The copies still learning whose state is not finite where the call
    could change it leave the race (back to the snapshot); False when that
    leaves a binary problem without a copy in the race."""
    cdef int b, c, kk, left
    cdef double* row
    for b in range(self.n_outputs):
        left = 0
        for c in range(self.copies):
            kk = b * self.copies + c
            row = self.scalars + kk * N_SLOTS
            if row[SLOT_RACE_STATUS] == RACE_OUT or row[SLOT_RACE_STATUS] == RACE_ASLEEP:
                continue
            if not _problem_finite(
                    self, dtype_only, kk, self.saved_idx, self.saved_nnz, self.saved_full):
                _restore_problem(self, dtype_only, kk, self.saved_idx, self.saved_nnz,
                                 self.saved_full)
                row[SLOT_RACE_STATUS] = RACE_OUT
                continue
            left += 1
        if left == 0:
            return False
    return True


cdef Py_ssize_t _race_drift_lockstep(Engine self, const floating* values, const int* indices,
                                     const int* indptr, const floating* ys, Py_ssize_t ystride,
                                     const Py_ssize_t* labels, const floating* ws,
                                     const Py_ssize_t* order, Py_ssize_t n_rows,
                                     list failed) except? -3:
    """A rate race with a drift detector: the copies of every binary problem
    learn rows ``order[lo:lo + seg]`` one after the other, recording their
    decision values, where the segment ends at the next row that may flag
    drift (``drift_rows_to_check``) or where a race narrows; then the race
    serves the segment's rows in order (``_race_serve_row``) and the
    detector is fed each row's served 0/1 error (``labels`` set: the class
    of the first largest served value against ``labels[r]``; else the sign
    of the served value against the target), or the served loss for a
    regressor. A detection (on the segment's last row) makes every copy
    still in the race react and re-opens the races (unless on_drift is
    "none") before the next segment: so each row is learned and served by
    copies that reacted to every detection before it, as in one loop over
    rows. ``ys + b * ystride``: binary problem b's targets (indexed by row).
    A copy whose prediction or step becomes non-finite leaves the race, back
    to the snapshot (``failed``, if given, receives the position of that
    row). Returns n_rows, or -1 when every copy of a binary problem left
    (the caller restores); sets last_lr and last_t; logs the detections."""
    cdef int B = self.n_outputs, R = self.copies, b, c, kk, best, alive
    cdef bint dense = indptr == NULL
    cdef Py_ssize_t cap = min(n_rows, LOCKSTEP_ROWS), lo = 0, seg, i, status = 0, r
    cdef cnp.ndarray mbuf = _np.empty(2 * self.n_problems * cap + B, dtype=_np.float64)
    cdef cnp.ndarray vbuf = _np.empty(self.n_problems, dtype=_np.intp)
    cdef double* margins = <double*>cnp.PyArray_DATA(mbuf)
    cdef double* losses = margins + self.n_problems * cap
    cdef double* served = losses + self.n_problems * cap
    cdef Py_ssize_t* valid = <Py_ssize_t*>cnp.PyArray_DATA(vbuf)
    cdef double* row
    cdef double last_eta = NAN, t = NAN, y, x
    cdef Config cfg
    cdef Problem P
    cdef Rows Rw
    cdef Pass ps
    cdef SchedProgram prog
    Rw.indices = indices
    Rw.cross = NULL
    Rw.indptr = indptr
    Rw.n_features = self.n_features
    while lo < n_rows:
        seg = min(n_rows - lo, cap, drift_rows_to_check(&self.dloop.det))
        for b in range(B):
            seg = min(seg, _race_rows_to_narrowing(self.scalars, b, &self.race_rule))
        Rw.order = order + lo
        Rw.n_rows = seg
        for b in range(B):
            alive = 0
            for c in range(R):
                kk = b * R + c
                row = self.scalars + kk * N_SLOTS
                valid[kk] = 0
                if row[SLOT_RACE_STATUS] == RACE_OUT or row[SLOT_RACE_STATUS] == RACE_ASLEEP:
                    continue
                cfg = <Config>(self.cfgs[kk] if dense else self.cfgs_sparse[kk])
                self._begin(kk, &P, &ps, &prog, cfg.eta0, False, True)
                ps.margins = margins + kk * seg
                ps.losses = losses + kk * seg
                if seg >= 256:
                    with nogil:
                        status = _epoch(&P, &Rw, &ps, values, ys + b * ystride, ws, self.loss, cfg)
                else:
                    status = _epoch(&P, &Rw, &ps, values, ys + b * ystride, ws, self.loss, cfg)
                _store(&P.s, row)
                t = P.t
                if status < 0:
                    # this copy diverged: it leaves the race, back as it was
                    valid[kk] = -status - 1
                    _restore_problem(self, <floating*>NULL, kk, self.saved_idx, self.saved_nnz,
                                     self.saved_full)
                    row[SLOT_RACE_STATUS] = RACE_OUT
                    if failed is not None:
                        failed.append(lo - status - 1)
                    continue
                valid[kk] = seg
                row[SLOT_T] = P.t
                if isfinite(ps.last_eta):
                    last_eta = ps.last_eta
                alive += 1
            if alive == 0:
                # every copy diverged: the call fails as a single model's would
                self.last_lr = last_eta
                self.last_t = t
                return -1
        for i in range(seg):
            r = order[lo + i]
            for b in range(B):
                yb = ys[b * ystride + r]
                cfg = <Config>self.cfgs[b * R]
                served[b] = _race_serve_row(self.scalars, b, &self.race_rule, self.loss, yb,
                                            (cfg.weight_pos if yb > 0.0 else cfg.weight_neg)
                                            * (<double>ws[r] if ws != NULL else 1.0),
                                            margins + b * R * seg, losses + b * R * seg, seg,
                                            valid + b * R, i, NULL)
            if labels != NULL:
                best = 0
                for b in range(1, B):      # the first maximum, as predict
                    if served[b] > served[best]:
                        best = b
                x = 1.0 if best != labels[r] else 0.0
            else:
                y = ys[r]
                x = drift_input(&self.dloop, y, served[0],
                                self.loss.loss(y, served[0]) if self.dloop.feed_loss else 0.0)
            if drift_update(&self.dloop.det, x):
                drift_log(&self.dloop, lo + i)
                _race_drift_react(self, False, False)
        for b in range(B):
            _race_store_shares(self.scalars, b, &self.race_rule)
        lo += seg
    self.last_lr = last_eta
    self.last_t = t
    return n_rows
