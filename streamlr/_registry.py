"""The one registry of optimizers, schedules and losses.

Everything that lists the optimizers, the learning-rate schedules or the
losses reads this module: string resolution (``streamlr.optim.resolve``,
``streamlr.schedules.from_string``), the command line's option tables, the
whitelist of classes a model file may name (``streamlr.persistence``) and the
test suite, which parametrizes its oracle tests over the rows found here.

Where the rows are
------------------
* Optimizers: each spec class carries its row as a ``@register_optimizer``
  decorator (the estimator strings it answers to, its PyTorch twin), in
  ``_optim_sgd.py``, ``_optim_adam.py`` or ``_optim_ftrl.py``.
* Schedules: each spec class carries its row as a ``@register_schedule``
  decorator (node kind and code in ``_kernels/schedules.pxd``, command-line
  alias, ``learning_rate`` string, PyTorch twin), in ``_schedules_sklearn.py``,
  ``_schedules_decay.py``, ``_schedules_cyclic.py`` or ``_schedules_composite.py``.
* Losses: the table ``_LOSSES`` below (the losses have no Python spec class;
  their kernels are the classes of ``_kernels/losses.pyx``).

The public ``optim.py`` and ``schedules.py`` import these modules in one block
each, in registration order (a new module goes there), which orders the rows,
listings, help text and errors. Importing this module imports nothing from
streamlr (the spec modules import it); its lookups import those two on first use.

How to add an optimizer
-----------------------
1. The update rule in the kernel, all in ``_kernels/optimizers.pxd``: its
   ``OPT_*`` code, a step function, its step-table entries (and per-sample
   constants, if any) and its entry in ``optimizer_codes`` (exported as
   ``streamlr._kernels.kernel.OPTIMIZERS``).
2. The spec class in a private module (above; ``_kernel`` names the kernel
   rule; ``slots``/``hyperparameters``, ...), decorated with its row::

       @register_optimizer(strings={"radam": {}}, torch="torch.optim.RAdam",
                           torch_kwargs=lambda s: {"betas": s.betas, "eps": s.eps})
       class RAdam(Optimizer):
           ...

3. Its NumPy reference in ``tests/_reference_optim.py`` (``REFERENCES``,
   keyed by the class name). The suite then tests it against the reference
   (dense, CSR, penalties, weights, chunking, float32), against its PyTorch
   twin, through its strings, the command line and ``save``/``load``; a row
   without a reference fails ``test_every_optimizer_has_a_reference``.

How to add a schedule
---------------------
1. Its node in the kernel: an ``SCH_*`` code and an ``elif`` in
   ``sched_rate`` in ``_kernels/schedules.pxd``.
2. The spec class in a private module (above; ``_rate`` in NumPy and
   ``_compile``), decorated with ``@register_schedule(kind=..., code=...)``
   and, if it has them, its ``cli`` alias, ``sklearn`` string and ``torch``
   twin.
3. Its closed form in ``tests/_reference_schedules.py`` (``RATES``, keyed by
   the class name) and one example in ``CLOSED_FORM_CASES`` of
   ``tests/test_schedules.py``; the suite fails while either is missing.

How to add a loss
-----------------
1. Its kernel class in ``_kernels/losses.pyx`` and its name in that module's
   ``_LOSSES`` (what ``make_loss`` builds).
2. One ``LossEntry`` row in ``_LOSSES`` below (tasks, target encoding,
   probabilities, link, parameters); its target domain is the kernel's
   (``Loss.valid_target``).
3. Its NumPy value in ``tests/_reference.py`` (``LOSSES``); the suite fails
   while it is missing.
"""
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "OptimizerEntry", "ScheduleEntry", "LossEntry", "TASKS",
    "register_optimizer", "register_schedule",
    "optimizers", "optimizer", "optimizer_strings", "optimizer_for_string",
    "resolve_optimizer",
    "schedules", "schedule", "schedule_kinds", "sklearn_rates", "schedule_for_string",
    "losses", "loss", "spec_classes",
]

TASKS = ("classification", "regression")

_SPEC_MODULES = ("streamlr.optim", "streamlr.schedules")


def _frozen(mapping):
    return MappingProxyType(dict(mapping))


# -- the rows ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class OptimizerEntry:
    """One update rule: its spec class and the names it answers to.

    Parameters
    ----------
    name : str
        The spec class's name (``"Adam"``); the key of the NumPy reference in
        the tests and of the class in a model file.
    spec : type
        The spec class, exported by ``streamlr.optim``. Its ``_kernel`` names the
        kernel rule (for ``SGD`` it depends on ``momentum``), mapped to a
        kernel code by ``streamlr._kernels.kernel.OPTIMIZERS``.
    strings : Mapping[str, Mapping[str, Any]]
        The estimator's ``optimizer=`` strings (also the command line's
        names) that build this class, each with its constructor keywords:
        ``{"adam": {}, "amsgrad": {"amsgrad": True}}``.
    torch : str or None
        Dotted name of the PyTorch class the rule reproduces
        (``"torch.optim.Adam"``), used as an oracle by the tests; None if
        PyTorch has none.
    torch_kwargs : callable or None
        ``torch_kwargs(spec)``: the keywords (besides ``lr``) of the PyTorch
        twin equivalent to a spec object, or None for a parameterisation
        without a twin (``Adam(bias_correction=False)``).
    """

    name: str
    spec: type
    strings: Mapping[str, Mapping[str, Any]]
    torch: str | None = None
    torch_kwargs: Callable[[Any], dict | None] | None = None

    def build(self, string):
        """The spec object for one of this entry's ``strings``."""
        return self.spec(**self.strings[string])

    def kernel_rules(self):
        """The kernel rule names (``spec._kernel``) its strings select (a
        class without a string, as ``ScheduleFreeSGD``: its own)."""
        if not self.strings:
            return (self.spec._kernel,)
        return tuple(dict.fromkeys(self.build(s)._kernel for s in self.strings))


@dataclass(frozen=True, eq=False)
class ScheduleEntry:
    """One learning-rate schedule.

    Parameters
    ----------
    name : str
        The spec class's name (``"CosineAnnealing"``).
    spec : type
        The spec class, exported by ``streamlr.schedules``.
    kind : str
        The node kind its object compiles to at its root (the ``SCH_*``
        constants of ``_kernels/schedules.pxd``, lower case). Several
        schedules may share a kind (``Adaptive`` compiles to ``"constant"``).
    code : int
        The kind's code in the compiled node table.
    cli : str or None
        Its name on the command line (``--schedule cosine:T_max=1000``);
        None for the composites, which take other schedules.
    sklearn : str or None
        The scikit-learn ``learning_rate`` string this class stands for
        (``"constant"``, ``"invscaling"``, ``"optimal"``, ``"adaptive"``).
    sklearn_params : Mapping[str, str]
        For a scikit-learn string: which estimator parameter (``"eta0"`` or
        ``"power_t"``) each constructor argument takes its value from.
    torch : str or None
        Dotted name of the ``torch.optim.lr_scheduler`` twin, or None.
    torch_kwargs : callable or None
        ``torch_kwargs(spec)``: the keywords (besides the optimizer) that
        build the twin from a spec object; the optimizer's own rate is the
        spec's ``lr``. None where the twin cannot be built from keywords
        alone (the composites, whose twin nests other schedulers).
    """

    name: str
    spec: type
    kind: str
    code: int
    cli: str | None = None
    sklearn: str | None = None
    sklearn_params: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    torch: str | None = None
    torch_kwargs: Callable[[Any], dict | None] | None = None


@dataclass(frozen=True)
class LossEntry:
    """One loss function.

    Parameters
    ----------
    name : str
        scikit-learn's loss string (the estimators' ``loss=``).
    tasks : frozenset of str
        ``"classification"`` and/or ``"regression"``: the estimators that
        accept it (the classifier accepts the regression losses too, as
        scikit-learn's does).
    kernel : str
        The name ``streamlr._kernels.losses.make_loss`` builds it from.
    uses_epsilon : bool
        Whether the estimator's ``epsilon`` parameter is a parameter of it.
    negative_target : float
        The target of the negative class in the binary encoding of a
        classifier: 0.0 for ``log_loss`` (y in {0, 1}), -1.0 otherwise.
    probabilities : str or None
        How ``predict_proba`` is derived from the decision function:
        ``"logistic"`` (the logistic function), ``"modified_huber"``
        (``(clip(d, -1, 1) + 1) / 2``), or None (no ``predict_proba``).
    link : str
        How a regressor's prediction follows from the decision value d:
        ``"identity"`` (d) or ``"log"`` (``exp(d)``, the mean of a
        log-link GLM).
    parameters : tuple of str
        The estimator parameters besides ``epsilon`` that are parameters of
        it (``("power",)`` for Tweedie), passed to ``make_loss``.
    """

    name: str
    tasks: frozenset
    kernel: str
    uses_epsilon: bool = False
    negative_target: float = -1.0
    probabilities: str | None = None
    link: str = "identity"
    parameters: tuple = ()


_CLASSIFICATION = frozenset({"classification"})
_REGRESSION = frozenset({"regression"})
_BOTH = frozenset(TASKS)

# scikit-learn's order (its SGDClassifier.loss_functions), then streamlr's own
_LOSSES = {entry.name: entry for entry in (
    LossEntry("hinge", _CLASSIFICATION, "hinge"),
    LossEntry("log_loss", _CLASSIFICATION, "log_loss", negative_target=0.0,
              probabilities="logistic"),
    LossEntry("modified_huber", _CLASSIFICATION, "modified_huber",
              probabilities="modified_huber"),
    LossEntry("squared_hinge", _CLASSIFICATION, "squared_hinge"),
    LossEntry("perceptron", _CLASSIFICATION, "perceptron"),
    LossEntry("squared_error", _BOTH, "squared_error"),
    LossEntry("huber", _BOTH, "huber", uses_epsilon=True),
    LossEntry("epsilon_insensitive", _BOTH, "epsilon_insensitive", uses_epsilon=True),
    LossEntry("squared_epsilon_insensitive", _BOTH, "squared_epsilon_insensitive",
              uses_epsilon=True),
    # scikit-learn's GLMs (PoissonRegressor, GammaRegressor, TweedieRegressor,
    # QuantileRegressor), which it learns in batch only
    LossEntry("poisson", _REGRESSION, "poisson", link="log"),
    LossEntry("gamma", _REGRESSION, "gamma", link="log"),
    LossEntry("tweedie", _REGRESSION, "tweedie", link="log", parameters=("power",)),
    LossEntry("quantile", _REGRESSION, "quantile", parameters=("quantile",)),
)}

_OPTIMIZERS = {}        # class name -> OptimizerEntry, in registration order
_OPTIMIZER_STRINGS = {}  # string -> (OptimizerEntry, constructor keywords)
_SCHEDULES = {}         # class name -> ScheduleEntry
_KINDS = {}             # node kind -> code
_SKLEARN_RATES = {}     # scikit-learn learning_rate string -> ScheduleEntry

# The strings of streamlr 0.1, in the order its help text and error messages
# list them (it differs from the registration order in one place: "amsgrad",
# an Adam string, after "adamw"). Strings registered later follow in
# registration order; a new optimizer does not need to appear here.
_LISTED_FIRST = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
                 "adamw", "amsgrad", "adamax", "nadam", "ftrl")


# -- registration ----------------------------------------------------------------


def _same_class(a, b):
    """The same class, or its re-definition by a reload of its module."""
    return a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def register_optimizer(*, strings, torch=None, torch_kwargs=None):
    """Class decorator: register an optimizer spec class (its registry row).

    Parameters
    ----------
    strings : Mapping[str, Mapping[str, Any]]
        The ``optimizer=`` strings that build the class, with their
        constructor keywords. A string names one class only.
    torch, torch_kwargs
        The PyTorch twin; see `OptimizerEntry`.

    Returns
    -------
    callable
        The decorator; it returns the class unchanged.
    """
    def decorate(cls):
        name = cls.__name__
        old = _OPTIMIZERS.get(name)
        if old is not None and not _same_class(old.spec, cls):
            raise ValueError(f"an optimizer named {name!r} is registered already")
        entry = OptimizerEntry(name, cls, _frozen({s: _frozen(kw) for s, kw in strings.items()}),
                               torch, torch_kwargs)
        for s in entry.strings:
            owner = _OPTIMIZER_STRINGS.get(s)
            if owner is not None and owner[0].name != name:
                raise ValueError(f"the optimizer string {s!r} belongs to {owner[0].name}")
        for s in [s for s, (e, _) in _OPTIMIZER_STRINGS.items() if e.name == name]:
            del _OPTIMIZER_STRINGS[s]  # a re-registration replaces the old row
        _OPTIMIZERS[name] = entry
        for s, kw in entry.strings.items():
            _OPTIMIZER_STRINGS[s] = (entry, kw)
        _order_strings()
        return cls

    return decorate


def _order_strings():
    known = [s for s in _LISTED_FIRST if s in _OPTIMIZER_STRINGS]
    rest = [s for s in _OPTIMIZER_STRINGS if s not in _LISTED_FIRST]
    items = {s: _OPTIMIZER_STRINGS[s] for s in known + rest}
    _OPTIMIZER_STRINGS.clear()
    _OPTIMIZER_STRINGS.update(items)


def register_schedule(*, kind, code=None, cli=None, sklearn=None, sklearn_params=None,
                      torch=None, torch_kwargs=None):
    """Class decorator: register a schedule spec class (its registry row).

    Parameters
    ----------
    kind : str
        The node kind the class compiles to at its root.
    code : int, optional
        The kind's code in ``_kernels/schedules.pxd``; required for a kind
        no registered schedule has yet, optional (and checked) otherwise.
    cli, sklearn, sklearn_params, torch, torch_kwargs
        See `ScheduleEntry`.

    Returns
    -------
    callable
        The decorator; it returns the class unchanged.
    """
    def decorate(cls):
        name = cls.__name__
        old = _SCHEDULES.get(name)
        if old is not None and not _same_class(old.spec, cls):
            raise ValueError(f"a schedule named {name!r} is registered already")
        known = _KINDS.get(kind)
        if known is None and code is None:
            raise ValueError(f"schedule {name}: the new node kind {kind!r} needs its code")
        if known is not None and code is not None and code != known:
            raise ValueError(f"schedule {name}: node kind {kind!r} has code {known}, not {code}")
        if known is None and code in _KINDS.values():
            raise ValueError(f"schedule {name}: code {code} belongs to another node kind")
        for other in _SCHEDULES.values():
            if other.name == name:
                continue
            if cli is not None and other.cli == cli:
                raise ValueError(f"the command-line name {cli!r} belongs to {other.name}")
            if sklearn is not None and other.sklearn == sklearn:
                raise ValueError(f"the learning_rate string {sklearn!r} belongs to {other.name}")
        code_ = known if known is not None else int(code)
        _KINDS[kind] = code_
        entry = ScheduleEntry(name, cls, kind, code_, cli, sklearn,
                              _frozen(sklearn_params or {}), torch, torch_kwargs)
        _SCHEDULES[name] = entry
        for string in [s for s, e in _SKLEARN_RATES.items() if e.name == name]:
            del _SKLEARN_RATES[string]  # a re-registration replaces the old row
        if sklearn is not None:
            _SKLEARN_RATES[sklearn] = entry
        return cls

    return decorate


_LOADED = []


def _load():
    """Import the spec modules (which registers their rows), once."""
    if not _LOADED:
        for module in _SPEC_MODULES:
            importlib.import_module(module)
        _LOADED.append(True)


# -- optimizers -------------------------------------------------------------------


def optimizers():
    """Every registered optimizer.

    Returns
    -------
    tuple of OptimizerEntry
        In registration order (the import order in ``streamlr.optim``).
    """
    _load()
    return tuple(_OPTIMIZERS.values())


def optimizer(name):
    """The optimizer entry of a spec class name (``"Adam"``).

    Raises
    ------
    KeyError
        For a name that is not registered.
    """
    _load()
    return _OPTIMIZERS[name]


def optimizer_strings():
    """Every ``optimizer=`` string, in the order the documentation lists them.

    Returns
    -------
    tuple of str
        ``("sgd", "momentum", ...)``; the value of
        ``streamlr.optim.OPTIMIZER_NAMES``.
    """
    _load()
    return tuple(_OPTIMIZER_STRINGS)


def optimizer_for_string(string):
    """The entry and constructor keywords an ``optimizer=`` string stands for.

    Parameters
    ----------
    string : str
        One of `optimizer_strings()`.

    Returns
    -------
    entry : OptimizerEntry
    kwargs : Mapping[str, Any]

    Raises
    ------
    ValueError
        For an unknown string, listing the known ones.
    """
    try:
        return _OPTIMIZER_STRINGS[string]
    except KeyError:
        pass
    _load()  # the spec modules were not imported yet: look again
    try:
        return _OPTIMIZER_STRINGS[string]
    except KeyError:
        raise ValueError(
            f"Unknown optimizer {string!r}; expected one of {list(_OPTIMIZER_STRINGS)} "
            "or an object from streamlr.optim"
        ) from None


_BASE = []  # streamlr.optim.Optimizer, once imported


def resolve_optimizer(value):
    """The validated spec object for an estimator's ``optimizer`` parameter.

    Parameters
    ----------
    value : str or streamlr.optim.Optimizer
        A string of `optimizer_strings()` (a new spec object is built) or a
        spec object (validated and returned as is).

    Returns
    -------
    streamlr.optim.Optimizer

    Raises
    ------
    ValueError
        For an unknown string or an object with invalid parameters.
    TypeError
        For anything else.
    """
    if isinstance(value, str):
        entry, kwargs = optimizer_for_string(value)
        return entry.spec(**kwargs)
    if not _BASE:
        _BASE.append(importlib.import_module("streamlr.optim").Optimizer)
    if isinstance(value, _BASE[0]):
        value._validate()
        return value
    raise TypeError(
        f"optimizer must be a string or a streamlr.optim object, got {type(value).__name__}"
    )


# -- schedules ---------------------------------------------------------------------


def schedules():
    """Every registered schedule.

    Returns
    -------
    tuple of ScheduleEntry
        In registration order (the import order in ``streamlr.schedules``).
    """
    _load()
    return tuple(_SCHEDULES.values())


def schedule(name):
    """The schedule entry of a spec class name (``"StepDecay"``).

    Raises
    ------
    KeyError
        For a name that is not registered.
    """
    _load()
    return _SCHEDULES[name]


def schedule_kinds():
    """The node kinds of the compiled schedules and their codes.

    Returns
    -------
    dict
        ``{kind: code}`` in the order of the codes (the ``SCH_*`` constants
        of ``_kernels/schedules.pxd``).
    """
    _load()
    return dict(sorted(_KINDS.items(), key=lambda item: item[1]))


def sklearn_rates():
    """The scikit-learn ``learning_rate`` strings that are schedule objects.

    Returns
    -------
    tuple of str
        ``("constant", "invscaling", "optimal", "adaptive")``. (``"pa1"`` and
        ``"pa2"`` are not schedules: they are the passive-aggressive updates.)
    """
    return tuple(e.sklearn for e in schedules() if e.sklearn is not None)


def schedule_for_string(name, eta0, power_t):
    """The schedule object a scikit-learn ``learning_rate`` string stands for.

    Parameters
    ----------
    name : str
        One of `sklearn_rates()`.
    eta0, power_t : float
        The estimator's parameters of the same names.

    Returns
    -------
    streamlr.schedules.Schedule
        ``"constant"``: ``Constant(eta0)``; ``"invscaling"``:
        ``InverseScaling(eta0, power_t)``; ``"optimal"``: ``Optimal()``;
        ``"adaptive"``: ``Adaptive(eta0)``.

    Raises
    ------
    KeyError
        For a string that is not one of them.
    """
    _load()
    entry = _SKLEARN_RATES[name]
    values = {"eta0": eta0, "power_t": power_t}
    return entry.spec(**{arg: values[src] for arg, src in entry.sklearn_params.items()})


# -- losses --------------------------------------------------------------------------


def losses(task=None):
    """The losses, all or those of one task.

    Parameters
    ----------
    task : {"classification", "regression"} or None
        None for every loss.

    Returns
    -------
    tuple of LossEntry
        In scikit-learn's order.
    """
    if task is None:
        return tuple(_LOSSES.values())
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; expected one of {TASKS}")
    return tuple(e for e in _LOSSES.values() if task in e.tasks)


def loss(name):
    """The entry of a loss name.

    Raises
    ------
    KeyError
        For a name that is not registered.
    """
    return _LOSSES[name]


# -- persistence ---------------------------------------------------------------------


def spec_classes():
    """Every optimizer, schedule and drift detector spec class, by name.

    Returns
    -------
    dict
        ``{class name: class}``: the optimizers, the schedules, then the
        drift detectors. The classes a model file may name.
    """
    out = {e.name: e.spec for e in optimizers()}
    out.update((e.name, e.spec) for e in schedules())
    from . import drift  # the drift detectors: estimator parameters too
    out.update((name, getattr(drift, name)) for name in ("ADWIN", "PageHinkley"))
    return out
