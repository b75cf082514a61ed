"""Audit: with a log-link loss, ``predict`` serves the same value as
``predict_one`` for the same row, bitwise (float64): both take the C
library's exp of the decision value (NumPy's vectorised exp differs from it
in the last bit for a few percent of the values)."""

import numpy as np
import pytest
import scipy.sparse as sp

from streamlr import SGDRegressor


@pytest.mark.parametrize("loss", ["poisson", "gamma", "tweedie"])
@pytest.mark.parametrize("sparse", [False, True])
def test_predict_equals_predict_one(loss, sparse):
    rng = np.random.RandomState(1)
    X = rng.randn(400, 6)
    X[np.abs(X) < 0.6] = 0
    y = np.round(np.exp(0.3 * (X @ np.arange(6.0) * 0.3 + 1))) + 1.0
    est = SGDRegressor(loss=loss, shuffle=False, random_state=0, eta0=0.05)
    est.partial_fit(X, y)
    Xp = sp.csr_matrix(X) if sparse else X
    many = est.predict(Xp)                      # the general path (more than a few rows)
    few = np.concatenate([est.predict(Xp[i:i + 8]) for i in range(0, 400, 8)])
    one = np.array([est.predict_one(Xp[i]) for i in range(400)])
    np.testing.assert_array_equal(many, one)
    np.testing.assert_array_equal(few, one)
    # the values are exp of the decision values, as the docstring says
    d = np.asarray(Xp @ est.coef_).ravel() + est.intercept_[0]
    np.testing.assert_allclose(many, np.exp(d), rtol=1e-12)
