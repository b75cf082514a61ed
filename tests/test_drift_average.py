"""Averaging (``average``, ASGD) with a drift detector.

The rule: a restart (or reset) on drift starts the average again, as in a
model made from the current weights (``coef_init``, ``intercept_init``): the
average takes the iterates from update ``average`` of the restarted clock on,
and the model serves its current weights until then.

* The model restarted at its detections equals, bitwise, a chain of models
  fit on the segments between them, each made from the previous one's
  (non-averaged) weights; plain SGD and Adam, dense and CSR, regression,
  binary and one-vs-rest.
* A NumPy reference of plain ASGD restarted at the detections.
* Any chunking and ``learn_one``, save/load mid-stream and a failed call
  change nothing.
"""
import _streams
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlr import SGDClassifier, SGDRegressor, load, save
from streamlr.drift import ADWIN, PageHinkley
from streamlr.linear_model._state import SLOTS


def drifting(task, n=900, d=6, seed=0, flips=(0.35, 0.7)):
    """A stream whose concept changes abruptly at the fractions ``flips``."""
    return _streams.drifting(task, n, d, seed, 3, flips, scale=2.0)


def _estimator(task, optimizer, average, **kw):
    if task == "regression":
        return SGDRegressor(optimizer=optimizer, learning_rate="constant", eta0=0.01,
                            average=average, shuffle=False, **kw)
    return SGDClassifier(loss="log_loss", optimizer=optimizer, learning_rate="constant",
                         eta0=0.05, average=average, shuffle=False, **kw)


def _detector(task):
    if task == "regression":
        return PageHinkley(min_instances=30, threshold=20.0)
    return PageHinkley(min_instances=60, threshold=6.0, mode="up")


def _current(est):
    coef, intercept = est._model.materialize(averaged=False)
    return coef.copy(), intercept.copy()


def _chain(task, optimizer, average, X, y, cuts, on_drift, **kw):
    """Models fit on the segments between ``cuts``, each made from the
    previous one's current weights (zeros for a reset)."""
    edges = [0, *cuts, X.shape[0]]
    coef = intercept = None
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        model = _estimator(task, optimizer, average, max_iter=1, tol=None, **kw)
        model.fit(X[lo:hi], y[lo:hi], coef_init=coef, intercept_init=intercept)
        coef, intercept = _current(model)
        if on_drift == "reset":
            coef, intercept = np.zeros_like(coef), np.zeros_like(intercept)
    return model


@pytest.mark.parametrize("task", ["regression", "binary", "ovr"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("average", [True, 40])
@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("sparse", [False, True])
def test_restart_equals_a_chain_of_models_made_from_the_weights(task, optimizer, average,
                                                                penalty, sparse):
    X, y = drifting(task, seed=1)
    Xin = sp.csr_matrix(X) if sparse else X
    kw = {"penalty": penalty, "alpha": 1e-3}
    est = _estimator(task, optimizer, average, drift_detector=_detector(task), **kw)
    fit_kw = {} if task == "regression" else {"classes": np.unique(y)}
    est.partial_fit(Xin, y, **fit_kw)
    cuts = list(est.drifts_)
    assert len(cuts) >= 2
    chain = _chain(task, optimizer, average, Xin, y, cuts, "restart", **kw)
    np.testing.assert_array_equal(est.coef_, chain.coef_)
    np.testing.assert_array_equal(est.intercept_, chain.intercept_)
    np.testing.assert_array_equal(_current(est)[0], _current(chain)[0])
    np.testing.assert_array_equal(est.predict(X[:50]), chain.predict(X[:50]))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_reset_equals_a_chain_of_models_started_from_zero(optimizer):
    X, y = drifting("regression", seed=2)
    est = _estimator("regression", optimizer, 20, drift_detector=_detector("regression"),
                     on_drift="reset")
    est.partial_fit(X, y)
    cuts = list(est.drifts_)
    assert len(cuts) >= 2
    chain = _chain("regression", optimizer, 20, X, y, cuts, "reset")
    np.testing.assert_array_equal(est.coef_, chain.coef_)
    np.testing.assert_array_equal(est.intercept_, chain.intercept_)


def _reference_asgd(X, y, eta, average, cuts):
    """Plain SGD (squared loss, no penalty, constant rate) and its average
    over the iterates of updates ``average``, ``average + 1``, ... of the
    clock restarted after each cut; the current weights until then."""
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    cut_set = set(int(c) for c in cuts)
    clock, total, total_b, count = 0, np.zeros(d), 0.0, 0
    for i in range(n):
        g = (X[i] @ w + b) - y[i]
        w = w - eta * g * X[i]
        b = b - eta * g
        clock += 1
        if clock >= average:
            total, total_b, count = total + w, total_b + b, count + 1
        if i + 1 in cut_set:
            clock, total, total_b, count = 0, np.zeros(d), 0.0, 0
    if count == 0:
        return w, b
    return total / count, total_b / count


@pytest.mark.parametrize("average", [1, 25, 10_000])
def test_plain_asgd_matches_a_numpy_reference(average):
    X, y = drifting("regression", seed=3)
    est = SGDRegressor(learning_rate="constant", eta0=0.01, penalty=None, average=average,
                       shuffle=False, drift_detector=_detector("regression"))
    est.partial_fit(X, y)
    assert len(est.drifts_) >= 2
    coef, intercept = _reference_asgd(X, y, 0.01, average, est.drifts_)
    np.testing.assert_allclose(est.coef_, coef, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(est.intercept_[0], intercept, rtol=1e-12, atol=1e-12)


def test_the_model_serves_its_current_weights_until_the_average_starts_again():
    X, y = drifting("regression", n=500, seed=3)
    est = SGDRegressor(learning_rate="constant", eta0=0.01, average=10, shuffle=False,
                       drift_detector=_detector("regression"))
    seen = set()
    for i in range(X.shape[0]):
        est.learn_one(X[i], y[i])
        since = est.t_ - 1 - est._model.scalars[0, SLOTS["clock0"]]    # updates since a restart
        same = np.array_equal(est.coef_, _current(est)[0][0])
        assert same == (since <= 10), since     # one iterate averaged: the current weights
        seen.add(min(int(since), 12))
    assert len(est.drifts_) >= 2 and seen == set(range(13))


def _same(a, b):
    for name in ("weight_blocks", "average_weights", "scalars", "intercept_block", "last_update",
                 "drift_state", "drifts", "schedule_state"):
        np.testing.assert_array_equal(getattr(a._model, name), getattr(b._model, name),
                                      err_msg=name)


@settings(max_examples=20, deadline=None)
@given(task=st.sampled_from(["binary", "ovr", "regression"]),
       optimizer=st.sampled_from(["sgd", "adam"]), average=st.sampled_from([True, 7]),
       on_drift=st.sampled_from(["restart", "reset"]), sparse=st.booleans(),
       cuts=st.lists(st.integers(1, 200), min_size=1, max_size=8))
def test_any_chunking_and_learn_one_train_the_same_model(task, optimizer, average, on_drift,
                                                         sparse, cuts):
    X, y = drifting(task, n=600, seed=4)
    X = sp.csr_matrix(X) if sparse else X
    fit_kw = {} if task == "regression" else {"classes": np.unique(y)}
    params = _estimator(task, optimizer, average, penalty="l2", alpha=1e-3,
                        drift_detector=_detector(task), on_drift=on_drift).get_params(deep=False)
    cls = SGDRegressor if task == "regression" else SGDClassifier
    one = cls(**params).partial_fit(X, y, **fit_kw)
    assert len(one.drifts_) > 0
    chunked = cls(**params)
    edges = np.unique(np.clip(np.cumsum([0, *cuts]), 0, X.shape[0]))
    edges = np.append(edges, X.shape[0]) if edges[-1] != X.shape[0] else edges
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        chunked.partial_fit(X[lo:hi], y[lo:hi], **fit_kw)
    _same(one, chunked)
    single = cls(**params)
    for i in range(X.shape[0]):
        single.learn_one(X[i], y[i], **fit_kw)
    _same(one, single)


@pytest.mark.parametrize("task", ["binary", "ovr", "regression"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_resumes_bitwise(task, optimizer, dtype, tmp_path):
    X, y = drifting(task, seed=5)
    X = X.astype(dtype)
    fit_kw = {} if task == "regression" else {"classes": np.unique(y)}
    est = _estimator(task, optimizer, 10, drift_detector=ADWIN(clock=4, delta=0.3))
    whole = est.__class__(**est.get_params(deep=False)).partial_fit(X, y, **fit_kw)
    assert len(whole.drifts_) >= 1
    est.partial_fit(X[:333], y[:333], **fit_kw)
    save(est, tmp_path / "m.streamlr")
    loaded = load(tmp_path / "m.streamlr")
    _same(est, loaded)
    loaded.partial_fit(X[333:], y[333:], **fit_kw)
    _same(whole, loaded)
    np.testing.assert_array_equal(whole.coef_, loaded.coef_)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("rows", [40, 300])     # the bound engine, the general path
@pytest.mark.parametrize("wide", [False, True])
def test_a_failed_call_after_a_restart_changes_nothing(optimizer, average, rows, wide):
    X, y = drifting("regression", n=700, d=20, seed=6)
    X[np.abs(X) < 0.8] = 0.0
    Xs = sp.csr_matrix(X)
    if wide:    # a snapshot of the call's columns only, unless a restart may touch them all
        Xs = sp.hstack([Xs, sp.csr_matrix((X.shape[0], 2 ** 18))], format="csr")
    params = dict(optimizer=optimizer, learning_rate="constant", eta0=0.01, average=average,
                  penalty="l2", alpha=1e-3, shuffle=False)
    # the detector joins after 300 rows: the columns the failing call does not
    # touch hold optimizer state (slots, stamps, averages) that a restart puts back
    est = SGDRegressor(**params).partial_fit(Xs[:299], y[:299])
    est.set_params(drift_detector=_detector("regression")).partial_fit(Xs[299:300], y[299:300])
    names = ("weight_blocks", "average_weights", "scalars", "drift_state", "drifts",
             "last_update")
    before = {name: getattr(est._model, name).copy() for name in names}
    # the call touches columns 0-4 only; its targets jump (drift), its last one overflows
    keep = np.zeros(Xs.shape[1])
    keep[:5] = 1.0
    Xb = sp.csr_matrix(Xs[300:300 + rows].multiply(keep))
    Xb.eliminate_zeros()
    yb = y[300:300 + rows] + 50.0 * np.sign(y[300:300 + rows])
    yb[-1] = 1e308
    probe = SGDRegressor(**params).partial_fit(Xs[:299], y[:299])
    probe.set_params(drift_detector=_detector("regression")).partial_fit(Xs[299:300], y[299:300])
    n_before = len(probe.drifts_)
    probe.partial_fit(Xb[:-1], yb[:-1])
    assert len(probe.drifts_) > n_before    # the failing call restarts before it fails
    with pytest.raises(ValueError):
        est.partial_fit(Xb, yb)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(est._model, name), value, err_msg=name)


def test_on_drift_none_averages_as_without_a_detector():
    X, y = drifting("regression", seed=7)
    plain = SGDRegressor(average=5, shuffle=False).partial_fit(X, y)
    watched = SGDRegressor(average=5, shuffle=False, drift_detector=_detector("regression"),
                           on_drift="none").partial_fit(X, y)
    assert len(watched.drifts_) > 0
    np.testing.assert_array_equal(plain.coef_, watched.coef_)
    np.testing.assert_array_equal(plain.intercept_, watched.intercept_)
