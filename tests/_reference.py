"""Tiny pure-NumPy reference implementations used as oracles by the tests.

Deliberately naive: one sample at a time, weights stored unscaled, no
tricks. Only what the tests need.
"""

from collections.abc import Callable
from typing import NamedTuple

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
    sw = (np.ones(n_samples) if sample_weight is None
          else np.asarray(sample_weight, dtype=np.float64))
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


# The losses as scikit-learn defines them, keyed by the registry's name
# (streamlr._registry.losses()); test_losses fails for a row without one.
# ``value(y, p, epsilon)``: y in {-1, +1} for the classification-only losses
# (the margin z = y p), the real target for the others. ``kinks(y, epsilon)``:
# the values of p where the loss is not twice differentiable.


def _any_target(y):
    return y


class LossReference(NamedTuple):
    value: Callable
    kinks: Callable
    # maps any real targets into the loss's domain (elementwise): the tests
    # of every loss draw real targets and pass them through it
    targets: Callable = _any_target


def _margin(f):
    return lambda y, p, epsilon: f(y * p)


def _modified_huber(z):
    return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, (1.0 - z) ** 2, -4.0 * z))


def _squared(y, p, epsilon):
    r = p - y
    return 0.5 * r * r


def _huber(y, p, epsilon):
    r = p - y
    a = np.abs(r)
    return np.where(a <= epsilon, 0.5 * r * r, epsilon * (a - 0.5 * epsilon))


def _eps_insensitive(y, p, epsilon):
    return np.maximum(0.0, np.abs(p - y) - epsilon)


def _squared_eps_insensitive(y, p, epsilon):
    return np.maximum(0.0, np.abs(p - y) - epsilon) ** 2


def tweedie_half_deviance(y, p, power, reach=30.0):
    """Half the unit Tweedie deviance of the mean mu = exp(p) (log link),
    written from its definition (scikit-learn's mean_tweedie_deviance),
    continued along its tangent beyond ``reach / max(1, |1 - power|, |2 -
    power|)`` of log(y) (log y := 0 for y <= 0) on the sides where it grows
    exponentially: above for power < 2, below for power > 1 and y > 0."""
    y, p = np.broadcast_arrays(np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64))
    k = float(power)
    lim = reach / max(1.0, abs(1.0 - k), abs(2.0 - k))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), 0.0)
    hi = np.where(k < 2, s + lim, np.inf)
    lo = np.where((k > 1) & (y > 0), s - lim, -np.inf)
    q = np.clip(p, lo, hi)

    def value(m):
        mu = np.exp(m)
        if k == 1.0:
            ylogy = np.where(y > 0, y * s, 0.0)
            return ylogy - y * m - y + mu
        if k == 2.0:
            return m - s + y / mu - 1.0
        if k == 0.0:
            return 0.5 * (y - mu) ** 2
        yk = np.where(y > 0, np.maximum(y, 0.0) ** (2 - k), 0.0)
        return (yk / ((1 - k) * (2 - k)) - y * mu ** (1 - k) / (1 - k)
                + mu ** (2 - k) / (2 - k))

    def slope(m):
        mu = np.exp(m)
        return mu ** (1 - k) * (mu - y)

    return value(q) + slope(q) * (p - q)


def tweedie_gradient(y, p, power, reach=30.0):
    """d/dp of `tweedie_half_deviance`: mu^(1-k) (mu - y) at the clipped margin."""
    y, p = np.broadcast_arrays(np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64))
    k = float(power)
    lim = reach / max(1.0, abs(1.0 - k), abs(2.0 - k))
    s = np.where(y > 0, np.log(np.where(y > 0, y, 1.0)), 0.0)
    q = np.clip(p, np.where((k > 1) & (y > 0), s - lim, -np.inf), np.where(k < 2, s + lim, np.inf))
    mu = np.exp(q)
    return mu ** (1 - k) * (mu - y)


def pinball(y, p, quantile):
    """The pinball loss of ``quantile`` at the prediction p."""
    r = np.asarray(y, dtype=np.float64) - np.asarray(p, dtype=np.float64)
    return np.where(r >= 0, quantile * r, (quantile - 1.0) * r)


def pinball_gradient(y, p, quantile):
    """Its derivative in p (-quantile on the kink, as scikit-learn's)."""
    return np.where(np.asarray(y) >= np.asarray(p), -quantile, 1.0 - quantile)


def _at_margin_one(y, epsilon):
    return [1.0 / y, -1.0 / y]  # z = y p = +-1


def _around_target(y, epsilon):
    return [y - epsilon, y + epsilon]


def _none(y, epsilon):
    return []


LOSSES = {
    "hinge": LossReference(_margin(lambda z: np.maximum(0.0, 1.0 - z)), _at_margin_one),
    "log_loss": LossReference(_margin(lambda z: np.logaddexp(0.0, -z)), _none),
    "modified_huber": LossReference(_margin(_modified_huber), _at_margin_one),
    "squared_hinge": LossReference(_margin(lambda z: np.maximum(0.0, 1.0 - z) ** 2),
                                   _at_margin_one),
    "perceptron": LossReference(_margin(lambda z: np.maximum(0.0, -z)), lambda y, eps: [0.0]),
    "squared_error": LossReference(_squared, _none),
    "huber": LossReference(_huber, _around_target),
    "epsilon_insensitive": LossReference(_eps_insensitive, _around_target),
    "squared_epsilon_insensitive": LossReference(_squared_eps_insensitive, _around_target),
    # the GLM losses at the estimator's default power and quantile
    "poisson": LossReference(lambda y, p, eps: tweedie_half_deviance(y, p, 1.0), _none, np.abs),
    "gamma": LossReference(lambda y, p, eps: tweedie_half_deviance(y, p, 2.0), _none,
                           lambda y: np.abs(y) + 0.1),
    "tweedie": LossReference(lambda y, p, eps: tweedie_half_deviance(y, p, 1.5), _none, np.abs),
    "quantile": LossReference(lambda y, p, eps: pinball(y, p, 0.5), lambda y, eps: [y]),
}

def domain_targets(name, y, power=1.5):
    """Real targets mapped into the domain of loss ``name`` (its Tweedie
    ``power``): the registry-driven tests draw any real targets."""
    y = np.asarray(y)
    if name == "tweedie":
        if power <= 0:
            return y
        return np.abs(y) if power < 2 else np.abs(y) + np.asarray(0.1, dtype=y.dtype)
    return LOSSES[name].targets(y) if name in LOSSES else y


# predict_proba from the decision function, by LossEntry.probabilities
PROBABILITIES = {
    "logistic": lambda d: 1.0 / (1.0 + np.exp(-d)),
    "modified_huber": lambda d: (np.clip(d, -1.0, 1.0) + 1.0) / 2.0,
}


def margin_loss(name, y_pm, p, epsilon=0.1):
    """Training loss of sklearn's SGD for labels y in {-1, +1}, vectorised."""
    if name not in LOSSES:
        raise ValueError(name)
    y_pm = np.asarray(y_pm, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    return LOSSES[name].value(y_pm, p, epsilon)
