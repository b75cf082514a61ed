"""The optimizers of ``streamlr.optim`` inside SGDClassifier / SGDRegressor.

The rules come from the registry (``streamlr._registry.optimizers()``):
every string of every row is a case, plus the parameter variants below, so a
new row is tested without editing this file.

Oracles:

* ``_reference_optim``: a naive NumPy per-sample loop written from the
  documented formulas, with a dense mode (every coordinate updated at every
  sample, as PyTorch with batch size 1) and a lazy mode (only the stored
  coordinates of a CSR row are touched). One reference per registry row.
* the row's PyTorch twin (skipped without torch), on a single weight vector
  and a bias, loss 0.5 (p - y)^2 (+ 0.5 alpha ||w||^2).

Then the sparse semantics (exact vs lazy), chunk invariance, the spec
objects, errors, float32 and divergence.
"""

import copy
import importlib
import inspect

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from _reference_optim import REFERENCES, reference, reference_classifier, reference_regressor
from conftest import (
    assert_same_model,
    make_classification_data,
    make_regression_data,
)

import streamlr
from streamlr import DivergenceError, SGDClassifier, SGDRegressor, _registry, optim, persistence
from streamlr.cli import parse_optimizer
from streamlr.optim import (
    COCOB,
    FTRL,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    NAdam,
    RMSprop,
    ScheduleFreeAdamW,
    ScheduleFreeSGD,
)
from streamlr.schedules import Constant, InverseScaling

RTOL = 1e-8
ATOL = 1e-12


def _registry_cases():
    """(id, spec, eta0) of every string of every registry row that its NumPy
    reference models (plain "sgd" is scikit-learn's update: test_parity_sklearn)."""
    for entry in _registry.optimizers():
        ref = REFERENCES.get(entry.name)
        if ref is None:
            continue  # test_every_optimizer_has_a_reference fails
        for string in entry.strings:
            spec = entry.build(string)
            if ref.covers(spec.get_params(deep=False)):
                yield string, spec, ref.eta0


# parameter variants beyond the registry strings: (id, spec); eta0 from the reference
VARIANTS = [
    ("momentum-dampening", SGD(momentum=0.5, dampening=0.3)),
    ("adagrad-init", Adagrad(initial_accumulator_value=0.1, eps=1e-6)),
    ("rmsprop-centered", RMSprop(centered=True, alpha=0.9)),
    ("rmsprop-momentum", RMSprop(momentum=0.5)),
    ("rmsprop-momentum-centered", RMSprop(momentum=0.5, centered=True)),
    ("adadelta-rho", Adadelta(rho=0.8, eps=1e-4)),
    ("amsgrad-betas", Adam(amsgrad=True, betas=(0.8, 0.99))),
    ("adam-nobias", Adam(bias_correction=False)),
    ("adamw-decay", AdamW(weight_decay=0.1)),
    ("adamw-amsgrad", AdamW(weight_decay=0.3, amsgrad=True)),
    ("nadam-decay", NAdam(betas=(0.8, 0.99), momentum_decay=0.05)),
    ("ftrl-l1l2", FTRL(beta=0.5, l1=0.05, l2=0.1)),
    ("sf-sgd", ScheduleFreeSGD()),
    ("sf-sgd-warmup", ScheduleFreeSGD(momentum=0.5, warmup_steps=10, r=1.0, weight_lr_power=1.0)),
    ("sf-adamw-decay", ScheduleFreeAdamW(betas=(0.8, 0.99), weight_decay=0.1, warmup_steps=5)),
]

# (id, spec, eta0): every rule of the registry and the parameter variants
OPTIMIZERS = list(_registry_cases()) + [
    (name, opt, reference(opt)[0].eta0) for name, opt in VARIANTS]
OPT_BY_ID = {name: (opt, eta) for name, opt, eta in OPTIMIZERS}
OPT_IDS = [o[0] for o in OPTIMIZERS]

# documented exact on CSR rows (with penalty=None and a constant rate) or lazy
EXACT_IDS = [name for name, opt, _ in OPTIMIZERS if opt.exact_on_sparse]
LAZY_IDS = [name for name, opt, _ in OPTIMIZERS if not opt.exact_on_sparse]


def _opt(name):
    opt, eta = OPT_BY_ID[name]
    return clone(opt), eta


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _data(task, sparse, dtype=np.float64, n=80):
    if task == "reg":
        return make_regression_data(n_samples=n, sparse=sparse, dtype=dtype)
    if task == "log2":
        return make_classification_data(n_samples=n, sparse=sparse, dtype=dtype)
    if task == "hinge3":
        return make_classification_data(n_samples=n, n_classes=3, sparse=sparse, dtype=dtype)
    raise ValueError(task)


def _estimator(task, opt, eta0, **kw):
    kw.setdefault("penalty", None)
    kw.setdefault("learning_rate", "constant")
    common = dict(optimizer=opt, eta0=eta0, shuffle=False, **kw)
    if task == "reg":
        return SGDRegressor(loss="squared_error", **common)
    return SGDClassifier(loss="log_loss" if task == "log2" else "hinge", **common)


def _reference(task, X, y, opt, eta0, class_weight=None, **kw):
    if task == "reg":
        return reference_regressor(X, y, opt, eta0=eta0, **kw)
    loss = "log_loss" if task == "log2" else "hinge"
    return reference_classifier(X, y, opt, loss, class_weight=class_weight, eta0=eta0, **kw)


def _assert_matches_reference(est, ref, rtol=RTOL, atol=ATOL):
    assert_allclose(est.coef_, ref["coef"], rtol=rtol, atol=atol, err_msg="coef_")
    assert_allclose(est.intercept_, ref["intercept"], rtol=rtol, atol=atol, err_msg="intercept_")
    state = est.optimizer_state_
    assert set(state) == set(ref["state"]), (sorted(state), sorted(ref["state"]))
    rule_scalars = {name for name, _ in optim.resolve(est.optimizer).scalar_state()}
    for name, expected in ref["state"].items():
        got = state[name]
        if name.endswith("_intercept"):
            assert got.shape == np.shape(est.intercept_), name
        elif name == "mu_product":
            assert got.shape == (np.atleast_2d(est.coef_).shape[0],), name
        elif name in rule_scalars:  # one per binary problem, 0-d for a regressor
            assert got.shape == np.shape(est.intercept_)[:np.ndim(est.coef_) - 1], name
        else:
            assert got.shape == np.shape(est.coef_), name
        assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=name)


def _full_state(est):
    """Everything observable about a fitted model, copied."""
    out = {
        "coef_": np.array(est.coef_, copy=True),
        "intercept_": np.array(est.intercept_, copy=True),
        "t_": est.t_,
        "progressive_loss_": est.progressive_loss_,
        "lr_": est.lr_,
    }
    for k, v in est.optimizer_state_.items():
        out["state:" + k] = np.array(v, copy=True)
    return out


def _assert_same_full_state(a, b):
    assert set(a) == set(b), (sorted(a), sorted(b))
    for k in a:
        va, vb = np.asarray(a[k]), np.asarray(b[k])
        assert va.dtype == vb.dtype, k
        assert va.shape == vb.shape, k
        assert_array_equal(va, vb, err_msg=k)


def _with_explicit_zeros(X, frac, seed=0):
    """CSR with the same values as X, storing a fraction of its zeros
    explicitly (frac=1: every entry stored)."""
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X)
    rng = np.random.RandomState(seed)
    keep = (Xd != 0) | (rng.rand(*Xd.shape) < frac)
    rows, cols = np.nonzero(keep)
    out = sp.csr_matrix((Xd[rows, cols], (rows, cols)), shape=Xd.shape)
    out.sort_indices()
    stored_zeros = np.sum(out.data == 0)
    assert frac == 0 or stored_zeros > 0
    return out


# --------------------------------------------------------------------------
# 1. against the NumPy reference
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["reg", "log2", "hinge3"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", OPT_IDS)
def test_matches_reference(name, sparse, task):
    opt, eta0 = _opt(name)
    X, y = _data(task, sparse)
    est = _estimator(task, opt, eta0)
    if task == "reg":
        est.partial_fit(X, y)
    else:
        est.partial_fit(X, y, classes=np.unique(y))
    ref = _reference(task, X, y, opt, eta0)
    _assert_matches_reference(est, ref)
    assert est.t_ == X.shape[0] + 1
    assert est.lr_ == eta0


# penalties, schedules, averaging, weights: not the full product
VARIANT_CASES = [
    # (optimizer ids, task, estimator kwargs, reference kwargs)
    (["adam", "adagrad", "rmsprop-momentum", "nesterov", "adadelta", "nadam", "ftrl", "vw"], "reg",
     dict(penalty="l2", alpha=0.05), dict(penalty="l2", alpha=0.05)),
    (["adamw-decay", "rmsprop-centered", "momentum", "adamax", "amsgrad-betas", "vw"], "log2",
     dict(penalty="elasticnet", alpha=0.02, l1_ratio=0.4),
     dict(penalty="elasticnet", alpha=0.02, l1_ratio=0.4)),
    (["adam", "adagrad", "ftrl-l1l2", "vw"], "hinge3",
     dict(penalty="l1", alpha=0.01), dict(penalty="l1", alpha=0.01)),
    (["adam", "adadelta", "momentum", "adagrad", "nadam"], "reg",
     dict(learning_rate="invscaling", power_t=0.3), dict(learning_rate="invscaling", power_t=0.3)),
    (["adam", "rmsprop", "adadelta", "nesterov", "ftrl", "adamax", "vw"], "reg",
     dict(average=True), dict(average=1)),
    (["adam", "rmsprop", "adagrad", "momentum", "nadam", "adadelta", "vw"], "hinge3",
     dict(average=25), dict(average=25)),
    (["adamw-decay", "rmsprop-momentum", "adagrad"], "log2",
     dict(average=10, penalty="l2", alpha=0.01), dict(average=10, penalty="l2", alpha=0.01)),
    (["adam", "adagrad", "rmsprop-momentum-centered", "ftrl-l1l2", "momentum-dampening", "vw"],
     "reg", dict(fit_intercept=False), dict(fit_intercept=False)),
]
VARIANT_PARAMS = [
    pytest.param(name, task, ekw, rkw, id=f"{name}-{task}-{'-'.join(f'{k}={v}' for k, v in ekw.items())}")
    for names, task, ekw, rkw in VARIANT_CASES
    for name in names
]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name,task,est_kw,ref_kw", VARIANT_PARAMS)
def test_matches_reference_variants(name, task, est_kw, ref_kw, sparse):
    opt, eta0 = _opt(name)
    X, y = _data(task, sparse)
    est = _estimator(task, opt, eta0, **est_kw)
    if task == "reg":
        est.partial_fit(X, y)
    else:
        est.partial_fit(X, y, classes=np.unique(y))
    _assert_matches_reference(est, _reference(task, X, y, opt, eta0, **ref_kw))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", ["adam", "adagrad", "rmsprop-momentum", "nadam", "ftrl", "nesterov",
                                  "vw"])
@pytest.mark.parametrize("task", ["reg", "log2", "hinge3"])
def test_matches_reference_sample_and_class_weight(task, name, sparse):
    opt, eta0 = _opt(name)
    X, y = _data(task, sparse)
    sw = np.random.RandomState(3).uniform(0.2, 2.0, size=X.shape[0])
    sw[[5, 9]] = 0.0
    if task == "reg":
        est = _estimator(task, opt, eta0).partial_fit(X, y, sample_weight=sw)
        ref = _reference(task, X, y, opt, eta0, sample_weight=sw)
    else:
        classes = np.unique(y)
        cw = {c: 0.5 + i for i, c in enumerate(classes)}
        est = _estimator(task, opt, eta0, class_weight=cw)
        est.partial_fit(X, y, classes=classes, sample_weight=sw)
        ref = _reference(task, X, y, opt, eta0, class_weight=cw, sample_weight=sw)
    _assert_matches_reference(est, ref)


@pytest.mark.parametrize("name", ["adam", "rmsprop", "adadelta", "momentum", "nadam", "vw"])
def test_fit_epochs_match_reference(name):
    """fit runs several epochs with one clock t (bias corrections, NAdam's mu)."""
    opt, eta0 = _opt(name)
    X, y = _data("reg", False, n=40)
    est = _estimator("reg", opt, eta0, max_iter=3, tol=None).fit(X, y)
    assert est.n_iter_ == 3
    _assert_matches_reference(est, reference_regressor(X, y, opt, eta0=eta0, n_epochs=3))


# --------------------------------------------------------------------------
# 2. against torch.optim
# --------------------------------------------------------------------------

def _torch_cases():
    """(id, entry, spec) of every case whose registry row has a PyTorch twin
    for its parameters."""
    for name, opt, _ in OPTIMIZERS:
        entry = _registry.optimizer(type(opt).__name__)
        if entry.torch is not None and entry.torch_kwargs(opt) is not None:
            yield name, entry, opt


TORCH_CASES = list(_torch_cases())


def _torch_class(dotted):
    """The twin class of a registry row's dotted name (``torch.optim.Adam``,
    ``parameterfree.COCOB``); skips when its package is not installed."""
    module, _, name = dotted.rpartition(".")
    pytest.importorskip(module.partition(".")[0])
    return getattr(importlib.import_module(module), name)


def _torch_run(torch, X, y, cls, kw, lr, alpha):
    # float64 also for torch's scalar state (NAdam's mu_product, step)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _torch_loop(torch, X, y, cls, kw, lr, alpha)
    finally:
        torch.set_default_dtype(old)


def _torch_loop(torch, X, y, cls, kw, lr, alpha):
    d = X.shape[1]
    w = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    kw = dict(kw)
    groups = [{"params": [w]}, {"params": [b]}]
    if "weight_decay" in kw:  # AdamW: the bias is not decayed
        groups[1]["weight_decay"] = 0.0
    accepted = inspect.signature(cls).parameters
    # a twin without a rate (parameterfree.COCOB) takes neither lr nor foreach
    kw.update({k: v for k, v in (("lr", lr), ("foreach", False)) if k in accepted})
    opt = cls(groups, **kw)
    if hasattr(opt, "train"):
        opt.train()  # schedule-free: gradients at y (the train-mode point)
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    for i in range(X.shape[0]):
        opt.zero_grad()
        p = Xt[i] @ w + b[0]
        loss = 0.5 * (p - yt[i]) ** 2
        if alpha:
            loss = loss + 0.5 * alpha * (w @ w)
        loss.backward()
        opt.step()
    if hasattr(opt, "eval"):
        opt.eval()  # schedule-free: the model served is the averaged point x
    return w, b, opt


@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("name,entry", [c[:2] for c in TORCH_CASES], ids=[c[0] for c in TORCH_CASES])
def test_matches_torch(name, entry, penalty):
    torch = pytest.importorskip("torch")
    opt, eta0 = _opt(name)
    X, y = make_regression_data(n_samples=60)
    alpha = 0.05 if penalty else 0.0
    est = SGDRegressor(optimizer=opt, learning_rate="constant", eta0=eta0, shuffle=False,
                       penalty=penalty, alpha=alpha if penalty else 0.0001)
    est.partial_fit(X, y)
    w, b, topt = _torch_run(torch, X, y, _torch_class(entry.torch), entry.torch_kwargs(opt),
                            eta0, alpha)
    assert_allclose(est.coef_, w.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert_allclose(est.intercept_, b.detach().numpy(), rtol=RTOL, atol=ATOL)
    state = est.optimizer_state_
    sw, sb = topt.state[w], topt.state[b]
    expected_keys = set()
    for key, value in sw.items():
        if key == "step":
            continue
        if key == "mu_product":
            assert_allclose(state["mu_product"], [float(value)], rtol=RTOL)
            assert_allclose(state["mu_product"], [float(sb[key])], rtol=RTOL)
            expected_keys.add(key)
            continue
        assert_allclose(state[key], value.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=key)
        assert_allclose(state[key + "_intercept"], sb[key].detach().numpy(), rtol=RTOL,
                        atol=ATOL, err_msg=key + "_intercept")
        expected_keys |= {key, key + "_intercept"}
    # the rule's scalars (Prodigy's d): the twin keeps them in its param groups
    group = topt.param_groups[0]
    for key, _ in opt.scalar_state():
        if key in group:
            assert_allclose(state[key], float(group[key]), rtol=RTOL, atol=ATOL, err_msg=key)
        expected_keys.add(key)
    assert set(state) == expected_keys


# --------------------------------------------------------------------------
# 3. sparse semantics
# --------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["reg", "hinge3"])
@pytest.mark.parametrize("name", EXACT_IDS)
def test_exact_on_sparse(name, task):
    """CSR rows (zeros not stored, or some or all stored explicitly) give the
    dense result, state included."""
    opt, eta0 = _opt(name)
    Xd, y = _data(task, False)
    fit_kw = {} if task == "reg" else {"classes": np.unique(y)}
    dense = _estimator(task, opt, eta0).partial_fit(Xd, y, **fit_kw)
    a = _full_state(dense)
    for frac in (0.0, 0.5, 1.0):
        Xs = _with_explicit_zeros(Xd, frac)
        sparse = _estimator(task, opt, eta0).partial_fit(Xs, y, **fit_kw)
        b = _full_state(sparse)
        assert set(a) == set(b)
        for k in a:
            assert_allclose(b[k], a[k], rtol=1e-12, atol=1e-15, err_msg=f"{k} (frac={frac})")


@pytest.mark.parametrize("name", LAZY_IDS)
def test_lazy_on_sparse(name):
    """Lazy rules: CSR follows the lazy reference (checked in
    test_matches_reference) and differs from the dense result on data with
    zeros; storing every zero explicitly brings back the dense result."""
    opt, eta0 = _opt(name)
    Xd, y = _data("reg", False)
    Xs = sp.csr_matrix(Xd)
    dense = _estimator("reg", opt, eta0).partial_fit(Xd, y)
    sparse = _estimator("reg", opt, eta0).partial_fit(Xs, y)
    ref_lazy = reference_regressor(Xs, y, opt, eta0=eta0, lazy=True)
    _assert_matches_reference(sparse, ref_lazy)
    assert not np.allclose(sparse.coef_, dense.coef_, rtol=1e-6, atol=0)
    full = _estimator("reg", opt, eta0).partial_fit(_with_explicit_zeros(Xd, 1.0), y)
    a, b = _full_state(dense), _full_state(full)
    for k in a:
        assert_allclose(b[k], a[k], rtol=1e-12, atol=1e-15, err_msg=k)


@pytest.mark.parametrize("name", ["adam", "rmsprop-momentum", "adagrad"])
def test_penalty_makes_sparse_lazy(name):
    """With penalty="l2" even the exact rules touch only stored coordinates."""
    opt, eta0 = _opt(name)
    Xd, y = _data("reg", False)
    Xs = sp.csr_matrix(Xd)
    kw = dict(penalty="l2", alpha=0.1)
    sparse = _estimator("reg", opt, eta0, **kw).partial_fit(Xs, y)
    dense = _estimator("reg", opt, eta0, **kw).partial_fit(Xd, y)
    _assert_matches_reference(sparse, reference_regressor(Xs, y, opt, eta0=eta0, lazy=True, **kw))
    _assert_matches_reference(dense, reference_regressor(Xs, y, opt, eta0=eta0, lazy=False, **kw))
    assert not np.allclose(sparse.coef_, dense.coef_, rtol=1e-6, atol=0)


def test_sparse_then_dense_keeps_decay_exact():
    """RMSprop / Adadelta catch up their decay on the next touch, also when
    the next touch is a dense row of a later call."""
    Xd, y = _data("reg", False)
    for name in ("rmsprop-centered", "adadelta"):
        opt, eta0 = _opt(name)
        mixed = _estimator("reg", opt, eta0)
        mixed.partial_fit(sp.csr_matrix(Xd[:50]), y[:50])
        mixed.partial_fit(Xd[50:], y[50:])
        dense = _estimator("reg", opt, eta0).partial_fit(Xd, y)
        a, b = _full_state(dense), _full_state(mixed)
        for k in a:
            assert_allclose(b[k], a[k], rtol=1e-12, atol=1e-15, err_msg=f"{name}: {k}")


# --------------------------------------------------------------------------
# 4. chunk invariance, fit vs partial_fit, fit resets, warm_start
# --------------------------------------------------------------------------

# every registry rule but plain SGD (whose chunking is tested against
# scikit-learn's loop elsewhere), and the parameter variants
CHUNK_IDS = [name for name in OPT_IDS if name != "sgd"]


@pytest.mark.parametrize("average", [False, 7], ids=["noavg", "avg7"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", CHUNK_IDS)
def test_chunk_invariance_bitwise(name, sparse, average):
    opt, eta0 = _opt(name)
    X, y = _data("reg", sparse)
    kw = dict(average=average, penalty="elasticnet", alpha=0.01, l1_ratio=0.3)
    whole = _estimator("reg", opt, eta0, **kw).partial_fit(X, y)
    for splits in ([1, 5, 6, 40], [33], list(range(1, 80, 9))):
        est = _estimator("reg", opt, eta0, **kw)
        bounds = [0] + splits + [X.shape[0]]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            est.partial_fit(X[a:b], y[a:b])
        assert_same_model(whole, est, check_progressive_loss=True)
        _assert_same_full_state(_full_state(whole), _full_state(est))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", ["adam", "rmsprop-centered", "nadam", "vw"])
def test_chunk_invariance_classifier_ovr(name, sparse):
    opt, eta0 = _opt(name)
    X, y = _data("hinge3", sparse)
    classes = np.unique(y)
    whole = _estimator("hinge3", opt, eta0, average=3).partial_fit(X, y, classes=classes)
    est = _estimator("hinge3", opt, eta0, average=3)
    for a, b in ((0, 2), (2, 31), (31, 80)):
        est.partial_fit(X[a:b], y[a:b], classes=classes)
    assert_same_model(whole, est, check_progressive_loss=True)
    _assert_same_full_state(_full_state(whole), _full_state(est))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", ["adam", "rmsprop-momentum", "adadelta", "ftrl", "nadam", "vw"])
@pytest.mark.parametrize("task", ["reg", "hinge3"])
def test_fit_one_epoch_equals_partial_fit(task, name, sparse):
    opt, eta0 = _opt(name)
    X, y = _data(task, sparse)
    fit_kw = {} if task == "reg" else {"classes": np.unique(y)}
    a = _estimator(task, opt, eta0, average=5, max_iter=1, tol=None).fit(X, y)
    b = _estimator(task, opt, eta0, average=5).partial_fit(X, y, **fit_kw)
    assert_same_model(a, b, check_progressive_loss=True)
    _assert_same_full_state(_full_state(a), _full_state(b))


@pytest.mark.parametrize("name", ["adam", "rmsprop-momentum", "nadam", "vw"])
def test_fit_resets_state_and_warm_start_restarts_from_coef(name):
    opt, eta0 = _opt(name)
    X, y = _data("reg", False)
    a = _estimator("reg", opt, eta0, max_iter=2, tol=None)
    a.fit(X, y)
    first = _full_state(a)
    a.partial_fit(X, y)  # state carried across partial_fit...
    a.fit(X, y)          # ...and reset by fit
    _assert_same_full_state(first, _full_state(a))

    warm = _estimator("reg", opt, eta0, max_iter=2, tol=None, warm_start=True)
    warm.fit(X, y)
    coef, intercept = warm.coef_.copy(), warm.intercept_.copy()
    warm.fit(X, y)
    cold = _estimator("reg", opt, eta0, max_iter=2, tol=None)
    cold.fit(X, y, coef_init=coef, intercept_init=intercept)
    assert_same_model(warm, cold)
    _assert_same_full_state(_full_state(warm), _full_state(cold))


# --------------------------------------------------------------------------
# 6. spec objects, strings, errors
# --------------------------------------------------------------------------

# the strings as the documentation defines them: they keep this meaning (the
# registry may add strings; test_string_equals_object covers every one)
DOCUMENTED_STRINGS = {
    "sgd": SGD(),
    "momentum": SGD(momentum=0.9),
    "nesterov": SGD(momentum=0.9, nesterov=True),
    "adagrad": Adagrad(),
    "rmsprop": RMSprop(),
    "adadelta": Adadelta(),
    "adam": Adam(),
    "adamw": AdamW(),
    "amsgrad": Adam(amsgrad=True),
    "adamax": Adamax(),
    "nadam": NAdam(),
    "ftrl": FTRL(),
}


def test_string_names_are_the_registry_strings():
    assert _registry.optimizer_strings() == optim.OPTIMIZER_NAMES
    strings = [s for entry in _registry.optimizers() for s in entry.strings]
    assert sorted(strings) == sorted(optim.OPTIMIZER_NAMES)
    assert list(optim.OPTIMIZER_NAMES[:len(DOCUMENTED_STRINGS)]) == list(DOCUMENTED_STRINGS)
    for string, obj in DOCUMENTED_STRINGS.items():
        assert optim.resolve(string) == obj, string


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("string", _registry.optimizer_strings())
def test_string_equals_object(string, sparse):
    entry, kwargs = _registry.optimizer_for_string(string)
    obj = entry.spec(**kwargs)
    assert optim.resolve(string) == obj
    assert optim.resolve(string) is not optim.resolve(string)  # a new object each time
    X, y = _data("log2", sparse, n=30)
    classes = np.unique(y)
    a = _estimator("log2", string, 0.05).partial_fit(X, y, classes=classes)
    b = _estimator("log2", clone(obj), 0.05).partial_fit(X, y, classes=classes)
    assert_same_model(a, b, check_progressive_loss=True)
    _assert_same_full_state(_full_state(a), _full_state(b))


@pytest.mark.parametrize("make,match", [
    (lambda: Adam(betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    (lambda: Adam(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (lambda: Adam(betas=(0.9,)), "betas"),
    (lambda: Adam(eps=-1.0), "epsilon"),
    (lambda: Adam(eps=float("nan")), "epsilon"),
    (lambda: Adam(amsgrad="yes"), "amsgrad"),
    (lambda: AdamW(weight_decay=-0.1), "weight_decay"),
    (lambda: SGD(momentum=-0.5), "momentum"),
    (lambda: SGD(nesterov=True), "Nesterov"),
    (lambda: SGD(momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda: Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (lambda: Adagrad(eps=-1.0), "epsilon"),
    (lambda: RMSprop(alpha=1.5), "alpha"),
    (lambda: RMSprop(momentum=-1.0), "momentum"),
    (lambda: RMSprop(centered=1), "centered"),
    (lambda: Adadelta(rho=-0.1), "rho"),
    (lambda: Adadelta(rho=1.1), "rho"),
    (lambda: Adamax(betas=(0.9, 1.0)), "Invalid beta parameter at index 1"),
    (lambda: NAdam(momentum_decay=-1.0), "momentum_decay"),
    (lambda: FTRL(l1=-1.0), "l1"),
    (lambda: FTRL(beta=float("inf")), "beta"),
])
def test_spec_validates_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_spec_equality_hash_repr():
    assert Adam() == Adam()
    assert Adam(betas=[0.9, 0.999]) == Adam()
    assert Adam() != Adam(eps=1e-7)
    assert Adam() != AdamW()
    assert Adam() != "adam"
    assert SGD(momentum=0.9) != SGD(momentum=0.9, nesterov=True)
    assert len({Adam(), Adam(), Adagrad(), AdamW(), AdamW(weight_decay=0.2)}) == 4
    assert hash(Adam()) == hash(Adam())
    assert hash(Adam(betas=[0.9, 0.999])) == hash(Adam())
    assert repr(Adam()) == "Adam()"
    assert repr(Adam(betas=(0.5, 0.9), amsgrad=True)) == "Adam(betas=(0.5, 0.9), amsgrad=True)"
    assert repr(FTRL(l1=1.0)) == "FTRL(l1=1.0)"
    assert repr(SGD(momentum=0.9, nesterov=True)) == "SGD(momentum=0.9, nesterov=True)"


def test_spec_equal_objects_have_equal_hashes():
    # Python's rule: a == b implies hash(a) == hash(b)
    pairs = [(SGD(momentum=1), SGD(momentum=1.0)),
             (Adam(eps=np.float64(1e-8)), Adam()),
             (FTRL(l1=0), FTRL())]
    for a, b in pairs:
        assert a == b
        assert hash(a) == hash(b), (a, b)


def test_spec_get_set_params_clone():
    a = Adam()
    assert a.get_params() == {"betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False,
                              "bias_correction": True}
    assert AdamW().get_params()["weight_decay"] == 0.01
    assert FTRL().get_params() == {"beta": 1.0, "l1": 0.0, "l2": 0.0}
    assert a.set_params(eps=1e-6, amsgrad=True) is a
    assert a == Adam(eps=1e-6, amsgrad=True)
    c = clone(a)
    assert c == a and c is not a
    c.set_params(eps=1e-3)
    assert a.eps == 1e-6


@pytest.mark.parametrize("params", [
    {"betas": (1.5, 0.9)},
    {"eps": 1e-3, "betas": (0.9, 2.0)},
    {"eps": -1.0, "amsgrad": True},
    {"amsgrad": True, "no_such_parameter": 1},
])
def test_failed_set_params_changes_nothing(params):
    a = Adam(eps=1e-7)
    before = a.get_params()
    with pytest.raises(ValueError):
        a.set_params(**params)
    assert a.get_params() == before
    assert a == Adam(eps=1e-7)


def test_estimator_nested_params_and_clone():
    est = SGDClassifier(optimizer=Adam(), learning_rate="constant")
    params = est.get_params(deep=True)
    assert params["optimizer__betas"] == (0.9, 0.999)
    est.set_params(optimizer__betas=(0.8, 0.99))
    assert est.optimizer == Adam(betas=(0.8, 0.99))
    c = clone(est)
    assert c.optimizer == est.optimizer and c.optimizer is not est.optimizer
    with pytest.raises(ValueError):
        est.set_params(optimizer__betas=(1.0, 0.99))
    assert est.optimizer == Adam(betas=(0.8, 0.99))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_fit_does_not_mutate_spec(sparse):
    opt = RMSprop(momentum=0.5, centered=True)
    before = copy.deepcopy(opt.__dict__)
    X, y = _data("hinge3", sparse)
    est = _estimator("hinge3", opt, 0.01, average=4, max_iter=3, tol=None).fit(X, y)
    est.partial_fit(X, y)
    assert opt.__dict__ == before
    assert est.optimizer is opt


def test_grid_search_over_optimizers():
    X, y = make_classification_data(n_samples=60)
    grid = GridSearchCV(
        SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.05, max_iter=5,
                      tol=None, random_state=0),
        {"optimizer": [Adam(), Adagrad()]}, cv=2,
    )
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 2
    assert grid.best_params_["optimizer"] in (Adam(), Adagrad())
    assert isinstance(grid.best_estimator_.optimizer_state_, dict)
    assert np.all(np.isfinite(grid.best_estimator_.coef_))


@pytest.mark.parametrize("bad", ["adamm", "Adam", "", "sgd "])
def test_unknown_optimizer_string(bad):
    X, y = _data("reg", False, n=10)
    est = SGDRegressor(optimizer=bad)
    with pytest.raises(ValueError, match="optimizer"):
        est.fit(X, y)
    with pytest.raises(ValueError, match="optimizer"):
        SGDRegressor(optimizer=bad).partial_fit(X, y)
    assert not hasattr(est, "coef_")


@pytest.mark.parametrize("bad", [3, None, Adam, object(), {"name": "adam"}])
def test_optimizer_of_wrong_type(bad):
    X, y = _data("reg", False, n=10)
    with pytest.raises((TypeError, ValueError)):
        SGDRegressor(optimizer=bad).fit(X, y)
    with pytest.raises((TypeError, ValueError)):
        SGDRegressor(optimizer=bad).partial_fit(X, y)


@pytest.mark.parametrize("lr", ["pa1", "pa2"])
@pytest.mark.parametrize("optimizer", ["adam", Adagrad(), "momentum"])
def test_pa_rates_rejected_with_optimizers(optimizer, lr):
    X, y = _data("log2", False, n=20)
    Xr, yr = _data("reg", False, n=20)
    for make, Xi, yi, kw in (
        (lambda: SGDClassifier(loss="hinge", learning_rate=lr, optimizer=optimizer), X, y,
         {"classes": np.unique(y)}),
        (lambda: SGDRegressor(loss="epsilon_insensitive", learning_rate=lr, optimizer=optimizer),
         Xr, yr, {}),
    ):
        with pytest.raises(ValueError):
            make().fit(Xi, yi)
        with pytest.raises(ValueError):
            make().partial_fit(Xi, yi, **kw)


def test_pa_rate_switched_on_mid_stream_is_rejected():
    X, y = _data("reg", False, n=30)
    est = SGDRegressor(loss="epsilon_insensitive", optimizer="adam", learning_rate="constant",
                       shuffle=False).partial_fit(X, y)
    before = _full_state(est)
    est.set_params(learning_rate="pa1")
    with pytest.raises(ValueError):
        est.partial_fit(X, y)
    _assert_same_full_state(before, _full_state(est))


@pytest.mark.parametrize("name", ["adam", "adagrad", "momentum"])
def test_optimal_means_constant_for_other_optimizers(name):
    opt, _ = _opt(name)
    X, y = _data("hinge3", False)
    a = _estimator("hinge3", clone(opt), 0.03, learning_rate="optimal", alpha=0.01)
    b = _estimator("hinge3", clone(opt), 0.03, learning_rate="constant", alpha=0.01)
    a.fit(X, y)
    b.fit(X, y)
    assert_same_model(a, b)
    assert a.lr_ == 0.03


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("other", ["adagrad", "sgd", RMSprop(centered=True), SGD(momentum=0.5)])
def test_changing_optimizer_between_partial_fit_calls(other, sparse):
    X, y = _data("hinge3", sparse)
    classes = np.unique(y)
    est = _estimator("hinge3", "rmsprop", 0.01, average=3)
    est.partial_fit(X[:40], y[:40], classes=classes)
    before = _full_state(est)
    est.set_params(optimizer=other)
    with pytest.raises(ValueError, match="optimizer"):
        est.partial_fit(X[40:], y[40:])
    _assert_same_full_state(before, _full_state(est))
    # back to the original rule: as if the failed call never happened
    est.set_params(optimizer="rmsprop")
    est.partial_fit(X[40:], y[40:])
    whole = _estimator("hinge3", "rmsprop", 0.01, average=3).partial_fit(X, y, classes=classes)
    _assert_same_full_state(_full_state(whole), _full_state(est))


def test_optimizer_state_empty_for_plain_sgd():
    X, y = _data("reg", False, n=20)
    est = SGDRegressor(learning_rate="constant", shuffle=False).partial_fit(X, y)
    assert est.optimizer_state_ == {}


# --------------------------------------------------------------------------
# 7. float32
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name", CHUNK_IDS)
@pytest.mark.parametrize("task", ["reg", "hinge3"])
def test_float32(task, name, sparse):
    opt, eta0 = _opt(name)
    X64, y = _data(task, sparse)
    X32 = X64.astype(np.float32)
    fit_kw = {} if task == "reg" else {"classes": np.unique(y)}
    y32 = y.astype(np.float32) if task == "reg" else y
    e32 = _estimator(task, opt, eta0, average=10).partial_fit(X32, y32, **fit_kw)
    e64 = _estimator(task, opt, eta0, average=10).partial_fit(X64, y, **fit_kw)
    assert e32.coef_.dtype == np.float32
    assert e32.intercept_.dtype == np.float32
    assert_allclose(e32.coef_, e64.coef_, rtol=1e-4, atol=1e-5)
    assert_allclose(e32.intercept_, e64.intercept_, rtol=1e-4, atol=1e-5)
    s32, s64 = e32.optimizer_state_, e64.optimizer_state_
    assert set(s32) == set(s64)
    scalars = {n for n, _ in optim.resolve(opt).scalar_state()}
    for k in s64:
        # the rule's scalar state (step counts, sums) is kept in float64
        assert s32[k].dtype == (np.float64 if k in scalars else np.float32), (k, s32[k].dtype)
        assert_allclose(s32[k], s64[k], rtol=1e-4, atol=1e-6 * max(1.0, np.abs(s64[k]).max()),
                        err_msg=k)


# --------------------------------------------------------------------------
# 8. divergence
# --------------------------------------------------------------------------


def _all_finite(est):
    return (np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
            and all(np.all(np.isfinite(v)) for v in est.optimizer_state_.values())
            and np.isfinite(est.progressive_loss_))


@pytest.mark.parametrize("n_rows", [1, 2, 40])
@pytest.mark.parametrize("dtype,eta0", [
    (np.float64, 1e10), (np.float64, 1e100), (np.float64, 1e200), (np.float64, 1e300),
    (np.float32, 1e10), (np.float32, 1e30), (np.float32, 1e38), (np.float32, 1e100),
], ids=lambda v: getattr(v, "__name__", repr(v)))
@pytest.mark.parametrize("name", ["adam", "nadam", "rmsprop-momentum"])
def test_divergence_is_consistent(name, dtype, eta0, n_rows):
    """With a huge rate: either the call succeeds and everything is finite,
    or it raises DivergenceError and the model is bitwise as before."""
    opt, _ = _opt(name)
    X, y = make_regression_data(n_samples=60, dtype=dtype)
    est = SGDRegressor(optimizer=opt, learning_rate="constant", eta0=0.01, shuffle=False)
    est.partial_fit(X[:20], y[:20])
    before = _full_state(est)
    est.set_params(eta0=eta0)
    try:
        with np.errstate(all="ignore"):
            est.partial_fit(X[20:20 + n_rows], y[20:20 + n_rows])
    except DivergenceError:
        _assert_same_full_state(before, _full_state(est))
    else:
        with np.errstate(all="ignore"):
            assert _all_finite(est), (est.coef_, est.intercept_, est.optimizer_state_)

    fresh = SGDRegressor(optimizer=opt, learning_rate="constant", eta0=eta0, shuffle=False,
                         max_iter=3, tol=None)
    try:
        with np.errstate(all="ignore"):
            fresh.fit(X[:n_rows], y[:n_rows])
    except DivergenceError:
        assert not hasattr(fresh, "coef_")
    else:
        with np.errstate(all="ignore"):
            assert _all_finite(fresh)


# --------------------------------------------------------------------------
# 9. the registry: every row tested, and read by the CLI and persistence
# --------------------------------------------------------------------------


@pytest.mark.parametrize("entry", _registry.optimizers(), ids=lambda e: e.name)
def test_every_optimizer_has_a_reference(entry):
    """A registry row needs its NumPy reference in _reference_optim.REFERENCES,
    which then runs on at least one of the row's cases."""
    assert entry.name in REFERENCES, (
        f"{entry.name} has no NumPy reference: add one to tests/_reference_optim.py")
    assert any(type(opt) is entry.spec for _, opt, _ in OPTIMIZERS), entry.name


@pytest.mark.parametrize("entry", [e for e in _registry.optimizers() if e.torch is not None],
                         ids=lambda e: e.name)
def test_every_torch_twin_is_checked(entry):
    assert any(e is entry for _, e, _ in TORCH_CASES), entry.name
    torch = pytest.importorskip("torch")
    assert issubclass(_torch_class(entry.torch), torch.optim.Optimizer)


def test_registry_rules_are_the_kernel_rules():
    from streamlr._kernels import kernel

    rules = {rule for entry in _registry.optimizers() for rule in entry.kernel_rules()}
    assert rules == set(kernel.OPTIMIZERS)
    for entry in _registry.optimizers():
        assert issubclass(entry.spec, optim.Optimizer) and entry.spec.__name__ == entry.name
        assert entry.name in optim.__all__ and getattr(optim, entry.name) is entry.spec


ROUND_TRIP = [(s, _registry.optimizer_for_string(s)[0].build(s))
              for s in _registry.optimizer_strings()] + VARIANTS


@pytest.mark.parametrize("name,opt", ROUND_TRIP, ids=[c[0] for c in ROUND_TRIP])
def test_optimizer_round_trips_through_the_cli(name, opt):
    if name in _registry.optimizer_strings():
        assert parse_optimizer(name) == name
        assert parse_optimizer(name.upper()) == name
    params = ",".join(f"{k}={v!r}" for k, v in opt.get_params(deep=False).items())
    for text in (f"{type(opt).__name__}:{params}", f"{type(opt).__name__.lower()}:{params}"):
        parsed = parse_optimizer(text)
        assert type(parsed) is type(opt) and parsed == opt, text


@pytest.mark.parametrize("name,opt", ROUND_TRIP, ids=[c[0] for c in ROUND_TRIP])
def test_optimizer_round_trips_through_save_and_load(name, opt, tmp_path):
    X, y = _data("hinge3", False)
    classes = np.unique(y)
    for optimizer in (clone(opt), name) if name in _registry.optimizer_strings() else (opt,):
        est = _estimator("hinge3", optimizer, 0.01, average=5)
        est.partial_fit(X[:50], y[:50], classes=classes)
        path = tmp_path / f"{name}.npz"
        streamlr.save(est, path)
        loaded = streamlr.load(path)
        assert type(loaded.optimizer) is type(est.optimizer)
        assert loaded.optimizer == est.optimizer
        _assert_same_full_state(_full_state(est), _full_state(loaded))
        est.partial_fit(X[50:], y[50:])
        loaded.partial_fit(X[50:], y[50:])
        _assert_same_full_state(_full_state(est), _full_state(loaded))


def test_spec_classes_are_the_persistence_whitelist():
    classes = _registry.spec_classes()
    # the classes a model file may name (save/load of each: the round trips above)
    whitelist = persistence._specs() if hasattr(persistence, "_specs") else persistence._SPECS
    assert classes == whitelist
    assert list(classes)[:len(_registry.optimizers())] == [e.name for e in _registry.optimizers()]


# --------------------------------------------------------------------------
# a rule without a rate (COCOB)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", [Constant(0.1), InverseScaling(0.1, 0.5)],
                         ids=["constant", "invscaling"])
def test_rule_without_rate_refuses_a_schedule(schedule):
    X, y = make_regression_data(n_samples=20)
    est = SGDRegressor(optimizer=COCOB(), learning_rate=schedule)
    with pytest.raises(ValueError, match="COCOB has no learning rate"):
        est.partial_fit(X, y)
    assert not hasattr(est, "coef_")
    fitted = SGDRegressor(optimizer="cocob").partial_fit(X, y)
    coef = fitted.coef_.copy()
    fitted.set_params(learning_rate=schedule)
    with pytest.raises(ValueError, match="COCOB has no learning rate"):
        fitted.partial_fit(X, y)
    assert_array_equal(fitted.coef_, coef)


@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_rule_without_rate_ignores_eta0(sparse, penalty):
    X, y = _data("log2", sparse)
    fits = [SGDClassifier(optimizer=COCOB(), learning_rate=lr, eta0=eta0, penalty=penalty,
                          shuffle=False, max_iter=3, tol=None).fit(X, y)
            for lr, eta0 in (("constant", 1e-3), ("constant", 5.0), ("invscaling", 0.7),
                             ("optimal", 0.01))]
    for est in fits[1:]:
        assert_array_equal(est.coef_, fits[0].coef_)
        assert_array_equal(est.intercept_, fits[0].intercept_)
        for key, value in est.optimizer_state_.items():
            assert_array_equal(value, fits[0].optimizer_state_[key], err_msg=key)

