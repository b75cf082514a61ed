"""Prequential ("progressive") evaluation: predict each chunk, then learn it.

Every sample is scored by a model that has not seen it yet, as in River's
``progressive_val_score`` and Vowpal Wabbit's progressive validation loss, so
one pass over a stream gives an honest estimate of online performance.
"""
import numbers

import numpy as np
import scipy.sparse as sp

from ._plotting import axes

# name -> (scikit-learn metric function's name, what it scores: "predict",
# "proba" or "score"); sklearn.metrics is imported when first used (it
# brings scipy.stats: a second of the command line's start-up)
_METRICS = {
    "accuracy": ("accuracy_score", "predict"),
    "balanced_accuracy": ("balanced_accuracy_score", "predict"),
    "f1": ("f1_score", "predict"),
    "log_loss": ("log_loss", "proba"),
    "roc_auc": ("roc_auc_score", "score"),
    "mae": ("mean_absolute_error", "predict"),
    "mse": ("mean_squared_error", "predict"),
    "r2": ("r2_score", "predict"),
}


class ProgressiveScore:
    """The trajectory of a progressive evaluation.

    :func:`progressive_val_score` returns one; it is rarely built by hand.

    Parameters
    ----------
    n_samples : array-like of int
        Number of samples scored when each value was taken.
    scores : array-like of float
        The metric at each of those points.
    metric : str
        The metric's name (the y label of :meth:`plot`).

    Attributes
    ----------
    n_samples : ndarray of int
        Number of samples scored when each value was taken.
    scores : ndarray of float
        The metric over all samples scored so far (or over the last
        ``window`` samples when a window was given).
    metric : str
        The metric's name.
    final : float
        The last value of the trajectory.
    """

    def __init__(self, n_samples, scores, metric):
        self.n_samples = np.asarray(n_samples, dtype=np.int64)
        self.scores = np.asarray(scores, dtype=np.float64)
        self.metric = metric

    @property
    def final(self):
        """The last value of the trajectory (NaN when nothing was scored)."""
        return float(self.scores[-1]) if len(self.scores) else float("nan")

    def __repr__(self):
        seen = self.n_samples[-1] if len(self.n_samples) else 0
        return f"ProgressiveScore({self.metric}: {self.final:.6g} after {seen} samples)"

    def plot(self, ax=None, **kwargs):
        """Draw the trajectory (needs matplotlib).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; default new axes in a new pyplot figure.
        **kwargs
            Passed to ``ax.plot`` (``label``, ``color``, ...).

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.
        """
        ax = axes(ax)
        ax.plot(self.n_samples, self.scores, **kwargs)
        ax.set_xlabel("samples")
        ax.set_ylabel(self.metric)
        return ax


def _chunks(X, y, step):
    if y is None:  # an iterable of (X_chunk, y_chunk)
        for Xc, yc in X:
            yield Xc, np.asarray(yc)
        return
    n = X.shape[0]
    y = np.asarray(y)
    if y.shape[0] != n:
        raise ValueError(f"X and y have different numbers of samples: {n} and {y.shape[0]}")
    for lo in range(0, n, step):
        yield X[lo:lo + step], y[lo:lo + step]


def _resolve_metric(metric):
    if isinstance(metric, str):
        try:
            name, kind = _METRICS[metric]
        except KeyError:
            raise ValueError(f"Unknown metric {metric!r}; expected one of {sorted(_METRICS)} "
                             "or a callable metric(y_true, y_pred)") from None
        from sklearn import metrics

        return metric, getattr(metrics, name), kind
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric, "predict"
    raise TypeError(f"metric must be a name or a callable, got {type(metric).__name__}")


def progressive_val_score(estimator, X, y=None, metric="accuracy", *, step=100,
                          classes=None, window=None, sample_weight=None):
    """Predict each chunk of a stream, then learn from it; score the predictions.

    Every sample is scored by a model that has not seen it yet.

    Parameters
    ----------
    estimator : estimator
        An estimator with ``partial_fit`` (streamlr's or any other); it is
        trained in place.
    X : {array-like, sparse matrix} of shape (n_samples, n_features) or iterable
        The stream, cut into chunks of ``step`` rows; or, with ``y=None``, an
        iterable of ``(X_chunk, y_chunk)`` pairs.
    y : array-like of shape (n_samples,), optional
        The labels or targets of ``X``; None when ``X`` yields pairs.
    metric : str or callable, default="accuracy"
        A name ("accuracy", "balanced_accuracy", "f1", "log_loss",
        "roc_auc", "mae", "mse", "r2") or a callable ``metric(y_true, y_pred)``
        on predictions. "log_loss" scores ``predict_proba``, "roc_auc" the
        ``decision_function`` (binary).
    step : int, default=100
        Rows per chunk: the model is updated every ``step`` samples.
    classes : array-like, optional
        All the classes of the stream, for classifiers (those of the first
        chunk's labels are not enough, so pass them).
    window : int, optional
        Score only the last ``window`` samples at each point (e.g. a
        windowed ROC AUC); default all samples so far.
    sample_weight : array-like of shape (n_samples,), optional
        Weights of the samples, given to ``partial_fit``.

    Returns
    -------
    ProgressiveScore
        ``n_samples`` and ``scores`` after each chunk. The first chunk only
        trains the model (there is nothing to predict with yet).

    Raises
    ------
    TypeError
        If ``estimator`` has no ``partial_fit`` or ``metric`` is neither a
        name nor a callable.
    ValueError
        For an unknown metric name, a ``step`` or ``window`` that is not a
        positive integer, or ``X`` and ``y`` of different lengths.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr import SGDClassifier
    >>> from streamlr.evaluate import progressive_val_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 5))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> result = progressive_val_score(SGDClassifier(), X, y, "accuracy", step=100,
    ...                                classes=[0, 1])
    >>> result.n_samples[:3]
    array([100, 200, 300])
    """
    if not hasattr(estimator, "partial_fit"):
        raise TypeError(f"{type(estimator).__name__} has no partial_fit")
    if not isinstance(step, numbers.Integral) or step < 1:
        raise ValueError(f"step must be a positive integer, got {step!r}")
    if window is not None and (not isinstance(window, numbers.Integral) or window < 1):
        raise ValueError(f"window must be a positive integer or None, got {window!r}")
    name, func, kind = _resolve_metric(metric)
    truths, preds, counts, scores = [], [], [], []
    n_scored = 0
    fitted = False
    offset = 0
    kwargs = {} if classes is None else {"classes": classes}
    for Xc, yc in _chunks(X, y, step):
        if Xc.shape[0] == 0:
            continue
        if fitted:
            if kind == "proba":
                pred = estimator.predict_proba(Xc)
            elif kind == "score":
                pred = estimator.decision_function(Xc)
            else:
                pred = estimator.predict(Xc)
            truths.append(yc)
            preds.append(pred)
            n_scored += yc.shape[0]
            yt = np.concatenate(truths)
            yp = np.concatenate(preds) if not sp.issparse(preds[0]) else sp.vstack(preds)
            if window is not None:
                yt, yp = yt[-window:], yp[-window:]
            extra = {"labels": classes} if name == "log_loss" and classes is not None else {}
            scores.append(float(func(yt, yp, **extra)))
            counts.append(n_scored)
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight)[offset:offset + yc.shape[0]]
        if sw is None:
            estimator.partial_fit(Xc, yc, **kwargs)
        else:
            estimator.partial_fit(Xc, yc, sample_weight=sw, **kwargs)
        offset += yc.shape[0]
        fitted = True
    return ProgressiveScore(counts, scores, name)
