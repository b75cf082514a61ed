"""The base class of the learning-rate schedules and their parameter checks.

Private: the public names are imported from `streamlr.schedules`. The
schedule classes live in ``_schedules_sklearn`` (scikit-learn's four),
``_schedules_decay`` (decays), ``_schedules_cyclic`` (cosine annealing and
cycles) and ``_schedules_composite`` (composites, ``ReduceOnPlateau``); the
node-table compiler (``compile_schedule``, ``walk``) in ``streamlr.schedules``.
"""
import numbers

import numpy as np

from ._plotting import axes
from ._spec import Spec, check_real

# prefix of the dotted names of the PyTorch twins (the registry rows' ``torch``)
_TORCH = "torch.optim.lr_scheduler."


def _t(t):
    arr = np.asarray(t, dtype=np.float64)
    if np.any(arr < 0) or not np.all(np.isfinite(arr)):
        raise ValueError("t must be a finite, non-negative update count")
    return arr


class Schedule(Spec):
    """Base class of the learning-rate schedules.

    A schedule is a spec (see `streamlr._spec.Spec`): it holds its
    constructor parameters, validated when it is built and by ``set_params``,
    and no training state. An estimator accepts it as ``learning_rate=``.
    Called, it gives the rate in closed form with NumPy; inside
    ``fit``/``partial_fit`` the same formula runs compiled in the per-sample
    loop, on the estimator's update counter (see `compile_schedule`).

    See Also
    --------
    compile_schedule : The node table an estimator runs.
    walk : A schedule and the schedules nested in it.

    Notes
    -----
    A subclass implements ``_rate(t)``, the NumPy closed form vectorised over
    a float array ``t``, and ``_compile(program, ctx)``, which appends its
    nodes to the node table; a composite also implements ``_children()``.
    Each subclass carries its registry row as a ``@register_schedule(...)``
    decorator (see ``streamlr/_registry.py``).

    Examples
    --------
    >>> from streamlr.schedules import Schedule, StepDecay
    >>> isinstance(StepDecay(0.1, step_size=100), Schedule)
    True
    """

    def __call__(self, t):
        """Rate for update number ``t + 1``, after ``t`` updates.

        Where PyTorch has a twin, it equals PyTorch's rate after ``t`` calls
        of ``scheduler.step()``.

        Parameters
        ----------
        t : float or array_like of float
            The number of updates already made; finite and non-negative.

        Returns
        -------
        float or numpy.ndarray
            The rate: a float for a scalar ``t``, else a float64 array of the
            shape of ``t``.

        Raises
        ------
        ValueError
            If ``t`` holds a negative or non-finite value.

        Examples
        --------
        >>> from streamlr.schedules import StepDecay
        >>> StepDecay(0.1, step_size=2, gamma=0.5)([0, 1, 2, 3, 4])
        array([0.1  , 0.1  , 0.05 , 0.05 , 0.025])
        """
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
        """Draw the rate against t for t in [0, t_max) (needs matplotlib).

        Parameters
        ----------
        t_max : int, default=1000
            The number of updates drawn: t = 0, 1, ..., ``t_max - 1``.
        ax : matplotlib.axes.Axes, optional
            The axes to draw on; new axes (``pyplot.subplots()``) by default.
        **kwargs
            Passed to ``ax.plot`` (``label``, ``color``, ...).

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on, titled with the schedule's ``repr``.

        Raises
        ------
        ImportError
            Without matplotlib (the ``streamlr[plot]`` extra).

        See Also
        --------
        streamlr.plotting.plot_schedules : Several schedules on one figure.

        Examples
        --------
        >>> from streamlr.schedules import CosineAnnealing
        >>> ax = CosineAnnealing(0.1, T_max=500).plot(t_max=1000)  # doctest: +SKIP
        """
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
