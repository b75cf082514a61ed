"""Concept-drift detectors: ``ADWIN`` and ``PageHinkley``.

Each flags drift at exactly the inputs River's ``river.drift.ADWIN`` and
``river.drift.PageHinkley`` (River 0.26) flag, with the same parameters, on
the same sequence of values. Use them standalone (``update(x)``, then
``drift_detected``), or give one to an estimator as ``drift_detector``: the
estimator then runs a compiled twin of it inside its per-sample loop, fed the
0/1 error (classifiers) or the loss (regressors) of each sample, and reacts
to a detection as ``on_drift`` says.

The state of a detector is one float64 array (compiled code in
``streamlr/_kernels/drift.pxd`` updates it), so a model saves it, copies it
and rolls it back like any other piece of its state.
"""
import numbers

from ._kernels import detectors as _det
from ._spec import Spec, check_real

__all__ = ["ADWIN", "PageHinkley", "DriftDetector"]


def _check_int(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or (
            high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"Invalid {name} value: {value!r} (expected an integer {bound})")
    return int(value)


class DriftDetector(Spec, _det.DetectorBase):
    """Base class of the drift detectors: parameters, and the state they update.

    A detector compares equal to another of the same type with the same
    parameters, whatever either has seen (as the other spec objects do);
    ``set_params`` and :func:`sklearn.base.clone` give a fresh detector.
    Copies and pickles keep the state.

    See Also
    --------
    ADWIN : Adaptive windowing.
    PageHinkley : The Page-Hinkley test.
    """

    def _fresh_state(self):
        """A new state array for these parameters (what a model starts with)."""
        raise NotImplementedError

    def _reset(self):
        self._set_state(self._fresh_state())

    def set_params(self, **params):
        """Set parameters; the detector starts afresh.

        Parameters
        ----------
        **params : dict
            The new values, by parameter name.

        Returns
        -------
        DriftDetector
            The detector itself, with no value seen.

        Raises
        ------
        ValueError
            For an unknown parameter name or an invalid value (the detector
            is then unchanged).
        """
        super().set_params(**params)
        self._reset()
        return self

    def __reduce__(self):
        return (type(self), (), {"params": self.get_params(deep=False),
                                 "state": self._get_state().copy()})

    def __setstate__(self, state):
        for name, value in state["params"].items():
            setattr(self, name, value)
        self._validate()
        self._set_state(state["state"].copy())

    @property
    def n_detections(self):
        """Detections since the detector was built (or its parameters set)."""
        return int(self._get_state()[_det.FIELDS["count"]])


class ADWIN(DriftDetector):
    r"""Adaptive windowing (ADWIN) drift detector, as River's.

    ADWIN keeps a window of the recent values, compressed in an exponential
    histogram of buckets, and drops its oldest part whenever two sub-windows
    have means too far apart to come from one distribution; a drop is a
    detection. Identical to ``river.drift.ADWIN`` (River 0.26): the same
    parameters flag drift at the same inputs.

    Parameters
    ----------
    delta : float, default=0.002
        The confidence of the test, in (0, 1): smaller detects less often.
    clock : int, default=32
        The window is tested every ``clock`` values.
    max_buckets : int, default=5
        Buckets of each size kept before the two oldest merge, from 2 to
        2**20 (River's own ADWIN fails on some streams with 1).
    min_window_length : int, default=5
        The smallest sub-window a split may leave on either side.
    grace_period : int, default=10
        No test until the window holds more than this many values.

    Attributes
    ----------
    drift_detected : bool
        Whether the last value flagged drift (the next value then starts a
        new window, as River's detector does).
    width, total, variance, estimation : float
        The window's length, sum, sum of squared deviations and mean.

    See Also
    --------
    PageHinkley : A cumulative-sum test of the mean.

    Notes
    -----
    With :math:`W` split into an older part of :math:`n_0` values and a
    newer one of :math:`n_1`, means :math:`\mu_0, \mu_1`, and the window's
    variance :math:`\sigma^2`, a split cuts when

    .. math::

        |\mu_0 - \mu_1| > \sqrt{2 m \sigma^2 \delta'} + \frac{2}{3} \delta' m,
        \qquad m = \frac{1}{n_0 - \ell + 1} + \frac{1}{n_1 - \ell + 1},
        \qquad \delta' = \ln\frac{2 \ln |W|}{\delta},

    :math:`\ell` the ``min_window_length``. Splits are tried at bucket
    boundaries, oldest first; after a cut the oldest bucket goes and the
    test starts over. Row :math:`i` of the histogram holds up to
    ``max_buckets`` buckets of :math:`2^i` values: memory is
    :math:`O(\text{max\_buckets} \log |W|)` (a fixed layout of 54 rows,
    enough for :math:`2^{53}` values).

    Bifet and Gavalda, "Learning from time-changing data with adaptive
    windowing", SDM 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.drift import ADWIN
    >>> rng = np.random.default_rng(0)
    >>> stream = np.r_[rng.normal(0, 1, 1000), rng.normal(3, 1, 1000)]
    >>> adwin = ADWIN()
    >>> [i for i, x in enumerate(stream) if adwin.update(x).drift_detected]
    [1023]
    """

    def __init__(self, delta=0.002, clock=32, max_buckets=5, min_window_length=5,
                 grace_period=10):
        self.delta = delta
        self.clock = clock
        self.max_buckets = max_buckets
        self.min_window_length = min_window_length
        self.grace_period = grace_period
        self._validate()
        self._reset()

    def _validate(self):
        check_real("delta", self.delta, 0.0, 1.0, low_open=True, high_open=True)
        _check_int("clock", self.clock, 1)
        # River's ADWIN fails (a Rust panic) on some streams with max_buckets=1
        _check_int("max_buckets", self.max_buckets, 2, 1 << 20)
        _check_int("min_window_length", self.min_window_length, 1)
        _check_int("grace_period", self.grace_period, 0)

    def _fresh_state(self):
        return _det.adwin_state(float(self.delta), int(self.clock), int(self.max_buckets),
                                int(self.min_window_length), int(self.grace_period))

    @property
    def width(self):
        """The number of values in the window."""
        return int(self._get_state()[_det.FIELDS["width"]])

    @property
    def total(self):
        """The sum of the values in the window."""
        return float(self._get_state()[_det.FIELDS["total"]])

    @property
    def variance(self):
        """The sum of squared deviations from the mean in the window."""
        return float(self._get_state()[_det.FIELDS["variance"]])

    @property
    def estimation(self):
        """The mean of the window (0 when empty)."""
        width = self.width
        return self.total / width if width else 0.0


class PageHinkley(DriftDetector):
    r"""Page-Hinkley drift detector, as River's.

    A cumulative-sum test of the stream's mean: it flags drift when the
    running sum of deviations from the mean rises (or falls) more than
    ``threshold`` above its lowest (below its highest) point. Identical to
    ``river.drift.PageHinkley`` (River 0.26).

    Parameters
    ----------
    min_instances : int, default=30
        Values seen (since the last detection) before a test.
    delta : float, default=0.005
        The tolerated change of the mean, >= 0.
    threshold : float, default=50.0
        The detection threshold, lambda, >= 0.
    alpha : float, default=0.9999
        The forgetting factor of the sums, in (0, 1].
    mode : {"both", "up", "down"}, default="both"
        Which changes of the mean to detect: increases, decreases or both.

    Attributes
    ----------
    drift_detected : bool
        Whether the last value flagged drift (the next value then starts
        afresh, as River's detector does).

    See Also
    --------
    ADWIN : Adaptive windowing.

    Notes
    -----
    With :math:`\bar x_n` the running mean after value :math:`x_n`,

    .. math::

        U_n = \alpha U_{n-1} + (x_n - \bar x_n) - \delta, \qquad
        L_n = \alpha L_{n-1} + (x_n - \bar x_n) + \delta,

    and drift is flagged (from ``min_instances`` values on) when
    :math:`U_n - \min_{k \le n} U_k > \lambda` (``"up"``) or
    :math:`\max_{k \le n} L_k - L_n > \lambda` (``"down"``), the maximum of
    :math:`L` starting at -1 as River's does.

    Page, "Continuous inspection schemes", Biometrika 41 (1954).

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr.drift import PageHinkley
    >>> rng = np.random.default_rng(0)
    >>> stream = np.r_[rng.normal(0, 1, 1000), rng.normal(3, 1, 1000)]
    >>> ph = PageHinkley()
    >>> [i for i, x in enumerate(stream) if ph.update(x).drift_detected]
    [1016, 1922]
    """

    def __init__(self, min_instances=30, delta=0.005, threshold=50.0, alpha=1 - 0.0001,
                 mode="both"):
        self.min_instances = min_instances
        self.delta = delta
        self.threshold = threshold
        self.alpha = alpha
        self.mode = mode
        self._validate()
        self._reset()

    def _validate(self):
        _check_int("min_instances", self.min_instances, 1)
        check_real("delta", self.delta, 0.0)
        check_real("threshold", self.threshold, 0.0)
        check_real("alpha", self.alpha, 0.0, 1.0, low_open=True)
        if not isinstance(self.mode, str) or self.mode not in _det.PH_MODES:
            raise ValueError(f"Invalid mode value: {self.mode!r} (expected one of "
                             f"{sorted(_det.PH_MODES)})")

    def _fresh_state(self):
        return _det.page_hinkley_state(int(self.min_instances), float(self.delta),
                                       float(self.threshold), float(self.alpha),
                                       _det.PH_MODES[self.mode])
