"""Audit: SGDRegressor takes numeric targets written as strings, as
scikit-learn's SGDRegressor does (it casts y to X's dtype); other text is a
ValueError naming y, not NumPy's TypeError about ``isfinite``."""

import numpy as np
import pytest
from sklearn.linear_model import SGDRegressor as SkSGDRegressor

from streamlr import SGDRegressor


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3)
    return X, np.round(X[:, 0] * 4) / 4


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("kind", ["U", "O"])
def test_numeric_string_targets_match_scikit_learn(method, kind):
    X, y = _data()
    ys = y.astype(str).astype(object) if kind == "O" else y.astype(str)
    ours = getattr(SGDRegressor(shuffle=False, random_state=0), method)(X, ys)
    ref = getattr(SkSGDRegressor(shuffle=False, random_state=0), method)(X, ys)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-12, atol=1e-15)
    num = getattr(SGDRegressor(shuffle=False, random_state=0), method)(X, y)
    np.testing.assert_array_equal(ours.coef_, num.coef_)


def test_learn_one_of_a_numeric_string_target():
    X, y = _data()
    a = SGDRegressor(shuffle=False).partial_fit(X[:5], y[:5])
    b = SGDRegressor(shuffle=False).partial_fit(X[:5], y[:5].astype(str))
    a.learn_one(X[5], y[5])
    b.learn_one(X[5], str(y[5]))
    np.testing.assert_array_equal(a.coef_, b.coef_)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_text_targets_are_a_value_error_naming_y(method):
    X, _ = _data()
    with pytest.raises(ValueError, match="y"):
        getattr(SGDRegressor(), method)(X, np.array(["a"] * 40))
