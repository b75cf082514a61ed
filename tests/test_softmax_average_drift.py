"""The softmax model (``multi_class="multinomial"``) with ``average`` and a
drift detector.

The rule is one-vs-rest's (tests/test_drift_average.py): a restart (or
reset) starts the average of every class row again, as in a softmax model
made from the current weights (``coef_init``, ``intercept_init``); the
average takes the iterates from update ``average`` of the restarted clock
on, and the model serves its current weights until then.

* The model restarted at its detections equals, bitwise, a chain of softmax
  models fit on the segments between them, each made from the previous
  one's (non-averaged) weights; plain SGD and Adam, dense and CSR.
* Any chunking and ``learn_one``, save/load mid-stream give the same model;
  a failed call changes nothing (also tests/test_drift_snapshot.py).
"""
import numpy as np
import pytest
import scipy.sparse as sp
from test_drift_average import drifting

from streamlr import SGDClassifier, load, save
from streamlr.drift import PageHinkley
from streamlr.linear_model._state import SLOTS

STATE = ("weight_blocks", "average_weights", "last_update", "scalars", "intercept_block",
         "drift_state", "drifts")


def _softmax(optimizer, average, **kw):
    return SGDClassifier(loss="log_loss", multi_class="multinomial", optimizer=optimizer,
                         learning_rate="constant", eta0=0.05, average=average, shuffle=False,
                         **kw)


def _detector():
    return PageHinkley(min_instances=60, threshold=6.0, mode="up")


def _current(est):
    coef, intercept = est._model.materialize(averaged=False)
    return coef.copy(), intercept.copy()


def _same(a, b):
    for name in STATE:
        np.testing.assert_array_equal(getattr(a._model, name), getattr(b._model, name),
                                      err_msg=name)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)


def _chain(optimizer, average, X, y, cuts, on_drift, **kw):
    edges = [0, *cuts, X.shape[0]]
    coef = intercept = None
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        model = _softmax(optimizer, average, max_iter=1, tol=None, **kw)
        model.fit(X[lo:hi], y[lo:hi], coef_init=coef, intercept_init=intercept)
        coef, intercept = _current(model)
        if on_drift == "reset":
            coef, intercept = np.zeros_like(coef), np.zeros_like(intercept)
    return model


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("average", [True, 40])
@pytest.mark.parametrize("penalty", [None, "l2"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("on_drift", ["restart", "reset"])
def test_restart_equals_a_chain_of_softmax_models_made_from_the_weights(optimizer, average,
                                                                        penalty, sparse,
                                                                        on_drift):
    X, y = drifting("ovr", seed=1)
    # every segment must hold every class (a model made by fit sees its classes there)
    Xin = sp.csr_matrix(X) if sparse else X
    kw = {"penalty": penalty, "alpha": 1e-3}
    est = _softmax(optimizer, average, drift_detector=_detector(), on_drift=on_drift, **kw)
    est.partial_fit(Xin, y, classes=np.unique(y))
    cuts = list(est.drifts_)
    assert len(cuts) >= 2
    chain = _chain(optimizer, average, Xin, y, cuts, on_drift, **kw)
    np.testing.assert_array_equal(est.coef_, chain.coef_)
    np.testing.assert_array_equal(est.intercept_, chain.intercept_)
    np.testing.assert_array_equal(_current(est)[0], _current(chain)[0])
    np.testing.assert_array_equal(est.predict_proba(X[:50]), chain.predict_proba(X[:50]))


def test_every_class_rows_average_starts_again_at_a_detection():
    X, y = drifting("ovr", seed=1)
    est = _softmax("adam", 20, drift_detector=_detector())
    one = _softmax("adam", 20, drift_detector=_detector()).partial_fit(X, y, classes=np.unique(y))
    first = int(one.drifts_[0])
    # the call ends on the row that flagged: every class row reacted after it
    est.partial_fit(X[:first], y[:first], classes=np.unique(y))
    assert list(est.drifts_) == [first]
    np.testing.assert_array_equal(est._model.average_weights, 0.0)
    # every class row's clock restarted there
    np.testing.assert_array_equal(est._model.scalars[:, SLOTS["clock0"]], [first] * 3)
    # the model serves its current weights until the average starts again
    assert not est._model.averaged()
    np.testing.assert_array_equal(est.coef_, _current(est)[0])


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("cuts", [(1, 7, 64, 200), (333,), (50, 51, 52, 500)])
def test_any_chunking_and_learn_one_train_the_same_model(sparse, cuts):
    X, y = drifting("ovr", seed=3)
    Xin = sp.csr_matrix(X) if sparse else X
    classes = np.unique(y)
    one = _softmax("adam", 10, drift_detector=_detector()).partial_fit(Xin, y, classes=classes)
    assert len(one.drifts_) >= 1
    chunked = _softmax("adam", 10, drift_detector=_detector())
    edges = [0, *cuts, X.shape[0]]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        chunked.partial_fit(Xin[lo:hi], y[lo:hi], classes=classes)
    _same(one, chunked)
    events = _softmax("adam", 10, drift_detector=_detector())
    for i in range(X.shape[0]):
        events.learn_one(Xin[i], y[i], classes=classes)
    _same(one, events)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_resumes_bitwise(dtype, tmp_path):
    X, y = drifting("ovr", seed=4)
    X = X.astype(dtype)
    classes = np.unique(y)
    whole = _softmax("adam", True, drift_detector=_detector()).partial_fit(X, y, classes=classes)
    assert len(whole.drifts_) >= 1 and whole.drifts_[-1] > 333
    est = _softmax("adam", True, drift_detector=_detector()).partial_fit(X[:333], y[:333],
                                                                         classes=classes)
    save(est, tmp_path / "m.streamlr")
    loaded = load(tmp_path / "m.streamlr")
    _same(est, loaded)
    loaded.partial_fit(X[333:], y[333:])
    _same(whole, loaded)
