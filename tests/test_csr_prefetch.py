"""The CSR loop's weight prefetch never changes a result.

On weight vectors of at least 4 MB a CSR pass of more than two rows asks for
the weight blocks of the row two ahead from within the dot product
(``_dot_prefetch`` in rows.pxi); a pass of at most two rows does not. Running
the same call in blocks of two rows (``pass_blocks``, bitwise one call by
construction) therefore compares the two paths: rows of every length around
the dot's eight chains (empty, shorter and longer than the row ahead), plain
SGD with and without scikit-learn's L2 scale, Adam's interleaved slots,
float32, one-vs-rest and a regressor.
"""
import numpy as np
import pytest
import scipy.sparse as sp

from streamlr import SGDClassifier, SGDRegressor
from streamlr.linear_model._driver import pass_blocks

LENGTHS = (0, 1, 7, 8, 9, 16, 40, 3, 100, 15, 2, 41)


def _rows(n_features, dtype, n_rows=240, seed=0):
    rng = np.random.default_rng(seed)
    nnz = np.array([LENGTHS[i % len(LENGTHS)] for i in range(n_rows)])
    indptr = np.concatenate([[0], np.cumsum(nnz)]).astype(np.int32)
    # sorted distinct columns per row, over the whole (large) weight vector
    indices = np.concatenate([np.sort(rng.choice(n_features, size=k, replace=False))
                              for k in nnz]).astype(np.int32)
    data = rng.standard_normal(indptr[-1]).astype(dtype)
    X = sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features))
    return X, rng


CASES = {
    "defaults-l2-optimal": (SGDClassifier, dict(loss="log_loss"), 2**19, np.float64, 2),
    "constant-no-penalty": (SGDClassifier, dict(loss="log_loss", penalty=None,
                                                learning_rate="constant", eta0=0.1),
                            2**19, np.float64, 2),
    "hinge-float32": (SGDClassifier, dict(loss="hinge"), 2**20, np.float32, 2),
    "adam-interleaved": (SGDClassifier, dict(loss="log_loss", optimizer="adam",
                                             learning_rate="constant", eta0=0.01),
                         2**18, np.float64, 2),
    "ovr-three-classes": (SGDClassifier, dict(loss="modified_huber", average=5), 2**19,
                          np.float64, 3),
    "regressor-adam": (SGDRegressor, dict(optimizer="adam", learning_rate="constant",
                                          eta0=0.01), 2**18, np.float64, None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_prefetch_changes_no_bit(case):
    cls, params, n_features, dtype, n_classes = CASES[case]
    X, rng = _rows(n_features, dtype)
    if n_classes is None:
        y = rng.standard_normal(X.shape[0])
        fit = dict()
    else:
        y = rng.integers(0, n_classes, X.shape[0])
        fit = dict(classes=np.arange(n_classes))
    whole = cls(shuffle=False, random_state=0, **params).partial_fit(X, y, **fit)
    with pass_blocks(2):
        blocks = cls(shuffle=False, random_state=0, **params).partial_fit(X, y, **fit)
    np.testing.assert_array_equal(whole.coef_, blocks.coef_)
    np.testing.assert_array_equal(whole.intercept_, blocks.intercept_)
    assert whole.coef_.dtype == dtype
    rows = X[:50]
    np.testing.assert_array_equal(whole.decision_function(rows) if n_classes else
                                  whole.predict(rows),
                                  blocks.decision_function(rows) if n_classes else
                                  blocks.predict(rows))
