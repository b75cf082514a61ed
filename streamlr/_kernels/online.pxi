# The single-event path: ``Online`` binds a model's state once, then learns
# from (or predicts) one event, or a few rows, per call at C speed.
#
# Included by sgd.pyx (it drives ``_epoch``, the one per-sample loop, with
# n_rows = 1), so each build (baseline, AVX2) has its own copy.
#
# Why a bound object: a def call that takes a dozen memoryviews pays for
# acquiring each buffer (~0.3 us apiece), ten times the cost of learning one
# sparse event. ``Online`` takes the raw pointers of the estimator's arrays
# when it is built (and keeps the arrays alive); the estimator drops it on
# any change of parameters or state layout (``_BaseSGD._online``).
#
# A call is atomic, as the estimators' calls are: the input is checked (shape,
# finiteness, index bounds) before the state changes; the coordinates the call
# touches are copied to a scratch buffer first and written back if the model
# became non-finite.

cimport numpy as cnp
from libc.stdlib cimport realloc, free
from libc.string cimport memcpy
from libc.float cimport FLT_MAX, DBL_MAX

import weakref as _weakref

import numpy as _np
import scipy.sparse as _sp

cnp.import_array()

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


cdef inline bint _finite_values(const floating* v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    cdef double acc = 0.0
    for k in range(n):
        acc += v[k] * 0.0     # NaN for NaN or +-inf, else 0: one branch at the end
    return acc == 0.0


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
    l1_ratio), eta_max the largest rate of the call's updates."""
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


def may_fold_scale(Config cfg, double t, double wscale, Py_ssize_t steps, bint f32,
                   const int[::1] sched_kinds=None, const double[::1] sched_params=None,
                   const double[::1] sched_extra=None, double[::1] sched_state=None):
    """``_scale_may_fold`` for the estimators' general path (the schedule's
    compiled program, when the rate is a schedule object)."""
    cdef SchedProgram prog
    if sched_kinds is None:
        return _scale_may_fold(cfg, NULL, t, wscale, steps, f32)
    prog = _program(sched_kinds, sched_params, sched_extra, sched_state)
    return _scale_may_fold(cfg, &prog, t, wscale, steps, f32)


cdef int _check_csr(const int* indices, Py_ssize_t n_indices, const int* indptr,
                    Py_ssize_t n_rows, Py_ssize_t n_values, Py_ssize_t n_features) except -1:
    """The structure the kernel trusts: a valid row pointer, indices in range."""
    cdef Py_ssize_t i, k
    if indptr[0] != 0:
        raise ValueError("invalid CSR matrix: indptr is not a valid row pointer")
    for i in range(n_rows):
        if indptr[i + 1] < indptr[i]:
            raise ValueError("invalid CSR matrix: indptr is not a valid row pointer")
    if indptr[n_rows] > n_indices or indptr[n_rows] > n_values:
        raise ValueError("invalid CSR matrix: indptr points past the stored values")
    if n_features < 0:
        return 0
    for k in range(indptr[n_rows]):
        if indices[k] < 0 or indices[k] >= n_features:
            raise ValueError(f"invalid CSR matrix: column indices must lie in [0, {n_features}), "
                             f"found {indices[k]}")
    return 0


cdef class Online:
    """A model's state bound for single events (see the module comment).

    Built by the estimator with its state arrays (``_State``), one ``Config``
    per binary problem, the loss and the compiled schedule. ``mode`` says how
    a target reaches problem k: 0 regression (the value), 1 binary (label
    index 1 is positive), 2 one-vs-rest (label index k is positive); ``neg``
    is the negative target (0 for log loss, else -1).
    """
    cdef readonly int n_problems
    cdef readonly Py_ssize_t n_features
    cdef readonly bint f32
    cdef public object gen            # the spec generation it was built for
    cdef readonly long long average
    # the outcome of the last call: status (n rows, or -1 / -2, see learn_one),
    # rate of its last update, progressive loss, the kernel's t
    cdef readonly Py_ssize_t last_status
    cdef readonly double last_lr, last_progressive, last_t
    # the estimator's attributes, updated after each successful call
    cdef dict est_dict
    cdef object state
    cdef object owner
    cdef object _keep                 # the arrays whose memory we point into
    cdef list cfgs                    # one Config per problem, for dense rows
    cdef list cfgs_sparse             # ... for CSR rows (plain SGD's intercept step)
    cdef Loss loss
    cdef int mode
    cdef double neg
    cdef bint plain
    # state pointers (problem 0; problem k is at + k * stride)
    cdef char* blk
    cdef char* aw
    cdef char* q
    cdef long long* stamp
    cdef double* scal
    cdef double* oint
    cdef double* sstate
    cdef Py_ssize_t n_slots_blk, cs, ss       # entries per coordinate, their strides
    cdef Py_ssize_t aw_d, q_d, stamp_d, oint_n, sstate_n
    cdef Py_ssize_t isz                       # bytes per weight (4 or 8)
    cdef bint has_sched
    cdef SchedProgram prog_proto              # kinds/params/extra; state per problem
    # lookups for the Python-facing calls
    cdef dict labels                          # label -> index in classes_
    cdef readonly tuple classes               # classes_ (their numpy scalars)
    cdef dict names                           # feature name -> column
    cdef object dtype
    cdef object dense_buf                     # scratch row for dict events
    # scratch
    cdef char* save
    cdef Py_ssize_t save_cap
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

    def __dealloc__(self):
        free(self.save)
        free(self.tmp)
        free(self.pbuf)

    def __init__(self, cnp.ndarray blk, cnp.ndarray aw, cnp.ndarray q,
                 cnp.ndarray stamp, cnp.ndarray scal, cnp.ndarray oint,
                 cnp.ndarray sched_state, bint interleaved, list cfgs, list cfgs_sparse,
                 Loss loss,
                 int mode, double neg, bint plain, long long average, prog, gen,
                 dict labels=None, dict names=None, owner=None, tuple classes=None):
        cdef cnp.ndarray a
        for a in (blk, aw, q, stamp, scal, oint, sched_state):
            if not cnp.PyArray_IS_C_CONTIGUOUS(a) or not cnp.PyArray_ISWRITEABLE(a):
                raise ValueError("state arrays must be C-contiguous and writeable")
        if scal.dtype != _np.float64 or oint.dtype != _np.float64 or stamp.dtype != _np.int64:
            raise ValueError("scal and oint must be float64, stamp int64")
        if blk.dtype not in (_np.float32, _np.float64) or aw.dtype != blk.dtype or q.dtype != blk.dtype:
            raise ValueError("blk, aw and q must share a float32 or float64 dtype")
        self.n_problems = blk.shape[0]
        if len(cfgs) != self.n_problems or len(cfgs_sparse) != self.n_problems:
            raise ValueError("one Config per problem")
        self.f32 = blk.dtype == _np.float32
        self.dtype = blk.dtype
        self.isz = 4 if self.f32 else 8
        if interleaved:        # (K, d, P)
            self.n_features = blk.shape[1]
            self.n_slots_blk = blk.shape[2]
            self.cs, self.ss = self.n_slots_blk, 1
        else:                  # (K, S, d)
            self.n_features = blk.shape[2]
            self.n_slots_blk = blk.shape[1]
            self.cs, self.ss = 1, self.n_features
        self.aw_d, self.q_d, self.stamp_d = aw.shape[1], q.shape[1], stamp.shape[1]
        self.oint_n, self.sstate_n = oint.shape[1], sched_state.shape[1]
        self.blk = <char*>cnp.PyArray_DATA(blk)
        self.aw = <char*>cnp.PyArray_DATA(aw)
        self.q = <char*>cnp.PyArray_DATA(q)
        self.stamp = <long long*>cnp.PyArray_DATA(stamp)
        self.scal = <double*>cnp.PyArray_DATA(scal)
        self.oint = <double*>cnp.PyArray_DATA(oint)
        self.sstate = <double*>cnp.PyArray_DATA(sched_state)
        self.cfgs = cfgs
        self.cfgs_sparse = cfgs_sparse
        self.loss = loss
        self.mode, self.neg, self.plain = mode, neg, plain
        self.average = average
        self.gen = gen
        self.labels = labels
        self.names = names
        self.classes = classes
        if owner is not None:
            self.est_dict = owner.__dict__
            self.state = owner._state
            self.owner = _weakref.ref(owner)   # no cycle: the estimator owns us
        self.has_sched = prog is not None and prog[0] is not None
        keep = [blk, aw, q, stamp, scal, oint, sched_state]
        if self.has_sched:
            kinds = _np.ascontiguousarray(prog[0], dtype=_np.intc)
            params = _np.ascontiguousarray(prog[1], dtype=_np.float64)
            extra = _np.ascontiguousarray(prog[2], dtype=_np.float64)
            if len(kinds) == 0 or len(params) == 0 or len(extra) == 0 or self.sstate_n == 0:
                raise ValueError("an empty schedule program")
            self.prog_proto.kinds = <const int*>cnp.PyArray_DATA(kinds)
            self.prog_proto.params = <const double*>cnp.PyArray_DATA(params)
            self.prog_proto.extra = <const double*>cnp.PyArray_DATA(extra)
            keep += [kinds, params, extra]
        self._keep = keep
        self.dense_buf = None   # made on the first dict event

    # -- scratch ---------------------------------------------------------------

    cdef int _reserve(self, Py_ssize_t save_bytes, Py_ssize_t tmp_bytes) except -1:
        cdef void* p
        if save_bytes > self.save_cap:
            p = realloc(self.save, save_bytes)
            if p == NULL:
                raise MemoryError()
            self.save, self.save_cap = <char*>p, save_bytes
        if tmp_bytes > self.tmp_cap:
            p = realloc(self.tmp, tmp_bytes)
            if p == NULL:
                raise MemoryError()
            self.tmp, self.tmp_cap = <char*>p, tmp_bytes
        return 0

    cdef Py_ssize_t _coord_bytes(self) noexcept nogil:
        # bytes saved per touched coordinate of one problem: its stamp first,
        # then its weight and slots, aw, q; padded so records stay aligned
        cdef Py_ssize_t n = ((8 if self.stamp_d else 0) + self.n_slots_blk * self.isz
                             + (self.isz if self.aw_d else 0) + (self.isz if self.q_d else 0))
        return (n + 7) & ~7

    cdef Py_ssize_t _problem_bytes(self) noexcept nogil:
        return (SLOT_MU_PRODUCT + 1 + self.oint_n + self.sstate_n) * 8

    # -- input -----------------------------------------------------------------

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

    # -- learning ---------------------------------------------------------------

    def learn_one(self, x, y, sample_weight=1.0):
        """Learn from one event. Returns the status: 1 on success; -1 when
        update ``last_t`` made a prediction or step non-finite, -2 when the
        state overflowed (``last_t``: updates made + 1). On failure the model
        is restored as it was before the call; on success the owner's
        ``t_``, ``n_iter_``, ``lr_`` and history are updated."""
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
        checked structure. Returns the status, as ``learn_one``."""
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
            n += self.scal[k * N_SLOTS + SLOT_N_SEEN]
            total += self.scal[k * N_SLOTS + SLOT_LOSS_SUM]
        return total / n if n else float("nan")

    cdef Py_ssize_t _run(self, const void* values, const int* indices, const int* indptr,
                         Py_ssize_t n_rows, const double* targets, const double* sw) except? -3:
        cdef Py_ssize_t status
        if self.f32:
            status = self._run_typed(<const float*>values, indices, indptr, n_rows, targets, sw)
        else:
            status = self._run_typed(<const double*>values, indices, indptr, n_rows, targets, sw)
        self.last_status = status
        if status > 0 and self.est_dict is not None:
            self._bookkeeping(n_rows)
        return status

    cdef int _bookkeeping(self, Py_ssize_t n) except -1:
        """What ``_BaseSGD._train`` records after a streaming pass."""
        cdef dict d = self.est_dict
        cdef double t0 = d["t_"]
        cdef cnp.ndarray hist
        cdef Py_ssize_t hn
        cdef double* h
        d["t_"] = t0 + n
        d["n_iter_"] = 1
        if isfinite(self.last_lr):
            d["lr_"] = self.last_lr
        self.state.average = self.average
        hist = d["_hist"]
        hn = d["_hist_n"]
        if d["_hist_stride"] == 1 and hn < hist.shape[0]:
            # the common case of _record, inline: one row appended
            d["_hist_calls"] += 1
            h = <double*>cnp.PyArray_DATA(hist) + 3 * hn
            h[0] = t0 - 1.0 + n
            h[1] = d["lr_"]
            h[2] = self.last_progressive
            d["_hist_n"] = hn + 1
        else:
            self.owner()._record((t0 - 1.0 + n, d["lr_"], self.last_progressive))
        if d["verbose"]:
            print(f"partial_fit: {n} samples, T: {self.last_t - 1:.0f}, lr: {d['lr_']:.3g}, "
                  f"progressive loss: {self.last_progressive:f}")
        return 0

    cdef Py_ssize_t _run_typed(self, const floating* values, const int* indices,
                          const int* indptr, Py_ssize_t n_rows, const double* targets,
                          const double* sw):
        cdef Py_ssize_t d = self.n_features, i, k, nnz_total, touched
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
        # 2. scratch: targets, weights, order; the touched state of every problem
        # a sparse call snapshots its rows' coordinates, unless plain SGD's
        # weight scale may be folded into every weight during it
        cdef bint full = dense or self._may_fold_scale(n_rows)
        touched = d if full else nnz_total
        self._reserve(K * (self._problem_bytes() + touched * self._coord_bytes()),
                      2 * row_bytes + n_rows * sizeof(Py_ssize_t))
        cdef floating* ys = <floating*>self.tmp
        cdef floating* ws = ys + n_rows
        cdef Py_ssize_t* order = <Py_ssize_t*>(self.tmp + 2 * row_bytes)
        for i in range(n_rows):
            ws[i] = <floating>sw[i]
            order[i] = i
        for kk in range(K):
            self._save(<floating*>NULL, kk, indices, nnz_total, full)
        # 3. the loop, problem by problem (one-vs-rest problems are independent)
        cdef Config cfg
        cdef Scalars s
        cdef double t, sums[2]
        cdef double last_eta = float("nan"), eta_k
        cdef int last_plateau
        cdef Py_ssize_t status = n_rows
        cdef SchedProgram prog
        cdef double* row
        cdef bint release = nnz_total * self.n_slots_blk * K > NOGIL_WORK
        for kk in range(K):
            cfg = <Config>(self.cfgs[kk] if dense else self.cfgs_sparse[kk])
            for i in range(n_rows):
                if self.mode == 0:
                    ys[i] = <floating>targets[i]
                else:
                    ys[i] = 1.0 if <Py_ssize_t>targets[i] == (kk if self.mode == 2 else 1) else <floating>self.neg
            row = self.scal + kk * N_SLOTS
            _load(&s, row)
            t = row[SLOT_T]
            sums[0] = 0.0
            sums[1] = 0.0
            eta_k = float("nan")
            last_plateau = -1
            prog = self.prog_proto
            prog.state = self.sstate + kk * self.sstate_n
            if release:
                with nogil:
                    status = self._epoch_k(kk, &s, values, indices, indptr, ys, ws, order,
                                           n_rows, cfg, &t, sums, &eta_k, &prog, &last_plateau)
            else:
                status = self._epoch_k(kk, &s, values, indices, indptr, ys, ws, order,
                                       n_rows, cfg, &t, sums, &eta_k, &prog, &last_plateau)
            _store(&s, row)
            if status >= 0 and not self._finite(<floating*>NULL, kk, indices, nnz_total, full):
                status = -2     # the state overflowed (t: updates made + 1)
            elif status < 0:
                status = -1     # update number t made the model non-finite
            if status < 0:
                for k in range(kk, -1, -1):
                    self._restore(<floating*>NULL, <int>k, indices, nnz_total, full)
                self.last_lr = eta_k if isfinite(eta_k) else last_eta
                self.last_t = t
                return status
            row[SLOT_T] = t
            if isfinite(eta_k):
                last_eta = eta_k
        self.last_lr = last_eta
        self.last_t = t
        self.last_progressive = self._progressive()
        return n_rows

    cdef bint _may_fold_scale(self, Py_ssize_t n_rows):
        """Whether plain SGD's weight scale may be folded into every weight
        during these rows, for any problem (``_scale_may_fold``)."""
        cdef SchedProgram prog
        cdef int kk
        if not self.plain:
            return False
        for kk in range(self.n_problems):
            prog = self.prog_proto
            prog.state = self.sstate + kk * self.sstate_n
            if _scale_may_fold(<Config>self.cfgs[0], &prog if self.has_sched else NULL,
                               self.scal[kk * N_SLOTS + SLOT_T],
                               self.scal[kk * N_SLOTS + SLOT_WSCALE], n_rows, self.f32):
                return True
        return False

    cdef Py_ssize_t _epoch_k(self, int kk, Scalars* s, const floating* values,
                             const int* indices, const int* indptr, const floating* ys,
                             const floating* ws, const Py_ssize_t* order, Py_ssize_t n_rows,
                             Config cfg, double* t, double* sums, double* eta,
                             SchedProgram* prog, int* last_plateau) noexcept nogil:
        cdef Py_ssize_t per = self.n_features * self.n_slots_blk
        return _epoch(
            <floating*>self.blk + kk * per,
            <floating*>self.aw + kk * self.aw_d if self.aw_d else NULL,
            <floating*>self.q + kk * self.q_d if self.q_d else NULL,
            s,
            self.oint + kk * self.oint_n if self.oint_n else NULL,
            self.stamp + kk * self.stamp_d if self.stamp_d else NULL,
            values, indices, indptr, self.n_features, ys, ws, order, n_rows,
            self.loss, cfg, t, cfg.eta0, False, sums, eta, prog, True, last_plateau)

    # -- snapshot of what a call touches ---------------------------------------

    cdef void _save(self, floating* tag, int kk, const int* indices, Py_ssize_t nnz,
                    bint dense) noexcept nogil:
        cdef char* p = self.save + kk * (self._problem_bytes() + (
            self.n_features if dense else nnz) * self._coord_bytes())
        cdef Py_ssize_t d = self.n_features, per = d * self.n_slots_blk, k, j, s
        cdef floating* blk = <floating*>self.blk + kk * per
        memcpy(p, self.scal + kk * N_SLOTS, N_SLOTS * 8)
        p += N_SLOTS * 8
        memcpy(p, self.oint + kk * self.oint_n, self.oint_n * 8)
        p += self.oint_n * 8
        memcpy(p, self.sstate + kk * self.sstate_n, self.sstate_n * 8)
        p += self.sstate_n * 8
        if dense:
            memcpy(p, blk, per * sizeof(floating))
            p += per * sizeof(floating)
            if self.aw_d:
                memcpy(p, <floating*>self.aw + kk * d, d * sizeof(floating))
                p += d * sizeof(floating)
            if self.q_d:
                memcpy(p, <floating*>self.q + kk * d, d * sizeof(floating))
                p += d * sizeof(floating)
            if self.stamp_d:
                memcpy(p, self.stamp + kk * d, d * 8)
            return
        cdef Py_ssize_t cb = self._coord_bytes()
        cdef char* rec
        for k in range(nnz):
            j = indices[k]
            rec = p + k * cb
            if self.stamp_d:
                (<long long*>rec)[0] = self.stamp[kk * d + j]
                rec += 8
            for s in range(self.n_slots_blk):
                (<floating*>rec)[s] = blk[j * self.cs + s * self.ss]
            rec += self.n_slots_blk * sizeof(floating)
            if self.aw_d:
                (<floating*>rec)[0] = (<floating*>self.aw)[kk * d + j]
                rec += sizeof(floating)
            if self.q_d:
                (<floating*>rec)[0] = (<floating*>self.q)[kk * d + j]

    cdef void _restore(self, floating* tag, int kk, const int* indices, Py_ssize_t nnz,
                       bint dense) noexcept nogil:
        cdef Py_ssize_t cb = self._coord_bytes()
        cdef char* p = self.save + kk * (self._problem_bytes() + (
            self.n_features if dense else nnz) * cb)
        cdef Py_ssize_t d = self.n_features, per = d * self.n_slots_blk, k, j, s
        cdef floating* blk = <floating*>self.blk + kk * per
        memcpy(self.scal + kk * N_SLOTS, p, N_SLOTS * 8)
        p += N_SLOTS * 8
        memcpy(self.oint + kk * self.oint_n, p, self.oint_n * 8)
        p += self.oint_n * 8
        memcpy(self.sstate + kk * self.sstate_n, p, self.sstate_n * 8)
        p += self.sstate_n * 8
        if dense:
            memcpy(blk, p, per * sizeof(floating))
            p += per * sizeof(floating)
            if self.aw_d:
                memcpy(<floating*>self.aw + kk * d, p, d * sizeof(floating))
                p += d * sizeof(floating)
            if self.q_d:
                memcpy(<floating*>self.q + kk * d, p, d * sizeof(floating))
                p += d * sizeof(floating)
            if self.stamp_d:
                memcpy(self.stamp + kk * d, p, d * 8)
            return
        # backwards, so that a coordinate stored twice ends with its first copy
        cdef char* rec
        for k in range(nnz - 1, -1, -1):
            j = indices[k]
            rec = p + k * cb
            if self.stamp_d:
                self.stamp[kk * d + j] = (<long long*>rec)[0]
                rec += 8
            for s in range(self.n_slots_blk):
                blk[j * self.cs + s * self.ss] = (<floating*>rec)[s]
            rec += self.n_slots_blk * sizeof(floating)
            if self.aw_d:
                (<floating*>self.aw)[kk * d + j] = (<floating*>rec)[0]
                rec += sizeof(floating)
            if self.q_d:
                (<floating*>self.q)[kk * d + j] = (<floating*>rec)[0]

    cdef bint _finite(self, floating* tag, int kk, const int* indices, Py_ssize_t nnz,
                      bint dense) noexcept nogil:
        """Problem kk's state is finite where the call touched it, and the
        float64 intercept fits the model's dtype (as ``_State.finite``)."""
        cdef double limit = FLT_MAX if floating is float else DBL_MAX
        cdef double* row = self.scal + kk * N_SLOTS
        cdef Py_ssize_t d = self.n_features, per = d * self.n_slots_blk, k, j, s
        cdef floating* blk = <floating*>self.blk + kk * per
        cdef floating* aw = <floating*>self.aw + kk * d
        cdef floating* q = <floating*>self.q + kk * d
        if not (isfinite(row[SLOT_WSCALE]) and isfinite(row[SLOT_LOSS_SUM])
                and fabs(row[SLOT_INTERCEPT]) <= limit
                and fabs(row[SLOT_AVG_INTERCEPT]) <= limit):
            return False
        for k in range(self.oint_n):
            if not fabs(self.oint[kk * self.oint_n + k]) <= limit:
                return False
        if dense:
            return (_finite_values(blk, per)
                    and (self.aw_d == 0 or _finite_values(aw, d))
                    and (self.q_d == 0 or _finite_values(q, d)))
        for k in range(nnz):
            j = indices[k]
            for s in range(self.n_slots_blk):
                if not isfinite(blk[j * self.cs + s * self.ss]):
                    return False
            if self.aw_d and not isfinite(aw[j]):
                return False
            if self.q_d and not isfinite(q[j]):
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
                self._decide(<const double*>cnp.PyArray_DATA(a), NULL, self.n_features, averaged, average, out)
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
            w = <floating*>self.blk + kk * per
            aw = <floating*>self.aw + kk * self.aw_d
            row = self.scal + kk * N_SLOTS
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
                    n_prev = _n_avg(<double>self.stamp[kk * d + j], average)
                    if n_last > n_prev:
                        c = <floating>(aw[j] + (n_last - n_prev) / n_last * (w[j * self.cs] - aw[j]))
                    acc += c * <double>v[k]
                b = row[SLOT_AVG_INTERCEPT]
            out[kk] = <floating>acc + <floating>b


# ---------------------------------------------------------------------------
# Per-call label work in one pass (the estimators' _label_index / _encode):
# at a few ns a row it is no longer a visible part of a partial_fit call.
# ---------------------------------------------------------------------------

ctypedef fused label_t:
    int
    long long
    float
    double


cdef Py_ssize_t _label_search(const label_t* y, Py_ssize_t n, const label_t* classes,
                              Py_ssize_t n_classes, Py_ssize_t* out) noexcept nogil:
    """Index of each y in the sorted ``classes`` by binary search; returns the
    position of the first label not found, or -1."""
    cdef Py_ssize_t i, lo, hi, mid
    cdef label_t v
    for i in range(n):
        v = y[i]
        lo, hi = 0, n_classes
        while lo < hi:
            mid = (lo + hi) >> 1
            if classes[mid] < v:
                lo = mid + 1
            else:
                hi = mid
        if lo == n_classes or not (classes[lo] == v):
            return i
        out[i] = lo
    return -1


def label_indices(y, classes):
    """Index of each label of ``y`` in the sorted ``classes`` (intp), or None
    when the dtypes are not one same numeric type (the caller then searches
    with NumPy). Raises ValueError naming the first unknown label's position
    through the returned sentinel: (None, position)."""
    if (not cnp.PyArray_Check(y) or not cnp.PyArray_Check(classes) or y.dtype != classes.dtype
            or y.ndim != 1 or y.dtype.char not in "ilqfd"):
        return None, -1
    y = _np.ascontiguousarray(y)
    classes = _np.ascontiguousarray(classes)
    cdef Py_ssize_t n = y.shape[0], k = classes.shape[0], bad
    out = _np.empty(n, dtype=_np.intp)
    cdef cnp.ndarray o = out, yy = y, cc = classes
    cdef Py_ssize_t* op = <Py_ssize_t*>cnp.PyArray_DATA(o)
    cdef int t = cnp.PyArray_TYPE(yy)
    with nogil:
        if t == cnp.NPY_INT32:
            bad = _label_search(<const int*>cnp.PyArray_DATA(yy), n, <const int*>cnp.PyArray_DATA(cc), k, op)
        elif t == cnp.NPY_INT64 or t == cnp.NPY_LONGLONG:
            bad = _label_search(<const long long*>cnp.PyArray_DATA(yy), n,
                                <const long long*>cnp.PyArray_DATA(cc), k, op)
        elif t == cnp.NPY_FLOAT32:
            bad = _label_search(<const float*>cnp.PyArray_DATA(yy), n, <const float*>cnp.PyArray_DATA(cc), k, op)
        else:
            bad = _label_search(<const double*>cnp.PyArray_DATA(yy), n, <const double*>cnp.PyArray_DATA(cc), k, op)
    return (out, -1) if bad < 0 else (None, bad)


def encode_targets(const Py_ssize_t[::1] label_idx, Py_ssize_t pos, double neg, dtype):
    """Targets of one binary problem: 1 where the label index is ``pos``,
    else ``neg``, in ``dtype`` (float32 or float64)."""
    cdef Py_ssize_t i, n = label_idx.shape[0]
    out = _np.empty(n, dtype=dtype)
    cdef cnp.ndarray o = out
    cdef float* of
    cdef double* od
    if cnp.PyArray_TYPE(o) == cnp.NPY_FLOAT32:
        of = <float*>cnp.PyArray_DATA(o)
        with nogil:
            for i in range(n):
                of[i] = 1.0 if label_idx[i] == pos else <float>neg
    elif cnp.PyArray_TYPE(o) == cnp.NPY_FLOAT64:
        od = <double*>cnp.PyArray_DATA(o)
        with nogil:
            for i in range(n):
                od[i] = 1.0 if label_idx[i] == pos else neg
    else:
        raise ValueError("dtype must be float32 or float64")
    return out


def check_csr(const int[::1] indices, const int[::1] indptr, Py_ssize_t n_values,
              Py_ssize_t n_features, bint check_indices=True):
    """Raise ValueError unless (indices, indptr) is a CSR structure the kernel
    can trust: indptr starts at 0 and never decreases, stays within the
    stored values, and (``check_indices``) every used index lies in
    [0, n_features). ``_epoch`` checks each row's indices itself before using
    them, so the training path skips that pass over all indices here."""
    if indptr.shape[0] == 0:
        raise ValueError("invalid CSR matrix: indptr is empty")
    _check_csr(&indices[0] if indices.shape[0] else NULL, indices.shape[0], &indptr[0],
               indptr.shape[0] - 1, n_values, n_features if check_indices else -1)
