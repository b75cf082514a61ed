"""Audit: ``fit(coef_init=..., intercept_init=...)`` with a value that is not
finite (in the model's dtype) is a ValueError naming the argument, raised
before the model changes, as scikit-learn refuses it with a ValueError (not a
DivergenceError from the first sample)."""

import pickle

import numpy as np
import pytest

from streamlr import SGDClassifier, SGDRegressor


def _data(n_classes):
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4)
    y = rng.randint(0, n_classes, 60) if n_classes else X[:, 0]
    return X, y


@pytest.mark.parametrize("Est, n_classes", [(SGDClassifier, 2), (SGDClassifier, 3),
                                            (SGDRegressor, None)])
@pytest.mark.parametrize("which", ["coef_init", "intercept_init"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_init_is_refused_before_the_model_changes(Est, n_classes, which, value):
    X, y = _data(n_classes)
    k = 1 if n_classes in (None, 2) else n_classes
    est = Est(random_state=0).fit(X, y)
    before = pickle.dumps(est)
    init = {"coef_init": np.zeros((k, 4)) if k > 1 else np.zeros(4),
            "intercept_init": np.zeros(k)}
    init[which].flat[0] = value
    with pytest.raises(ValueError, match=which):
        est.fit(X, y, **{which: init[which]})
    assert pickle.dumps(est) == before


@pytest.mark.parametrize("Est, n_classes", [(SGDClassifier, 2), (SGDRegressor, None)])
def test_init_overflowing_the_float32_model_is_refused(Est, n_classes):
    X, y = _data(n_classes)
    with pytest.raises(ValueError, match="coef_init"):
        Est().fit(X.astype(np.float32), y, coef_init=np.full(4, 1e300))
