"""Audit: ``learn_one``/``learn_label`` of a classifier with a label that is
not one scalar (a list, an array) raise a TypeError naming y, before the
model changes (it was Python's bare "unhashable type")."""

import pickle

import numpy as np
import pytest

from streamlr import SGDClassifier


@pytest.mark.parametrize("bad", [[1], np.array([1]), np.array(1), {"a": 1}])
def test_unhashable_label_is_named(bad):
    rng = np.random.RandomState(0)
    X = rng.randn(30, 3)
    est = SGDClassifier().partial_fit(X, (X[:, 0] > 0).astype(int), classes=[0, 1])
    before = pickle.dumps(est)
    with pytest.raises(TypeError, match="y must be one label"):
        est.learn_one(X[0], bad)
    est.predict_one(X[1], key="k")
    with pytest.raises(TypeError, match="y must be one label"):
        est.learn_label("k", bad)
    assert est.n_pending_ == 1
    est.learn_label("k", 1)
    ref = pickle.loads(before)
    ref.learn_one(X[1], 1)
    np.testing.assert_array_equal(est.coef_, ref.coef_)
