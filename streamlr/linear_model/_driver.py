"""The training driver: the one way from a public call to the compiled loop.

Every call that learns reaches ``streamlr._kernels``' ``Engine`` through
this module:

* ``bind`` validates the parameters once and builds the engine that events
  and small calls reuse while the parameters stay the same
  (``current_engine``);
* ``learn_event`` / ``learn_rows`` (learn_one, partial_fit of a few rows) run
  one compiled call that snapshots, learns, checks and, on failure, restores;
* ``train`` (fit, partial_fit) runs the same engine pass by pass, in blocks
  of ``BLOCKS.rows`` rows, one binary problem per thread with ``n_jobs``,
  with the stopping rules between epochs; its snapshot belongs to the
  call's ``Transaction``, which undoes everything on any exception.
"""
import contextlib
import numbers

import numpy as np

from .. import _registry
from .._kernels import kernel as _k
from ..exceptions import DivergenceError
from . import _params
from ._input import (
    as_kernel_input,
    check_sample_weight,
    is_sparse,
    raise_if_row_invalid,
    touched_columns,
)
from ._stopping import GradientNorm, NoImprovement, gradient_norm, softmax_gradient_norm

MAX_INT = np.iinfo(np.int32).max


class PassBlocks:
    """How ``train`` cuts a pass: into blocks of ``rows`` rows, between which
    Python handles signals (Ctrl-C) and calls ``between(k, first_row)`` if
    set. Any block size gives bitwise the same model. Change it with
    :func:`streamlr.testing.pass_blocks`."""

    def __init__(self):
        self.rows = 1 << 16
        self.between = None


BLOCKS = PassBlocks()


@contextlib.contextmanager
def pass_blocks(rows, between=None):
    """Within the block, passes run in blocks of ``rows`` rows and call
    ``between(k, first_row)`` before each block after the first (a test can
    raise KeyboardInterrupt there, as Ctrl-C would)."""
    old = (BLOCKS.rows, BLOCKS.between)
    BLOCKS.rows, BLOCKS.between = int(rows), between
    try:
        yield BLOCKS
    finally:
        BLOCKS.rows, BLOCKS.between = old


# -- the rate race ------------------------------------------------------------------

# The serving rule of learning_rate="auto" (streamlr/_kernels/race.pxi),
# chosen from measurements (bench/bench_no_rate.py): the discount of the
# copies' losses, the learning rate of their shares per unit of the leader's
# mean loss, the guards (a copy whose loss on a row exceeds RACE_WILD times
# the largest loss of predicting 0, or, for classifiers and log-link
# regressors, whose |decision value| exceeds RACE_BOUND, is never served
# again; the default copy serves the first RACE_FIRST_ROWS rows alone).
# Under a log link the decision value is the log of the mean served: beyond
# 30 (a mean beyond e^30, where the loss follows its tangent) a copy is
# wild, and one such copy, even with a small share, would pull the served
# margin far enough to cost more than everything else on the stream
# (measured: bench/bench_glm_stream.py's streams, at scales 0.05 to 1000).
RACE_DISCOUNT = 0.995
RACE_ETA = 0.1
RACE_WILD = 100.0
RACE_BOUND = 30.0
RACE_FIRST_ROWS = 3
# Its cost: after RACE_WARMUP rows, every RACE_PERIOD rows, only the
# RACE_AWAKE copies with the lowest discounted loss keep learning. Two, not
# three: a copy costs about one model (Adam's is bound by its sqrt and
# division per coordinate), so three awake copies cannot cost under 3x one
# model; with two, bench/bench_no_rate.py's worst streams are unchanged, the
# median ratios move by about +1% (drifting streams up to +6%), and
# bench/bench_race_cost.py's steady passes cost 2.1-2.8x one model (0.9x for
# optimizer="auto" on dense rows, whose two best copies are cheaper rules).
RACE_WARMUP = 1024
RACE_PERIOD = 1024
RACE_AWAKE = 2


def race_rule(est):
    """The engine's ``race`` argument for ``est``'s model (None without a race)."""
    model = est._model
    if model.copies == 1:
        return None
    bounded = est._is_classifier or _registry.loss(est.loss).link == "log"
    return (model.copies, RACE_DISCOUNT, RACE_ETA, RACE_WILD,
            RACE_BOUND if bounded else np.inf, RACE_FIRST_ROWS, RACE_WARMUP,
            RACE_PERIOD, RACE_AWAKE)


# -- one transaction per call -----------------------------------------------------


class Transaction:
    """Makes a call atomic: an exception (bad input, divergence, Ctrl-C)
    leaves the estimator as it was. Attributes come back from a shallow
    copy of the estimator's and of its model's ``__dict__`` (and the
    model's progress, O(1)); arrays changed in place come back from the
    engines' snapshots (``snapshot``: only the columns the call can touch)."""

    def __init__(self, est):
        self.est = est
        self.saved = dict(est.__dict__)
        self.model = est.__dict__.get("_model")
        if self.model is not None:
            self.model_saved = dict(self.model.__dict__)
            self.progress_saved = self.model.progress.snapshot()
        self.engines = []
        self.cross = None

    def crossing(self, rows):
        """The call learns ``rows`` (CrossedRows, or None): X holds their
        own features, and the loop crosses each row as it uses it."""
        self.cross = rows
        return self

    def made_model(self):
        """Whether the estimator's model was made by this call (a failure
        then drops it whole, so its snapshot needs no coordinates)."""
        return self.est.__dict__.get("_model") is not self.model

    def snapshot(self, engine, cols, coordinates=True):
        engine.save_state(cols, coordinates)
        self.engines.append(engine)

    def run(self, fn):
        try:
            return fn(self)
        except BaseException:
            for engine in reversed(self.engines):
                engine.restore_state()
            if self.model is not None:
                self.model.__dict__.update(self.model_saved)
                self.model.progress.restore(self.progress_saved)
            d = self.est.__dict__
            # the old attributes back without ever emptying __dict__ (a
            # concurrent reader then sees the old or the new object, no gap)
            d.update(self.saved)
            for key in [k for k in d if k not in self.saved]:
                d.pop(key, None)
            raise
        finally:
            for engine in self.engines:
                engine.drop_state()


# -- the bound engine of events and small calls ------------------------------------


def bind(est):
    """Validate ``est``'s parameters and bind its model to a new engine,
    which events and small calls reuse until a parameter changes."""
    model = est.__dict__["_model"]
    # predictions use the engine too: early_stopping (a fit-only setting) is
    # refused by the learning calls themselves (_no_early_stopping)
    optimizer = _params.validate_params(est, for_partial_fit=False)
    bits = getattr(est, "hash_bits", None)
    if bits is not None and 1 << bits != model.w.shape[1]:
        # dict events would be hashed past the model's columns
        raise ValueError(f"hash_bits={bits} makes {1 << bits} columns, but the model has "
                         f"{model.w.shape[1]}; call fit to start a new model")
    model.prepare(optimizer, est.average, est.penalty in ("l1", "elasticnet"), model.progress.t,
                  _params.race_members(est, optimizer))
    loss = _params.make_loss(est)
    program = _params.schedule_program(est, optimizer, loss, model)
    weights = est._event_problem_weights()
    cfgs = _params.make_configs(est, optimizer, loss, False, model, weights)
    cfgs_sparse = _params.make_configs(est, optimizer, loss, True, model, weights)
    mode, neg, labels, classes = est._target_encoding()
    names = getattr(est, "feature_names_in_", None)
    drift = _params.drift_config(est, optimizer, loss, model)
    counts = None
    if est._is_classifier:
        counts = est._class_counts_state()
    engine = _k.Engine(
        model, cfgs, cfgs_sparse, loss, mode, neg, int(est.average), program, labels,
        None if names is None else {n: j for j, n in enumerate(names)}, classes,
        watched=_params.watched_dicts(est), verbose=bool(est.verbose), race=race_rule(est),
        drift=drift, class_counts=counts,
        balanced=est._is_classifier and _params.streaming_balanced(est))
    if getattr(est, "hash_bits", None) is not None:
        from .._kernels._hashing import EventHasher

        # dict events hashed (and crossed) in compiled code
        engine.hasher = EventHasher(est.hash_bits, _params.check_interactions(est))
    # the estimators' learn_one may go straight to engine.learn_event while
    # the engine is current: only with what their general path would then do
    # (learn_event below; not with early_stopping, which it refuses, nor
    # new_classes="add", which has its own path)
    # (and not while set_params changed ``average`` since the model last
    # learned: the first call that learns serves the new setting, see
    # served_average; a prediction that bound this engine serves the old one)
    engine.event_path = (not est.early_stopping and getattr(est, "new_classes", None) != "add"
                         and model.average == engine.average)
    model.engine = engine
    return engine


def served_average(est, engine):
    """After a call of ``engine`` learned: predictions serve its ``average``
    from now on (set_params may have changed it since the model last
    learned), as the general path's ``train`` records it."""
    model = est.__dict__["_model"]
    if model.average != engine.average:
        model.average = int(engine.average)
        engine.event_path = (not est.early_stopping
                             and getattr(est, "new_classes", None) != "add")


def current_engine(est):
    """The model's engine, rebuilt (and the parameters validated) when a
    parameter changed since it was built."""
    engine = est.__dict__["_model"].engine
    if engine is None or not engine.is_current():
        engine = bind(est)
    return engine


def raise_diverged(est, engine, what):
    """The DivergenceError of a failed engine call (which changed nothing)."""
    rate = engine.last_lr if engine.last_lr == engine.last_lr else est._model.progress.lr
    if engine.last_status == -1:
        raise DivergenceError.at(
            engine.last_t, rate, f"the prediction or the step became non-finite on {what}")
    raise DivergenceError.at(engine.last_t - 1, rate, "the weights or the optimizer state overflowed")


def _no_early_stopping(est):
    if est.early_stopping:
        raise ValueError("early_stopping should be False with partial_fit")


def learn_event(est, x, y, sample_weight):
    """One event through the bound engine (learn_one)."""
    _no_early_stopping(est)
    engine = current_engine(est)
    if engine.learn_one(x, y, sample_weight) < 0:
        raise_diverged(est, engine, "this event")
    served_average(est, engine)


def learn_rows(est, X, targets, sample_weight):
    """A few rows (a plain ndarray or CSR matrix) through the bound engine.
    ``targets``: float64 label indices or values."""
    _no_early_stopping(est)
    engine = current_engine(est)
    n, d = X.shape
    if d != engine.n_features:
        raise ValueError(f"X has {d} features, but {type(est).__name__} is expecting "
                         f"{engine.n_features} features as input.")
    sample_weight = check_sample_weight(sample_weight, n, np.float64,
                                        allow_all_zero=est.early_stopping)
    _params.check_targets(engine.loss, targets)
    values, indices, indptr = as_kernel_input(X, est._model.w.dtype)
    if engine.learn_rows(values, indices, indptr, n, targets, sample_weight) < 0:
        raise_diverged(est, engine, "a sample of this call")
    served_average(est, engine)


# -- the general path ----------------------------------------------------------------


def random_state(seed):
    """The generator ``random_state`` stands for, as scikit-learn reads it
    (None: NumPy's global one; an int: a new generator seeded with it; a
    ``RandomState``: itself), without importing scikit-learn."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def seeds(est, n):
    """One seed per problem for shuffling, drawn from ``random_state``.
    Without ``shuffle`` they are unused: a seed given as an int then draws
    nothing (a new generator's draws change no state; NumPy's global one,
    with ``random_state=None``, is still drawn from as before)."""
    if not est.shuffle and isinstance(est.random_state, numbers.Integral):
        return np.zeros(n, dtype=np.int64)
    return random_state(est.random_state).randint(MAX_INT, size=n)


def map_problems(est, fn, n_problems):
    """``[fn(k) for k in range(n_problems)]``, in up to ``n_jobs`` threads
    (scikit-learn's meaning of n_jobs; the loop runs without the GIL). An
    exception of any problem is raised after all have stopped, the first in
    problem order."""
    n_jobs = getattr(est, "n_jobs", None)
    workers = 1
    if n_jobs is not None:
        from joblib import effective_n_jobs

        workers = min(effective_n_jobs(n_jobs), n_problems)
    if workers <= 1:
        return [fn(k) for k in range(n_problems)]
    from concurrent.futures import ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(fn, k) for k in range(n_problems)]
        wait(futures)
    return [f.result() for f in futures]


def run_pass(engine, k, data, target, sample_weight, order, t, eta, track, streaming,
             found=None):
    """One pass of problem k over ``order``, in blocks of ``BLOCKS.rows``
    rows: as the loop carries all its state and running sums across calls,
    the blocks give bitwise the result of one call. Returns (status, t,
    sum_loss, sum_objective, last_eta, last_plateau). ``found``: a list, to
    feed the model's drift detector and append the positions (in ``order``)
    of the rows that flagged drift."""
    values, indices, indptr = data[:3]
    cross = data[3] if len(data) > 3 else None
    sums = np.zeros(2)
    last_eta, last_plateau = np.nan, -1
    block = BLOCKS.rows
    for lo in range(0, max(len(order), 1), block):
        if lo and BLOCKS.between is not None:
            BLOCKS.between(k, lo)
        status, t_new, eta_b, plateau = engine.run_pass(
            k, values, indices, indptr, target, sample_weight, order[lo:lo + block], t, eta,
            track, streaming, sums, None, found is not None, cross)
        if found is not None:
            found.append(engine.drifts_found() + lo)
        if np.isfinite(eta_b):
            last_eta = eta_b
        if plateau >= 0:
            last_plateau = plateau
        if status < 0:
            return status - lo, t_new, sums[0], sums[1], last_eta, last_plateau
        t = t_new
    return len(order), t, sums[0], sums[1], last_eta, last_plateau


class Call:
    """What ``train`` needs of one call: the data, per-problem targets and
    configs, and the epoch budget (``max_iter=None``: one streaming pass)."""

    def __init__(self, est, optimizer, X, targets, sample_weight, configs, loss, max_iter,
                 val_mask=None, val_scorer=None):
        self.est, self.X, self.targets = est, X, targets
        self._sample_weight = sample_weight     # None: all 1 (the array made on demand)
        self.optimizer = optimizer
        # a streaming call feeds the model's drift detector, if any: the
        # positions of the rows that flagged drift go here
        self.drift_found = None
        self.drift = None           # set by train: the drift detector's kernel config
        self.configs, self.loss = configs, loss
        self.streaming = max_iter is None
        self.max_iter = 1 if self.streaming else max_iter
        # the rows that train, in order: a range when all of them (the loop
        # then visits them without an order array)
        self._train_idx = None
        self.rows = range(X.shape[0])
        if val_mask is not None and val_mask.any():
            self._train_idx = self.rows = np.flatnonzero(~val_mask).astype(np.intp)
        self.val_scorer = val_scorer
        self.made_model = False     # set by train: the model was made by this call
        # the softmax model (multi_class="multinomial"): targets holds one
        # array, the label index of each row in the model's dtype
        self.softmax = False
        self.cross = None           # set by train: the CrossedRows X holds the features of

    @property
    def sample_weight(self):
        """The weight of each row, in the rows' dtype."""
        if self._sample_weight is None:
            self._sample_weight = np.ones(self.X.shape[0], dtype=self.X.dtype)
        return self._sample_weight

    @property
    def kernel_sample_weight(self):
        """``sample_weight`` for ``Engine.run_pass``: None when all 1."""
        return self._sample_weight

    @property
    def train_idx(self):
        """The rows that train, in order (an intp array)."""
        if self._train_idx is None:
            self._train_idx = np.arange(self.X.shape[0], dtype=np.intp)
        return self._train_idx


def _problem_epochs(call, engine, data, k, seed, t_start, lr_start):
    """All epochs of binary problem k: (epochs run, history rows, last rate,
    gtol unmet). Problems share nothing but read-only inputs."""
    est, model, cfg = call.est, call.est._model, call.configs[k]
    streaming, n = call.streaming, call.X.shape[0]
    n_train = len(call.rows)
    scal = model.scalars[k]
    # scikit-learn's objective needs running norms; skip them when unused
    track = not streaming and not est.early_stopping and est.tol is not None
    if track:
        wd = model.w[k].astype(np.float64) * scal[_k.SLOTS["wscale"]]
        scal[_k.SLOTS["sq_norm"]] = wd @ wd
        scal[_k.SLOTS["l1_norm"]] = np.abs(wd).sum()
    rng = np.random.RandomState(seed) if est.shuffle else None
    t = scal[_k.SLOTS["t"]] if streaming else t_start
    eta, lr, rows = cfg.eta0, lr_start, []
    stop = None if streaming else NoImprovement(
        est.tol, est.n_iter_no_change, _params.adaptive_factor(est),
        call.val_scorer if est.early_stopping else None)
    gtol = None
    if est.gtol is not None and not streaming:
        train_idx = call.train_idx
        X_train = call.X if n_train == n else call.X[train_idx]
        gtol = GradientNorm(est.gtol, lambda k_, t_: gradient_norm(
            model, k_, X_train, call.targets[k_][train_idx], call.sample_weight[train_idx],
            cfg, call.loss, t_, est.average, est.fit_intercept))
    for epoch in range(call.max_iter):
        order = rng.permutation(call.train_idx) if est.shuffle else call.rows
        if est.verbose:
            print(f"-- Epoch {epoch + 1}")
        status, t_new, sum_loss, sum_obj, last_eta, plateau = run_pass(
            engine, k, data, call.targets[k], call.kernel_sample_weight, order, t, eta, track,
            streaming, call.drift_found)
        if status < 0:
            i = -status - 1
            raise_if_row_invalid(call.X if call.cross is None else call.cross, order[i])
            rate = last_eta if np.isfinite(last_eta) else lr
            raise DivergenceError.at(
                t_new, rate, f"the prediction or the step became non-finite on sample "
                f"{order[i]} of this call (epoch {epoch + 1})")
        t = t_new
        if plateau >= 0 and not streaming:
            # in fit, ReduceOnPlateau steps once per epoch on its mean loss
            engine.plateau_step(k, plateau, sum_loss / n_train)
        if np.isfinite(last_eta):
            lr = float(last_eta)
        seen = scal[_k.SLOTS["n_seen"]]
        rows.append((t_start - 1.0 + (epoch + 1) * n, lr,
                     scal[_k.SLOTS["loss_sum"]] / seen if seen else np.nan))
        if not engine.finite(k):
            raise DivergenceError.at(
                t - 1, lr, f"the weights or the optimizer state overflowed (epoch {epoch + 1})")
        if gtol is not None and gtol.after_epoch(k, epoch, t, epoch == call.max_iter - 1,
                                                 est.verbose):
            break
        if stop is None:
            continue
        done, eta = stop.after_epoch(k, epoch, sum_loss / n_train, sum_obj / n_train, lr, t, eta,
                                     est._progressive_loss, est.verbose)
        if done:
            break
    scal[_k.SLOTS["t"]] = t
    return epoch + 1, rows, lr, gtol is not None and gtol.unmet


def _softmax_epochs(call, engine, data, seed, t_start, lr_start):
    """All epochs of the softmax model: its K class rows learn each row
    together (``run_softmax_pass``, multinomial.pxi); the stopping rules see
    the cross-entropy and the objective summed over the rows. Returns what
    ``_problem_epochs`` does."""
    est, model, cfg = call.est, call.est._model, call.configs[0]
    streaming, n, train_idx = call.streaming, call.X.shape[0], call.train_idx
    n_train = train_idx.shape[0]
    scal = model.scalars
    K = model.n_problems
    labels = call.targets[0]
    track = not streaming and not est.early_stopping and est.tol is not None
    if track:
        for k in range(K):
            wd = model.w[k].astype(np.float64) * scal[k, _k.SLOTS["wscale"]]
            scal[k, _k.SLOTS["sq_norm"]] = wd @ wd
            scal[k, _k.SLOTS["l1_norm"]] = np.abs(wd).sum()
    rng = np.random.RandomState(seed) if est.shuffle else None
    t = scal[0, _k.SLOTS["t"]] if streaming else t_start
    eta, lr, rows = cfg.eta0, lr_start, []
    stop = None if streaming else NoImprovement(
        est.tol, est.n_iter_no_change, _params.adaptive_factor(est),
        call.val_scorer if est.early_stopping else None)
    gtol = None
    if est.gtol is not None and not streaming:
        X_train = call.X if n_train == n else call.X[train_idx]
        gtol = GradientNorm(est.gtol, lambda k_, t_: softmax_gradient_norm(
            model, X_train, labels[train_idx], call.sample_weight[train_idx], call.configs,
            t_, est.average, est.fit_intercept))
    values, indices, indptr = data
    for epoch in range(call.max_iter):
        order = rng.permutation(train_idx) if est.shuffle else train_idx
        if est.verbose:
            print(f"-- Epoch {epoch + 1}")
        sums = np.zeros(2)
        last_eta, plateau, status = np.nan, -1, len(order)
        for lo in range(0, max(len(order), 1), BLOCKS.rows):
            if lo and BLOCKS.between is not None:
                BLOCKS.between(0, lo)
            status, t_new, eta_b, plateau_b = engine.run_softmax_pass(
                values, indices, indptr, labels, call.sample_weight, order[lo:lo + BLOCKS.rows], t,
                eta, track, streaming, sums, call.drift_found is not None)
            if call.drift_found is not None:
                call.drift_found.append(engine.drifts_found() + lo)
            if np.isfinite(eta_b):
                last_eta = eta_b
            if plateau_b >= 0:
                plateau = plateau_b
            if status < 0:
                status -= lo
                break
            t = t_new
        if status < 0:
            i = -status - 1
            raise_if_row_invalid(call.X, order[i])
            rate = last_eta if np.isfinite(last_eta) else lr
            raise DivergenceError.at(
                t_new, rate, f"the prediction or the step became non-finite on sample "
                f"{order[i]} of this call (epoch {epoch + 1})")
        if plateau >= 0 and not streaming:
            for k in range(K):
                engine.plateau_step(k, plateau, sums[0] / n_train)
        if np.isfinite(last_eta):
            lr = float(last_eta)
        seen = scal[0, _k.SLOTS["n_seen"]]
        rows.append((t_start - 1.0 + (epoch + 1) * n, lr,
                     scal[0, _k.SLOTS["loss_sum"]] / seen if seen else np.nan))
        if not all(engine.finite(k) for k in range(K)):
            raise DivergenceError.at(
                t - 1, lr, f"the weights or the optimizer state overflowed (epoch {epoch + 1})")
        if gtol is not None and gtol.after_epoch(0, epoch, t, epoch == call.max_iter - 1,
                                                 est.verbose):
            break
        if stop is None:
            continue
        done, eta = stop.after_epoch(0, epoch, sums[0] / n_train, sums[1] / n_train, lr, t, eta,
                                     est._progressive_loss, est.verbose)
        if done:
            break
    scal[:, _k.SLOTS["t"]] = t
    return epoch + 1, rows, lr, gtol is not None and gtol.unmet


def _race_epochs(call, engine, data, b, seed, t_start, lr_start):
    """All epochs of binary problem b of a race: its copies learn each block
    of rows side by side, then the race serves the block (race.pxi). Returns
    what ``_problem_epochs`` does."""
    est, model = call.est, call.est._model
    copies = model.copies
    problems = [b * copies + c for c in range(copies)]
    streaming, n, train_idx = call.streaming, call.X.shape[0], call.train_idx
    n_train = train_idx.shape[0]
    scal = model.scalars
    first = scal[problems[0]]
    rng = np.random.RandomState(seed) if est.shuffle else None
    t = np.array([scal[k, _k.SLOTS["t"]] if streaming else t_start for k in problems])
    rates = [call.configs[k].eta0 for k in problems]
    target = call.targets[b]
    lr, rows = lr_start, []
    stop = None if streaming else NoImprovement(
        est.tol, est.n_iter_no_change, None, call.val_scorer if est.early_stopping else None)
    out = _k.SLOTS["race_status"]
    block = BLOCKS.rows
    for epoch in range(call.max_iter):
        order = rng.permutation(train_idx) if est.shuffle else train_idx
        if est.verbose:
            print(f"-- Epoch {epoch + 1}")
        served_before = first[_k.SLOTS["served_loss"]]
        lo = 0
        while lo < n_train:
            if lo and BLOCKS.between is not None:
                BLOCKS.between(b, lo)
            # a block ends where the race narrows (race.pxi)
            rows_block = order[lo:lo + min(block, engine.race_rows_to_narrowing(b))]
            lo += rows_block.shape[0]
            # every copy still learning learns the block, then the race serves it
            # (run_race_block), unless a copy stopped early
            scratch = np.empty((2, copies, rows_block.shape[0]))
            margins, losses = scratch[0], scratch[1]
            valid = np.zeros(copies, dtype=np.intp)
            if engine.run_race_block(b, *data, target, call.sample_weight, rows_block, t,
                                     margins, losses, valid, streaming) < 0:
                continue
            for c, k in enumerate(problems):
                if scal[k, out] < 2 and valid[c] < rows_block.shape[0]:
                    raise_if_row_invalid(call.X, rows_block[valid[c]])
                    _race_out(call, engine, k)   # this copy diverged: it leaves the race
            if not valid.any():
                raise DivergenceError.at(
                    float(t[0]), lr, f"every copy of the rate race diverged (epoch {epoch + 1})")
            engine.race_combine(b, np.ascontiguousarray(target[rows_block]), margins, valid,
                                losses, np.ascontiguousarray(call.sample_weight[rows_block]))
        for k in problems:
            if scal[k, out] < 2 and not engine.finite(k):
                _race_out(call, engine, k)
        if (scal[problems, out] >= 2).all():    # every copy still learning is out
            raise DivergenceError.at(
                t[0] - 1, lr, f"every copy of the rate race overflowed (epoch {epoch + 1})")
        share = scal[problems, _k.SLOTS["race_share"]]
        lr = float(share @ np.asarray(rates))
        served_n = first[_k.SLOTS["served_n"]]
        rows.append((t_start - 1.0 + (epoch + 1) * n, lr,
                     first[_k.SLOTS["served_loss"]] / served_n if served_n else np.nan))
        if stop is None:
            continue
        mean = (first[_k.SLOTS["served_loss"]] - served_before) / n_train
        done, _ = stop.after_epoch(b, epoch, mean, mean, lr, t_start + (epoch + 1) * n, 0.0,
                                   est._progressive_loss, est.verbose)
        if done:
            break
    return epoch + 1, rows, lr, False


def _softmax_race_epochs(call, engine, data, seed, t_start, lr_start):
    """All epochs of a race of softmax models: in each block of rows, every
    copy (a whole K-row softmax model) learns, then the race serves the
    rows from their margins (``run_softmax_race_pass``, multinomial.pxi).
    Returns what ``_problem_epochs`` does."""
    est, model = call.est, call.est._model
    copies, K = model.copies, model.n_outputs
    n, train_idx = call.X.shape[0], call.train_idx
    n_train = train_idx.shape[0]
    scal = model.scalars
    labels = call.targets[0]
    rng = np.random.RandomState(seed) if est.shuffle else None
    rates = np.array([call.configs[c].eta0 for c in range(copies)])
    out = _k.SLOTS["race_status"]
    lr, rows = lr_start, []
    stop = None if call.streaming else NoImprovement(
        est.tol, est.n_iter_no_change, None, call.val_scorer if est.early_stopping else None)
    for epoch in range(call.max_iter):
        order = rng.permutation(train_idx) if est.shuffle else train_idx
        if est.verbose:
            print(f"-- Epoch {epoch + 1}")
        served_before = scal[0, _k.SLOTS["served_loss"]]
        was_out = scal[:copies, out] == 2
        for lo in range(0, max(n_train, 1), BLOCKS.rows):
            if lo and BLOCKS.between is not None:
                BLOCKS.between(0, lo)
            block = order[lo:lo + BLOCKS.rows]
            status, bad = engine.run_softmax_race_pass(*data, labels, call.sample_weight, block)
            if call.drift_found is not None:
                call.drift_found.append(engine.drifts_found() + lo)
            if bad >= 0:
                raise_if_row_invalid(call.X, block[bad])
            if status < 0:
                raise DivergenceError.at(
                    scal[0, _k.SLOTS["t"]], lr,
                    f"every copy of the rate race diverged (epoch {epoch + 1})")
        for c in range(copies):
            if scal[c, out] < 2 and not all(engine.finite(k * copies + c) for k in range(K)):
                engine.softmax_race_out(c)
        if call.made_model:     # copies that left: their coordinates as the model was made
            for c in np.flatnonzero((scal[:copies, out] == 2) & ~was_out):
                for k in range(K):
                    model.reset_problem(int(k * copies + c))
        if (scal[:copies, out] >= 2).all():
            raise DivergenceError.at(
                scal[0, _k.SLOTS["t"]] - 1, lr,
                f"every copy of the rate race overflowed (epoch {epoch + 1})")
        lr = float(scal[:copies, _k.SLOTS["race_share"]] @ rates)
        served_n = scal[0, _k.SLOTS["served_n"]]
        rows.append((t_start - 1.0 + (epoch + 1) * n, lr,
                     scal[0, _k.SLOTS["served_loss"]] / served_n if served_n else np.nan))
        if stop is None:
            continue
        mean = (scal[0, _k.SLOTS["served_loss"]] - served_before) / n_train
        done, _ = stop.after_epoch(0, epoch, mean, mean, lr, t_start + (epoch + 1) * n, 0.0,
                                   est._progressive_loss, est.verbose)
        if done:
            break
    return epoch + 1, rows, lr, False


def _race_out(call, engine, k):
    engine.race_out(k)
    if call.made_model:
        call.est._model.reset_problem(k)


def _lockstep_epochs(call, engine, data, t_start, lr_start):
    """The streaming pass of one-vs-rest with a drift detector: its binary
    problems learn side by side, fed to one detector (``run_drift_pass``),
    in one order (with ``shuffle``, the one problem 0 would take without a
    detector). Returns what ``_problem_epochs`` does."""
    model = call.est._model
    targets = np.ascontiguousarray(np.stack(call.targets))
    labels = np.ascontiguousarray(np.argmax(targets > 0, axis=0), dtype=np.intp)
    order, n, lr = call.train_idx, call.X.shape[0], lr_start
    if call.est.shuffle:   # one order for all problems (problem 0's, without a detector)
        order = np.random.RandomState(seeds(call.est, model.n_problems)[0]).permutation(order)
    block = BLOCKS.rows
    for lo in range(0, max(len(order), 1), block):
        if lo and BLOCKS.between is not None:
            BLOCKS.between(0, lo)
        status, last_eta = engine.run_drift_pass(*data, targets, labels, call.sample_weight,
                                                 order[lo:lo + block])
        if np.isfinite(last_eta):
            lr = float(last_eta)
        if status < 0:
            raise_if_row_invalid(call.X, order[lo - status - 1])
            raise DivergenceError.at(
                engine.last_t, lr, f"the prediction or the step became non-finite on sample "
                f"{order[lo - status - 1]} of this call")
        call.drift_found.append(engine.drifts_found() + lo)
    for k in range(model.n_problems):
        if not engine.finite(k):
            raise DivergenceError.at(model.scalars[k, _k.SLOTS["t"]] - 1, lr,
                                     "the weights or the optimizer state overflowed")
    return 1, [(t_start - 1.0 + n, lr, np.nan)], lr, False


def _race_drift_epochs(call, engine, data, t_start, lr_start):
    """The streaming pass of a rate race with a drift detector: the copies
    of every binary problem learn side by side and the detector is fed what
    the race serves (``run_race_drift_pass``), in one order (with
    ``shuffle``, the one binary problem 0 would take without a detector).
    Returns what ``_problem_epochs`` does."""
    est, model = call.est, call.est._model
    copies, n_out = model.copies, model.n_outputs
    scal = model.scalars
    out = _k.SLOTS["race_status"]
    targets = np.ascontiguousarray(np.stack([call.targets[b] for b in range(n_out)]))
    labels = np.ascontiguousarray(np.argmax(targets > 0, axis=0), dtype=np.intp)
    order, n = call.train_idx, call.X.shape[0]
    if est.shuffle:
        order = np.random.RandomState(seeds(est, n_out)[0]).permutation(order)
    was_out = scal[:, out] == 2
    block = BLOCKS.rows
    for lo in range(0, max(len(order), 1), block):
        if lo and BLOCKS.between is not None:
            BLOCKS.between(0, lo)
        rows_block = order[lo:lo + block]
        status, _, failed = engine.run_race_drift_pass(*data, targets, labels, call.sample_weight,
                                                       rows_block)
        for pos in failed:          # a copy stopped there: bad input is the call's error
            raise_if_row_invalid(call.X, rows_block[pos])
        if status < 0:
            raise DivergenceError.at(engine.last_t, lr_start,
                                     "every copy of the rate race diverged")
        call.drift_found.append(engine.drifts_found() + lo)
    for k in range(model.n_problems):
        if scal[k, out] < 2 and not engine.finite(k):
            engine.race_out(k)
    if call.made_model:     # copies that left: their coordinates as the model was made
        for k in np.flatnonzero((scal[:, out] == 2) & ~was_out):
            model.reset_problem(int(k))
    statuses = scal[:, out].reshape(n_out, copies)
    if ((statuses == 2) | (statuses == 3)).all(axis=1).any():
        raise DivergenceError.at(model.scalars[0, _k.SLOTS["t"]] - 1, lr_start,
                                 "every copy of the rate race overflowed")
    share = model.race_shares()
    rates = np.array([call.configs[k].eta0 for k in range(model.n_problems)])
    lr = float((share.ravel() * rates).sum() / n_out)
    return 1, [(t_start - 1.0 + n, lr, np.nan)], lr, False


def train(tx, call):
    """Run ``call`` (up to ``max_iter`` epochs of every binary problem) on
    the estimator's model and record t_, n_iter_, lr_ and the history.
    Returns (n_iter, gtol_unmet): the most epochs any problem ran, and
    whether one ended its epochs above ``gtol``."""
    est, model = call.est, call.est._model
    model.average = int(est.average)
    program = _params.schedule_program(est, call.optimizer, call.loss, model)
    # the drift detector watches streams: partial_fit, not fit's epochs
    drift = _params.drift_config(est, call.optimizer, call.loss, model) if call.streaming else None
    engine = _k.Engine(model, call.configs, call.configs, call.loss, 0, 0.0, int(est.average),
                       program, race=race_rule(est), drift=drift)
    model.engine = None   # events bind their own engine, for the model's parameters
    cross = tx.cross
    if cross is not None and (call.softmax or model.copies > 1 or call.X.dtype != cross.dtype
                              or (drift is not None and model.n_problems > 1)):
        # the loops of these modes take whole rows, and rows converted to the
        # model's dtype are rows scipy's astype made (each row's duplicates
        # summed, its indices sorted): the call's rows crossed here, as before
        call.X, cross = cross.materialize(call.X.dtype), None
    X, n = call.X, call.X.shape[0]
    data = as_kernel_input(X)
    if cross is not None:
        # each row crossed by the loop right before it is used (cross.pxi); the
        # crosses may touch any column: the snapshot takes them all
        data, call.cross, cols = (*data, cross.spec(data[0].dtype)), cross, None
    else:
        cols = touched_columns(data[1], data[2], X.shape[1]) if is_sparse(X) else None
    if cols is not None and engine.may_fold_scale(n * call.max_iter, True):
        cols = None   # the call may touch every column: snapshot them all
    # a model this call made goes whole if the call fails: snapshot its
    # scalars only (a race's copy that diverges is reset by reset_problem)
    call.made_model = tx.made_model()
    if model.copies > 1:
        # a race keeps its snapshot's buffer from call to call: faulting in
        # fresh pages for the awake copies cost more than copying them
        engine.reuse_snapshot_buffer(getattr(model, "snapshot_buffer", None))
    # a learner whose failed call ends the run (the command line's headless
    # learner) keeps no copy of every coordinate: the check for overflow
    # then reads them all, and a failure leaves them as the call left them
    coordinates = not call.made_model and (cols is not None or est._undo_all_coordinates)
    tx.snapshot(engine, cols, coordinates=coordinates)
    call.drift = drift
    try:
        return _train(call, engine, model, data)
    finally:
        model.starting_coef = None
        if model.copies > 1:
            model.snapshot_buffer = engine.snapshot_buffer


def _train(call, engine, model, data):
    est, n, drift = call.est, call.X.shape[0], call.drift
    progress = model.progress
    t_start, lr_start = float(progress.t), progress.lr
    if drift is not None:
        call.drift_found = []
    if call.softmax and model.copies > 1:
        results = [_softmax_race_epochs(call, engine, data, seeds(est, 1)[0], t_start, lr_start)]
    elif drift is not None and model.copies > 1:
        results = [_race_drift_epochs(call, engine, data, t_start, lr_start)]
    elif call.softmax:
        results = [_softmax_epochs(call, engine, data, seeds(est, 1)[0], t_start, lr_start)]
    elif drift is not None and model.n_problems > 1:
        results = [_lockstep_epochs(call, engine, data, t_start, lr_start)]
    elif model.copies > 1:
        seeds_ = seeds(est, model.n_outputs)
        results = map_problems(
            est, lambda b: _race_epochs(call, engine, data, b, seeds_[b], t_start, lr_start),
            model.n_outputs)
    else:
        seeds_ = seeds(est, len(call.configs))
        results = map_problems(
            est, lambda k: _problem_epochs(call, engine, data, k, seeds_[k], t_start, lr_start),
            len(call.configs))
    n_iter, history, gtol_unmet = 0, [], False
    for n_iter_k, rows, lr, unmet in results:
        n_iter = max(n_iter, n_iter_k)
        if len(rows) >= len(history):  # one-vs-rest: the problem with most epochs
            history = rows
        progress.lr = lr
        gtol_unmet = gtol_unmet or unmet
    if call.streaming:  # one row per call, with the progressive loss of all problems
        history = [(t_start - 1.0 + n, progress.lr, est._progressive_loss())]
    for row in history:
        progress.record(*row)
    if call.streaming and est.verbose:
        print(f"partial_fit: {n} samples, T: {t_start - 1.0 + n:.0f}, lr: {progress.lr:.3g}, "
              f"progressive loss: {est._progressive_loss():f}")
    progress.n_iter = n_iter
    progress.t = t_start + n_iter * n
    if call.drift_found:
        # t_ - 1 at each detection: the rows seen up to the one that flagged it
        found = np.concatenate(call.drift_found)
        if found.size:
            model.drifts = np.concatenate([model.drifts, (t_start + found).astype(np.int64)])
    return n_iter, gtol_unmet
