"""
Optimizers on the digits stream
===============================

The handwritten digits bundled with scikit-learn, standardised and shuffled,
streamed once through a log-loss classifier (10 classes, one-vs-rest) in
chunks of 20 images, with several of streamlr's update rules. Each rule runs
at the best constant rate of a small grid (one pass each, scored by
progressive loss), so the curves compare the rules, not a lucky rate. The
rules that need no tuned rate (``"vw"``, ``"cocob"``) run once, at their
defaults.
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from streamlr import DivergenceError, SGDClassifier

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
order = np.random.default_rng(0).permutation(len(y))
X, y = X[order], y[order]
classes = np.unique(y)
CHUNK = 20


def stream(optimizer, rate=None):
    """One pass; the progressive loss after each chunk (None if it diverged)."""
    params = {} if rate is None else {"learning_rate": "constant", "eta0": rate}
    model = SGDClassifier(loss="log_loss", penalty=None, optimizer=optimizer, shuffle=False,
                          **params)
    curve = []
    try:
        for lo in range(0, len(y), CHUNK):
            model.partial_fit(X[lo:lo + CHUNK], y[lo:lo + CHUNK], classes=classes)
            curve.append(model.progressive_loss_)
    except DivergenceError:
        return None
    return np.array(curve)


grid = 10.0 ** np.arange(-4, 0.5, 0.5)
fig, ax = plt.subplots(figsize=(7, 4.5))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for optimizer in ("sgd", "momentum", "adagrad", "rmsprop", "adam", "ftrl"):
        curves = {rate: stream(optimizer, rate) for rate in grid}
        curves = {r: c for r, c in curves.items() if c is not None and np.isfinite(c[-1])}
        best = min(curves, key=lambda r: curves[r][-1])
        print(f"{optimizer:9} best rate {best:.2g}: progressive loss {curves[best][-1]:.3f}")
        ax.plot(np.arange(1, len(curves[best]) + 1) * CHUNK, curves[best],
                label=f"{optimizer}, rate {best:.2g}")
    for optimizer in ("vw", "cocob"):
        curve = stream(optimizer)
        print(f"{optimizer:9} no tuned rate:  progressive loss {curve[-1]:.3f}")
        ax.plot(np.arange(1, len(curve) + 1) * CHUNK, curve, linestyle="--",
                label=f"{optimizer}, no rate")
ax.set_xlabel("images seen")
ax.set_ylabel("progressive log loss (mean so far)")
ax.set_ylim(0, 2.5)
ax.set_title("one pass over the digits, each rule at its best constant rate")
ax.legend(fontsize=8, ncol=2)
fig.tight_layout()
