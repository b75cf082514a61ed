"""
Learning without a tuned rate: River's TrumpApproval stream
===========================================================

River's ``TrumpApproval`` data set (1,001 days of approval polls; bundled
with River) is a regression stream with raw, unscaled features: one of them
is a date ordinal near 736,000 next to poll numbers in the 40s. A constant
learning rate that suits one feature is far off for the other, and on a
stream there is no second pass to tune it on.

The left panel is the progressive loss (mean squared error of each event
before it is learned) of Adam at 13 constant rates, the grid a tuner would
search in hindsight; rates that diverge are left out, and plain SGD diverges
at all of them. The
horizontal lines are the two estimators that need no rate:
``learning_rate="auto"`` races copies of the Adam model at 13 rates in the
same compiled pass and serves their weighted average, and
``optimizer="auto"`` races update rules as well. The right panel shows each
copy's share of what the ``optimizer="auto"`` model serves at the end.
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from river import datasets

from streamlr import DivergenceError, SGDRegressor

events = list(datasets.TrumpApproval())
names = list(events[0][0])
X = np.array([[x[k] for k in names] for x, _ in events])
y = np.array([target for _, target in events])
print(f"{len(y)} events, features {names}")
print(f"feature scales: {np.abs(X).mean(axis=0).round(1)}")


def progressive_mse(**params):
    """Learn the stream one event at a time; mean squared error before learning."""
    model = SGDRegressor(shuffle=False, penalty=None, **params)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for x, target in zip(X, y, strict=True):
                model.learn_one(x, target)
    except DivergenceError:
        return np.inf, None
    return 2 * model.progressive_loss_, model   # squared_error's loss is half the square


rates = np.logspace(-5, 1, 13)
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2),
                                  gridspec_kw={"width_ratios": [3, 2]})
for optimizer in ("sgd", "adam"):
    losses = np.array([progressive_mse(optimizer=optimizer, learning_rate="constant", eta0=r)[0]
                       for r in rates])
    ok = np.isfinite(losses) & (losses < 1e6)
    if not ok.any():
        print(f"{optimizer}: every one of the 13 rates diverges or exceeds 1e6")
        continue
    left.plot(rates[ok], losses[ok], marker="o", label=f"{optimizer} at a constant rate")
    best = rates[np.argmin(np.where(ok, losses, np.inf))]
    print(f"{optimizer}: best constant rate {best:.2g}, MSE {losses[ok].min():.2f}; "
          f"{np.sum(~ok)} of 13 rates diverge or exceed 1e6")

auto_rate, _ = progressive_mse(optimizer="adam", learning_rate="auto")
auto_opt, model = progressive_mse(optimizer="auto")
print(f'learning_rate="auto" with Adam: MSE {auto_rate:.2f}')
print(f'optimizer="auto":               MSE {auto_opt:.2f}')
left.axhline(auto_rate, color="C2", linestyle="--", label='Adam, learning_rate="auto"')
left.axhline(auto_opt, color="C3", linestyle=":", label='optimizer="auto"')
left.set_xscale("log")
left.set_yscale("log")
left.set_xlabel("constant learning rate")
left.set_ylabel("progressive mean squared error")
left.set_title("TrumpApproval, one pass, raw features")
left.legend(fontsize=8)

race = model.rate_race_
labels = [o if np.isnan(r) else f"{o} {r:.2g}"          # COCOB has no rate
          for o, r in zip(race["optimizers"], race["rates"], strict=True)]
weights = race["weights"].ravel()                          # one row: a single problem
top = np.argsort(weights)[::-1][:8]
right.barh([labels[i] for i in top][::-1], weights[top][::-1])
right.set_xlabel("share of the served model")
right.set_title('optimizer="auto": shares at the end')
fig.tight_layout()
