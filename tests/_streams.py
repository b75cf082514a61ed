"""Generated streams the tests share."""
import numpy as np


def drifting(task, n, d, seed=0, classes=3, flips=(0.35, 0.7), scale=1.0):
    """A stream whose concept changes abruptly at the fractions ``flips``:
    ``d`` Gaussian features, and per segment a random linear model (weights
    ``scale`` times standard normal, one column per class). ``task``:
    "regression" (the first column plus noise), "binary" (or ``classes=2``:
    the sign of the first column), else the ``classes``-class argmax."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    cut = np.searchsorted(np.asarray(flips) * n, np.arange(n), side="right")
    W = scale * rng.normal(size=(len(flips) + 1, d, max(classes, 1)))
    scores = np.einsum("nd,ndk->nk", X, W[cut])
    if task == "regression":
        return X, scores[:, 0] + 0.1 * rng.normal(size=n)
    if task == "binary" or classes == 2:
        return X, (scores[:, 0] > 0).astype(int)
    return X, np.argmax(scores, axis=1)
