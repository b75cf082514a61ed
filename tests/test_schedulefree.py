"""Schedule-free SGD and AdamW (``streamlr.optim.ScheduleFreeSGD``,
``ScheduleFreeAdamW``) against the ``schedulefree`` package, sample by sample.

The protocol of the reference: before each sample the reference is put in
``eval()`` mode, where its parameters are the averaged point x, which must be
our ``coef_``/``intercept_`` and give our predictions and our progressive
loss; then in ``train()`` mode (parameters at y), the loss's gradient is
taken there and the reference steps. The registry-driven tests of
test_optim.py (NumPy reference, dense and lazy CSR, chunking, float32,
persistence) run these rules too; here: every loss, the intercept, warmup,
schedule objects, the averaging weights, the starting point, CSR and the
parameters' domains.
"""
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from _reference_optim import reference_classifier, reference_regressor

import streamlr
from streamlr import SGDClassifier, SGDRegressor
from streamlr import schedules as S
from streamlr.optim import ScheduleFreeAdamW, ScheduleFreeSGD, resolve

torch = pytest.importorskip("torch")
schedulefree = pytest.importorskip("schedulefree")

RTOL = 1e-8

# the loss of each estimator loss in its kernel encoding (t: 0/1 for
# log_loss, -1/+1 for the other classification losses), as torch computes it
EPS = 0.1


def _torch_loss(name, p, t):
    F = torch.nn.functional
    if name == "squared_error":
        return 0.5 * (p - t) ** 2
    if name == "huber":
        return F.huber_loss(p, t, delta=EPS)
    if name == "epsilon_insensitive":
        return F.relu(torch.abs(t - p) - EPS)
    if name == "squared_epsilon_insensitive":
        return F.relu(torch.abs(t - p) - EPS) ** 2
    if name == "log_loss":
        return F.softplus(p) - t * p
    if name == "hinge":
        return F.relu(1.0 - t * p)
    if name == "squared_hinge":
        return F.relu(1.0 - t * p) ** 2
    if name == "modified_huber":
        z = t * p
        return torch.where(z >= 1.0, 0.0 * z, torch.where(z >= -1.0, (1.0 - z) ** 2, -4.0 * z))
    raise ValueError(name)


REG_LOSSES = ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
CLF_LOSSES = ["log_loss", "hinge", "modified_huber", "squared_hinge"]


def _twin(opt, lr, w, b, weight_decay_on_bias=False):
    """The schedulefree twin of a spec over the weights w and the bias b (its
    own group: no weight decay on the intercept)."""
    if isinstance(opt, ScheduleFreeSGD):
        cls = schedulefree.SGDScheduleFree
        kw = dict(momentum=opt.momentum)
    else:
        cls = schedulefree.AdamWScheduleFree
        kw = dict(betas=tuple(opt.betas), eps=opt.eps, weight_decay=opt.weight_decay)
    kw.update(warmup_steps=opt.warmup_steps, r=opt.r, weight_lr_power=opt.weight_lr_power)
    groups = [{"params": [w]}, {"params": [b]}]
    if "weight_decay" in kw:
        groups[1]["weight_decay"] = 0.0
    return cls(groups, lr=lr, foreach=False, **kw)


def _data(n, d, seed, task, scale=1.0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, d) * scale / np.sqrt(d)
    X[rng.rand(n, d) < 0.2] = 0.0
    if task == "reg":
        y = X @ rng.randn(d) + 0.4 + 0.1 * rng.randn(n)
    else:
        y = (X @ rng.randn(d) + 0.2 * rng.randn(n) > 0.1).astype(int)
    return X, y


def _run_lockstep(est, opt, X, y, loss, *, rate, classifier, fit_intercept=True, alpha=0.0,
                  w0=None, b0=None):
    """Train ``est`` with learn_one and the twin sample by sample, comparing
    the served point and the prediction before each sample; returns the
    twin's final x, its state and the mean loss at the served points.
    ``rate(t)``: the reference's lr of update t + 1. With ``est=None`` only
    the twin runs."""
    d = X.shape[1]
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        w = torch.tensor(np.zeros(d) if w0 is None else w0, requires_grad=True)
        b = torch.tensor([0.0 if b0 is None else b0], requires_grad=True)
        twin = _twin(opt, rate(0), w, b)
        losses = []
        for i in range(X.shape[0]):
            twin.eval()
            xi = torch.tensor(X[i])
            with torch.no_grad():
                p_x = float(xi @ w + (b[0] if fit_intercept else 0.0))
            if est is not None and "_model" in est.__dict__:
                scale = max(1.0, float(torch.abs(w.detach()).max()))
                assert_allclose(np.ravel(est.coef_), w.detach().numpy(), rtol=RTOL,
                                atol=1e-12 * scale, err_msg=f"coef_ before sample {i}")
                if fit_intercept:
                    assert_allclose(est.intercept_, [float(b[0])], rtol=RTOL, atol=1e-12 * scale,
                                    err_msg=f"intercept_ before sample {i}")
                served = est.decision_function(X[i:i + 1]) if classifier else est.predict(X[i:i + 1])
                assert_allclose(served, [p_x], rtol=RTOL, atol=1e-11 * scale,
                                err_msg=f"prediction before sample {i}")
            t = (1.0 if y[i] == 1 else (0.0 if loss == "log_loss" else -1.0)) if classifier else y[i]
            losses.append(float(_torch_loss(loss, torch.tensor(p_x), torch.tensor(t))))
            # learn: the twin at y
            twin.train()
            for group in twin.param_groups:
                group["lr"] = rate(i)
            twin.zero_grad()
            p_y = xi @ w + (b[0] if fit_intercept else 0.0)
            obj = _torch_loss(loss, p_y, torch.tensor(t))
            if alpha:
                obj = obj + 0.5 * alpha * (w @ w)
            obj.backward()
            if not fit_intercept:
                b.grad = None
            twin.step()
            if est is not None:
                est.learn_one(X[i], y[i], **({"classes": [0, 1]} if classifier else {}))
        twin.eval()
        return w.detach().numpy(), float(b[0]), twin, np.mean(losses)
    finally:
        torch.set_default_dtype(old)


def _check_final(est, w, b, twin, mean_loss, fit_intercept=True):
    scale = max(1.0, np.abs(w).max())
    assert_allclose(np.ravel(est.coef_), w, rtol=RTOL, atol=1e-12 * scale)
    if fit_intercept:
        assert_allclose(est.intercept_, [b], rtol=RTOL, atol=1e-12 * scale)
    else:
        assert_array_equal(est.intercept_, [0.0])
    assert_allclose(est.progressive_loss_, mean_loss, rtol=1e-7)
    state = est.optimizer_state_
    (pw, pb) = [p for g in twin.param_groups for p in g["params"]]
    names = {"z"} | ({"exp_avg_sq"} if "exp_avg_sq" in twin.state[pw] else set())
    expected = names | {n + "_intercept" for n in names} | {"k", "weight_sum", "lr_max"}
    assert set(state) == expected
    for name in names:
        got = state[name][0] if state[name].ndim == 2 else state[name]
        ref = twin.state[pw][name].numpy()
        assert_allclose(got, ref, rtol=RTOL, atol=1e-12 * max(1.0, np.abs(ref).max()), err_msg=name)
        if fit_intercept:
            assert_allclose(state[name + "_intercept"], twin.state[pb][name].numpy(), rtol=RTOL,
                            atol=1e-12, err_msg=name + "_intercept")
    for name in ("k", "weight_sum", "lr_max"):
        assert_allclose(state[name], twin.param_groups[0][name], rtol=1e-12, err_msg=name)


# (id, spec, data scale): the defaults and non-default averaging weights
SPECS = [
    ("sgd", ScheduleFreeSGD(), 0.5),
    ("sgd-m05-warmup-r", ScheduleFreeSGD(momentum=0.5, warmup_steps=15, r=1.0,
                                         weight_lr_power=1.0), 0.5),
    ("adamw", ScheduleFreeAdamW(), 1.0),
    ("adamw-decay-warmup", ScheduleFreeAdamW(betas=(0.8, 0.99), weight_decay=0.05,
                                             warmup_steps=20, r=0.5, weight_lr_power=0.0), 1.0),
]
SPEC_PARAMS = [pytest.param(s, sc, id=i) for i, s, sc in SPECS]


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("loss", REG_LOSSES)
@pytest.mark.parametrize("opt,scale", SPEC_PARAMS)
def test_regressor_matches_schedulefree_sample_by_sample(opt, scale, loss, fit_intercept):
    X, y = _data(250, 5, 1, "reg", scale)
    est = SGDRegressor(loss=loss, epsilon=EPS, optimizer=opt, penalty=None, shuffle=False,
                       fit_intercept=fit_intercept)
    rate = opt.default_rate
    w, b, twin, mean = _run_lockstep(est, opt, X, y, loss, rate=lambda t: rate,
                                     classifier=False, fit_intercept=fit_intercept)
    _check_final(est, w, b, twin, mean, fit_intercept)
    assert est.lr_ == rate
    assert est.t_ == X.shape[0] + 1


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("loss", CLF_LOSSES)
@pytest.mark.parametrize("opt,scale", SPEC_PARAMS)
def test_classifier_matches_schedulefree_sample_by_sample(opt, scale, loss, fit_intercept):
    X, y = _data(250, 5, 2, "clf", scale)
    est = SGDClassifier(loss=loss, optimizer=opt, penalty=None, shuffle=False,
                        fit_intercept=fit_intercept)
    w, b, twin, mean = _run_lockstep(est, opt, X, y, loss, rate=lambda t: opt.default_rate,
                                     classifier=True, fit_intercept=fit_intercept)
    _check_final(est, w, b, twin, mean, fit_intercept)


# schedules of a base rate (SGD's; AdamW's is 50 times smaller)
SCHEDULES = [
    ("invscaling", lambda lr: S.InverseScaling(lr, 0.5)),
    ("warmup-cosine", lambda lr: S.Warmup(S.CosineAnnealing(lr, 100), 30)),
    ("onecycle", lambda lr: S.OneCycle(lr, 200)),
]


@pytest.mark.parametrize("make", [s for _, s in SCHEDULES], ids=[i for i, _ in SCHEDULES])
@pytest.mark.parametrize("opt,scale", SPEC_PARAMS)
def test_schedule_object_sets_the_reference_lr(opt, scale, make):
    """A schedule object's rate of update t + 1 is the reference's lr of that
    update (warmup_steps then scales it, lr_max follows it; a warmup from 0
    starts with no weight in the average)."""
    X, y = _data(200, 4, 3, "reg", scale)
    sched = make(0.3 if isinstance(opt, ScheduleFreeSGD) else 0.006)
    est = SGDRegressor(optimizer=opt, learning_rate=sched, penalty=None, shuffle=False)
    w, b, twin, mean = _run_lockstep(est, opt, X, y, "squared_error",
                                     rate=lambda t: float(sched(t)), classifier=False)
    _check_final(est, w, b, twin, mean)
    assert est.lr_ == float(sched(X.shape[0] - 1))


@pytest.mark.parametrize("opt,scale", SPEC_PARAMS)
def test_l2_penalty_is_the_gradient_of_the_loss_at_y(opt, scale):
    """penalty="l2" adds alpha * y (the reference's coupled weight_decay, the
    gradient of alpha/2 ||w||^2 at y); never on the intercept."""
    X, y = _data(200, 5, 4, "clf", scale)
    est = SGDClassifier(loss="log_loss", optimizer=opt, penalty="l2", alpha=0.03, shuffle=False)
    w, b, twin, mean = _run_lockstep(est, opt, X, y, "log_loss", rate=lambda t: opt.default_rate,
                                     classifier=True, alpha=0.03)
    _check_final(est, w, b, twin, mean)


@pytest.mark.parametrize("opt,scale", SPEC_PARAMS)
def test_starting_point_is_coef_init(opt, scale):
    """z starts at the starting weights, as the reference clones them; a
    warm start restarts from coef_ (x) with z there."""
    X, y = _data(150, 5, 5, "reg", scale)
    w0 = np.array([0.5, -1.0, 0.25, 0.0, 2.0])
    est = SGDRegressor(optimizer=opt, penalty=None, shuffle=False, max_iter=1, tol=None)
    est.fit(X, y, coef_init=w0, intercept_init=-0.5)
    w, b, twin, mean = _run_lockstep(None, opt, X, y, "squared_error",
                                     rate=lambda t: opt.default_rate, classifier=False,
                                     w0=w0, b0=-0.5)
    _check_final(est, w, b, twin, mean)

    est.set_params(warm_start=True, max_iter=2)
    coef, intercept = est.coef_.copy(), est.intercept_.copy()
    est.fit(X, y)
    cold = SGDRegressor(optimizer=opt, penalty=None, shuffle=False, max_iter=2, tol=None)
    cold.fit(X, y, coef_init=coef, intercept_init=intercept)
    assert_array_equal(est.coef_, cold.coef_)
    for key, value in cold.optimizer_state_.items():
        assert_array_equal(est.optimizer_state_[key], value, err_msg=key)


# --------------------------------------------------------------------------
# NumPy references: momentum 0 (the twin refuses it), one-vs-rest, CSR
# --------------------------------------------------------------------------


def _assert_reference(est, ref):
    assert_allclose(est.coef_, ref["coef"], rtol=RTOL, atol=1e-12)
    assert_allclose(est.intercept_, ref["intercept"], rtol=RTOL, atol=1e-12)
    state = est.optimizer_state_
    assert set(state) == set(ref["state"])
    for name, value in ref["state"].items():
        assert_allclose(state[name], value, rtol=RTOL, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_momentum_zero_takes_the_gradient_at_z(sparse):
    X, y = _data(150, 6, 7, "reg", 0.5)
    X = sp.csr_matrix(X) if sparse else X
    opt = ScheduleFreeSGD(momentum=0.0, warmup_steps=4)
    est = SGDRegressor(optimizer=opt, penalty=None, shuffle=False).partial_fit(X, y)
    _assert_reference(est, reference_regressor(X, y, opt, eta0=1.0))


@pytest.mark.parametrize("penalty", [None, "l2", "elasticnet"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("opt", [ScheduleFreeSGD(warmup_steps=10),
                                 ScheduleFreeAdamW(weight_decay=0.1, warmup_steps=10)],
                         ids=["sgd", "adamw"])
def test_one_vs_rest_and_csr_match_the_numpy_reference(opt, sparse, penalty):
    """Each binary problem of one-vs-rest has its own x, z and scalars; CSR
    rows follow the documented lazy rule (untouched coordinates keep x and
    z); the L1 step acts on z."""
    rng = np.random.RandomState(8)
    X = rng.randn(200, 12) / 3
    X[rng.rand(*X.shape) < 0.7] = 0.0
    y = np.argmax(X @ rng.randn(12, 3) + 0.1 * rng.randn(200, 3), axis=1)
    X = sp.csr_matrix(X) if sparse else X
    kw = dict(penalty=penalty, alpha=0.01, l1_ratio=0.5) if penalty else dict(penalty=None)
    est = SGDClassifier(loss="hinge", optimizer=opt, shuffle=False, **kw)
    est.partial_fit(X, y, classes=[0, 1, 2])
    rkw = dict(kw)
    ref = reference_classifier(X, y, opt, "hinge", eta0=opt.default_rate, **rkw)
    _assert_reference(est, ref)
    assert est.optimizer_state_["k"].shape == (3,)
    assert_array_equal(est.optimizer_state_["k"], [200.0] * 3)


@pytest.mark.parametrize("opt", [ScheduleFreeSGD(momentum=0.8), ScheduleFreeAdamW(weight_decay=0.02)],
                         ids=["sgd", "adamw"])
def test_sample_and_class_weights_scale_the_gradient(opt):
    X, y = _data(150, 5, 15, "clf", 0.5)
    sw = np.random.RandomState(0).uniform(0.2, 2.0, len(y))
    sw[[3, 8]] = 0.0
    cw = {0: 0.7, 1: 1.6}
    est = SGDClassifier(loss="log_loss", optimizer=opt, penalty="l2", alpha=0.01,
                        class_weight=cw, shuffle=False)
    est.partial_fit(X, y, classes=[0, 1], sample_weight=sw)
    ref = reference_classifier(X, y, opt, "log_loss", class_weight=cw, sample_weight=sw,
                               eta0=opt.default_rate, penalty="l2", alpha=0.01)
    _assert_reference(est, ref)


def test_divergence_restores_the_model():
    X, y = _data(80, 5, 16, "reg", 1.0)
    est = SGDRegressor(optimizer=ScheduleFreeSGD(), learning_rate=S.Constant(0.01),
                       shuffle=False).partial_fit(X[:40], y[:40])
    before = [est.coef_.copy(), est.intercept_.copy(), est.t_,
              {k: v.copy() for k, v in est.optimizer_state_.items()}]
    est.set_params(learning_rate=S.Constant(1e200))
    with pytest.raises(streamlr.DivergenceError), np.errstate(all="ignore"):
        est.partial_fit(X[40:], y[40:])
    assert_array_equal(est.coef_, before[0])
    assert_array_equal(est.intercept_, before[1])
    assert est.t_ == before[2]
    for key, value in before[3].items():
        assert_array_equal(est.optimizer_state_[key], value, err_msg=key)


def test_csr_is_lazy_and_stored_zeros_give_the_dense_rule():
    X, y = _data(150, 6, 9, "reg", 0.5)
    opt = ScheduleFreeSGD()
    dense = SGDRegressor(optimizer=opt, penalty=None, shuffle=False).partial_fit(X, y)
    csr = SGDRegressor(optimizer=opt, penalty=None, shuffle=False).partial_fit(sp.csr_matrix(X), y)
    _assert_reference(csr, reference_regressor(sp.csr_matrix(X), y, opt, eta0=1.0, lazy=True))
    assert not np.allclose(csr.coef_, dense.coef_, rtol=1e-6)
    # every entry stored: each coordinate is touched at every sample
    rows, cols = np.nonzero(np.ones_like(X))
    full = sp.csr_matrix((X[rows, cols], (rows, cols)), shape=X.shape)
    stored = SGDRegressor(optimizer=opt, penalty=None, shuffle=False).partial_fit(full, y)
    assert_allclose(stored.coef_, dense.coef_, rtol=1e-12)
    assert_allclose(stored.optimizer_state_["z"], dense.optimizer_state_["z"], rtol=1e-12)


# --------------------------------------------------------------------------
# rate, persistence, chunks, single events, float32
# --------------------------------------------------------------------------


@pytest.mark.parametrize("opt", [ScheduleFreeSGD(), ScheduleFreeAdamW(), "schedulefree"],
                         ids=["sgd", "adamw", "string"])
def test_string_learning_rate_and_eta0_are_ignored(opt):
    X, y = _data(100, 4, 10, "clf", 0.5)
    fits = [SGDClassifier(optimizer=opt, learning_rate=lr, eta0=eta0, shuffle=False, max_iter=2,
                          tol=None).fit(X, y)
            for lr, eta0 in (("optimal", 0.01), ("constant", 5.0), ("invscaling", 0.001))]
    for est in fits[1:]:
        assert_array_equal(est.coef_, fits[0].coef_)
        assert_array_equal(est.optimizer_state_["z"], fits[0].optimizer_state_["z"])
    assert fits[0].lr_ == resolve(opt).default_rate


def test_schedulefree_string_is_the_adamw_defaults():
    assert resolve("schedulefree") == ScheduleFreeAdamW()
    assert ScheduleFreeSGD.default_rate == 1.0 and ScheduleFreeAdamW.default_rate == 0.0025
    assert "schedulefreesgd" not in streamlr.optim.OPTIMIZER_NAMES


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("opt", [ScheduleFreeSGD(warmup_steps=50, momentum=0.7),
                                 ScheduleFreeAdamW(warmup_steps=50, weight_decay=0.01)],
                         ids=["sgd", "adamw"])
def test_save_load_mid_warmup_resumes_bitwise(opt, sparse, tmp_path):
    X, y = _data(160, 6, 11, "clf", 0.5)
    X = sp.csr_matrix(X) if sparse else X
    sched = S.Warmup(S.Constant(0.5 if isinstance(opt, ScheduleFreeSGD) else 0.01), 10)
    make = lambda: SGDClassifier(optimizer=opt, learning_rate=sched, shuffle=False,  # noqa: E731
                                 penalty="elasticnet", average=30)
    whole = make().partial_fit(X, y, classes=[0, 1])
    first = make().partial_fit(X[:37], y[:37], classes=[0, 1])
    streamlr.save(first, tmp_path / "m.streamlr")
    loaded = streamlr.load(tmp_path / "m.streamlr")
    for key, value in first.optimizer_state_.items():
        assert_array_equal(loaded.optimizer_state_[key], value, err_msg=key)
    loaded.partial_fit(X[37:], y[37:])
    for i in range(37, 60):
        first.learn_one(X[i], y[i])
    first.partial_fit(X[60:], y[60:])
    for est in (loaded, first):
        assert_array_equal(est.coef_, whole.coef_)
        assert_array_equal(est.intercept_, whole.intercept_)
        assert est.progressive_loss_ == whole.progressive_loss_
        for key, value in whole.optimizer_state_.items():
            assert_array_equal(est.optimizer_state_[key], value, err_msg=key)


@pytest.mark.parametrize("opt", [ScheduleFreeSGD(warmup_steps=7), ScheduleFreeAdamW()],
                         ids=["sgd", "adamw"])
def test_float32_follows_float64(opt):
    X, y = _data(150, 5, 12, "reg", 0.5)
    e64 = SGDRegressor(optimizer=opt, shuffle=False).partial_fit(X, y)
    e32 = SGDRegressor(optimizer=opt, shuffle=False).partial_fit(X.astype(np.float32),
                                                                 y.astype(np.float32))
    assert e32.coef_.dtype == np.float32
    assert e32.optimizer_state_["z"].dtype == np.float32
    assert_allclose(e32.coef_, e64.coef_, rtol=1e-4, atol=1e-5)
    assert_allclose(e32.optimizer_state_["z"], e64.optimizer_state_["z"], rtol=1e-4, atol=1e-5)
    assert e32.optimizer_state_["k"] == e64.optimizer_state_["k"]


def test_predictions_use_the_averaged_point():
    """predict, decision_function, predict_proba and predict_one are all x
    (coef_), not y or z."""
    X, y = _data(120, 5, 13, "clf", 1.0)
    est = SGDClassifier(loss="log_loss", optimizer="schedulefree", shuffle=False)
    est.partial_fit(X, y, classes=[0, 1])
    margin = X @ est.coef_.ravel() + est.intercept_[0]
    z = X @ est.optimizer_state_["z"].ravel() + est.optimizer_state_["z_intercept"][0]
    assert not np.allclose(margin, z)
    assert_allclose(est.decision_function(X), margin, rtol=1e-12)
    assert_allclose(est.predict_proba(X)[:, 1], 1 / (1 + np.exp(-margin)), rtol=1e-12)
    assert est.predict_one(X[3]) == est.predict(X[3:4])[0]


# --------------------------------------------------------------------------
# the parameters' domains
# --------------------------------------------------------------------------


@pytest.mark.parametrize("make,match", [
    (lambda: ScheduleFreeSGD(momentum=1.0), "momentum"),
    (lambda: ScheduleFreeSGD(momentum=-0.1), "momentum"),
    (lambda: ScheduleFreeSGD(momentum=float("nan")), "momentum"),
    (lambda: ScheduleFreeSGD(warmup_steps=-1), "warmup_steps"),
    (lambda: ScheduleFreeSGD(warmup_steps=2.5), "warmup_steps"),
    (lambda: ScheduleFreeSGD(r=float("inf")), "r value"),
    (lambda: ScheduleFreeSGD(weight_lr_power=float("nan")), "weight_lr_power"),
    (lambda: ScheduleFreeAdamW(betas=(1.0, 0.999)), "beta"),
    (lambda: ScheduleFreeAdamW(betas=(0.9, -0.1)), "beta"),
    (lambda: ScheduleFreeAdamW(betas=(0.9,)), "betas"),
    (lambda: ScheduleFreeAdamW(eps=0.0), "eps"),
    (lambda: ScheduleFreeAdamW(eps=-1e-8), "eps"),
    (lambda: ScheduleFreeAdamW(weight_decay=-0.1), "weight_decay"),
    (lambda: ScheduleFreeAdamW(warmup_steps=-5), "warmup_steps"),
    (lambda: ScheduleFreeAdamW(r=float("nan")), "r value"),
    (lambda: ScheduleFreeAdamW(weight_lr_power=float("-inf")), "weight_lr_power"),
])
def test_bad_parameters_raise_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_set_params_leaves_the_model_unchanged():
    X, y = _data(60, 4, 14, "reg", 0.5)
    est = SGDRegressor(optimizer=ScheduleFreeSGD(), shuffle=False).partial_fit(X, y)
    before = (est.coef_.copy(), {k: v.copy() for k, v in est.optimizer_state_.items()})
    with pytest.raises(ValueError, match="momentum"):
        est.set_params(optimizer__momentum=1.5)
    assert est.optimizer == ScheduleFreeSGD()
    assert_array_equal(est.coef_, before[0])
    for key, value in before[1].items():
        assert_array_equal(est.optimizer_state_[key], value)
