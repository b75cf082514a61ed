"""
A first stream: progressive validation next to scikit-learn
===========================================================

A seeded binary stream of 50,000 events with 20 features arrives in chunks
of 500. Each chunk is first predicted, then learned
(:func:`streamlr.evaluate.progressive_val_score`), so every event is scored
by a model that has not seen it: the accuracy of the curve is what the model
would have delivered live. :class:`streamlr.SGDClassifier` learns it with
Adam; scikit-learn's ``SGDClassifier`` with its default plain SGD runs the
same loop for comparison.
"""
import time

import matplotlib.pyplot as plt
from sklearn.linear_model import SGDClassifier as SklearnSGDClassifier

from streamlr import SGDClassifier
from streamlr.cli import synthetic_stream
from streamlr.evaluate import progressive_val_score

X, y = synthetic_stream(50_000, 20, seed=0)

contenders = {
    "streamlr, Adam (rate 0.01)": SGDClassifier(loss="log_loss", optimizer="adam",
                                                learning_rate="constant", eta0=0.01,
                                                shuffle=False),
    "streamlr, plain SGD (scikit-learn's default rate)": SGDClassifier(loss="log_loss",
                                                                       shuffle=False),
    "scikit-learn, plain SGD": SklearnSGDClassifier(loss="log_loss", shuffle=False),
}

fig, ax = plt.subplots(figsize=(7, 4))
for name, model in contenders.items():
    start = time.perf_counter()
    score = progressive_val_score(model, X, y, metric="accuracy", step=500, classes=[0, 1])
    seconds = time.perf_counter() - start
    print(f"{name:50} accuracy {score.final:.4f}  ({seconds:.2f} s)")
    score.plot(ax=ax, label=f"{name} ({seconds:.2f} s)")
ax.set_ylim(0.7, 0.95)
ax.set_ylabel("progressive accuracy")
ax.set_title("predict each chunk of 500 events, then learn it")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The two plain-SGD curves are the same model: with ``shuffle=False`` streamlr
# gives scikit-learn's results to floating-point noise, in a compiled loop
# that does not hold the GIL. Adam at a constant rate of 0.01 learns faster
# on this stream.
