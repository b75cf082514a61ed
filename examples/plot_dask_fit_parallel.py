"""
Data-parallel training with Dask: iterative parameter mixing
============================================================

:func:`streamlr.dask.fit_parallel` trains one model over the blocks of a
Dask array on several workers: in each round, every worker learns a copy of
the model with ``partial_fit`` over its run of consecutive blocks, and the
driver averages the copies' weights and optimizer state into the model of
the next round (McDonald, Hall and Mann 2010). Here a local cluster of two
in-process workers learns 100,000 events drawn on the workers; after each
round, the held-out log loss is compared with one model that learns the
same events sequentially, pass after pass. The rate is small on purpose, so
that the model is still far from converged after a pass.
"""
import time

import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster
from sklearn.metrics import log_loss

from streamlr import SGDClassifier
from streamlr.dask import fit_parallel

N, D = 100_000, 20
w_true = np.random.default_rng(1).normal(size=D)
rng = da.random.default_rng(0)                      # the blocks are drawn where they live
dX = rng.normal(size=(N, D), chunks=(10_000, D))
dy = (rng.random(N, chunks=10_000) < 1 / (1 + da.exp(-dX @ w_true))).astype(int)
test = np.random.default_rng(2)
X_test = test.normal(size=(20_000, D))
y_test = (test.random(20_000) < 1 / (1 + np.exp(-X_test @ w_true))).astype(int)


def model():
    return SGDClassifier(loss="log_loss", optimizer="adam", learning_rate="constant",
                         eta0=2e-5, shuffle=False)


def held_out(m):
    return log_loss(y_test, m.predict_proba(X_test))


ROUNDS = (1, 2, 3, 4)
with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                  dashboard_address=None) as cluster, Client(cluster):
    X, y = dask.compute(dX, dy)                     # the same events, for the sequential model
    start = time.perf_counter()
    mixed = [held_out(fit_parallel(model(), dX, dy, rounds=r, classes=[0, 1])) for r in ROUNDS]
    print(f"fit_parallel, {sum(ROUNDS)} rounds in all on 2 workers: "
          f"{time.perf_counter() - start:.1f} s")

sequential, passes = model(), []
for _ in ROUNDS:
    for lo in range(0, N, 10_000):
        sequential.partial_fit(X[lo:lo + 10_000], y[lo:lo + 10_000], classes=[0, 1])
    passes.append(held_out(sequential))
for r, s, p in zip(ROUNDS, passes, mixed, strict=True):
    print(f"{r} pass(es): held-out log loss, sequential {s:.4f}, 2 workers mixed {p:.4f}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(ROUNDS, passes, marker="o", label="one model, sequential passes")
ax.plot(ROUNDS, mixed, marker="s", label="fit_parallel on 2 workers")
ax.set_xticks(ROUNDS)
ax.set_xlabel("passes over the data (rounds)")
ax.set_ylabel("held-out log loss")
ax.set_title("iterative parameter mixing next to sequential training")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# In a round each copy learns only its half of the events, and averaging two
# half-pass models moves about as far as one model learning half a pass: at
# a rate this small, the mixed model after ``r`` rounds is near the
# sequential one after ``r / 2`` passes. What it buys is wall time, as each
# round runs its halves at once on two workers; with a larger rate (or more
# data) both sit at the same loss after the first round.
