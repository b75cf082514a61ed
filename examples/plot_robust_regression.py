"""
Regression losses on a stream with outliers
===========================================

The diabetes data bundled with scikit-learn (442 patients, 10 features),
standardised, streamed five times over in chunks of 20 with 5% of the
targets replaced by gross outliers (15 to 30 standard deviations).
:class:`streamlr.SGDRegressor` with the squared error chases the outliers;
the Huber and epsilon-insensitive losses, whose gradients are bounded,
learn nearly what least squares learns from the clean data. The scores are
R² on the clean targets of the other 95% of the events.
"""
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler

from streamlr import SGDRegressor

X, y = load_diabetes(return_X_y=True)
X = StandardScaler().fit_transform(X)
y = (y - y.mean()) / y.std()

rng = np.random.default_rng(0)
noisy = y.copy()
bad = rng.random(len(y)) < 0.05
noisy[bad] = rng.choice([-1, 1], bad.sum()) * rng.uniform(15, 30, bad.sum())
print(f"{bad.sum()} of {len(y)} targets replaced by outliers")

scores = {"least squares,\nclean data": r2_score(y[~bad], LinearRegression().fit(X, y).predict(X)[~bad])}
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
for loss in ("squared_error", "huber", "epsilon_insensitive"):
    model = SGDRegressor(loss=loss, epsilon=0.5, optimizer="adam", learning_rate="constant",
                         eta0=0.01, shuffle=False, penalty=None)
    for _ in range(5):
        for lo in range(0, len(y), 20):
            model.partial_fit(X[lo:lo + 20], noisy[lo:lo + 20])
    pred = model.predict(X)[~bad]
    scores[loss] = r2_score(y[~bad], pred)
    print(f"{loss:20} R^2 on the clean events {scores[loss]:.3f}")
    if loss != "epsilon_insensitive":
        left.scatter(y[~bad], pred, s=8, alpha=0.6, label=loss)
left.plot([-2.5, 3], [-2.5, 3], color="grey", linewidth=0.8)
left.set_xlabel("true target (standardised)")
left.set_ylabel("prediction")
left.set_title("predictions on the clean events")
left.legend(fontsize=8)
right.bar(list(scores), list(scores.values()), color=["black", "C0", "C1", "C2"])
right.set_ylabel("R² on the clean events")
right.set_title("bounded gradients ignore the outliers")
right.tick_params(axis="x", labelsize=8)
fig.tight_layout()
