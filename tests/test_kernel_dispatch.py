"""The AVX2 build of the loop gives bitwise the numbers of the baseline build.

Both are compiled from the same source without fused multiply-add
(setup.py); streamlr picks one at import (streamlr/_kernels/__init__.py).
This test runs the same training through each module directly.
"""
import numpy as np
import pytest
import scipy.sparse as sp

import streamlr._kernels as K
from streamlr import SGDClassifier, SGDRegressor
from streamlr.linear_model import _sgd

avx2 = pytest.importorskip("streamlr._kernels.sgd_avx2")
from streamlr._kernels import sgd as baseline  # noqa: E402

if not K._cpu.has_avx2():
    pytest.skip("this CPU has no AVX2", allow_module_level=True)


def _train(module, make, X, y, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(_sgd, "_k", module)
        est = make()
        kwargs = {"classes": np.unique(y)} if isinstance(est, SGDClassifier) else {}
        est.partial_fit(X, y, **kwargs)
        return est.coef_.copy(), est.intercept_.copy()


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "adagrad", "ftrl", "nadam"])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_avx2_build_is_bitwise_the_baseline(optimizer, fmt, dtype, monkeypatch):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 37)).astype(dtype)
    X[rng.random(X.shape) < 0.3] = 0
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    if fmt == "csr":
        X = sp.csr_matrix(X)
    lr = "optimal" if optimizer == "sgd" else "constant"
    for make in (
        lambda: SGDClassifier(loss="log_loss", optimizer=optimizer, learning_rate=lr,
                              eta0=0.01, penalty="elasticnet", average=5, shuffle=False),
        lambda: SGDRegressor(optimizer=optimizer, eta0=0.01, shuffle=False),
    ):
        a = _train(baseline, make, X, y, monkeypatch)
        b = _train(avx2, make, X, y, monkeypatch)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("optimizer", ["adam", "amsgrad", "rmsprop", "adadelta", "nadam",
                                       "adamax", "ftrl", "momentum", "adagrad"])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_state_layouts_give_the_same_model(optimizer, fmt, monkeypatch):
    """Models first fed CSR rows interleave weights and state, models first fed
    dense rows keep one array per slot (optimizers.pxd); either layout must
    train bitwise the same model from the same rows."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 23))
    X[rng.random(X.shape) < 0.4] = 0
    y = (X[:, 0] + X[:, 2] > 0).astype(int)
    Xf = sp.csr_matrix(X) if fmt == "csr" else X
    models = []
    for interleaved in (False, True):
        orig = _sgd._BaseSGD._new_state

        def new_state(self, *a, sparse=False, _i=interleaved, **kw):
            return orig(self, *a, sparse=_i, **kw)

        with monkeypatch.context() as m:
            m.setattr(_sgd._BaseSGD, "_new_state", new_state)
            est = SGDClassifier(loss="log_loss", optimizer=optimizer, learning_rate="constant",
                                eta0=0.05, average=3, penalty="elasticnet", shuffle=False)
            est.partial_fit(Xf[:120], y[:120], classes=[0, 1]).partial_fit(Xf[120:], y[120:])
            assert est._state.interleaved == interleaved
            models.append(est)
    a, b = models
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    for key, value in a.optimizer_state_.items():
        np.testing.assert_array_equal(value, b.optimizer_state_[key], err_msg=key)
