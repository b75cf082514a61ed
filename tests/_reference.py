"""Tiny pure-NumPy reference implementations used as oracles by the tests.

Deliberately naive: one sample at a time, weights stored unscaled, no
tricks. Only what the tests need.
"""

import numpy as np

MAX_DLOSS = 1e12


def sgd_squared_error_l2_constant(
    X, y, eta0, alpha, n_epochs=1, fit_intercept=True, coef=None, intercept=0.0, sample_weight=None
):
    """Plain SGD for 0.5 * (p - y)^2 + alpha/2 ||w||^2 with a constant rate.

    Follows scikit-learn's per-sample update order: predict, take the
    gradient of the loss (clipped to +-1e12), shrink the weights by
    max(0, 1 - eta * alpha), add the loss step, move the intercept.

    Returns a dict with coef, intercept, the progressive loss (mean over all
    visits of the loss measured just before learning from the sample), the
    per-visit losses, and t (number of updates + 1).
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n_samples, n_features = X.shape
    w = np.zeros(n_features) if coef is None else np.array(coef, dtype=np.float64)
    b = float(intercept)
    sw = np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    eta = float(eta0)
    losses = []
    t = 1.0
    for _ in range(n_epochs):
        for i in range(n_samples):
            x = X[i]
            p = float(np.dot(w, x)) + b
            r = p - y[i]
            losses.append(0.5 * r * r)
            dloss = min(max(r, -MAX_DLOSS), MAX_DLOSS)
            update = -eta * dloss * sw[i]
            w *= max(0.0, 1.0 - eta * alpha)
            w += update * x
            if fit_intercept:
                b += update
            t += 1.0
    losses = np.asarray(losses)
    return {
        "coef": w,
        "intercept": b,
        "progressive_loss": float(np.mean(losses)),
        "losses": losses,
        "t": t,
    }


def margin_loss(name, y_pm, p, epsilon=0.1):
    """Training loss of sklearn's SGD for labels y in {-1, +1}, vectorised."""
    y_pm = np.asarray(y_pm, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    z = y_pm * p
    if name == "hinge":
        return np.maximum(0.0, 1.0 - z)
    if name == "perceptron":
        return np.maximum(0.0, -z)
    if name == "log_loss":
        return np.logaddexp(0.0, -z)
    if name == "squared_hinge":
        return np.maximum(0.0, 1.0 - z) ** 2
    if name == "modified_huber":
        return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, (1.0 - z) ** 2, -4.0 * z))
    r = p - y_pm
    if name == "squared_error":
        return 0.5 * r * r
    if name == "huber":
        a = np.abs(r)
        return np.where(a <= epsilon, 0.5 * r * r, epsilon * (a - 0.5 * epsilon))
    if name == "epsilon_insensitive":
        return np.maximum(0.0, np.abs(r) - epsilon)
    if name == "squared_epsilon_insensitive":
        return np.maximum(0.0, np.abs(r) - epsilon) ** 2
    raise ValueError(name)
