"""``optimizer="vw"`` on samples whose loss is 0 only up to rounding, against
the ``vowpalwabbit`` package.

VW skips a sample whose loss is 0 (no G, no N, no rescaled weight, no sums,
no step; only its t counts it), and it finds the loss in float32. An
invariant step that stops on a kink (the hinge's margin 1, the quantile's
p = y) leaves a later row proportional to that row (or the row itself) on
the kink in exact arithmetic: with hinge, no intercept and power_t=0.4 the
rows x=0.5 then x=1.0 (both -1) give the second a margin of 1, where the
rule once saw a double loss of 1e-16, learnt, grew N from 0.5 to 1 and
rescaled the weight from -1 to -0.435 (by (N_old/|x|)^(2 - 2 power_t)); VW
stays at -1. The rule now decides as VW does: the loss at the float32
prediction and label, in float32 (``Loss.zero_in_float32``); so also the
logistic loss is 0 from a float32 margin of 16.6355 on.

VW's float32 arithmetic is itself off a kink by an ulp or so (about half of
VW's own runs of two rows learn the second): the lockstep comparison below
stops at a sample that VW's rounded prediction and this rule's decide
differently, after checking that both predictions sit on the kink.

Tolerances are test_optim_vw's: ``VW_TOL`` of the largest weight where VW
approximates (1/sqrt(G) at power_t=0.5, the logistic invariant update), 1e-5
otherwise, and 1e-3 for the logistic loss on the short random streams
(VW's logistic update moves the margin by up to 9e-5 more or less than its
flow, which is 2e-4 of a small step's weight). VW's squared loss is (p - y)^2, twice ``squared_error``'s: at
power_t p its rule is this one's at the rate 0.5 * 2^(1 - 2p).
"""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from test_vw_repeated_columns import _csr, _vw_weights, _workspace

from _reference_optim import reference_classifier

from streamlr import SGDClassifier, SGDRegressor
from streamlr.optim import Normalized
from streamlr.schedules import Constant

pytest.importorskip("vowpalwabbit")

VW_TOL = 1e-4
LOGISTIC_TOL = 1e-3
POWERS = [0.3, 0.4, 0.5, 0.6]
LOSSES = ["hinge", "logistic", "squared", "quantile"]
F32_LOGISTIC_ZERO = np.float32(2.0 ** -24)


def _vw_loss_is_zero(loss, y, p):
    """VW's decision (loss_functions.cc in float32) at the float32
    prediction ``p`` and label ``y`` (-1/1 for the classifiers)."""
    p, y = np.float32(p), np.float32(y)
    if loss == "hinge":
        return not np.float32(1.0) - y * p > 0
    if loss == "logistic":
        z = y * p
        with np.errstate(over="ignore"):
            return bool(np.float32(1.0) + np.float32(np.exp(-np.float64(z))) == np.float32(1.0))
    return bool(p == y)   # squared, quantile: 0 only at p == y


def _kink_distance(loss, y, p):
    """How far the prediction is from where the loss becomes 0."""
    if loss == "hinge":
        return abs(1.0 - y * p)
    if loss == "logistic":
        return abs(y * p - 24 * np.log(2.0))
    return abs(p - y)


def _make(loss, power_t, fit_intercept, vw_args="", **flags):
    """The estimator and the VW workspace of one stream (``flags``:
    Normalized's adaptive/normalized/invariant, with VW's in ``vw_args``)."""
    common = dict(penalty=None, shuffle=False, fit_intercept=fit_intercept)
    opt = Normalized(power_t=power_t, **flags)
    flags = f"--power_t {power_t} {vw_args}"
    if loss == "hinge":
        est = SGDClassifier(loss="hinge", optimizer=opt, **common)
        vw = _workspace(f"--loss_function hinge {flags}", fit_intercept)
    elif loss == "logistic":
        est = SGDClassifier(loss="log_loss", optimizer=opt, **common)
        vw = _workspace(f"--loss_function logistic {flags}", fit_intercept)
    elif loss == "squared":
        rate = 0.5 * 2.0 ** (1.0 - 2.0 * power_t)
        est = SGDRegressor(loss="squared_error", optimizer=opt, learning_rate=Constant(rate), **common)
        vw = _workspace(f"--loss_function squared {flags}", fit_intercept)
    else:
        est = SGDRegressor(loss="quantile", quantile=0.3, optimizer=opt, **common)
        vw = _workspace(f"--loss_function quantile --quantile_tau 0.3 {flags}", fit_intercept)
    return est, vw


def _tol(loss, power_t):
    if loss == "logistic":
        # VW's Lambert-W formula errs by up to 9e-5 in the margin's move: on
        # these short streams of small steps up to 2e-4 of the weights
        return LOGISTIC_TOL
    return VW_TOL if power_t == 0.5 else 1e-5


def _line(y, row, weight=1.0):
    feats = " ".join(f"f{j}:{float(v)!r}" for j, v in row)
    return f"{float(y)!r} {float(weight)!r} |a {feats}"


def _raw(est, X):
    """The linear prediction (the margin) of one row."""
    if isinstance(est, SGDClassifier):
        return est.decision_function(X)[0]
    return est.predict(X)[0]


def _lockstep(loss, power_t, fit_intercept, rows, y, weights, n_cols, vw_args="", **flags):
    """Learn the rows one at a time with both; compare the weights after
    each, and the skipped samples. Returns the number of samples compared
    (all, unless VW's own rounding decides a kink differently)."""
    est, vw = _make(loss, power_t, fit_intercept, vw_args, **flags)
    X = _csr(rows, n_cols)
    names = [("a", f"f{j}") for j in range(n_cols)]
    tol = _tol(loss, power_t)
    classes = [-1.0, 1.0] if isinstance(est, SGDClassifier) else None
    peak = 0.0
    try:
        for i, (row, target, h) in enumerate(zip(rows, y, weights, strict=True)):
            p_est = float(_raw(est, X[i:i + 1])) if i else 0.0
            p_vw = vw.predict("|a " + " ".join(f"f{j}:{float(v)!r}" for j, v in row))
            skip = _vw_loss_is_zero(loss, target, p_est)
            if skip != _vw_loss_is_zero(loss, target, p_vw):
                # the same prediction up to VW's float32, on the kink
                scale = max(1.0, abs(p_est))
                assert abs(p_est - p_vw) <= 50 * tol * scale, (p_est, p_vw)
                assert _kink_distance(loss, target, p_est) <= 50 * tol * scale
                return i
            before = est.optimizer_state_ if i else None
            if classes is not None and i == 0:
                est.partial_fit(X[i:i + 1], [target], classes=classes, sample_weight=[h])
            else:
                est.partial_fit(X[i:i + 1], [target], sample_weight=[h])
            vw.learn(_line(target, row, h))
            after = est.optimizer_state_
            if skip:
                # nothing but t: VW's loss is 0
                for name, value in after.items():
                    if name != "weighted_t" and before is not None:
                        assert_array_equal(value, before[name], err_msg=name)
            elif before is not None and flags.get("normalized", True):
                assert np.ravel(after["total_weight"])[0] == np.ravel(before["total_weight"])[0] + h
            coef, b = _vw_weights(vw, names, fit_intercept)
            w = np.ravel(est.coef_)
            bias = float(np.ravel(est.intercept_)[0])
            # VW's approximations err by a fraction of the weights they moved
            peak = max(peak, np.abs(w).max(), abs(bias), 1e-300)
            scale = peak
            assert_allclose(w, coef, rtol=0, atol=tol * scale, err_msg=f"coef_ after row {i}")
            assert_allclose(bias, b, rtol=0, atol=tol * scale, err_msg=f"intercept_ after row {i}")
        return len(rows)
    finally:
        vw.finish()


# --------------------------------------------------------------------------
# the repro and its family: one column, no intercept
# --------------------------------------------------------------------------


@pytest.mark.parametrize("power_t", POWERS)
def test_repro_second_row_on_the_kink_is_skipped(power_t):
    """x=0.5 then x=1.0, both -1: the first step leaves the second row at
    margin 1 (exactly, in exact arithmetic); VW skips it, and so does the
    rule: the weight stays -1 and G, N, W and S stay where they were."""
    est, vw = _make("hinge", power_t, False)
    X = sp.csr_matrix(np.array([[0.5], [1.0]]))
    est.partial_fit(X[:1], [-1.0], classes=[-1.0, 1.0])
    state = est.optimizer_state_
    coef = est.coef_.copy()
    est.partial_fit(X[1:], [-1.0])
    vw.learn("-1 |a f0:0.5")
    p_vw = vw.predict("|a f0:1.0")
    vw.learn("-1 |a f0:1.0")
    w_vw, _ = _vw_weights(vw, [("a", "f0")], False)
    vw.finish()
    assert_allclose(est.coef_.ravel(), -1.0, rtol=1e-12)
    if p_vw == -1.0:
        assert_allclose(est.coef_.ravel(), w_vw, rtol=1e-6)
    else:
        # power_t=0.3: VW's float32 first step stops one ulp short of the
        # kink (-0.99999994), and VW learns from that loss of 6e-8
        assert abs(p_vw + 1.0) <= 2.0 ** -23
    assert_array_equal(est.coef_, coef)
    after = est.optimizer_state_
    for name in ("sum_sq_grad", "max_abs_x", "total_weight", "normalized_sum_norm_x"):
        assert_array_equal(after[name], state[name], err_msg=name)
    assert after["weighted_t"] == state["weighted_t"] + 1.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["dense", "csr", "learn_one", "fit"])
@pytest.mark.parametrize("power_t", POWERS)
def test_repro_every_entry_point(power_t, layout, dtype):
    """Dense and CSR rows, float64 and float32, partial_fit, fit and
    learn_one all skip the second row."""
    X = np.array([[0.5], [1.0]], dtype=dtype)
    y = np.array([-1.0, -1.0])
    est = SGDClassifier(loss="hinge", optimizer=Normalized(power_t=power_t), penalty=None,
                        shuffle=False, fit_intercept=False)
    if layout == "fit":
        # a third row of the other class, also at a zero loss (margin 4)
        est.set_params(max_iter=1, tol=None)
        est.fit(np.vstack([X, np.array([[-4.0]], dtype=dtype)]), [-1.0, -1.0, 1.0])
    elif layout == "learn_one":
        est.learn_one(X[0], -1.0, classes=[-1.0, 1.0])
        est.learn_one(X[1], -1.0)
    else:
        Xl = sp.csr_matrix(X) if layout == "csr" else X
        est.partial_fit(Xl[:1], y[:1], classes=[-1.0, 1.0])
        est.partial_fit(Xl[1:], y[1:])
    assert est.coef_.dtype == dtype
    assert_allclose(est.coef_.ravel(), -1.0, rtol=1e-6)
    assert np.ravel(est.optimizer_state_["total_weight"])[0] == 1.0


# --------------------------------------------------------------------------
# rows of growing and shrinking magnitude, zero-loss rows interleaved
# --------------------------------------------------------------------------

# a base row, then multiples of it and itself again: after a step that stops
# on the kink, the row itself sits on it and its multiples above (c > 1: N
# grows, which once rescaled the weight) or below it
SCALES = [1.0, 2.0, 1.0, 0.5, 3.0, 3.0, 0.25, 4.0, 1.0]


@pytest.mark.parametrize("fit_intercept", [False, True], ids=["noconstant", "constant"])
@pytest.mark.parametrize("power_t", POWERS)
@pytest.mark.parametrize("loss", LOSSES)
def test_scaled_rows_match_vw(loss, power_t, fit_intercept):
    """Multiples of one row (two columns), with importance 3 on the first
    (a step that stops on the kink), lockstep with VW."""
    base = [(0, 0.5), (1, -1.25)]
    rows = [[(j, c * v) for j, v in base] for c in SCALES]
    y = [1.0] * len(rows) if loss in ("hinge", "logistic") else [2.0] * len(rows)
    weights = [3.0] + [1.0] * (len(rows) - 1)
    if loss == "logistic":
        weights[0] = 1e15  # a margin above 16.6 (VW's float32 loss is 0 there)
    done = _lockstep(loss, power_t, fit_intercept, rows, y, weights, 2)
    assert done >= 2


# (Normalized's flags, VW's) for the rules other than the default
VARIANTS = [
    (dict(invariant=False), "--adaptive --normalized"),
    (dict(normalized=False), "--adaptive --invariant"),
    (dict(adaptive=False), "--normalized --invariant"),
    (dict(adaptive=False, normalized=False), "--invariant"),
]


@pytest.mark.parametrize("power_t", [0.4, 0.5])
@pytest.mark.parametrize("kw,vw_flags", VARIANTS, ids=[f for _, f in VARIANTS])
@pytest.mark.parametrize("fit_intercept", [False, True], ids=["noconstant", "constant"])
def test_scaled_rows_match_vw_variants(fit_intercept, kw, vw_flags, power_t):
    """The hinge loss on the multiples of one row under VW's other rules
    (each at its default rate): the skip does not depend on the flags."""
    base = [(0, 0.5), (1, -1.25)]
    rows = [[(j, c * v) for j, v in base] for c in SCALES]
    weights = [3.0] + [1.0] * (len(rows) - 1)
    done = _lockstep("hinge", power_t, fit_intercept, rows, [1.0] * len(rows), weights, 2,
                     vw_flags, **kw)
    assert done >= 2


@pytest.mark.parametrize("fit_intercept", [False, True], ids=["noconstant", "constant"])
def test_logistic_beyond_float32_margin_is_skipped(fit_intercept):
    """A logistic margin above 16.6355 is a zero loss for VW (float32): a
    confident row with a feature at a new scale neither grows N nor rescales
    the weight; the reference follows the same rule."""
    X = np.array([[1.0, 0.0], [1.0, 0.0], [4.0, 1.0], [1.0, 0.5]])
    y = np.array([1.0, 1.0, 1.0, -1.0])
    sw = np.array([1e15, 1.0, 1.0, 1.0])
    est = SGDClassifier(loss="log_loss", optimizer="vw", penalty=None, shuffle=False,
                        fit_intercept=fit_intercept)
    est.partial_fit(X[:2], y[:2], classes=[-1.0, 1.0], sample_weight=sw[:2])
    margin = float(est.decision_function(X[1:2])[0])
    assert margin > 16.64
    state = est.optimizer_state_
    coef = est.coef_.copy()
    assert state["total_weight"][0] == 1e15    # row 1 was skipped already
    est.partial_fit(X[2:3], y[2:3], sample_weight=sw[2:3])
    assert_array_equal(est.coef_, coef)
    assert_array_equal(est.optimizer_state_["max_abs_x"], state["max_abs_x"])
    est.partial_fit(X[3:], y[3:], sample_weight=sw[3:])
    ref = reference_classifier(X, y, Normalized(), "log_loss", eta0=0.5, sample_weight=sw,
                               fit_intercept=fit_intercept)
    assert_allclose(est.coef_, ref["coef"], rtol=1e-8, atol=1e-12)
    assert_allclose(est.intercept_, ref["intercept"], rtol=1e-8, atol=1e-12)
    rows = [[(j, float(v)) for j, v in enumerate(r) if v != 0] for r in X]
    assert _lockstep("logistic", 0.5, fit_intercept, rows, list(y), list(sw), 2) == 4


# --------------------------------------------------------------------------
# small random streams
# --------------------------------------------------------------------------

VALUES = [1.0, -1.0, 0.5, -2.0, 3.25, 0.125, 4.0]
N_COLS = 3

rows_strategy = st.lists(
    st.lists(st.tuples(st.integers(0, N_COLS - 1), st.sampled_from(VALUES)), min_size=1, max_size=3,
             unique_by=lambda t: t[0]),
    min_size=1, max_size=10)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy, data=st.data(), fit_intercept=st.booleans(),
       loss=st.sampled_from(LOSSES), power_t=st.sampled_from(POWERS))
def test_random_streams_match_vw(rows, data, fit_intercept, loss, power_t):
    """Small streams of few distinct values (rows often repeat or scale
    earlier ones), importances 1 or 3, lockstep with VW on every loss and
    power_t."""
    n = len(rows)
    labels = [-1.0, 1.0] if loss in ("hinge", "logistic") else [-2.0, 0.5, 1.0, 3.0]
    y = data.draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))
    weights = data.draw(st.lists(st.sampled_from([1.0, 3.0]), min_size=n, max_size=n))
    done = _lockstep(loss, power_t, fit_intercept, rows, y, weights, N_COLS)
    event(f"{loss}: " + ("every row" if done == n else "stopped on a kink VW rounds otherwise"))


def test_race_copy_skips_as_the_estimator():
    """``optimizer="auto"``: its VW copy at rate 0.5 is the estimator's
    ``optimizer="vw"`` on a stream whose seventh row repeats the sixth on the
    kink (once learnt from a double loss of 1e-16: total_weight 7)."""
    base = np.array([1.0, 0.5])
    scales = np.array([2.0, 0.5, 3.0, 1.0, 2.0, 0.5, 0.5, 3.0, 0.25, 6.0, 0.5])
    X, y = np.outer(scales, base), np.ones(len(scales))
    y[-3] = -1.0
    race = SGDClassifier(loss="hinge", optimizer="auto", penalty=None, shuffle=False)
    race.partial_fit(X, y, classes=[-1.0, 1.0])
    est = SGDClassifier(loss="hinge", optimizer="vw", penalty=None, shuffle=False)
    est.partial_fit(X, y, classes=[-1.0, 1.0])
    assert est.optimizer_state_["total_weight"][0] == 6.0
    info = race.rate_race_
    k = [i for i, (o, r) in enumerate(zip(info["optimizers"], info["rates"], strict=True))
         if o == "Normalized" and r == 0.5]
    assert len(k) == 1
    assert info["progressive_loss"][0, k[0]] == est.progressive_loss_
    rows = [[(j, float(v)) for j, v in enumerate(r)] for r in X]
    assert _lockstep("hinge", 0.5, True, rows, list(y), [1.0] * len(rows), 2) >= 7


@pytest.mark.parametrize("name,y,margins", [
    ("hinge", 1.0, [1.0 - 1e-16, 1.0, 1.0 + 1e-16, 1.0 - 2.0 ** -25]),
    ("hinge", -1.0, [1.0 - 1e-16, 0.999999, 1.5, 1.0 - 2.0 ** -23]),
    ("log_loss", 1.0, [16.635530471801758, 16.63553237915039, 16.635531, 30.0, 5.0]),
    ("log_loss", 0.0, [16.635530471801758, 16.63553237915039, 16.6355324, -3.0]),
    ("squared_error", 2.0, [2.0, 2.0 + 1e-16, 2.0 + 1e-6]),
    ("quantile", 0.1, [0.1, 0.1 + 1e-18, 0.1 - 1e-9]),
])
def test_zero_in_float32_is_vws_decision(name, y, margins):
    """The kernel's decision against VW's float32 expressions, on and
    around the kinks (the margin z = y p for the classifiers, p itself for
    the regressors)."""
    from streamlr._kernels.losses import make_loss
    loss = make_loss(name, 0.1, quantile=0.3) if name == "quantile" else make_loss(name, 0.1)
    vw_name = {"hinge": "hinge", "log_loss": "logistic", "squared_error": "squared",
               "quantile": "quantile"}[name]
    for z in margins:
        if name == "hinge":
            p, label = z * y, y
        elif name == "log_loss":
            p, label = (z if y == 1.0 else -z), (1.0 if y == 1.0 else -1.0)
        else:
            p, label = z, y
        assert loss._py_zero_in_float32(y, p) == _vw_loss_is_zero(vw_name, label, p), (z, p)
