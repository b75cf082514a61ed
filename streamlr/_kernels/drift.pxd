# Drift detectors as plain C state: ADWIN and Page-Hinkley, flagging drift at
# exactly the inputs River 0.26's ``river.drift.ADWIN`` / ``PageHinkley``
# flag (same parameters, same sequence). Inline and nogil, so that the
# per-sample loop (loop.pxi) feeds a model's detector without Python, and the
# standalone objects (detectors.pyx, streamlr/drift.py) run the same code.
#
# State
# -----
# A detector is one float64 array (``s``): a header of DRIFT_HEADER values
# (kind, the last update's flag, the detection count, the parameters, the
# running variables), then, for ADWIN, its bucket rows. It can be saved,
# copied and restored as any array (the model saves it, a failed call puts
# it back); nothing else holds state. ``Drift`` binds such an array for the
# loop (the pointer and a few parameters read once).
#
# ADWIN's buckets (Bifet and Gavalda 2007, ADWIN2; the exponential histogram
# of Datar et al. 2002): row i holds up to M + 1 buckets of 2^i samples each
# (M = max_buckets), as (sum, variance) pairs, oldest first; a row that
# reaches M + 1 merges its two oldest into one bucket of the next row (M >= 2:
# River's own ADWIN fails on some streams with M = 1). The
# rows live in a fixed-capacity layout: row i = (count, sums[M + 1],
# variances[M + 1]), ADWIN_ROWS rows. The capacity: row i >= 1 receives its
# first bucket when row i - 1 overflows, i.e. when M + 1 >= 2 buckets of
# 2^(i-1) samples are in the window, so the window then holds at least 2^i
# samples; windows are counted in doubles, exact below 2^53 samples, so no
# more than 54 rows (0..53) are ever in use. Memory is 16 + 54 (3 + 2M)
# doubles (5.6 KiB for M = 5), and the rows in use at any time are
# log2(width / M) + O(1): a snapshot copies only those (``drift_used``).
# Rows past ``n_rows`` are always all zero (a merge, a removal and a reset
# zero what they vacate), so that the array is a function of the inputs.
#
# The arithmetic follows River's (its Rust ``AdaptiveWindowing`` and the
# Python ``PageHinkley``) operation by operation; with -ffp-contract=off
# (setup.py) every operation rounds as there. River resets a detector on the
# update after it flagged drift; so does ``drift_update``.

from libc.math cimport INFINITY, fabs, log, sqrt
from libc.string cimport memset

cdef enum:
    DRIFT_NONE = 0
    DRIFT_ADWIN = 1
    DRIFT_PAGE_HINKLEY = 2

    # the header (every kind)
    D_KIND = 0          # DRIFT_ADWIN or DRIFT_PAGE_HINKLEY
    D_DETECTED = 1      # 1 if the last update flagged drift
    D_COUNT = 2         # detections since the array was made
    D_P0 = 3            # the kind's parameters: D_P0 .. D_P0 + 4
    D_V0 = 8            # its running variables: D_V0 .. D_HEADER - 1
    DRIFT_HEADER = 16

    # ADWIN's parameters and variables
    AD_DELTA = 3
    AD_CLOCK = 4
    AD_MAX_BUCKETS = 5
    AD_MIN_WINDOW = 6
    AD_GRACE = 7
    AD_TOTAL = 8
    AD_VARIANCE = 9
    AD_WIDTH = 10
    AD_TICK = 11
    AD_ROWS = 12        # bucket rows in use (River's bucket list length)
    ADWIN_ROWS = 54     # the capacity (see above)

    # Page-Hinkley's
    PH_MIN_INSTANCES = 3
    PH_DELTA = 4
    PH_THRESHOLD = 5
    PH_ALPHA = 6
    PH_MODE = 7         # 1 up, 2 down, 3 both
    PH_N = 8
    PH_MEAN = 9
    PH_SUM_INCREASE = 10
    PH_SUM_DECREASE = 11
    PH_MIN_INCREASE = 12
    PH_MAX_DECREASE = 13

    PH_UP = 1
    PH_DOWN = 2
    PH_BOTH = 3


cdef struct Drift:
    double* s               # the state array
    int kind                # DRIFT_* (DRIFT_NONE: no detector)
    Py_ssize_t m1           # ADWIN: buckets per row (max_buckets + 1)
    Py_ssize_t row_len      # ADWIN: doubles per row (1 + 2 * m1)


cdef inline Py_ssize_t adwin_row_len(Py_ssize_t max_buckets) noexcept nogil:
    return 1 + 2 * (max_buckets + 1)


cdef inline Py_ssize_t drift_size(int kind, Py_ssize_t max_buckets) noexcept nogil:
    """Doubles in the state array of a detector."""
    if kind == DRIFT_ADWIN:
        return DRIFT_HEADER + ADWIN_ROWS * adwin_row_len(max_buckets)
    return DRIFT_HEADER


cdef inline void drift_bind(Drift* d, double* s) noexcept nogil:
    d.s = s
    d.kind = <int>s[D_KIND] if s != NULL else DRIFT_NONE
    if d.kind == DRIFT_ADWIN:
        d.m1 = <Py_ssize_t>s[AD_MAX_BUCKETS] + 1
        d.row_len = 1 + 2 * d.m1
    else:
        d.m1 = 0
        d.row_len = 0


cdef inline Py_ssize_t drift_used(const Drift* d) noexcept nogil:
    """Doubles of the state array in use: everything past them is zero."""
    if d.kind == DRIFT_ADWIN:
        return DRIFT_HEADER + <Py_ssize_t>d.s[AD_ROWS] * d.row_len
    return DRIFT_HEADER


cdef inline void drift_reset(Drift* d) noexcept nogil:
    """A fresh detector with the same parameters (River's ``_reset``); the
    detection count stays."""
    cdef double* s = d.s
    s[D_DETECTED] = 0.0
    if d.kind == DRIFT_ADWIN:
        memset(s + DRIFT_HEADER, 0, <Py_ssize_t>s[AD_ROWS] * d.row_len * sizeof(double))
        s[AD_TOTAL] = 0.0
        s[AD_VARIANCE] = 0.0
        s[AD_WIDTH] = 0.0
        s[AD_TICK] = 0.0
        s[AD_ROWS] = 1.0            # River starts with one (empty) row
    elif d.kind == DRIFT_PAGE_HINKLEY:
        s[PH_N] = 0.0
        s[PH_MEAN] = 0.0
        s[PH_SUM_INCREASE] = 0.0
        s[PH_SUM_DECREASE] = 0.0
        s[PH_MIN_INCREASE] = INFINITY
        s[PH_MAX_DECREASE] = -1.0


# -- ADWIN ----------------------------------------------------------------------------

cdef inline double* _adwin_row(const Drift* d, Py_ssize_t i) noexcept nogil:
    # row i: count, then m1 sums, then m1 variances
    return d.s + DRIFT_HEADER + i * d.row_len


cdef inline void _adwin_drop_oldest(const Drift* d, double* row, Py_ssize_t n) noexcept nogil:
    # remove the n oldest buckets of a row, shifting the others down and
    # zeroing the vacated places
    cdef Py_ssize_t count = <Py_ssize_t>row[0], m1 = d.m1, k
    cdef double* sums = row + 1
    cdef double* variances = row + 1 + m1
    for k in range(count - n):
        sums[k] = sums[k + n]
        variances[k] = variances[k + n]
    for k in range(count - n, count):
        sums[k] = 0.0
        variances[k] = 0.0
    row[0] = <double>(count - n)


cdef inline void _adwin_insert(const Drift* d, double value) noexcept nogil:
    cdef double* s = d.s
    cdef double* row = _adwin_row(d, 0)
    cdef double* nxt
    cdef Py_ssize_t m1 = d.m1, i = 0, count
    cdef double width, delta_v, incremental = 0.0, n1, mu1, mu2
    row[1 + <Py_ssize_t>row[0]] = value        # a bucket of one sample, variance 0
    row[1 + m1 + <Py_ssize_t>row[0]] = 0.0
    row[0] += 1.0
    # the window's variance (Welford's update, in River's order)
    width = s[AD_WIDTH] + 1.0
    s[AD_WIDTH] = width
    if width > 1.0:
        delta_v = value - s[AD_TOTAL] / (width - 1.0)
        incremental = (width - 1.0) * delta_v * delta_v / width
    s[AD_VARIANCE] = s[AD_VARIANCE] + incremental
    s[AD_TOTAL] = s[AD_TOTAL] + value
    # merge full rows upwards
    while True:
        row = _adwin_row(d, i)
        count = <Py_ssize_t>row[0]
        if count != m1:
            break
        if i + 1 >= ADWIN_ROWS:
            break       # unreachable below 2^53 samples (see the header)
        n1 = <double>(1LL << i)
        mu1 = row[1] / n1
        mu2 = row[2] / n1
        if i + 1 >= <Py_ssize_t>s[AD_ROWS]:
            s[AD_ROWS] = <double>(i + 2)       # a new row (all zero already)
        nxt = _adwin_row(d, i + 1)
        nxt[1 + <Py_ssize_t>nxt[0]] = row[1] + row[2]
        nxt[1 + m1 + <Py_ssize_t>nxt[0]] = row[1 + m1] + row[2 + m1] + n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2)
        nxt[0] += 1.0
        _adwin_drop_oldest(d, row, 2)
        if <Py_ssize_t>nxt[0] <= m1 - 1:
            break
        i += 1


cdef inline void _adwin_delete_oldest(const Drift* d) noexcept nogil:
    # drop the oldest bucket of the window (the first of the last row)
    cdef double* s = d.s
    cdef Py_ssize_t last = <Py_ssize_t>s[AD_ROWS] - 1
    cdef double* row = _adwin_row(d, last)
    cdef double n = <double>(1LL << last), u = row[1], v = row[1 + d.m1], mu, mu_window
    mu = u / n
    s[AD_WIDTH] = s[AD_WIDTH] - n
    s[AD_TOTAL] = s[AD_TOTAL] - u
    mu_window = s[AD_TOTAL] / s[AD_WIDTH]
    s[AD_VARIANCE] = s[AD_VARIANCE] - (
        v + n * s[AD_WIDTH] * (mu - mu_window) * (mu - mu_window) / (n + s[AD_WIDTH]))
    _adwin_drop_oldest(d, row, 1)
    if row[0] == 0.0:
        s[AD_ROWS] = <double>last          # the emptied last row goes


cdef inline bint _adwin_cut(double mwl, double variance_w, double delta_prime, double n0,
                            double n1, double delta_mean) noexcept nogil:
    # whether the two sub-windows' means differ by more than the bound;
    # variance_w = variance / width and delta_prime = ln(2 ln(width) / delta)
    # are the same for every split of a scan (River computes them per split:
    # the same values)
    cdef double m_recip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0)
    cdef double epsilon = (sqrt(2.0 * m_recip * variance_w * delta_prime)
                           + 2.0 / 3.0 * delta_prime * m_recip)
    return fabs(delta_mean) > epsilon


cdef inline bint _adwin_detect(const Drift* d) noexcept nogil:
    cdef double* s = d.s
    cdef double* row
    cdef bint change = False, reduce_width = True, done
    cdef double n0, n1, u0, u1, size, total_at, mwl = s[AD_MIN_WINDOW], variance_w, delta_prime
    cdef Py_ssize_t i, k, count
    cdef long long tick = <long long>s[AD_TICK] + 1
    s[AD_TICK] = <double>tick
    if tick % <long long>s[AD_CLOCK] != 0 or not s[AD_WIDTH] > s[AD_GRACE]:
        return False
    while reduce_width:
        reduce_width = False
        n0 = 0.0
        n1 = s[AD_WIDTH]
        u0 = 0.0
        u1 = s[AD_TOTAL]
        variance_w = s[AD_VARIANCE] / s[AD_WIDTH]
        delta_prime = log(2.0 * log(s[AD_WIDTH]) / s[AD_DELTA])
        done = False
        # every split point, from the oldest bucket to the newest (the newest
        # is never a split point); a cut drops the oldest bucket and starts over
        i = <Py_ssize_t>s[AD_ROWS] - 1
        while i >= 0 and not done:
            row = _adwin_row(d, i)
            count = <Py_ssize_t>row[0]
            size = <double>(1LL << i)
            for k in range(count):
                n0 += size
                n1 -= size
                total_at = row[1 + k]
                u0 += total_at
                u1 -= total_at
                if i == 0 and k == count - 1:
                    done = True
                    break
                if (n1 >= mwl and n0 >= mwl
                        and _adwin_cut(mwl, variance_w, delta_prime, n0, n1, (u0 / n0) - (u1 / n1))):
                    reduce_width = True
                    change = True
                    if s[AD_WIDTH] > 0.0:
                        _adwin_delete_oldest(d)
                        done = True
                        break
            i -= 1
    return change


# -- Page-Hinkley -------------------------------------------------------------------

cdef inline bint _page_hinkley(double* s, double x) noexcept nogil:
    cdef double n = s[PH_N] + 1.0, dev, test_increase, test_decrease
    cdef int mode = <int>s[PH_MODE]
    s[PH_N] = n
    s[PH_MEAN] = s[PH_MEAN] + (1.0 / n) * (x - s[PH_MEAN])
    dev = x - s[PH_MEAN]
    s[PH_SUM_INCREASE] = s[PH_ALPHA] * s[PH_SUM_INCREASE] + dev - s[PH_DELTA]
    s[PH_SUM_DECREASE] = s[PH_ALPHA] * s[PH_SUM_DECREASE] + dev + s[PH_DELTA]
    if s[PH_SUM_INCREASE] < s[PH_MIN_INCREASE]:
        s[PH_MIN_INCREASE] = s[PH_SUM_INCREASE]
    if s[PH_SUM_DECREASE] > s[PH_MAX_DECREASE]:
        s[PH_MAX_DECREASE] = s[PH_SUM_DECREASE]
    if n >= s[PH_MIN_INSTANCES]:
        test_increase = s[PH_SUM_INCREASE] - s[PH_MIN_INCREASE]
        test_decrease = s[PH_MAX_DECREASE] - s[PH_SUM_DECREASE]
        if mode == PH_UP:
            return test_increase > s[PH_THRESHOLD]
        if mode == PH_DOWN:
            return test_decrease > s[PH_THRESHOLD]
        return test_increase > s[PH_THRESHOLD] or test_decrease > s[PH_THRESHOLD]
    # before min_instances, River keeps the flag of the last update: always
    # False here (a flagged detector was reset by this update)
    return False


# -- the detector -----------------------------------------------------------------------

cdef inline bint drift_update(Drift* d, double x) noexcept nogil:
    """Feed one value; True if it flags drift (the next update then starts
    a fresh detector, as River's does)."""
    cdef bint flagged
    if d.s[D_DETECTED] != 0.0:
        drift_reset(d)
    if d.kind == DRIFT_ADWIN:
        _adwin_insert(d, x)
        flagged = _adwin_detect(d)
    else:
        flagged = _page_hinkley(d.s, x)
    if flagged:
        d.s[D_DETECTED] = 1.0
        d.s[D_COUNT] += 1.0
    return flagged


cdef inline Py_ssize_t drift_rows_to_check(const Drift* d) noexcept nogil:
    """How many more values the detector can take before one may flag
    drift: none of the next (returned - 1) values can, the returned-th may."""
    cdef const double* s = d.s
    cdef long long clock, tick
    cdef double need
    if d.kind == DRIFT_ADWIN:
        clock = <long long>s[AD_CLOCK]
        tick = 0 if s[D_DETECTED] != 0.0 else <long long>s[AD_TICK]
        return <Py_ssize_t>(clock - tick % clock)
    if d.kind == DRIFT_PAGE_HINKLEY:
        need = s[PH_MIN_INSTANCES] - (0.0 if s[D_DETECTED] != 0.0 else s[PH_N])
        return <Py_ssize_t>need if need > 1.0 else 1
    return 1 << 62
