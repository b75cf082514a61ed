"""
Tracking quantiles over a stream
================================

A generated stream whose noise grows with a feature (heteroscedastic) and
whose trend drifts slowly, so that its conditional quantiles are known at
every moment: for an event with features :math:`x_0, x_1`,

.. math::

    y = a_t x_0 + (0.5 + x_1)\\,\\varepsilon, \\qquad
    \\varepsilon \\sim \\mathcal{N}(0, 1), \\qquad
    q_\\tau(y \\mid x) = a_t x_0 + (0.5 + x_1)\\,\\Phi^{-1}(\\tau),

with the slope :math:`a_t` moving from 1 to 3 and back. One
:class:`streamlr.SGDRegressor` per quantile, ``loss="quantile"`` with
``quantile=`` 0.1, 0.5 and 0.9, learns the stream in chunks of 50 events
(Adam at a constant rate, so that it keeps tracking). Top: each model's
prediction for a fixed probe event, every 250 events, against the true
quantile there. Bottom: the share of the next events that fall below each
prediction (predicted before learning them), which should be 10%, 50% and
90%.
"""
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm

from streamlr import SGDRegressor

N, CHUNK, EVERY = 30_000, 50, 250
QUANTILES = (0.1, 0.5, 0.9)
rng = np.random.default_rng(0)
t = np.arange(N)
slope = 2.0 - np.cos(2 * np.pi * t / N)             # 1 -> 3 -> 1
X = np.column_stack([rng.uniform(-1, 1, N), rng.uniform(0, 2, N)])
y = slope * X[:, 0] + (0.5 + X[:, 1]) * rng.normal(size=N)
probe = np.array([[0.8, 1.5]])


def true_quantile(q, i, x=probe[0]):
    return slope[i] * x[0] + (0.5 + x[1]) * norm.ppf(q)


models = {q: SGDRegressor(loss="quantile", quantile=q, optimizer="adam", learning_rate="constant",
                          eta0=0.02, penalty=None, shuffle=False) for q in QUANTILES}
below = {q: np.zeros(N, dtype=bool) for q in QUANTILES}
seen, probes = [], {q: [] for q in QUANTILES}
for lo in range(0, N, CHUNK):
    rows = slice(lo, lo + CHUNK)
    for q, model in models.items():
        if lo:   # progressive: predict the chunk before learning it
            below[q][rows] = y[rows] < model.predict(X[rows])
        model.partial_fit(X[rows], y[rows])
    if (lo + CHUNK) % EVERY == 0:
        seen.append(lo + CHUNK)
        for q, model in models.items():
            probes[q].append(model.predict(probe)[0])

fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 2]})
colors = dict(zip(QUANTILES, ("C0", "C2", "C3"), strict=True))
for q in QUANTILES:
    top.plot(t, true_quantile(q, t), color=colors[q], linestyle="--", linewidth=1.2,
             label=f"true {q:.0%} quantile")
    top.plot(seen, probes[q], color=colors[q], linewidth=1.8, label=f"predicted, quantile={q}")
    window = 1_000
    coverage = np.convolve(below[q][CHUNK:], np.ones(window) / window, mode="valid")
    bottom.plot(t[CHUNK + window - 1:], coverage, color=colors[q], linewidth=1.2)
    bottom.axhline(q, color=colors[q], linestyle="--", linewidth=0.8)
    late = below[q][N // 2:].mean()
    err = np.mean(np.abs(np.array(probes[q]) - true_quantile(q, np.array(seen) - 1)))
    print(f"quantile {q}: share below the prediction {late:.3f} (second half); "
          f"mean distance to the true quantile at the probe {err:.3f}")
top.set_ylabel("y at the probe event")
top.set_title("SGDRegressor(loss='quantile') tracks drifting conditional quantiles")
top.legend(fontsize=8, ncol=2, loc="upper left")
bottom.set_xlabel("events seen")
bottom.set_ylabel("share below\n(last 1,000 events)")
bottom.set_ylim(0, 1)
fig.tight_layout()
plt.show()
