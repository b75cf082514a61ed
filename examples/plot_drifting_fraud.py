"""
A stream that drifts: the card-fraud demo
=========================================

The stream of ``streamlr demo``, shortened to 40,000 events: card payments
with about 1.5% fraud, whose fraud pattern changes half way (from large
purchases far from home at night to card testing: small online payments in
bursts). :func:`streamlr.demo.run` learns it with plain SGD at
scikit-learn's default rate, Adam at a constant rate, and Adam under cosine
warm restarts, predicting each chunk of 100 events before learning it, and
returns the window scores and rates drawn here.
"""
import matplotlib.pyplot as plt

from streamlr import demo

N = 40_000
curves, ends = demo.run(n_events=N, window=2_000, out=None, stream=lambda line: None)

fig, (ax_auc, ax_lr) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
for name, c in curves.items():
    ax_auc.plot(ends, c["auc"], marker="o", markersize=3, label=name)
    ax_lr.plot(c["t"], c["lr"], label=name)
    print(f"{name:28} window ROC AUC before the drift {c['auc'][len(ends) // 2 - 1]:.3f}, "
          f"just after {c['auc'][len(ends) // 2]:.3f}, at the end {c['auc'][-1]:.3f}")
for ax in (ax_auc, ax_lr):
    ax.axvline(N // 2, color="grey", linestyle=":", linewidth=1)
ax_auc.set_ylabel("ROC AUC (window of 2,000)")
ax_auc.set_title("card fraud: the pattern changes at the dotted line")
ax_auc.legend(fontsize=8)
ax_lr.set_yscale("log")
ax_lr.set_ylabel("learning rate")
ax_lr.set_xlabel("events")
fig.tight_layout()

# %%
# The same run from the command line, at full length, with its picture:
#
# .. code-block:: bash
#
#    pip install "streamlr[plot]" && streamlr demo
