"""The dense plain-SGD loop (issue #20): the log loss and its derivative from
one exp (Loss.loss_dloss), the dense dot inlined (and the row prefetch along
it), the branch-free binary targets. Each is checked
bit for bit against an independent reference or the general path."""
import math

import numpy as np
import pytest

from streamlr import SGDClassifier
from streamlr._kernels import kernel as _k


def _log1pexp(x):
    # the kernel's log loss (losses.pyx _log1pexp_from): from e = exp(-x),
    # the exponential the derivative takes, with scikit-learn's cut points
    # above 18
    if x <= -37:
        return math.exp(x)
    e = math.exp(-x)
    if x <= 0:
        return math.log1p(1 / e)
    if x <= 18:
        return x + math.log1p(e)
    if x <= 33.3:
        return x + e
    return x


def _dloss(y, p):
    if p > -37:
        e = math.exp(-p)
        return ((1 - y) - y * e) / (1 + e)
    return math.exp(p) - y


def _dot(w, x, wscale):
    # the kernel's order: eight sums by position mod 8, the tail on the first,
    # combined as ((0 + 1) + (2 + 3)) + ((4 + 5) + (6 + 7))
    a = [0.0] * 8
    m = len(x) - len(x) % 8
    for k in range(m):
        a[k % 8] += w[k] * x[k]
    for k in range(m, len(x)):
        a[0] += w[k] * x[k]
    s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
    return s if wscale == 1.0 else s * wscale


def _reference(X, y, eta, alpha):
    """Plain SGD, log loss, constant rate, L2 (alpha, or none when 0), with
    an intercept: scikit-learn's scaled-weight update, operation for operation."""
    w = [0.0] * X.shape[1]
    wscale, b, loss_sum = 1.0, 0.0, 0.0
    for x, yi in zip(X.tolist(), y.tolist(), strict=True):
        p = _dot(w, x, wscale) + b
        loss_sum += _log1pexp(p) - yi * p
        update = -eta * min(max(_dloss(yi, p), -1e12), 1e12)
        if alpha:
            wscale *= max(0.0, 1.0 - eta * alpha)
        if update != 0.0:
            step = update if wscale == 1 else update / wscale
            w = [wk + xk * step for wk, xk in zip(w, x, strict=True)]
        b += update
    return np.array(w) * wscale, b, loss_sum


@pytest.mark.parametrize("d", [5, 8, 13, 100])
@pytest.mark.parametrize("alpha", [0.0, 1e-3])
def test_log_loss_loop_is_bitwise_the_reference(d, alpha):
    rng = np.random.default_rng(d)
    X = rng.standard_normal((300, d))
    y = (X[:, 0] + rng.standard_normal(300) > 0).astype(np.int64)
    model = SGDClassifier(loss="log_loss", penalty="l2" if alpha else None, alpha=alpha or 1e-4,
                          learning_rate="constant", eta0=0.05, shuffle=False, tol=None)
    model.partial_fit(X, y, classes=[0, 1])
    w, b, loss_sum = _reference(X, y.astype(float), 0.05, alpha)
    assert model.coef_.ravel().tobytes() == w.tobytes()
    assert model.intercept_[0] == b
    assert model.progressive_loss_ == loss_sum / len(y)


def test_binary_targets_find_the_first_label_of_neither_class():
    classes = np.array([0.0, 1.0])
    for y, bad in (([1.0, 0.0, 2.0], 2), ([np.nan, 1.0], 0), ([0.0, 1.0, 1.0, np.nan], 3),
                   ([1.0] * 40 + [-1.0] + [5.0], 40)):
        assert _k.binary_targets(np.array(y), classes, 0.0, np.float64) == (None, 0, bad)
    y = np.array([1, 0, 1, 1, 0], dtype=np.int32)
    targets, n_pos, bad = _k.binary_targets(y, np.array([0, 1], dtype=np.int32), -1.0, np.float32)
    assert (bad, n_pos) == (-1, 3) and targets.tolist() == [1, -1, 1, 1, -1]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_dense_prefetch_along_the_dot_changes_no_bit(dtype, optimizer):
    # one call prefetches rows ahead (plain SGD on float64: along the dot,
    # _dot_ahead; else in a burst); blocks of two rows never do
    rng = np.random.default_rng(7)
    X = rng.standard_normal((400, 37)).astype(dtype)
    y = (X[:, 0] + rng.standard_normal(400) > 0).astype(np.int64)
    kw = dict(loss="log_loss", shuffle=False, tol=None, optimizer=optimizer)
    one = SGDClassifier(**kw).partial_fit(X, y, classes=[0, 1])
    blocks = SGDClassifier(**kw)
    for i in range(0, 400, 2):
        blocks.partial_fit(X[i:i + 2], y[i:i + 2], classes=[0, 1])
    assert one.coef_.tobytes() == blocks.coef_.tobytes()
    assert one.intercept_.tobytes() == blocks.intercept_.tobytes()
    assert one.progressive_loss_ == blocks.progressive_loss_



@pytest.mark.parametrize("d", [13, 100])
@pytest.mark.parametrize("kw", [
    {}, {"penalty": None}, {"fit_intercept": False}, {"average": 5}, {"alpha": 0.05},
    {"class_weight": {0: 0.5, 1: 2.0}}, {"learning_rate": "constant", "eta0": 0.1},
    {"drift": "restart"}, {"drift": "reset"},
], ids=str)
def test_dense_update_fused_with_the_next_dot_changes_no_bit(d, kw):
    # within one call, dense float64 plain SGD computes the next row's sums
    # in its update's pass over the weights (rows.pxi streamlr_axpy_dot8);
    # one row a call has no next row: the separate update and dot. Every bit
    # must agree, with a drift reaction between two rows too (then the sums
    # are not fused)
    from streamlr.drift import ADWIN

    kw = dict(kw)
    on_drift = kw.pop("drift", None)
    if on_drift:
        kw.update(drift_detector=ADWIN(clock=8, delta=0.05), on_drift=on_drift)
    rng = np.random.default_rng(d)
    n = 800
    X = rng.standard_normal((n, d))
    y = (X[:, 0] + 0.1 * rng.standard_normal(n) > 0).astype(np.int64)
    y[n // 2:] = 1 - y[n // 2:]                 # a drift for the detector
    sw = rng.uniform(0.5, 2.0, n)
    base = dict(loss="log_loss", tol=None, shuffle=False)
    one = SGDClassifier(**base, **kw).partial_fit(X, y, classes=[0, 1], sample_weight=sw)
    rows = SGDClassifier(**base, **kw)
    for i in range(n):
        rows.partial_fit(X[i:i + 1], y[i:i + 1], classes=[0, 1], sample_weight=sw[i:i + 1])
    if on_drift:
        assert len(one.drifts_) >= 1 and list(one.drifts_) == list(rows.drifts_)
    assert one.coef_.tobytes() == rows.coef_.tobytes()
    assert one.intercept_.tobytes() == rows.intercept_.tobytes()
    assert one.progressive_loss_ == rows.progressive_loss_
