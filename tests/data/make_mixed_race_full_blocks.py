"""Make the files of a race of different rules saved with every copy's
blocks the widest rule's.

From revision a88c0be to 3c158ca, ``optimizer="auto"`` on CSR rows
interleaved its state as ``(K, d, 6)``: every copy's block the width of the
widest rule's (plain SGD read its weight at a stride of 6); later builds give
each copy blocks of its own rule's width. tests/test_mixed_race_layout.py
loads what this script wrote with that build and checks that the model
resumes bitwise as that build resumed it. To make the files again, run it
with a build of 3c158ca first on the path, from the repository's root::

    PYTHONPATH=<in-place build of 3c158ca> python tests/data/make_mixed_race_full_blocks.py

It writes, into this directory:

* ``mixed_race_full_blocks.npz``: the model after ``TRAIN`` rows (``save``);
* ``mixed_race_full_blocks.pkl``: the same model pickled;
* ``mixed_race_full_blocks.expected.npz``: the rows (CSR arrays, targets)
  and what that build observed after resuming on the remaining rows, the
  last ``EVENTS`` of them one ``learn_one`` each (``observe``).
"""
import os
import pickle
import sys

import numpy as np
from make_mixed_race_slot_arrays import make_rows

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "mixed_race_full_blocks"
TRAIN = 300
EVENTS = 40
PARAMS = dict(optimizer="auto", loss="modified_huber", penalty="elasticnet", alpha=1e-3,
              average=5, shuffle=False)


def observe(est, X):
    """What the test compares bitwise: the served model, every copy's
    weights and slots (zeros where its rule has none), the scalars."""
    model = est._model
    out = {"coef": est.coef_, "intercept": est.intercept_, "w": np.array(model.w),
           "scalars": model.scalars, "intercept_block": model.intercept_block,
           "average_weights": model.average_weights, "l1_received": model.l1_received,
           "last_update": model.last_update, "decision": est.decision_function(X[:50]),
           "progressive": np.float64(est.progressive_loss_)}
    for i in range(model.intercept_block.shape[1] - 1):
        out[f"slot{i}"] = np.array(model.slot(i))
    return out


def resume(est, X, y):
    """The rows after ``TRAIN``: one call, then one event each."""
    n = X.shape[0]
    est.partial_fit(X[TRAIN:n - EVENTS], y[TRAIN:n - EVENTS])
    for i in range(n - EVENTS, n):
        est.learn_one(X[i], y[i])
    return est


def main():
    from streamlr import SGDClassifier, save

    X, y = make_rows()
    est = SGDClassifier(**PARAMS).partial_fit(X[:TRAIN], y[:TRAIN], classes=[0, 1])
    model = est._model
    if not model.interleaved or getattr(model, "widths", None) is not None \
            or model.weight_blocks.ndim != 3:
        sys.exit("this build does not keep a mixed race as (K, d, 6): run it with 3c158ca")
    save(est, os.path.join(HERE, NAME + ".npz"))
    with open(os.path.join(HERE, NAME + ".pkl"), "wb") as f:
        pickle.dump(est, f)
    resume(est, X, y)
    np.savez_compressed(os.path.join(HERE, NAME + ".expected.npz"), data=X.data,
                        indices=X.indices, indptr=X.indptr, shape=np.array(X.shape), y=y,
                        **observe(est, X))


if __name__ == "__main__":
    main()
