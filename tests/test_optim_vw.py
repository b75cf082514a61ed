"""``Normalized`` (``optimizer="vw"``): Vowpal Wabbit's default update.

Oracles:

* the ``vowpalwabbit`` package (skipped without it) on the same rows: its
  ``Workspace`` learns the stream as VW text lines (features ``f0``, ``f1``,
  ... in one namespace, the importance weight after the label, VW's
  ``Constant`` feature as the intercept), and its weights are read back by
  their hashes. VW runs in float32 and approximates two things that this rule
  computes exactly: 1/sqrt(G) at ``power_t=0.5`` (SSE's ``rsqrt``, 12 bits;
  the invariant update keeps the prediction's move exact, so the error goes
  into directions the data hardly constrains) and, for the logistic loss, its
  invariant update (a Lambert-W formula, within about 1e-4). Weights are
  compared with ``atol = VW_TOL * max |w|``, ``VW_TOL = 1e-4`` (the largest
  error seen on these streams is about 3e-5 of the largest weight); the hinge
  loss at ``power_t != 0.5`` involves neither approximation and is held to
  1e-5. Predictions are unclipped on both sides (``--min_prediction`` /
  ``--max_prediction``). VW skips a sample whose loss rounds to 0 in float32
  (a logistic margin above about 16.6): the logistic streams stay below it.
* the NumPy reference ``_reference_optim`` (float64, the documented rule) at
  ``RTOL = 1e-8``, for the variants the registry cases of ``test_optim`` do not
  reach;
* the invariant updates of the losses against their defining property: the
  gradient flow of the loss, integrated numerically, and its semigroup law.
"""

import copy

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.integrate import solve_ivp

from _reference_optim import reference_classifier, reference_regressor
from conftest import make_classification_data, make_regression_data

import streamlr
from streamlr import SGDClassifier, SGDRegressor
from streamlr._kernels.losses import make_loss
from streamlr.optim import Normalized
from streamlr.schedules import Constant

VW_TOL = 1e-4
RTOL = 1e-8
ATOL = 1e-12
CONSTANT_HASH = 11650396   # VW's Constant feature
BITS = 18


# --------------------------------------------------------------------------
# Vowpal Wabbit
# --------------------------------------------------------------------------


def _vw_line(y, x, weight):
    feats = " ".join(f"f{j}:{float(v)!r}" for j, v in enumerate(x) if v != 0)
    imp = "" if weight is None else f" {float(weight)!r}"
    return f"{float(y)!r}{imp} |a {feats}"


def vw_fit(X, y, sample_weight=None, args="", fit_intercept=True):
    """Learn the rows with VW; returns (coef, intercept, G, N, workspace).
    G and N are VW's per-feature state (its weight slots 1 and 2, when
    adaptive and normalized). The weights are read through predictions of
    unit rows, which apply VW's global L2 contraction."""
    pyvw = pytest.importorskip("vowpalwabbit")
    vw = pyvw.Workspace(f"--quiet -b {BITS} --min_prediction -1e30 --max_prediction 1e30 "
                        + args + ("" if fit_intercept else " --noconstant"))
    mask = (1 << BITS) - 1
    ns = vw.hash_space("a")
    idx = [vw.hash_feature(f"f{j}", ns) & mask for j in range(X.shape[1])]
    assert len(set(idx) | {CONSTANT_HASH & mask}) == X.shape[1] + 1  # no collision
    for i in range(X.shape[0]):
        vw.learn(_vw_line(y[i], X[i], None if sample_weight is None else sample_weight[i]))
    coef = np.array([vw.predict(f"|a f{j}:1") for j in range(X.shape[1])])
    if fit_intercept:
        coef = coef - vw.predict("|a ")  # the Constant feature is in every row
        intercept = vw.predict("|a ")
    else:
        intercept = 0.0
    G = np.array([vw.get_weight(i, 1) for i in idx])
    N = np.array([vw.get_weight(i, 2) for i in idx])
    return coef, intercept, G, N, vw


def _stream(seed=1, n=300, zeros=0.3, grow=True):
    """Features at very different scales, some zeros, and (``grow``) a
    feature whose scale grows 50-fold half-way: VW's normalizer rescales its
    weight then."""
    rng = np.random.default_rng(seed)
    d = 6
    scales = np.array([1.0, 10.0, 0.1, 100.0, 1.0, 0.01])
    X = rng.normal(size=(n, d)) * scales
    X[rng.random(size=(n, d)) < zeros] = 0.0
    if grow:
        X[n // 2:, 0] *= 50.0
    z = X @ (rng.normal(size=d) / scales) + 0.3
    y_reg = z + 0.1 * rng.normal(size=n)
    # labels -1/1 with moderate margins (VW's float32 skip is far away)
    y_clf = np.where(rng.random(n) < 1.0 / (1.0 + np.exp(-0.3 * z)), 1.0, -1.0)
    weights = rng.uniform(0.2, 3.0, size=n)
    return X, y_reg, y_clf, weights


def _fit(task, opt, X, y, sw, **kw):
    kw.setdefault("penalty", None)
    common = dict(optimizer=opt, shuffle=False, **kw)
    if task == "squared":
        return SGDRegressor(loss="squared_error", **common).partial_fit(X, y, sample_weight=sw)
    loss = {"logistic": "log_loss", "hinge": "hinge"}[task]
    return SGDClassifier(loss=loss, **common).partial_fit(X, y, classes=[-1.0, 1.0],
                                                          sample_weight=sw)


def _assert_close_to_vw(est, coef, intercept, tol=VW_TOL):
    w, b = np.ravel(est.coef_), float(np.ravel(est.intercept_)[0])
    scale = max(np.abs(w).max(), abs(b))
    assert_allclose(w, coef, rtol=0, atol=tol * scale, err_msg="coef_")
    assert_allclose(b, intercept, rtol=0, atol=tol * scale, err_msg="intercept_")


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "importance"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["constant", "noconstant"])
@pytest.mark.parametrize("task", ["squared", "logistic", "hinge"])
def test_default_matches_vw(task, fit_intercept, weighted):
    """``optimizer="vw"`` is ``vw`` with its defaults, on a stream whose
    features differ in scale by 1e4 and one of which grows mid-stream."""
    X, y_reg, y_clf, sw = _stream()
    y = y_reg if task == "squared" else y_clf
    sw = sw if weighted else None
    coef, intercept, G, N, _ = vw_fit(X, y, sw, f"--loss_function {task}", fit_intercept)
    est = _fit(task, "vw", X, y, sw, fit_intercept=fit_intercept)
    assert est.lr_ == 0.5
    _assert_close_to_vw(est, coef, intercept)
    state = est.optimizer_state_
    # N is the largest |x| (the growing feature's included): exact up to VW's
    # float32 parse of the text
    assert_allclose(np.ravel(state["max_abs_x"]), N, rtol=5e-7)
    assert N[0] > 10 * np.abs(X[: X.shape[0] // 2, 0]).max()
    # G: VW's squared loss is twice squared_error, its gradients twice ours
    factor = 4.0 if task == "squared" else 1.0
    assert_allclose(factor * np.ravel(state["sum_sq_grad"]), G, rtol=1e-3)
    if task == "logistic":  # the stream stays where VW's float32 loss is not 0
        assert np.abs(est.decision_function(X)).max() < 12


# (estimator's Normalized keywords, VW's flags), each at its default rate: VW's
# 0.5 when adaptive and normalized, else 10 (Normalized.default_rate); the
# hinge loss has the same scale in both
VARIANTS = [
    (dict(invariant=False), "--adaptive --normalized"),
    (dict(normalized=False), "--adaptive --invariant"),
    (dict(normalized=False, invariant=False), "--adaptive"),
    (dict(adaptive=False), "--normalized --invariant"),
    (dict(adaptive=False, invariant=False), "--normalized"),
    (dict(adaptive=False, normalized=False), "--invariant"),
    (dict(adaptive=False, normalized=False, invariant=False), "--sgd"),
]


@pytest.mark.parametrize("power_t", [0.5, 0.3])
@pytest.mark.parametrize("kw,flags", VARIANTS, ids=[f for _, f in VARIANTS])
def test_variants_match_vw(kw, flags, power_t):
    X, _, y, sw = _stream(seed=2)
    opt = Normalized(power_t=power_t, **kw)
    rate = 0.5 if (opt.adaptive and opt.normalized) else 10.0
    assert opt.default_rate == rate
    coef, intercept, *_ = vw_fit(X, y, sw, f"--loss_function hinge --power_t {power_t} {flags}")
    est = _fit("hinge", opt, X, y, sw)
    assert est.lr_ == rate
    # at power_t=0.5 VW's adaptive rates take its rsqrt approximation
    _assert_close_to_vw(est, coef, intercept, tol=VW_TOL if power_t == 0.5 else 1e-5)


@pytest.mark.parametrize("power_t", [0.3, 0.7])
def test_power_t_matches_vw(power_t):
    """The general power (powf in VW): hinge, default flags, rate 0.5."""
    X, _, y, sw = _stream(seed=3)
    coef, intercept, *_ = vw_fit(X, y, sw, f"--loss_function hinge --power_t {power_t}")
    est = _fit("hinge", Normalized(power_t=power_t), X, y, sw)
    _assert_close_to_vw(est, coef, intercept, tol=1e-5)


@pytest.mark.parametrize("task", ["squared", "logistic"])
def test_non_invariant_logistic_and_squared_match_vw(task):
    X, y_reg, y_clf, sw = _stream(seed=4)
    y = y_reg if task == "squared" else y_clf
    coef, intercept, *_ = vw_fit(X, y, sw, f"--loss_function {task} -l 0.5 --adaptive --normalized")
    est = _fit(task, Normalized(invariant=False), X, y, sw, learning_rate=Constant(0.5))
    _assert_close_to_vw(est, coef, intercept)


def test_schedule_object_sets_vw_rate():
    X, y, _, sw = _stream(seed=5)
    coef, intercept, *_ = vw_fit(X, y, sw, "-l 0.3")
    est = _fit("squared", "vw", X, y, sw, learning_rate=Constant(0.3), eta0=7.0)
    assert est.lr_ == 0.3
    _assert_close_to_vw(est, coef, intercept)


def test_non_adaptive_squared_takes_twice_vw_rate():
    """Without adaptive rates the loss's scale shows: VW's squared loss is
    twice squared_error, so VW's rate 0.05 is this rule's 0.1."""
    X, y, _, sw = _stream(seed=6)
    coef, intercept, *_ = vw_fit(X, y, sw, "-l 0.05 --normalized --invariant")
    est = _fit("squared", Normalized(adaptive=False), X, y, sw, learning_rate=Constant(0.1))
    _assert_close_to_vw(est, coef, intercept)


@pytest.mark.parametrize("alpha", [1e-3, 1e-2])
def test_l2_penalty_matches_vw_l2(alpha):
    """penalty="l2" is VW's --l2 (every weight shrinks by 1 - alpha * the
    update's own rate) where both touch the same weights: rows without zeros,
    no intercept (VW shrinks its Constant too)."""
    X, y, _, sw = _stream(seed=7, zeros=0.0)
    coef, intercept, *_ = vw_fit(X, y, sw, f"--l2 {alpha}", fit_intercept=False)
    est = _fit("squared", "vw", X, y, sw, penalty="l2", alpha=alpha, fit_intercept=False)
    _assert_close_to_vw(est, coef, intercept)
    free = _fit("squared", "vw", X, y, sw, fit_intercept=False)
    assert not np.allclose(free.coef_, est.coef_, rtol=1e-3)


# --------------------------------------------------------------------------
# the NumPy reference: variants beyond the registry cases (test_optim)
# --------------------------------------------------------------------------

REF_VARIANTS = [
    Normalized(invariant=False),
    Normalized(normalized=False),
    Normalized(adaptive=False),
    Normalized(adaptive=False, power_t=0.3),
    Normalized(adaptive=False, normalized=False),
    Normalized(adaptive=False, normalized=False, invariant=False),
    Normalized(power_t=0.3),
    Normalized(power_t=0.0),
]


def _data(task, sparse, n=80):
    if task == "reg":
        return make_regression_data(n_samples=n, sparse=sparse)
    if task == "log2":
        return make_classification_data(n_samples=n, sparse=sparse)
    return make_classification_data(n_samples=n, n_classes=3, sparse=sparse)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("task", ["reg", "log2", "hinge3"])
@pytest.mark.parametrize("opt", REF_VARIANTS, ids=repr)
def test_variants_match_reference(opt, task, sparse):
    X, y = _data(task, sparse)
    sw = np.random.RandomState(0).uniform(0.2, 2.0, size=X.shape[0])
    rate = Constant(0.05) if not opt.adaptive else "constant"
    eta0 = 0.05 if not opt.adaptive else opt.default_rate
    kw = dict(optimizer=opt, learning_rate=rate, penalty="elasticnet", alpha=0.01,
              l1_ratio=0.3, shuffle=False, average=20)
    ref_kw = dict(eta0=eta0, penalty="elasticnet", alpha=0.01, l1_ratio=0.3, average=20,
                  sample_weight=sw)
    if task == "reg":
        est = SGDRegressor(**kw).partial_fit(X, y, sample_weight=sw)
        ref = reference_regressor(X, y, opt, **ref_kw)
    else:
        loss = "log_loss" if task == "log2" else "hinge"
        est = SGDClassifier(loss=loss, **kw).partial_fit(X, y, classes=np.unique(y),
                                                          sample_weight=sw)
        ref = reference_classifier(X, y, opt, loss, **ref_kw)
    assert_allclose(est.coef_, ref["coef"], rtol=RTOL, atol=ATOL)
    assert_allclose(est.intercept_, ref["intercept"], rtol=RTOL, atol=ATOL)
    state = est.optimizer_state_
    assert set(state) == set(ref["state"])
    for name, expected in ref["state"].items():
        assert_allclose(state[name], np.reshape(expected, np.shape(state[name])), rtol=RTOL,
                        atol=ATOL, err_msg=name)


def test_state_names_and_shapes():
    X, y = _data("hinge3", False)
    est = SGDClassifier(optimizer="vw", shuffle=False).partial_fit(X, y, classes=np.unique(y))
    state = est.optimizer_state_
    assert sorted(state) == sorted(["sum_sq_grad", "sum_sq_grad_intercept", "max_abs_x",
                                    "max_abs_x_intercept", "total_weight",
                                    "normalized_sum_norm_x", "weighted_t"])
    k = len(np.unique(y))
    assert state["sum_sq_grad"].shape == est.coef_.shape
    assert state["total_weight"].shape == (k,)
    assert_array_equal(state["max_abs_x_intercept"], np.ones(k))  # the constant feature is 1
    assert_array_equal(state["weighted_t"], np.full(k, float(X.shape[0])))
    reg = SGDRegressor(optimizer="vw").partial_fit(*_data("reg", False))
    assert reg.optimizer_state_["total_weight"].shape == ()
    assert Normalized(adaptive=False, normalized=False).slots() == ()


# --------------------------------------------------------------------------
# sparse rows, zeros, chunks, float32, single events, files
# --------------------------------------------------------------------------


def _with_explicit_zeros(Xd, frac, seed=0):
    rng = np.random.RandomState(seed)
    keep = (Xd != 0) | (rng.rand(*Xd.shape) < frac)
    rows, cols = np.nonzero(keep)
    out = sp.csr_matrix((Xd[rows, cols], (rows, cols)), shape=Xd.shape)
    out.sort_indices()
    return out


@pytest.mark.parametrize("penalty", [None, "l2", "elasticnet"])
@pytest.mark.parametrize("opt", [Normalized(), Normalized(adaptive=False, power_t=0.3)], ids=repr)
def test_csr_equals_dense_rows(opt, penalty):
    """Zero values are never touched, so a CSR row (explicit zeros or not)
    updates the model as its dense row does, penalties included."""
    X, y_reg, _, sw = _stream(seed=8, n=120)
    kw = dict(optimizer=opt, penalty=penalty, alpha=0.01, l1_ratio=0.5, shuffle=False,
              learning_rate=Constant(0.2))
    dense = SGDRegressor(**kw).partial_fit(X, y_reg, sample_weight=sw)
    for frac in (0.0, 0.5, 1.0):
        Xs = _with_explicit_zeros(X, frac)
        sparse = SGDRegressor(**kw).partial_fit(Xs, y_reg, sample_weight=sw)
        assert_array_equal(sparse.coef_, dense.coef_)
        assert_array_equal(sparse.intercept_, dense.intercept_)
        for name, value in dense.optimizer_state_.items():
            assert_array_equal(sparse.optimizer_state_[name], value, err_msg=name)


def test_chunks_and_learn_one_are_one_call():
    X, _, y, sw = _stream(seed=9, n=90)
    kw = dict(optimizer="vw", loss="log_loss", shuffle=False, average=10)
    whole = SGDClassifier(**kw).partial_fit(X, y, classes=[-1.0, 1.0], sample_weight=sw)
    chunks = SGDClassifier(**kw)
    for a, b in ((0, 1), (1, 40), (40, 90)):
        chunks.partial_fit(X[a:b], y[a:b], classes=[-1.0, 1.0], sample_weight=sw[a:b])
    events = SGDClassifier(**kw)
    events.partial_fit(X[:1], y[:1], classes=[-1.0, 1.0], sample_weight=sw[:1])
    for i in range(1, X.shape[0]):
        events.learn_one(X[i], y[i], sample_weight=sw[i])
    for other in (chunks, events):
        assert_array_equal(other.coef_, whole.coef_)
        assert_array_equal(other.intercept_, whole.intercept_)
        assert other.progressive_loss_ == whole.progressive_loss_
        for name, value in whole.optimizer_state_.items():
            assert_array_equal(other.optimizer_state_[name], value, err_msg=name)


def test_save_load_resumes_bitwise(tmp_path):
    X, y, _, sw = _stream(seed=10, n=100)
    est = SGDRegressor(optimizer=Normalized(power_t=0.4), shuffle=False)
    est.partial_fit(X[:60], y[:60], sample_weight=sw[:60])
    streamlr.save(est, tmp_path / "vw.streamlr")
    loaded = streamlr.load(tmp_path / "vw.streamlr")
    assert loaded.optimizer == est.optimizer
    for model in (est, loaded):
        model.partial_fit(X[60:], y[60:], sample_weight=sw[60:])
    assert_array_equal(loaded.coef_, est.coef_)
    assert_array_equal(loaded.intercept_, est.intercept_)
    for name, value in est.optimizer_state_.items():
        assert_array_equal(loaded.optimizer_state_[name], value, err_msg=name)


def test_mix_adds_the_global_sums():
    """streamlr.dask.mix: VW's sums count every copy's samples, as VW's merge."""
    from streamlr.dask import mix

    X, y, _, sw = _stream(seed=13, n=120)
    base = SGDRegressor(optimizer="vw", shuffle=False).partial_fit(X[:40], y[:40])
    copies = []
    for a, b in ((40, 80), (80, 120)):
        copies.append(copy.deepcopy(base).partial_fit(X[a:b], y[a:b], sample_weight=sw[a:b]))
    mixed = mix(copies, base=base)
    for name in ("total_weight", "normalized_sum_norm_x", "weighted_t"):
        start = base.optimizer_state_[name]
        want = start + sum(c.optimizer_state_[name] - start for c in copies)
        assert_allclose(mixed.optimizer_state_[name], want, rtol=1e-12, err_msg=name)
    assert_allclose(mixed.optimizer_state_["weighted_t"], 40 + sw[40:].sum(), rtol=1e-12)


def test_float32():
    X, y, _, sw = _stream(seed=11, n=150)
    e64 = SGDRegressor(optimizer="vw", shuffle=False).partial_fit(X, y, sample_weight=sw)
    e32 = SGDRegressor(optimizer="vw", shuffle=False).partial_fit(
        X.astype(np.float32), y.astype(np.float32), sample_weight=sw.astype(np.float32))
    assert e32.coef_.dtype == np.float32
    scale = np.abs(e64.coef_).max()
    assert_allclose(e32.coef_, e64.coef_, rtol=0, atol=1e-4 * scale)
    rule_scalars = {name for name, _ in Normalized().scalar_state()}
    for name, value in e64.optimizer_state_.items():
        # slots have coef_'s dtype; the rule's scalars are float64
        dtype = np.float64 if name in rule_scalars else np.float32
        assert e32.optimizer_state_[name].dtype == dtype, name
        assert_allclose(e32.optimizer_state_[name], value, rtol=1e-4, err_msg=name)


def test_zero_loss_zero_weight_and_empty_rows_change_nothing():
    X = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, -1.0], [2.0, 0.5]])
    y = np.array([1.0, -1.0, 1.0, -1.0])
    est = SGDClassifier(optimizer="vw", loss="hinge", shuffle=False, fit_intercept=False)
    est.partial_fit(X[:1], y[:1], classes=[-1.0, 1.0], sample_weight=[3.0])
    assert float(est.decision_function(X[:1])[0]) >= 1.0   # hinge loss 0 on row 0 now
    before = {k: v.copy() for k, v in est.optimizer_state_.items()}
    coef = est.coef_.copy()
    # a zero weight (row 2) and a zero loss (row 0) change nothing but VW's t
    est.partial_fit(X[[2, 0]], y[[2, 0]], sample_weight=[0.0, 1.5])
    assert_array_equal(est.coef_, coef)
    after = est.optimizer_state_
    for name in ("sum_sq_grad", "max_abs_x", "total_weight", "normalized_sum_norm_x"):
        assert_array_equal(after[name], before[name], err_msg=name)
    assert after["weighted_t"] == before["weighted_t"] + 1.5
    # an empty row without intercept has nothing to move; its weight still
    # counts in VW's global normalizer
    est.partial_fit(X[1:2], y[1:2])
    assert_array_equal(est.coef_, coef)
    assert est.optimizer_state_["total_weight"] == before["total_weight"] + 1.0
    assert est.optimizer_state_["normalized_sum_norm_x"] == before["normalized_sum_norm_x"]


# --------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------


@pytest.mark.parametrize("params,match", [
    (dict(adaptive=1), "adaptive"),
    (dict(normalized="yes"), "normalized"),
    (dict(invariant=None), "invariant"),
    (dict(power_t=-0.1), "power_t"),
    (dict(power_t=float("nan")), "power_t"),
    (dict(power_t=float("inf")), "power_t"),
    (dict(power_t="0.5"), "power_t"),
])
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        Normalized(**params)
    opt = Normalized()
    with pytest.raises(ValueError, match=match):
        opt.set_params(**params)
    assert opt == Normalized()


def test_bad_parameter_leaves_fitted_model_unchanged():
    X, y, _, _ = _stream(seed=12, n=40)
    est = SGDRegressor(optimizer=Normalized()).partial_fit(X, y)
    coef = est.coef_.copy()
    est.optimizer.power_t = -1.0   # bypasses set_params: caught at the next call
    with pytest.raises(ValueError, match="power_t"):
        est.partial_fit(X, y)
    assert_array_equal(est.coef_, coef)


@pytest.mark.parametrize("lr", ["pa1", "pa2"])
def test_pa_rates_refused(lr):
    X, y = _data("log2", False)
    with pytest.raises(ValueError, match=lr):
        SGDClassifier(optimizer="vw", learning_rate=lr, loss="hinge").partial_fit(
            X, y, classes=np.unique(y))


def test_learning_rate_strings_and_eta0_are_ignored():
    X, y = _data("log2", False)
    fits = [SGDClassifier(optimizer="vw", learning_rate=lr, eta0=eta0, shuffle=False,
                          max_iter=2, tol=None).fit(X, y)
            for lr, eta0 in (("constant", 1e-3), ("invscaling", 3.0), ("optimal", 0.01),
                             ("adaptive", 0.2))]
    for est in fits[1:]:
        assert_array_equal(est.coef_, fits[0].coef_)
    assert fits[0].lr_ == 0.5


# --------------------------------------------------------------------------
# the losses' invariant updates
# --------------------------------------------------------------------------

# (loss name, epsilon, targets)
LOSS_CASES = [
    ("squared_error", 0.1, [-2.0, 0.0, 3.0]),
    ("huber", 0.7, [-2.0, 0.5, 3.0]),
    ("epsilon_insensitive", 0.3, [-1.0, 2.0]),
    ("squared_epsilon_insensitive", 0.3, [-1.0, 2.0]),
    ("hinge", 0.1, [-1.0, 1.0]),
    ("perceptron", 0.1, [-1.0, 1.0]),
    ("squared_hinge", 0.1, [-1.0, 1.0]),
    ("modified_huber", 0.1, [-1.0, 1.0]),
    ("log_loss", 0.1, [0.0, 1.0]),
]


def _flow(loss, y, p, a):
    """The gradient flow dp/dh = -a dloss(y, p) integrated numerically to h = 1."""
    sol = solve_ivp(lambda h, q: [-a * loss._py_dloss(y, q[0])], (0.0, 1.0), [p],
                    rtol=1e-11, atol=1e-13, method="LSODA")
    return sol.y[0, -1] - p


# the losses whose derivative is continuous: their flow can be integrated
SMOOTH_CASES = [c for c in LOSS_CASES
                if c[0] not in ("hinge", "perceptron", "epsilon_insensitive")]


@pytest.mark.parametrize("name,eps,targets", SMOOTH_CASES, ids=[c[0] for c in SMOOTH_CASES])
def test_invariant_step_is_the_gradient_flow(name, eps, targets):
    loss = make_loss(name, eps)
    for y in targets:
        for p in (-4.0, -1.3, -0.2, 0.4, 0.95, 2.5):
            for a in (1e-6, 0.05, 0.6, 3.0, 40.0):
                got = loss._py_invariant_step(y, p, a)
                assert_allclose(got, _flow(loss, y, p, a), rtol=1e-6, atol=1e-8,
                                err_msg=f"{name} y={y} p={p} a={a}")


@pytest.mark.parametrize("name,threshold", [("hinge", 1.0), ("perceptron", 0.0),
                                            ("epsilon_insensitive", 0.3)])
def test_invariant_step_of_piecewise_linear_losses(name, threshold):
    """Their flow moves the prediction at speed a until the loss reaches 0
    (the margin reaches the threshold, |p - y| reaches epsilon): a numerical
    integration would chatter at the kink, so the closed form is checked."""
    loss = make_loss(name, 0.3)
    for y in (-1.0, 1.0):
        for p in (-4.0, -1.3, -0.2, 0.4, 0.95, 2.5):
            for a in (1e-6, 0.05, 0.6, 3.0, 40.0):
                got = loss._py_invariant_step(y, p, a)
                if name == "perceptron":   # the first-order step
                    want = a * y if y * p <= 0 else 0.0
                elif name == "epsilon_insensitive":
                    gap = abs(p - y) - threshold
                    want = -np.sign(p - y) * min(a, gap) if gap > 0 else 0.0
                else:
                    gap = threshold - y * p
                    want = y * min(a, gap) if gap > 0 else 0.0
                assert_allclose(got, want, rtol=1e-15, atol=1e-15, err_msg=f"y={y} p={p} a={a}")


# the perceptron takes the first-order step (its flow stops on the boundary)
FLOW_CASES = [c for c in LOSS_CASES if c[0] != "perceptron"]


@settings(max_examples=300, deadline=None)
@given(case=st.sampled_from(FLOW_CASES), p=st.floats(-30, 30), a1=st.floats(1e-8, 50.0),
       a2=st.floats(1e-8, 50.0), pick=st.integers(0, 2))
@example(case=("hinge", 0.1, [-1.0, 1.0]), p=-1.0, a1=1.0, a2=1.0, pick=0)  # on the kink
def test_invariant_step_composes(case, p, a1, a2, pick):
    """Importance invariance: one update of importance a1 + a2 is an update
    of a1 followed by one of a2 (for the same sensitivity)."""
    name, eps, targets = case
    loss = make_loss(name, eps)
    y = targets[pick % len(targets)]
    one = loss._py_invariant_step(y, p, a1 + a2)
    first = loss._py_invariant_step(y, p, a1)
    two = first + loss._py_invariant_step(y, p + first, a2)
    assert np.isfinite(one)
    assert_allclose(one, two, rtol=1e-9, atol=1e-9 * (1.0 + abs(p) + a1 + a2))
    # it never overshoots: the loss does not increase
    assert loss._py_loss(y, p + one) <= loss._py_loss(y, p) * (1 + 1e-12) + 1e-12
    # and for a small importance it is the gradient step (but on a kink
    # where the loss is 0, the hinge's margin 1: no move there, while dloss
    # takes the subgradient of the side below)
    small = loss._py_invariant_step(y, p, 1e-9)
    if loss._py_loss(y, p) > 0 or one != 0:
        assert_allclose(small, -1e-9 * loss._py_dloss(y, p), rtol=1e-5, atol=1e-20)
    else:
        assert small == 0.0


def test_logistic_flow_extremes():
    loss = make_loss("log_loss")
    # far on the right side: a tiny move; far on the wrong side: almost a
    for p, a in ((800.0, 5.0), (40.0, 1e6), (-800.0, 5.0), (-40.0, 1e-3), (0.0, 1e300)):
        step = loss._py_invariant_step(1.0, p, a)
        assert np.isfinite(step) and 0.0 <= step <= a
    assert loss._py_invariant_step(1.0, -800.0, 5.0) == 5.0
    # a soft label has no closed form: the first-order step
    assert loss._py_invariant_step(0.3, 0.2, 0.5) == -0.5 * loss._py_dloss(0.3, 0.2)
