"""Schedules built from schedules (``Warmup``, ``Sequential``) and ``ReduceOnPlateau``.

Private: import the classes from `streamlr.schedules`. ``ReduceOnPlateau``,
whose rate follows the training loss, is the last schedule registered, so it
comes last here too (the registration order is the order of the listings).
"""
import numpy as np

from ._registry import register_schedule
from ._schedules_base import _TORCH, Schedule, _count, _list_or_none, _positive
from ._spec import check_real


# the composites' twins nest other schedulers (LinearLR, then the schedule)
@register_schedule(kind="warmup", code=12, torch=_TORCH + "SequentialLR")
class Warmup(Schedule):
    r"""Linear warmup, then a schedule (PyTorch's ``LinearLR`` + ``SequentialLR``).

    The rate ramps from ``start_factor * schedule(0)`` to ``schedule(0)``
    over ``warmup_steps`` updates, then ``schedule`` runs with its own clock
    restarted at 0.

    Parameters
    ----------
    schedule : Schedule
        The schedule after the warmup (a `streamlr.schedules` object).
    warmup_steps : int
        The number of updates of the ramp, >= 1. The ``total_iters`` of
        PyTorch's ``LinearLR`` and the milestone of its ``SequentialLR``.
    start_factor : float, default=0.0
        The first rate as a fraction of ``schedule(0)``, in [0, 1]. The
        ``start_factor`` of PyTorch's ``LinearLR`` (which needs it > 0 and
        defaults to 1/3).

    See Also
    --------
    Sequential : Any schedules one after another.

    Notes
    -----
    With :math:`s` = ``schedule``, :math:`w` = ``warmup_steps`` and
    :math:`f` = ``start_factor``:

    .. math::
        \eta(t) = \begin{cases}
            s(0) \left(f + (1 - f) \frac{t}{w}\right) & t < w \\
            s(t - w) & t \ge w
        \end{cases}

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import Constant, Warmup
    >>> Warmup(Constant(0.1), warmup_steps=4)(np.arange(6))
    array([0.   , 0.025, 0.05 , 0.075, 0.1  , 0.1  ])
    """

    def __init__(self, schedule, warmup_steps, start_factor=0.0):
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.start_factor = start_factor
        self._validate()

    def _validate(self):
        if not isinstance(self.schedule, Schedule):
            raise ValueError(f"Invalid schedule value: {self.schedule!r} (expected a "
                             "streamlr.schedules object)")
        _count("warmup_steps", self.warmup_steps)
        check_real("start_factor", self.start_factor, low=0.0, high=1.0)

    def _children(self):
        return (self.schedule,)

    def _rate(self, t):
        w = self.warmup_steps
        factor = self.start_factor + (1.0 - self.start_factor) * t / w
        ramp = self.schedule(np.zeros_like(t)) * factor
        return np.where(t < w, ramp, self.schedule(np.maximum(t - w, 0.0)))

    def _compile(self, program, ctx):
        node = program.add("warmup")
        child = self.schedule._compile(program, ctx)
        program.set(node, [child, self.warmup_steps, self.start_factor])
        return node


@register_schedule(kind="sequential", code=13, torch=_TORCH + "SequentialLR")
class Sequential(Schedule):
    r"""Schedules one after another (PyTorch's ``SequentialLR``).

    Schedule i runs from milestone i-1 (0 for the first), on its own clock
    started at 0.

    Parameters
    ----------
    schedules : list of Schedule
        The schedules, in order (`streamlr.schedules` objects); a non-empty
        list or tuple. PyTorch's ``schedulers``.
    milestones : list of int
        The update counts at which the next schedule takes over: one fewer
        than ``schedules``, increasing integers >= 1. PyTorch's
        ``milestones``.

    See Also
    --------
    Warmup : A linear ramp, then a schedule.

    Notes
    -----
    With schedules :math:`s_0, \dots, s_n` and milestones
    :math:`m_0 < \dots < m_{n-1}`, the rate is :math:`s_i(t - m_{i-1})` for
    :math:`m_{i-1} \le t < m_i`, where :math:`m_{-1} = 0` and
    :math:`m_n = \infty`.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import Constant, ExponentialDecay, Sequential
    >>> Sequential([Constant(0.1), ExponentialDecay(0.1, 0.5)], milestones=[2])(np.arange(5))
    array([0.1  , 0.1  , 0.1  , 0.05 , 0.025])
    """

    def __init__(self, schedules, milestones):
        self.schedules = schedules
        self.milestones = milestones
        self._validate()

    def _validate(self):
        scheds = list(self.schedules) if isinstance(self.schedules, (list, tuple)) else None
        if not scheds or not all(isinstance(s, Schedule) for s in scheds):
            raise ValueError(f"Invalid schedules value: {self.schedules!r} (expected a "
                             "non-empty list of streamlr.schedules objects)")
        ms = _list_or_none(self.milestones)
        if ms is None or len(ms) != len(scheds) - 1:
            raise ValueError(f"Invalid milestones value: {self.milestones!r} (expected "
                             f"{len(scheds) - 1} increasing update counts)")
        for m in ms:
            _count("milestone", m)
        if any(b <= a for a, b in zip(ms, ms[1:], strict=False)):
            raise ValueError(f"Invalid milestones value: {self.milestones!r} (must increase)")

    def _children(self):
        return tuple(self.schedules)

    def _rate(self, t):
        ms = np.asarray(self.milestones, dtype=np.float64)
        idx = np.searchsorted(ms, t, side="right")
        out = np.empty_like(t)
        for i, sched in enumerate(self.schedules):
            sel = idx == i
            offset = ms[i - 1] if i > 0 else 0.0
            out[sel] = sched(t[sel] - offset)
        return out

    def _compile(self, program, ctx):
        node = program.add("sequential")
        children = [s._compile(program, ctx) for s in self.schedules]
        offset = program.add_extra(children + list(self.milestones))
        program.set(node, [len(children), offset])
        return node


@register_schedule(kind="plateau", code=14, cli="plateau", torch=_TORCH + "ReduceLROnPlateau",
                   torch_kwargs=lambda s: {"mode": "min", "threshold_mode": "rel",
                                           "factor": s.factor, "patience": s.patience,
                                           "threshold": s.threshold, "cooldown": s.cooldown,
                                           "min_lr": s.lr_min})
class ReduceOnPlateau(Schedule):
    """Cut the rate by ``factor`` when the loss stops improving (PyTorch's ``ReduceLROnPlateau``).

    PyTorch's mode "min" with a relative ``threshold``: after more than
    ``patience`` bad steps, then ``cooldown`` steps of rest, never below
    ``lr_min``. In a stream (``partial_fit``) one step is a window of
    ``window`` samples and the metric their mean progressive loss; in
    ``fit`` one step is an epoch and the metric its mean training loss. The
    state (current rate, best loss, counters) lives on the estimator; on its
    own, ``schedule(t)`` is ``lr``.

    Parameters
    ----------
    lr : float
        The first rate, > 0. The ``lr`` of the PyTorch optimizer.
    factor : float, default=0.1
        The factor of each cut, in (0, 1). PyTorch's ``factor``.
    patience : int, default=10
        The number of bad steps in a row tolerated, >= 0: the rate is cut
        at the next one. PyTorch's ``patience``.
    threshold : float, default=1e-4
        The relative improvement a step needs to count as good, >= 0: its
        metric below ``best * (1 - threshold)``. PyTorch's ``threshold``
        (with ``threshold_mode="rel"``).
    cooldown : int, default=0
        The number of steps after a cut during which bad steps are not
        counted, >= 0. PyTorch's ``cooldown``.
    lr_min : float, default=0.0
        The lowest rate, >= 0. PyTorch's ``min_lr``.
    window : int, default=1000
        The number of samples of one step under ``partial_fit``, >= 1 (no
        PyTorch counterpart: PyTorch steps when it is told to).

    See Also
    --------
    Adaptive : Scikit-learn's ``"adaptive"``, which cuts in ``fit`` only.

    Notes
    -----
    As in PyTorch (with its default ``eps=1e-8``), a cut that would change
    the rate by 1e-8 or less is skipped.

    Examples
    --------
    >>> from streamlr import SGDRegressor
    >>> from streamlr.schedules import ReduceOnPlateau
    >>> reg = SGDRegressor(learning_rate=ReduceOnPlateau(0.01, patience=2, window=500))
    >>> ReduceOnPlateau(0.01)(1000)  # on its own, the rate is lr
    0.01
    """

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4, cooldown=0,
                 lr_min=0.0, window=1000):
        self.lr = lr
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.lr_min = lr_min
        self.window = window
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        check_real("factor", self.factor, low=0.0, high=1.0, low_open=True, high_open=True)
        _count("patience", self.patience, low=0)
        check_real("threshold", self.threshold, low=0.0)
        _count("cooldown", self.cooldown, low=0)
        check_real("lr_min", self.lr_min, low=0.0)
        _count("window", self.window)

    def _rate(self, t):
        return np.full_like(t, self.lr)

    def _compile(self, program, ctx):
        return program.add("plateau", [self.lr, self.factor, self.patience, self.threshold,
                                       self.cooldown, self.lr_min, self.window])
