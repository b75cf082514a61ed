"""
Learning-rate schedules as objects
==================================

A schedule in :mod:`streamlr.schedules` is a closed-form function of the
update count ``t``, callable on NumPy arrays and compiled into the
per-sample loop. The left panel draws a few of them with
:func:`streamlr.plotting.plot_schedules`; the right one streams 60,000
generated events through Adam under each and plots the progressive loss.
Because the rate depends on ``t`` only, cutting the stream into
``partial_fit`` calls of any size gives the same model.
"""
import matplotlib.pyplot as plt

from streamlr import SGDClassifier, plotting
from streamlr.cli import synthetic_stream
from streamlr.schedules import (
    Constant,
    CosineWarmRestarts,
    InverseTimeDecay,
    OneCycle,
    StepDecay,
    Warmup,
)

N, CHUNK = 60_000, 1_000
schedules = {
    "Constant(0.02)": Constant(0.02),
    "StepDecay(0.05, 15,000, gamma=0.5)": StepDecay(0.05, step_size=15_000, gamma=0.5),
    "InverseTimeDecay(0.05, 1e-4)": InverseTimeDecay(0.05, decay_rate=1e-4),
    "Warmup(CosineWarmRestarts(0.05, 20,000), 2,000)":
        Warmup(CosineWarmRestarts(0.05, T_0=20_000), warmup_steps=2_000),
    "OneCycle(0.05, 60,000)": OneCycle(0.05, total_steps=N),
}

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
plotting.plot_schedules(list(schedules.values()), t_max=N, labels=list(schedules),
                        log=True, ax=left)
left.set_title("the rate for update t")
left.legend(fontsize=7)

X, y = synthetic_stream(N, 20, seed=1)
for name, schedule in schedules.items():
    model = SGDClassifier(loss="log_loss", optimizer="adam", learning_rate=schedule,
                          shuffle=False)
    ts, losses = [], []
    for lo in range(0, N, CHUNK):
        model.partial_fit(X[lo:lo + CHUNK], y[lo:lo + CHUNK], classes=[0, 1])
        ts.append(lo + CHUNK)
        losses.append(model.progressive_loss_)
    print(f"{name:48} progressive loss {model.progressive_loss_:.4f}, last rate {model.lr_:.2g}")
    right.plot(ts, losses, label=name)
right.set_xlabel("events")
right.set_ylabel("progressive log loss (mean so far)")
right.set_title("Adam under each schedule")
right.legend(fontsize=7)
fig.tight_layout()
