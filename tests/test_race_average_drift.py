"""A rate race (``learning_rate="auto"``) with ``average`` and a drift detector.

On drift every copy still in the race restarts as a single model does
(tests/test_drift_average.py): its average starts again, from update
``average`` of its restarted clock on, and the race re-opens. A copy that
left the race (it diverged) never reacts; whether the model serves its
averaged weights follows the copies still in the race.

``optimizer="auto"`` with ``average`` (and a detector) is in
tests/test_auto_average.py. Rollback of a failed call is in
tests/test_drift_snapshot.py.
"""
import numpy as np
import pytest
import scipy.sparse as sp
from test_drift_average import drifting

from streamlr import SGDClassifier, SGDRegressor, load, save
from streamlr.drift import ADWIN
from streamlr.linear_model._state import RACE_OUT, SLOTS

RATES = (1e-3, 1e-2, 1e-1)
STATE = ("weight_blocks", "average_weights", "scalars", "intercept_block", "last_update",
         "drift_state", "drifts", "schedule_state")


def _make(task, average, sparse=False, **kw):
    X, y = drifting("ovr" if task == "ovr" else task, n=700, seed=0, flips=(0.3, 0.6))
    params = dict(optimizer="adam", learning_rate="auto", auto_rates=RATES, average=average,
                  shuffle=False, penalty=None, drift_detector=ADWIN(clock=4, delta=0.3))
    params.update(kw)
    if task == "regression":
        est, fit_kw = SGDRegressor(**params), {}
    else:
        est, fit_kw = SGDClassifier(loss="log_loss", **params), {"classes": np.unique(y)}
    return est, (sp.csr_matrix(X) if sparse else X), y, fit_kw


def _same(a, b):
    for name in STATE:
        np.testing.assert_array_equal(getattr(a._model, name), getattr(b._model, name),
                                      err_msg=name)


def _fresh(est):
    return est.__class__(**est.get_params(deep=False))


@pytest.mark.parametrize("task", ["binary", "ovr", "regression"])
@pytest.mark.parametrize("average", [True, 10])
@pytest.mark.parametrize("sparse", [False, True])
def test_any_chunking_and_learn_one_train_the_same_model(task, average, sparse):
    est, X, y, fit_kw = _make(task, average, sparse)
    one = _fresh(est).partial_fit(X, y, **fit_kw)
    assert len(one.drifts_) >= 2
    chunked = _fresh(est)
    for lo, hi in ((0, 3), (3, 100), (100, 101), (101, 460), (460, 700)):
        chunked.partial_fit(X[lo:hi], y[lo:hi], **fit_kw)
    _same(one, chunked)
    events = _fresh(est)
    for i in range(X.shape[0]):
        events.learn_one(X[i], y[i], **fit_kw)
    _same(one, events)
    np.testing.assert_array_equal(one.predict(X[:50]), events.predict(X[:50]))


@pytest.mark.parametrize("task", ["binary", "ovr", "regression"])
def test_every_copy_in_the_race_restarts_its_average(task):
    est, X, y, fit_kw = _make(task, 20)
    first = int(_fresh(est).partial_fit(X, y, **fit_kw).drifts_[0])
    est.partial_fit(X[:first], y[:first], **fit_kw)     # ends on the row that flagged
    assert list(est.drifts_) == [first]
    scal = est._model.scalars
    racing = scal[:, SLOTS["race_status"]] != RACE_OUT
    assert racing.any()
    np.testing.assert_array_equal(est._model.average_weights[racing], 0.0)
    np.testing.assert_array_equal(scal[racing, SLOTS["average_intercept"]],
                                  scal[racing, SLOTS["intercept"]])
    np.testing.assert_array_equal(scal[racing, SLOTS["clock0"]],
                                  scal[racing, SLOTS["t"]] - 1.0)
    # the race serves its copies' current weights until the average starts again
    assert not est._model.averaged()
    current = est._model.materialize(averaged=False)[0]
    np.testing.assert_array_equal(est.coef_.reshape(current.shape), current)


def test_a_copy_that_left_the_race_does_not_decide_what_is_served():
    X, y = drifting("regression", n=600, seed=2)
    est = SGDRegressor(loss="squared_error", optimizer="sgd", learning_rate="auto",
                       auto_rates=(1e300, 1e-4, 1e-3), penalty=None, shuffle=False, average=30,
                       drift_detector=ADWIN(clock=4, delta=0.3))
    one = SGDRegressor(**est.get_params(deep=False)).partial_fit(X, y)
    status = one._model.scalars[:, SLOTS["race_status"]]
    assert status[0] == RACE_OUT and len(one.drifts_) >= 1
    first = int(one.drifts_[0])
    est.partial_fit(X[:first], y[:first])
    assert est._model.scalars[0, SLOTS["race_status"]] == RACE_OUT
    assert not est._model.averaged()      # copy 1's restarted clock, not copy 0's
    pred = est.predict(X[:20])
    assert np.isfinite(pred).all() and np.abs(pred).max() > 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_resumes_bitwise(dtype, tmp_path):
    est, X, y, fit_kw = _make("ovr", True)
    X = X.astype(dtype)
    whole = _fresh(est).partial_fit(X, y, **fit_kw)
    assert len(whole.drifts_) >= 1 and whole.drifts_[-1] > 333
    est.partial_fit(X[:333], y[:333], **fit_kw)
    save(est, tmp_path / "m.streamlr")
    loaded = load(tmp_path / "m.streamlr")
    _same(est, loaded)
    loaded.partial_fit(X[333:], y[333:])
    _same(whole, loaded)

