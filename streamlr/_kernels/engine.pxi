# The one training engine: ``Engine`` binds a model's state (the arrays of
# ``ModelState``) once and is the only way into the per-sample loop.
#
#   general path   fit / partial_fit of many rows: the Python driver
#                  (linear_model/_driver.py) takes a snapshot (``save``), runs
#                  ``run_pass`` per problem and epoch (without the GIL, one
#                  thread per problem with n_jobs), checks ``finite`` and, on
#                  failure, calls ``restore``.
#   event path     learn_one and partial_fit of a few rows: ``learn_one`` /
#                  ``learn_rows`` do the same steps (the same ``_save``,
#                  ``_epoch``, ``_finite``, ``_restore``) in one C call and
#                  record the bookkeeping into the model's ``Progress``.
#
# Why a bound object: a def call that takes a dozen memoryviews pays for
# acquiring each buffer (~0.3 us apiece), ten times the cost of learning one
# sparse event. ``Engine`` keeps raw pointers to the model's arrays (and the
# arrays alive). It stays valid while the estimator's attributes and its
# spec objects hold the same objects as when it was built (``is_current``:
# an identity check, no global state); any change makes the estimator build
# and validate a new one.
#
# Included by sgd.pyx, so each build (baseline, AVX2) has its own copy.

_CSR_MATRIX = _sp.csr_matrix
_CSR_ARRAY = _sp.csr_array

# bigger events than this (values x state slots x problems) release the GIL
cdef Py_ssize_t NOGIL_WORK = 1 << 15


cdef inline void _load(Scalars* s, const double* row) noexcept nogil:
    s.wscale = row[SLOT_WSCALE]
    s.intercept = row[SLOT_INTERCEPT]
    s.average_a = row[SLOT_AVG_A]
    s.average_b = row[SLOT_AVG_B]
    s.average_intercept = row[SLOT_AVG_INTERCEPT]
    s.u = row[SLOT_L1_U]
    s.sq_norm = row[SLOT_SQNORM]
    s.l1_norm = row[SLOT_L1NORM]
    s.loss_sum = row[SLOT_LOSS_SUM]
    s.n_seen = row[SLOT_N_SEEN]
    s.mu_product = row[SLOT_MU_PRODUCT]


cdef inline void _store(const Scalars* s, double* row) noexcept nogil:
    row[SLOT_WSCALE] = s.wscale
    row[SLOT_INTERCEPT] = s.intercept
    row[SLOT_AVG_A] = s.average_a
    row[SLOT_AVG_B] = s.average_b
    row[SLOT_AVG_INTERCEPT] = s.average_intercept
    row[SLOT_L1_U] = s.u
    row[SLOT_SQNORM] = s.sq_norm
    row[SLOT_L1NORM] = s.l1_norm
    row[SLOT_LOSS_SUM] = s.loss_sum
    row[SLOT_N_SEEN] = s.n_seen
    row[SLOT_MU_PRODUCT] = s.mu_product


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
    if cfg.learning_rate == LR_OPTIMAL:          # decreasing in t
        eta = 1.0 / (cfg.alpha * (cfg.optimal_init + t - 1))
    elif cfg.learning_rate == LR_INVSCALING:     # monotone in t
        eta = max(cfg.eta0 / pow(t, cfg.power_t), cfg.eta0 / pow(t + steps, cfg.power_t))
    elif cfg.learning_rate == LR_SCHEDULE:
        if prog == NULL or steps > MAX_SCHEDULE_PROBE:
            return True
        for i in range(steps):
            eta = max(eta, sched_rate(prog, 0, t - 1.0 + i, &plateau))
    else:                                        # constant, adaptive (only divided), PA
        eta = cfg.eta0
    factor = max(0.0, 1.0 - eta * cfg.alpha * (1.0 - cfg.l1_ratio))
    return wscale * pow(factor, <double>steps) < threshold * (1.0 + 1e-6)


cdef bint _same_items(dict d, tuple keys, tuple values):
    """Whether ``d`` holds exactly these keys and value objects, in order."""
    cdef Py_ssize_t pos = 0, i = 0
    cdef PyObject* k
    cdef PyObject* v
    if PyDict_Size(d) != len(keys):
        return False
    while PyDict_Next(d, &pos, &k, &v):
        if k != <PyObject*>keys[i] or v != <PyObject*>values[i]:
            return False
        i += 1
    return True


cdef class Engine:
    """A model's state bound for the per-sample loop (see the module comment).

    Parameters
    ----------
    state : ModelState
        The model's arrays (``weight_blocks``, ``average_weights``,
        ``l1_received``, ``last_update``, ``scalars``, ``intercept_block``,
        ``schedule_state``; C-contiguous and writeable), its layout
        (``interleaved``) and its ``progress`` (a ``Progress``).
    cfgs, cfgs_sparse : list of Config
        One per binary problem, for dense rows and for CSR rows (plain SGD's
        intercept step differs).
    loss : Loss
    mode : int
        How a target reaches problem k: 0 regression (the value), 1 binary
        (label index 1 is positive), 2 one-vs-rest (label index k is
        positive).
    neg : float
        The negative target of the binary encoding (0 for log loss, else -1).
    average : int
        The estimator's ``average`` parameter.
    program : tuple or None
        The compiled schedule ``(kinds, params, extra)``, or None.
    labels : dict, optional
        label -> index in ``classes`` (classifiers).
    names : dict, optional
        feature name -> column, for dict events.
    classes : tuple, optional
        ``classes_`` (classifiers).
    watched : tuple, optional
        Dicts whose contents the engine was built from (the estimator's
        ``__dict__`` and its spec objects'): ``is_current`` is False once any
        of them holds another object.
    """
    cdef readonly int n_problems
    cdef readonly Py_ssize_t n_features
    cdef readonly bint f32
    cdef readonly long long average
    # the outcome of the last event call: status (n rows, or -1 / -2, see
    # learn_rows), rate of its last update, progressive loss, the kernel's t
    cdef readonly Py_ssize_t last_status
    cdef readonly double last_lr, last_progressive, last_t
    cdef Progress progress
    cdef object _keep                 # the arrays whose memory we point into
    cdef list cfgs                    # one Config per problem, for dense rows
    cdef list cfgs_sparse             # ... for CSR rows (plain SGD's intercept step)
    cdef Loss loss
    cdef int mode
    cdef double neg
    cdef bint plain
    cdef bint verbose
    # state pointers (problem 0; problem k is at + k * its stride)
    cdef char* weights
    cdef char* averages
    cdef char* l1_received
    cdef long long* last_update
    cdef double* scalars
    cdef double* intercepts
    cdef double* schedule_state
    cdef Py_ssize_t n_slots_blk, cs, ss       # entries per coordinate, their strides
    cdef Py_ssize_t averages_d, l1_received_d, last_update_d, intercepts_n, schedule_state_n
    cdef Py_ssize_t isz                       # bytes per weight (4 or 8)
    cdef bint has_sched
    cdef SchedProgram prog_proto              # kinds/params/extra; state per problem
    # lookups for the Python-facing calls
    cdef dict labels                          # label -> index in classes_
    cdef readonly tuple classes               # classes_ (their numpy scalars)
    cdef dict names                           # feature name -> column
    cdef object dtype
    cdef object dense_buf                     # scratch row for dict events
    cdef tuple watched                        # ((dict, keys, values), ...)
    # the snapshot of the running call, and scratch
    cdef char* save
    cdef Py_ssize_t save_cap
    cdef object save_array                    # owns `save` (a NumPy buffer: large ones
                                              # get transparent huge pages, fewer faults)
    cdef bint saved, saved_full
    cdef const int* saved_idx
    cdef Py_ssize_t saved_nnz
    cdef object saved_cols                    # keeps the general path's columns alive
    cdef char* tmp
    cdef Py_ssize_t tmp_cap
    # predictions' own scratch: a prediction (which holds the GIL throughout)
    # may run while a large event learns without the GIL in another thread
    cdef double* pbuf
    cdef Py_ssize_t pbuf_cap

    def __cinit__(self):
        self.save = NULL
        self.tmp = NULL
        self.pbuf = NULL
        self.save_cap = 0
        self.tmp_cap = 0
        self.pbuf_cap = 0
        self.saved = False

    def __dealloc__(self):
        free(self.tmp)
        free(self.pbuf)

    def __init__(self, state, list cfgs, list cfgs_sparse, Loss loss, int mode, double neg,
                 long long average, program=None, dict labels=None, dict names=None,
                 tuple classes=None, watched=(), bint verbose=False):
        cdef cnp.ndarray blk = state.weight_blocks, aw = state.average_weights
        cdef cnp.ndarray q = state.l1_received, stamp = state.last_update
        cdef cnp.ndarray scal = state.scalars, oint = state.intercept_block
        cdef cnp.ndarray sched_state = state.schedule_state
        cdef cnp.ndarray a
        for a in (blk, aw, q, stamp, scal, oint, sched_state):
            if not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISWRITEABLE(a):
                raise ValueError("state arrays must be C-contiguous and writeable")
        if scal.dtype != _np.float64 or oint.dtype != _np.float64 or stamp.dtype != _np.int64:
            raise ValueError("scalars and intercept_block must be float64, last_update int64")
        if blk.dtype not in (_np.float32, _np.float64) or aw.dtype != blk.dtype or q.dtype != blk.dtype:
            raise ValueError("weights, averages and l1_received must share a float32 or float64 dtype")
        self.n_problems = blk.shape[0]
        if len(cfgs) != self.n_problems or len(cfgs_sparse) != self.n_problems:
            raise ValueError("one Config per problem")
        self.f32 = blk.dtype == _np.float32
        self.dtype = blk.dtype
        self.isz = 4 if self.f32 else 8
        if state.interleaved:  # (K, d, P)
            self.n_features = blk.shape[1]
            self.n_slots_blk = blk.shape[2]
            self.cs, self.ss = self.n_slots_blk, 1
        else:                  # (K, S, d)
            self.n_features = blk.shape[2]
            self.n_slots_blk = blk.shape[1]
            self.cs, self.ss = 1, self.n_features
        self.averages_d, self.l1_received_d, self.last_update_d = aw.shape[1], q.shape[1], stamp.shape[1]
        self.intercepts_n, self.schedule_state_n = oint.shape[1], sched_state.shape[1]
        self.weights = <char*>cnp.PyArray_DATA(blk)
        self.averages = <char*>cnp.PyArray_DATA(aw)
        self.l1_received = <char*>cnp.PyArray_DATA(q)
        self.last_update = <long long*>cnp.PyArray_DATA(stamp)
        self.scalars = <double*>cnp.PyArray_DATA(scal)
        self.intercepts = <double*>cnp.PyArray_DATA(oint)
        self.schedule_state = <double*>cnp.PyArray_DATA(sched_state)
        self.progress = state.progress
        self.cfgs = cfgs
        self.cfgs_sparse = cfgs_sparse
        self.loss = loss
        self.mode, self.neg, self.plain = mode, neg, state.plain
        self.average = average
        self.verbose = verbose
        self.labels = labels
        self.names = names
        self.classes = classes
        self.watched = tuple((d, tuple(d.keys()), tuple(d.values())) for d in watched)
        self.has_sched = program is not None and program[0] is not None
        keep = [blk, aw, q, stamp, scal, oint, sched_state, self.progress]
        if self.has_sched:
            kinds = _np.ascontiguousarray(program[0], dtype=_np.intc)
            params = _np.ascontiguousarray(program[1], dtype=_np.float64)
            extra = _np.ascontiguousarray(program[2], dtype=_np.float64)
            if len(kinds) == 0 or len(params) == 0 or len(extra) == 0 or self.schedule_state_n == 0:
                raise ValueError("an empty schedule program")
            self.prog_proto.kinds = <const int*>cnp.PyArray_DATA(kinds)
            self.prog_proto.params = <const double*>cnp.PyArray_DATA(params)
            self.prog_proto.extra = <const double*>cnp.PyArray_DATA(extra)
            keep += [kinds, params, extra]
        self._keep = keep
        self.dense_buf = None   # made on the first dict event

    cpdef bint is_current(self):
        """Whether every watched dict still holds the objects it held when
        the engine was built (then its parameters are still the model's)."""
        cdef tuple entry
        for entry in self.watched:
            if not _same_items(<dict>entry[0], <tuple>entry[1], <tuple>entry[2]):
                return False
        return True

    # -- scratch ---------------------------------------------------------------

    cdef int _reserve(self, Py_ssize_t save_bytes, Py_ssize_t tmp_bytes) except -1:
        cdef void* p
        cdef cnp.ndarray buf
        if save_bytes > self.save_cap:
            buf = _np.empty(save_bytes, dtype=_np.uint8)
            self.save_array = buf
            self.save, self.save_cap = <char*>cnp.PyArray_DATA(buf), save_bytes
        if tmp_bytes > self.tmp_cap:
            p = realloc(self.tmp, tmp_bytes)
            if p == NULL:
                raise MemoryError()
            self.tmp, self.tmp_cap = <char*>p, tmp_bytes
        return 0

    def release_scratch(self):
        """Free the snapshot and row scratch (the general path's snapshot of a
        large model is as big as the model; events keep theirs)."""
        if self.saved:
            raise RuntimeError("a snapshot is pending")
        self.save_array = None
        free(self.tmp)
        self.save = NULL
        self.tmp = NULL
        self.save_cap = 0
        self.tmp_cap = 0

    cdef Py_ssize_t _coord_bytes(self) noexcept nogil:
        # bytes saved per touched coordinate of one problem: its stamp first,
        # then its weight and slots, aw, q; padded so records stay aligned
        cdef Py_ssize_t n = ((8 if self.last_update_d else 0) + self.n_slots_blk * self.isz
                             + (self.isz if self.averages_d else 0) + (self.isz if self.l1_received_d else 0))
        return (n + 7) & ~7

    cdef Py_ssize_t _problem_bytes(self) noexcept nogil:
        return (SLOT_MU_PRODUCT + 1 + self.intercepts_n + self.schedule_state_n) * 8

    # -- the snapshot: one implementation for both paths -------------------------

    cdef int _save_all(self, const int* indices, Py_ssize_t nnz, bint full) except -1:
        """Copy what a call may change, for every problem: all of it
        (``full``), or the coordinates ``indices[:nnz]`` and the scalars."""
        cdef int kk
        cdef Py_ssize_t touched = self.n_features if full else nnz
        self._reserve(self.n_problems * (self._problem_bytes() + touched * self._coord_bytes()), 0)
        for kk in range(self.n_problems):
            if self.f32:
                self._save(<float*>NULL, kk, indices, nnz, full)
            else:
                self._save(<double*>NULL, kk, indices, nnz, full)
        self.saved, self.saved_full, self.saved_idx, self.saved_nnz = True, full, indices, nnz
        return 0

    cdef void _restore_all(self) noexcept:
        cdef int kk
        for kk in range(self.n_problems - 1, -1, -1):
            if self.f32:
                self._restore(<float*>NULL, kk, self.saved_idx, self.saved_nnz, self.saved_full)
            else:
                self._restore(<double*>NULL, kk, self.saved_idx, self.saved_nnz, self.saved_full)

    def save_state(self, cols=None):
        """Snapshot every problem before a call of the general path: all of
        the state, or (``cols``: distinct column indices, int32) only those
        columns and the scalars. ``restore_state`` takes the model back."""
        cdef cnp.ndarray c
        if cols is None:
            self._save_all(NULL, 0, True)
            self.saved_cols = None
            return
        c = _np.ascontiguousarray(cols, dtype=_np.intc)
        _check_csr_indices(<const int*>cnp.PyArray_DATA(c), c.shape[0], self.n_features)
        self._save_all(<const int*>cnp.PyArray_DATA(c), c.shape[0], False)
        self.saved_cols = c

    def restore_state(self):
        """Put back the snapshot of ``save_state`` and drop it."""
        if not self.saved:
            raise RuntimeError("no snapshot to restore")
        self._restore_all()
        self._drop()

    def drop_state(self):
        """Forget the snapshot (the call succeeded)."""
        self._drop()

    cdef inline void _drop(self):
        self.saved = False
        if self.saved_cols is not None:
            self.saved_cols = None
        self.saved_idx = NULL

    def finite(self, int k):
        """Whether problem k's state is finite where the snapshotted call
        could change it (and its float64 intercept fits the model's dtype)."""
        if not self.saved:
            raise RuntimeError("finite() checks the coordinates of a snapshot")
        if self.f32:
            return self._finite(<float*>NULL, k, self.saved_idx, self.saved_nnz, self.saved_full)
        return self._finite(<double*>NULL, k, self.saved_idx, self.saved_nnz, self.saved_full)

    def may_fold_scale(self, Py_ssize_t steps, bint sparse=False):
        """Whether plain SGD's weight scale may be folded into every weight
        within ``steps`` updates, for any problem (then a snapshot of a few
        columns would not be enough)."""
        return self._may_fold_scale(steps, sparse)

    cdef bint _may_fold_scale(self, Py_ssize_t steps, bint sparse):
        cdef SchedProgram prog
        cdef int kk
        if not self.plain:
            return False
        for kk in range(self.n_problems):
            prog = self.prog_proto
            prog.state = self.schedule_state + kk * self.schedule_state_n
            if _scale_may_fold(<Config>(self.cfgs_sparse[kk] if sparse else self.cfgs[kk]),
                               &prog if self.has_sched else NULL,
                               self.scalars[kk * N_SLOTS + SLOT_T],
                               self.scalars[kk * N_SLOTS + SLOT_WSCALE], steps, self.f32):
                return True
        return False

    # -- the general path: one pass of one problem -------------------------------

    def run_pass(self, int k, values, indices, indptr, targets, sample_weight,
                 const Py_ssize_t[::1] order, double t, double eta_adaptive=0.0,
                 bint track_objective=False, bint plateau_streaming=True, sums=None):
        """One pass of problem ``k`` over the rows ``order`` (without the GIL).

        ``values, indices, indptr``: CSR arrays (structure checked by the
        caller, except the column indices, which the loop checks row by
        row), or a dense C-contiguous matrix's ravelled values with empty
        ``indices`` and ``indptr``; the model's dtype. ``targets``: problem
        k's targets in the loss's encoding; ``sample_weight``: per row; both
        in the model's dtype. ``t``: scikit-learn's update counter at the
        first row. ``sums``: running (loss, objective) sums, a float64 array
        of 2, continued and updated (so that blocks of a pass add up as one).

        Returns ``(status, t, last_eta, last_plateau)``: status is the number
        of rows visited, or -(i + 1) if row ``order[i]`` made the model
        non-finite or had a column index out of range; last_eta the rate of
        the last update (NaN if none); last_plateau the ReduceOnPlateau node
        that set it (-1 if none).
        """
        cdef cnp.ndarray v = values, ind = indices, ptr = indptr, y = targets
        cdef cnp.ndarray sw = sample_weight
        cdef cnp.ndarray s2
        cdef int typenum = cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64
        cdef bint dense = ptr.shape[0] == 0
        cdef Py_ssize_t n_rows = order.shape[0]
        cdef Problem P
        cdef Rows R
        cdef Pass ps
        cdef SchedProgram prog
        cdef Config cfg
        cdef double* row
        cdef Py_ssize_t status
        if k < 0 or k >= self.n_problems:
            raise IndexError(f"problem {k} of {self.n_problems}")
        for a, name in ((v, "values"), (y, "targets"), (sw, "sample_weight")):
            if cnp.PyArray_TYPE(<cnp.ndarray>a) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
                raise ValueError(f"{name} must be C-contiguous in the model's dtype")
        if not dense and (cnp.PyArray_TYPE(ind) != cnp.NPY_INT32 or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32):
            raise ValueError("indices and indptr must be int32")
        if n_rows == 0:
            return 0, t, float("nan"), -1
        if self.n_features == 0:
            raise ValueError("the weight vector is empty")
        cfg = <Config>(self.cfgs[k] if dense else self.cfgs_sparse[k])
        self._problem(&P, k)
        P.t = t
        R.indices = NULL if dense else <const int*>cnp.PyArray_DATA(ind)
        R.indptr = NULL if dense else <const int*>cnp.PyArray_DATA(ptr)
        R.n_features = self.n_features
        R.order = &order[0]
        R.n_rows = n_rows
        prog = self.prog_proto
        prog.state = self.schedule_state + k * self.schedule_state_n
        ps.prog = &prog
        ps.eta_adaptive = eta_adaptive
        ps.track_objective = track_objective
        ps.plateau_streaming = plateau_streaming
        ps.sum_loss = 0.0
        ps.sum_objective = 0.0
        if sums is not None:
            s2 = sums
            ps.sum_loss = (<double*>cnp.PyArray_DATA(s2))[0]
            ps.sum_objective = (<double*>cnp.PyArray_DATA(s2))[1]
        ps.last_eta = float("nan")
        ps.last_plateau = -1
        row = self.scalars + k * N_SLOTS
        with nogil:
            _load(&P.s, row)
            if self.f32:
                status = _epoch(&P, &R, &ps, <const float*>cnp.PyArray_DATA(v),
                                <const float*>cnp.PyArray_DATA(y),
                                <const float*>cnp.PyArray_DATA(sw), self.loss, cfg)
            else:
                status = _epoch(&P, &R, &ps, <const double*>cnp.PyArray_DATA(v),
                                <const double*>cnp.PyArray_DATA(y),
                                <const double*>cnp.PyArray_DATA(sw), self.loss, cfg)
            _store(&P.s, row)
        if sums is not None:
            (<double*>cnp.PyArray_DATA(s2))[0] = ps.sum_loss
            (<double*>cnp.PyArray_DATA(s2))[1] = ps.sum_objective
        return status, P.t, ps.last_eta, ps.last_plateau

    cdef void _problem(self, Problem* P, int k) noexcept nogil:
        """Pointers to problem k's state."""
        P.w = self.weights + k * self.n_features * self.n_slots_blk * self.isz
        P.aw = self.averages + k * self.averages_d * self.isz if self.averages_d else NULL
        P.q = self.l1_received + k * self.l1_received_d * self.isz if self.l1_received_d else NULL
        P.oint = self.intercepts + k * self.intercepts_n if self.intercepts_n else NULL
        P.stamp = self.last_update + k * self.last_update_d if self.last_update_d else NULL

    def plateau_step(self, int k, int node, double metric):
        """One ReduceOnPlateau step of problem k's node ``node`` on ``metric``
        (``fit`` steps once per epoch on the epoch's mean loss)."""
        cdef SchedProgram prog
        if not self.has_sched:
            raise ValueError("no schedule program")
        prog = self.prog_proto
        prog.state = self.schedule_state + k * self.schedule_state_n
        plateau_step(&prog, node, metric)

    # -- input of the event path ------------------------------------------------

    cdef object _dense(self, x, bint own_buffer=False):
        """x as a C-contiguous 1-D array of the model's dtype (no copy when it
        is one already)."""
        cdef cnp.ndarray a
        if type(x) is _CSR_MATRIX or type(x) is _CSR_ARRAY:
            return None
        if type(x) is dict:
            return self._from_dict(x, own_buffer)
        if not cnp.PyArray_Check(x):
            if _sp.issparse(x):
                return None
            if isinstance(x, (str, bytes)) or not hasattr(x, "__len__"):
                raise TypeError(
                    f"x must be a 1-D array, a 1-row CSR matrix or a dict; got {type(x).__name__}")
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
        if cnp.PyArray_TYPE(a) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64) \
                or not cnp.PyArray_IS_C_CONTIGUOUS(a):
            a = _np.ascontiguousarray(a, dtype=self.dtype)
        return a

    cdef object _from_dict(self, dict x, bint own_buffer=False):
        if self.names is None:
            raise ValueError("x is a dict, but the model was fitted without feature "
                             "names; pass a 1-D array")
        cdef cnp.ndarray buf
        if own_buffer:      # predictions: never the buffer a learning call reads
            buf = _np.zeros(self.n_features, dtype=self.dtype)
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

    cdef tuple _csr(self, x):
        """(data, indices) of a 1-row sparse x, checked; the model's dtypes.
        A CSR row that is already in them is used without a copy."""
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
        if (lo != 0 or hi != data.shape[0] or not cnp.PyArray_IS_C_CONTIGUOUS(data)
                or cnp.PyArray_TYPE(data) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64)):
            data = _np.ascontiguousarray(data[lo:hi], dtype=self.dtype)
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

    cdef double _target(self, y) except? -1.0:
        """Label index (classifiers) or value (regression) of one target."""
        cdef double v
        if self.mode == 0:
            try:
                v = float(y)
            except (TypeError, ValueError):
                raise ValueError(f"y must be a number; got {y!r}") from None
            if not isfinite(v):
                raise ValueError("Input y contains NaN or infinity.")
            return v
        idx = self.labels.get(y)
        if idx is None:
            raise ValueError(f"y={y!r} is not one of the classes the model was "
                             f"fitted with: {list(self.labels)!r}")
        return <double><Py_ssize_t>idx

    # -- the event path ------------------------------------------------------------

    def learn_one(self, x, y, sample_weight=1.0):
        """Learn from one event. Returns the status: 1 on success; -1 when
        update ``last_t`` made a prediction or step non-finite, -2 when the
        state overflowed (``last_t``: updates made + 1). On failure the model
        is restored as it was before the call; on success its progress (t_,
        n_iter_, lr_, history) is recorded."""
        cdef double target = self._target(y)
        cdef double sw
        try:
            sw = float(sample_weight)
        except (TypeError, ValueError):
            raise ValueError(f"sample_weight must be a number; got {sample_weight!r}") from None
        if not isfinite(sw):
            raise ValueError("sample_weight contains NaN or infinity.")
        cdef cnp.ndarray a = self._dense(x)
        cdef cnp.ndarray data, ind
        cdef int indptr[2]
        if a is not None:
            return self._run(cnp.PyArray_DATA(a), NULL, NULL, 1, &target, &sw)
        data, ind = self._csr(x)
        indptr[0] = 0
        indptr[1] = data.shape[0]
        return self._run(cnp.PyArray_DATA(data), <const int*>cnp.PyArray_DATA(ind),
                         indptr, 1, &target, &sw)

    def learn_rows(self, values, indices, indptr, Py_ssize_t n_rows,
                   const double[::1] targets, const double[::1] sample_weight):
        """Learn from a few validated rows: dense ``values`` (n_rows * d, the
        model's dtype, C order) with empty indices/indptr, or CSR arrays with
        checked structure. ``targets``: label indices (classifiers) or values.
        Returns the status, as ``learn_one``."""
        cdef cnp.ndarray v = values, ind = indices, ptr = indptr
        if targets.shape[0] != n_rows or sample_weight.shape[0] != n_rows:
            raise ValueError("one target and one weight per row")
        if cnp.PyArray_TYPE(v) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64):
            raise ValueError("values must have the model's dtype")
        if n_rows == 0:
            raise ValueError("no rows to learn from")
        if ptr.shape[0] == 0:
            if v.shape[0] != n_rows * self.n_features:
                raise ValueError("dense values must hold n_rows * n_features numbers")
            return self._run(cnp.PyArray_DATA(v), NULL, NULL, n_rows,
                             &targets[0], &sample_weight[0])
        if ptr.shape[0] != n_rows + 1:
            raise ValueError("indptr must hold n_rows + 1 offsets")
        if cnp.PyArray_TYPE(ind) != cnp.NPY_INT32 or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32:
            raise ValueError("indices and indptr must be int32")
        _check_csr(<const int*>cnp.PyArray_DATA(ind), ind.shape[0],
                   <const int*>cnp.PyArray_DATA(ptr), n_rows, v.shape[0], self.n_features)
        return self._run(cnp.PyArray_DATA(v), <const int*>cnp.PyArray_DATA(ind),
                         <const int*>cnp.PyArray_DATA(ptr), n_rows,
                         &targets[0], &sample_weight[0])

    cdef double _progressive(self):
        cdef double n = 0.0, total = 0.0
        cdef int k
        for k in range(self.n_problems):
            n += self.scalars[k * N_SLOTS + SLOT_N_SEEN]
            total += self.scalars[k * N_SLOTS + SLOT_LOSS_SUM]
        return total / n if n else float("nan")

    cdef Py_ssize_t _run(self, const void* values, const int* indices, const int* indptr,
                         Py_ssize_t n_rows, const double* targets, const double* sw) except? -3:
        cdef Py_ssize_t status
        if self.saved:
            raise RuntimeError("a snapshot of another call is pending")
        if self.f32:
            status = self._run_typed(<const float*>values, indices, indptr, n_rows, targets, sw)
        else:
            status = self._run_typed(<const double*>values, indices, indptr, n_rows, targets, sw)
        self.last_status = status
        if status > 0:
            self._bookkeeping(n_rows)
        return status

    cdef int _bookkeeping(self, Py_ssize_t n) except -1:
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

    cdef Py_ssize_t _run_typed(self, const floating* values, const int* indices,
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
        self._reserve(0, 2 * row_bytes + n_rows * sizeof(Py_ssize_t))
        cdef floating* ys = <floating*>self.tmp
        cdef floating* ws = ys + n_rows
        cdef Py_ssize_t* order = <Py_ssize_t*>(self.tmp + 2 * row_bytes)
        for i in range(n_rows):
            ws[i] = <floating>sw[i]
            order[i] = i
        # 3. the loop, problem by problem (one-vs-rest problems are independent)
        cdef Config cfg
        cdef Problem P
        cdef Rows R
        cdef Pass ps
        cdef double last_eta = float("nan")
        cdef Py_ssize_t status = n_rows
        cdef SchedProgram prog
        cdef double* row
        cdef bint release = nnz_total * self.n_slots_blk * K > NOGIL_WORK
        R.indices = indices
        R.indptr = indptr
        R.n_features = d
        R.order = order
        R.n_rows = n_rows
        for kk in range(K):
            cfg = <Config>(self.cfgs[kk] if dense else self.cfgs_sparse[kk])
            for i in range(n_rows):
                if self.mode == 0:
                    ys[i] = <floating>targets[i]
                else:
                    ys[i] = (1.0 if <Py_ssize_t>targets[i] == (kk if self.mode == 2 else 1)
                             else <floating>self.neg)
            row = self.scalars + kk * N_SLOTS
            self._problem(&P, kk)
            _load(&P.s, row)
            P.t = row[SLOT_T]
            prog = self.prog_proto
            prog.state = self.schedule_state + kk * self.schedule_state_n
            ps.prog = &prog
            ps.eta_adaptive = cfg.eta0
            ps.track_objective = False
            ps.plateau_streaming = True
            ps.sum_loss = 0.0
            ps.sum_objective = 0.0
            ps.last_eta = float("nan")
            ps.last_plateau = -1
            if release:
                with nogil:
                    status = _epoch(&P, &R, &ps, values, ys, ws, self.loss, cfg)
            else:
                status = _epoch(&P, &R, &ps, values, ys, ws, self.loss, cfg)
            _store(&P.s, row)
            if status >= 0 and not self._finite(<floating*>NULL, kk, indices, nnz_total, full):
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
        self._drop()
        self.last_lr = last_eta
        self.last_t = P.t
        self.last_progressive = self._progressive()
        return n_rows

    # -- the snapshot's copies ------------------------------------------------------

    cdef void _save(self, floating* tag, int kk, const int* indices, Py_ssize_t nnz,
                    bint dense) noexcept nogil:
        cdef char* p = self.save + kk * (self._problem_bytes() + (
            self.n_features if dense else nnz) * self._coord_bytes())
        cdef Py_ssize_t d = self.n_features, per = d * self.n_slots_blk, k, j, s
        cdef floating* blk = <floating*>self.weights + kk * per
        memcpy(p, self.scalars + kk * N_SLOTS, N_SLOTS * 8)
        p += N_SLOTS * 8
        memcpy(p, self.intercepts + kk * self.intercepts_n, self.intercepts_n * 8)
        p += self.intercepts_n * 8
        memcpy(p, self.schedule_state + kk * self.schedule_state_n, self.schedule_state_n * 8)
        p += self.schedule_state_n * 8
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
        cdef Py_ssize_t cb = self._coord_bytes()
        cdef char* rec
        for k in range(nnz):
            j = indices[k]
            rec = p + k * cb
            if self.last_update_d:
                (<long long*>rec)[0] = self.last_update[kk * d + j]
                rec += 8
            for s in range(self.n_slots_blk):
                (<floating*>rec)[s] = blk[j * self.cs + s * self.ss]
            rec += self.n_slots_blk * sizeof(floating)
            if self.averages_d:
                (<floating*>rec)[0] = (<floating*>self.averages)[kk * d + j]
                rec += sizeof(floating)
            if self.l1_received_d:
                (<floating*>rec)[0] = (<floating*>self.l1_received)[kk * d + j]

    cdef void _restore(self, floating* tag, int kk, const int* indices, Py_ssize_t nnz,
                       bint dense) noexcept nogil:
        cdef Py_ssize_t cb = self._coord_bytes()
        cdef char* p = self.save + kk * (self._problem_bytes() + (
            self.n_features if dense else nnz) * cb)
        cdef Py_ssize_t d = self.n_features, per = d * self.n_slots_blk, k, j, s
        cdef floating* blk = <floating*>self.weights + kk * per
        memcpy(self.scalars + kk * N_SLOTS, p, N_SLOTS * 8)
        p += N_SLOTS * 8
        memcpy(self.intercepts + kk * self.intercepts_n, p, self.intercepts_n * 8)
        p += self.intercepts_n * 8
        memcpy(self.schedule_state + kk * self.schedule_state_n, p, self.schedule_state_n * 8)
        p += self.schedule_state_n * 8
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
            for s in range(self.n_slots_blk):
                blk[j * self.cs + s * self.ss] = (<floating*>rec)[s]
            rec += self.n_slots_blk * sizeof(floating)
            if self.averages_d:
                (<floating*>self.averages)[kk * d + j] = (<floating*>rec)[0]
                rec += sizeof(floating)
            if self.l1_received_d:
                (<floating*>self.l1_received)[kk * d + j] = (<floating*>rec)[0]

    cdef bint _finite(self, floating* tag, int kk, const int* indices, Py_ssize_t nnz,
                      bint dense) noexcept nogil:
        """Problem kk's state is finite where the call touched it, and the
        float64 intercept fits the model's dtype (as ``_State.finite``)."""
        cdef double limit = FLT_MAX if floating is float else DBL_MAX
        cdef double* row = self.scalars + kk * N_SLOTS
        cdef Py_ssize_t d = self.n_features, per = d * self.n_slots_blk, k, j, s
        cdef floating* blk = <floating*>self.weights + kk * per
        cdef floating* aw = <floating*>self.averages + kk * d
        cdef floating* q = <floating*>self.l1_received + kk * d
        if not (isfinite(row[SLOT_WSCALE]) and isfinite(row[SLOT_LOSS_SUM])
                and fabs(row[SLOT_INTERCEPT]) <= limit
                and fabs(row[SLOT_AVG_INTERCEPT]) <= limit):
            return False
        for k in range(self.intercepts_n):
            if not fabs(self.intercepts[kk * self.intercepts_n + k]) <= limit:
                return False
        if dense:
            return (_finite_values(blk, per)
                    and (self.averages_d == 0 or _finite_values(aw, d))
                    and (self.l1_received_d == 0 or _finite_values(q, d)))
        for k in range(nnz):
            j = indices[k]
            for s in range(self.n_slots_blk):
                if not isfinite(blk[j * self.cs + s * self.ss]):
                    return False
            if self.averages_d and not isfinite(aw[j]):
                return False
            if self.l1_received_d and not isfinite(q[j]):
                return False
        return True

    # -- prediction ------------------------------------------------------------

    def decision_one(self, x, bint averaged, long long average, double[::1] out):
        """Decision value of every problem for one event, into ``out`` (K),
        with the model's weights as ``coef_`` shows them (``averaged``: the
        average from update ``average`` on)."""
        if out.shape[0] != self.n_problems:
            raise ValueError("out must hold one value per problem")
        self._decide_x(x, averaged, average, &out[0])

    def predict_one(self, x, bint averaged, long long average):
        """The prediction for one event: the label (classifiers; ``classes``)
        or the value (regression), with the weights as ``decision_one``."""
        cdef int K = self.n_problems, k, best = 0
        cdef void* p
        if K > self.pbuf_cap:
            p = realloc(self.pbuf, K * sizeof(double))
            if p == NULL:
                raise MemoryError()
            self.pbuf, self.pbuf_cap = <double*>p, K
        cdef double* out = self.pbuf
        self._decide_x(x, averaged, average, out)
        if self.mode == 0:
            return out[0]
        if self.mode == 1:
            return self.classes[1 if out[0] > 0 else 0]
        for k in range(1, K):      # the first maximum, as numpy's argmax
            if out[k] > out[best]:
                best = k
        return self.classes[best]

    cdef int _decide_x(self, x, bint averaged, long long average, double* out) except -1:
        cdef cnp.ndarray a = self._dense(x, True)
        cdef cnp.ndarray data, ind
        if a is not None:
            if not (_finite_values(<const float*>cnp.PyArray_DATA(a), self.n_features) if self.f32
                    else _finite_values(<const double*>cnp.PyArray_DATA(a), self.n_features)):
                raise ValueError("Input X contains NaN or infinity.")
            if self.f32:
                self._decide(<const float*>cnp.PyArray_DATA(a), NULL, self.n_features, averaged, average, out)
            else:
                self._decide(<const double*>cnp.PyArray_DATA(a), NULL, self.n_features, averaged,
                             average, out)
            return 0
        data, ind = self._csr(x)
        if not (_finite_values(<const float*>cnp.PyArray_DATA(data), data.shape[0]) if self.f32
                else _finite_values(<const double*>cnp.PyArray_DATA(data), data.shape[0])):
            raise ValueError("Input X contains NaN or infinity.")
        if self.f32:
            self._decide(<const float*>cnp.PyArray_DATA(data), <const int*>cnp.PyArray_DATA(ind),
                         data.shape[0], averaged, average, out)
        else:
            self._decide(<const double*>cnp.PyArray_DATA(data), <const int*>cnp.PyArray_DATA(ind),
                         data.shape[0], averaged, average, out)
        return 0

    def decision_rows(self, values, indices, indptr, Py_ssize_t n_rows, bint averaged,
                      long long average, double[:, ::1] out):
        """Decision values of a few validated rows (as ``learn_rows`` takes
        them: the model's dtype) into ``out`` (n_rows, K)."""
        cdef cnp.ndarray v = values, ind = indices, ptr = indptr
        cdef Py_ssize_t i, d = self.n_features
        cdef bint dense = ptr.shape[0] == 0
        if out.shape[0] != n_rows or out.shape[1] != self.n_problems:
            raise ValueError("out must be (n_rows, n_problems)")
        if cnp.PyArray_TYPE(v) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64):
            raise ValueError("values must have the model's dtype")
        if dense and v.shape[0] != n_rows * d:
            raise ValueError("dense values must hold n_rows * n_features numbers")
        if not dense and ptr.shape[0] != n_rows + 1:
            raise ValueError("indptr must hold n_rows + 1 offsets")
        if not dense and (cnp.PyArray_TYPE(ind) != cnp.NPY_INT32
                          or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32):
            raise ValueError("indices and indptr must be int32")
        cdef const int* ip = NULL if dense else <const int*>cnp.PyArray_DATA(ptr)
        cdef const int* ix = NULL if dense else <const int*>cnp.PyArray_DATA(ind)
        if not dense:
            _check_csr(ix, ind.shape[0], ip, n_rows, v.shape[0], d)
        cdef Py_ssize_t nnz = n_rows * d if dense else ip[n_rows]
        if not (_finite_values(<const float*>cnp.PyArray_DATA(v), nnz) if self.f32
                else _finite_values(<const double*>cnp.PyArray_DATA(v), nnz)):
            raise ValueError("Input X contains NaN or infinity.")
        for i in range(n_rows):
            if self.f32:
                if dense:
                    self._decide(<const float*>cnp.PyArray_DATA(v) + i * d, NULL, d,
                                 averaged, average, &out[i, 0])
                else:
                    self._decide(<const float*>cnp.PyArray_DATA(v) + ip[i], ix + ip[i],
                                 ip[i + 1] - ip[i], averaged, average, &out[i, 0])
            else:
                if dense:
                    self._decide(<const double*>cnp.PyArray_DATA(v) + i * d, NULL, d,
                                 averaged, average, &out[i, 0])
                else:
                    self._decide(<const double*>cnp.PyArray_DATA(v) + ip[i], ix + ip[i],
                                 ip[i + 1] - ip[i], averaged, average, &out[i, 0])

    cdef void _decide(self, const floating* v, const int* idx, Py_ssize_t nnz,
                      bint averaged, long long average, double* out) noexcept:
        cdef Py_ssize_t d = self.n_features, per = d * self.n_slots_blk, k, j
        cdef int kk
        cdef double acc, n_last, n_prev, b
        cdef floating c, a, binv, ws
        cdef floating* w
        cdef floating* aw
        cdef double* row
        for kk in range(self.n_problems):
            w = <floating*>self.weights + kk * per
            aw = <floating*>self.averages + kk * self.averages_d
            row = self.scalars + kk * N_SLOTS
            acc = 0.0
            if not averaged:
                # coef_ is wscale * w (rounded to the dtype), as materialize does
                ws = <floating>row[SLOT_WSCALE]
                for k in range(nnz):
                    j = k if idx == NULL else idx[k]
                    acc += <floating>(w[j * self.cs] * ws) * <double>v[k]
                b = row[SLOT_INTERCEPT]
            elif self.plain:
                a = <floating>row[SLOT_AVG_A]
                binv = <floating>(1.0 / row[SLOT_AVG_B])
                for k in range(nnz):
                    j = k if idx == NULL else idx[k]
                    acc += <floating>((aw[j] + a * w[j]) * binv) * <double>v[k]
                b = row[SLOT_AVG_INTERCEPT]
            else:
                n_last = _n_avg(row[SLOT_T] - 1.0, average)
                for k in range(nnz):
                    j = k if idx == NULL else idx[k]
                    c = aw[j]
                    n_prev = _n_avg(<double>self.last_update[kk * d + j], average)
                    if n_last > n_prev:
                        c = <floating>(aw[j] + (n_last - n_prev) / n_last * (w[j * self.cs] - aw[j]))
                    acc += c * <double>v[k]
                b = row[SLOT_AVG_INTERCEPT]
            out[kk] = <floating>acc + <floating>b
