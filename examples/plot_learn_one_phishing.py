"""
One event at a time, with named features: River's Phishing stream
=================================================================

River's ``Phishing`` data set (1,250 web pages, 9 features, bundled with
River) arrives as a stream of dicts, one event at a time.
:meth:`~streamlr.SGDClassifier.learn_one` and
:meth:`~streamlr.SGDClassifier.predict_proba_one` take such a dict: the
first event (with ``classes=``) fixes the feature names, later events are
matched to them by name. Each event is predicted before it is learned; the
curve is the accuracy over the last 200 events, next to River's own
``LogisticRegression`` learning the same events with its ``learn_one``. The
legend gives each library's time per event (predict plus learn, dicts
included).
"""
import time

import matplotlib.pyplot as plt
import numpy as np
from river import datasets
from river import linear_model as river_lm
from river import optim as river_optim

from streamlr import SGDClassifier

events = list(datasets.Phishing())
names = list(events[0][0])


def rolling(correct, window=200):
    c = np.cumsum(np.insert(np.asarray(correct, dtype=float), 0, 0.0))
    n = np.arange(1, len(correct) + 1)
    lo = np.maximum(0, n - window)
    return (c[n] - c[lo]) / (n - lo)


ours = SGDClassifier(loss="log_loss", optimizer="adam", learning_rate="constant", eta0=0.05)
first_x, first_y = events[0]
ours.learn_one(first_x, int(first_y), classes=[0, 1])   # a dict: the names are fixed here
correct, start = [], time.perf_counter()
for x, label in events[1:]:
    p = ours.predict_proba_one(x)[1]                    # {label: probability}
    correct.append((p > 0.5) == label)
    ours.learn_one(x, int(label))
ours_us = (time.perf_counter() - start) / (len(events) - 1) * 1e6

theirs = river_lm.LogisticRegression(optimizer=river_optim.Adam(0.05))
theirs_correct, start = [], time.perf_counter()
theirs.learn_one(first_x, first_y)
for x, label in events[1:]:
    theirs_correct.append((theirs.predict_proba_one(x).get(True, 0.0) > 0.5) == label)
    theirs.learn_one(x, label)
theirs_us = (time.perf_counter() - start) / (len(events) - 1) * 1e6

print(f"streamlr: accuracy {np.mean(correct):.3f}, {ours_us:.1f} us per event")
print(f"River:    accuracy {np.mean(theirs_correct):.3f}, {theirs_us:.1f} us per event")
by_name = {n: round(float(w), 2) for n, w in zip(ours.feature_names_in_, ours.coef_[0], strict=True)}
print(f"coefficients by name: {by_name}")

fig, ax = plt.subplots(figsize=(7, 4))
n = np.arange(2, len(events) + 1)
ax.plot(n, rolling(correct), label=f"streamlr learn_one, Adam 0.05 ({ours_us:.0f} µs/event)")
ax.plot(n, rolling(theirs_correct), linestyle="--",
        label=f"River LogisticRegression, Adam 0.05 ({theirs_us:.0f} µs/event)")
ax.set_xlabel("events")
ax.set_ylabel("accuracy over the last 200 events")
ax.set_title("Phishing, predicted then learned one event at a time")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
