"""
The same model as scikit-learn, for every loss
==============================================

:class:`streamlr.SGDClassifier` and :class:`streamlr.SGDRegressor` are
drop-in replacements: with ``shuffle=False`` they learn the same
coefficients as scikit-learn's estimators of the same names, for every loss,
penalty and learning-rate rule. Here both fit the breast cancer data
(classification) and the diabetes data (regression) bundled with
scikit-learn, standardised; each point is one coefficient, scikit-learn's on
the x axis and streamlr's on the y axis.

"To floating-point noise" means what it says: many epochs of SGD on a
nearly separable problem amplify rounding differences. On this breast cancer
data with log loss, scikit-learn's own coefficients move by 6 (of 14) after
20 epochs when the input is multiplied by ``1 + 1e-15``, and by 4e-7 after 5
epochs; the fits below run 5 epochs.
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn import linear_model as sk
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

import streamlr

Xc, yc = load_breast_cancer(return_X_y=True)
Xr, yr = load_diabetes(return_X_y=True)
Xc, Xr = StandardScaler().fit_transform(Xc), StandardScaler().fit_transform(Xr)
yr = (yr - yr.mean()) / yr.std()

cases = [
    ("SGDClassifier", Xc, yc, dict(loss="hinge")),
    ("SGDClassifier", Xc, yc, dict(loss="log_loss", penalty="elasticnet")),
    ("SGDClassifier", Xc, yc, dict(loss="modified_huber", average=True)),
    ("SGDRegressor", Xr, yr, dict(loss="squared_error")),
    ("SGDRegressor", Xr, yr, dict(loss="huber", penalty="l1")),
    ("SGDRegressor", Xr, yr, dict(loss="epsilon_insensitive", learning_rate="constant")),
]

fig, ax = plt.subplots(figsize=(6, 6))
for cls, X, y, params in cases:
    kw = dict(params, shuffle=False, max_iter=5, tol=None, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = getattr(streamlr, cls)(**kw).fit(X, y)
        theirs = getattr(sk, cls)(**kw).fit(X, y)
    a, b = theirs.coef_.ravel(), ours.coef_.ravel()
    gap = np.max(np.abs(a - b)) / np.max(np.abs(a))
    label = f"{cls}({', '.join(f'{k}={v!r}' for k, v in params.items())})"
    print(f"{label:70} largest relative gap {gap:.1e}")
    ax.scatter(a, b, s=14, label=label)
lim = ax.get_xlim()
ax.plot(lim, lim, color="grey", linewidth=0.8, zorder=0)
ax.set_xlabel("scikit-learn's coefficient")
ax.set_ylabel("streamlr's coefficient")
ax.set_title("5 epochs, shuffle=False: the same coefficients")
ax.legend(fontsize=7, loc="upper left")
fig.tight_layout()
