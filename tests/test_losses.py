"""Loss functions of the compiled kernel (streamlr._kernels.losses).

``make_loss(name, epsilon)`` returns an object with ``_py_loss(y, p)`` and
``_py_dloss(y, p)``; dloss is d loss / d p *without* the +-1e12 clipping
(the SGD loop clips). For log_loss y is in {0, 1} (half-binomial:
log1p(exp(p)) - y p); the other classification losses take y in {-1, +1}.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn._loss._loss import CyHalfBinomialLoss, CyHalfSquaredError, CyHuberLoss
from sklearn.linear_model import _sgd_fast

from streamlr._kernels.losses import make_loss

EPS = 0.1

CLASSIFICATION = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron"]
REGRESSION = ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
ALL = CLASSIFICATION + REGRESSION


def _kinks(name, y):
    """Values of p where the loss is not twice differentiable."""
    if name in ("hinge", "squared_hinge", "modified_huber"):
        # z = y p in {1} (and -1 for modified_huber), y in {-1, 1}
        return [1.0 / y, -1.0 / y]
    if name == "perceptron":
        return [0.0]
    if name in ("huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        return [y - EPS, y + EPS]
    return []


def _labels(name):
    if name == "log_loss":
        return st.sampled_from([0.0, 1.0])
    if name in CLASSIFICATION:
        return st.sampled_from([-1.0, 1.0])
    return st.floats(-5.0, 5.0, allow_nan=False)


H = 1e-6


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_dloss_is_derivative_of_loss(name, data):
    loss = make_loss(name, epsilon=EPS)
    y = data.draw(_labels(name), label="y")
    p = data.draw(st.floats(-8.0, 8.0, allow_nan=False), label="p")
    for k in _kinks(name, y):
        assume(abs(p - k) > 1e-3)
    fd = (loss._py_loss(y, p + H) - loss._py_loss(y, p - H)) / (2 * H)
    d = loss._py_dloss(y, p)
    # central difference error: O(H^2 f''') + O(ulp(f) / H)
    scale = max(1.0, abs(loss._py_loss(y, p)))
    assert abs(d - fd) <= 1e-6 * scale + 1e-6 * abs(d), (y, p, d, fd)


def _sklearn_value(name, y, p):
    """(loss, dloss) from scikit-learn's own loss objects."""
    simple = {
        "hinge": lambda: _sgd_fast.Hinge(1.0),
        "perceptron": lambda: _sgd_fast.Hinge(0.0),
        "squared_hinge": lambda: _sgd_fast.SquaredHinge(1.0),
        "modified_huber": lambda: _sgd_fast.ModifiedHuber(),
        "epsilon_insensitive": lambda: _sgd_fast.EpsilonInsensitive(EPS),
        "squared_epsilon_insensitive": lambda: _sgd_fast.SquaredEpsilonInsensitive(EPS),
    }
    if name in simple:
        obj = simple[name]()
        return obj.py_loss(p, y), obj.py_dloss(p, y)
    obj = {
        "log_loss": CyHalfBinomialLoss,
        "squared_error": CyHalfSquaredError,
        "huber": lambda: CyHuberLoss(EPS),
    }[name]()
    yy = np.array([y], dtype=np.float64)
    pp = np.array([p], dtype=np.float64)
    out = np.empty(1)
    grad = np.empty(1)
    obj.loss(y_true=yy, raw_prediction=pp, sample_weight=None, loss_out=out, n_threads=1)
    obj.gradient(y_true=yy, raw_prediction=pp, sample_weight=None, gradient_out=grad, n_threads=1)
    return out[0], grad[0]


@pytest.mark.parametrize("name", ALL)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_loss_agrees_with_sklearn(name, data):
    loss = make_loss(name, epsilon=EPS)
    y = data.draw(_labels(name), label="y")
    p = data.draw(st.floats(-30.0, 30.0, allow_nan=False), label="p")
    ref_l, ref_d = _sklearn_value(name, y, p)
    assert_allclose(loss._py_loss(y, p), ref_l, rtol=1e-9, atol=1e-12)
    assert_allclose(loss._py_dloss(y, p), ref_d, rtol=1e-9, atol=1e-12)


HAND = [
    # name, y, p, loss, dloss
    ("hinge", 1.0, 0.5, 0.5, -1.0),
    ("hinge", -1.0, 0.5, 1.5, 1.0),
    ("hinge", 1.0, 2.0, 0.0, 0.0),
    ("hinge", 1.0, 1.0, 0.0, -1.0),  # z <= 1 counts as a violation (sklearn)
    ("perceptron", 1.0, -0.5, 0.5, -1.0),
    ("perceptron", 1.0, 0.5, 0.0, 0.0),
    ("perceptron", -1.0, 0.0, 0.0, 1.0),  # z <= 0 -> gradient -y
    ("log_loss", 1.0, 0.0, math.log(2.0), -0.5),
    ("log_loss", 0.0, 0.0, math.log(2.0), 0.5),
    ("log_loss", 1.0, 2.0, math.log1p(math.exp(-2.0)), 1.0 / (1.0 + math.exp(-2.0)) - 1.0),
    ("log_loss", 0.0, 800.0, 800.0, 1.0),  # no overflow for large p
    ("log_loss", 1.0, -800.0, 800.0, -1.0),
    ("modified_huber", 1.0, 0.5, 0.25, -1.0),
    ("modified_huber", 1.0, -2.0, 8.0, -4.0),
    ("modified_huber", -1.0, 2.0, 8.0, 4.0),
    ("modified_huber", 1.0, 1.5, 0.0, 0.0),
    ("squared_hinge", 1.0, 0.5, 0.25, -1.0),
    ("squared_hinge", -1.0, 1.0, 4.0, 4.0),
    ("squared_hinge", 1.0, 3.0, 0.0, 0.0),
    ("squared_error", 1.0, 3.0, 2.0, 2.0),
    ("squared_error", -1.0, -1.0, 0.0, 0.0),
    ("squared_error", 0.0, 1e13, 0.5e26, 1e13),  # dloss is not clipped here
    ("huber", 0.0, 0.05, 0.00125, 0.05),
    ("huber", 0.0, 1.0, 0.1 * (1.0 - 0.05), 0.1),
    ("huber", 2.0, 1.0, 0.1 * (1.0 - 0.05), -0.1),
    ("epsilon_insensitive", 0.0, 0.5, 0.4, 1.0),
    ("epsilon_insensitive", 0.0, -0.5, 0.4, -1.0),
    ("epsilon_insensitive", 0.0, 0.05, 0.0, 0.0),
    ("squared_epsilon_insensitive", 0.0, 0.5, 0.16, 0.8),
    ("squared_epsilon_insensitive", 0.0, -0.5, 0.16, -0.8),
    ("squared_epsilon_insensitive", 1.0, 1.05, 0.0, 0.0),
]


@pytest.mark.parametrize("name,y,p,expected_loss,expected_dloss", HAND)
def test_hand_computed_values(name, y, p, expected_loss, expected_dloss):
    loss = make_loss(name, epsilon=EPS)
    assert_allclose(loss._py_loss(y, p), expected_loss, rtol=1e-12, atol=1e-15)
    assert_allclose(loss._py_dloss(y, p), expected_dloss, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["huber", "epsilon_insensitive", "squared_epsilon_insensitive"])
def test_epsilon_is_used(name):
    wide = make_loss(name, epsilon=1.0)
    narrow = make_loss(name, epsilon=0.01)
    assert wide._py_loss(0.0, 0.5) != narrow._py_loss(0.0, 0.5)
    if name != "huber":
        assert wide._py_loss(0.0, 0.5) == 0.0


def test_default_epsilon_is_sklearn_default():
    assert make_loss("huber")._py_loss(0.0, 1.0) == make_loss("huber", epsilon=0.1)._py_loss(0.0, 1.0)


def test_unknown_loss_name():
    with pytest.raises((ValueError, KeyError)):
        make_loss("bogus")
