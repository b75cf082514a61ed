"""Where a model's training state lives: ``ModelState``.

Everything a fitted estimator has learned is here, as NumPy arrays and a few
scalars; the estimator itself holds only its parameters, ``classes_`` and the
feature names. The compiled engine (``streamlr._kernels``) updates these
arrays in place; ``ModelState`` lays them out, reads the model out of them
(``materialize``), and converts them to and from a flat dict of named arrays
(``state_dict``), which persistence and Dask's mixing use.
"""
import numpy as np

from .._kernels import kernel as _k

SLOTS = _k.SLOTS

# streamlr.testing.state_layout: None, or the layout every new model takes
FORCED_LAYOUT = [None]
# whether a race of different rules that interleaves gives each copy a block
# of its own rule's width (False: every copy the widest rule's, the layout
# of models saved before; tests compare the two)
MIXED_WIDTHS = [True]
# race.pxi's status of a copy that left the race (it never learns or reacts again)
RACE_OUT = 2

# the state arrays, in the engine's order; see ModelState for what each holds
ARRAYS = ("weight_blocks", "average_weights", "l1_received", "last_update", "scalars",
          "intercept_block", "schedule_state", "drift_state", "drifts", "class_counts")
# what a state saved before an array existed holds in its place
DEFAULTS = {"drift_state": lambda: np.zeros(0), "drifts": lambda: np.zeros(0, dtype=np.int64),
            "class_counts": lambda: np.zeros(0, dtype=np.int64)}


# the optimizer_key of a race of different update rules (optimizer="auto")
MIXED_KEY = ("AutoRace", -1, ())


def _spec_key(spec):
    """What identifies an update rule's state: its class, kernel rule and slots."""
    return (type(spec).__name__, int(spec.kernel), tuple(spec.slots()))


class ProblemRows:
    """The (K, d) weights (``entry`` 0) or slot ``entry - 1`` of a model whose
    problems' blocks differ in width (``ModelState.widths``): no single
    array views them, but each row is a view (``row``). Indexing with an
    integer gives that view; with anything else, a new (n, d) array.
    Assignment writes into the rows. A row whose rule has no such slot
    reads as zeros (what the other layouts hold there) and cannot be
    written."""

    def __init__(self, state, entry, rows=None):
        self._state, self._entry = state, entry
        self._offsets, self._strides, self._widths = state.block_layout()
        self._d = state.n_features
        self._ks = range(len(self._offsets)) if rows is None else rows
        self.dtype = state.weight_blocks.dtype
        self.shape = (len(self._ks), self._d)
        self.ndim = 2
        self.size = self.shape[0] * self._d

    def row(self, i):
        """Row ``i``: a writeable view into ``weight_blocks``."""
        k = self._ks[i]
        off, stride = int(self._offsets[k]), int(self._strides[k])
        if self._entry >= self._widths[k]:
            raise IndexError(f"problem {k}'s rule has no slot {self._entry - 1}")
        start = off + self._entry
        return self._state.weight_blocks[start: start + stride * (self._d - 1) + 1: stride]

    def _read(self, i):
        k = self._ks[i]
        if self._entry >= self._widths[k]:
            return np.zeros(self._d, dtype=self.dtype)
        return self.row(i)

    def __len__(self):
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        out = np.empty(self.shape, dtype=self.dtype)
        for i in range(self.shape[0]):
            out[i] = self._read(i)
        return out if dtype is None else out.astype(dtype)

    def _index(self, key):
        return np.arange(self.shape[0])[key]

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self._read(int(key))
        if isinstance(key, tuple) and key and isinstance(key[0], (int, np.integer)):
            return self._read(int(key[0]))[key[1:]]
        if isinstance(key, tuple):
            return np.asarray(self)[key]
        rows = np.atleast_1d(self._index(key))
        out = np.empty((len(rows), self._d), dtype=self.dtype)
        for n, i in enumerate(rows):
            out[n] = self._read(int(i))
        return out

    def __setitem__(self, key, value):
        if isinstance(key, (int, np.integer)):
            self.row(int(key))[...] = value
            return
        rows = np.atleast_1d(self._index(key))
        value = np.broadcast_to(np.asarray(value, dtype=self.dtype), (len(rows), self._d))
        for n, i in enumerate(rows):
            self.row(int(i))[...] = value[n]

    def copy(self):
        return np.asarray(self)

    def astype(self, dtype, **kwargs):
        return np.asarray(self).astype(dtype, **kwargs)


class ModelState:
    """Training state of K binary problems over d features.

    Attributes
    ----------
    weight_blocks : ndarray
        Each weight with the optimizer's slots (S = 1 + slots; S = 1 for
        plain SGD). Models that first learn from CSR rows interleave them,
        ``(K, d, S')`` with S' the next power of two (one cache line per
        coordinate); a race of different rules that does (``optimizer="auto"``)
        gives each copy blocks of its own rule's width (``widths``: plain SGD
        1, Adam 3, ...), one flat array where problem k's ``(d, widths[c])``
        blocks start at ``block_layout()[0][k]`` (models saved before keep
        ``(K, d, S)``, every copy the widest rule's). The others keep one
        contiguous array per slot, ``(K, S, d)``. For plain SGD the model
        is ``wscale * weights``.
    widths : tuple of int or None
        Per-rule widths: the entries per coordinate of each copy of the race
        (None in the other layouts).
    average_weights : ndarray (K, d) or (K, 0)
        The averaging state (plain SGD: Bottou's raw average; other
        optimizers: each coordinate's running mean up to ``last_update``).
    l1_received : ndarray (K, d) or (K, 0)
        The L1 penalty each weight received (plain SGD's cumulative penalty).
    last_update : int64 ndarray (K, d) or (K, 0)
        The last update that touched each coordinate (lazy sparse rules).
    scalars : float64 ndarray (K, n_slots)
        Per-problem scalars, named by ``SLOTS`` (``wscale``, ``intercept``,
        ``t``, ``loss_sum``, ...).
    intercept_block : float64 ndarray (K, S)
        The intercept and its optimizer slots.
    schedule_state : float64 ndarray (K, m)
        The learning-rate schedule's state (ReduceOnPlateau), m = 0 without.
    drift_state : float64 ndarray (m,)
        The drift detector's state (``streamlr._kernels.drift``), empty
        without a detector.
    drifts : int64 ndarray
        ``t_ - 1`` at each detection (``drifts_``).
    class_counts : int64 ndarray
        Classifiers: the samples of each class ``partial_fit`` and
        ``learn_one`` learned (``class_counts_``); empty for regressors.
    progress : Progress
        ``t_``, ``n_iter_``, ``lr_`` and the history of ``lr_history_``.
    engine : Engine or None
        The compiled engine bound to these arrays (rebuilt when stale; never
        pickled).
    """

    def __init__(self, n_problems, n_features, dtype, *, average, l1, optimizer, coef=None,
                 intercept=None, interleaved=False, members=None, default_copy=0):
        # a race (members: (spec, rate) of each copy) holds its copies of
        # each binary problem side by side: copy c of problem b is row b * R + c
        specs = [optimizer] if members is None else [spec for spec, _ in members]
        copies = 1 if members is None else len(specs)
        k, d = n_problems * copies, n_features
        if coef is not None and copies > 1:
            coef = np.repeat(np.asarray(coef).reshape(n_problems, d), copies, axis=0)
        if intercept is not None and copies > 1:
            intercept = np.repeat(np.asarray(intercept, dtype=np.float64).reshape(-1), copies)
        keys = [_spec_key(spec) for spec in specs]
        mixed = len(set(keys)) > 1
        self.optimizer_key = MIXED_KEY if mixed else keys[0]
        self.copies = copies
        self.race_rates = None if members is None else tuple(
            float("nan") if rate is None else float(rate) for _, rate in members)
        self.race_optimizers = None if members is None else tuple(key[0] for key in keys)
        self.race_kernels = None if members is None else tuple(int(key[1]) for key in keys)
        plain = self.plain
        if mixed and any(spec.decays() for spec in specs):
            raise ValueError("a race of different update rules cannot hold rules whose "
                             "slots decay on sparse rows")
        self.decays = {} if mixed else specs[0].decays()
        rules = [tuple(spec.scalar_state()) for spec in specs]
        for spec, rule in zip(specs, rules, strict=True):
            if len(rule) > _k.NUM_RULE_SCALARS:
                raise ValueError(f"{type(spec).__name__} keeps more than "
                                 f"{_k.NUM_RULE_SCALARS} scalars per problem")
        self.rule_scalars = () if mixed else tuple(name for name, _ in rules[0])
        inits = [np.asarray((0.0,) + tuple(spec.initial_values()), dtype=np.float64)
                 for spec in specs]
        width = max(len(init) for init in inits)
        if FORCED_LAYOUT[0] is not None:
            interleaved = FORCED_LAYOUT[0]
        # (a race of different rules interleaves too: its plain SGD copies read
        # their weight at w[j * S], plain_sgd.pxi; models saved before that
        # keep the layout they were saved with)
        self.interleaved = bool(interleaved) and width > 1
        # per-rule widths: copy c's blocks are len(inits[c]) wide (plain SGD 1)
        self.widths = self.width_shape = None
        if self.interleaved and mixed and MIXED_WIDTHS[0]:
            self.widths = tuple(len(init) for init in inits)
            self.width_shape = (k, d)
            self.weight_blocks = np.zeros(n_problems * sum(self.widths) * d, dtype=dtype)
        elif self.interleaved:
            # blocks padded to a power of two never straddle two cache lines;
            # not a mixed race's: most of its copies use few of the widest
            # rule's slots (plain SGD one of six), and the padding would only
            # add memory for a first pass to fault in (bench/README.md)
            size = width if mixed else 1 << (width - 1).bit_length()
            self.weight_blocks = np.zeros((k, d, size), dtype=dtype)
        else:
            self.weight_blocks = np.zeros((k, width, d), dtype=dtype)
        # slots that start at the starting weights (Prodigy's p0, schedule-free's z)
        self._inits = inits
        self._start_slots = [[spec.slots().index(name) for name in spec.starts_at_weights]
                             for spec in specs]
        # what reset_problem puts back during the call that made the model
        # (the driver drops it at the call's end; never pickled)
        self.starting_coef = None if coef is None else np.asarray(coef, dtype=dtype).reshape(k, d)
        # a race's snapshots reuse one buffer from call to call (driver.train)
        self.snapshot_buffer = None
        for c in range(copies):
            self._start_coordinates(slice(c, None, copies), c)
        self.average_weights = np.zeros((k, d if average else 0), dtype=dtype)
        self.l1_received = np.zeros((k, d if l1 and plain else 0), dtype=dtype)
        self.scalars = np.zeros((k, _k.NUM_SLOTS), dtype=np.float64)
        self.scalars[:, SLOTS["wscale"]] = 1.0
        self.scalars[:, SLOTS["average_b"]] = 1.0
        self.scalars[:, SLOTS["mu_product"]] = 1.0
        for c, rule in enumerate(rules):
            for i, (_, value) in enumerate(rule):
                self.scalars[c::copies, SLOTS["rule"] + i] = value
        # the kernel's own t: scikit-learn's t_ except where its kernel does
        # not tick (a zero row under pa1); kept so chunking stays invisible
        self.scalars[:, SLOTS["t"]] = 1.0
        if intercept is not None:
            self.scalars[:, SLOTS["intercept"]] = intercept
        if copies > 1:
            # the race's default copy serves until there is evidence
            self.scalars[:, SLOTS["race_default"]] = default_copy
            self.scalars[:, SLOTS["race_share"]] = np.tile(
                np.arange(copies) == default_copy, n_problems)
        self.intercept_block = np.zeros((k, width), dtype=np.float64)
        for c, init in enumerate(inits):
            self.intercept_block[c::copies, : len(init)] = init
        for c, slots in enumerate(self._start_slots):
            for i in slots:
                self.intercept_block[c::copies, 1 + i] = self.scalars[c::copies, SLOTS["intercept"]]
        self.schedule_key = None
        self.schedule_state = np.zeros((k, 0))
        needs_stamp = any(key[1] != _k.OPTIMIZERS["sgd"] and (spec.needs_stamp() or average)
                          for spec, key in zip(specs, keys, strict=True))
        self.last_update = np.zeros((k, d if needs_stamp else 0), dtype=np.int64)
        self.average = int(average)
        self.drift_state = DEFAULTS["drift_state"]()
        self.drifts = DEFAULTS["drifts"]()
        self.class_counts = DEFAULTS["class_counts"]()
        self.progress = _k.Progress()
        self.engine = None

    # -- pickling and copies: never the engine ----------------------------------

    def __setstate__(self, state):
        state.setdefault("widths", None)   # pickled before per-rule widths
        state.setdefault("width_shape", None)
        self.__dict__.update(state)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["engine"] = None
        state["starting_coef"] = None
        state["snapshot_buffer"] = None
        return state

    def _start_coordinates(self, rows, c):
        """Write the starting weights and slots of ``rows``, all copies of
        member ``c`` (np.zeros already holds the zeros: only the rest is
        written, so that a new model touches no more memory than it must)."""
        init = self._inits[c].astype(self.weight_blocks.dtype)
        for s in np.flatnonzero(init):
            if self.widths is not None:
                self._rows(rows, s)[...] = init[s]
            elif self.interleaved:
                self.weight_blocks[rows, :, s] = init[s]
            else:
                self.weight_blocks[rows, s, :] = init[s]
        if self.starting_coef is not None:
            self.w[rows] = self.starting_coef[rows]
        for i in self._start_slots[c]:
            self.slot(i)[rows] = self.w[rows]

    def reset_problem(self, k):
        """Put problem k's coordinates back as the model was made (a race's
        copy that diverges in the call that made the model, whose snapshot
        keeps no coordinates). Its scalars and intercepts come back from
        that snapshot."""
        if self.widths is not None:
            off, width = self.block_layout()[0][k], self.widths[k % self.copies]
            self.weight_blocks[off: off + width * self.n_features] = 0
        else:
            self.weight_blocks[k] = 0
        self._start_coordinates(slice(k, k + 1), k % self.copies)
        for a in (self.average_weights, self.l1_received, self.last_update):
            a[k] = 0

    # -- layout ---------------------------------------------------------------------

    @property
    def w(self):
        """Weights (K, d): a view (per-rule widths: ``ProblemRows``, whose
        rows are views)."""
        b = self.weight_blocks
        if self.widths is not None:
            return ProblemRows(self, 0)
        return b[..., 0] if self.interleaved else b[:, 0, :]

    def slot(self, i):
        """Optimizer slot i (K, d): a view (per-rule widths: ``ProblemRows``)."""
        b = self.weight_blocks
        if self.widths is not None:
            return ProblemRows(self, 1 + i)
        return b[..., 1 + i] if self.interleaved else b[:, 1 + i, :]

    def _rows(self, rows, entry):
        """Entry ``entry`` (0: the weight, 1 + i: slot i) of the problems
        ``rows`` (a slice), per-rule widths: a writeable ``ProblemRows``."""
        return ProblemRows(self, entry, range(self.n_problems)[rows])

    @property
    def n_features(self):
        """d, whatever the layout."""
        if self.widths is not None:
            return self.width_shape[1]
        b = self.weight_blocks
        return b.shape[1] if self.interleaved else b.shape[2]

    def block_layout(self):
        """(offset, coordinate stride, entries) of each problem's block in
        ``weight_blocks`` (elements; intp arrays of K): where the engine and
        predictions find problem k's coordinate j (at offset + j * stride)
        and its slot s (at + (1 + s) * the slot stride: 1 when interleaved,
        d for slot arrays)."""
        if self.widths is not None:
            k, d = self.width_shape
            width = np.tile(np.asarray(self.widths, dtype=np.intp), k // self.copies if k else 0)
            off = np.concatenate([[0], np.cumsum(width[:-1]) * d]).astype(np.intp)[:k]
            return off, width.copy(), width
        b = self.weight_blocks
        k = b.shape[0]
        per = b.shape[1] * b.shape[2]
        entries = b.shape[2] if self.interleaved else b.shape[1]
        stride = entries if self.interleaved else 1
        return (np.arange(k, dtype=np.intp) * per, np.full(k, stride, dtype=np.intp),
                np.full(k, entries, dtype=np.intp))

    def copy_stride(self, c):
        """Copy ``c``'s (coordinate stride S, slot stride T) (optimizers.pxd)."""
        if self.widths is not None:
            return self.widths[c], 1
        if self.interleaved:
            return self.weight_blocks.shape[2], 1
        return 1, self.n_features

    @property
    def plain(self):
        """Whether plain SGD learns (some copy of) the model: its weight scale,
        cumulative L1 penalty and averaging state are then in use."""
        if getattr(self, "race_kernels", None) is not None:
            return _k.OPTIMIZERS["sgd"] in self.race_kernels
        return self.optimizer_key[1] == _k.OPTIMIZERS["sgd"]

    @property
    def plain_copies(self):
        """Per copy (one entry without a race): whether plain SGD learns it,
        so that its average is Bottou's (else the lazy running mean)."""
        kernels = getattr(self, "race_kernels", None)
        if kernels is None:
            return (self.plain,)
        return tuple(kernel == _k.OPTIMIZERS["sgd"] for kernel in kernels)

    def problem_plain(self, k):
        """Whether plain SGD learns binary problem ``k`` (a race: its copy)."""
        plain = self.plain_copies
        return plain[k % len(plain)]

    @property
    def mixed(self):
        """Whether the copies of a race learn by different update rules."""
        return self.optimizer_key == MIXED_KEY

    @property
    def n_problems(self):
        if self.widths is not None:
            return self.width_shape[0]
        return self.w.shape[0]

    def last_step(self, k):
        # the optimizer's clock (stamps count it): restarted by a drift
        return self.scalars[k, SLOTS["t"]] - self.scalars[k, SLOTS["clock0"]] - 1.0

    def prepare(self, optimizer, average, l1, t, members=None):
        """Before training on existing state: check the optimizer (and the
        race's copies, ``members``: None without a race), copy
        arrays that are read-only or not C-contiguous (a model loaded from a
        memory map), and grow the optional arrays when set_params switched
        averaging or L1 on between calls. Drops the engine if any array
        changed."""
        if self.optimizer_key != _spec_key(optimizer):
            raise ValueError(
                f"optimizer={optimizer!r} differs from the optimizer this model was "
                f"trained with ({self.optimizer_key[0]}); call fit to start a new model")
        if not self.race_matches(members):
            raise ValueError(
                "learning_rate='auto' races the rates this model was trained with "
                f"({self.race_rates}); changing the race or leaving it needs a new "
                "model: call fit")
        changed = False
        for name in ARRAYS:
            a = getattr(self, name)
            if not a.flags.writeable or not a.flags.c_contiguous:
                setattr(self, name, np.array(a, order="C"))
                changed = True
        k, d = self.w.shape
        if average and self.average_weights.shape[1] == 0:
            if not all(self.plain_copies) and self.w.size and t > 1:
                raise ValueError("averaging cannot be switched on mid-stream with this "
                                 "optimizer; call fit to start a new model")
            self.average_weights = np.zeros((k, d), dtype=self.w.dtype)
            if not all(self.plain_copies) and self.last_update.shape[1] == 0:
                self.last_update = np.zeros((k, d), dtype=np.int64)
            changed = True
        if l1 and self.l1_received.shape[1] == 0 and self.plain:
            self.l1_received = np.zeros((k, d), dtype=self.w.dtype)
            changed = True
        if changed:
            self.engine = None

    def use_schedule(self, key, initial_state):
        """Make ``key`` (a compiled schedule's identity) the model's schedule:
        a new or changed schedule starts with fresh state (plateau counters)."""
        if self.schedule_key != key:
            self.schedule_key = key
            self.schedule_state = np.tile(initial_state, (self.n_problems, 1))
            self.engine = None

    # -- the model as predictions see it ------------------------------------------------

    def model(self, k, averaged, average=0):
        """(coef, intercept) of problem k alone."""
        w = np.ascontiguousarray(self.w[k])
        coef = np.empty_like(w)
        avg = np.empty_like(w) if averaged else w[:0].copy()
        plain = self.problem_plain(k)
        _k.materialize(w, self.average_weights[k], self.scalars[k], coef,
                       avg if plain else avg[:0])
        if averaged and not plain:
            _k.materialize_lazy_average(w, self.average_weights[k], self.last_update[k],
                                        self.last_step(k), int(average), avg)
        if averaged:
            return avg, self.scalars[k, SLOTS["average_intercept"]]
        return coef, self.scalars[k, SLOTS["intercept"]]

    def averaged(self):
        """Whether predictions use the averaged weights (averaging has started:
        ``average`` updates made since the start, or since a drift restarted
        the optimizer's clock)."""
        if not self.average:
            return False
        row = 0
        if self.copies > 1:
            # a race: a copy still in it (one that left does not restart on drift)
            status = self.scalars[: self.copies, SLOTS["race_status"]]
            row = int(np.argmax(status != RACE_OUT)) if (status != RACE_OUT).any() else 0
        clock0 = self.scalars[row, SLOTS["clock0"]] if self.scalars.shape[0] else 0.0
        return self.average <= self.progress.t - 1 - clock0

    def materialize(self, averaged=None):
        """(coef, intercept) of all binary problems as the model predicts
        with them (a race: its copies weighted by their shares)."""
        if averaged is None:
            averaged = self.averaged()
        parts = [self.model(k, averaged, self.average) for k in range(self.n_problems)]
        coef = np.array([c for c, _ in parts], dtype=self.w.dtype).reshape(self.w.shape)
        intercept = np.array([b for _, b in parts])
        if self.copies > 1:
            share = self.race_shares()
            coef = np.einsum("bc,bcd->bd", share, coef.reshape(share.shape + coef.shape[1:]),
                             dtype=np.float64).astype(self.w.dtype)
            intercept = (share * intercept.reshape(share.shape)).sum(axis=1)
        return coef, intercept.astype(self.w.dtype)

    @property
    def n_outputs(self):
        """The binary problems (a race has ``copies`` problems for each)."""
        return self.n_problems // self.copies

    def race_shares(self):
        """(binary problems, copies): each copy's share of what is served."""
        return self.scalars[:, SLOTS["race_share"]].reshape(self.n_outputs, self.copies)

    def race_matches(self, members):
        """Whether the model races exactly ``members`` ((spec, rate) of each
        copy; None: no race)."""
        if members is None:
            return self.copies == 1
        rates = [float("nan") if rate is None else float(rate) for _, rate in members]
        return (self.race_rates is not None
                and np.array_equal(self.race_rates, rates, equal_nan=True)
                and self.race_optimizers == tuple(_spec_key(s)[0] for s, _ in members)
                and self.race_kernels == tuple(int(_spec_key(s)[1]) for s, _ in members))

    def set_coef(self, value):
        value = np.asarray(value, dtype=self.w.dtype).reshape(self.w.shape)
        self.w[...] = value
        self.scalars[:, SLOTS["wscale"]] = 1.0
        if self.average_weights.shape[1]:
            self.average_weights[...] = value
            self.scalars[:, SLOTS["average_a"]] = 0.0
            self.scalars[:, SLOTS["average_b"]] = 1.0

    def set_intercept(self, value):
        value = np.asarray(value, dtype=np.float64).reshape(-1)
        self.scalars[:, SLOTS["intercept"]] = value
        self.scalars[:, SLOTS["average_intercept"]] = value

    def optimizer_state(self):
        if self.mixed:
            return {}   # copies of different rules: rate_race_ describes them
        return self._optimizer_state()

    def _optimizer_state(self):
        """{name: (K, d) array} of each slot as the dense rule would hold it
        now, {name_intercept: (K,)} and NAdam's ``mu_product``."""
        names = self.optimizer_key[2]
        out = {}
        for i, name in enumerate(names):
            arr = self.slot(i).copy()
            if name in self.decays and self.last_update.shape[1]:
                clock = self.scalars[:, [SLOTS["t"]]] - self.scalars[:, [SLOTS["clock0"]]]
                gap = (clock - 1.0) - self.last_update
                arr = (arr * np.power(self.decays[name], gap)).astype(arr.dtype)
            out[name] = arr
            out[name + "_intercept"] = self.intercept_block[:, 1 + i].astype(self.w.dtype)
        if self.optimizer_key[1] == _k.OPTIMIZERS["nadam"]:
            out["mu_product"] = self.scalars[:, SLOTS["mu_product"]].astype(self.w.dtype)
        for i, name in enumerate(self.rule_scalars):
            out[name] = self.scalars[:, SLOTS["rule"] + i].copy()
        return out

    def progressive_totals(self):
        """(summed progressive loss, samples counted) over all problems (a
        race: of what it served)."""
        if self.copies > 1:
            first = self.scalars[:: self.copies]
            return first[:, SLOTS["served_loss"]].sum(), first[:, SLOTS["served_n"]].sum()
        return (self.scalars[:, SLOTS["loss_sum"]].sum(), self.scalars[:, SLOTS["n_seen"]].sum())

    # -- a flat, named view (persistence, mixing, tests) ------------------------------

    def state_dict(self):
        """Copies of every piece of state: the arrays by name (``ARRAYS``,
        ``history``), and the scalars that describe them."""
        out = {name: getattr(self, name).copy() for name in ARRAYS}
        progress = self.progress
        out["history"] = progress.rows()
        out["meta"] = {
            "optimizer_key": (self.optimizer_key[0], int(self.optimizer_key[1]),
                              tuple(self.optimizer_key[2])),
            "decays": dict(self.decays),
            "rule_scalars": tuple(self.rule_scalars),
            "race_rates": None if self.race_rates is None else tuple(self.race_rates),
            "race_optimizers": self.race_optimizers,
            "race_kernels": self.race_kernels,
            "interleaved": bool(self.interleaved),
            "block_widths": None if self.widths is None else list(self.widths),
            "average": int(self.average),
            "schedule_key": self.schedule_key,
            "t": float(progress.t),
            "n_iter": None if progress.n_iter is None else int(progress.n_iter),
            "lr": float(progress.lr),
            "history_calls": int(progress.calls),
            "history_stride": int(progress.stride),
        }
        return out

    @classmethod
    def from_state_dict(cls, state):
        """The ModelState that ``state_dict`` describes (arrays copied)."""
        self = cls.__new__(cls)
        meta = state["meta"]
        for name in ARRAYS:
            if name in state:
                setattr(self, name, np.array(state[name], order="C"))
            else:
                setattr(self, name, DEFAULTS[name]())
        key = meta["optimizer_key"]
        self.optimizer_key = (key[0], int(key[1]), tuple(key[2]))
        self.decays = {k: float(v) for k, v in meta["decays"].items()}
        self.rule_scalars = tuple(meta.get("rule_scalars", ()))
        rates = meta.get("race_rates")
        self.race_rates = None if rates is None else tuple(float(r) for r in rates)
        self.copies = 1 if rates is None else len(rates)
        names, kernels = meta.get("race_optimizers"), meta.get("race_kernels")
        self.race_optimizers = None if names is None else tuple(names)
        self.race_kernels = None if kernels is None else tuple(int(k) for k in kernels)
        if self.scalars.shape[1] < _k.NUM_SLOTS:
            # saved before the rules' own scalars existed (none then used them)
            pad = np.zeros((self.scalars.shape[0], _k.NUM_SLOTS - self.scalars.shape[1]))
            self.scalars = np.ascontiguousarray(np.hstack([self.scalars, pad]))
        self.interleaved = bool(meta["interleaved"])
        widths = meta.get("block_widths")
        self.widths = None if widths is None else tuple(int(w) for w in widths)
        if self.widths is not None:
            k = self.scalars.shape[0]
            per = (k // self.copies) * sum(self.widths)
            d = self.weight_blocks.shape[0] // per if per else 0
            if self.weight_blocks.ndim != 1 or per * d != self.weight_blocks.shape[0]:
                raise ValueError("the weight blocks do not match their widths")
            self.width_shape = (k, d)
        self.average = int(meta["average"])
        self.schedule_key = meta["schedule_key"]
        self.progress = _k.Progress(float(meta["t"]), meta["n_iter"], float(meta["lr"]),
                                    np.asarray(state["history"], dtype=np.float64).reshape(-1, 3),
                                    int(meta["history_calls"]), int(meta["history_stride"]))
        self.engine = None
        self.starting_coef = self.snapshot_buffer = None
        return self
