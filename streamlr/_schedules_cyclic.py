"""Cosine annealing, warm restarts and cyclical rates (CLR, 1cycle).

Private: import the classes from `streamlr.schedules`.
"""
import numpy as np

from ._registry import register_schedule
from ._schedules_base import _TORCH, Schedule, _count, _positive
from ._spec import check_bool, check_real


@register_schedule(kind="cosine", code=8, cli="cosine", torch=_TORCH + "CosineAnnealingLR",
                   torch_kwargs=lambda s: {"T_max": s.T_max, "eta_min": s.lr_min})
class CosineAnnealing(Schedule):
    r"""Cosine annealing from ``lr`` to ``lr_min`` over ``T_max`` updates (PyTorch's ``CosineAnnealingLR``).

    ``lr_min + (lr - lr_min) (1 + cos(pi t / T_max)) / 2``: PyTorch's
    ``CosineAnnealingLR`` in closed form, periodic past ``T_max`` (back up
    to ``lr`` at ``2 T_max``).

    Parameters
    ----------
    lr : float
        The first and highest rate, > 0. The ``lr`` of the PyTorch optimizer.
    T_max : int
        The number of updates from ``lr`` down to ``lr_min``, >= 1.
        PyTorch's ``T_max``.
    lr_min : float, default=0.0
        The lowest rate, >= 0. PyTorch's ``eta_min``.

    See Also
    --------
    CosineWarmRestarts : Restarts at ``lr`` instead of climbing back.
    Warmup : A linear ramp before the annealing.

    Notes
    -----
    .. math::
        \eta(t) = \mathrm{lr\_min} + (\mathrm{lr} - \mathrm{lr\_min})
        \frac{1 + \cos(\pi t / T_{max})}{2}

    References
    ----------
    I. Loshchilov and F. Hutter, "SGDR: Stochastic Gradient Descent with Warm
    Restarts", ICLR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import CosineAnnealing
    >>> CosineAnnealing(0.1, T_max=4)(np.arange(5))
    array([0.1       , 0.08535534, 0.05      , 0.01464466, 0.        ])
    """

    def __init__(self, lr, T_max, lr_min=0.0):
        self.lr = lr
        self.T_max = T_max
        self.lr_min = lr_min
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        _count("T_max", self.T_max)
        check_real("lr_min", self.lr_min, low=0.0)

    def _rate(self, t):
        return self.lr_min + (self.lr - self.lr_min) * (1 + np.cos(np.pi * t / self.T_max)) / 2

    def _compile(self, program, ctx):
        return program.add("cosine", [self.lr, self.T_max, self.lr_min])


@register_schedule(kind="cosine_restarts", code=9, cli="cosine_restarts",
                   torch=_TORCH + "CosineAnnealingWarmRestarts",
                   torch_kwargs=lambda s: {"T_0": s.T_0, "T_mult": s.T_mult, "eta_min": s.lr_min})
class CosineWarmRestarts(Schedule):
    r"""SGDR, cosine annealing with warm restarts (PyTorch's ``CosineAnnealingWarmRestarts``).

    Cosine annealing from ``lr`` to ``lr_min`` over a period that starts at
    ``T_0`` and is multiplied by ``T_mult`` at each restart (Loshchilov and
    Hutter 2017).

    Parameters
    ----------
    lr : float
        The rate at each restart, > 0. The ``lr`` of the PyTorch optimizer.
    T_0 : int
        The number of updates of the first period, >= 1. PyTorch's ``T_0``.
    T_mult : int, default=1
        The factor of the period at each restart, >= 1. PyTorch's
        ``T_mult``.
    lr_min : float, default=0.0
        The lowest rate, >= 0. PyTorch's ``eta_min``.

    See Also
    --------
    CosineAnnealing : One annealing, periodic past its end.

    Notes
    -----
    With :math:`T_i = T_0 T_{mult}^i` the length of the current period and
    :math:`T_{cur}` the updates made since it started,

    .. math::
        \eta(t) = \mathrm{lr\_min} + (\mathrm{lr} - \mathrm{lr\_min})
        \frac{1 + \cos(\pi T_{cur} / T_i)}{2}

    References
    ----------
    I. Loshchilov and F. Hutter, "SGDR: Stochastic Gradient Descent with Warm
    Restarts", ICLR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import CosineWarmRestarts
    >>> CosineWarmRestarts(0.1, T_0=2, T_mult=2)(np.arange(7))  # restarts at t = 2 and 6
    array([0.1       , 0.05      , 0.1       , 0.08535534, 0.05      ,
           0.01464466, 0.1       ])
    """

    def __init__(self, lr, T_0, T_mult=1, lr_min=0.0):
        self.lr = lr
        self.T_0 = T_0
        self.T_mult = T_mult
        self.lr_min = lr_min
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        _count("T_0", self.T_0)
        _count("T_mult", self.T_mult)
        check_real("lr_min", self.lr_min, low=0.0)

    def _rate(self, t):
        t = np.asarray(t, dtype=np.float64)
        start = np.zeros_like(t)
        length = np.full_like(t, float(self.T_0))
        if self.T_mult == 1:
            start = np.floor(t / self.T_0) * self.T_0
        else:
            while True:
                past = t >= start + length
                if not past.any():
                    break
                start = np.where(past, start + length, start)
                length = np.where(past, length * self.T_mult, length)
        cosine = np.cos(np.pi * (t - start) / length)
        return self.lr_min + (self.lr - self.lr_min) * (1 + cosine) / 2

    def _compile(self, program, ctx):
        return program.add("cosine_restarts", [self.lr, self.T_0, self.T_mult, self.lr_min])


@register_schedule(kind="cyclic", code=10, cli="cyclic", torch=_TORCH + "CyclicLR",
                   torch_kwargs=lambda s: {"base_lr": s.lr_min, "max_lr": s.lr_max,
                                           "step_size_up": s.step_size_up,
                                           "step_size_down": s.step_size_down, "mode": s.mode,
                                           "gamma": s.gamma, "cycle_momentum": False})
class Cyclic(Schedule):
    r"""Cyclical rates, triangular waves between ``lr_min`` and ``lr_max`` (PyTorch's ``CyclicLR``).

    Smith 2017: ``mode="triangular2"`` halves the amplitude each cycle,
    ``"exp_range"`` scales it by ``gamma ** t``. PyTorch's momentum cycling
    (``cycle_momentum``) and custom ``scale_fn`` are not reproduced.

    Parameters
    ----------
    lr_min : float
        The bottom of the waves, >= 0. PyTorch's ``base_lr``.
    lr_max : float
        The top of the waves (of the first, in modes ``"triangular2"`` and
        ``"exp_range"``), > 0. PyTorch's ``max_lr``.
    step_size_up : int
        The number of updates of a rising half, >= 1. PyTorch's
        ``step_size_up`` (whose default is 2000).
    step_size_down : int or None, default=None
        The number of updates of a falling half, >= 1; None for
        ``step_size_up``. PyTorch's ``step_size_down``.
    mode : {"triangular", "triangular2", "exp_range"}, default="triangular"
        The amplitude: constant, halved each cycle, or scaled by
        ``gamma ** t``. PyTorch's ``mode``.
    gamma : float, default=1.0
        The factor per update of mode ``"exp_range"``, > 0. PyTorch's
        ``gamma``.

    See Also
    --------
    OneCycle : A single cycle, then an annealing far below ``lr_min``.

    Notes
    -----
    With :math:`u` = ``step_size_up``, :math:`d` = ``step_size_down``, the
    cycle :math:`c = \lfloor 1 + t / (u + d) \rfloor` and the position in it
    :math:`x = 1 + t / (u + d) - c`,

    .. math::
        \eta(t) = \mathrm{lr\_min} + (\mathrm{lr\_max} - \mathrm{lr\_min})\,
        s(x)\, h(t), \quad
        s(x) = \begin{cases} x / r & x \le r \\ (x - 1) / (r - 1) & x > r \end{cases},
        \quad r = \frac{u}{u + d}

    with :math:`h(t) = 1`, :math:`2^{1 - c}` or :math:`\gamma^t` in the three
    modes.

    References
    ----------
    L. N. Smith, "Cyclical Learning Rates for Training Neural Networks",
    WACV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.schedules import Cyclic
    >>> Cyclic(0.0, 1.0, step_size_up=2)(np.arange(6))
    array([0. , 0.5, 1. , 0.5, 0. , 0.5])
    """

    _MODES = ("triangular", "triangular2", "exp_range")

    def __init__(self, lr_min, lr_max, step_size_up, step_size_down=None,
                 mode="triangular", gamma=1.0):
        self.lr_min = lr_min
        self.lr_max = lr_max
        self.step_size_up = step_size_up
        self.step_size_down = step_size_down
        self.mode = mode
        self.gamma = gamma
        self._validate()

    def _validate(self):
        check_real("lr_min", self.lr_min, low=0.0)
        _positive("lr_max", self.lr_max)
        _count("step_size_up", self.step_size_up)
        if self.step_size_down is not None:
            _count("step_size_down", self.step_size_down)
        if self.mode not in self._MODES:
            raise ValueError(f"Invalid mode value: {self.mode!r} (expected one of {self._MODES})")
        check_real("gamma", self.gamma, low=0.0, low_open=True)

    def _sizes(self):
        up = float(self.step_size_up)
        down = float(self.step_size_down) if self.step_size_down is not None else up
        return up, down

    def _rate(self, t):
        up, down = self._sizes()
        total = up + down
        cycle = np.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        ratio = up / total
        scale = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        height = (self.lr_max - self.lr_min) * scale
        if self.mode == "triangular":
            return self.lr_min + height * 1.0
        if self.mode == "triangular2":
            return self.lr_min + height * (1 / (2.0 ** (cycle - 1)))
        return self.lr_min + height * np.power(self.gamma, t)

    def _compile(self, program, ctx):
        up, down = self._sizes()
        return program.add("cyclic", [self.lr_min, self.lr_max, up, down,
                                      self._MODES.index(self.mode), self.gamma])


@register_schedule(kind="onecycle", code=11, cli="onecycle", torch=_TORCH + "OneCycleLR",
                   torch_kwargs=lambda s: {"max_lr": s.lr_max, "total_steps": s.total_steps,
                                           "pct_start": s.pct_start, "anneal_strategy": s.anneal,
                                           "div_factor": s.div_factor,
                                           "final_div_factor": s.final_div_factor,
                                           "three_phase": s.three_phase,
                                           "cycle_momentum": False})
class OneCycle(Schedule):
    r"""The 1cycle policy (Smith and Topin 2018; PyTorch's ``OneCycleLR``).

    Up from ``lr_max / div_factor`` to ``lr_max`` over ``pct_start`` of
    ``total_steps``, then down to ``lr_max / div_factor / final_div_factor``
    (``three_phase``: back to the start first). Holds its final rate past
    ``total_steps``: from ``t = total_steps - 1`` on (PyTorch allows one more
    step, extrapolating the last phase, then raises). PyTorch's momentum
    cycling (``cycle_momentum``) is not reproduced.

    Parameters
    ----------
    lr_max : float
        The peak rate, > 0. PyTorch's ``max_lr``.
    total_steps : int
        The number of updates of the cycle, >= 2. PyTorch's ``total_steps``
        (PyTorch also takes it as ``epochs * steps_per_epoch``).
    pct_start : float, default=0.3
        The fraction of ``total_steps`` spent rising, in (0, 1). PyTorch's
        ``pct_start``.
    anneal : {"cos", "linear"}, default="cos"
        The shape of each phase. PyTorch's ``anneal_strategy``.
    div_factor : float, default=25.0
        The first rate is ``lr_max / div_factor``, > 0. PyTorch's
        ``div_factor``.
    final_div_factor : float, default=1e4
        The final rate is the first divided by ``final_div_factor``, > 0.
        PyTorch's ``final_div_factor``.
    three_phase : bool, default=False
        Fall back to the first rate before the final fall (three phases
        instead of two). PyTorch's ``three_phase``.

    See Also
    --------
    Cyclic : Repeated triangular cycles.

    Notes
    -----
    The phases end at the updates :math:`e_1 = p N - 1` (with
    ``three_phase``, then :math:`e_2 = 2 p N - 2`) and :math:`N - 1`, for
    :math:`N` = ``total_steps`` and :math:`p` = ``pct_start``; each needs at
    least one update. A phase from rate :math:`a` to rate :math:`b`, at the
    fraction :math:`q` of its length, has the rate

    .. math::
        b + \frac{a - b}{2} (1 + \cos \pi q) \ \text{(cos)}, \quad
        a + (b - a) q \ \text{(linear)}

    References
    ----------
    L. N. Smith and N. Topin, "Super-Convergence: Very Fast Training of
    Neural Networks Using Large Learning Rates", arXiv:1708.07120.

    Examples
    --------
    >>> from streamlr.schedules import OneCycle
    >>> OneCycle(0.1, total_steps=100)([0, 29, 99])  # start, peak, end
    array([4.e-03, 1.e-01, 4.e-07])
    """

    def __init__(self, lr_max, total_steps, pct_start=0.3, anneal="cos",
                 div_factor=25.0, final_div_factor=1e4, three_phase=False):
        self.lr_max = lr_max
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.anneal = anneal
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.three_phase = three_phase
        self._validate()

    def _validate(self):
        _positive("lr_max", self.lr_max)
        _count("total_steps", self.total_steps, low=2)
        check_real("pct_start", self.pct_start, low=0.0, high=1.0, low_open=True, high_open=True)
        if self.anneal not in ("cos", "linear"):
            raise ValueError(f"Invalid anneal value: {self.anneal!r} (expected 'cos' or 'linear')")
        _positive("div_factor", self.div_factor)
        _positive("final_div_factor", self.final_div_factor)
        check_bool("three_phase", self.three_phase)
        ends = self._ends()
        if any(b <= a for a, b in zip([0.0] + ends, ends, strict=False)):
            raise ValueError("Invalid pct_start/total_steps: every phase needs at least one step")

    def _ends(self):
        n = self.total_steps
        if self.three_phase:
            return [float(self.pct_start * n) - 1, float(2 * self.pct_start * n) - 2, n - 1.0]
        return [float(self.pct_start * n) - 1, n - 1.0]

    def _lrs(self):
        initial = self.lr_max / self.div_factor
        return initial, float(self.lr_max), initial / self.final_div_factor

    def _rate(self, t):
        initial, peak, low = self._lrs()
        ends = self._ends()
        x = np.minimum(t, ends[-1])  # the final rate (t = total_steps - 1) holds past the end
        if self.three_phase:
            points = [(initial, peak), (peak, initial), (initial, low)]
        else:
            points = [(initial, peak), (peak, low)]
        out = np.empty_like(x)
        start = 0.0
        done = np.zeros(x.shape, dtype=bool)
        for i, (end, (a, b)) in enumerate(zip(ends, points, strict=True)):
            sel = ~done & ((x <= end) | (i == len(ends) - 1))
            pct = (x[sel] - start) / (end - start)
            if self.anneal == "cos":
                out[sel] = b + (a - b) / 2.0 * (np.cos(np.pi * pct) + 1)
            else:
                out[sel] = (b - a) * pct + a
            done |= sel
            start = end
        return out

    def _compile(self, program, ctx):
        initial, peak, low = self._lrs()
        ends = self._ends() + [0.0] * (3 - len(self._ends()))
        return program.add("onecycle", [initial, peak, low, *ends,
                                         float(self.anneal == "cos"), len(self._ends())])
