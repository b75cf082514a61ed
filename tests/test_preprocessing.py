"""streamlr.preprocessing.StandardScaler against scikit-learn's StandardScaler.

The per-event path (``learn_one``) is scikit-learn's one-row ``partial_fit``
computed operation for operation: events one by one give BITWISE the state of
scikit-learn's ``partial_fit`` on the same one-row arrays. Chunked
``partial_fit`` orders its sums differently: against it the running mean and
variance agree to a relative 1e-9 (plus an absolute 1e-9 times the data's
scale), the stated tolerance.
"""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler as SkScaler

from streamlr.preprocessing import StandardScaler

STATE = ("mean_", "var_", "scale_", "n_samples_seen_")
FLAGS = [(True, True), (False, True), (True, False), (False, False)]


def _same(a, b):
    for name in STATE:
        u, v = getattr(a, name), getattr(b, name)
        if u is None or v is None:
            assert u is None and v is None, name
        else:
            assert np.array_equal(u, v), (name, u, v)


def _data(seed=0, n=300, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(3.0, 2.0, size=(n, d)) * rng.uniform(0.01, 1e3, size=d)
    X[:, 1] = 7.25   # a constant feature: scale 1
    return X


ROWS = st.integers(2, 30).flatmap(lambda n: st.integers(1, 4).flatmap(
    lambda d: arrays(np.float64, (n, d), elements=st.floats(-1e5, 1e5, allow_subnormal=False))))


@pytest.mark.parametrize("with_mean,with_std", FLAGS)
def test_learn_one_is_bitwise_partial_fit_per_row(with_mean, with_std):
    X = _data()
    ours, ref = StandardScaler(with_mean=with_mean, with_std=with_std), SkScaler(
        with_mean=with_mean, with_std=with_std)
    for x in X:
        ours.learn_one(x)
        ref.partial_fit(x[None])
        _same(ours, ref)
    assert np.array_equal(ours.transform_one(X[3]), ref.transform(X[3:4])[0])


@settings(max_examples=60, deadline=None)
@given(X=ROWS, flags=st.sampled_from(FLAGS), weighted=st.booleans(), seed=st.integers(0, 2**16))
def test_learn_one_property(X, flags, weighted, seed):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.1, 5.0, size=X.shape[0]) if weighted else [None] * X.shape[0]
    ours, ref = StandardScaler(with_mean=flags[0], with_std=flags[1]), SkScaler(
        with_mean=flags[0], with_std=flags[1])
    for x, wi in zip(X, w, strict=True):
        ours.learn_one(x, sample_weight=wi)
        ref.partial_fit(x[None], sample_weight=None if wi is None else [wi])
    _same(ours, ref)
    assert np.array_equal(ours.transform_one(X[0]), ref.transform(X[:1])[0])


@settings(max_examples=60, deadline=None)
@given(X=ROWS, cuts=st.lists(st.integers(1, 29), max_size=5), events=st.booleans())
def test_chunkings_agree_with_sklearn(X, cuts, events):
    """partial_fit in chunks is scikit-learn's (bitwise); events one by one
    agree with it to the stated tolerance."""
    bounds = [0, *sorted({c for c in cuts if c < X.shape[0]}), X.shape[0]]
    ours, ref, whole = StandardScaler(), SkScaler(), SkScaler().fit(X)
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        ours.partial_fit(X[lo:hi])
        ref.partial_fit(X[lo:hi])
    _same(ours, ref)
    stream = StandardScaler()
    for x in X:
        stream.learn_one(x)
    span = 1e-9 * (1.0 + np.abs(X).max(axis=0))
    assert stream.n_samples_seen_ == whole.n_samples_seen_
    np.testing.assert_allclose(stream.mean_, whole.mean_, rtol=1e-9, atol=1e-9 * span.max())
    np.testing.assert_allclose(stream.var_, whole.var_, rtol=1e-9, atol=(span ** 2).max() + 1e-12)


def test_mixing_learn_one_and_partial_fit():
    X = _data(1)
    ours, ref = StandardScaler(), SkScaler()
    for lo in range(0, 300, 50):
        ours.partial_fit(X[lo:lo + 20])
        ref.partial_fit(X[lo:lo + 20])
        for x in X[lo + 20:lo + 50]:
            ours.learn_one(x)
            ref.partial_fit(x[None])
        _same(ours, ref)


def test_weighted_after_unweighted_and_fractional_counts():
    X = _data(2, n=40)
    ours, ref = StandardScaler(), SkScaler()
    for i, x in enumerate(X):
        w = 0.5 if i % 3 == 0 else None
        ours.learn_one(x, sample_weight=w)
        ref.partial_fit(x[None], sample_weight=None if w is None else [w])
        _same(ours, ref)


def test_missing_values_and_zero_weight_go_through_partial_fit():
    X = _data(3, n=30)
    X[5, 2] = np.nan
    ours, ref = StandardScaler(), SkScaler()
    with np.errstate(invalid="ignore", divide="ignore"):
        for x in X:
            ours.learn_one(x, sample_weight=2.0)
            ref.partial_fit(x[None], sample_weight=[2.0])
    np.testing.assert_array_equal(ours.n_samples_seen_, ref.n_samples_seen_)
    np.testing.assert_array_equal(ours.mean_, ref.mean_)
    np.testing.assert_array_equal(ours.var_, ref.var_)
    before = ours.mean_.copy()
    with pytest.raises(ValueError, match="non-zero"):   # as scikit-learn's partial_fit
        ours.learn_one(X[0], sample_weight=0.0)
    np.testing.assert_array_equal(ours.mean_, before)


def test_sparse_rows_as_sklearn():
    X = sp.random(200, 8, density=0.3, format="csr", random_state=0) * 10
    ours, ref = StandardScaler(with_mean=False), SkScaler(with_mean=False)
    ours.partial_fit(X[:50])
    ref.partial_fit(X[:50])
    for i in range(50, 200):
        ours.learn_one(X[i])
        ref.partial_fit(X[i])
    _same(ours, ref)
    assert (ours.transform(X) != ref.transform(X)).nnz == 0
    with pytest.raises(ValueError, match="with_mean=False"):
        StandardScaler().partial_fit(X)


def test_dict_events():
    s = StandardScaler()
    s.learn_one({"a": 1.0, "b": 10.0})
    s.learn_one({"a": 3.0})             # b missing: 0
    assert list(s.feature_names_in_) == ["a", "b"]
    ref = SkScaler().fit([[1.0, 10.0], [3.0, 0.0]])
    np.testing.assert_array_equal(s.mean_, ref.mean_)
    out = s.transform_one({"b": 10.0})
    assert list(out) == ["a", "b"]
    np.testing.assert_array_equal(list(out.values()), ref.transform([[0.0, 10.0]])[0])
    with pytest.raises(ValueError, match="not fitted with: 'c'"):
        s.learn_one({"c": 1.0})
    with pytest.raises(ValueError, match="without feature names"):
        StandardScaler().fit(np.ones((2, 2))).learn_one({"a": 1.0})


def test_bad_events():
    with pytest.raises(NotFittedError):
        StandardScaler().transform_one(np.ones(3))
    s = StandardScaler().fit(np.ones((3, 3)))
    with pytest.raises(ValueError, match="x has 2 features"):
        s.learn_one(np.ones(2))
    with pytest.raises(ValueError, match="x has 4 features"):
        s.transform_one(np.ones(4))
    with pytest.raises(ValueError, match="one row"):
        s.learn_one(np.ones((2, 3)))
    with pytest.raises(ValueError):
        s.learn_one(np.array([1.0, np.inf, 0.0]))   # partial_fit refuses infinity
    assert s.n_samples_seen_ == 3


def test_float32_ints_lists_and_views():
    X = _data(4, n=20)
    ref = StandardScaler()
    for x in X:
        ref.learn_one(x)
    for convert in (list, lambda x: np.repeat(x, 2)[::2], lambda x: x[None]):
        s = StandardScaler()
        for x in X:
            s.learn_one(convert(x))
        _same(s, ref)
    a, b = StandardScaler(), StandardScaler()
    for x in X.astype(np.float32):   # events are read as float64
        a.learn_one(x)
        b.learn_one(x.astype(np.float64))
    _same(a, b)
    s = StandardScaler()
    s.learn_one(np.arange(3))
    s.learn_one(np.arange(3) * 2)
    assert s.transform_one(np.arange(3)).dtype == np.float64


def test_in_place_update_clone_pickle_inverse():
    X = _data(5, n=50)
    s = StandardScaler()
    for x in X[:25]:
        s.learn_one(x)
    again = pickle.loads(pickle.dumps(s))
    for x in X[25:]:
        s.learn_one(x)
        again.learn_one(x)
    _same(s, again)
    np.testing.assert_allclose(s.inverse_transform(s.transform(X)), X, rtol=1e-12)
    c = clone(s)
    assert c.get_params() == s.get_params() and not hasattr(c, "mean_")
    assert s.get_feature_names_out().tolist() == [f"x{i}" for i in range(6)]


def test_sklearn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(StandardScaler())
