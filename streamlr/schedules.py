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

Adding a schedule: one branch in ``sched_rate`` in ``_kernels/schedules.pxd``,
a class here (``_rate`` in NumPy and ``_compile``) and its registry row, the
``@register_schedule`` decorator (node kind and code, command-line alias,
PyTorch twin); see ``streamlr/_registry.py``.
"""
import numbers

import numpy as np

from . import _registry
from ._plotting import axes
from ._registry import register_schedule
from ._spec import Spec, check_bool, check_real

_TORCH = "torch.optim.lr_scheduler."


class _Program:
    """The flat node table a schedule compiles to (see schedules.pxd)."""

    def __init__(self):
        self.kinds, self.params, self.extra = [], [], []

    def add(self, kind, params=()):
        params = [float(p) for p in params]
        assert len(params) <= 8
        self.kinds.append(_KIND[kind])
        self.params.append(params + [0.0] * (8 - len(params)))
        return len(self.kinds) - 1

    def set(self, node, params):
        params = [float(p) for p in params]
        self.params[node] = params + [0.0] * (8 - len(params))

    def add_extra(self, values):
        offset = len(self.extra)
        self.extra.extend(float(v) for v in values)
        return offset

    def arrays(self):
        return (np.asarray(self.kinds, dtype=np.intc),
                np.asarray(self.params, dtype=np.float64).reshape(-1),
                np.asarray(self.extra or [0.0], dtype=np.float64))


def _t(t):
    arr = np.asarray(t, dtype=np.float64)
    if np.any(arr < 0) or not np.all(np.isfinite(arr)):
        raise ValueError("t must be a finite, non-negative update count")
    return arr


class Schedule(Spec):
    """Base class of the schedules."""

    def __call__(self, t):
        """Rate for update ``t + 1``; ``t`` a number or an array of them."""
        arr = _t(t)
        out = np.asarray(self._rate(arr), dtype=np.float64)
        return float(out) if np.ndim(t) == 0 else out

    def _rate(self, t):  # NumPy closed form, vectorised over t
        raise NotImplementedError

    def _compile(self, program, ctx):
        """Append this schedule's nodes to ``program``; return its node index."""
        raise NotImplementedError

    def _children(self):
        return ()

    def plot(self, t_max=1000, ax=None, **kwargs):
        """Draw the rate against t for t in [0, t_max) (needs matplotlib)."""
        ax = axes(ax)
        t = np.arange(int(t_max))
        ax.plot(t, self(t), **kwargs)
        ax.set_xlabel("t (updates)")
        ax.set_ylabel("learning rate")
        ax.set_title(repr(self))
        return ax


def _positive(name, v):
    return check_real(name, v, low=0.0, low_open=True)


def _list_or_none(v):
    return list(v) if isinstance(v, (list, tuple, np.ndarray)) else None


def _count(name, v, low=1):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
        raise ValueError(f"Invalid {name} value: {v!r} (expected an integer >= {low})")
    return int(v)


@register_schedule(kind="constant", code=0, cli="constant", sklearn="constant",
                   sklearn_params={"lr": "eta0"})
class Constant(Schedule):
    """A fixed rate (scikit-learn's ``"constant"``)."""

    def __init__(self, lr):
        self.lr = lr
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)

    def _rate(self, t):
        return np.full_like(t, self.lr)

    def _compile(self, program, ctx):
        return program.add("constant", [self.lr])


@register_schedule(kind="invscaling", code=1, cli="invscaling", sklearn="invscaling",
                   sklearn_params={"lr": "eta0", "power_t": "power_t"})
class InverseScaling(Schedule):
    r"""``lr / (t + 1) ** power_t`` (scikit-learn's ``"invscaling"``)."""

    def __init__(self, lr, power_t):
        self.lr = lr
        self.power_t = power_t
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        check_real("power_t", self.power_t, low=0.0)

    def _rate(self, t):
        return self.lr / np.power(t + 1.0, self.power_t)

    def _compile(self, program, ctx):
        return program.add("invscaling", [self.lr, self.power_t])


def optimal_t0(alpha, dloss):
    """scikit-learn's t0 for the ``optimal`` rate: the first rate matches a
    typical weight 1/sqrt(alpha); ``dloss(y, p)`` is the loss derivative."""
    typw = np.sqrt(1.0 / np.sqrt(alpha))
    eta0 = typw / max(1.0, dloss(1.0, -typw))
    return 1.0 / (eta0 * alpha)


@register_schedule(kind="optimal", code=2, cli="optimal", sklearn="optimal")
class Optimal(Schedule):
    r"""Bottou's ``1 / (alpha (t + t0))`` (scikit-learn's ``"optimal"``).

    In an estimator, ``alpha=None`` takes the estimator's ``alpha``, and t0
    follows scikit-learn's heuristic for the estimator's loss. Evaluated on
    its own, it needs ``alpha`` and uses the heuristic of the hinge loss.
    Derived for plain SGD; with another optimizer it is still applied as
    written (the string ``"optimal"`` means a constant rate there).
    """

    def __init__(self, alpha=None):
        self.alpha = alpha
        self._validate()

    def _validate(self):
        if self.alpha is not None:
            _positive("alpha", self.alpha)

    def _alpha_t0(self, ctx):
        alpha = self.alpha if self.alpha is not None else ctx.get("alpha")
        if alpha is None:
            raise ValueError("Optimal(alpha=None) takes alpha from an estimator; "
                             "pass alpha to evaluate it on its own")
        dloss = ctx.get("dloss") or (lambda y, p: -y if y * p <= 1.0 else 0.0)
        return float(alpha), optimal_t0(alpha, dloss)

    def _rate(self, t):
        alpha, t0 = self._alpha_t0({})
        return 1.0 / (alpha * ((t0 + (t + 1.0)) - 1.0))

    def _compile(self, program, ctx):
        return program.add("optimal", self._alpha_t0(ctx))


@register_schedule(kind="constant", cli="adaptive", sklearn="adaptive",
                   sklearn_params={"lr": "eta0"})
class Adaptive(Schedule):
    """scikit-learn's ``"adaptive"``: ``lr``, multiplied by ``factor`` in ``fit``
    each time ``n_iter_no_change`` epochs in a row fail to improve by ``tol``
    (until it is below 1e-6); constant under ``partial_fit`` (use
    ``ReduceOnPlateau`` for streams). ``Adaptive(eta0)`` is ``"adaptive"``."""

    def __init__(self, lr, factor=0.2):
        self.lr = lr
        self.factor = factor
        self._validate()

    def _validate(self):
        _positive("lr", self.lr)
        check_real("factor", self.factor, low=0.0, high=1.0, low_open=True, high_open=True)

    def _rate(self, t):
        return np.full_like(t, self.lr)

    def _compile(self, program, ctx):
        return program.add("constant", [ctx.get("adaptive_lr", self.lr)])


@register_schedule(kind="invtime", code=3, cli="invtime")
class InverseTimeDecay(Schedule):
    r"""Time-based decay ``lr / (1 + decay_rate * t / decay_steps)`` (Keras's
    ``InverseTimeDecay``); with ``staircase``, ``t / decay_steps`` is floored."""

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
    """``lr * gamma ** (t // step_size)`` (PyTorch's ``StepLR``)."""

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
    """``lr * gamma ** (number of milestones <= t)`` (PyTorch's ``MultiStepLR``)."""

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
                             "non-empty list of increasing update counts)")
        for m in ms:
            _count("milestone", m, low=0)
        if any(b <= a for a, b in zip(ms, ms[1:], strict=False)):
            raise ValueError(f"Invalid milestones value: {self.milestones!r} (must increase)")

    def _rate(self, t):
        n = (np.asarray(self.milestones, dtype=np.float64)[:, None] <= t.reshape(1, -1)).sum(0)
        return (self.lr * np.power(self.gamma, n)).reshape(t.shape)

    def _compile(self, program, ctx):
        offset = program.add_extra(self.milestones)
        return program.add("multistep", [self.lr, self.gamma, offset, len(self.milestones)])


@register_schedule(kind="exponential", code=6, cli="exponential",
                   torch=_TORCH + "ExponentialLR", torch_kwargs=lambda s: {"gamma": s.gamma})
class ExponentialDecay(Schedule):
    """``lr * gamma ** t`` (PyTorch's ``ExponentialLR``)."""

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
    """``lr * (1 - min(t, total_steps) / total_steps) ** power`` (PyTorch's
    ``PolynomialLR``); holds its final rate past ``total_steps``."""

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


@register_schedule(kind="cosine", code=8, cli="cosine", torch=_TORCH + "CosineAnnealingLR",
                   torch_kwargs=lambda s: {"T_max": s.T_max, "eta_min": s.lr_min})
class CosineAnnealing(Schedule):
    r"""``lr_min + (lr - lr_min) (1 + cos(pi t / T_max)) / 2`` (PyTorch's
    ``CosineAnnealingLR`` in closed form: periodic past ``T_max``)."""

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
    r"""SGDR (Loshchilov and Hutter 2017; PyTorch's
    ``CosineAnnealingWarmRestarts``): cosine annealing from ``lr`` to
    ``lr_min`` over a period that starts at ``T_0`` and is multiplied by
    ``T_mult`` at each restart."""

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
    """Cyclical rates (Smith 2017; PyTorch's ``CyclicLR``): triangular waves
    between ``lr_min`` and ``lr_max`` (``mode="triangular2"`` halves the
    amplitude each cycle, ``"exp_range"`` scales it by ``gamma ** t``)."""

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
    """The 1cycle policy (Smith and Topin 2018; PyTorch's ``OneCycleLR``): up
    from ``lr_max / div_factor`` to ``lr_max`` over ``pct_start`` of
    ``total_steps``, then down to ``lr_max / div_factor / final_div_factor``
    (``three_phase``: back to the start first). Holds its final rate past
    ``total_steps``: from ``t = total_steps - 1`` on (PyTorch allows one more
    step, extrapolating the last phase, then raises)."""

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


# the composites' twins nest other schedulers (LinearLR, then the schedule)
@register_schedule(kind="warmup", code=12, torch=_TORCH + "SequentialLR")
class Warmup(Schedule):
    """Linear warmup: the rate ramps from ``start_factor * schedule(0)`` to
    ``schedule(0)`` over ``warmup_steps`` updates, then ``schedule`` runs with
    its own clock restarted at 0 (PyTorch's ``LinearLR`` + ``SequentialLR``)."""

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
    """Schedules one after another (PyTorch's ``SequentialLR``): schedule i
    runs from milestone i-1 (0 for the first), on its own clock started at 0."""

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
    """Cut the rate by ``factor`` when the loss stops improving (PyTorch's
    ``ReduceLROnPlateau``, mode "min", relative ``threshold``): after more
    than ``patience`` bad steps, then ``cooldown`` steps of rest, never below
    ``lr_min``. In a stream (``partial_fit``) one step is a window of
    ``window`` samples and the metric their mean progressive loss; in
    ``fit`` one step is an epoch and the metric its mean training loss. The
    state (current rate, best loss, counters) lives on the estimator; on its
    own, ``schedule(t)`` is ``lr``."""

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


def walk(schedule):
    """The schedule and every schedule nested in it, depth first."""
    yield schedule
    for child in schedule._children():
        yield from walk(child)


def compile_schedule(schedule, ctx):
    """(kinds, params, extra, initial state) arrays of a schedule's node table."""
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
    """The object a scikit-learn ``learning_rate`` string stands for."""
    return _registry.schedule_for_string(name, eta0, power_t)


# node kinds: the codes of _kernels/schedules.pxd, from the registry rows above
_KIND = _registry.schedule_kinds()

__all__ = (["Schedule"] + [e.name for e in _registry.schedules()]
           + ["compile_schedule", "from_string", "walk"])
