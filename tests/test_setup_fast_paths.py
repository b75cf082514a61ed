"""The per-call set-up's fast paths (issue #20): binary targets straight from
the labels, integer classes without a sort, sample_weight=None and the
unshuffled order kept down to the loop. Each must give bitwise what the
general path gives."""
import numpy as np
import pytest
import scipy.sparse as sp

from streamlr import SGDClassifier, SGDRegressor
from streamlr._kernels import kernel as _k


def _data(n=300, d=7, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.4] = 0.0
    y = (X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(np.int64)
    return (sp.csr_matrix(X) if sparse else X), y


@pytest.mark.parametrize("label_dtype", [np.int32, np.int64, np.float32, np.float64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_targets_match_indices_then_encoding(label_dtype, dtype):
    rng = np.random.default_rng(1)
    classes = np.array([-3, 5], dtype=label_dtype)
    y = classes[rng.integers(0, 2, 500)]
    targets, n_pos, bad = _k.binary_targets(y, classes, -1.0, dtype)
    idx, _ = _k.label_indices(y, classes)
    expected = _k.encode_targets(idx, 1, -1.0, dtype)
    assert bad == -1 and n_pos == int((y == classes[1]).sum())
    assert targets.dtype == dtype and targets.tobytes() == expected.tobytes()


def test_binary_targets_report_the_first_unknown_label_and_other_dtypes():
    y = np.array([0, 1, 1, 7, 0, 9])
    assert _k.binary_targets(y, np.array([0, 1]), 0.0, np.float64) == (None, 0, 3)
    # labels and classes of different dtypes: the general path
    assert _k.binary_targets(y, np.array([0.0, 1.0]), 0.0, np.float64) == (None, 0, -1)
    assert _k.binary_targets(y, np.array([0, 1, 2]), 0.0, np.float64) == (None, 0, -1)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_distinct_labels_equal_numpy_unique(dtype):
    rng = np.random.default_rng(2)
    for y in (rng.integers(-5, 9, 1000), np.repeat([4, 2, 4, 9], 50), np.array([3]),
              np.array([], dtype=np.int64), rng.integers(0, 64, 5000)):
        y = y.astype(dtype)
        got = _k.distinct_labels(y)
        assert got.dtype == np.unique(y).dtype
        np.testing.assert_array_equal(got, np.unique(y))
    assert _k.distinct_labels(np.arange(65, dtype=dtype)) is None      # more than 64
    assert _k.distinct_labels(np.array([0.0, 1.0])) is None
    assert _k.distinct_labels(np.array(["a", "b"])) is None


def _same(a, b):
    assert a.coef_.tobytes() == b.coef_.tobytes()
    assert a.intercept_.tobytes() == b.intercept_.tobytes()


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_no_sample_weight_equals_unit_weights(sparse, dtype):
    X, y = _data(sparse=sparse)
    X = X.astype(dtype)
    ones = np.ones(X.shape[0])
    for kwargs in ({}, {"optimizer": "adam", "learning_rate": "constant", "eta0": 0.01}):
        a = SGDClassifier(shuffle=False, random_state=0, **kwargs)
        b = SGDClassifier(shuffle=False, random_state=0, **kwargs)
        for lo in range(0, X.shape[0], 120):
            a.partial_fit(X[lo:lo + 120], y[lo:lo + 120], classes=[0, 1])
            b.partial_fit(X[lo:lo + 120], y[lo:lo + 120], classes=[0, 1],
                          sample_weight=ones[lo:lo + 120])
        _same(a, b)
        np.testing.assert_array_equal(a.class_counts_, np.bincount(y, minlength=2))
        _same(SGDClassifier(random_state=0, max_iter=3, tol=None, **kwargs).fit(X, y),
              SGDClassifier(random_state=0, max_iter=3, tol=None, **kwargs).fit(
                  X, y, sample_weight=ones))
        r = y + X[:, [0]].toarray().ravel() if sparse else y + X[:, 0]
        _same(SGDRegressor(shuffle=False, **kwargs).partial_fit(X, r),
              SGDRegressor(shuffle=False, **kwargs).partial_fit(X, r, sample_weight=ones))
        _same(SGDRegressor(random_state=0, max_iter=3, tol=None, **kwargs).fit(X, r),
              SGDRegressor(random_state=0, max_iter=3, tol=None, **kwargs).fit(
                  X, r, sample_weight=ones))


def test_fit_classes_and_labels_as_numpy_unique_gives_them():
    X, y = _data()
    y3 = np.where(y == 1, 7, np.where(X[:, 1] > 0, -2, 3)).astype(np.int32)
    a = SGDClassifier(random_state=0, max_iter=4, tol=None).fit(X, y3)
    b = SGDClassifier(random_state=0, max_iter=4, tol=None).fit(X, y3.astype(np.float64))
    np.testing.assert_array_equal(a.classes_, np.unique(y3))
    assert a.classes_.dtype == np.int32
    _same(a, b)


def test_unknown_label_still_named():
    X, y = _data()
    y = y.copy()
    y[10] = 4
    with pytest.raises(ValueError, match="not in classes"):
        SGDClassifier().partial_fit(X, y, classes=[0, 1])
    m = SGDClassifier().partial_fit(X[:5], np.array([0, 1, 0, 1, 1]), classes=[0, 1])
    coef = m.coef_.copy()
    with pytest.raises(ValueError, match="not in classes"):
        m.partial_fit(X, y)
    assert m.coef_.tobytes() == coef.tobytes()


def test_a_range_order_equals_event_by_event():
    # partial_fit visits range(n) without an order array; learn_one the rows one by one
    X, y = _data(sparse=True)
    a = SGDClassifier(shuffle=False).partial_fit(X, y, classes=[0, 1])
    b = SGDClassifier(shuffle=False).partial_fit(X[:1], y[:1], classes=[0, 1])
    for i in range(1, X.shape[0]):
        b.learn_one(X[i], y[i])
    _same(a, b)
