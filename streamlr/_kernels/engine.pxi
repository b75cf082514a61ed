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

# SciPy's CSR types, once SciPy is imported (``_issparse``): the module does
# not import SciPy itself (the command line's training path runs without it),
# and a SciPy matrix cannot reach it before SciPy is imported
_CSR_MATRIX = None
_CSR_ARRAY = None


def _issparse(x):
    """Whether x is a SciPy sparse matrix or array (without importing SciPy)."""
    global _CSR_MATRIX, _CSR_ARRAY
    sp = _sys.modules.get("scipy.sparse")
    if sp is None:
        return False
    if _CSR_MATRIX is None:
        _CSR_MATRIX, _CSR_ARRAY = sp.csr_matrix, sp.csr_array
    return sp.issparse(x)


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
    memcpy(s.rule, row + SLOT_RULE, RULE_SCALARS * sizeof(double))
    s.clock0 = row[SLOT_CLOCK0]


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
    memcpy(row + SLOT_RULE, s.rule, RULE_SCALARS * sizeof(double))
    row[SLOT_CLOCK0] = s.clock0


# A dict's version tag (CPython 3.10 to 3.13): a new number after every
# change of the dict, unique over the process, so an unchanged tag proves an
# unchanged dict; 0 (no proof: compare the items) where there is none.
cdef extern from *:
    """
    #if PY_VERSION_HEX < 0x030E0000 && !defined(Py_LIMITED_API) && !defined(PYPY_VERSION)
    #if defined(__GNUC__) || defined(__clang__)
    #pragma GCC diagnostic push
    #pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    #endif
    static inline unsigned long long streamlr_dict_tag(PyObject* d) {
        return (unsigned long long)((PyDictObject*)d)->ma_version_tag;
    }
    #if defined(__GNUC__) || defined(__clang__)
    #pragma GCC diagnostic pop
    #endif
    #else
    static inline unsigned long long streamlr_dict_tag(PyObject* d) { (void)d; return 0; }
    #endif
    """
    unsigned long long streamlr_dict_tag(object d) noexcept


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
        positive), 3 the softmax model (the label index; multinomial.pxi).
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
    race : tuple, optional
        ``(copies, discount, eta, wild, bound, first_rows, warmup, period,
        awake)``: the
        problems are ``copies`` copies of each binary problem racing
        (race.pxi); None for no race.
    class_counts : ndarray, optional
        int64, one per class (classifiers): the event path counts the
        samples it learns there (restored with a failed call).
    balanced : bool, optional
        Weight each event's sample by ``n / (n_classes * n_c)`` of the
        counts, this sample included (streaming ``class_weight="balanced"``).
    drift : tuple, optional
        ``(on_drift, feed_loss, slot_init, slot_from_w, rule_init,
        sched_init)``: the model's detector (``state.drift_state``, checked
        by the caller) is fed in streaming passes and reacted to
        (drift.pxi): ``on_drift`` an ON_DRIFT_* code, ``feed_loss`` whether
        it sees the loss (else the 0/1 error), then what a restart puts back
        (float64 initial value and uint8 flag of each slot, the rule's
        RULE_SCALARS initial scalars, the schedule's initial state). None:
        no detector.
    """
    cdef readonly int n_problems
    # the rate race (race.pxi): copies per binary problem (1: none), and the
    # values a prediction has: one per binary problem
    cdef readonly int copies
    cdef readonly int n_outputs
    cdef RaceRule race_rule
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
    cdef readonly Loss loss
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
    cdef Py_ssize_t n_slots_blk, ss           # the most entries per coordinate; slot stride
    # each problem's block (ModelState.block_layout): where it starts in
    # `weights` (elements), its stride between coordinates, its entries per
    # coordinate (a race of different rules on CSR rows: its own rule's)
    cdef const Py_ssize_t* woff
    cdef const Py_ssize_t* wcs
    cdef const Py_ssize_t* wn
    cdef Py_ssize_t averages_d, l1_received_d, last_update_d, intercepts_n, schedule_state_n
    cdef Py_ssize_t isz                       # bytes per weight (4 or 8)
    cdef bint has_sched
    cdef SchedProgram prog_proto              # kinds/params/extra; state per problem
    # lookups for the Python-facing calls
    cdef dict labels                          # label -> index in classes_
    cdef readonly tuple classes               # classes_ (their numpy scalars)
    cdef tuple class_items                    # the same as Python objects (predict_proba_one)
    cdef dict names                           # feature name -> column
    cdef object dtype
    cdef object dense_buf                     # scratch row for dict events
    cdef public object hasher                 # hash_bits: _hashing.EventHasher, or None
    cdef tuple watched                        # ((dict, keys, values), ...)
    cdef unsigned long long watched_tag[8]    # their version tags when last found
                                              # the same (0: none; see is_current)
    cdef public bint event_path               # learn_event may learn (set by the
                                              # driver's bind: see learn_event)
    # the snapshot of the running call, and scratch
    cdef char* save
    cdef Py_ssize_t save_cap
    cdef Py_ssize_t* save_off                 # where each problem's part of `save` starts
    cdef unsigned char* save_whole            # whether it holds its coordinates too (a
                                              # race's sleeping copies: only the scalars)
    cdef object save_array                    # owns `save` (a NumPy buffer: large ones
                                              # get transparent huge pages, fewer faults)
    cdef bint saved, saved_full
    cdef const int* saved_idx
    cdef Py_ssize_t saved_nnz
    cdef object saved_cols                    # keeps the general path's columns alive
    # a snapshot of a few columns takes every column at the call's first
    # reaction to drift, before it changes them (snapshot.pxi, _widen_snapshot)
    cdef bint widen_pending
    cdef char* wide
    cdef Py_ssize_t wide_cap
    cdef Py_ssize_t* wide_off
    cdef char* tmp
    cdef Py_ssize_t tmp_cap
    # predictions' own scratch: a prediction (which holds the GIL throughout)
    # may run while a large event learns without the GIL in another thread
    cdef double* pbuf
    cdef Py_ssize_t pbuf_cap
    # the model's drift detector (drift.pxi) and the snapshot of its state
    cdef readonly bint has_drift
    cdef DriftLoop dloop
    cdef object drift_keep
    cdef object model_state           # the ModelState: its drift log grows on success
    cdef double* drift_save
    cdef Py_ssize_t drift_save_n, drift_save_cap
    # classifiers: the samples of each class seen by partial_fit / learn_one
    # (``class_counts_``), and whether they weight each sample (streaming
    # class_weight="balanced")
    cdef long long* counts
    cdef Py_ssize_t n_counts
    cdef long long* counts_save
    cdef readonly bint balanced
    # the state as the one prediction routine reads it (dot.pxi)
    cdef ModelView view
    # delayed labels (pending.pxi): scratch for the loss sums before a call
    cdef double* kept
    cdef Py_ssize_t kept_cap

    def __cinit__(self):
        self.save = NULL
        self.save_off = NULL
        self.save_whole = NULL
        self.wide = NULL
        self.wide_cap = 0
        self.wide_off = NULL
        self.widen_pending = False
        self.tmp = NULL
        self.pbuf = NULL
        self.save_cap = 0
        self.tmp_cap = 0
        self.pbuf_cap = 0
        self.kept = NULL
        self.kept_cap = 0
        self.saved = False
        self.drift_save = NULL
        self.drift_save_cap = 0
        self.counts = NULL
        self.counts_save = NULL
        self.n_counts = 0
        self.dloop.found = NULL
        self.dloop.n_found = 0
        self.dloop.cap_found = 0
        self.dloop.owner = NULL
        self.dloop.before_react = NULL

    def __dealloc__(self):
        free(self.save_off)
        free(self.save_whole)
        free(self.wide)
        free(self.wide_off)
        free(self.tmp)
        free(self.pbuf)
        free(self.kept)
        free(self.drift_save)
        free(self.dloop.found)
        free(self.counts_save)

    def __init__(self, state, list cfgs, list cfgs_sparse, Loss loss, int mode, double neg,
                 long long average, program=None, dict labels=None, dict names=None,
                 tuple classes=None, watched=(), bint verbose=False, race=None, drift=None,
                 class_counts=None, bint balanced=False):
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
        self.n_problems = scal.shape[0]
        if len(cfgs) != self.n_problems or len(cfgs_sparse) != self.n_problems:
            raise ValueError("one Config per problem")
        self.copies = 1
        self.race_rule.copies = 1
        if race is not None:
            copies = int(race[0])
            if copies < 1 or copies > MAX_COPIES or self.n_problems % copies:
                raise ValueError(f"a race of {copies} copies does not fit {self.n_problems} problems")
            self.copies = copies
            self.race_rule.copies = copies
            (self.race_rule.discount, self.race_rule.eta, self.race_rule.wild,
             self.race_rule.bound, self.race_rule.first_rows, self.race_rule.warmup,
             self.race_rule.period) = [float(v) for v in race[1:8]]
            self.race_rule.awake = int(race[8])
            if self.race_rule.period < 1 or self.race_rule.warmup < 1:
                raise ValueError("the race narrows after at least one row")
        self.n_outputs = self.n_problems // self.copies
        self.save_off = <Py_ssize_t*>malloc((self.n_problems + 1) * sizeof(Py_ssize_t))
        self.save_whole = <unsigned char*>malloc(self.n_problems + 1)
        self.wide_off = <Py_ssize_t*>malloc((self.n_problems + 1) * sizeof(Py_ssize_t))
        if self.save_off == NULL or self.save_whole == NULL or self.wide_off == NULL:
            raise MemoryError()
        self.f32 = blk.dtype == _np.float32
        self.dtype = blk.dtype
        self.isz = 4 if self.f32 else 8
        self.n_features = state.n_features
        off, cstride, entries = state.block_layout()
        # (interleaved: (K, d, P) or per-rule widths; else (K, S, d))
        self.ss = 1 if state.interleaved else self.n_features
        self.n_slots_blk = int(entries.max()) if entries.shape[0] else 1
        if (off.dtype != _np.intp or cstride.dtype != _np.intp or entries.dtype != _np.intp
                or off.shape[0] != self.n_problems or cstride.shape[0] != self.n_problems
                or entries.shape[0] != self.n_problems):
            raise ValueError("one block offset, stride and width (intp) per problem")
        if self.n_problems and self.n_features and _np.max(
                off + (self.n_features - 1) * cstride + (entries - 1) * self.ss) >= blk.size:
            raise ValueError("the problems' blocks do not fit the weights")
        self.woff = <const Py_ssize_t*>cnp.PyArray_DATA(off)
        self.wcs = <const Py_ssize_t*>cnp.PyArray_DATA(cstride)
        self.wn = <const Py_ssize_t*>cnp.PyArray_DATA(entries)
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
        _fill_view(&self.view, blk, aw, stamp, scal, off, cstride, self.n_features,
                   state.plain_copies, self.copies)
        self.cfgs = cfgs
        self.cfgs_sparse = cfgs_sparse
        self.loss = loss
        self.mode, self.neg, self.plain = mode, neg, state.plain
        self.average = average
        self.verbose = verbose
        self.labels = labels
        self.names = names
        self.classes = classes
        # (each tag read before its items: a change after it changes the tag)
        tags = [streamlr_dict_tag(d) for d in watched]
        self.watched = tuple((d, tuple(d.keys()), tuple(d.values())) for d in watched)
        for i in range(min(len(tags), 8)):
            self.watched_tag[i] = tags[i]
        self.has_sched = program is not None and program[0] is not None
        keep = [blk, aw, q, stamp, scal, oint, sched_state, self.progress, off, cstride, entries]
        if self.has_sched:
            kinds = _np.ascontiguousarray(program[0], dtype=_np.intc)
            params = _np.ascontiguousarray(program[1], dtype=_np.float64)
            extra = _np.ascontiguousarray(program[2], dtype=_np.float64)
            if len(kinds) == 0 or len(params) == 0 or len(extra) == 0:
                raise ValueError("an empty schedule program")
            self.prog_proto.kinds = <const int*>cnp.PyArray_DATA(kinds)
            self.prog_proto.params = <const double*>cnp.PyArray_DATA(params)
            self.prog_proto.extra = <const double*>cnp.PyArray_DATA(extra)
            keep += [kinds, params, extra]
        self.has_drift = drift is not None
        if self.has_drift:
            keep.append(self._bind_drift(state, drift))
        if class_counts is not None:
            keep.append(self._bind_counts(class_counts, balanced))
        self._keep = keep
        self.dense_buf = None   # made on the first dict event

    cdef object _bind_counts(self, cnp.ndarray counts, bint balanced):
        if (counts.dtype != _np.int64 or counts.ndim != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(counts)
                or not cnp.PyArray_ISWRITEABLE(counts)):
            raise ValueError("class_counts must be a writeable C-contiguous int64 array")
        if self.mode == 0 or counts.shape[0] != len(self.classes):
            raise ValueError("class_counts needs one count per class of a classifier")
        self.counts = <long long*>cnp.PyArray_DATA(counts)
        self.n_counts = counts.shape[0]
        self.counts_save = <long long*>malloc(self.n_counts * sizeof(long long))
        if self.counts_save == NULL:
            raise MemoryError()
        self.balanced = balanced
        return counts

    cdef object _bind_drift(self, state, tuple drift):
        cdef cnp.ndarray det = state.drift_state
        cdef cnp.ndarray slot_init = _np.ascontiguousarray(drift[2], dtype=_np.float64)
        cdef cnp.ndarray from_w = _np.ascontiguousarray(drift[3], dtype=_np.uint8)
        cdef cnp.ndarray rule_init = _np.ascontiguousarray(drift[4], dtype=_np.float64)
        cdef cnp.ndarray sched_init = _np.ascontiguousarray(drift[5], dtype=_np.float64)
        if (det.dtype != _np.float64 or det.ndim != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(det)
                or not cnp.PyArray_ISWRITEABLE(det) or det.shape[0] == 0):
            raise ValueError("drift_state must be a writeable C-contiguous float64 array")
        cdef Py_ssize_t templates = 1, n_slots
        if slot_init.ndim == 2:     # a race: one template per copy
            templates = slot_init.shape[0]
            n_slots = slot_init.shape[1]
        else:
            n_slots = slot_init.shape[0]
        if (templates != self.copies or (<object>from_w).shape != (<object>slot_init).shape
                or n_slots + 1 > self.n_slots_blk
                or (self.intercepts_n and n_slots + 1 > self.intercepts_n)
                or rule_init.size != templates * RULE_SCALARS
                or sched_init.shape[0] != self.schedule_state_n):
            raise ValueError("the restart's template does not fit the model")
        drift_bind(&self.dloop.det, <double*>cnp.PyArray_DATA(det))
        self.dloop.on_drift = int(drift[0])
        self.dloop.feed_loss = bool(drift[1])
        self.dloop.n_slots = n_slots
        self.dloop.templates = templates
        self.dloop.slot_init = <const double*>cnp.PyArray_DATA(slot_init)
        self.dloop.slot_from_w = <const unsigned char*>cnp.PyArray_DATA(from_w)
        self.dloop.rule_init = <const double*>cnp.PyArray_DATA(rule_init)
        self.dloop.sched_init = <const double*>cnp.PyArray_DATA(sched_init)
        self.dloop.sched_n = sched_init.shape[0]
        self.dloop.out_of_memory = False
        self.dloop.owner = <void*>self
        self.dloop.before_react = _widen_hook
        self.model_state = state
        return (det, slot_init, from_w, rule_init, sched_init)

    cpdef bint is_current(self):
        """Whether every watched dict still holds the objects it held when
        the engine was built (then its parameters are still the model's)."""
        cdef tuple entry
        cdef Py_ssize_t i = 0
        cdef unsigned long long tag
        for entry in self.watched:
            # an unchanged version tag proves the same items; else they are
            # compared, and the tag kept when they are (read before them)
            tag = streamlr_dict_tag(entry[0])
            if i < 8 and tag != 0 and tag == self.watched_tag[i]:
                i += 1
                continue
            if not _same_items(<dict>entry[0], <tuple>entry[1], <tuple>entry[2]):
                return False
            if i < 8:
                self.watched_tag[i] = tag
            i += 1
        return True

    # -- scratch ---------------------------------------------------------------

    @property
    def snapshot_buffer(self):
        """The buffer the snapshots of this engine use (None before the first)."""
        return self.save_array

    def reuse_snapshot_buffer(self, buf):
        """Take ``buf`` (a uint8 array, e.g. an earlier engine's
        ``snapshot_buffer``) as the snapshots' buffer: a later call then
        writes into pages that are already there instead of faulting in
        fresh ones (hundreds of MB for a race on wide CSR input)."""
        cdef cnp.ndarray b
        if buf is None or self.saved:
            return
        b = buf
        if b.dtype != _np.uint8 or b.ndim != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(b) \
                or not cnp.PyArray_ISWRITEABLE(b):
            raise ValueError("a snapshot buffer is a writeable, contiguous uint8 array")
        if b.shape[0] > self.save_cap:
            self.save_array = b
            self.save, self.save_cap = <char*>cnp.PyArray_DATA(b), b.shape[0]

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

    cdef Py_ssize_t _coord_bytes(self, int kk) noexcept nogil:
        # bytes saved per touched coordinate of problem kk: its stamp first,
        # then its weight and slots, aw, q; padded so records stay aligned
        cdef Py_ssize_t n = ((8 if self.last_update_d else 0) + self.wn[kk] * self.isz
                             + (self.isz if self.averages_d else 0) + (self.isz if self.l1_received_d else 0))
        return (n + 7) & ~7

    cdef inline bint _learns(self, int kk) noexcept nogil:
        # False for a race's copy that sleeps or left the race
        return self.copies == 1 or self.scalars[kk * N_SLOTS + SLOT_RACE_STATUS] < RACE_OUT

    cdef inline bint _may_wake(self, int kk) noexcept nogil:
        # a race's sleeping copy that a restart on drift may wake (race.pxi)
        return (self.copies > 1 and self.has_drift and self.dloop.on_drift != ON_DRIFT_NONE
                and self.scalars[kk * N_SLOTS + SLOT_RACE_STATUS] == RACE_ASLEEP)

    cdef Py_ssize_t _problem_bytes(self) noexcept nogil:
        return (N_SLOTS + self.intercepts_n + self.schedule_state_n) * 8

    # -- the snapshot: one implementation for both paths -------------------------

    cdef int _save_all(self, const int* indices, Py_ssize_t nnz, bint full,
                       bint coordinates=True) except -1:
        """Copy what a call may change, for every problem: all of it
        (``full``), or the coordinates ``indices[:nnz]`` and the scalars
        (without ``coordinates``: the scalars only)."""
        cdef int kk
        cdef Py_ssize_t touched = self.n_features if full else nnz, off = 0
        for kk in range(self.n_problems):
            # a race's copy that sleeps or left cannot change but for its scalars
            # (one that a restart may wake: room for its coordinates, copied then)
            self.save_whole[kk] = 0
            if coordinates and self._learns(kk):
                self.save_whole[kk] = 1
            elif coordinates and self._may_wake(kk):
                self.save_whole[kk] = 2
            self.save_off[kk] = off
            off += self._problem_bytes() + (touched * self._coord_bytes(kk) if self.save_whole[kk] else 0)
        self._reserve(off, 0)
        for kk in range(self.n_problems):
            if self.f32:
                _save_problem(self, <float*>NULL, kk, indices, nnz, full)
            else:
                _save_problem(self, <double*>NULL, kk, indices, nnz, full)
        if self.has_drift:
            self._save_drift()
        if self.n_counts:
            memcpy(self.counts_save, self.counts, self.n_counts * sizeof(long long))
        self.saved, self.saved_full, self.saved_idx, self.saved_nnz = True, full, indices, nnz
        self.widen_pending = not full
        return 0

    cdef int _save_drift(self) except -1:
        # the detector's values in use (the rest of its array is zero)
        cdef Py_ssize_t n = drift_used(&self.dloop.det)
        cdef void* p
        if n > self.drift_save_cap:
            p = realloc(self.drift_save, n * sizeof(double))
            if p == NULL:
                raise MemoryError()
            self.drift_save, self.drift_save_cap = <double*>p, n
        memcpy(self.drift_save, self.dloop.det.s, n * sizeof(double))
        self.drift_save_n = n
        self.dloop.n_found = 0
        self.dloop.out_of_memory = False
        return 0

    cdef void _restore_drift(self) noexcept:
        cdef Py_ssize_t now = drift_used(&self.dloop.det)
        if now > self.drift_save_n:
            memset(self.dloop.det.s + self.drift_save_n, 0,
                   (now - self.drift_save_n) * sizeof(double))
        memcpy(self.dloop.det.s, self.drift_save, self.drift_save_n * sizeof(double))
        self.dloop.n_found = 0

    cdef void _restore_all(self) noexcept:
        cdef int kk
        for kk in range(self.n_problems - 1, -1, -1):
            if self.f32:
                _restore_problem(self, <float*>NULL, kk, self.saved_idx, self.saved_nnz, self.saved_full)
            else:
                _restore_problem(self, <double*>NULL, kk, self.saved_idx, self.saved_nnz, self.saved_full)
        if self.has_drift:
            self._restore_drift()
        if self.n_counts:
            memcpy(self.counts, self.counts_save, self.n_counts * sizeof(long long))

    def save_state(self, cols=None, bint coordinates=True):
        """Snapshot every problem before a call of the general path: all of
        the state, or (``cols``: distinct column indices, int32) only those
        columns and the scalars. ``restore_state`` takes the model back.
        Without ``coordinates``, only each problem's scalars, intercepts and
        schedule state are kept (a model made by the call, which a failure
        drops whole: its coordinates need no copy)."""
        cdef cnp.ndarray c
        if not coordinates:
            self._save_all(NULL, 0, True, False)
            self.saved_cols = None
            return
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
            return _problem_finite(self, <float*>NULL, k, self.saved_idx, self.saved_nnz, self.saved_full)
        return _problem_finite(self, <double*>NULL, k, self.saved_idx, self.saved_nnz, self.saved_full)

    def may_fold_scale(self, Py_ssize_t steps, bint sparse=False):
        """Whether plain SGD's weight scale may be folded into every weight
        within ``steps`` updates, for any problem (then a snapshot of a few
        columns would not be enough). A restart on drift, which changes
        every column too, needs no full snapshot up front: the snapshot
        takes every column at the call's first restart (``_widen_snapshot``)."""
        return self._may_fold_scale(steps, sparse)

    cdef bint _may_fold_scale(self, Py_ssize_t steps, bint sparse):
        cdef SchedProgram prog
        cdef Config cfg
        cdef int kk
        if not self.plain:
            return False
        for kk in range(self.n_problems):
            if not (self._learns(kk) or self._may_wake(kk)):
                continue
            prog = self.prog_proto
            prog.state = self.schedule_state + kk * self.schedule_state_n
            cfg = <Config>(self.cfgs_sparse[kk] if sparse else self.cfgs[kk])
            if _scale_may_fold(cfg, &prog if self.has_sched else NULL,
                               self.scalars[kk * N_SLOTS + SLOT_T]
                               - self.scalars[kk * N_SLOTS + SLOT_CLOCK0],
                               self.scalars[kk * N_SLOTS + SLOT_WSCALE], steps, self.f32):
                return True
            # (a restart on drift sets the clock back to 1, but after it the
            # snapshot holds every column already)
        return False

    # -- the general path: one pass of one problem -------------------------------

    def run_pass(self, int k, values, indices, indptr, targets, sample_weight,
                 order, double t, double eta_adaptive=0.0,
                 bint track_objective=False, bint plateau_streaming=True, sums=None,
                 margins=None, bint drift=False, cross=None):
        """One pass of problem ``k`` over the rows ``order`` (without the GIL).

        ``values, indices, indptr``: CSR arrays (structure checked by the
        caller, except the column indices, which the loop checks row by
        row), or a dense C-contiguous matrix's ravelled values with empty
        ``indices`` and ``indptr``; the model's dtype. ``targets``: problem
        k's targets in the loss's encoding; ``sample_weight``: per row, or
        None (all 1); both in the model's dtype. ``order``: the rows to visit
        (an intp array), or a ``range`` of step 1. ``t``: scikit-learn's update counter at the
        first row. ``sums``: running (loss, objective) sums, a float64 array
        of 2, continued and updated (so that blocks of a pass add up as one).
        ``margins``: a float64 array of len(order), or None; if given it
        receives the decision value made of each row before learning it.
        ``drift``: feed the model's detector (a single binary problem or a
        regressor) and react to it; ``drifts_found`` then gives the
        positions in ``order`` of the rows that flagged drift. ``cross``:
        None, or the interactions crossed into each CSR row right before it
        is used (cross.pxi: ``(ns, src, interactions, single, bits)``).

        Returns ``(status, t, last_eta, last_plateau)``: status is the number
        of rows visited, or -(i + 1) if row ``order[i]`` made the model
        non-finite or had a column index out of range; last_eta the rate of
        the last update (NaN if none); last_plateau the ReduceOnPlateau node
        that set it (-1 if none).
        """
        cdef cnp.ndarray v = values, ind = indices, ptr = indptr, y = targets
        cdef cnp.ndarray sw = sample_weight if sample_weight is not None else values
        cdef cnp.ndarray s2, mg
        cdef int typenum = cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64
        cdef bint dense = ptr.shape[0] == 0
        cdef const void* swp = NULL if sample_weight is None else cnp.PyArray_DATA(sw)
        cdef const Py_ssize_t[::1] rows
        cdef Py_ssize_t n_rows, first = 0
        # a range visits its rows without an order array (not shuffling)
        cdef bint ranged = isinstance(order, range)
        if ranged:
            n_rows, first = len(order), order.start
            if order.step != 1 or first < 0 or (n_rows and first + n_rows > (
                    ptr.shape[0] - 1 if not dense else v.shape[0] // max(self.n_features, 1))):
                raise ValueError("order must be a range of step 1 over the rows")
        else:
            rows = order
            n_rows = rows.shape[0]
        cdef Problem P
        cdef Rows R
        cdef Cross X
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
        R.cross = NULL
        if cross is not None:
            if dense:
                raise ValueError("interactions cross CSR rows")
            _cross_init(&X, cross, ind.shape[0], self.n_features)
            R.cross = &X
        cfg = <Config>(self.cfgs[k] if dense else self.cfgs_sparse[k])
        self._begin(k, &P, &ps, &prog, eta_adaptive, track_objective, plateau_streaming)
        P.t = t
        R.indices = NULL if dense else <const int*>cnp.PyArray_DATA(ind)
        R.indptr = NULL if dense else <const int*>cnp.PyArray_DATA(ptr)
        R.n_features = self.n_features
        R.order = NULL if ranged else &rows[0]
        R.first = first
        R.n_rows = n_rows
        if margins is not None:
            mg = margins
            if cnp.PyArray_TYPE(mg) != cnp.NPY_FLOAT64 or not cnp.PyArray_IS_C_CONTIGUOUS(mg) \
                    or mg.shape[0] < n_rows:
                raise ValueError("margins must be a C-contiguous float64 array of one value per row")
            ps.margins = <double*>cnp.PyArray_DATA(mg)
        if sums is not None:
            s2 = sums
            ps.sum_loss = (<double*>cnp.PyArray_DATA(s2))[0]
            ps.sum_objective = (<double*>cnp.PyArray_DATA(s2))[1]
        if drift:
            if not self.has_drift or self.n_problems != 1 or margins is not None:
                raise ValueError("a pass feeds a drift detector of a single problem only")
            self.dloop.n_found = 0
            ps.drift = &self.dloop
        row = self.scalars + k * N_SLOTS
        with nogil:
            if self.f32:
                status = _epoch(&P, &R, &ps, <const float*>cnp.PyArray_DATA(v),
                                <const float*>cnp.PyArray_DATA(y),
                                <const float*>swp, self.loss, cfg)
            else:
                status = _epoch(&P, &R, &ps, <const double*>cnp.PyArray_DATA(v),
                                <const double*>cnp.PyArray_DATA(y),
                                <const double*>swp, self.loss, cfg)
            _store(&P.s, row)
            if R.cross != NULL:
                _cross_free(&X)
        if R.cross != NULL and X.failed:
            raise MemoryError("no memory left to cross a row's interactions")
        if sums is not None:
            (<double*>cnp.PyArray_DATA(s2))[0] = ps.sum_loss
            (<double*>cnp.PyArray_DATA(s2))[1] = ps.sum_objective
        if drift and self.dloop.out_of_memory:
            raise MemoryError("no memory left to record drift detections")
        return status, P.t, ps.last_eta, ps.last_plateau

    def run_softmax_pass(self, values, indices, indptr, labels, sample_weight,
                         const Py_ssize_t[::1] order, double t, double eta_adaptive=0.0,
                         bint track_objective=False, bint plateau_streaming=True, sums=None,
                         bint drift=False):
        """One pass of the softmax model (every problem a class row,
        multinomial.pxi) over the rows ``order``, without the GIL: the
        arguments as ``run_pass``'s, ``labels`` the label index of each row
        in the model's dtype; ``drift``: feed the model's detector (then
        ``drifts_found`` gives the rows that flagged drift). Returns
        ``(status, t, last_eta, last_plateau)`` as ``run_pass``."""
        cdef cnp.ndarray v = values, ind = indices, ptr = indptr, y = labels
        cdef cnp.ndarray sw = sample_weight, s2
        cdef int typenum = cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64
        cdef bint dense = ptr.shape[0] == 0
        cdef Py_ssize_t n_rows = order.shape[0], status
        cdef double acc[2]
        cdef double t_new = t
        cdef int plateau = -1
        for a, name in ((v, "values"), (y, "labels"), (sw, "sample_weight")):
            if cnp.PyArray_TYPE(<cnp.ndarray>a) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
                raise ValueError(f"{name} must be C-contiguous in the model's dtype")
        if not dense and (cnp.PyArray_TYPE(ind) != cnp.NPY_INT32 or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32):
            raise ValueError("indices and indptr must be int32")
        if self.n_problems < 3 or self.copies != 1 or drift != self.has_drift:
            raise ValueError("a softmax pass needs three class rows or more, without a race, "
                             "and feeds the model's drift detector if it has one")
        if drift:
            self.dloop.n_found = 0
        if n_rows == 0:
            return 0, t, float("nan"), -1
        if self.n_features == 0:
            raise ValueError("the weight vector is empty")
        acc[0] = 0.0
        acc[1] = 0.0
        if sums is not None:
            s2 = sums
            acc[0] = (<double*>cnp.PyArray_DATA(s2))[0]
            acc[1] = (<double*>cnp.PyArray_DATA(s2))[1]
        if self.f32:
            status = _softmax_run(self, <const float*>cnp.PyArray_DATA(v),
                                  NULL if dense else <const int*>cnp.PyArray_DATA(ind),
                                  NULL if dense else <const int*>cnp.PyArray_DATA(ptr),
                                  &order[0], n_rows, <const float*>cnp.PyArray_DATA(y),
                                  <const float*>cnp.PyArray_DATA(sw), t, eta_adaptive,
                                  track_objective, plateau_streaming, acc, True, &t_new, &plateau,
                                  drift)
        else:
            status = _softmax_run(self, <const double*>cnp.PyArray_DATA(v),
                                  NULL if dense else <const int*>cnp.PyArray_DATA(ind),
                                  NULL if dense else <const int*>cnp.PyArray_DATA(ptr),
                                  &order[0], n_rows, <const double*>cnp.PyArray_DATA(y),
                                  <const double*>cnp.PyArray_DATA(sw), t, eta_adaptive,
                                  track_objective, plateau_streaming, acc, True, &t_new, &plateau,
                                  drift)
        if sums is not None:
            (<double*>cnp.PyArray_DATA(s2))[0] = acc[0]
            (<double*>cnp.PyArray_DATA(s2))[1] = acc[1]
        if drift and self.dloop.out_of_memory:
            raise MemoryError("no memory left to record drift detections")
        return status, t_new, self.last_lr, plateau

    def run_softmax_race_pass(self, values, indices, indptr, labels, sample_weight,
                              const Py_ssize_t[::1] order):
        """One pass of a rate race of softmax models over ``order`` (see
        multinomial.pxi; the call's snapshot must be taken), feeding the
        model's drift detector if it has one (``drifts_found``): ``labels``
        the label index of each row in the model's dtype. Returns ``(status,
        bad)``: status the rows, or -1 when every copy left the race; bad
        the position in ``order`` of the first row that made a copy leave
        (-1: none)."""
        cdef cnp.ndarray v = values, ind = indices, ptr = indptr, y = labels, sw = sample_weight
        cdef int typenum = cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64
        cdef bint dense = ptr.shape[0] == 0
        cdef Py_ssize_t n_rows = order.shape[0], status, bad = -1
        for a, name in ((v, "values"), (y, "labels"), (sw, "sample_weight")):
            if cnp.PyArray_TYPE(<cnp.ndarray>a) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
                raise ValueError(f"{name} must be C-contiguous in the model's dtype")
        if not dense and (cnp.PyArray_TYPE(ind) != cnp.NPY_INT32 or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32):
            raise ValueError("indices and indptr must be int32")
        if self.n_outputs < 3 or self.copies < 2 or not self.saved:
            raise ValueError("run_softmax_race_pass is for a race of softmax models, "
                             "after save_state")
        self.dloop.n_found = 0
        if n_rows == 0:
            return 0, -1
        if self.f32:
            status = _softmax_race(self, <const float*>cnp.PyArray_DATA(v),
                                   NULL if dense else <const int*>cnp.PyArray_DATA(ind),
                                   NULL if dense else <const int*>cnp.PyArray_DATA(ptr),
                                   &order[0], n_rows, <const float*>cnp.PyArray_DATA(y),
                                   <const float*>cnp.PyArray_DATA(sw), True, &bad)
        else:
            status = _softmax_race(self, <const double*>cnp.PyArray_DATA(v),
                                   NULL if dense else <const int*>cnp.PyArray_DATA(ind),
                                   NULL if dense else <const int*>cnp.PyArray_DATA(ptr),
                                   &order[0], n_rows, <const double*>cnp.PyArray_DATA(y),
                                   <const double*>cnp.PyArray_DATA(sw), True, &bad)
        if self.has_drift and self.dloop.out_of_memory:
            raise MemoryError("no memory left to record drift detections")
        return status, bad

    def softmax_race_out(self, int c):
        """Copy c of a race of softmax models leaves the race (its K class
        rows back to the call's snapshot)."""
        if not self.saved or self.copies < 2:
            raise RuntimeError("softmax_race_out() restores a softmax race from a snapshot")
        _softmax_race_out(self, c)
        _softmax_race_sync(self)

    def drifts_found(self):
        """The positions (int64, in the order of the last pass fed to the
        detector) of the rows that flagged drift."""
        cdef cnp.ndarray out = _np.empty(self.dloop.n_found, dtype=_np.int64)
        cdef Py_ssize_t i
        for i in range(self.dloop.n_found):
            (<long long*>cnp.PyArray_DATA(out))[i] = self.dloop.found[i]
        return out

    def run_drift_pass(self, values, indices, indptr, targets, labels, sample_weight,
                       const Py_ssize_t[::1] order):
        """One streaming pass of every binary problem of one-vs-rest over
        ``order``, side by side, feeding the model's detector the multiclass
        0/1 error of each row (see ``_drift_lockstep``). ``targets``: the
        (K, n) targets of the problems in the model's dtype; ``labels``: the
        label index (intp) of each row. Returns ``(status, last_eta)``;
        ``drifts_found`` gives the rows that flagged drift."""
        cdef cnp.ndarray v = values, ind = indices, ptr = indptr, y = targets, sw = sample_weight
        cdef cnp.ndarray lab = labels
        cdef int typenum = cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64
        cdef bint dense = ptr.shape[0] == 0
        cdef Py_ssize_t n_rows = order.shape[0], status
        for a, name in ((v, "values"), (y, "targets"), (sw, "sample_weight")):
            if cnp.PyArray_TYPE(<cnp.ndarray>a) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
                raise ValueError(f"{name} must be C-contiguous in the model's dtype")
        if not dense and (cnp.PyArray_TYPE(ind) != cnp.NPY_INT32 or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32):
            raise ValueError("indices and indptr must be int32")
        if not self.has_drift or self.n_problems < 2 or self.copies != 1:
            raise ValueError("run_drift_pass is for one-vs-rest with a drift detector")
        if y.ndim != 2 or y.shape[0] != self.n_problems or cnp.PyArray_TYPE(lab) != cnp.NPY_INTP \
                or not cnp.PyArray_IS_C_CONTIGUOUS(lab) or lab.shape[0] != y.shape[1] \
                or sw.shape[0] != y.shape[1]:
            raise ValueError("targets must be (n_problems, n) and labels (n,) intp")
        self.dloop.n_found = 0
        if n_rows == 0:
            return 0, float("nan")
        if self.f32:
            status = _drift_lockstep(self, <const float*>cnp.PyArray_DATA(v),
                                     NULL if dense else <const int*>cnp.PyArray_DATA(ind),
                                     NULL if dense else <const int*>cnp.PyArray_DATA(ptr),
                                     <const float*>cnp.PyArray_DATA(y), y.shape[1],
                                     <const Py_ssize_t*>cnp.PyArray_DATA(lab),
                                     <const float*>cnp.PyArray_DATA(sw), &order[0], n_rows)
        else:
            status = _drift_lockstep(self, <const double*>cnp.PyArray_DATA(v),
                                     NULL if dense else <const int*>cnp.PyArray_DATA(ind),
                                     NULL if dense else <const int*>cnp.PyArray_DATA(ptr),
                                     <const double*>cnp.PyArray_DATA(y), y.shape[1],
                                     <const Py_ssize_t*>cnp.PyArray_DATA(lab),
                                     <const double*>cnp.PyArray_DATA(sw), &order[0], n_rows)
        if self.dloop.out_of_memory:
            raise MemoryError("no memory left to record drift detections")
        return status, self.last_lr

    def run_race_drift_pass(self, values, indices, indptr, targets, labels, sample_weight,
                            const Py_ssize_t[::1] order):
        """One streaming pass of a rate race with a drift detector over
        ``order``: the copies of every binary problem learn side by side and
        the detector is fed what the race serves (see
        ``_race_drift_lockstep``). ``targets``: the (B, n) targets of the
        binary problems in the model's dtype; ``labels``: the label index
        (intp) of each row (read for one-vs-rest). Returns ``(status,
        last_eta, failed)``: status n or -1 (every copy of a binary problem
        diverged: restore), ``failed`` the positions in ``order`` of the
        rows on which a copy diverged and left the race (back to the
        snapshot; the caller resets a copy a snapshot without coordinates
        cannot put back). ``drifts_found`` gives the rows that flagged
        drift."""
        cdef cnp.ndarray v = values, ind = indices, ptr = indptr, y = targets, sw = sample_weight
        cdef cnp.ndarray lab = labels
        cdef int typenum = cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64
        cdef bint dense = ptr.shape[0] == 0
        cdef Py_ssize_t n_rows = order.shape[0], status
        cdef list failed = []
        cdef const Py_ssize_t* lp
        for a, name in ((v, "values"), (y, "targets"), (sw, "sample_weight")):
            if cnp.PyArray_TYPE(<cnp.ndarray>a) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
                raise ValueError(f"{name} must be C-contiguous in the model's dtype")
        if not dense and (cnp.PyArray_TYPE(ind) != cnp.NPY_INT32 or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32):
            raise ValueError("indices and indptr must be int32")
        if not self.has_drift or self.copies < 2 or not self.saved:
            raise ValueError("run_race_drift_pass is for a race with a drift detector, "
                             "after save_state")
        if y.ndim != 2 or y.shape[0] != self.n_outputs or cnp.PyArray_TYPE(lab) != cnp.NPY_INTP \
                or not cnp.PyArray_IS_C_CONTIGUOUS(lab) or lab.shape[0] != y.shape[1] \
                or sw.shape[0] != y.shape[1]:
            raise ValueError("targets must be (n_outputs, n) and labels (n,) intp")
        self.dloop.n_found = 0
        if n_rows == 0:
            return 0, float("nan"), failed
        lp = <const Py_ssize_t*>cnp.PyArray_DATA(lab) if self.n_outputs > 1 else NULL
        if self.f32:
            status = _race_drift_lockstep(self, <const float*>cnp.PyArray_DATA(v),
                                          NULL if dense else <const int*>cnp.PyArray_DATA(ind),
                                          NULL if dense else <const int*>cnp.PyArray_DATA(ptr),
                                          <const float*>cnp.PyArray_DATA(y), y.shape[1], lp,
                                          <const float*>cnp.PyArray_DATA(sw), &order[0], n_rows,
                                          failed)
        else:
            status = _race_drift_lockstep(self, <const double*>cnp.PyArray_DATA(v),
                                          NULL if dense else <const int*>cnp.PyArray_DATA(ind),
                                          NULL if dense else <const int*>cnp.PyArray_DATA(ptr),
                                          <const double*>cnp.PyArray_DATA(y), y.shape[1], lp,
                                          <const double*>cnp.PyArray_DATA(sw), &order[0], n_rows,
                                          failed)
        if self.dloop.out_of_memory:
            raise MemoryError("no memory left to record drift detections")
        return status, self.last_lr, failed

    cdef void _begin(self, int k, Problem* P, Pass* ps, SchedProgram* prog, double eta_adaptive,
                     bint track_objective, bint plateau_streaming) noexcept nogil:
        """Set up a pass of problem k: P points at its state (scalars
        loaded, t from its scalar row), ps starts empty with these options."""
        self._problem(P, k)
        _load(&P.s, self.scalars + k * N_SLOTS)
        P.t = self.scalars[k * N_SLOTS + SLOT_T]
        prog[0] = self.prog_proto
        prog.state = self.schedule_state + k * self.schedule_state_n
        ps.prog = prog
        ps.eta_adaptive = eta_adaptive
        ps.track_objective = track_objective
        ps.plateau_streaming = plateau_streaming
        ps.sum_loss = 0.0
        ps.sum_objective = 0.0
        ps.last_eta = NAN
        ps.last_plateau = -1
        ps.margins = NULL
        ps.losses = NULL
        ps.drift = NULL

    cdef void _problem(self, Problem* P, int k) noexcept nogil:
        """Pointers to problem k's state."""
        P.w = self.weights + self.woff[k] * self.isz
        P.aw = self.averages + k * self.averages_d * self.isz if self.averages_d else NULL
        P.q = self.l1_received + k * self.l1_received_d * self.isz if self.l1_received_d else NULL
        P.oint = self.intercepts + k * self.intercepts_n if self.intercepts_n else NULL
        P.stamp = self.last_update + k * self.last_update_d if self.last_update_d else NULL

    # -- the rate race (general path) ------------------------------------------------

    def race_out(self, int k):
        """Copy k leaves the race: its state goes back to the snapshot of the
        call and it is never served or trained again (a snapshot without
        coordinates puts back its scalars only: the caller resets the rest)."""
        if not self.saved:
            raise RuntimeError("race_out() restores from a snapshot")
        if self.f32:
            _restore_problem(self, <float*>NULL, k, self.saved_idx, self.saved_nnz, self.saved_full)
        else:
            _restore_problem(self, <double*>NULL, k, self.saved_idx, self.saved_nnz, self.saved_full)
        self.scalars[k * N_SLOTS + SLOT_RACE_STATUS] = RACE_OUT

    def race_rows_to_narrowing(self, int b):
        """Rows binary problem b may learn before its race next narrows
        (a pass of its copies must stop there: race.pxi)."""
        return _race_rows_to_narrowing(self.scalars, b, &self.race_rule)

    def race_combine(self, int b, targets, const double[:, ::1] margins,
                     const Py_ssize_t[::1] valid, const double[:, ::1] losses=None,
                     sample_weight=None):
        """Serve the rows of a block of binary problem b (see race.pxi):
        ``targets`` in the model's dtype (the loss's encoding), ``margins``
        (copies, rows) as ``run_pass`` recorded them, ``valid[c]`` the rows
        with a value for copy c; ``losses`` (the shape of margins, or None):
        each copy's loss on each row as ``run_race_block`` recorded it;
        ``sample_weight`` (the targets' shape and dtype, or None: 1): the
        rows' weights, which the race weighs the copies' losses by (times
        the class weights)."""
        cdef cnp.ndarray y = targets
        cdef cnp.ndarray sw = None
        cdef const void* wp = NULL
        cdef Config cfg0 = <Config>self.cfgs[b * self.copies] if self.copies >= 2 else None
        cdef Py_ssize_t n = y.shape[0]
        if self.copies < 2 or b < 0 or b >= self.n_outputs:
            raise ValueError("no race, or no such binary problem")
        if margins.shape[1] > _race_rows_to_narrowing(self.scalars, b, &self.race_rule):
            raise ValueError("a block of a race must end where the race narrows")
        if margins.shape[0] != self.copies or valid.shape[0] != self.copies or margins.shape[1] < n:
            raise ValueError("one row of margins and one count per copy")
        if losses is not None and (losses.shape[0] != margins.shape[0]
                                   or losses.shape[1] != margins.shape[1]):
            raise ValueError("one loss per margin")
        if cnp.PyArray_TYPE(y) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64) \
                or not cnp.PyArray_IS_C_CONTIGUOUS(y):
            raise ValueError("targets must be C-contiguous in the model's dtype")
        if sample_weight is not None:
            sw = sample_weight
            if (cnp.PyArray_TYPE(sw) != cnp.PyArray_TYPE(y) or not cnp.PyArray_IS_C_CONTIGUOUS(sw)
                    or sw.shape[0] != n):
                raise ValueError("sample_weight must be C-contiguous, one per target, in the "
                                 "model's dtype")
            wp = cnp.PyArray_DATA(sw)
        if n == 0:
            return
        cdef const double* lp = NULL if losses is None else &losses[0, 0]
        if self.f32:
            _race_combine(self.scalars, b, &self.race_rule, self.loss,
                          <const float*>cnp.PyArray_DATA(y), <const float*>wp, cfg0.weight_pos,
                          cfg0.weight_neg, NULL, n, &margins[0, 0], lp, margins.shape[1],
                          &valid[0])
        else:
            _race_combine(self.scalars, b, &self.race_rule, self.loss,
                          <const double*>cnp.PyArray_DATA(y), <const double*>wp, cfg0.weight_pos,
                          cfg0.weight_neg, NULL, n, &margins[0, 0], lp, margins.shape[1],
                          &valid[0])

    def run_race_block(self, int b, values, indices, indptr, targets, sample_weight,
                       const Py_ssize_t[::1] order, double[::1] t, double[:, ::1] margins,
                       double[:, ::1] losses, Py_ssize_t[::1] valid, bint plateau_streaming=True):
        """A block of rows ``order`` of binary problem b of a race (the
        general path), in one call: each copy c still learning (neither
        asleep nor out) makes a pass over the rows as ``run_pass`` would (at
        update counter ``t[c]``, at its own rate), recording its decision
        value and its loss of each row into ``margins[c]`` and
        ``losses[c]``; ``valid[c]`` receives the rows it learned (0 for the
        others), ``t[c]`` and its scalar t its counter after a whole block.
        Then, if every copy that learned learned every row, the race serves
        the rows (``race_combine``). The block must end where the race
        narrows. Returns -1 then; else the first copy that stopped early
        (a non-finite prediction or step, or a bad row), or the number of
        copies when none learned: nothing is served, the caller takes the
        copies that stopped out of the race and serves (or fails)."""
        cdef cnp.ndarray v = values, ind = indices, ptr = indptr, y = targets
        cdef cnp.ndarray sw = sample_weight
        cdef int typenum = cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64
        cdef bint dense = ptr.shape[0] == 0
        cdef Py_ssize_t n_rows = order.shape[0], status, i
        cdef int R = self.copies, c, kk, failed = -1, learned = 0
        cdef Problem P
        cdef Rows Rw
        cdef Pass ps
        cdef SchedProgram prog
        cdef Config cfg
        cdef double* row
        if R < 2 or b < 0 or b >= self.n_outputs:
            raise ValueError("no race, or no such binary problem")
        for a, name in ((v, "values"), (y, "targets"), (sw, "sample_weight")):
            if cnp.PyArray_TYPE(<cnp.ndarray>a) != typenum or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a):
                raise ValueError(f"{name} must be C-contiguous in the model's dtype")
        if not dense and (cnp.PyArray_TYPE(ind) != cnp.NPY_INT32 or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32):
            raise ValueError("indices and indptr must be int32")
        if (t.shape[0] != R or valid.shape[0] != R or margins.shape[0] != R
                or losses.shape[0] != R or margins.shape[1] != losses.shape[1]
                or margins.shape[1] < n_rows):
            raise ValueError("one t, one count and one row of margins and losses per copy")
        if n_rows > _race_rows_to_narrowing(self.scalars, b, &self.race_rule):
            raise ValueError("a block of a race must end where the race narrows")
        for i in range(n_rows):
            if order[i] < 0 or order[i] >= y.shape[0]:
                raise ValueError("order holds a row out of range")
        if n_rows == 0:
            return -1
        if self.n_features == 0:
            raise ValueError("the weight vector is empty")
        Rw.indices = NULL if dense else <const int*>cnp.PyArray_DATA(ind)
        Rw.indptr = NULL if dense else <const int*>cnp.PyArray_DATA(ptr)
        Rw.n_features = self.n_features
        Rw.order = &order[0]
        Rw.first = 0
        Rw.n_rows = n_rows
        Rw.cross = NULL
        for c in range(R):
            kk = b * R + c
            row = self.scalars + kk * N_SLOTS
            valid[c] = 0
            if row[SLOT_RACE_STATUS] >= RACE_OUT:    # out of the race, or asleep
                continue
            cfg = <Config>(self.cfgs[kk] if dense else self.cfgs_sparse[kk])
            self._begin(kk, &P, &ps, &prog, cfg.eta0, False, plateau_streaming)
            P.t = t[c]
            ps.margins = &margins[c, 0]
            ps.losses = &losses[c, 0]
            with nogil:
                if self.f32:
                    status = _epoch(&P, &Rw, &ps, <const float*>cnp.PyArray_DATA(v),
                                    <const float*>cnp.PyArray_DATA(y),
                                    <const float*>cnp.PyArray_DATA(sw), self.loss, cfg)
                else:
                    status = _epoch(&P, &Rw, &ps, <const double*>cnp.PyArray_DATA(v),
                                    <const double*>cnp.PyArray_DATA(y),
                                    <const double*>cnp.PyArray_DATA(sw), self.loss, cfg)
                _store(&P.s, row)
            if status < 0:
                valid[c] = -status - 1
                if failed < 0:
                    failed = c
                continue
            valid[c] = n_rows
            t[c] = P.t
            row[SLOT_T] = P.t
            learned += 1
        if failed >= 0:
            return failed
        if learned == 0:
            return R
        cfg = <Config>self.cfgs[b * R]
        cdef double w_pos = cfg.weight_pos, w_neg = cfg.weight_neg
        with nogil:
            if self.f32:
                _race_combine(self.scalars, b, &self.race_rule, self.loss,
                              <const float*>cnp.PyArray_DATA(y),
                              <const float*>cnp.PyArray_DATA(sw), w_pos, w_neg, &order[0],
                              n_rows, &margins[0, 0], &losses[0, 0], margins.shape[1], &valid[0])
            else:
                _race_combine(self.scalars, b, &self.race_rule, self.loss,
                              <const double*>cnp.PyArray_DATA(y),
                              <const double*>cnp.PyArray_DATA(sw), w_pos, w_neg, &order[0],
                              n_rows, &margins[0, 0], &losses[0, 0], margins.shape[1], &valid[0])
        return -1

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

    # -- the event path ------------------------------------------------------------

    def learn_one(self, x, y, sample_weight=1.0):
        """Learn from one event. Returns the status: 1 on success; -1 when
        update ``last_t`` made a prediction or step non-finite, -2 when the
        state overflowed (``last_t``: updates made + 1). On failure the model
        is restored as it was before the call; on success its progress (t_,
        n_iter_, lr_, history) is recorded."""
        return self._learn_event(x, y, sample_weight)

    def learn_event(self, x, y, sample_weight=1.0):
        """The estimator's ``learn_one`` in one call: 0 (nothing done: take
        the general path) unless the estimator's bind allowed events
        (``event_path``) and the engine is current, else ``learn_one``."""
        if not self.event_path or not self.is_current():
            return 0
        return self._learn_event(x, y, sample_weight)

    cdef Py_ssize_t _learn_event(self, x, y, sample_weight) except? -3:
        cdef double target = _event_target(self, y)
        cdef double sw
        try:
            sw = float(sample_weight)
        except (TypeError, ValueError):
            raise ValueError(f"sample_weight must be a number; got {sample_weight!r}") from None
        if not isfinite(sw):
            raise ValueError("sample_weight contains NaN or infinity.")
        cdef cnp.ndarray data, ind
        cdef int indptr[2]
        cdef EventHasher h
        if type(x) is dict and self.hasher is not None and not self.f32:
            # hashed straight into the hasher's buffers (a call of another
            # thread cannot overwrite them meanwhile: a pending snapshot stops it)
            if self.saved:
                raise RuntimeError("a snapshot of another call is pending")
            h = <EventHasher>self.hasher
            h.n = 0
            self._weight_hints(h)
            h._event(<dict>x)
            indptr[0] = 0
            indptr[1] = <int>h.n
            return _learn(self, h.val, h.idx, indptr, 1, &target, &sw)
        cdef cnp.ndarray a = _event_dense(self, x)
        if a is not None:
            return _learn(self, cnp.PyArray_DATA(a), NULL, NULL, 1, &target, &sw)
        data, ind = _event_csr(self, x)
        indptr[0] = 0
        indptr[1] = data.shape[0]
        return _learn(self, cnp.PyArray_DATA(data), <const int*>cnp.PyArray_DATA(ind),
                      indptr, 1, &target, &sw)

    cdef void _weight_hints(self, EventHasher h) noexcept:
        """Name the model's per-column arrays to the hasher, which then asks
        for each hashed column's cache lines while it hashes the rest of the
        event (the snapshot and the update read them next): the weights of
        up to 4 problems, then the update stamps, the averages."""
        cdef int kk, n = 0
        for kk in range(min(self.n_problems, 4)):
            h.pf_base[n] = self.weights + self.woff[kk] * 8
            h.pf_stride[n] = self.wcs[kk] * 8
            # (interleaved slots: a column's block may straddle two lines)
            h.pf_last[n] = (self.wn[kk] - 1) * self.ss * 8 + 7
            n += 1
        if self.last_update_d and n < 4:
            h.pf_base[n], h.pf_stride[n], h.pf_last[n] = <const char*>self.last_update, 8, 0
            n += 1
        if self.averages_d and n < 4:
            h.pf_base[n], h.pf_stride[n], h.pf_last[n] = <const char*>self.averages, 8, 0
            n += 1
        h.n_pf = n

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
            return _learn(self, cnp.PyArray_DATA(v), NULL, NULL, n_rows,
                          &targets[0], &sample_weight[0])
        if ptr.shape[0] != n_rows + 1:
            raise ValueError("indptr must hold n_rows + 1 offsets")
        if cnp.PyArray_TYPE(ind) != cnp.NPY_INT32 or cnp.PyArray_TYPE(ptr) != cnp.NPY_INT32:
            raise ValueError("indices and indptr must be int32")
        _check_csr(<const int*>cnp.PyArray_DATA(ind), ind.shape[0],
                   <const int*>cnp.PyArray_DATA(ptr), n_rows, v.shape[0], self.n_features)
        return _learn(self, cnp.PyArray_DATA(v), <const int*>cnp.PyArray_DATA(ind),
                      <const int*>cnp.PyArray_DATA(ptr), n_rows,
                      &targets[0], &sample_weight[0])

    # -- the snapshot's copies ------------------------------------------------------

    # -- prediction ------------------------------------------------------------

    def decision_one(self, x, bint averaged, long long average, double[::1] out):
        """Decision value of every problem for one event, into ``out`` (K),
        with the model's weights as ``coef_`` shows them (``averaged``: the
        average from update ``average`` on)."""
        if out.shape[0] != self.n_outputs:
            raise ValueError("out must hold one value per binary problem")
        _decide_event(self, x, averaged, average, &out[0])

    def predict_one(self, x, bint averaged, long long average):
        """The prediction for one event: the label (classifiers; ``classes``)
        or the value (regression; exp of the decision value for a log-link
        loss), with the weights as ``decision_one``."""
        self._prediction_buffer(self.n_outputs)
        _decide_event(self, x, averaged, average, self.pbuf)
        return self._served_value(self.pbuf)

    cdef object _served_value(self, const double* out):
        """predict_one's answer from the decision values ``out``."""
        cdef int K = self.n_outputs, k, best = 0
        if self.mode == 0:
            # the log link serves the mean exp(margin) (the regressor's predict)
            return exp(out[0]) if self.loss.log_link else out[0]
        if self.mode == 1:
            return self.classes[1 if out[0] > 0 else 0]
        for k in range(1, K):      # the first maximum, as numpy's argmax
            if out[k] > out[best]:
                best = k
        return self.classes[best]

    def predict_proba_one(self, x, bint averaged, long long average, bint logistic):
        """``{label: probability}`` of one event, bitwise as ``predict_proba``
        computes it from the decision values (``logistic``: log loss, else
        modified Huber), with no array made per call; None where that would
        take NumPy's own summation (more than 128 classes)."""
        if self.mode == 0:
            raise ValueError("probabilities need a classifier")
        if self.n_outputs > 128 or self.mode == 3:
            return None     # the softmax: the estimator's own (predict_proba's) formula
        self._prediction_buffer(self.n_outputs)
        _decide_event(self, x, averaged, average, self.pbuf)
        return self._served_proba(self.pbuf, logistic)

    cdef object _served_proba(self, double* out, bint logistic):
        """predict_proba_one's answer from the decision values ``out``
        (overwritten)."""
        cdef int K = self.n_outputs, k
        cdef double total, z
        cdef tuple items
        if self.class_items is None:
            self.class_items = tuple(c.item() if hasattr(c, "item") else c for c in self.classes)
        items = self.class_items
        if K == 1:
            z = out[0]
            z = 1.0 / (1.0 + exp(-z)) if logistic else (fmin(fmax(z, -1.0), 1.0) + 1.0) / 2.0
            return {items[0]: 1.0 - z, items[1]: z}
        for k in range(K):
            z = out[k]
            out[k] = 1.0 / (1.0 + exp(-z)) if logistic else (fmin(fmax(z, -1.0), 1.0) + 1.0) / 2.0
        total = _numpy_sum(out, K)
        if total == 0.0 and not logistic:      # predict_proba's uniform rows
            for k in range(K):
                out[k] = 1.0
            total = <double>K
        return {items[k]: out[k] / total for k in range(K)}

    # -- delayed labels (pending.pxi) ---------------------------------------------

    def predict_kept(self, x, bint averaged, long long average, int what, bint logistic=True):
        """``predict_one`` (``what`` 0) or ``predict_proba_one`` (1) of an
        event, and the event to remember: ``(answer, values, indices or
        None, served)``, the row as the model read it (copies) and its
        decision values (float64, one per output). ``answer`` is None where
        ``predict_proba_one`` returns None."""
        cdef int K = self.n_outputs
        cdef cnp.ndarray served = _np.empty(K, dtype=_np.float64)
        cdef double* out = <double*>cnp.PyArray_DATA(served)
        if what == 1 and self.mode == 0:
            raise ValueError("probabilities need a classifier")
        values, indices = _kept_event(self, x, averaged, average, out)
        if what == 0:
            return self._served_value(out), values, indices, served
        if K > 128 or self.mode == 3:
            return None, values, indices, served
        self._prediction_buffer(K)
        memcpy(self.pbuf, out, K * sizeof(double))
        return self._served_proba(self.pbuf, logistic), values, indices, served

    def learn_kept(self, values, indices, y, sample_weight, const double[::1] served):
        """Learn a remembered event (``predict_kept``) with its label ``y``:
        one update, as ``learn_one`` of the row, with the progressive loss
        (and the drift detector's input) taken at the ``served`` decision
        values. Checks ``y`` and ``sample_weight`` first. Returns the status,
        as ``learn_one``."""
        return _learn_kept(self, values, indices, y, sample_weight, served)

    cdef int _kept_buffer(self, Py_ssize_t n) except -1:
        cdef void* p
        if n > self.kept_cap:
            p = realloc(self.kept, n * sizeof(double))
            if p == NULL:
                raise MemoryError()
            self.kept, self.kept_cap = <double*>p, n
        return 0

    cdef int _prediction_buffer(self, int K) except -1:
        cdef void* p
        if K > self.pbuf_cap:
            p = realloc(self.pbuf, K * sizeof(double))
            if p == NULL:
                raise MemoryError()
            self.pbuf, self.pbuf_cap = <double*>p, K
        return 0

    def decision_rows(self, values, indices, indptr, Py_ssize_t n_rows, bint averaged,
                      long long average, double[:, ::1] out):
        """Decision values of a few validated rows (as ``learn_rows`` takes
        them: the model's dtype) into ``out`` (n_rows, K)."""
        if cnp.PyArray_TYPE(values) != (cnp.NPY_FLOAT32 if self.f32 else cnp.NPY_FLOAT64):
            raise ValueError("values must have the model's dtype")
        _decide_rows_view(&self.view, values, indices, indptr, n_rows, averaged, average, out, True)
