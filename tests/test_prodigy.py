"""Prodigy (``optimizer="prodigy"``) inside SGDClassifier / SGDRegressor.

The registry-driven suites (test_optim, test_reliability, test_single_event)
already run Prodigy against its NumPy reference (``_reference_optim``), its
twin on the squared loss, chunking, float32 and save/load. Here:

* ``prodigyopt.Prodigy`` (skipped without it) sample by sample, at
  rtol 1e-8: classification and regression losses, with and without the
  intercept, one-vs-rest (one d per binary problem), penalties, weights,
  schedule objects as its ``lr``, a start from ``coef_init``, and the
  samples it skips (every gradient so far 0);
* the lazy CSR rule against the NumPy reference, and its running sum of |s|;
* learn_one, save/load mid-stream, bad input, ``dask.mix``.
"""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from _reference_optim import reference_classifier, reference_regressor
from conftest import assert_same_model, make_classification_data, make_regression_data

import streamlr
from streamlr import DivergenceError, SGDClassifier, SGDRegressor
from streamlr.optim import Prodigy
from streamlr.schedules import Constant, CosineAnnealing, MultiStepDecay, Warmup

RTOL = 1e-8
ATOL = 1e-13
SCALARS = ("d", "d_max", "d_numerator", "k", "s_abs_sum")


def _state(est):
    return {k: np.array(v, copy=True) for k, v in est.optimizer_state_.items()}


def _all(est):
    out = {"coef_": np.array(est.coef_, copy=True), "intercept_": np.array(est.intercept_, copy=True),
           "t_": est.t_, "progressive_loss_": est.progressive_loss_}
    out.update({"state:" + k: v for k, v in _state(est).items()})
    return out


def _assert_bitwise(a, b):
    assert set(a) == set(b)
    for k in a:
        va, vb = np.asarray(a[k]), np.asarray(b[k])
        assert va.dtype == vb.dtype and va.shape == vb.shape, k
        assert_array_equal(va, vb, err_msg=k)


# --------------------------------------------------------------------------
# the twin, prodigyopt.Prodigy, one binary problem per model
# --------------------------------------------------------------------------


def _torch_loss(torch, name, p, y, epsilon):
    """The estimator's loss of one sample in torch (labels in its encoding)."""
    if name == "squared_error":
        return 0.5 * (p - y) ** 2
    if name == "huber":
        r = p - y
        return torch.where(r.abs() <= epsilon, 0.5 * r * r, epsilon * (r.abs() - 0.5 * epsilon))
    if name == "epsilon_insensitive":
        return torch.clamp((y - p).abs() - epsilon, min=0.0)
    if name == "log_loss":
        # log(1 + exp(-z)) at the margin z: the gradient of softplus(p) - y p
        # would cancel for a sure prediction, and softplus is linear beyond 20
        z = -(2.0 * y - 1.0) * p
        return torch.logaddexp(torch.zeros_like(z), z)
    if name == "hinge":
        return torch.clamp(1.0 - y * p, min=0.0)
    if name == "modified_huber":
        z = y * p
        return torch.where(z >= -1.0, torch.clamp(1.0 - z, min=0.0) ** 2, -4.0 * z)
    raise ValueError(name)


class _Twin:
    """prodigyopt.Prodigy on one binary problem: weights w, bias b (its own
    param group, without weight decay), stepped one sample at a time."""

    def __init__(self, torch, spec, d, fit_intercept, coef=None, intercept=0.0):
        from prodigyopt import Prodigy as TorchProdigy

        from streamlr._registry import optimizer

        self.torch = torch
        self.w = torch.tensor(np.zeros(d) if coef is None else np.asarray(coef, dtype=np.float64),
                              dtype=torch.float64, requires_grad=True)
        self.b = torch.tensor([float(intercept)], dtype=torch.float64, requires_grad=True)
        self.fit_intercept = fit_intercept
        groups = [{"params": [self.w]}]
        if fit_intercept:
            groups.append({"params": [self.b], "weight_decay": 0.0})
        kw = optimizer("Prodigy").torch_kwargs(spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.opt = TorchProdigy(groups, lr=1.0, **kw)

    def step(self, x, y, loss, weight, lr, alpha, epsilon):
        torch = self.torch
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.opt.zero_grad()
        p = torch.tensor(x, dtype=torch.float64) @ self.w + (self.b[0] if self.fit_intercept else 0.0)
        value = weight * _torch_loss(torch, loss, p, y, epsilon)
        if alpha:
            value = value + 0.5 * alpha * (self.w @ self.w)
        value.backward()
        self.opt.step()

    def check(self, coef, intercept, state, k, regressor):
        """The estimator's problem k equals the twin, state included: rtol
        1e-8, and an atol 1e-11 times the scale of each quantity (the
        weights' for the weights, the largest entry of a slot for the slot,
        d times the sum of |s| for the numerator), for values that cross 0."""
        pick = (lambda v: v) if regressor else (lambda v: v[k])
        w = self.w.detach().numpy()
        scale = 1e-11 * max(1.0, np.abs(w).max())
        assert_allclose(coef, w, rtol=RTOL, atol=scale, err_msg="coef")
        if self.fit_intercept:
            assert_allclose(intercept, self.b.detach().numpy()[0], rtol=RTOL, atol=scale,
                            err_msg="intercept")
        group = self.opt.param_groups[0]
        total = sum(float(self.opt.state[p]["s"].abs().sum()) for p in (self.w, self.b)
                    if p in self.opt.state)
        assert_allclose(pick(state["s_abs_sum"]), total, rtol=RTOL, err_msg="s_abs_sum")
        for name in ("d", "d_max", "k"):
            assert_allclose(pick(state[name]), float(group[name]), rtol=RTOL, err_msg=name)
        assert_allclose(pick(state["d_numerator"]), float(group["d_numerator"]), rtol=RTOL,
                        atol=1e-11 * float(group["d"]) * total, err_msg="d_numerator")
        for p, suffix in ((self.w, ""), (self.b, "_intercept")):
            if suffix and not self.fit_intercept:
                continue
            for name, value in self.opt.state.get(p, {}).items():
                if name == "step":
                    continue
                value = value.detach().numpy()
                assert_allclose(pick(state[name + suffix]), value.reshape(-1) if suffix else value,
                                rtol=RTOL, atol=1e-11 * np.abs(value).max(), err_msg=name + suffix)


def _problems(est, y):
    """(targets in the loss's encoding, class weight of each sample) per
    binary problem, as the estimator splits them."""
    if isinstance(est, SGDRegressor):
        return [(np.asarray(y, dtype=np.float64), np.ones(len(y)))]
    classes = np.unique(y)
    neg = 0.0 if est.loss == "log_loss" else -1.0
    cw = est.class_weight or {}
    out = []
    positives = [classes[1]] if len(classes) == 2 else list(classes)
    for pos in positives:
        target = np.where(y == pos, 1.0, neg)
        if len(classes) == 2:
            w = np.where(y == pos, cw.get(classes[1], 1.0), cw.get(classes[0], 1.0))
        else:
            w = np.where(y == pos, cw.get(pos, 1.0), 1.0)
        out.append((target, w))
    return out


def _run_against_twin(est, X, y, sample_weight=None, coef_init=None, intercept_init=None):
    """Train est one sample at a time and its twins alongside; compare after
    every sample."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("prodigyopt")
    regressor = isinstance(est, SGDRegressor)
    n, d = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    problems = _problems(est, y)
    sched = est.learning_rate if not isinstance(est.learning_rate, str) else Constant(1.0)
    alpha = est.alpha if est.penalty == "l2" else 0.0
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        coefs = np.zeros((len(problems), d)) if coef_init is None else np.atleast_2d(coef_init)
        icpt = np.zeros(len(problems)) if intercept_init is None else np.atleast_1d(intercept_init)
        twins = [_Twin(torch, est.optimizer, d, est.fit_intercept, coefs[k], icpt[k])
                 for k in range(len(problems))]
        fit_kw = {} if regressor else {"classes": np.unique(y)}
        start = 0
        if coef_init is not None:
            # the first sample through fit, which takes the starting weights
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.set_params(max_iter=1, tol=None, shuffle=False)
                est.fit(X[:1], y[:1], coef_init=coef_init, intercept_init=intercept_init,
                        sample_weight=sw[:1])
            start = 1
        for i in range(n):
            x = X[i]
            for k, (target, cw) in enumerate(problems):
                twins[k].step(x, target[i], est.loss, cw[i] * sw[i], sched(i), alpha, est.epsilon)
            if i >= start and i % 2 == 0 and sw[i] != 0:
                est.partial_fit(X[i:i + 1], y[i:i + 1], sample_weight=sw[i:i + 1], **fit_kw)
            elif i >= start:  # learn_one: also a sample of weight 0
                est.learn_one(X[i], y[i], sample_weight=sw[i], **fit_kw)
            state = est.optimizer_state_
            coef = np.atleast_2d(est.coef_)
            intercept = np.atleast_1d(est.intercept_)
            for k, twin in enumerate(twins):
                twin.check(coef[k], intercept[k], state, k, regressor)
    finally:
        torch.set_default_dtype(old)
    return est, twins


def _reg(loss, **kw):
    kw.setdefault("penalty", None)
    return SGDRegressor(loss=loss, optimizer=kw.pop("optimizer", Prodigy()), shuffle=False, **kw)


def _clf(loss, **kw):
    kw.setdefault("penalty", None)
    return SGDClassifier(loss=loss, optimizer=kw.pop("optimizer", Prodigy()), shuffle=False, **kw)


TWIN_CASES = [
    # (id, estimator factory, task, samples skipped: prodigyopt's rate-0 steps)
    ("squared", lambda: _reg("squared_error"), "reg", 0),
    ("squared-nointercept-decay",
     lambda: _reg("squared_error", fit_intercept=False, optimizer=Prodigy(weight_decay=0.05)),
     "reg", 0),
    ("huber-l2", lambda: _reg("huber", penalty="l2", alpha=0.01), "reg", 0),
    ("epsins-biascorr-warmup-cosine",   # the warmup's rate 0 at the first sample
     lambda: _reg("epsilon_insensitive", epsilon=0.05, optimizer=Prodigy(use_bias_correction=True),
                  learning_rate=Warmup(CosineAnnealing(1.0, 400), 30)), "reg", 1),
    ("squared-safeguard-rate-to-zero",
     lambda: _reg("squared_error", optimizer=Prodigy(safeguard_warmup=True),
                  learning_rate=MultiStepDecay(1.0, [150], gamma=0.0)), "reg", 50),
    ("log", lambda: _clf("log_loss"), "bin", 0),
    ("log-nointercept-beta1zero",
     lambda: _clf("log_loss", fit_intercept=False, optimizer=Prodigy(betas=(0.0, 0.99))), "bin", 0),
    ("log-cosine-classweight",
     lambda: _clf("log_loss", learning_rate=CosineAnnealing(2.0, 500, lr_min=0.1),
                  class_weight={0: 0.5, 1: 2.0}), "bin", 0),
    ("hinge3-beta3-dcoef", lambda: _clf("hinge", optimizer=Prodigy(beta3=0.5, d_coef=2.0)),
     "ovr", 0),
    ("modhuber3-nointercept-safeguard-warmup",
     lambda: _clf("modified_huber", fit_intercept=False,
                  optimizer=Prodigy(safeguard_warmup=True, betas=(0.8, 0.95)),
                  learning_rate=Warmup(Constant(1.0), 40, start_factor=0.2)), "ovr", 0),
    ("hinge3-decay-l2", lambda: _clf("hinge", penalty="l2", alpha=0.02,
                                     optimizer=Prodigy(weight_decay=0.1, eps=1e-6, d0=1e-4)),
     "ovr", 0),
]


def _task_data(task, n=200, sparse=False, seed=0):
    if task == "reg":
        return make_regression_data(n_samples=n, n_features=6, seed=seed, sparse=sparse)
    return make_classification_data(n_samples=n, n_features=6, n_classes=2 if task == "bin" else 3,
                                    seed=seed, sparse=sparse)


@pytest.mark.parametrize("make,task,skipped", [c[1:] for c in TWIN_CASES],
                         ids=[c[0] for c in TWIN_CASES])
def test_matches_prodigyopt_sample_by_sample(make, task, skipped):
    X, y = _task_data(task)
    est, twins = _run_against_twin(make(), X, y)
    ks = np.atleast_1d(est.optimizer_state_["k"])
    assert np.all(ks == X.shape[0] - skipped)  # k counts the steps taken
    d = np.atleast_1d(est.optimizer_state_["d"])
    assert np.all(d > est.optimizer.d0)        # d grew from d0
    if task == "ovr":
        assert d.shape == (3,) and len(set(d)) == 3   # one d per binary problem
    else:
        assert est.optimizer_state_["d"].shape == (() if task == "reg" else (1,))


def test_matches_prodigyopt_with_sample_weights():
    X, y = _task_data("reg")
    sw = np.random.default_rng(1).uniform(0.2, 2.0, X.shape[0])
    _run_against_twin(_reg("squared_error"), X, y, sample_weight=sw)


def test_starts_from_coef_init():
    """p0 is the weights the model started from (coef_init, intercept_init)."""
    X, y = _task_data("reg")
    c0 = np.linspace(-1.0, 1.0, X.shape[1])
    est, _ = _run_against_twin(_reg("squared_error", optimizer=Prodigy(weight_decay=0.02)),
                               X, y, coef_init=c0, intercept_init=0.7)
    assert_array_equal(est.optimizer_state_["p0"], c0)
    assert est.optimizer_state_["p0_intercept"] == 0.7


def test_warm_start_restarts_from_the_weights():
    X, y = _task_data("reg")
    kw = dict(max_iter=2, tol=None, penalty=None, shuffle=False, optimizer="prodigy")
    warm = SGDRegressor(warm_start=True, **kw).fit(X, y)
    coef, intercept = warm.coef_.copy(), warm.intercept_.copy()
    warm.fit(X, y)
    assert_array_equal(warm.optimizer_state_["p0"], coef)
    cold = SGDRegressor(**kw).fit(X, y, coef_init=coef, intercept_init=intercept)
    _assert_bitwise(_all(warm), _all(cold))


@settings(max_examples=25, deadline=None)
@given(b1=st.sampled_from([0.0, 0.5, 0.9]), b2=st.sampled_from([0.9, 0.999]),
       beta3=st.sampled_from([None, 0.0, 0.3, 0.95]), d0=st.sampled_from([1e-6, 1e-3, 0.1]),
       d_coef=st.sampled_from([0.3, 1.0, 3.0]), weight_decay=st.sampled_from([0.0, 0.05]),
       flags=st.integers(0, 3), fit_intercept=st.booleans(), sparse=st.booleans(),
       seed=st.integers(0, 2**16))
def test_any_parameters_follow_the_reference(b1, b2, beta3, d0, d_coef, weight_decay, flags,
                                             fit_intercept, sparse, seed):
    """Dense rows: the reference rule (prodigyopt's, in NumPy); CSR rows: the
    documented lazy rule."""
    opt = Prodigy(betas=(b1, b2), beta3=beta3, d0=d0, d_coef=d_coef, weight_decay=weight_decay,
                  use_bias_correction=bool(flags & 1), safeguard_warmup=bool(flags & 2))
    X, y = make_regression_data(n_samples=60, n_features=5, seed=seed % 1000, sparse=sparse)
    est = _reg("squared_error", optimizer=opt, fit_intercept=fit_intercept).partial_fit(X, y)
    ref = reference_regressor(X, y, opt, eta0=1.0, fit_intercept=fit_intercept)
    scale = 1e-11 * max(1.0, np.abs(ref["coef"]).max())
    assert_allclose(est.coef_, ref["coef"], rtol=RTOL, atol=scale)
    assert_allclose(est.intercept_, ref["intercept"], rtol=RTOL, atol=scale)
    for name in SCALARS:
        assert_allclose(est.optimizer_state_[name], ref["state"][name], rtol=RTOL,
                        atol=1e-11 * abs(ref["state"]["d_numerator"][0]), err_msg=name)


# --------------------------------------------------------------------------
# skipped samples: no gradient anywhere yet
# --------------------------------------------------------------------------


def test_skips_samples_while_every_gradient_is_zero():
    """Samples without a gradient first (empty rows, no intercept):
    prodigyopt returns before its step (k and d_numerator unchanged, nothing
    moves); later ones are not skipped (s != 0 by then)."""
    X, y = _task_data("bin", n=60)
    X[:5] = 0.0
    X[30:33] = 0.0
    est, _ = _run_against_twin(_clf("log_loss", fit_intercept=False), X, y)
    assert est.optimizer_state_["k"][0] == X.shape[0] - 5
    assert est.t_ == X.shape[0] + 1


def test_skips_samples_while_every_gradient_is_zero_with_intercept():
    """The same with an intercept: targets within epsilon of the first
    predictions (0) give no gradient, then weights of 0."""
    X, y = _task_data("reg", n=60)
    y[:5] = 0.05
    sw = np.ones(X.shape[0])
    sw[20:23] = 0.0            # not skipped (s != 0)
    est, _ = _run_against_twin(_reg("epsilon_insensitive", epsilon=0.1), X, y, sample_weight=sw)
    assert est.optimizer_state_["k"] == X.shape[0] - 5


def test_skips_after_s_is_back_to_zero_with_beta3_zero():
    """beta3 = 0: s is the last gradient's multiple, so a zero-gradient
    sample sets every s to 0 and is skipped, though the moments decayed."""
    X, y = _task_data("reg", n=80)
    sw = np.ones(X.shape[0])
    sw[[10, 11, 40]] = 0.0
    est, _ = _run_against_twin(_reg("squared_error", optimizer=Prodigy(beta3=0.0)), X, y,
                               sample_weight=sw)
    assert est.optimizer_state_["k"] == X.shape[0] - 3


def test_skipped_sample_changes_only_the_moments():
    X, y = _task_data("reg", n=40)
    est = _reg("squared_error", penalty="l1", alpha=0.5,
               optimizer=Prodigy(beta3=0.0)).partial_fit(X[:20], y[:20])
    before = _all(est)
    est.learn_one(X[20], y[20], sample_weight=0.0)
    after = _all(est)
    for key in ("coef_", "intercept_", "state:d", "state:d_max", "state:d_numerator", "state:k",
                "state:p0"):
        assert_array_equal(after[key], before[key], err_msg=key)  # no L1 step either
    assert not after["state:s"].any() and after["state:s_abs_sum"] == 0.0
    assert_allclose(after["state:exp_avg"], 0.9 * before["state:exp_avg"], rtol=1e-15)
    assert after["t_"] == before["t_"] + 1


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_rate_zero_skips_the_sample(sparse):
    """At a rate of 0 prodigyopt leaves everything as it is (its statistics
    are gathered only for a positive rate), also once s != 0."""
    X, y = _task_data("reg", n=40, sparse=sparse)
    sched = Warmup(Constant(1.0), 30)   # rate 0 at the first sample only
    opt = Prodigy(safeguard_warmup=True)
    est = _reg("squared_error", learning_rate=sched, optimizer=opt).partial_fit(X[:1], y[:1])
    empty = _reg("squared_error", optimizer=opt).partial_fit(X[:1], y[:1], sample_weight=[1.0])
    st = est.optimizer_state_
    assert st["k"] == 0 and not st["s"].any() and not st["exp_avg_sq"].any()
    assert st["d"] == 1e-6 and np.all(est.coef_ == 0.0) and empty.optimizer_state_["k"] == 1
    est.partial_fit(X[1:], y[1:])
    assert est.optimizer_state_["d"] > 1e-6 and np.any(est.coef_ != 0.0)
    # a rate that falls to 0 after 20 samples
    sched = MultiStepDecay(1.0, [20], gamma=0.0)
    before = _all(_reg("squared_error", learning_rate=sched, optimizer=opt).partial_fit(X[:20], y[:20]))
    after = _all(_reg("squared_error", learning_rate=sched, optimizer=opt).partial_fit(X, y))
    assert before["state:s_abs_sum"] > 0
    for key in before:
        if key not in ("t_", "progressive_loss_"):
            assert_array_equal(after[key], before[key], err_msg=key)


# --------------------------------------------------------------------------
# the rate: strings are ignored, a schedule object sets lr
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_learning_rate_strings_and_eta0_are_ignored(sparse):
    X, y = _task_data("ovr", n=80, sparse=sparse)
    fits = [SGDClassifier(optimizer="prodigy", learning_rate=lr, eta0=eta0, shuffle=False,
                          max_iter=2, tol=None).fit(X, y)
            for lr, eta0 in (("constant", 1e-3), ("invscaling", 0.7), ("optimal", 0.01),
                             ("adaptive", 3.0))]
    const = SGDClassifier(optimizer="prodigy", learning_rate=Constant(1.0), shuffle=False,
                          max_iter=2, tol=None).fit(X, y)
    for est in fits:
        assert_same_model(est, const)
        assert est.lr_ == 1.0
        _assert_bitwise({k: v for k, v in _state(est).items()},
                        {k: v for k, v in _state(const).items()})


def test_schedule_object_scales_the_step():
    X, y = _task_data("reg", n=100)
    a = _reg("squared_error", learning_rate=Constant(0.3)).partial_fit(X, y)
    b = _reg("squared_error").partial_fit(X, y)
    assert a.lr_ == 0.3 and b.lr_ == 1.0
    assert not np.allclose(a.coef_, b.coef_)
    ref = reference_regressor(X, y, Prodigy(), eta0=0.3)
    assert_allclose(a.coef_, ref["coef"], rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------
# sparse rows: the lazy rule
# --------------------------------------------------------------------------


def _sparse_data(task, n=150, d=40, density=0.15, seed=3):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed,
                  data_rvs=lambda k: rng.normal(size=k))
    X.sort_indices()
    w = rng.normal(size=d)
    score = X @ w
    if task == "reg":
        return X, score + 0.2 + 0.05 * rng.normal(size=n)
    if task == "bin":
        return X, (score > np.median(score)).astype(int)
    return X, np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))


LAZY_CASES = [
    ("reg", Prodigy(), {}),
    ("reg", Prodigy(weight_decay=0.1, betas=(0.0, 0.99)), {"fit_intercept": False}),
    ("reg", Prodigy(use_bias_correction=True, beta3=0.7), {"penalty": "l2", "alpha": 0.01}),
    ("bin", Prodigy(safeguard_warmup=True), {"penalty": "l1", "alpha": 0.001}),
    ("ovr", Prodigy(d_coef=0.5), {"penalty": "elasticnet", "alpha": 0.002, "l1_ratio": 0.5}),
    ("ovr", Prodigy(), {"average": 20}),
]


@pytest.mark.parametrize("task,opt,kw", LAZY_CASES,
                         ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(LAZY_CASES)])
def test_csr_follows_the_lazy_rule(task, opt, kw):
    """CSR rows: only the stored coordinates (and the intercept) move; the
    sum of |s| keeps the untouched coordinates' |s|. Against the NumPy
    reference of that rule (lazy=True), state included."""
    X, y = _sparse_data(task)
    ref_kw = dict(kw)
    if "average" in ref_kw:
        ref_kw["average"] = int(ref_kw["average"])
    if task == "reg":
        est = _reg("squared_error", optimizer=clone(opt), **kw).partial_fit(X, y)
        ref = reference_regressor(X, y, opt, eta0=1.0, lazy=True, **ref_kw)
    else:
        est = _clf("log_loss" if task == "bin" else "hinge", optimizer=clone(opt), **kw)
        est.partial_fit(X, y, classes=np.unique(y))
        ref = reference_classifier(X, y, opt, est.loss, eta0=1.0, lazy=True, **ref_kw)
    assert_allclose(est.coef_, ref["coef"], rtol=RTOL, atol=ATOL)
    assert_allclose(est.intercept_, ref["intercept"], rtol=RTOL, atol=ATOL)
    state = est.optimizer_state_
    assert set(state) == set(ref["state"])
    for name, value in ref["state"].items():
        assert_allclose(state[name], value, rtol=RTOL, atol=ATOL, err_msg=name)
    # the untouched coordinates moved nowhere: never-stored columns keep 0
    never = np.asarray((X != 0).sum(axis=0)).ravel() == 0
    assert np.all(np.atleast_2d(est.coef_)[:, never] == 0.0)


def test_running_sum_of_abs_s():
    """CSR rows move s_abs_sum by the touched coordinates' changes; a dense
    row counts it again."""
    X, y = _sparse_data("reg", n=200)
    est = _reg("squared_error").partial_fit(X, y)
    st = est.optimizer_state_
    total = np.abs(st["s"]).sum() + abs(st["s_intercept"])
    assert_allclose(st["s_abs_sum"], total, rtol=1e-12)
    est.partial_fit(X[:3].toarray(), y[:3])
    st = est.optimizer_state_
    s = np.append(st["s"], st["s_intercept"])
    recount = 0.0
    for v in s:  # in the kernel's order
        recount += abs(v)
    assert st["s_abs_sum"] == recount


def test_csr_with_every_zero_stored_is_dense():
    X, y = _task_data("reg", n=100)
    rows, cols = np.nonzero(np.ones_like(X))
    Xs = sp.csr_matrix((X[rows, cols], (rows, cols)), shape=X.shape)
    a = _reg("squared_error", optimizer=Prodigy(weight_decay=0.01)).partial_fit(X, y)
    b = _reg("squared_error", optimizer=Prodigy(weight_decay=0.01)).partial_fit(Xs, y)
    for k, v in _all(a).items():
        assert_allclose(_all(b)[k], v, rtol=1e-12, atol=1e-15, err_msg=k)


# --------------------------------------------------------------------------
# streaming: learn_one, chunks, save/load, float32, divergence
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("task", ["reg", "ovr"])
def test_learn_one_equals_partial_fit(task, sparse):
    X, y = _task_data(task, n=60, sparse=sparse)
    kw = dict(optimizer=Prodigy(weight_decay=0.01), penalty="elasticnet", alpha=0.001,
              l1_ratio=0.3, average=10)
    if task == "reg":
        whole = _reg("squared_error", **kw).partial_fit(X, y)
        one = _reg("squared_error", **kw)
        for i in range(X.shape[0]):
            one.learn_one(X[i] if sparse else X[i], y[i])
    else:
        classes = np.unique(y)
        whole = _clf("hinge", **kw).partial_fit(X, y, classes=classes)
        one = _clf("hinge", **kw)
        for i in range(X.shape[0]):
            one.learn_one(X[i], y[i], classes=classes)
    _assert_bitwise(_all(whole), _all(one))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_chunks_and_save_load_resume_bitwise(sparse, tmp_path):
    X, y = _task_data("ovr", n=90, sparse=sparse)
    classes = np.unique(y)
    sw = np.ones(X.shape[0])
    sw[:3] = 0.0    # skipped samples at the start
    kw = dict(optimizer=Prodigy(use_bias_correction=True), learning_rate=CosineAnnealing(1.5, 200))
    whole = _clf("log_loss", **kw).partial_fit(X, y, classes=classes, sample_weight=sw)
    est = _clf("log_loss", **kw)
    for a, b in ((0, 4), (4, 5), (5, 37)):
        est.partial_fit(X[a:b], y[a:b], classes=classes, sample_weight=sw[a:b])
    path = tmp_path / "prodigy.streamlr"
    streamlr.save(est, path)
    loaded = streamlr.load(path)
    _assert_bitwise(_all(est), _all(loaded))
    loaded.partial_fit(X[37:], y[37:], sample_weight=sw[37:])
    _assert_bitwise(_all(whole), _all(loaded))


def test_float32_close_to_float64():
    X, y = _task_data("ovr", n=120)
    e64 = _clf("hinge").partial_fit(X, y, classes=np.unique(y))
    e32 = _clf("hinge").partial_fit(X.astype(np.float32), y, classes=np.unique(y))
    assert e32.coef_.dtype == np.float32
    assert_allclose(e32.coef_, e64.coef_, rtol=1e-4, atol=1e-5)
    for name in SCALARS:
        assert e32.optimizer_state_[name].dtype == np.float64
        assert_allclose(e32.optimizer_state_[name], e64.optimizer_state_[name], rtol=1e-4)


def test_divergence_rolls_back():
    X, y = _task_data("reg", n=40)
    est = _reg("squared_error").partial_fit(X[:20], y[:20])
    before = _all(est)
    est.set_params(learning_rate=Constant(1e300))
    with np.errstate(all="ignore"):
        try:
            est.partial_fit(X[20:], y[20:])
        except DivergenceError:
            _assert_bitwise(before, _all(est))
        else:
            assert all(np.all(np.isfinite(v)) for v in _all(est).values())


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kw,match", [
    ({"betas": (1.0, 0.9)}, "beta parameter at index 0"),
    ({"betas": (-0.1, 0.9)}, "beta parameter at index 0"),
    ({"betas": (0.9, 1.0)}, "beta parameter at index 1"),
    ({"betas": (0.9,)}, "betas"),
    ({"beta3": 1.0}, "beta3"),
    ({"beta3": -0.5}, "beta3"),
    ({"beta3": "0.5"}, "beta3"),
    ({"eps": 0.0}, "epsilon"),
    ({"eps": -1e-8}, "epsilon"),
    ({"d0": 0.0}, "d0"),
    ({"d0": float("nan")}, "d0"),
    ({"d_coef": 0.0}, "d_coef"),
    ({"d_coef": -1.0}, "d_coef"),
    ({"weight_decay": -0.1}, "weight_decay"),
    ({"use_bias_correction": 1}, "use_bias_correction"),
    ({"safeguard_warmup": "no"}, "safeguard_warmup"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        Prodigy(**kw)
    spec = Prodigy()
    with pytest.raises(ValueError, match=match):
        spec.set_params(**kw)
    assert spec == Prodigy()
    # through the estimator: refused before the model changes
    X, y = _task_data("reg", n=20)
    est = _reg("squared_error").partial_fit(X, y)
    before = _all(est)
    bad = {f"optimizer__{k}": v for k, v in kw.items()}
    with pytest.raises(ValueError, match=match):
        est.set_params(**bad)
        est.partial_fit(X, y)
    _assert_bitwise(before, _all(est))


def test_spec_defaults_and_state_names():
    spec = Prodigy()
    assert spec.get_params() == {"betas": (0.9, 0.999), "beta3": None, "eps": 1e-8, "d0": 1e-6,
                                 "d_coef": 1.0, "weight_decay": 0.0,
                                 "use_bias_correction": False, "safeguard_warmup": False}
    assert streamlr.optim.resolve("prodigy") == spec and Prodigy.default_rate == 1.0
    assert spec.slots() == ("exp_avg", "exp_avg_sq", "s", "p0")
    assert Prodigy(betas=(0.0, 0.9)).slots() == ("exp_avg_sq", "s", "p0")
    assert [n for n, _ in Prodigy(d0=1e-3).scalar_state()] == list(SCALARS)
    assert dict(Prodigy(d0=1e-3).scalar_state())["d"] == 1e-3
    assert Prodigy().hyperparameters()[2] == pytest.approx(np.sqrt(0.999))
    assert Prodigy(weight_decay=0.5).hyperparameters(intercept=True)[6] == 0.0
    X, y = _task_data("reg", n=20)
    est = SGDRegressor(optimizer="prodigy").partial_fit(X, y)
    assert set(est.optimizer_state_) == {"exp_avg", "exp_avg_intercept", "exp_avg_sq",
                                         "exp_avg_sq_intercept", "s", "s_intercept", "p0",
                                         "p0_intercept", *SCALARS}


# --------------------------------------------------------------------------
# dask.mix: the rule's scalars
# --------------------------------------------------------------------------


def test_mix_averages_d_counts_k_and_recounts_abs_s():
    from streamlr.dask import mix

    X, y = _sparse_data("bin", n=120)
    classes = np.unique(y)
    base = _clf("log_loss").partial_fit(X[:40], y[:40], classes=classes)
    a, b = copy.deepcopy(base), copy.deepcopy(base)
    a.partial_fit(X[40:80], y[40:80])
    b.partial_fit(X[80:], y[80:])
    m = mix([a, b], base=base)
    sa, sb, sm = a.optimizer_state_, b.optimizer_state_, m.optimizer_state_
    for name in ("d", "d_max", "d_numerator"):
        assert_allclose(sm[name], (sa[name] + sb[name]) / 2, rtol=1e-15)
    assert_array_equal(sm["k"], sa["k"] + sb["k"] - base.optimizer_state_["k"])
    assert_allclose(sm["s"], (sa["s"] + sb["s"]) / 2, rtol=1e-15)
    assert_allclose(sm["s_abs_sum"], np.abs(sm["s"]).sum(axis=1) + np.abs(sm["s_intercept"]),
                    rtol=1e-14)
    one = mix([a], base=base)
    for name in SCALARS:
        assert_allclose(one.optimizer_state_[name], sa[name], rtol=1e-12)
    m.partial_fit(X[:10], y[:10])   # and it learns on
    assert np.all(np.isfinite(m.coef_))
