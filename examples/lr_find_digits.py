"""
The learning-rate range test on the digits stream
=================================================

The handwritten digits bundled with scikit-learn (1,797 8x8 images, 10
classes), standardised and shuffled, streamed through a log-loss classifier:
once with plain SGD and once with Adam. :func:`streamlr.lr_find` grows the
rate exponentially over successive mini-batches of a clone and records the
smoothed progressive loss; its suggestion is a tenth of the rate at the
minimum. Each suggestion is printed next to the best constant rate of a grid
search (one pass over the stream each, scored by progressive loss).

Run as a script, ``python examples/lr_find_digits.py --save docs/lr_find.png``
writes the figure the README shows.
"""
import sys
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

import streamlr

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)
order = np.random.default_rng(0).permutation(len(y))
X, y = X[order], y[order]
classes = np.unique(y)

fig, ax = plt.subplots(figsize=(7, 4.5))
for optimizer in ("sgd", "adam"):
    est = streamlr.SGDClassifier(loss="log_loss", penalty=None, optimizer=optimizer)
    result = streamlr.lr_find(est, X, y, start_lr=1e-6, end_lr=10.0, num_steps=100)
    grid = 10.0 ** np.arange(-6, 1.01, 0.25)
    scores = []
    for lr in grid:
        model = streamlr.SGDClassifier(loss="log_loss", penalty=None, optimizer=optimizer,
                                       learning_rate="constant", eta0=lr, shuffle=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                scores.append(model.partial_fit(X, y, classes=classes).progressive_loss_)
            except streamlr.DivergenceError:
                scores.append(np.inf)
    best = grid[int(np.argmin(scores))]
    print(f"{optimizer}: suggestion {result.suggestion:.3g}, best constant rate {best:.3g} "
          f"(progressive loss {min(scores):.3f})")
    line, = ax.plot(result.lrs, result.losses, label=f"{optimizer}")
    ax.axvline(result.suggestion, color=line.get_color(), linestyle="--",
               label=f"{optimizer} suggestion {result.suggestion:.2g}")
    ax.axvline(best, color=line.get_color(), linestyle=":",
               label=f"{optimizer} best constant {best:.2g}")
ax.set_xscale("log")
ax.set_xlabel("learning rate")
ax.set_ylabel("smoothed progressive log loss")
ax.set_title("lr_find on the digits stream (log_loss, one-vs-rest)")
ax.legend(fontsize=8)
fig.tight_layout()
if "--save" in sys.argv[1:]:
    out = sys.argv[sys.argv.index("--save") + 1]
    fig.savefig(out, dpi=100)
    print(f"saved {out}")
