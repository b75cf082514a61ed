"""The GLM losses of SGDRegressor: "poisson", "gamma", "tweedie" (log link)
and "quantile" (pinball).

Oracles:

* the NumPy definitions of ``_reference`` (``tweedie_half_deviance``,
  ``pinball`` and their gradients), scikit-learn's loss objects
  (``HalfPoissonLoss``, ``HalfGammaLoss``, ``HalfTweedieLoss``,
  ``PinballLoss``) and metrics (``mean_tweedie_deviance``,
  ``mean_pinball_loss``);
* the gradient flow of each loss integrated by SciPy (the importance-invariant
  step of Vowpal Wabbit's rule);
* ``_reference_optim.run_binary``: every optimizer of the registry, sample by
  sample, with the NumPy gradient of each loss;
* scikit-learn's batch GLMs: the objective reached by a many-epoch ``fit``.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.integrate import solve_ivp
from sklearn._loss.loss import HalfGammaLoss, HalfPoissonLoss, HalfTweedieLoss, PinballLoss
from sklearn.linear_model import GammaRegressor, PoissonRegressor, QuantileRegressor, TweedieRegressor
from sklearn.metrics import d2_tweedie_score, mean_pinball_loss, mean_tweedie_deviance

import _reference_optim as ro
from _reference import pinball, pinball_gradient, tweedie_gradient, tweedie_half_deviance
from conftest import assert_same_model, make_X

import streamlr
from streamlr import DivergenceError, SGDRegressor, _registry, optim
from streamlr import schedules as S
from streamlr._kernels.losses import make_loss

GLM = ["poisson", "gamma", "tweedie", "quantile"]
POWERS = [-1.0, 0.0, 1.0, 1.2, 1.5, 1.8, 2.0, 2.5, 3.0]


def _power(name, power=1.5):
    return {"poisson": 1.0, "gamma": 2.0}.get(name, power)


def _kernel(name, power=1.5, quantile=0.5):
    return make_loss(name, 0.1, power, quantile)


def _ref_value(name, y, p, power=1.5, quantile=0.5):
    if name == "quantile":
        return pinball(y, p, quantile)
    return tweedie_half_deviance(y, p, _power(name, power))


def _ref_grad(name, y, p, power=1.5, quantile=0.5):
    if name == "quantile":
        return pinball_gradient(y, p, quantile)
    return tweedie_gradient(y, p, _power(name, power))


def _domain_target(power, u):
    """A target of the Tweedie power's domain from u >= 0."""
    if power <= 0:
        return u - 1.0
    return u if power < 2 else u + 1e-3


def glm_data(name, n=80, d=6, seed=0, sparse=False, dtype=np.float64, power=1.5, scale=1.0):
    """(X, y): rows of squared norm about one; counts, amounts or real
    targets drawn from a log-linear (quantile: linear) model."""
    X = make_X(n, d, seed=seed, sparse=sparse, dtype=dtype)
    rng = np.random.RandomState(seed + 7)
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X)
    w = np.linspace(0.8, -0.6, d)
    eta = Xd.astype(np.float64) @ w + 0.3
    mu = scale * np.exp(eta)
    if name == "poisson":
        y = rng.poisson(mu).astype(np.float64)
    elif name == "gamma":
        y = rng.gamma(2.0, mu / 2.0)
    elif name == "tweedie":
        if power <= 0:
            y = mu + 0.3 * rng.randn(n)
        else:
            y = rng.poisson(mu) * rng.gamma(2.0, 0.5, size=n)
            if power >= 2:
                y = y + 0.05
    else:
        y = eta + 0.5 * rng.randn(n)
    return X, y.astype(dtype)


# --------------------------------------------------------------------------
# 1. the kernel's values and gradients
# --------------------------------------------------------------------------


@st.composite
def loss_points(draw, wide=True):
    """(name, power, quantile, y, p): a target of the loss's domain and a
    margin up to 60 (wide) from log(y), beyond the reach of the tangent."""
    name = draw(st.sampled_from(GLM))
    power = draw(st.sampled_from(POWERS) | st.floats(1.0, 3.0) | st.floats(-2.0, 0.0)) \
        if name == "tweedie" else 1.5
    quantile = draw(st.floats(0.01, 0.99))
    u = draw(st.sampled_from([0.0, 1.0]) | st.floats(0.0, 50.0) | st.floats(1e-6, 1e-2))
    if name == "quantile":
        y = draw(st.floats(-50.0, 50.0))
    elif name == "gamma":
        y = u + 1e-3
    else:
        y = _domain_target(_power(name, power), u)
    delta = draw(st.floats(-60.0 if wide else -8.0, 60.0 if wide else 8.0))
    p = (np.log(y) if y > 0 and name != "quantile" else 0.0) + delta
    if name == "quantile":
        p = y + delta
    return name, power, quantile, y, p


@settings(max_examples=400, deadline=None)
@given(loss_points())
@example(("tweedie", -2.0, 0.5, 34.0, np.log(34.0)))    # the gradient cancels to 0
def test_value_and_gradient_are_the_reference(case):
    name, power, quantile, y, p = case
    loss = _kernel(name, power, quantile)
    ref_l = float(_ref_value(name, y, p, power, quantile))
    ref_g = float(_ref_grad(name, y, p, power, quantile))
    # the reference's naive formula loses ulps of its largest term, which
    # near powers 1 and 2 carries the factors 1/(1-power) and 1/(2-power)
    scale = 1.0 + abs(y) * (1.0 + abs(p)) + abs(ref_g)
    rho = _power(name, power)
    if name == "tweedie" and rho not in (1.0, 2.0):
        scale *= 1.0 + 1.0 / abs(1.0 - rho) + 1.0 / abs(2.0 - rho)
    if name != "quantile":
        # under the log link the value and the gradient are differences of
        # exp((2 - power) p) and y exp((1 - power) p), which cancel near
        # p = log(y): each side's rounding is ulps of those terms (at power
        # -2, y = 34, p = log 34 they are 1.3e6 and the gradient 0)
        scale += (np.exp((2.0 - rho) * p) + abs(y) * np.exp((1.0 - rho) * p)) \
            * (1.0 + 1.0 / max(abs(1.0 - rho), 1e-3) + 1.0 / max(abs(2.0 - rho), 1e-3))
    assert abs(loss._py_loss(y, p) - ref_l) <= 1e-12 * scale + 1e-10 * abs(ref_l), (ref_l,)
    assert abs(loss._py_dloss(y, p) - ref_g) <= 1e-12 * scale + 1e-10 * abs(ref_g), (ref_g,)


@settings(max_examples=300, deadline=None)
@given(loss_points(wide=False))
def test_dloss_is_the_derivative(case):
    name, power, quantile, y, p = case
    loss = _kernel(name, power, quantile)
    if name == "quantile" and abs(y - p) < 1e-3:
        return  # the kink
    h = 1e-6 * max(1.0, abs(p))
    fd = (loss._py_loss(y, p + h) - loss._py_loss(y, p - h)) / (2 * h)
    d = loss._py_dloss(y, p)
    scale = max(1.0, abs(loss._py_loss(y, p)), abs(d))
    # the loss is a sum of terms that cancel near its minimum: each value
    # carries a rounding error of a few ulps of the largest term, which the
    # central difference divides by h
    rounding = 1e-14 * _largest_term(name, _power(name, power), y, p) / h
    assert abs(d - fd) <= 1e-5 * scale + rounding, (d, fd)


def _largest_term(name, rho, y, p):
    """The magnitude of the largest term of the half deviance at (y, p)."""
    if name == "tweedie" and rho not in (0.0, 1.0, 2.0):
        return (abs(y) ** (2.0 - rho) / abs((1.0 - rho) * (2.0 - rho))
                + abs(y) * np.exp((1.0 - rho) * p) / abs(1.0 - rho)
                + np.exp((2.0 - rho) * p) / abs(2.0 - rho))
    if name == "quantile":
        return abs(y) + abs(p)
    e = np.exp(min(abs(p), 700.0))
    return abs(y) * (1.0 + abs(p)) + e + abs(y) * e + y * y + p * p


@pytest.mark.parametrize("power", POWERS)
def test_value_and_gradient_are_sklearns(power):
    """scikit-learn's HalfTweedieLoss (HalfPoissonLoss, HalfGammaLoss) plus
    its constant: the half deviance; mean_tweedie_deviance is twice its mean."""
    rng = np.random.RandomState(int(10 * power) + 50)
    y = _domain_target(power, np.abs(rng.randn(300)) * 3.0)
    if 1 <= power < 2:
        y[:30] = 0.0
    p = np.log(np.maximum(np.abs(y), 0.1)) + 2.0 * rng.randn(300)
    sk = {1.0: HalfPoissonLoss(), 2.0: HalfGammaLoss()}.get(power, HalfTweedieLoss(power=power))
    name = {1.0: "poisson", 2.0: "gamma"}.get(power, "tweedie")
    loss = _kernel(name, power)
    got = loss.loss_array(y, p)
    grad = loss.dloss_array(y, p)
    assert_allclose(grad, sk.gradient(y, p), rtol=1e-10, atol=1e-12)
    expected = sk.loss(y, p)
    if power != 0.0:   # scikit-learn's constant for power 0 omits y^2 / 2
        expected = expected + sk.constant_to_optimal_zero(y)
        assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
    assert_allclose(2 * got.mean(), mean_tweedie_deviance(y, np.exp(p), power=power), rtol=1e-10)


@pytest.mark.parametrize("q", [0.05, 0.3, 0.5, 0.9])
def test_pinball_is_sklearns(q):
    rng = np.random.RandomState(3)
    y, p = rng.randn(200), rng.randn(200)
    p[:10] = y[:10]                     # the kink: -q, as scikit-learn's
    loss = _kernel("quantile", quantile=q)
    sk = PinballLoss(quantile=q)
    assert_allclose(loss.loss_array(y, p), sk.loss(y, p), rtol=1e-13, atol=1e-15)
    assert_allclose(loss.dloss_array(y, p), sk.gradient(y, p), rtol=0, atol=0)
    assert_allclose(loss.loss_array(y, p).mean(), mean_pinball_loss(y, p, alpha=q), rtol=1e-13)


@pytest.mark.parametrize("name,power", [("poisson", 1.0), ("gamma", 2.0), ("tweedie", 1.5),
                                        ("tweedie", 0.0), ("tweedie", 3.0)])
def test_exponentials_never_overflow(name, power):
    """Beyond the reach the loss follows its tangent: finite values, and a
    gradient bounded by about e^30 max(1, y^(2 - power))."""
    loss = _kernel(name, power)
    reach = 30.0 / max(1.0, abs(1 - power), abs(2 - power))
    for y in (_domain_target(power, 0.0), 1.0, 7.0, 1e4):
        if name == "gamma" and y <= 0:
            continue
        for p in (-1e300, -1e6, -800.0, 800.0, 1e6, 1e300):
            v, g = loss._py_loss(y, p), loss._py_dloss(y, p)
            assert np.isfinite(g), (y, p)
            assert not np.isnan(v) and v >= 0, (y, p, v)
            assert abs(g) <= 1.01 * np.exp(30.0) * max(1.0, abs(y) ** (2 - power)) + abs(y), (y, p)
        s = np.log(y) if y > 0 else 0.0
        for d in (-0.5 * reach, 0.0, 0.5 * reach):   # near the target: the loss itself
            assert loss._py_loss(y, s + d) == pytest.approx(
                float(tweedie_half_deviance(y, s + d, power, reach=np.inf)), rel=1e-12,
                abs=1e-14 * (1 + abs(y)) * (1 + abs(s + d)))


# --------------------------------------------------------------------------
# 2. the importance-invariant step: the gradient flow
# --------------------------------------------------------------------------


def _flow(loss, y, p, a):
    sol = solve_ivp(lambda h, x: [-a * loss._py_dloss(y, x[0])], (0.0, 1.0), [p],
                    method="Radau", rtol=1e-12, atol=1e-13)
    return sol.y[0, -1] - p


FLOW_CASES = [("poisson", 1.0, 1e-7), ("gamma", 2.0, 1e-7), ("tweedie", 1.2, 1e-3),
              ("tweedie", 1.5, 1e-3), ("tweedie", 1.8, 1e-3), ("tweedie", 0.0, 1e-2),
              ("tweedie", 3.0, 1e-2)]


@pytest.mark.parametrize("name,power,rtol", FLOW_CASES)
def test_invariant_step_is_the_flow(name, power, rtol):
    """Exact for poisson, gamma and y = 0; integrated numerically for other
    Tweedie powers (documented accuracy); beyond the reach included."""
    loss = _kernel(name, power)
    rng = np.random.RandomState(int(power * 10) + 1)
    for _ in range(40):
        u = abs(rng.randn()) * rng.choice([0.01, 1.0, 100.0])
        y = 0.0 if (power < 2 and power > 0 and rng.rand() < 0.2) else u + 1e-3
        p = (np.log(y) if y > 0 else 0.0) + rng.randn() * rng.choice([0.3, 3.0, 20.0])
        a = 10 ** rng.uniform(-3, 1)
        got = loss._py_invariant_step(y, p, a)
        ref = _flow(loss, y, p, a)
        tol = 1e-7 if y == 0 else rtol
        assert abs(got - ref) <= tol * max(abs(ref), 1e-3), (y, p, a, got, ref)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.8])
def test_quantile_invariant_step(q):
    loss = _kernel("quantile", quantile=q)
    for y, p, a, expected in [(1.0, 0.0, 0.5, 0.5 * q), (1.0, 0.0, 100.0, 1.0),
                              (0.0, 1.0, 0.5, -0.5 * (1 - q)), (0.0, 1.0, 100.0, -1.0),
                              (2.0, 2.0, 1.0, 0.0)]:
        assert loss._py_invariant_step(y, p, a) == pytest.approx(expected, rel=1e-15)


# --------------------------------------------------------------------------
# 3. one sample: the update is the loss's gradient
# --------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(loss_points(wide=False), st.integers(0, 2 ** 16), st.floats(1e-4, 0.5),
       st.floats(0.1, 5.0))
def test_one_sample_steps_along_the_gradient(case, seed, eta, sw):
    """Plain SGD from a random model, one sample: w1 = w0 - eta sw g x and
    b1 = b0 - eta sw g, g the NumPy reference's gradient at w0 . x + b0."""
    name, power, quantile, y, _ = case
    rng = np.random.RandomState(seed)
    x = rng.randn(4)
    w0, b0 = 0.5 * rng.randn(4), float(rng.randn())
    p = float(x @ w0 + b0)
    est = SGDRegressor(loss=name, power=power, quantile=quantile, penalty=None,
                       learning_rate="constant", eta0=eta, max_iter=1, tol=None, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(x[None], [y], coef_init=w0, intercept_init=[b0], sample_weight=[sw])
    g = float(np.clip(_ref_grad(name, y, p, power, quantile), -1e12, 1e12))
    assert_allclose(est.coef_, w0 - eta * sw * g * x, rtol=1e-10, atol=1e-12)
    assert_allclose(est.intercept_, [b0 - eta * sw * g], rtol=1e-10, atol=1e-12)
    # the loss value (not the step) carries the factors 1/(1-power) and
    # 1/(2-power) of the Tweedie deviance: the reference's naive formula
    # loses as many digits near powers 1 and 2 (the tolerance of
    # test_value_and_gradient_are_the_reference)
    ref = float(_ref_value(name, y, p, power, quantile))
    scale = 1.0 + abs(y) * (1.0 + abs(p)) + abs(g)
    rho = _power(name, power)
    if name == "tweedie" and rho not in (1.0, 2.0):
        scale *= 1.0 + 1.0 / abs(1.0 - rho) + 1.0 / abs(2.0 - rho)
    assert abs(est.progressive_loss_ - ref) <= 1e-12 * scale + 1e-10 * abs(ref), (ref,)


# --------------------------------------------------------------------------
# 4. every optimizer, against the NumPy reference
# --------------------------------------------------------------------------


def _glm_loss_functions(name, power=1.5, quantile=0.5):
    """The loss as _reference_optim's rules take it: a dloss (the key of
    LOSS_FUNCTIONS) and, for Vowpal Wabbit's row rule, its value and flow."""
    def dloss(y, p):
        return float(_ref_grad(name, y, p, power, quantile))

    def value(y, p):
        return float(_ref_value(name, y, p, power, quantile))

    def flow(y, p, a):
        if name == "poisson":       # e^-p relaxes towards 1/y, linearly for y = 0
            if y > 0:
                return -np.log(1 / y + (np.exp(-p) - 1 / y) * np.exp(-a * y)) - p
            return -np.log(np.exp(-p) + a) - p
        if name == "gamma":         # e^p relaxes towards y
            return np.log(y + (np.exp(p) - y) * np.exp(-a)) - p
        if name == "quantile":
            r = y - p
            return min(a * quantile, r) if r > 0 else (max(-a * (1 - quantile), r) if r < 0 else 0.0)
        sol = solve_ivp(lambda h, x: [-a * dloss(y, x[0])], (0.0, 1.0), [p], method="Radau",
                        rtol=1e-12, atol=1e-13)
        return sol.y[0, -1] - p

    ro.LOSS_FUNCTIONS[dloss] = ro.LossFunctions(value, dloss, flow)
    return dloss


def _registry_optimizers():
    for entry in _registry.optimizers():
        ref = ro.REFERENCES.get(entry.name)
        if ref is None:
            continue
        for string in entry.strings:
            spec = entry.build(string)
            if ref.covers(spec.get_params(deep=False)):
                yield pytest.param(string, spec, ref.eta0, id=string)


OPTIMIZERS = list(_registry_optimizers())


def _rate(opt, eta0):
    """The reference's rate, at most 0.01 for a rule that takes eta0 (the
    GLM targets reach 10; momentum at 0.05 diverges on them)."""
    return eta0 if optim.resolve(opt).default_rate is not None else min(eta0, 0.01)


def _reference_model(name, X, y, opt, eta0, **kw):
    dloss = _glm_loss_functions(name)
    return ro._collect([ro.run_binary(X, np.asarray(y, dtype=np.float64), dloss, opt, eta0=eta0,
                                      **kw)], regressor=True)


def _assert_reference(est, ref, rtol=1e-8, atol=1e-11):
    assert_allclose(est.coef_, ref["coef"], rtol=rtol, atol=atol, err_msg="coef_")
    assert_allclose(est.intercept_, ref["intercept"], rtol=rtol, atol=atol, err_msg="intercept_")
    for key, expected in ref["state"].items():
        assert_allclose(est.optimizer_state_[key], expected, rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", GLM)
@pytest.mark.parametrize("string,opt,eta0", OPTIMIZERS)
def test_every_optimizer_matches_reference(string, opt, eta0, name, sparse):
    """Sample by sample, dense (every coordinate) and CSR (the documented lazy
    rule), against the rule's NumPy reference fed the loss's NumPy gradient."""
    X, y = glm_data(name, sparse=sparse)
    eta0 = _rate(opt, eta0)
    est = SGDRegressor(loss=name, optimizer=opt, learning_rate="constant", eta0=eta0,
                       penalty=None, shuffle=False).partial_fit(X, y)
    # the flow of the numerical Tweedie step is within 1e-3 of the exact one
    rtol = 1e-3 if (string == "vw" and name == "tweedie") else 1e-8
    _assert_reference(est, _reference_model(name, X, y, opt, eta0), rtol=rtol)


VARIANTS = [
    ("adam", dict(penalty="l2", alpha=0.05)),
    ("adagrad", dict(penalty="elasticnet", alpha=0.02, l1_ratio=0.4)),
    ("ftrl", dict(penalty="l1", alpha=0.01)),
    ("vw", dict(penalty="l2", alpha=0.01)),
    ("rmsprop", dict(learning_rate="invscaling", power_t=0.3)),
    ("adam", dict(average=True)),
    ("momentum", dict(fit_intercept=False)),
    ("nadam", dict(sample_weight=True)),
]


@pytest.mark.parametrize("name", GLM)
@pytest.mark.parametrize("string,kw", VARIANTS, ids=[f"{s}-{'-'.join(k)}" for s, k in VARIANTS])
def test_penalties_schedules_averaging_weights(string, kw, name):
    kw = dict(kw)
    X, y = glm_data(name)
    opt = _registry.resolve_optimizer(string)
    eta0 = _rate(opt, ro.REFERENCES[type(opt).__name__].eta0)
    sw = np.random.RandomState(1).uniform(0.2, 3.0, X.shape[0]) if kw.pop("sample_weight", 0) \
        else None
    est_kw = dict(kw)
    est_kw.setdefault("learning_rate", "constant")
    est = SGDRegressor(loss=name, optimizer=string, eta0=eta0, shuffle=False,
                       **{"penalty": None, **est_kw}).partial_fit(X, y, sample_weight=sw)
    ref_kw = {k: (1 if k == "average" and v is True else v) for k, v in kw.items()}
    rtol = 1e-3 if (string == "vw" and name == "tweedie") else 1e-8
    _assert_reference(est, _reference_model(name, X, y, opt, eta0, sample_weight=sw, **ref_kw),
                      rtol=rtol)


@pytest.mark.parametrize("name", GLM)
def test_schedule_object_is_its_string(name):
    X, y = glm_data(name)
    a = SGDRegressor(loss=name, optimizer="adam", learning_rate=S.InverseScaling(0.05, 0.4),
                     shuffle=False).partial_fit(X, y)
    b = SGDRegressor(loss=name, optimizer="adam", learning_rate="invscaling", eta0=0.05,
                     power_t=0.4, shuffle=False).partial_fit(X, y)
    assert_same_model(a, b, check_progressive_loss=True)
    c = SGDRegressor(loss=name, optimizer="adam", shuffle=False,
                     learning_rate=S.Warmup(S.CosineAnnealing(0.05, 40), 10)).partial_fit(X, y)
    assert np.all(np.isfinite(c.coef_)) and np.isfinite(c.progressive_loss_)


@pytest.mark.parametrize("name", GLM)
def test_plain_sgd_csr_equals_dense(name):
    # (without the intercept, which scikit-learn's plain SGD steps 100 times
    # slower on sparse input)
    for penalty in (None, "l2"):
        kw = dict(loss=name, learning_rate="invscaling", eta0=0.05, penalty=penalty, alpha=0.01,
                  shuffle=False, max_iter=3, tol=None, fit_intercept=False)
        Xd, y = glm_data(name)
        Xs, _ = glm_data(name, sparse=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a, b = SGDRegressor(**kw).fit(Xd, y), SGDRegressor(**kw).fit(Xs, y)
        assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------
# 5. the estimator: predictions, score, streams, files
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", GLM)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_predict_is_the_mean(name, sparse):
    X, y = glm_data(name, sparse=sparse)
    est = SGDRegressor(loss=name, optimizer="adam", eta0=0.05, learning_rate="constant",
                       max_iter=5, tol=None, random_state=0).fit(X, y)
    Xd = X.toarray() if sparse else X
    margin = Xd @ est.coef_ + est.intercept_[0]
    expected = np.exp(margin) if name != "quantile" else margin
    assert_allclose(est.predict(X), expected, rtol=1e-12)
    assert_allclose([est.predict_one(Xd[i]) for i in range(5)], expected[:5], rtol=1e-12)
    big = np.vstack([Xd] * 2)  # the general path (more rows than a small call)
    assert_allclose(est.predict(big)[:5], expected[:5], rtol=1e-12)
    if name == "quantile":
        assert est.score(X, y) == pytest.approx(
            1 - ((y - expected) ** 2).sum() / ((y - y.mean()) ** 2).sum(), rel=1e-10)
    else:
        power = _power(name)
        assert est.score(X, y) == pytest.approx(d2_tweedie_score(y, expected, power=power),
                                                rel=1e-10)


@pytest.mark.parametrize("name", GLM)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunks_events_and_files_give_the_same_model(name, dtype, tmp_path):
    X, y = glm_data(name, n=60, dtype=dtype)
    kw = dict(loss=name, optimizer="adam", eta0=0.05, learning_rate="constant", shuffle=False,
              penalty="l2", alpha=0.001)
    whole = SGDRegressor(**kw).partial_fit(X, y)
    assert whole.coef_.dtype == dtype
    chunks = SGDRegressor(**kw)
    for lo, hi in ((0, 7), (7, 8), (8, 40), (40, 60)):
        chunks.partial_fit(X[lo:hi], y[lo:hi])
    assert_same_model(whole, chunks, check_progressive_loss=True)
    events = SGDRegressor(**kw)
    for i in range(X.shape[0]):
        events.learn_one(X[i], float(y[i]))
    assert_same_model(whole, events, check_progressive_loss=True)
    half = SGDRegressor(**kw).partial_fit(X[:30], y[:30])
    streamlr.save(half, tmp_path / "m.streamlr")
    resumed = streamlr.load(tmp_path / "m.streamlr").partial_fit(X[30:], y[30:])
    assert resumed.get_params()["power"] == 1.5
    assert_same_model(whole, resumed, check_progressive_loss=True)


def test_float32_close_to_float64():
    X, y = glm_data("poisson", n=200)
    kw = dict(loss="poisson", optimizer="adam", eta0=0.02, learning_rate="constant",
              max_iter=5, tol=None, random_state=0)
    a = SGDRegressor(**kw).fit(X, y)
    b = SGDRegressor(**kw).fit(X.astype(np.float32), y.astype(np.float32))
    assert_allclose(b.coef_, a.coef_, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("power,quantile", [(1.2, 0.1), (2.5, 0.9), (0.0, 0.5)])
def test_parameters_reach_the_kernel(power, quantile):
    X, y = glm_data("tweedie", power=power)
    est = SGDRegressor(loss="tweedie", power=power, learning_rate="constant", eta0=0.01,
                       shuffle=False).partial_fit(X, y)
    margins = np.zeros(X.shape[0])   # from zero weights: the first loss is at p = 0
    assert est.progressive_loss_ > 0
    first = SGDRegressor(loss="tweedie", power=power).partial_fit(X[:1], y[:1])
    assert first.progressive_loss_ == pytest.approx(
        float(tweedie_half_deviance(y[0], margins[0], power)), rel=1e-12)
    Xq, yq = glm_data("quantile")
    q = SGDRegressor(loss="quantile", quantile=quantile).partial_fit(Xq[:1], yq[:1])
    assert q.progressive_loss_ == pytest.approx(float(pinball(yq[0], 0.0, quantile)), rel=1e-12)


# --------------------------------------------------------------------------
# 6. bad input
# --------------------------------------------------------------------------


BAD_TARGETS = [("poisson", {}, -1.0, "y >= 0"), ("gamma", {}, 0.0, "y > 0"),
               ("gamma", {}, -2.0, "y > 0"), ("tweedie", {"power": 1.5}, -0.5, "y >= 0"),
               ("tweedie", {"power": 2.0}, 0.0, "y > 0"), ("tweedie", {"power": 3.0}, 0.0, "y > 0")]


def _snapshot(est):
    return (est.coef_.copy(), est.intercept_.copy(), est.t_, est.progressive_loss_,
            {k: v.copy() for k, v in est.optimizer_state_.items()})


def _same_snapshot(a, b):
    assert_array_equal(a[0], b[0])
    assert_array_equal(a[1], b[1])
    assert a[2] == b[2] and a[3] == b[3]
    for k in a[4]:
        assert_array_equal(a[4][k], b[4][k])


@pytest.mark.parametrize("name,kw,bad,domain", BAD_TARGETS)
def test_targets_outside_the_domain(name, kw, bad, domain):
    """Every entry point raises a ValueError naming the loss, the domain and
    the value, before the model changes."""
    X, y = glm_data(name, power=kw.get("power", 1.5))
    if name == "tweedie" and kw["power"] >= 2:
        y = y + 0.1
    label = f"loss='{name}'" + (f" with power={kw['power']!r}" if name == "tweedie" else "")
    msg = f"{label} takes targets {domain}; got y={bad!r}"
    yb = y.copy()
    yb[5] = bad
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        SGDRegressor(loss=name, **kw).fit(X, yb)
    with pytest.raises(ValueError, match=r"\(sample 5\)"):
        SGDRegressor(loss=name, **kw).partial_fit(X, yb)
    with pytest.raises(ValueError, match=msg):
        SGDRegressor(loss=name, **kw).learn_one(X[0], bad)
    est = SGDRegressor(loss=name, optimizer="adam", **kw).partial_fit(X[:20], y[:20])
    before = _snapshot(est)
    for call in (lambda: est.partial_fit(X[20:30], yb[:10]),        # a small call
                 lambda: est.partial_fit(np.vstack([X] * 2), np.concatenate([yb, y])),
                 lambda: est.learn_one(X[3], bad),
                 lambda: est.learn_one(X[3], np.nan)):
        with pytest.raises(ValueError):
            call()
        _same_snapshot(before, _snapshot(est))


def test_targets_every_real_number_where_the_domain_is():
    X, y = glm_data("quantile")
    SGDRegressor(loss="quantile").fit(X, y - 10.0)
    SGDRegressor(loss="tweedie", power=0.0, max_iter=3, tol=None).fit(X, y - 0.5)
    SGDRegressor(loss="tweedie", power=-1.0, max_iter=3, tol=None).fit(X, y - 0.5)
    SGDRegressor(loss="poisson").fit(X, np.zeros(X.shape[0]))   # zero counts


@pytest.mark.parametrize("param,value", [("power", 0.5), ("power", 0.01), ("power", np.nan),
                                         ("power", np.inf), ("power", "1.5"),
                                         ("quantile", 0.0), ("quantile", 1.0),
                                         ("quantile", -0.2), ("quantile", np.nan)])
def test_bad_parameters(param, value):
    X, y = glm_data("poisson")
    est = SGDRegressor(loss="tweedie").partial_fit(X[:10], y[:10])
    before = _snapshot(est)
    est.set_params(**{param: value})
    with pytest.raises(ValueError, match=f"'{param}' parameter"):
        est.partial_fit(X[10:20], y[10:20])
    with pytest.raises(ValueError, match=f"'{param}' parameter"):
        est.learn_one(X[0], 1.0)
    _same_snapshot(before, _snapshot(est))
    with pytest.raises(ValueError, match=f"'{param}' parameter"):
        SGDRegressor(loss="poisson", **{param: value}).fit(X, y)


def test_classifier_refuses_the_glm_losses():
    X, y = glm_data("poisson")
    for name in GLM:
        with pytest.raises(ValueError, match="loss"):
            streamlr.SGDClassifier(loss=name).fit(X, (y > 1).astype(int))


# --------------------------------------------------------------------------
# 7. numerics: extreme rows, divergence, the rate race
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["poisson", "gamma", "tweedie"])
@pytest.mark.parametrize("opt", ["adam", "vw", "adagrad", "sgd"])
def test_one_extreme_row_does_not_overflow(name, opt):
    """A row 1e4 times larger than the rest predicts e^(thousands): the loss
    and the gradient stay finite (the tangent beyond the reach), and the
    model keeps learning from the rows after it."""
    X, y = glm_data(name, n=200)
    X = X.copy()
    X[100] *= 1e4
    est = SGDRegressor(loss=name, optimizer=opt, learning_rate="constant",
                       eta0=0.01 if opt != "vw" else 0.5, shuffle=False)
    est.partial_fit(X[:101], y[:101])
    assert np.isfinite(est.progressive_loss_) and np.all(np.isfinite(est.coef_))
    est.partial_fit(X[101:], y[101:])
    assert np.isfinite(est.progressive_loss_)
    if opt != "sgd":   # an adaptive rule's step stays bounded: it recovers
        later = SGDRegressor(loss=name, optimizer=opt, learning_rate="constant",
                             eta0=0.01 if opt != "vw" else 0.5, shuffle=False)
        later.partial_fit(np.delete(X, 100, axis=0)[:100], np.delete(y, 100)[:100])
        assert est.score(X[150:], y[150:]) > -1.0


@pytest.mark.parametrize("name", GLM)
def test_diverging_stream_raises_and_rolls_back(name):
    X, y = glm_data(name, n=60)
    est = SGDRegressor(loss=name, optimizer="adam", learning_rate="constant", eta0=0.01,
                       shuffle=False).partial_fit(X[:20], y[:20])
    before = _snapshot(est)
    est.set_params(eta0=1e300)
    with pytest.raises(DivergenceError):
        est.partial_fit(X[20:], y[20:])
    _same_snapshot(before, _snapshot(est))
    for i in range(20, 60):   # events: the one that diverges is undone
        before = _snapshot(est)
        try:
            est.learn_one(X[i], float(y[i]))
        except DivergenceError:
            _same_snapshot(before, _snapshot(est))
            break
    else:
        raise AssertionError("no event diverged")


@pytest.mark.parametrize("name", GLM)
@pytest.mark.parametrize("auto", ["rate", "optimizer"])
@pytest.mark.parametrize("scale", [0.05, 1.0, 1000.0])
def test_rate_race(name, auto, scale):
    """learning_rate="auto" / optimizer="auto": the served progressive loss
    is in the loss's units, finite, and no worse than 2.5 times the best
    copy's (over 1,500 rows: the race's own warm-up included), at any scale
    of the targets (the wild guard compares to the loss
    of the zero model, which predicts the mean exp(0) = 1 under the log link;
    a copy whose margin leaves [-30, 30] is not served: without that guard
    one such copy cost 100 times the best copy's loss at scale 1000)."""
    X, y = glm_data(name, n=1500, scale=scale if name != "quantile" else 1.0)
    if name == "quantile":
        y = y * scale
    kw = dict(learning_rate="auto", optimizer="adam") if auto == "rate" else dict(optimizer="auto")
    est = SGDRegressor(loss=name, shuffle=False, **kw).partial_fit(X, y)
    race = est.rate_race_
    assert np.isfinite(est.progressive_loss_)
    assert est.progressive_loss_ <= 2.5 * np.nanmin(race["progressive_loss"]) + 1e-9
    zero = float(np.mean(_ref_value(name, y, np.zeros_like(y))))
    assert est.progressive_loss_ < zero


# --------------------------------------------------------------------------
# 8. the objective of scikit-learn's batch GLMs
# --------------------------------------------------------------------------


def _objective(name, X, y, coef, intercept, alpha, power=1.5, quantile=0.5):
    p = X @ coef + intercept
    if name == "quantile":
        return mean_pinball_loss(y, p, alpha=quantile) + alpha * np.abs(coef).sum()
    return 0.5 * mean_tweedie_deviance(y, np.exp(p), power=power) + 0.5 * alpha * coef @ coef


OBJECTIVE_CASES = [
    # (loss, power or quantile, scikit-learn's batch twin)
    ("poisson", 1.0, lambda a, k: PoissonRegressor(alpha=a, tol=1e-12, max_iter=10_000)),
    ("gamma", 2.0, lambda a, k: GammaRegressor(alpha=a, tol=1e-12, max_iter=10_000)),
    ("tweedie", 1.5, lambda a, k: TweedieRegressor(power=k, link="log", alpha=a, tol=1e-12,
                                                   max_iter=10_000)),
    ("tweedie", 1.2, lambda a, k: TweedieRegressor(power=k, link="log", alpha=a, tol=1e-12,
                                                   max_iter=10_000)),
    ("tweedie", 3.0, lambda a, k: TweedieRegressor(power=k, link="log", alpha=a, tol=1e-12,
                                                   max_iter=10_000)),
    ("quantile", 0.5, lambda a, q: QuantileRegressor(alpha=a, quantile=q, solver="highs")),
    ("quantile", 0.2, lambda a, q: QuantileRegressor(alpha=a, quantile=q, solver="highs")),
    ("quantile", 0.9, lambda a, q: QuantileRegressor(alpha=a, quantile=q, solver="highs")),
]


@pytest.mark.parametrize("name,k,twin", OBJECTIVE_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in OBJECTIVE_CASES])
@pytest.mark.parametrize("alpha", [0.001, 0.05])
def test_fit_reaches_the_batch_optimum(name, k, twin, alpha):
    """Many epochs of plain averaged SGD (penalty l2; quantile: l1 without
    averaging, which scikit-learn's cumulative L1 penalty does not combine
    well with) reach the batch GLM's objective within 1e-3 relative. The
    mapping: PoissonRegressor/GammaRegressor/TweedieRegressor(link="log")
    with alpha=a minimise half mean deviance + a/2 ||w||^2, which is
    penalty="l2", alpha=a; QuantileRegressor(alpha=a) minimises mean pinball
    + a ||w||_1, which is penalty="l1", alpha=a."""
    rng = np.random.RandomState(0)
    n, d = 1000, 5
    X = 0.5 * rng.randn(n, d)
    eta = X @ np.array([0.3, -0.2, 0.1, 0.0, 0.5]) + 0.5
    mu = np.exp(eta)
    y = {"poisson": lambda: rng.poisson(mu).astype(float),
         "gamma": lambda: rng.gamma(2.0, mu / 2.0),
         "tweedie": lambda: rng.poisson(mu) * rng.gamma(2.0, 0.5, size=n) + (0.05 if k >= 2 else 0),
         "quantile": lambda: eta + rng.randn(n)}[name]()
    params = {"power": k} if name == "tweedie" else ({"quantile": k} if name == "quantile" else {})
    if name == "quantile":
        alpha /= 5   # (0.05 zeroes every coefficient)
        kw = dict(penalty="l1", learning_rate="invscaling", eta0=0.1, power_t=0.5, max_iter=300)
    else:
        kw = dict(penalty="l2", learning_rate="constant", eta0=0.01, average=True, max_iter=150)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = twin(alpha, k).fit(X, y)
        est = SGDRegressor(loss=name, alpha=alpha, tol=None, random_state=0, **kw,
                           **params).fit(X, y)
    power = _power(name, k)
    ref = _objective(name, X, y, sk.coef_, sk.intercept_, alpha, power, k)
    got = _objective(name, X, y, est.coef_, est.intercept_[0], alpha, power, k)
    gap = (got - ref) / ref
    assert -1e-6 < gap < 1e-3, gap
