"""Audit: a pandas Series given as one event to a model fitted on named
features (``df.iterrows()``, ``df.iloc[i]`` of a frame whose columns are in
another order) is read by its names, as a dict event is, instead of by
position (which silently learnt and predicted from the wrong features)."""

import numpy as np
import pandas as pd
import pytest

from streamlr import SGDClassifier, SGDRegressor

COLS = ["a", "b", "c", "d"]


def _fitted(Est):
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.randn(60, 4), columns=COLS)
    if Est is SGDClassifier:
        y = (X["a"] > 0).astype(int).to_numpy()
        return Est(shuffle=False, random_state=0).partial_fit(X, y, classes=[0, 1]), X, y
    y = X["a"].to_numpy() * 2.0
    return Est(shuffle=False, random_state=0).partial_fit(X, y), X, y


@pytest.mark.parametrize("Est", [SGDClassifier, SGDRegressor])
def test_reordered_series_is_read_by_name(Est):
    ref, X, y = _fitted(Est)
    est, _, _ = _fitted(Est)
    row = X.iloc[3]
    shuffled = X[["c", "a", "d", "b"]].iloc[3]
    assert est.predict_one(shuffled) == ref.predict_one(row)
    assert est.predict_one(shuffled) == ref.predict_one(row.to_dict())
    est.learn_one(shuffled, y[3])
    ref.learn_one(row.to_dict(), y[3])
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    np.testing.assert_array_equal(est.intercept_, ref.intercept_)
    # a subset of the names reads the others as 0, as a dict event does
    sub = X[["b", "a"]].iloc[5]
    assert est.predict_one(sub) == est.predict_one({"a": X["a"][5], "b": X["b"][5]})


@pytest.mark.parametrize("Est", [SGDClassifier, SGDRegressor])
def test_series_in_fitted_order_or_unnamed_is_positional(Est):
    est, X, y = _fitted(Est)
    assert est.predict_one(X.iloc[2]) == est.predict_one(X.iloc[2].to_numpy())
    # an index that is not the feature names: by position, as an array
    assert est.predict_one(pd.Series(X.iloc[2].to_numpy())) == est.predict_one(X.iloc[2].to_numpy())


def test_series_with_an_unknown_name_is_refused():
    est, X, y = _fitted(SGDClassifier)
    bad = pd.Series([1.0, 2.0, 3.0, 4.0], index=["a", "b", "c", "zz"])
    with pytest.raises(ValueError, match="zz"):
        est.learn_one(bad, 1)
