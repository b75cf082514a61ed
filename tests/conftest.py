"""Shared fixtures and helpers for the streamlr test suite.

All data makers are seeded and return small problems so that the whole
suite stays fast. Features are scaled so that a typical row has squared norm
close to one, which keeps every learning-rate schedule used in the tests
numerically stable (no blow-up that would turn rounding noise into large
differences between implementations).
"""

import copy

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

# Rows of the design matrix that are entirely zero (exercise the empty-row
# paths of the CSR kernel and the zero-norm paths of the PA schedules).
ZERO_ROWS = (4, 11)

# True coefficients: a few strong, a few exactly zero, so that L1 / elastic
# net produce genuinely sparse solutions.
_TRUE_W = np.array([2.0, -2.0, 1.5, 0.0, 0.0, 0.0, 0.05, -0.05])


def make_X(n_samples=80, n_features=6, seed=0, dtype=np.float64, sparse=False, density=0.6):
    """Dense or CSR design matrix with some exact zeros and ZERO_ROWS empty.

    The same ``seed`` gives the same matrix whether ``sparse`` is True or not,
    so that dense and CSR results can be related to each other.
    """
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, n_features) / np.sqrt(n_features)
    mask = rng.rand(n_samples, n_features) < density
    X = X * mask
    for r in ZERO_ROWS:
        if r < n_samples:
            X[r, :] = 0.0
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X)
        X.sort_indices()
    return X


def _true_w(n_features, rng):
    if n_features <= len(_TRUE_W):
        return _TRUE_W[:n_features].copy()
    extra = rng.randn(n_features - len(_TRUE_W))
    return np.concatenate([_TRUE_W, extra])


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def make_regression_data(n_samples=80, n_features=6, seed=0, dtype=np.float64, sparse=False):
    """(X, y) for regression: y = X w + 0.3 + small noise."""
    X = make_X(n_samples, n_features, seed=seed, dtype=dtype, sparse=sparse)
    rng = np.random.RandomState(seed + 1000)
    w = _true_w(n_features, rng)
    y = _dense(X).astype(np.float64) @ w + 0.3 + 0.05 * rng.randn(n_samples)
    return X, y.astype(dtype)


def make_classification_data(
    n_samples=80, n_features=6, n_classes=2, seed=0, dtype=np.float64, sparse=False, labels=None
):
    """(X, y) for classification with every class present.

    ``labels`` optionally maps class index -> label (e.g. strings).
    """
    X = make_X(n_samples, n_features, seed=seed, dtype=dtype, sparse=sparse)
    rng = np.random.RandomState(seed + 2000)
    Xd = _dense(X).astype(np.float64)
    if n_classes == 2:
        w = _true_w(n_features, rng)
        score = Xd @ w + 0.1 * rng.randn(n_samples)
        idx = (score > np.median(score)).astype(int)
    else:
        W = rng.randn(n_classes, n_features)
        score = Xd @ W.T + 0.1 * rng.randn(n_samples, n_classes)
        idx = np.argmax(score, axis=1)
    # guarantee every class is present at least twice, away from the zero rows
    for k in range(n_classes):
        if np.sum(idx == k) < 2:
            idx[[20 + 2 * k, 21 + 2 * k]] = k
    if labels is None:
        y = idx
    else:
        y = np.asarray(labels)[idx]
    return X, y


def snapshot(est):
    """Deep copy of the observable fitted state of an estimator."""
    state = {}
    for name in ("coef_", "intercept_", "t_", "progressive_loss_", "lr_", "n_iter_", "classes_"):
        if hasattr(est, name):
            state[name] = copy.deepcopy(getattr(est, name))
    return state


def _same_scalar(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return False
    return bool(np.array_equal(a, b, equal_nan=True))


def assert_same_state(before, after):
    """Bitwise comparison of two snapshots (NaN == NaN)."""
    assert set(before) == set(after), (set(before), set(after))
    for name in before:
        a, b = before[name], after[name]
        if isinstance(a, np.ndarray) or sp.issparse(a):
            a = _dense(a)
            b = _dense(b)
            assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
            assert a.shape == b.shape, (name, a.shape, b.shape)
            assert_array_equal(a, b, err_msg=name)
        else:
            assert _same_scalar(a, b), (name, a, b)


def assert_same_model(a, b, check_progressive_loss=False):
    """Bitwise equality of the learnt parameters of two fitted estimators.

    coef_ / intercept_ are compared with ``assert_array_equal`` (exact,
    -0.0 == 0.0), including dtype and shape; t_ exactly.
    """
    ca, cb = _dense(a.coef_), _dense(b.coef_)
    assert ca.dtype == cb.dtype
    assert ca.shape == cb.shape
    assert_array_equal(ca, cb, err_msg="coef_ differs")
    ia, ib = np.asarray(a.intercept_), np.asarray(b.intercept_)
    assert ia.shape == ib.shape
    assert_array_equal(ia, ib, err_msg="intercept_ differs")
    assert a.t_ == b.t_, (a.t_, b.t_)
    if check_progressive_loss:
        assert _same_scalar(a.progressive_loss_, b.progressive_loss_), (
            a.progressive_loss_,
            b.progressive_loss_,
        )


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------


@pytest.fixture(params=["dense", "csr"])
def sparse_format(request):
    return request.param == "csr"


@pytest.fixture
def reg_data():
    return make_regression_data()


@pytest.fixture
def clf_data():
    return make_classification_data()


@pytest.fixture
def clf3_data():
    return make_classification_data(n_classes=3)
