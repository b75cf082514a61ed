"""Hyperparameters: checked once per call, then compiled for the engine.

``validate_params`` checks every parameter of an estimator before any state
changes and returns the resolved optimizer; ``make_configs`` and
``schedule_program`` turn the parameters into what the kernel reads (one
``Config`` per binary problem, the schedule's node table).
"""
import math
import numbers

import numpy as np

from .. import _registry
from .. import schedules as _sched
from .._kernels import detectors as _detectors
from .._kernels import kernel as _k
from ..drift import DriftDetector
from ..optim import Optimizer

# scikit-learn's smaller intercept step on sparse input (plain SGD only)
SPARSE_INTERCEPT_DECAY = 0.01
# the most copies a race may have (the kernel's MAX_COPIES)
MAX_COPIES = 64


def loss_names(is_classifier):
    """The loss strings an estimator accepts, in scikit-learn's order."""
    task = "classification" if is_classifier else "regression"
    return tuple(entry.name for entry in _registry.losses(task))


def _check_real(est, name, low=None, low_open=False, high=None, high_open=False, none=False):
    v = getattr(est, name)
    if v is None and none:
        return
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
        raise ValueError(f"The '{name}' parameter must be a finite real number; got {v!r}.")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"The '{name}' parameter must be {'>' if low_open else '>='} {low}; got {v!r}.")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"The '{name}' parameter must be {'<' if high_open else '<='} {high}; got {v!r}.")


def _check_integer(est, name, low):
    v = getattr(est, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        raise ValueError(f"The '{name}' parameter must be an integer >= {low}; got {v!r}.")


def _check_choices(est):
    losses = loss_names(est._is_classifier)
    if est.loss not in losses:
        raise ValueError(f"The 'loss' parameter must be one of {losses}; got {est.loss!r}.")
    if est.penalty not in ("l2", "l1", "elasticnet", None):
        raise ValueError(
            "The 'penalty' parameter must be one of 'l2', 'l1', 'elasticnet' "
            f"or None; got {est.penalty!r}.")
    if isinstance(est.learning_rate, _sched.Schedule):
        est.learning_rate._validate()
    elif not isinstance(est.learning_rate, str) or (
            est.learning_rate not in _k.LEARNING_RATES and est.learning_rate != "auto"):
        raise ValueError(
            f"The 'learning_rate' parameter must be one of {sorted([*_k.LEARNING_RATES, 'auto'])} "
            f"or a streamlr.schedules object; got {est.learning_rate!r}.")


def _check_numbers(est):
    _check_real(est, "alpha", 0.0)
    _check_real(est, "l1_ratio", 0.0, high=1.0, none=True)
    _check_real(est, "epsilon", 0.0)
    _check_real(est, "eta0", 0.0, low_open=True)
    _check_real(est, "power_t")
    _check_real(est, "tol", 0.0, none=True)
    _check_real(est, "gtol", 0.0, low_open=True, none=True)
    _check_real(est, "validation_fraction", 0.0, True, 1.0, True)
    _check_integer(est, "max_iter", 1)
    _check_integer(est, "n_iter_no_change", 1)
    for name in ("fit_intercept", "shuffle", "early_stopping", "warm_start"):
        if not isinstance(getattr(est, name), (bool, np.bool_)):
            raise ValueError(f"The '{name}' parameter must be a bool; got {getattr(est, name)!r}.")
    if not isinstance(est.average, (bool, np.bool_)) and not (
            isinstance(est.average, numbers.Integral) and est.average > 0):
        raise ValueError(
            f"The 'average' parameter must be a bool or an integer > 0; got {est.average!r}.")
    if not isinstance(est.verbose, (numbers.Integral, bool)):
        raise ValueError(f"The 'verbose' parameter must be an int; got {est.verbose!r}.")
    if hasattr(est, "power"):
        _check_real(est, "power")
        if 0.0 < est.power < 1.0:
            raise ValueError(f"The 'power' parameter (the Tweedie power) must be <= 0 or >= 1; "
                             f"got {est.power!r}.")
    if hasattr(est, "quantile"):
        _check_real(est, "quantile", 0.0, True, 1.0, True)
    n_jobs = getattr(est, "n_jobs", None)
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral)
                               or n_jobs == 0):
        raise ValueError(f"The 'n_jobs' parameter must be None or a non-zero int; got {n_jobs!r}.")


def _check_combinations(est, optimizer, for_partial_fit):
    plain = optimizer.kernel == _k.OPTIMIZERS["sgd"]
    if est.early_stopping and for_partial_fit:
        raise ValueError("early_stopping should be False with partial_fit")
    if isinstance(est.learning_rate, _sched.Schedule) and any(
            isinstance(node, _sched.Optimal) and node.alpha is None
            for node in _sched.walk(est.learning_rate)) and est.alpha == 0:
        raise ValueError("alpha must be > 0 with an Optimal() schedule: its rate "
                         "1 / (alpha (t + t0)) uses the estimator's alpha")
    if est.learning_rate == "optimal" and est.alpha == 0 and plain:
        raise ValueError(
            "alpha must be > 0 since learning_rate is 'optimal'. alpha is used "
            "to compute the optimal learning rate.")
    if est.learning_rate in ("pa1", "pa2"):
        needed = "hinge" if est._is_classifier else "epsilon_insensitive"
        if est.loss != needed:
            raise ValueError(f"Learning rate '{est.learning_rate}' only works with loss '{needed}'.")
    if racing(est) and est.gtol is not None:
        raise ValueError("gtol is not available with learning_rate='auto' (its copies "
                         "each have their own gradient)")
    if not optimizer.takes_rate and racing(est):
        raise ValueError(
            f"{type(optimizer).__name__} has no learning rate: learning_rate='auto' has "
            f"no rates to race")
    if not optimizer.takes_rate and isinstance(est.learning_rate, _sched.Schedule):
        raise ValueError(
            f"{type(optimizer).__name__} has no learning rate: it cannot be combined "
            f"with the schedule learning_rate={est.learning_rate!r}")
    if est.penalty == "elasticnet" and est.l1_ratio is None:
        raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
    if not plain and est.learning_rate in ("pa1", "pa2"):
        raise ValueError(
            f"learning_rate={est.learning_rate!r} is an update rule of plain SGD; "
            f"it cannot be combined with optimizer={est.optimizer!r}")


def _check_auto_rates(est):
    rates = getattr(est, "auto_rates", None)
    if rates is None:
        return
    if isinstance(rates, (str, bytes)) or not hasattr(rates, "__len__"):
        raise ValueError(f"The 'auto_rates' parameter must be None or a sequence of rates; "
                         f"got {rates!r}.")
    try:
        values = np.asarray(rates, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"The 'auto_rates' parameter must hold numbers; got {rates!r}.") from None
    if values.ndim != 1 or not 1 <= values.size <= MAX_COPIES:
        raise ValueError(f"The 'auto_rates' parameter must hold 1 to {MAX_COPIES} rates; "
                         f"got {rates!r}.")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"The 'auto_rates' parameter must hold finite rates > 0; got {rates!r}.")


def streaming_balanced(est):
    """Whether ``partial_fit`` and ``learn_one`` weight each sample by the
    running class counts (``class_weight="balanced"``)."""
    cw = getattr(est, "class_weight", None)
    return isinstance(cw, str) and cw == "balanced"


# on_drift's reactions (the kernel's ON_DRIFT_* codes, drift.pxi)
ON_DRIFT = {"none": 0, "restart": 1, "reset": 2}


def _check_drift(est):
    detector = getattr(est, "drift_detector", None)
    on_drift = getattr(est, "on_drift", "restart")
    if not isinstance(on_drift, str) or on_drift not in ON_DRIFT:
        raise ValueError(f"The 'on_drift' parameter must be one of {sorted(ON_DRIFT)}; "
                         f"got {on_drift!r}.")
    if detector is None:
        return
    if not isinstance(detector, DriftDetector):
        raise ValueError("The 'drift_detector' parameter must be None or a streamlr.drift "
                         f"detector (ADWIN(), PageHinkley()); got {detector!r}.")
    detector._validate()


NEW_CLASSES = ("add", "error")


def _check_new_classes(est):
    if not est._is_classifier:
        return
    value = getattr(est, "new_classes", "error")
    if not isinstance(value, str) or value not in NEW_CLASSES:
        raise ValueError(f"The 'new_classes' parameter must be one of {list(NEW_CLASSES)}; "
                         f"got {value!r}.")


def adds_classes(est):
    """Whether a label not yet seen adds a class (``new_classes="add"``)."""
    value = getattr(est, "new_classes", "error")
    return isinstance(value, str) and value == "add"


def racing(est):
    """Whether ``est`` races copies of its model (``learning_rate="auto"`` or
    ``optimizer="auto"``)."""
    return (isinstance(est.learning_rate, str) and est.learning_rate == "auto") or auto_optimizer(est)


def auto_optimizer(est):
    """Whether ``est`` races update rules too (``optimizer="auto"``)."""
    return isinstance(est.optimizer, str) and est.optimizer == "auto"


# optimizer="auto": the (update rule, rate) copies it races, chosen from
# measurements (bench/bench_no_rate.py): scale-free rules (Vowpal Wabbit's
# normalized update at four rates, COCOB), the rules that learn their own
# step (Prodigy, schedule-free AdamW, at their references' rates) and
# scale-sensitive ones (Adam and plain SGD over log-spaced rates); the
# default copy is VW's default.
AUTO_MEMBERS = (
    *(("vw", r) for r in (0.1, 0.5, 2.0, 8.0)),
    ("cocob", None),
    ("prodigy", 1.0),
    ("schedulefree", 0.0025),
    *(("adam", 10.0 ** (k / 2.0)) for k in range(-10, -1)),
    *(("sgd", 10.0 ** (k / 2.0)) for k in range(-10, -3)),
)
AUTO_DEFAULT = ("vw", 0.5)


class AutoRace:
    """What ``optimizer="auto"`` resolves to: the copies of the race, as
    (update rule spec, rate) pairs (rate None for a rule without one)."""

    kernel = -1
    takes_rate = True
    default_rate = None
    exact_on_sparse = False

    def __init__(self):
        members = []
        for name, rate in AUTO_MEMBERS:
            try:
                members.append((_registry.resolve_optimizer(name), rate, (name, rate)))
            except ValueError:   # a rule this build lacks
                continue
        self.members = [(spec, rate) for spec, rate, _ in members]
        tags = [tag for _, _, tag in members]
        self.default = tags.index(AUTO_DEFAULT) if AUTO_DEFAULT in tags else 0

    def slots(self):
        return ()

    def __repr__(self):
        return "'auto'"


def race_members(est, optimizer):
    """The copies of ``est``'s race as (spec, rate) pairs, or None without one."""
    if isinstance(optimizer, AutoRace):
        return optimizer.members
    if not racing(est):
        return None
    if getattr(est, "auto_rates", None) is not None:
        rates = np.asarray(est.auto_rates, dtype=np.float64)
    else:
        rates = np.asarray(optimizer.auto_rates(), dtype=np.float64)
    return [(optimizer, float(r)) for r in rates]


def race_default(est, optimizer, members):
    """The copy that serves before any evidence: VW's default for
    ``optimizer="auto"``, else the smallest rate (measured the safest
    start: bench/bench_no_rate.py)."""
    if isinstance(optimizer, AutoRace):
        return optimizer.default
    return int(np.argmin([rate for _, rate in members]))


def check_hash_bits(est):
    bits = getattr(est, "hash_bits", None)
    if bits is not None and (isinstance(bits, bool) or not isinstance(bits, numbers.Integral)
                             or not 1 <= bits <= 31):
        raise ValueError(f"The 'hash_bits' parameter must be None or an integer in [1, 31]; "
                         f"got {bits!r}.")


def check_pending(est):
    """max_pending (an int >= 1) and pending_ttl (None or an int >= 0)."""
    cap = getattr(est, "max_pending", 100_000)
    if isinstance(cap, bool) or not isinstance(cap, numbers.Integral) or cap < 1:
        raise ValueError(f"The 'max_pending' parameter must be an integer >= 1; got {cap!r}.")
    ttl = getattr(est, "pending_ttl", None)
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, numbers.Integral)
                            or ttl < 0):
        raise ValueError(f"The 'pending_ttl' parameter must be None or an integer >= 0; "
                         f"got {ttl!r}.")


def check_interactions(est):
    """The ``interactions`` parameter as the hasher takes them (VW's crosses,
    bytes, deduplicated and ordered as VW 9 does), or ``[]``; ValueError
    naming it when it is not a list of 2- or 3-letter strings or is set
    without ``hash_bits``."""
    inters = getattr(est, "interactions", None)
    if inters is None:
        return []
    if isinstance(inters, str):
        inters = [inters]
    if not isinstance(inters, list | tuple):
        raise ValueError(f"The 'interactions' parameter must be None or a list of strings "
                         f"such as ['ui', 'uic']; got {inters!r}.")
    for inter in inters:
        if not isinstance(inter, str) or len(inter.encode("utf-8")) not in (2, 3):
            raise ValueError(f"The 'interactions' parameter takes strings of 2 or 3 namespace "
                             f"letters (VW's -q and --cubic); got {inter!r}.")
    if inters and getattr(est, "hash_bits", None) is None:
        raise ValueError("The 'interactions' parameter crosses the namespaces of hashed dict "
                         "events: it needs 'hash_bits'.")
    from .._io_readers import vw_interactions

    try:
        return vw_interactions(inters)
    except ValueError as exc:
        raise ValueError(f"The 'interactions' parameter: {exc}.") from None


def validate_params(est, for_partial_fit=False):
    """Check every hyperparameter of ``est`` (ValueError naming the first bad
    one) and return its resolved optimizer spec."""
    _check_choices(est)
    _check_numbers(est)
    _check_auto_rates(est)
    check_hash_bits(est)
    check_pending(est)
    check_interactions(est)
    if auto_optimizer(est):
        optimizer = AutoRace()
        if est.auto_rates is not None:
            raise ValueError("The 'auto_rates' parameter sets the rates of learning_rate='auto'; "
                             "optimizer='auto' races its own set of update rules and rates")
    else:
        optimizer = _registry.resolve_optimizer(est.optimizer)
    _check_combinations(est, optimizer, for_partial_fit)
    _check_drift(est)
    _check_multi_class(est)
    _check_new_classes(est)
    _check_class_weight(est)
    return optimizer


def _check_class_weight(est):
    """A class_weight dict weighs with finite numbers (scikit-learn checks
    its type only; a NaN weight would make the first sample it weighs
    diverge)."""
    cw = getattr(est, "class_weight", None)
    if not isinstance(cw, dict):
        return
    for label, w in cw.items():
        if not isinstance(w, numbers.Real) or not math.isfinite(float(w)):
            raise ValueError(f"The 'class_weight' parameter must map classes to finite "
                             f"numbers; got {w!r} for class {label!r}.")


def _check_multi_class(est):
    if not hasattr(est, "multi_class"):
        return
    mc = est.multi_class
    if not isinstance(mc, str) or mc not in ("ovr", "multinomial"):
        raise ValueError(f"The 'multi_class' parameter must be 'ovr' or 'multinomial'; got {mc!r}.")
    if mc == "ovr":
        return
    if est.loss != "log_loss":
        raise ValueError(f"multi_class='multinomial' needs loss='log_loss' (the softmax's "
                         f"cross-entropy); got loss={est.loss!r}")


def make_loss(est):
    """The compiled loss of ``est``'s ``loss`` parameter (with its
    ``epsilon``, ``power`` and ``quantile``: the classifier has only the first)."""
    from .._kernels.losses import make_loss as compiled
    return compiled(_registry.loss(est.loss).kernel, est.epsilon, getattr(est, "power", 1.5),
                    getattr(est, "quantile", 0.5))


def check_targets(loss, y):
    """Raise the ValueError naming the first target of ``y`` (finite
    numbers) outside ``loss``'s domain (poisson: y >= 0, gamma: y > 0, ...)."""
    if not loss.log_link:
        return   # the other losses take every finite target
    i = loss.first_invalid_target(np.ascontiguousarray(y, dtype=np.float64))
    if i >= 0:
        raise loss.target_error(float(y[i]), f" (sample {i})")


def _rate_ignored(est, optimizer):
    """Whether the rule runs at its own default rate: it has one
    (``Optimizer.default_rate``) and ``learning_rate`` is a string other
    than ``"auto"``."""
    return (optimizer.default_rate is not None and not isinstance(est.learning_rate, _sched.Schedule)
            and not racing(est))


def adaptive_factor(est, optimizer=None):
    """The factor of the adaptive rate (divided when fit stops improving),
    or None when the rate is not adaptive."""
    lr = est.learning_rate
    if (optimizer is not None and _rate_ignored(est, optimizer)) or racing(est):
        return None
    if isinstance(lr, _sched.Adaptive):
        return float(lr.factor)
    return 0.2 if lr == "adaptive" else None


def _rate_schedule(est, optimizer):
    """The rate as a schedule object (the scikit-learn strings become the
    objects they stand for), or None for the rules that are not a schedule
    of t: ``"adaptive"`` (fit divides it between epochs), pa1/pa2."""
    lr = est.learning_rate
    if racing(est):
        return None      # each copy of a race learns at its own constant rate
    if _rate_ignored(est, optimizer):
        # learning_rate and eta0 are ignored: the reference's default rate
        return _sched.from_string("constant", float(optimizer.default_rate), 0.5)
    if isinstance(lr, _sched.Adaptive) or lr in ("adaptive", "pa1", "pa2", "auto"):
        return None
    if isinstance(lr, _sched.Schedule):
        return lr
    if lr == "optimal" and optimizer.kernel != _k.OPTIMIZERS["sgd"]:
        lr = "constant"   # Bottou's rate is derived for plain SGD
    return _sched.from_string(lr, float(est.eta0), float(est.power_t))


def make_configs(est, optimizer, loss, sparse, state, weights):
    """The kernel's ``Config`` of each problem: one per binary problem
    (``weights``: its (positive, negative) class weights), or, in a race,
    one per copy of each (copy c of problem b at b * copies + c)."""
    members = race_members(est, optimizer)
    if members is None:
        return [make_config(est, optimizer, loss, sparse, state, p, n) for p, n in weights]
    # a copy of a rule without a rate (COCOB) takes eta0 for its L1 step alone
    return [make_config(est, spec, loss, sparse, state, p, n,
                        rate=float(est.eta0) if rate is None else float(rate), copy=c)
            for p, n in weights for c, (spec, rate) in enumerate(members)]


def make_config(est, optimizer, loss, sparse, state, weight_pos=1.0, weight_neg=1.0, rate=None,
                copy=0):
    """The kernel's ``Config`` of one binary problem (``rate``: a race's
    copy, learning at that constant rate; ``copy``: which copy)."""
    plain = optimizer.kernel == _k.OPTIMIZERS["sgd"]
    learning_rate, eta0 = est.learning_rate, float(est.eta0)
    if rate is not None:
        # a copy of a race: a constant rate, the kernel's "adaptive" rule
        # (which fit never divides in a race)
        learning_rate, eta0 = "adaptive", rate
    elif _rate_ignored(est, optimizer):
        learning_rate = _rate_schedule(est, optimizer)
    elif isinstance(learning_rate, _sched.Adaptive):
        # fit divides the rate when it stops improving; a stream sees it constant
        learning_rate, eta0 = "adaptive", float(learning_rate.lr)
    code = (_k.LR_SCHEDULE_CODE if isinstance(learning_rate, _sched.Schedule)
            else _k.LEARNING_RATES[learning_rate])
    n_features = state.n_features
    coord_stride, slot_stride = state.copy_stride(copy)
    return _k.Config(
        penalty=_k.PENALTIES[est.penalty],
        alpha=float(est.alpha),
        l1_ratio=0.0 if est.l1_ratio is None else float(est.l1_ratio),
        fit_intercept=bool(est.fit_intercept),
        learning_rate=code,
        eta0=eta0,
        weight_pos=float(weight_pos),
        weight_neg=float(weight_neg),
        # scikit-learn's sparse intercept step belongs to plain SGD only
        intercept_decay=SPARSE_INTERCEPT_DECAY if sparse and plain else 1.0,
        average=int(est.average),
        optimizer=optimizer.kernel,
        hp=optimizer.hyperparameters(),
        hp_intercept=optimizer.hyperparameters(intercept=True),
        n_slots=len(optimizer.slots()),
        n_features=n_features,
        coord_stride=coord_stride,
        slot_stride=slot_stride,
    )


def schedule_program(est, optimizer, loss, state):
    """The compiled node table ``(kinds, params, extra)`` of the rate (a
    schedule object, or the object a scikit-learn string stands for); None
    for adaptive and pa1/pa2. A schedule object becomes the model's
    schedule: a new or changed one starts with fresh state (plateau
    counters); the strings' nodes have no state."""
    schedule = _rate_schedule(est, optimizer)
    if schedule is None:
        return None
    ctx = {"alpha": float(est.alpha), "dloss": loss._py_dloss}
    kinds, params, extra, initial = _sched.compile_schedule(schedule, ctx)
    if schedule is est.learning_rate:
        state.use_schedule((repr(schedule), kinds.tobytes(), params.tobytes()), initial)
    return kinds, params, extra


def schedule_initial_state(est, optimizer, loss):
    """The state a new problem's stateful schedule starts from (one row of
    ``schedule_state``), or None when the rate keeps no state."""
    schedule = _rate_schedule(est, optimizer)
    if schedule is None or schedule is not est.learning_rate:
        return None
    ctx = {"alpha": float(est.alpha), "dloss": loss._py_dloss}
    return _sched.compile_schedule(schedule, ctx)[3]


def drift_config(est, optimizer, loss, state):
    """The engine's ``drift`` argument for ``est``'s model (None without a
    detector), after making the model's detector state that of
    ``est.drift_detector``'s parameters (a fresh one when they changed).
    Call after ``schedule_program``."""
    detector = getattr(est, "drift_detector", None)
    if detector is None:
        if state.drift_state.size:
            state.drift_state = np.zeros(0)
        return None
    fresh = detector._fresh_state()
    current = state.drift_state
    params = [0, 3, 4, 5, 6, 7]   # the kind and the parameters (drift.pxd's header)
    if current.shape != fresh.shape or not np.array_equal(current[params], fresh[params]):
        state.drift_state = fresh
    _detectors.check_state(state.drift_state)
    members = race_members(est, optimizer)
    if members is None:
        slot_init, from_w, rule_init = _restart_template(optimizer)
    else:
        # a race: one template per copy (its own rule's), padded to the widest
        rows = [_restart_template(spec) for spec, _ in members]
        width = max(len(row[0]) for row in rows)
        slot_init = np.zeros((len(rows), width))
        from_w = np.zeros((len(rows), width), dtype=np.uint8)
        for c, (init, flags, _) in enumerate(rows):
            slot_init[c, : len(init)] = init
            from_w[c, : len(flags)] = flags
        rule_init = np.stack([row[2] for row in rows])
    sched_init = np.zeros(state.schedule_state.shape[1])
    schedule = _rate_schedule(est, optimizer)
    if schedule is not None and sched_init.size:
        ctx = {"alpha": float(est.alpha), "dloss": loss._py_dloss}
        sched_init = np.asarray(_sched.compile_schedule(schedule, ctx)[3], dtype=np.float64)
    return (ON_DRIFT[est.on_drift], not est._is_classifier, slot_init, from_w, rule_init,
            sched_init)


def _restart_template(optimizer):
    """What a restart on drift puts back for ``optimizer``: each slot's
    initial value, whether it starts at the weight, the rule's scalars."""
    names = tuple(optimizer.slots())
    slot_init = np.asarray(optimizer.initial_values(), dtype=np.float64).reshape(len(names))
    from_w = np.array([name in optimizer.starts_at_weights for name in names], dtype=np.uint8)
    rule_init = np.zeros(_k.NUM_RULE_SCALARS)
    for i, (_, value) in enumerate(optimizer.scalar_state()):
        rule_init[i] = value
    return slot_init, from_w, rule_init


def watched_dicts(est):
    """The attribute dicts an engine's parameters come from: the estimator's
    and those of its spec objects (optimizer, every schedule node, the drift
    detector)."""
    out = [est.__dict__]
    if isinstance(getattr(est, "drift_detector", None), DriftDetector):
        out.append(est.drift_detector.__dict__)
    if isinstance(est.optimizer, Optimizer):
        out.append(est.optimizer.__dict__)
    if isinstance(est.learning_rate, _sched.Schedule):
        out.extend(node.__dict__ for node in _sched.walk(est.learning_rate))
    return out
