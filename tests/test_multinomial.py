"""SGDClassifier(multi_class="multinomial"): one softmax model.

A NumPy reference learns the softmax sample by sample: K class rows, each
stepped by the registry's NumPy rule (``_reference_optim.REFERENCES``) with
its own residual pi_k - [k = y]; the estimator must match it. Then the batch
optimum (scikit-learn's multinomial LogisticRegression), the per-sample
gradient, the stable softmax, the engine's invariants (chunks, events,
save/load, float32, rollback) and bad input.
"""
import pickle

import hypothesis.strategies as st
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp, softmax

from _reference_optim import LossFunctions, _collect, _rows, reference
from conftest import make_classification_data

import streamlr
from streamlr import DivergenceError, SGDClassifier, optim
from streamlr.schedules import InverseScaling, ReduceOnPlateau

RTOL, ATOL = 1e-8, 1e-10


# --------------------------------------------------------------------------
# the NumPy reference
# --------------------------------------------------------------------------


def run_softmax(X, y, opt, *, eta0, learning_rate="constant", power_t=0.25, penalty=None,
                alpha=1e-4, l1_ratio=0.15, fit_intercept=True, sample_weight=None,
                class_weight=None, average=0, lazy=None, n_epochs=1):
    """The softmax model learned sample by sample with ``opt``'s NumPy rule:
    every class row k takes the rule's step with the gradient
    (pi_k - [k = y]) * class_weight[y] * sample_weight times x (pi: the
    softmax of the K margins, taken at schedule-free's y where the rule
    says). Returns what ``_reference_optim._collect`` does."""
    classes = np.unique(y)
    K = len(classes)
    label = np.searchsorted(classes, y)
    Xd, stored = _rows(X)
    if lazy is None:
        lazy = stored is not None
    n, d = Xd.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    cw = np.ones(K) if class_weight is None else np.array([class_weight[c] for c in classes])
    ref, params = reference(opt)
    slots = ref.slots(params)
    W = np.zeros((K, d))
    B = np.zeros((K, 1))
    S = [{s: np.full(d, ref.initial(params, s)) for s in slots} for _ in range(K)]
    Sb = [{s: np.full(1, ref.initial(params, s)) for s in slots} for _ in range(K)]
    decaying = {s: f for s, f in ref.decaying(params).items() if s in slots}
    ctx = [dict(ref.scalars(params) if callable(ref.scalars) else ref.scalars) for _ in range(K)]
    l2, l1 = {"l2": (alpha, 0.0), "l1": (0.0, alpha), None: (0.0, 0.0),
              "elasticnet": (alpha * (1 - l1_ratio), alpha * l1_ratio)}[penalty]
    sums = np.zeros((K, d)), np.zeros(K)
    n_avg = 0
    all_j = np.arange(d)
    zero = np.zeros(1, dtype=np.intp)
    t = 0
    for _ in range(n_epochs):
        for i in range(n):
            t += 1
            x = Xd[i]
            lr = eta0 if learning_rate == "constant" else eta0 / t ** power_t
            J = stored[i] if lazy else all_j
            p = W @ x + B[:, 0]
            ce = logsumexp(p) - p[label[i]]
            imp = cw[label[i]] * sw[i]
            at = [ref.at(params, W[k], S[k], B[k], Sb[k]) if ref.at is not None else (W[k], B[k])
                  for k in range(K)]
            q = np.array([a[0] @ x + (a[1][0] if fit_intercept else B[k, 0])
                          for k, a in enumerate(at)])
            resid = softmax(q) - (np.arange(K) == label[i])
            for k in range(K):
                if ref.row is not None:
                    loss = LossFunctions(lambda y_, p_, c=ce: c, lambda y_, p_: y_,
                                         lambda y_, p_, a: -a * y_)
                    ref.row(params, W[k], B[k], x, resid[k], p[k], loss, imp, lr, S[k], Sb[k],
                            ctx[k], fit_intercept, l2, l1)
                    continue
                gs = resid[k] * imp
                if ref.advance is not None:
                    ref.advance(params, ctx[k], t)
                if lazy and decaying:
                    untouched = np.setdiff1d(all_j, J)
                    for s, f in decaying.items():
                        S[k][s][untouched] *= f
                g = gs * x[J] + l2 * at[k][0][J]
                if ref.own_l1:
                    ctx[k]["l1_strength"] = l1
                if ref.joint is not None:
                    rate = ref.joint(params, W[k], B[k], g,
                                     np.array([gs]) if fit_intercept else None,
                                     S[k], Sb[k], J, t, lr, ctx[k])
                else:
                    ref.step(params, W[k], g, S[k], J, t, lr, False, ctx[k])
                    rate = lr
                if l1 > 0 and rate is not None and not ref.own_l1:
                    wj = W[k, J]
                    W[k, J] = np.sign(wj) * np.maximum(np.abs(wj) - rate * l1, 0.0)
                if fit_intercept and ref.joint is None:
                    ref.step(params, B[k], np.array([gs]), Sb[k], zero, t, lr, True, ctx[k])
            if average and t >= average:
                sums[0][:] += W
                sums[1][:] += B[:, 0]
                n_avg += 1
    results = []
    for k in range(K):
        r = {"coef": W[k], "intercept": B[k, 0], "t": t}
        if average and n_avg:
            r["avg_coef"] = sums[0][k] / n_avg
            r["avg_intercept"] = sums[1][k] / n_avg
        for s in slots:
            r[s] = S[k][s]
            r[s + "_intercept"] = Sb[k][s][0]
        r.update({key: v for key, v in ctx[k].items()
                  if not key.startswith("_") and key != "l1_strength"})
        results.append(r)
    return _collect(results, regressor=False)


def run_softmax_plain(X, y, *, eta0, alpha=0.0, penalty=None, sample_weight=None,
                      intercept_decay=1.0):
    """Plain SGD (scikit-learn's update) on the softmax, with unscaled
    weights: shrink by 1 - eta alpha, then step each row by its residual."""
    classes = np.unique(y)
    K = len(classes)
    label = np.searchsorted(classes, y)
    Xd, _ = _rows(X)
    n, d = Xd.shape
    sw = np.ones(n) if sample_weight is None else sample_weight
    W, b = np.zeros((K, d)), np.zeros(K)
    for i in range(n):
        x = Xd[i]
        resid = softmax(W @ x + b) - (np.arange(K) == label[i])
        for k in range(K):
            update = -eta0 * resid[k] * sw[i]
            if penalty == "l2":
                W[k] *= max(0.0, 1.0 - eta0 * alpha)
            W[k] += update * x
            b[k] += update * intercept_decay
    return W, b


def _est(opt, eta0, **kw):
    kw.setdefault("penalty", None)
    kw.setdefault("learning_rate", "constant")
    return SGDClassifier(loss="log_loss", multi_class="multinomial", optimizer=opt, eta0=eta0,
                         shuffle=False, **kw)


def _data(sparse=False, n=80, K=3, dtype=np.float64, seed=0):
    return make_classification_data(n_samples=n, n_classes=K, sparse=sparse, dtype=dtype,
                                    seed=seed)


def _check(est, ref, rtol=RTOL, atol=ATOL):
    assert_allclose(est.coef_, ref["coef"], rtol=rtol, atol=atol, err_msg="coef_")
    assert_allclose(est.intercept_, ref["intercept"], rtol=rtol, atol=atol, err_msg="intercept_")
    state = est.optimizer_state_
    assert set(state) == set(ref["state"]), (sorted(state), sorted(ref["state"]))
    for name, expected in ref["state"].items():
        assert_allclose(state[name], expected, rtol=rtol, atol=atol, err_msg=name)


# every rule of the registry that its NumPy reference models, at its reference rate
RULES = [
    ("adam", optim.Adam()), ("adamw", optim.AdamW(weight_decay=0.1)), ("adagrad", optim.Adagrad()),
    ("rmsprop", optim.RMSprop(momentum=0.5, centered=True)), ("adadelta", optim.Adadelta()),
    ("adamax", optim.Adamax()), ("nadam", optim.NAdam()), ("radam", optim.RAdam()),
    ("momentum", optim.SGD(momentum=0.9, nesterov=True)), ("ftrl", optim.FTRL()),
    ("cocob", optim.COCOB()), ("prodigy", optim.Prodigy()),
    ("sf-sgd", optim.ScheduleFreeSGD()), ("sf-adamw", optim.ScheduleFreeAdamW()),
    ("vw", optim.Normalized()),
]
RULE_IDS = [r[0] for r in RULES]


def _rule(name):
    from sklearn.base import clone
    opt = clone(dict(RULES)[name])
    return opt, reference(opt)[0].eta0


# --------------------------------------------------------------------------
# 1. per sample against the NumPy reference
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", RULE_IDS)
def test_matches_softmax_reference(name, sparse):
    opt, eta0 = _rule(name)
    X, y = _data(sparse)
    est = _est(opt, eta0).partial_fit(X, y, classes=np.unique(y))
    _check(est, run_softmax(X, y, opt, eta0=eta0))
    assert est.t_ == X.shape[0] + 1


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name,kw", [
    ("adam", dict(penalty="l2", alpha=0.05)),
    ("adagrad", dict(penalty="elasticnet", alpha=0.02, l1_ratio=0.4)),
    ("ftrl", dict(penalty="l1", alpha=0.01)),
    ("vw", dict(penalty="l2", alpha=0.01)),
    ("nadam", dict(fit_intercept=False)),
    ("sf-adamw", dict(penalty="l1", alpha=0.01)),
    ("prodigy", dict(penalty="l2", alpha=0.01)),
    ("rmsprop", dict(average=True)),
    ("adam", dict(average=20)),
    ("adagrad", dict(learning_rate="invscaling", power_t=0.3)),
    ("momentum", dict(learning_rate=InverseScaling(0.05, 0.4))),
])
def test_matches_softmax_reference_variants(name, kw, sparse):
    opt, eta0 = _rule(name)
    X, y = _data(sparse)
    est = _est(opt, eta0, **kw).partial_fit(X, y, classes=np.unique(y))
    ref_kw = dict(kw)
    if isinstance(kw.get("learning_rate"), InverseScaling):
        ref_kw.update(learning_rate="invscaling", power_t=0.4)
        eta0 = 0.05
    if "average" in ref_kw:
        ref_kw["average"] = int(ref_kw["average"])
    _check(est, run_softmax(X, y, opt, eta0=eta0, **ref_kw))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", ["adam", "adagrad", "vw", "momentum"])
def test_matches_softmax_reference_weights(name, sparse):
    opt, eta0 = _rule(name)
    X, y = _data(sparse, K=4)
    classes = np.unique(y)
    sw = np.random.RandomState(3).uniform(0.2, 2.0, size=X.shape[0])
    sw[[5, 9]] = 0.0
    cw = {c: 0.5 + i for i, c in enumerate(classes)}
    est = _est(opt, eta0, class_weight=cw).partial_fit(X, y, classes=classes, sample_weight=sw)
    _check(est, run_softmax(X, y, opt, eta0=eta0, class_weight=cw, sample_weight=sw))


@pytest.mark.parametrize("name", ["adam", "nadam", "vw"])
def test_fit_epochs_match_softmax_reference(name):
    opt, eta0 = _rule(name)
    X, y = _data(n=40)
    est = _est(opt, eta0, max_iter=3, tol=None).fit(X, y)
    assert est.n_iter_ == 3
    _check(est, run_softmax(X, y, opt, eta0=eta0, n_epochs=3))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_plain_sgd_matches_softmax_reference(sparse):
    X, y = _data(sparse)
    sw = np.random.RandomState(1).uniform(0.5, 1.5, size=X.shape[0])
    est = _est("sgd", 0.05, penalty="l2", alpha=0.01)
    est.partial_fit(X, y, classes=np.unique(y), sample_weight=sw)
    W, b = run_softmax_plain(X, y, eta0=0.05, alpha=0.01, penalty="l2", sample_weight=sw,
                             intercept_decay=0.01 if sparse else 1.0)
    assert_allclose(est.coef_, W, rtol=1e-8, atol=1e-12)
    assert_allclose(est.intercept_, b, rtol=1e-8, atol=1e-12)


# --------------------------------------------------------------------------
# 2. the objective and its gradient
# --------------------------------------------------------------------------


def _objective(W, b, X, label, alpha):
    P = X @ W.T + b
    return np.mean(logsumexp(P, axis=1) - P[np.arange(len(label)), label]) + 0.5 * alpha * (W * W).sum()


def test_fit_reaches_logistic_regression_optimum():
    from sklearn.linear_model import LogisticRegression
    rng = np.random.RandomState(0)
    n, d, K, alpha = 400, 5, 4, 0.01
    X = rng.randn(n, d)
    y = np.argmax(X @ rng.randn(d, K) + rng.gumbel(size=(n, K)), axis=1)
    lr = LogisticRegression(C=1.0 / (n * alpha), tol=1e-12, max_iter=10000).fit(X, y)
    # the intercept is penalised by neither
    best = _objective(lr.coef_, lr.intercept_, X, y, alpha)
    est = SGDClassifier(loss="log_loss", multi_class="multinomial", alpha=alpha, penalty="l2",
                        learning_rate="invscaling", eta0=0.1, power_t=0.5, max_iter=400,
                        tol=None, shuffle=True, random_state=0, average=200 * n).fit(X, y)
    got = _objective(est.coef_, est.intercept_, X, y, alpha)
    assert got >= best - 1e-9
    assert (got - best) / best < 1e-3, (got, best)
    assert np.mean(est.predict(X) == lr.predict(X)) >= 0.99


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_per_sample_gradient(sparse):
    """One sample from a nonzero model: each row moves by -eta (pi_k - [k=y]) x
    (plain SGD, constant rate, no penalty), pi the softmax of its margins;
    checked against a finite difference of the cross-entropy."""
    X, y = _data(sparse, n=30, K=4)
    classes = np.unique(y)
    est = _est("sgd", 0.1).partial_fit(X[:20], y[:20], classes=classes)
    W, b = est.coef_.copy(), est.intercept_.copy()
    x = (X[20:21].toarray() if sparse else X[20:21])[0]
    k_true = int(np.searchsorted(classes, y[20]))

    def ce(Wf, bf):
        p = Wf @ x + bf
        return logsumexp(p) - p[k_true]

    grad = np.zeros_like(W)
    h = 1e-6
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            E = np.zeros_like(W)
            E[k, j] = h
            grad[k, j] = (ce(W + E, b) - ce(W - E, b)) / (2 * h)
    est.partial_fit(X[20:21], y[20:21])
    assert_allclose(est.coef_, W - 0.1 * grad, rtol=1e-6, atol=1e-8)
    decay = 0.01 if sparse else 1.0
    pi = softmax(W @ x + b)
    assert_allclose(est.intercept_, b - 0.1 * decay * (pi - (np.arange(4) == k_true)), rtol=1e-10)


def test_gtol_norm_is_the_full_gradient():
    from streamlr.linear_model._stopping import softmax_gradient_norm
    X, y = _data(n=50, K=3)
    classes = np.unique(y)
    label = np.searchsorted(classes, y)
    sw = np.random.RandomState(2).uniform(0.5, 2.0, size=50)
    cw = {c: 1.0 + i for i, c in enumerate(classes)}
    alpha = 0.01
    est = _est("adam", 0.05, penalty="l2", alpha=alpha, class_weight=cw)
    est.partial_fit(X, y, classes=classes, sample_weight=sw)
    W, b = est.coef_.copy(), est.intercept_.copy()
    s = sw * np.array([cw[c] for c in classes])[label]

    def f(theta):
        Wf, bf = theta[:W.size].reshape(W.shape), theta[W.size:]
        P = X @ Wf.T + bf
        ce = logsumexp(P, axis=1) - P[np.arange(50), label]
        return np.mean(s * ce) + 0.5 * alpha * (Wf * Wf).sum()

    theta = np.concatenate([W.ravel(), b])
    h = 1e-6
    grad = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])
    cfgs = est._configs(optim.Adam(), None, False, est._problem_weights(
        [cw[c] for c in classes]))
    got = softmax_gradient_norm(est._model, X, label, sw, cfgs, est.t_, 0, True)
    assert_allclose(got, np.linalg.norm(grad), rtol=1e-6)


def test_progressive_loss_is_cross_entropy():
    X, y = _data(n=50)
    est = _est("adam", 0.05)
    label = np.searchsorted(np.unique(y), y)
    total = 0.0
    for i in range(X.shape[0]):
        if i:
            p = est.decision_function(X[i:i + 1])[0]
            total += logsumexp(p) - p[label[i]]
        else:
            total += np.log(3)
        est.partial_fit(X[i:i + 1], y[i:i + 1], classes=np.unique(y))
    assert_allclose(est.progressive_loss_, total / X.shape[0], rtol=1e-10)


# --------------------------------------------------------------------------
# 3. predictions
# --------------------------------------------------------------------------


def test_predict_proba_is_softmax_and_stable():
    X, y = _data(n=60, K=4)
    est = _est("adam", 0.05).partial_fit(X, y, classes=np.unique(y))
    D = est.decision_function(X)
    assert_allclose(est.predict_proba(X), softmax(D, axis=1), rtol=1e-12)
    assert_array_equal(est.predict(X), est.classes_[D.argmax(axis=1)])
    for i in range(5):
        proba = est.predict_proba_one(X[i])
        assert list(proba) == est.classes_.tolist()
        assert_allclose(list(proba.values()), est.predict_proba(X[i:i + 1])[0], rtol=0, atol=0)
        assert est.predict_one(X[i]) == est.predict(X[i:i + 1])[0]
    # huge margins: no overflow, no NaN
    est.coef_ = est.coef_ * 1e300
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        P = est.predict_proba(X * 1e5)
    assert np.isfinite(P).all()
    assert_allclose(P.sum(axis=1), 1.0)


def test_two_classes_is_the_binary_model():
    X, y = _data(K=2)
    a = SGDClassifier(loss="log_loss", multi_class="multinomial", random_state=0, max_iter=5,
                      tol=None).fit(X, y)
    b = SGDClassifier(loss="log_loss", random_state=0, max_iter=5, tol=None).fit(X, y)
    assert a.coef_.shape == (1, X.shape[1])
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@settings(max_examples=60, deadline=None)
@given(scale=st.floats(min_value=-300, max_value=300), seed=st.integers(0, 2 ** 16))
def test_softmax_never_overflows(scale, seed):
    X, y = _data(n=30, K=4, seed=0)
    est = _est("adam", 0.05).partial_fit(X, y, classes=np.unique(y))
    rng = np.random.RandomState(seed)
    est.coef_ = rng.randn(*est.coef_.shape) * 10.0 ** scale
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        P = est.predict_proba(X)
    assert np.isfinite(P).all()
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(P.argmax(axis=1), est.decision_function(X).argmax(axis=1))


# --------------------------------------------------------------------------
# 4. the engine's invariants
# --------------------------------------------------------------------------


def _same(a, b):
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)
    assert a.t_ == b.t_
    assert a.progressive_loss_ == b.progressive_loss_ or (
        np.isnan(a.progressive_loss_) and np.isnan(b.progressive_loss_))
    for name, v in a.optimizer_state_.items():
        assert_array_equal(v, b.optimizer_state_[name], err_msg=name)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("opt", ["sgd", "adam", "vw", "schedulefree", "prodigy"])
def test_chunks_events_and_one_call_agree(opt, sparse):
    X, y = _data(sparse, n=90, K=4)
    classes = np.unique(y)
    kw = dict(learning_rate="optimal", penalty="l2", alpha=1e-3) if opt == "sgd" else {}
    one = _est(opt, 0.05, **kw).partial_fit(X, y, classes=classes)
    chunks = _est(opt, 0.05, **kw)
    for lo in range(0, 90, 7):     # small calls (the bound engine) and larger ones
        chunks.partial_fit(X[lo:lo + 7] if lo < 60 else X[lo:lo + 30],
                           y[lo:lo + 7] if lo < 60 else y[lo:lo + 30], classes=classes)
        if lo >= 60:
            break
    events = _est(opt, 0.05, **kw)
    for i in range(90):
        events.learn_one(X[i] if sparse else X[i], y[i], classes=classes)
    _same(one, chunks)
    _same(one, events)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_balanced_and_plateau_streams_are_chunk_invariant(sparse):
    X, y = _data(sparse, n=90, K=3)
    classes = np.unique(y)

    def make():
        return _est("adam", 0.05, class_weight="balanced",
                    learning_rate=ReduceOnPlateau(0.05, patience=3, window=5))

    one = make().partial_fit(X, y, classes=classes)
    chunks = make()
    for lo in range(0, 90, 30):
        chunks.partial_fit(X[lo:lo + 30], y[lo:lo + 30], classes=classes)
    events = make()
    for i in range(90):
        events.learn_one(X[i], y[i], classes=classes)
    _same(one, chunks)
    _same(one, events)
    assert_array_equal(one.class_counts_, np.bincount(np.searchsorted(classes, y)))
    assert_array_equal(one.schedule_state_, events.schedule_state_)


def test_n_jobs_gives_the_same_model():
    X, y = _data(n=60, K=4)
    a = _est("adam", 0.05, max_iter=3, tol=None).fit(X, y)
    b = _est("adam", 0.05, max_iter=3, tol=None, n_jobs=2).fit(X, y)
    _same(a, b)


def test_save_load_resumes_bitwise(tmp_path):
    X, y = _data(n=80, K=3)
    classes = np.unique(y)
    a = _est("adam", 0.05, average=10).partial_fit(X[:40], y[:40], classes=classes)
    b = pickle.loads(pickle.dumps(a))
    a.partial_fit(X[40:], y[40:])
    b.partial_fit(X[40:], y[40:])
    _same(a, b)
    streamlr.save(a, tmp_path / "m.npz")
    c = streamlr.load(tmp_path / "m.npz")
    _same(a, c)
    a.partial_fit(X[:30], y[:30])
    c.partial_fit(X[:30], y[:30])
    _same(a, c)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_float32(sparse):
    X, y = _data(sparse, dtype=np.float32)
    est = _est("adam", 0.05).partial_fit(X, y, classes=np.unique(y))
    assert est.coef_.dtype == np.float32
    ref = run_softmax(X.astype(np.float64), y, optim.Adam(), eta0=0.05)
    assert_allclose(est.coef_, ref["coef"], rtol=1e-3, atol=1e-5)
    assert np.isfinite(est.predict_proba(X)).all()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_fit_epochs_and_stopping(opt):
    X, y = _data(n=120, K=3)
    est = SGDClassifier(loss="log_loss", multi_class="multinomial", optimizer=opt, max_iter=200,
                        random_state=0, tol=1e-4).fit(X, y)
    assert 1 <= est.n_iter_ < 200
    assert est.score(X, y) > 0.8
    assert len(est.lr_history_) == est.n_iter_
    e2 = SGDClassifier(loss="log_loss", multi_class="multinomial", optimizer=opt, max_iter=50,
                       random_state=0, tol=None, gtol=1e-2).fit(X, y)
    assert e2.n_iter_ <= 50
    e3 = SGDClassifier(loss="log_loss", multi_class="multinomial", optimizer=opt, max_iter=50,
                       random_state=0, early_stopping=True, n_iter_no_change=3).fit(X, y)
    assert e3.n_iter_ < 50
    e4 = SGDClassifier(loss="log_loss", multi_class="multinomial", optimizer=opt, max_iter=20,
                       random_state=0, learning_rate="adaptive", tol=1e-3).fit(X, y)
    assert np.isfinite(e4.coef_).all()


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_divergence_rolls_back(opt):
    X, y = _data(n=200, K=3)
    classes = np.unique(y)
    est = _est(opt, 0.05).partial_fit(X[:30], y[:30], classes=classes)
    bad = X[30:] * 1e200       # finite rows, an absurd rate: the margins overflow
    est.eta0 = 1e300

    def state():
        return (est.coef_.copy(), est.intercept_.copy(), est.t_, est.progressive_loss_,
                {k: v.copy() for k, v in est.optimizer_state_.items()})

    calls = [lambda: est.partial_fit(bad, y[30:]),           # the general path
             lambda: est.partial_fit(bad[:10], y[30:40])]    # a small call
    for call in calls:
        before = state()
        with pytest.raises(DivergenceError):
            call()
        after = state()
        for a, b in zip(before[:2], after[:2], strict=True):
            assert_array_equal(a, b)
        assert before[2:4] == after[2:4]
        for k, v in before[4].items():
            assert_array_equal(v, after[4][k])
    # events: each one that fails changes nothing
    failed = 0
    for i in range(10):
        before = state()
        try:
            est.learn_one(bad[i], y[30 + i])
        except DivergenceError:
            failed += 1
            assert_array_equal(est.coef_, before[0])
            assert est.t_ == before[2]
    assert failed
    est.eta0 = 0.05
    est.partial_fit(X[30:], y[30:])
    assert np.isfinite(est.coef_).all()


# --------------------------------------------------------------------------
# 5. bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kw,match", [
    (dict(multi_class="softmax"), "multi_class"),
    (dict(multi_class=None), "multi_class"),
    (dict(multi_class="multinomial", loss="hinge"), "multi_class.*log_loss"),
    (dict(multi_class="multinomial", loss="modified_huber"), "log_loss"),
])
def test_bad_parameters_raise_before_the_model_changes(kw, match):
    X, y = _data(n=40)
    est = SGDClassifier(**kw)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    with pytest.raises(ValueError, match=match):
        est.partial_fit(X, y, classes=np.unique(y))
    assert not hasattr(est, "coef_")
    fitted = _est("adam", 0.05).partial_fit(X, y, classes=np.unique(y))
    coef = fitted.coef_.copy()
    fitted.set_params(**kw)
    with pytest.raises(ValueError, match=match):
        fitted.partial_fit(X, y)
    with pytest.raises(ValueError, match=match):
        fitted.learn_one(X[0], y[0])
    assert_array_equal(fitted.coef_, coef)


def test_bad_labels_and_rows():
    X, y = _data(n=40)
    est = _est("adam", 0.05).partial_fit(X, y, classes=np.unique(y))
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="not"):
        est.partial_fit(X[:3], np.array([0, 1, 7]))
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(Xn, y)
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(Xn[:5], y[:5])
    assert_array_equal(est.coef_, coef)


def test_csr_bad_index_refused():
    X, y = _data(True, n=40)
    est = _est("adam", 0.05).partial_fit(X, y, classes=np.unique(y))
    coef = est.coef_.copy()
    bad = sp.csr_matrix((X.data.copy(), X.indices.copy(), X.indptr.copy()), shape=X.shape)
    bad.indices[3] = 10_000
    with pytest.raises(ValueError):
        est.partial_fit(bad, y)
    assert_array_equal(est.coef_, coef)
