"""Audit: a ``class_weight`` dict whose weight is not a finite number is a
ValueError naming ``class_weight`` (before the model changes), not a
DivergenceError from the first sample it weighs."""

import pickle

import numpy as np
import pytest

from streamlr import SGDClassifier


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(80, 4)
    return X, (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, "2", None])
def test_fit_refuses_a_non_finite_class_weight(bad):
    X, y = _data()
    with pytest.raises(ValueError, match="class_weight"):
        SGDClassifier(class_weight={0: bad, 1: 1.0}).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("call", ["partial_fit", "few_rows", "learn_one"])
def test_streaming_calls_refuse_it_before_the_model_changes(bad, call):
    X, y = _data()
    est = SGDClassifier(shuffle=False).partial_fit(X, y, classes=[0, 1])
    est.set_params(class_weight={0: 1.0, 1: bad})
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="class_weight"):
        if call == "partial_fit":
            est.partial_fit(X, y)
        elif call == "few_rows":
            est.partial_fit(X[:3], y[:3])
        else:
            est.learn_one(X[0], y[0])
    assert pickle.dumps(est) == before


def test_finite_weights_still_accepted():
    X, y = _data()
    # negative weights too, as scikit-learn accepts them
    SGDClassifier(class_weight={0: 2.0, 1: -0.5}, max_iter=3, tol=None).fit(X, y)
    SGDClassifier(class_weight={0: np.float32(2), 1: 1}).partial_fit(X, y, classes=[0, 1])
