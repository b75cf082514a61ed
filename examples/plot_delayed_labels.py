"""
Labels that come late
=====================

A scoring service sees a payment, serves a fraud probability at once, and
learns whether it was fraud only later. Here every label arrives 500 events
after its payment, and the fraud pattern changes half way through the
stream. Three models serve the same 30,000 events, each starting from the
same 2,000 labelled ones:

* **learns at once**: ``learn_one`` right after serving, as if the label
  came with the event (the best case, not available in practice);
* **learns 500 events late**: ``predict_proba_one(x, key=k)`` remembers the
  event, ``learn_label(k, y)`` learns it when the label comes;
* **never learns**: the model of the first 2,000 events, frozen.

Each point is the log loss of the probabilities actually served over a
window of 500 events.
"""
import matplotlib.pyplot as plt
import numpy as np

from streamlr import SGDClassifier

rng = np.random.default_rng(0)
N, WARM, DELAY, D = 30_000, 2_000, 500, 10
X = rng.normal(size=(N, D))
before = np.array([2.0, 1.5, -1.0, 0, 0, 0, 0, 0, 0, 0])
after = np.array([0, 0, 1.0, 2.0, -1.5, 0, 0, 0, 0, 0])       # another fraud pattern
w = np.where(np.arange(N)[:, None] < N // 2, before, after)
y = (rng.random(N) < 1 / (1 + np.exp(-((X * w).sum(axis=1) - 4.5)))).astype(int)
print(f"{y.mean():.1%} fraud; the pattern changes at event {N // 2:,}")


def model():
    clf = SGDClassifier(loss="log_loss", optimizer="adam", eta0=0.01, shuffle=False)
    return clf.partial_fit(X[:WARM], y[:WARM], classes=[0, 1])


at_once, late, never = model(), model(), model()
served = {name: np.empty(N - WARM) for name in ("learns at once", "learns 500 events late",
                                                 "never learns")}
for i in range(WARM, N):
    x = X[i]
    served["learns at once"][i - WARM] = at_once.predict_proba_one(x)[1]
    at_once.learn_one(x, y[i])
    served["learns 500 events late"][i - WARM] = late.predict_proba_one(x, key=i)[1]
    if i - DELAY >= WARM:
        late.learn_label(i - DELAY, y[i - DELAY])      # the label of event i - 500 comes in
    served["never learns"][i - WARM] = never.predict_proba_one(x)[1]

print(f"events still waiting for their label at the end: {late.n_pending_}")

# %%
# The log loss of what each model served, per window of 500 events.
truth = y[WARM:]
window = 500
ends = np.arange(window, N - WARM + 1, window)
fig, ax = plt.subplots(figsize=(8, 4.5))
for name, p in served.items():
    p = np.clip(p, 1e-12, 1 - 1e-12)
    loss = -(truth * np.log(p) + (1 - truth) * np.log(1 - p))
    per_window = loss.reshape(-1, window).mean(axis=1)
    ax.plot(WARM + ends, per_window, marker="o", markersize=3, label=name)
    first, second = loss[:N // 2 - WARM].mean(), loss[N // 2 - WARM:].mean()
    recovery = loss[N // 2 - WARM:N // 2 - WARM + 2_000].mean()
    print(f"{name:24} log loss before the change {first:.3f}, the 2,000 events after it "
          f"{recovery:.3f}, the second half {second:.3f}")
ax.axvline(N // 2, color="grey", linestyle=":", linewidth=1)
ax.set_xlabel("events")
ax.set_ylabel("log loss of the served probabilities\n(window of 500)")
ax.set_title("labels 500 events late: the fraud pattern changes at the dotted line")
ax.legend()
fig.tight_layout()

# %%
# Before the change, learning late costs almost nothing: the model learns
# the same pattern either way, 500 events behind. After it, the late learner
# is blind to the new pattern for 500 events (there it does even worse than
# the frozen model: the labels still coming in are those of the old pattern,
# which it learns with more confidence), then, once the first labels of the
# new payments arrive, it catches up with the model that learns at once
# within another 500 events; the frozen model never does.
# ``late.progressive_loss_`` is measured the same way, at the probability
# served when the event came, not at the one its weights would give when the
# label arrives.
