"""The decaying schedules: time-based, step, multi-step, exponential, polynomial.

Private: import the classes from `streamlr.schedules`.
"""
import numpy as np

from ._registry import register_schedule
from ._schedules_base import _TORCH, Schedule, _count, _list_or_none, _positive
from ._spec import check_bool, check_real


@register_schedule(kind="invtime", code=3, cli="invtime")
class InverseTimeDecay(Schedule):
    r"""Time-based decay ``lr / (1 + decay_rate * t / decay_steps)`` (Keras's ``InverseTimeDecay``).

    With ``staircase``, ``t / decay_steps`` is floored.

    Parameters
    ----------
    lr : float
        The first rate, > 0. Keras's ``initial_learning_rate``.
    decay_rate : float
        The decay per ``decay_steps`` updates, >= 0. Keras's ``decay_rate``.
    decay_steps : float, default=1
        The time unit of the decay, in updates, > 0. Keras's ``decay_steps``.
    staircase : bool, default=False
        Floor ``t / decay_steps``: the rate changes every ``decay_steps``
        updates. Keras's ``staircase``.

    See Also
    --------
    InverseScaling : ``lr / (t + 1) ** power_t``.

    Notes
    -----
    .. math::
        \eta(t) = \frac{\mathrm{lr}}{1 + \mathrm{decay\_rate} \cdot x}, \quad
        x = \frac{t}{\mathrm{decay\_steps}}
        \ \left(\left\lfloor \frac{t}{\mathrm{decay\_steps}} \right\rfloor
        \text{ with staircase}\right)

    Examples
    --------
    >>> from streamlr.schedules import InverseTimeDecay
    >>> InverseTimeDecay(0.1, decay_rate=1.0, decay_steps=10, staircase=True)([0, 5, 10, 30])
    array([0.1  , 0.1  , 0.05 , 0.025])
    """

    def __init__(self, lr, decay_rate, decay_steps=1, staircase=False):
        self.lr = lr
        self.decay_rate = decay_rate
        self.decay_steps = decay_steps
        self.staircase = staircase
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        check_real("decay_rate", self.decay_rate, low=0.0)
        _positive("decay_steps", self.decay_steps)
        check_bool("staircase", self.staircase)

    def _rate(self, t):
        x = t / self.decay_steps
        if self.staircase:
            x = np.floor(x)
        return self.lr / (1.0 + self.decay_rate * x)

    def _compile(self, program, ctx):
        return program.add("invtime", [self.lr, self.decay_rate, self.decay_steps,
                                       float(self.staircase)])


@register_schedule(kind="step", code=4, cli="step", torch=_TORCH + "StepLR",
                   torch_kwargs=lambda s: {"step_size": s.step_size, "gamma": s.gamma})
class StepDecay(Schedule):
    r"""Step decay ``lr * gamma ** (t // step_size)`` (PyTorch's ``StepLR``).

    Parameters
    ----------
    lr : float
        The first rate, > 0. The ``lr`` of the PyTorch optimizer.
    step_size : int
        The number of updates between two cuts, >= 1. PyTorch's
        ``step_size``.
    gamma : float, default=0.1
        The factor of each cut, >= 0. PyTorch's ``gamma``.

    See Also
    --------
    MultiStepDecay : Cuts at given update counts.

    Notes
    -----
    .. math::
        \eta(t) = \mathrm{lr} \cdot \gamma^{\lfloor t / \mathrm{step\_size} \rfloor}

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import StepDecay
    >>> StepDecay(0.1, step_size=2, gamma=0.5)(np.arange(5))
    array([0.1  , 0.1  , 0.05 , 0.05 , 0.025])
    """

    def __init__(self, lr, step_size, gamma=0.1):
        self.lr = lr
        self.step_size = step_size
        self.gamma = gamma
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        _count("step_size", self.step_size)
        check_real("gamma", self.gamma, low=0.0)

    def _rate(self, t):
        return self.lr * np.power(self.gamma, np.floor(t / self.step_size))

    def _compile(self, program, ctx):
        return program.add("step", [self.lr, self.step_size, self.gamma])


@register_schedule(kind="multistep", code=5, cli="multistep", torch=_TORCH + "MultiStepLR",
                   torch_kwargs=lambda s: {"milestones": list(s.milestones), "gamma": s.gamma})
class MultiStepDecay(Schedule):
    r"""Multi-step decay ``lr * gamma ** (number of milestones <= t)`` (PyTorch's ``MultiStepLR``).

    Parameters
    ----------
    lr : float
        The first rate, > 0. The ``lr`` of the PyTorch optimizer.
    milestones : list of int
        The update counts of the cuts: a non-empty list of integers >= 0,
        in any order; a count listed k times cuts by ``gamma ** k`` there,
        as PyTorch's ``milestones`` (a ``Counter``) does.
    gamma : float, default=0.1
        The factor of each cut, >= 0. PyTorch's ``gamma``.

    See Also
    --------
    StepDecay : Cuts at regular intervals.

    Notes
    -----
    .. math::
        \eta(t) = \mathrm{lr} \cdot \gamma^{|\{m \in \mathrm{milestones} : m \le t\}|}

    counting repeated milestones with their multiplicity.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import MultiStepDecay
    >>> MultiStepDecay(1.0, milestones=[2, 4], gamma=0.1)(np.arange(6))
    array([1.  , 1.  , 0.1 , 0.1 , 0.01, 0.01])
    """

    def __init__(self, lr, milestones, gamma=0.1):
        self.lr = lr
        self.milestones = milestones
        self.gamma = gamma
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        check_real("gamma", self.gamma, low=0.0)
        ms = _list_or_none(self.milestones)
        if not ms:
            raise ValueError(f"Invalid milestones value: {self.milestones!r} (expected a "
                             "non-empty list of update counts)")
        for m in ms:
            _count("milestones", m, low=0)

    def _rate(self, t):
        n = (np.asarray(self.milestones, dtype=np.float64)[:, None] <= t.reshape(1, -1)).sum(0)
        return (self.lr * np.power(self.gamma, n)).reshape(t.shape)

    def _compile(self, program, ctx):
        offset = program.add_extra(sorted(self.milestones))
        return program.add("multistep", [self.lr, self.gamma, offset, len(self.milestones)])


@register_schedule(kind="exponential", code=6, cli="exponential",
                   torch=_TORCH + "ExponentialLR", torch_kwargs=lambda s: {"gamma": s.gamma})
class ExponentialDecay(Schedule):
    r"""Exponential decay ``lr * gamma ** t`` (PyTorch's ``ExponentialLR``).

    Parameters
    ----------
    lr : float
        The first rate, > 0. The ``lr`` of the PyTorch optimizer.
    gamma : float
        The factor per update, in (0, 1]. PyTorch's ``gamma``.

    Notes
    -----
    .. math:: \eta(t) = \mathrm{lr} \cdot \gamma^t

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import ExponentialDecay
    >>> ExponentialDecay(0.1, gamma=0.5)(np.arange(4))
    array([0.1   , 0.05  , 0.025 , 0.0125])
    """

    def __init__(self, lr, gamma):
        self.lr = lr
        self.gamma = gamma
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        check_real("gamma", self.gamma, low=0.0, high=1.0, low_open=True)

    def _rate(self, t):
        return self.lr * np.power(self.gamma, t)

    def _compile(self, program, ctx):
        return program.add("exponential", [self.lr, self.gamma])


@register_schedule(kind="polynomial", code=7, cli="polynomial", torch=_TORCH + "PolynomialLR",
                   torch_kwargs=lambda s: {"total_iters": s.total_steps, "power": s.power})
class PolynomialDecay(Schedule):
    r"""Polynomial decay over ``total_steps`` updates (PyTorch's ``PolynomialLR``).

    ``lr * (1 - min(t, total_steps) / total_steps) ** power``: holds its
    final rate past ``total_steps``.

    Parameters
    ----------
    lr : float
        The first rate, > 0. The ``lr`` of the PyTorch optimizer.
    total_steps : int
        The number of updates of the decay, >= 1. PyTorch's
        ``total_iters``.
    power : float, default=1.0
        The exponent, >= 0 (1 decays linearly to 0). PyTorch's ``power``.

    Notes
    -----
    .. math::
        \eta(t) = \mathrm{lr} \left(1 - \frac{\min(t, T)}{T}\right)^{\mathrm{power}},
        \quad T = \mathrm{total\_steps}

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import PolynomialDecay
    >>> PolynomialDecay(0.1, total_steps=4)(np.arange(6))
    array([0.1  , 0.075, 0.05 , 0.025, 0.   , 0.   ])
    """

    def __init__(self, lr, total_steps, power=1.0):
        self.lr = lr
        self.total_steps = total_steps
        self.power = power
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        _count("total_steps", self.total_steps)
        check_real("power", self.power, low=0.0)

    def _rate(self, t):
        return self.lr * np.power(1.0 - np.minimum(self.total_steps, t) / self.total_steps,
                                  self.power)

    def _compile(self, program, ctx):
        return program.add("polynomial", [self.lr, self.total_steps, self.power])
