"""Make the files of a race of different rules saved in its old layout.

Until revision ef95d9a, ``optimizer="auto"`` kept one array per slot even on
CSR rows (its plain SGD copies read their weights contiguously); later
builds interleave it. tests/test_mixed_race_layout.py loads what this script
wrote with that build and checks that the model resumes bitwise as the old
build resumed it. To make the files again, run it with a build of
ef95d9a first on the path, from the repository's root::

    PYTHONPATH=<in-place build of ef95d9a> python tests/data/make_mixed_race_slot_arrays.py

It writes, into this directory:

* ``mixed_race_slot_arrays.npz``: the model after ``TRAIN`` rows (``save``);
* ``mixed_race_slot_arrays.pkl``: the same model pickled;
* ``mixed_race_slot_arrays.expected.npz``: the rows (CSR arrays, targets)
  and what the old build observed after resuming on the remaining rows
  (``observe``).
"""
import os
import pickle
import sys

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "mixed_race_slot_arrays"
TRAIN = 300
PARAMS = dict(optimizer="auto", loss="log_loss", penalty="elasticnet", alpha=1e-3,
              average=5, shuffle=False)


def make_rows(n=700, d=40, nnz=6, seed=20261207):
    rng = np.random.default_rng(seed)
    cols = np.sort(rng.choice(d, size=(n, nnz)), axis=1)
    X = sp.csr_matrix((rng.standard_normal(n * nnz), cols.ravel(),
                       np.arange(0, n * nnz + 1, nnz)), shape=(n, d))
    X.sum_duplicates()
    y = (X @ rng.standard_normal(d) > 0).astype(np.int64)
    return X, y


def observe(est, X):
    """What the test compares bitwise."""
    model = est._model
    return {"coef": est.coef_, "intercept": est.intercept_, "w": np.array(model.w),
            "scalars": model.scalars, "average_weights": model.average_weights,
            "l1_received": model.l1_received, "decision": est.decision_function(X[:50]),
            "progressive": np.float64(est.progressive_loss_)}


def main():
    from streamlr import SGDClassifier, save

    X, y = make_rows()
    est = SGDClassifier(**PARAMS).partial_fit(X[:TRAIN], y[:TRAIN], classes=[0, 1])
    if est._model.interleaved:
        sys.exit("this build interleaves a race of different rules: run it with ef95d9a")
    save(est, os.path.join(HERE, NAME + ".npz"))
    with open(os.path.join(HERE, NAME + ".pkl"), "wb") as f:
        pickle.dump(est, f)
    est.partial_fit(X[TRAIN:], y[TRAIN:])
    np.savez_compressed(os.path.join(HERE, NAME + ".expected.npz"), data=X.data,
                        indices=X.indices, indptr=X.indptr, shape=np.array(X.shape), y=y,
                        **observe(est, X))


if __name__ == "__main__":
    main()
