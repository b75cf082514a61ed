"""
Save mid-stream, load, learn on: bitwise the same model
=======================================================

:func:`streamlr.save` writes a model to a NumPy ``.npz`` file with a JSON
header and a checksum, which :func:`streamlr.load` reads without running
any code (no pickle). Everything the model learns is in the file — weights,
optimizer state, the schedule's clock, the progressive loss — so a process
that stops half way through a stream and a new one that loads the file and
learns the rest end with exactly the model of never stopping.

The stream is River's ``ImageSegments`` data set (2,310 image regions, 7
classes, bundled with River), learned with Adam under a cosine schedule.
"""
import os
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from river import datasets
from sklearn.preprocessing import StandardScaler

import streamlr
from streamlr.persistence import load_metadata
from streamlr.schedules import CosineAnnealing

events = list(datasets.ImageSegments())
names = list(events[0][0])
X = StandardScaler().fit_transform(np.array([[x[k] for k in names] for x, _ in events]))
y = np.array([label for _, label in events])
order = np.random.default_rng(0).permutation(len(y))
X, y = X[order], y[order]
classes = np.unique(y)
CHUNK, HALF = 50, len(y) // 2


def learn(model, lo, hi, curve):
    for a in range(lo, hi, CHUNK):
        model.partial_fit(X[a:min(a + CHUNK, hi)], y[a:min(a + CHUNK, hi)], classes=classes)
        curve.append((min(a + CHUNK, hi), model.progressive_loss_))
    return model


def new_model():
    return streamlr.SGDClassifier(loss="log_loss", optimizer="adam", shuffle=False,
                                  learning_rate=CosineAnnealing(0.05, T_max=len(y)))


uninterrupted = []
full = learn(new_model(), 0, len(y), uninterrupted)

resumed = []
first = learn(new_model(), 0, HALF, resumed)
path = os.path.join(tempfile.mkdtemp(), "segments.streamlr")
streamlr.save(first, path, metadata={"stream": "ImageSegments", "events_seen": HALF})
del first                                                # the first process ends here
second = learn(streamlr.load(path), HALF, len(y), resumed)

print(f"file: {os.path.getsize(path):,} bytes, metadata {load_metadata(path)}")
same_state = all(np.array_equal(second.optimizer_state_[k], full.optimizer_state_[k])
                 for k in full.optimizer_state_)
print(f"coef_ bitwise equal: {np.array_equal(second.coef_, full.coef_)}; "
      f"optimizer state bitwise equal: {same_state}")
print(f"progressive loss: resumed {float(second.progressive_loss_)!r}, "
      f"uninterrupted {float(full.progressive_loss_)!r}")

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(*zip(*uninterrupted, strict=True), linewidth=4, alpha=0.4, label="never stopped")
ax.plot(*zip(*resumed, strict=True), color="C1", label="saved, loaded, learned on")
ax.axvline(HALF, color="grey", linestyle=":", label="streamlr.save / streamlr.load")
ax.set_xlabel("events")
ax.set_ylabel("progressive log loss (mean so far)")
ax.set_title("ImageSegments: the two runs are one curve")
ax.legend(fontsize=8)
fig.tight_layout()
