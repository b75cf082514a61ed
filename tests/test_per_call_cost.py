"""partial_fit on CSR input does no per-call work proportional to n_features.

Timing is for bench/; here the property is checked through memory: with
2**22 features a single copy of the weights costs 32 MiB, so a call whose
peak allocation stays far below that cannot have copied, rescaled into a new
array or materialised the weight vector.
"""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from streamlr import SGDClassifier, SGDRegressor

D = 2**22


def _rows(n, rng):
    data = rng.standard_normal(n * 10)
    indices = np.sort(rng.choice(D, size=(n, 10), replace=False), axis=1).ravel()
    return sp.csr_matrix((data, indices, np.arange(0, n * 10 + 1, 10)), shape=(n, D))


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGDClassifier(loss="log_loss", penalty="elasticnet", average=True),
        lambda: SGDRegressor(penalty="l1"),
    ],
)
def test_sparse_partial_fit_allocates_o_nnz(make):
    rng = np.random.default_rng(0)
    est = make()
    X, y = _rows(20, rng), rng.integers(0, 2, 20)
    kwargs = {"classes": [0, 1]} if isinstance(est, SGDClassifier) else {}
    est.partial_fit(X[:10], y[:10], **kwargs)  # allocates the state: O(n_features) once
    tracemalloc.start()
    try:
        for i in range(10, 20):
            est.partial_fit(X[i:i + 1], y[i:i + 1])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    weight_bytes = D * 8
    assert peak < weight_bytes / 32, f"peak {peak} bytes per call sequence"
