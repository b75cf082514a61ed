"""The standalone drift detectors' compiled part: their state arrays and the
base class whose ``update`` runs ``drift_update`` (drift.pxd) on them.

``streamlr.drift.ADWIN`` and ``PageHinkley`` subclass ``DetectorBase`` and
own one state array each; the estimators copy a fresh array into the model
instead (the per-sample loop feeds that one).
"""
cimport numpy as cnp
from libc.math cimport isfinite

from streamlr._kernels.drift cimport (
    AD_CLOCK, AD_DELTA, AD_GRACE, AD_MAX_BUCKETS, AD_MIN_WINDOW, AD_ROWS, AD_TICK, AD_TOTAL,
    AD_VARIANCE, AD_WIDTH, ADWIN_ROWS, D_COUNT, D_DETECTED, D_KIND, DRIFT_ADWIN, DRIFT_HEADER,
    DRIFT_PAGE_HINKLEY, PH_ALPHA, PH_DELTA, PH_MIN_INCREASE, PH_MIN_INSTANCES, PH_MODE, PH_THRESHOLD, Drift,
    drift_bind, drift_reset, drift_rows_to_check, drift_size, drift_update, drift_used,
)

import numpy as _np

cnp.import_array()

ADWIN = DRIFT_ADWIN
PAGE_HINKLEY = DRIFT_PAGE_HINKLEY
HEADER = DRIFT_HEADER
MAX_ROWS = ADWIN_ROWS
# where the readable values sit in a state array
FIELDS = {"kind": D_KIND, "detected": D_DETECTED, "count": D_COUNT, "total": AD_TOTAL,
          "variance": AD_VARIANCE, "width": AD_WIDTH, "tick": AD_TICK, "rows": AD_ROWS}
PH_MODES = {"up": 1, "down": 2, "both": 3}


def adwin_state(double delta, long long clock, long long max_buckets,
                long long min_window_length, long long grace_period):
    """A fresh ADWIN state array (parameters checked by the caller)."""
    cdef cnp.ndarray a = _np.zeros(drift_size(DRIFT_ADWIN, max_buckets), dtype=_np.float64)
    cdef double* s = <double*>cnp.PyArray_DATA(a)
    cdef Drift d
    s[D_KIND] = DRIFT_ADWIN
    s[AD_DELTA] = delta
    s[AD_CLOCK] = clock
    s[AD_MAX_BUCKETS] = max_buckets
    s[AD_MIN_WINDOW] = min_window_length
    s[AD_GRACE] = grace_period
    drift_bind(&d, s)
    drift_reset(&d)
    return a


def page_hinkley_state(long long min_instances, double delta, double threshold, double alpha,
                       int mode):
    """A fresh Page-Hinkley state array (``mode``: 1 up, 2 down, 3 both)."""
    cdef cnp.ndarray a = _np.zeros(drift_size(DRIFT_PAGE_HINKLEY, 0), dtype=_np.float64)
    cdef double* s = <double*>cnp.PyArray_DATA(a)
    cdef Drift d
    s[D_KIND] = DRIFT_PAGE_HINKLEY
    s[PH_MIN_INSTANCES] = min_instances
    s[PH_DELTA] = delta
    s[PH_THRESHOLD] = threshold
    s[PH_ALPHA] = alpha
    s[PH_MODE] = mode
    drift_bind(&d, s)
    drift_reset(&d)
    return a


def check_state(state):
    """Raise ValueError unless ``state`` is a well-formed detector state
    (a C-contiguous, writeable float64 array of the right size, rows in
    range): what a model file or a caller hands the kernel."""
    cdef cnp.ndarray a
    if not isinstance(state, _np.ndarray) or state.dtype != _np.float64 or state.ndim != 1 \
            or not state.flags.c_contiguous or not state.flags.writeable:
        raise ValueError("a drift detector's state must be a writeable C-contiguous "
                         "1-D float64 array")
    a = state
    cdef Py_ssize_t n = a.shape[0], i, m1, rows
    if n < DRIFT_HEADER:
        raise ValueError("a drift detector's state is too short")
    cdef double* s = <double*>cnp.PyArray_DATA(a)
    cdef int kind = <int>s[D_KIND]
    if s[D_KIND] != kind or kind not in (DRIFT_ADWIN, DRIFT_PAGE_HINKLEY):
        raise ValueError(f"unknown drift detector kind {s[D_KIND]!r}")
    for i in range(DRIFT_HEADER):
        if not (isfinite(s[i]) or (kind == DRIFT_PAGE_HINKLEY and i == PH_MIN_INCREASE)):
            raise ValueError("a drift detector's state holds a non-finite value")
    if kind == DRIFT_ADWIN:
        if not 2 <= s[AD_MAX_BUCKETS] <= 1 << 20 or s[AD_CLOCK] < 1:
            raise ValueError("a malformed ADWIN state")
        m1 = <Py_ssize_t>s[AD_MAX_BUCKETS] + 1
        if n != drift_size(kind, m1 - 1):
            raise ValueError("an ADWIN state of the wrong size")
        rows = <Py_ssize_t>s[AD_ROWS]
        if s[AD_ROWS] != rows or not 1 <= rows <= ADWIN_ROWS:
            raise ValueError("a malformed ADWIN state")
        for i in range(ADWIN_ROWS):
            if not 0 <= s[DRIFT_HEADER + i * (1 + 2 * m1)] <= (m1 - 1 if i < rows else 0):
                raise ValueError("a malformed ADWIN state")
    elif n != DRIFT_HEADER or s[PH_MODE] not in (1.0, 2.0, 3.0):
        raise ValueError("a malformed Page-Hinkley state")


def used(const double[::1] state):
    """How many leading values of ``state`` are in use (the rest are zero)."""
    cdef Drift d
    drift_bind(&d, <double*>&state[0])
    return drift_used(&d)


def rows_to_check(const double[::1] state):
    """How many more values ``state`` takes before one may flag drift."""
    cdef Drift d
    drift_bind(&d, <double*>&state[0])
    return drift_rows_to_check(&d)


def update_many(double[::1] state, const double[::1] values):
    """Feed ``values`` in order; returns the int64 positions that flagged drift."""
    cdef Drift d
    cdef Py_ssize_t i, n = values.shape[0], found = 0
    cdef cnp.ndarray out = _np.empty(n, dtype=_np.int64)
    cdef long long* o = <long long*>cnp.PyArray_DATA(out)
    drift_bind(&d, &state[0])
    with nogil:
        for i in range(n):
            if drift_update(&d, values[i]):
                o[found] = i
                found += 1
    return out[:found].copy()


cdef class DetectorBase:
    """The compiled half of a drift detector: its state array and ``update``."""

    cdef cnp.ndarray _state

    def _set_state(self, state):
        check_state(state)
        self._state = state

    def _get_state(self):
        return self._state

    def update(self, x):
        """Feed one value to the detector.

        Parameters
        ----------
        x : float
            The next value of the monitored stream (an error, a loss, ...).

        Returns
        -------
        self : object
            The detector; ``drift_detected`` tells whether this value
            flagged drift.
        """
        cdef Drift d
        cdef double v = x
        drift_bind(&d, <double*>cnp.PyArray_DATA(self._state))
        drift_update(&d, v)
        return self

    @property
    def drift_detected(self):
        """Whether the last value fed flagged drift."""
        return (<double*>cnp.PyArray_DATA(self._state))[D_DETECTED] != 0.0
