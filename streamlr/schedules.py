r"""Learning-rate schedules: closed-form functions of the update count t.

Each object is a spec (parameters only, validated when built) that the
estimators accept as ``learning_rate=``. ``schedule(t)`` is the rate used for
update number ``t + 1`` (``t`` updates already made; a scalar or a NumPy array
of them); where PyTorch has a twin, it equals PyTorch's rate after ``t``
calls of ``scheduler.step()``. Inside ``fit``/``partial_fit`` the same formula
runs compiled in the per-sample loop (``streamlr/_kernels/schedules.pxd``), on
the estimator's update counter, which continues across epochs and calls: a
stream split into any chunks trains the same model.

The scikit-learn strings map to objects: ``"constant"`` is ``Constant(eta0)``,
``"invscaling"`` is ``InverseScaling(eta0, power_t)``, ``"optimal"`` is
``Optimal()``, ``"adaptive"`` is ``Adaptive(eta0)``.

This is the one public module of the schedules; it holds the node-table
compiler (`compile_schedule`, `walk`) and re-exports the classes, which are
defined in private modules by kind:

* ``_schedules_base``: the base class `Schedule` and the parameter checks;
* ``_schedules_sklearn``: scikit-learn's four (`Constant`, `InverseScaling`,
  `Optimal` and its `optimal_t0`, `Adaptive`);
* ``_schedules_decay``: `InverseTimeDecay`, `StepDecay`, `MultiStepDecay`,
  `ExponentialDecay`, `PolynomialDecay`;
* ``_schedules_cyclic``: `CosineAnnealing`, `CosineWarmRestarts`, `Cyclic`,
  `OneCycle`;
* ``_schedules_composite``: `Warmup`, `Sequential`, `ReduceOnPlateau`.

Adding a schedule: one branch in ``sched_rate`` in ``_kernels/schedules.pxd``,
a class in the module of its kind (``_rate`` in NumPy and ``_compile``) and
its registry row, the ``@register_schedule`` decorator (node kind and code,
command-line alias, PyTorch twin); see ``streamlr/_registry.py``. Importing a
module registers its classes: the registration order, which orders the
listings and the help text, is the order of the imports below, then of the
classes in each module.
"""
import numpy as np

from . import _registry

# The schedule classes, re-exported (``__all__`` below names them from their
# registry rows). The order of these imports is the registration order: keep it.
# isort: off
from ._schedules_base import Schedule  # noqa: F401
from ._schedules_sklearn import (  # noqa: F401
    Constant, InverseScaling, Optimal, Adaptive, optimal_t0,
)
from ._schedules_decay import (  # noqa: F401
    InverseTimeDecay, StepDecay, MultiStepDecay, ExponentialDecay, PolynomialDecay,
)
from ._schedules_cyclic import CosineAnnealing, CosineWarmRestarts, Cyclic, OneCycle  # noqa: F401
from ._schedules_composite import Warmup, Sequential, ReduceOnPlateau  # noqa: F401
# isort: on


class _Program:
    """The flat node table a schedule compiles to (see schedules.pxd)."""

    def __init__(self):
        self.kinds, self.params, self.extra = [], [], []

    def add(self, kind, params=()):
        """Append a node of ``kind`` (at most eight params); return its index."""
        params = [float(p) for p in params]
        assert len(params) <= 8
        self.kinds.append(_KIND[kind])
        self.params.append(params + [0.0] * (8 - len(params)))
        return len(self.kinds) - 1

    def set(self, node, params):
        """Replace the params of ``node`` (a composite, once its children are in)."""
        params = [float(p) for p in params]
        self.params[node] = params + [0.0] * (8 - len(params))

    def add_extra(self, values):
        """Append ``values`` to the extra array; return their offset."""
        offset = len(self.extra)
        self.extra.extend(float(v) for v in values)
        return offset

    def arrays(self):
        """The (kinds, params, extra) arrays of the kernel."""
        return (np.asarray(self.kinds, dtype=np.intc),
                np.asarray(self.params, dtype=np.float64).reshape(-1),
                np.asarray(self.extra or [0.0], dtype=np.float64))


def walk(schedule):
    """Iterate over a schedule and every schedule nested in it, depth first.

    Parameters
    ----------
    schedule : Schedule
        The root: any `streamlr.schedules` object.

    Yields
    ------
    Schedule
        ``schedule`` first, then the schedules nested in each composite
        (`Warmup`, `Sequential`), recursively.

    See Also
    --------
    compile_schedule : The node table of the same schedules.

    Examples
    --------
    >>> from streamlr.schedules import Constant, Sequential, StepDecay, Warmup, walk
    >>> sched = Sequential([Warmup(StepDecay(0.1, 10), 5), Constant(0.01)], [100])
    >>> [type(s).__name__ for s in walk(sched)]
    ['Sequential', 'Warmup', 'StepDecay', 'Constant']
    """
    yield schedule
    for child in schedule._children():
        yield from walk(child)


def compile_schedule(schedule, ctx):
    """Compile a schedule to the node table that the per-sample loop evaluates.

    Parameters
    ----------
    schedule : Schedule
        The schedule; its root becomes node 0.
    ctx : dict
        What the nodes take from the estimator: ``"alpha"`` (float, for
        ``Optimal(alpha=None)``) and ``"dloss"`` (the loss derivative
        ``dloss(y, p)``, for the t0 of `Optimal`; the hinge loss's when
        absent); optionally ``"adaptive_lr"`` (the rate of an `Adaptive`
        node; its ``lr`` when absent).

    Returns
    -------
    kinds : numpy.ndarray of numpy.intc
        The kind code of each node (the ``SCH_*`` constants of
        ``_kernels/schedules.pxd``).
    params : numpy.ndarray of numpy.float64
        Eight parameters per node, flattened.
    extra : numpy.ndarray of numpy.float64
        The lists that nodes refer to by offset (milestones, child nodes);
        ``[0.0]`` when there are none.
    state : numpy.ndarray of numpy.float64
        The initial state, six values per node, flattened: zeros, but a
        `ReduceOnPlateau` node starts at its rate ``lr`` and a best loss of
        infinity.

    Raises
    ------
    ValueError
        For ``Optimal(alpha=None)`` without ``ctx["alpha"]``.

    See Also
    --------
    walk : The schedules of the table, in node order.

    Examples
    --------
    >>> from streamlr.schedules import StepDecay, Warmup, compile_schedule
    >>> kinds, params, extra, state = compile_schedule(Warmup(StepDecay(0.1, 10), 5), {})
    >>> kinds.tolist()  # a "warmup" node, then its child, a "step" node
    [12, 4]
    >>> params.reshape(-1, 8)[1, :3].tolist()  # the step node: lr, step_size, gamma
    [0.1, 10.0, 0.1]
    """
    program = _Program()
    root = schedule._compile(program, ctx)
    assert root == 0
    kinds, params, extra = program.arrays()
    state = np.zeros((len(kinds), 6))
    for i, k in enumerate(kinds):
        if k == _KIND["plateau"]:
            state[i, 0] = params[8 * i]   # current rate
            state[i, 1] = np.inf          # best loss
    return kinds, params, extra, state.reshape(-1)


def from_string(name, eta0, power_t):
    """Build the object that a scikit-learn ``learning_rate`` string stands for.

    Parameters
    ----------
    name : {"constant", "invscaling", "optimal", "adaptive"}
        The string.
    eta0 : float
        The estimator's ``eta0``: the rate of ``"constant"``, ``"adaptive"``
        and the first rate of ``"invscaling"``.
    power_t : float
        The estimator's ``power_t``: the exponent of ``"invscaling"``.

    Returns
    -------
    Schedule
        ``Constant(eta0)``, ``InverseScaling(eta0, power_t)``, ``Optimal()``
        or ``Adaptive(eta0)``.

    Raises
    ------
    KeyError
        For another string (``"pa1"`` and ``"pa2"`` are not schedules).

    Examples
    --------
    >>> from streamlr.schedules import from_string
    >>> from_string("invscaling", 0.01, 0.25)
    InverseScaling(lr=0.01, power_t=0.25)
    """
    return _registry.schedule_for_string(name, eta0, power_t)


# node kinds: the codes of _kernels/schedules.pxd, from the registry rows above
_KIND = _registry.schedule_kinds()

__all__ = (["Schedule"] + [e.name for e in _registry.schedules()]
           + ["compile_schedule", "from_string", "walk"])
