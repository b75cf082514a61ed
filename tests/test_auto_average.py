"""``optimizer="auto"`` with ``average``: each copy of the race averages as a
model of its own rule alone would (plain SGD's copies by Bottou's formula on
the scaled weights, the other rules by the lazy running mean), and the race
serves the share-weighted mean of the copies' averaged weights.

References: standalone models of each copy's rule and rate with the same
``average`` (bitwise), and the share-weighted sum of their predictions
(tolerance: the served value is a weighted sum in another order).
"""
import numpy as np
import pytest
import scipy.sparse as sp
from _streams import drifting
from test_race_average_drift import STATE, _fresh, _same
from test_rate_race import _auto_members, _standalone, _stream, narrow_early  # noqa: F401

from streamlr import SGDClassifier, SGDRegressor, load, save
from streamlr.drift import ADWIN
from streamlr.linear_model._state import RACE_OUT, SLOTS

# the served value sums the copies' share-weighted values in another order
# than coef_'s mixture or the reference's sum
RTOL = 1e-12


def _make(classification, average, **kw):
    if classification:
        return SGDClassifier(optimizer="auto", loss="log_loss", average=average, penalty=None,
                             shuffle=False, **kw), {"classes": [0, 1]}
    return SGDRegressor(optimizer="auto", average=average, penalty=None, shuffle=False,
                        **kw), {}


@pytest.mark.parametrize("classification", [False, True])
@pytest.mark.parametrize("average", [True, 40])
@pytest.mark.parametrize("sparse", [False, True])
def test_each_copy_averages_as_its_rule_alone_and_the_race_serves_their_mixture(
        classification, average, sparse):
    X, y = _stream(n=250, classification=classification)
    if sparse:   # rows that leave coordinates untouched: the lazy averages catch up
        X = sp.csr_matrix(X * (np.random.default_rng(3).random(X.shape) < 0.4))
    race, fit_kw = _make(classification, average)
    race.partial_fit(X, y, **fit_kw)
    model = race._model
    assert model.averaged()
    members, _ = _auto_members()
    coefs, intercepts = [], []
    for c, (name, rate) in enumerate(members):
        alone = _standalone(type(race), name, rate, race.loss, penalty=None, average=average)
        for i in range(X.shape[0]):
            alone.partial_fit(X[i:i + 1], y[i:i + 1], **fit_kw)
        coef, intercept = model.model(c, True, model.average)
        np.testing.assert_array_equal(coef, alone.coef_.ravel(), err_msg=f"{name} {rate}")
        assert intercept == np.ravel(alone.intercept_)[0], (name, rate)
        np.testing.assert_array_equal(model.w[c], alone._model.w[0])   # the raw weights too
        coefs.append(coef)
        intercepts.append(intercept)
    share = race.rate_race_["weights"][0]
    np.testing.assert_allclose(race.coef_.ravel(), share @ np.array(coefs), rtol=1e-10,
                               atol=1e-14)
    rows = X[:20].toarray() if sparse else X[:20]
    expected = np.array([share @ (np.array(coefs) @ x + np.array(intercepts)) for x in rows])
    served = race.decision_function(rows) if classification else race.predict(rows)
    np.testing.assert_allclose(served, expected, rtol=RTOL, atol=1e-13)
    # one prediction routine: one row, an event and a whole array agree bitwise
    for i in range(3):
        one = (race.decision_function(rows[i:i + 1]) if classification
               else race.predict(rows[i:i + 1]))
        assert one[0] == served[i]
        if not classification:
            assert race.predict_one(rows[i]) == served[i]


@pytest.mark.parametrize("classification", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.usefixtures("narrow_early")
def test_any_chunking_learn_one_and_save_load_train_the_same_model(
        classification, sparse, dtype, tmp_path):
    X, y = _stream(n=260, classification=classification)
    X = X.astype(dtype)
    Xs = sp.csr_matrix(X) if sparse else X
    est, fit_kw = _make(classification, 30)
    one = _fresh(est).partial_fit(Xs, y, **fit_kw)
    status = one._model.scalars[:, SLOTS["race_status"]]
    assert (status != RACE_OUT).sum() == len(status)       # nothing diverged ...
    assert np.isfinite(one.coef_).all() and one._model.averaged()
    chunked = _fresh(est)
    for lo, hi in ((0, 2), (2, 49), (49, 51), (51, 140), (140, 260)):
        chunked.partial_fit(Xs[lo:hi], y[lo:hi], **fit_kw)
    _same(one, chunked)
    events = _fresh(est)
    for i in range(X.shape[0]):
        events.learn_one(Xs[i] if sparse else X[i], y[i], **fit_kw)
    _same(one, events)
    np.testing.assert_array_equal(one.coef_, events.coef_)
    half = _fresh(est).partial_fit(Xs[:130], y[:130], **fit_kw)
    save(half, tmp_path / "m.streamlr")
    back = load(tmp_path / "m.streamlr")
    _same(half, back)
    back.partial_fit(Xs[130:], y[130:])
    _same(one, back)
    served = one.decision_function(X[:30]) if classification else one.predict(X[:30])
    np.testing.assert_array_equal(
        served, back.decision_function(X[:30]) if classification else back.predict(X[:30]))


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_a_drift_restarts_every_racing_copys_average(task):
    X, y = drifting(task, n=700, d=5, seed=0, flips=(0.3, 0.6))
    est, fit_kw = _make(task == "binary", 20, drift_detector=ADWIN(clock=4, delta=0.3))
    whole = _fresh(est).partial_fit(X, y, **fit_kw)
    assert len(whole.drifts_) >= 1
    first = int(whole.drifts_[0])
    est.partial_fit(X[:first], y[:first], **fit_kw)       # ends on the row that flagged
    scal = est._model.scalars
    racing = scal[:, SLOTS["race_status"]] != RACE_OUT
    assert racing.any()
    np.testing.assert_array_equal(est._model.average_weights[racing], 0.0)
    np.testing.assert_array_equal(scal[racing, SLOTS["average_intercept"]],
                                  scal[racing, SLOTS["intercept"]])
    assert not est._model.averaged()      # current weights until the average starts again
    current = est._model.materialize(averaged=False)[0]
    np.testing.assert_array_equal(est.coef_.reshape(current.shape), current)
    est.partial_fit(X[first:], y[first:], **fit_kw)
    _same(whole, est)


def test_switching_average_on_mid_stream_is_refused_before_the_model_changes():
    X, y = _stream(n=60)
    est = SGDRegressor(optimizer="auto", shuffle=False).partial_fit(X, y)
    before = {name: np.copy(getattr(est._model, name)) for name in STATE}
    pred = est.predict(X[:5])
    est.set_params(average=True)
    with pytest.raises(ValueError, match="averaging cannot be switched on mid-stream"):
        est.partial_fit(X, y)
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(est._model, name), value, err_msg=name)
    est.set_params(average=False)
    np.testing.assert_array_equal(est.predict(X[:5]), pred)
