"""Plots of schedules, range tests and progressive losses, saved as PNG.

matplotlib is an optional extra (``pip install 'streamlr[plot]'``), imported
only when a function here is called. Every function draws on ``ax`` when
given, else on a new figure; with ``path=`` it saves the figure there (the
format follows the file's extension: ``.png``, ``.svg``, ``.pdf``), and a
figure it made for that is not kept by pyplot, so a script that only saves
files opens no window and leaks no figure. Each returns the axes.

>>> from streamlr import plotting
>>> from streamlr.schedules import CosineAnnealing, OneCycle, StepDecay
>>> schedules = [StepDecay(0.1, 300), CosineAnnealing(0.1, 1000), OneCycle(0.1, 1000)]
>>> plotting.plot_schedules(schedules, t_max=1000, path="schedules.png")  # doctest: +SKIP
"""
import numpy as np

from ._plotting import axes, figure


def _axes(ax, path, figsize=(7.0, 4.0)):
    if ax is not None:
        return ax
    if path is not None:  # an untracked figure: nothing stays open
        return figure(figsize=figsize).subplots()
    return axes()


def _finish(ax, path, legend=True):
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend()
    if path is not None:
        ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    return ax


def _xy(curve, column):
    """(x, y) of a curve given as a ProgressiveScore, a fitted streamlr
    estimator (its ``lr_history_``: t against ``column``) or an (x, y) pair."""
    from .evaluate import ProgressiveScore

    if isinstance(curve, ProgressiveScore):
        return curve.n_samples, curve.scores
    if hasattr(curve, "lr_history_"):
        hist = curve.lr_history_
        return hist[:, 0], hist[:, column]
    if isinstance(curve, tuple) and len(curve) == 2:
        return np.asarray(curve[0]), np.asarray(curve[1])
    raise TypeError(f"cannot plot {type(curve).__name__}: expected a ProgressiveScore, a "
                    "fitted streamlr estimator or an (x, y) pair")


def _labelled(curves):
    if isinstance(curves, dict):
        return list(curves.items())
    curves = list(curves) if isinstance(curves, (list, tuple)) else [curves]
    return [(None, c) for c in curves]


def plot_schedules(schedules, t_max=1000, *, labels=None, log=False, ax=None, path=None):
    """Plot the rate of each schedule against the update count ``t`` in ``[0, t_max)``.

    Parameters
    ----------
    schedules : Schedule, list of Schedule or dict of str to Schedule
        A ``streamlr.schedules`` object, a list of them, or a dict of
        label to schedule (labels default to each schedule's repr).
    t_max : int, default=1000
        Number of updates drawn.
    labels : list of str, optional
        Labels for a list of schedules.
    log : bool, default=False
        Whether the rate axis is logarithmic.
    ax : matplotlib.axes.Axes, optional
        Draw on these axes; default a new figure (one that pyplot does not
        keep when ``path`` is given).
    path : str or path-like, optional
        Save the figure there (the format follows the extension).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    ValueError
        If ``labels`` and ``schedules`` differ in length.

    Examples
    --------
    >>> from streamlr.plotting import plot_schedules
    >>> from streamlr.schedules import CosineAnnealing, StepDecay
    >>> plot_schedules({"step": StepDecay(0.1, 300), "cosine": CosineAnnealing(0.1, 1000)},
    ...                t_max=1000, path="schedules.png")  # doctest: +SKIP
    """
    pairs = _labelled(schedules)
    if labels is not None:
        if len(labels) != len(pairs):
            raise ValueError(f"{len(labels)} labels for {len(pairs)} schedules")
        pairs = [(label, s) for label, (_, s) in zip(labels, pairs, strict=True)]
    ax = _axes(ax, path)
    t = np.arange(int(t_max))
    for label, schedule in pairs:
        ax.plot(t, schedule(t), label=label if label is not None else repr(schedule))
    ax.set_xlabel("t (updates)")
    ax.set_ylabel("learning rate")
    if log:
        ax.set_yscale("log")
    return _finish(ax, path)


def plot_lr_find(result, *, ax=None, path=None):
    """Plot the range test of :func:`streamlr.lr_find`.

    The smoothed loss against the rate, the suggestion marked
    (``LRFinderResult.plot``), saved to ``path``.

    Parameters
    ----------
    result : LRFinderResult
        What :func:`streamlr.lr_find` returned.
    ax : matplotlib.axes.Axes, optional
        Draw on these axes; default a new figure (one that pyplot does not
        keep when ``path`` is given).
    path : str or path-like, optional
        Save the figure there (the format follows the extension).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.
    """
    ax = _axes(ax, path)
    result.plot(ax=ax)
    ax.set_title(f"learning-rate range test: suggestion {result.suggestion:.3g}")
    return _finish(ax, path, legend=False)


def plot_progressive(curves, *, ylabel="progressive loss", logx=False, ax=None, path=None):
    """Plot progressive-validation curves against the number of samples.

    Parameters
    ----------
    curves : dict of str to curve, or list of curves
        A curve is a :class:`streamlr.evaluate.ProgressiveScore`, a fitted
        streamlr estimator (its ``lr_history_``: the progressive loss after
        each ``partial_fit`` call or epoch) or an ``(x, y)`` pair.
    ylabel : str, default="progressive loss"
        The y axis' label.
    logx : bool, default=False
        Whether the sample axis is logarithmic.
    ax : matplotlib.axes.Axes, optional
        Draw on these axes; default a new figure (one that pyplot does not
        keep when ``path`` is given).
    path : str or path-like, optional
        Save the figure there (the format follows the extension).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    TypeError
        For a curve of another kind.
    """
    ax = _axes(ax, path)
    for label, curve in _labelled(curves):
        x, y = _xy(curve, 2)
        ax.plot(x, y, label=label)
    ax.set_xlabel("samples")
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    return _finish(ax, path)


def plot_learning_rates(curves, *, log=True, ax=None, path=None):
    """Plot the rate each model used against its update count.

    Parameters
    ----------
    curves : dict of str to curve, or list of curves
        A curve is a fitted streamlr estimator (its ``lr_history_``) or a
        ``(t, lr)`` pair.
    log : bool, default=True
        Whether the rate axis is logarithmic.
    ax : matplotlib.axes.Axes, optional
        Draw on these axes; default a new figure (one that pyplot does not
        keep when ``path`` is given).
    path : str or path-like, optional
        Save the figure there (the format follows the extension).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on.

    Raises
    ------
    TypeError
        For a curve of another kind.
    """
    ax = _axes(ax, path)
    for label, curve in _labelled(curves):
        x, y = _xy(curve, 1)
        ax.plot(x, y, label=label)
    ax.set_xlabel("t (updates)")
    ax.set_ylabel("learning rate")
    if log:
        ax.set_yscale("log")
    return _finish(ax, path)


__all__ = ["plot_schedules", "plot_lr_find", "plot_progressive", "plot_learning_rates"]
