"""Audit: ``set_params(average=...)`` between calls takes effect the same way
whatever path learns next (a large ``partial_fit``, a few rows, ``learn_one``,
``learn_label``): the model and its predictions do not depend on the path."""

import numpy as np
import pytest

from streamlr import SGDClassifier, SGDRegressor


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4)
    return X, (X[:, 0] + 0.3 * rng.randn(300) > 0).astype(int), X @ np.arange(4.0) + 0.1


def _start(Est, before):
    X, yc, yr = _data()
    y = yc if Est is SGDClassifier else yr
    kw = {"classes": [0, 1]} if Est is SGDClassifier else {}
    est = Est(shuffle=False, random_state=0, average=before).partial_fit(X[:100], y[:100], **kw)
    return est, X, y


def _learn(est, X, y, path):
    if path == "big":
        est.partial_fit(X[100:], y[100:])
    elif path == "small":
        for i in range(100, 300, 10):
            est.partial_fit(X[i:i + 10], y[i:i + 10])
    elif path == "learn_one":
        for i in range(100, 300):
            est.learn_one(X[i], y[i])
    elif path == "predict_then_learn_one":
        # a prediction binds the engine for the new parameters first
        est.predict_one(X[100])
        for i in range(100, 300):
            est.learn_one(X[i], y[i])
    elif path == "learn_label":
        for i in range(100, 300):
            est.predict_one(X[i], key=i)
            est.learn_label(i, y[i])
    return est


@pytest.mark.parametrize("Est", [SGDClassifier, SGDRegressor])
@pytest.mark.parametrize("before, after", [(False, True), (False, 5), (True, False), (10, 3)])
@pytest.mark.parametrize("path", ["small", "learn_one", "predict_then_learn_one", "learn_label"])
def test_average_switched_between_calls_is_path_independent(Est, before, after, path):
    ref, X, y = _start(Est, before)
    ref.set_params(average=after)
    _learn(ref, X, y, "big")
    est, X, y = _start(Est, before)
    est.set_params(average=after)
    _learn(est, X, y, path)
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    np.testing.assert_array_equal(est.intercept_, ref.intercept_)
    assert est.t_ == ref.t_
    np.testing.assert_array_equal(est.predict(X[:50]), ref.predict(X[:50]))


@pytest.mark.parametrize("Est", [SGDClassifier, SGDRegressor])
def test_average_switched_on_is_not_served_before_learning(Est):
    """Predictions after set_params(average=True) and before any training
    call still serve the model as trained (the averaging has not started)."""
    est, X, y = _start(Est, False)
    coef = est.coef_.copy()
    p = est.predict(X[:20])
    est.set_params(average=True)
    assert est.predict_one(X[0]) == p[0]
    np.testing.assert_array_equal(est.coef_, coef)
    np.testing.assert_array_equal(est.predict(X[:20]), p)
