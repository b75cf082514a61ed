"""Streaming class_weight="balanced": partial_fit and learn_one weight each
sample by the running class counts, n_seen / (n_classes * n_c), this sample
included; ``class_counts_``; fit keeps scikit-learn's formula."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils import compute_class_weight

from streamlr import SGDClassifier, load, save


def imbalanced(n=600, d=5, classes=(0, 1), p=(0.9, 0.1), seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice(np.asarray(classes), size=n, p=p)
    X = rng.normal(size=(n, d)) + np.searchsorted(np.asarray(classes), y)[:, None] * 0.7
    return X, y


def running_weights(y, classes):
    """The contract's formula, sample by sample."""
    counts = dict.fromkeys(classes, 0)
    out = []
    for i, label in enumerate(y):
        counts[label] += 1
        out.append((i + 1) / (len(classes) * counts[label]))
    return np.array(out)


@pytest.mark.parametrize("classes, p", [((0, 1), (0.9, 0.1)), (("a", "b", "c"), (0.7, 0.2, 0.1))])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_equals_explicit_sample_weights(classes, p, optimizer):
    X, y = imbalanced(classes=classes, p=p)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    kw = dict(loss="log_loss", optimizer=optimizer, shuffle=False)
    balanced = SGDClassifier(class_weight="balanced", **kw).partial_fit(
        X, y, classes=list(classes), sample_weight=sw)
    explicit = SGDClassifier(**kw).partial_fit(
        X, y, classes=list(classes), sample_weight=sw * running_weights(y, classes))
    np.testing.assert_array_equal(balanced.coef_, explicit.coef_)
    np.testing.assert_array_equal(balanced.intercept_, explicit.intercept_)
    counts = [np.sum(y == c) for c in classes]
    np.testing.assert_array_equal(balanced.class_counts_, counts)
    assert balanced.class_counts_.dtype == np.int64
    np.testing.assert_array_equal(explicit.class_counts_, counts)   # counted without balance too


@settings(max_examples=20, deadline=None)
@given(cuts=st.lists(st.integers(1, 120), min_size=1, max_size=8), sparse=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]), n_classes=st.sampled_from([2, 3]))
def test_any_chunking_and_learn_one_give_the_same_model(cuts, sparse, dtype, n_classes):
    classes = tuple(range(n_classes))
    X, y = imbalanced(n=400, classes=classes, p=(0.8, 0.2) if n_classes == 2 else (0.6, 0.3, 0.1))
    X = X.astype(dtype)
    X = sp.csr_matrix(X) if sparse else X
    sw = np.random.default_rng(2).uniform(0.5, 2.0, len(y))
    kw = dict(loss="hinge", optimizer="adam", learning_rate="constant", eta0=0.01, shuffle=False,
              class_weight="balanced")
    one = SGDClassifier(**kw).partial_fit(X, y, classes=classes, sample_weight=sw)
    chunked = SGDClassifier(**kw)
    edges = np.unique(np.clip(np.cumsum([0, *cuts]), 0, len(y)))
    edges = np.append(edges, len(y)) if edges[-1] != len(y) else edges
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        chunked.partial_fit(X[lo:hi], y[lo:hi], classes=classes, sample_weight=sw[lo:hi])
    single = SGDClassifier(**kw)
    for i in range(len(y)):
        single.learn_one(X[i], y[i], sample_weight=sw[i], classes=classes)
    for other in (chunked, single):
        np.testing.assert_array_equal(one._model.weight_blocks, other._model.weight_blocks)
        np.testing.assert_array_equal(one._model.scalars, other._model.scalars)
        np.testing.assert_array_equal(one.class_counts_, other.class_counts_)


def test_fit_keeps_scikit_learns_formula():
    X, y = imbalanced()
    kw = dict(loss="log_loss", shuffle=False, max_iter=3, tol=None, random_state=0)
    balanced = SGDClassifier(class_weight="balanced", **kw).fit(X, y)
    weights = compute_class_weight("balanced", classes=np.unique(y), y=y)
    explicit = SGDClassifier(class_weight=dict(enumerate(weights)), **kw).fit(X, y)
    np.testing.assert_array_equal(balanced.coef_, explicit.coef_)
    np.testing.assert_array_equal(balanced.class_counts_, [0, 0])


def test_a_failed_call_leaves_the_counts(tmp_path):
    X, y = imbalanced()
    est = SGDClassifier(class_weight="balanced", shuffle=False).partial_fit(X[:100], y[:100],
                                                                         classes=[0, 1])
    before = est.class_counts_
    for rows in (10, 200):
        bad = X[100:100 + rows].copy()
        bad[-1, 0] = np.nan
        with pytest.raises(ValueError):
            est.partial_fit(bad, y[100:100 + rows])
        np.testing.assert_array_equal(est.class_counts_, before)
    save(est, tmp_path / "m.streamlr")
    loaded = load(tmp_path / "m.streamlr")
    np.testing.assert_array_equal(loaded.class_counts_, before)
    est.partial_fit(X[100:], y[100:])
    loaded.partial_fit(X[100:], y[100:])
    np.testing.assert_array_equal(est.coef_, loaded.coef_)
