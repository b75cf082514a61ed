"""Loss functions of the compiled kernel (streamlr._kernels.losses).

``make_loss(name, epsilon)`` returns an object with ``_py_loss(y, p)`` and
``_py_dloss(y, p)``; dloss is d loss / d p *without* the +-1e12 clipping
(the SGD loop clips). For log_loss y is in {0, 1} (half-binomial:
log1p(exp(p)) - y p); the other classification losses take y in {-1, +1}.

The losses come from the registry (``streamlr._registry.losses()``): each
row is checked against its NumPy definition in ``_reference.LOSSES`` (a row
without one fails), against scikit-learn's loss objects, and inside the
estimators (which tasks accept it, the target of the negative class, how
``predict_proba`` is derived).
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn._loss._loss import CyHalfBinomialLoss, CyHalfSquaredError, CyHuberLoss
from sklearn.linear_model import SGDClassifier as SkSGDClassifier
from sklearn.linear_model import _sgd_fast

from _reference import LOSSES as REFERENCE
from _reference import PROBABILITIES
from conftest import make_classification_data, make_regression_data

from streamlr import SGDClassifier, SGDRegressor, _registry
from streamlr._kernels import losses as kernel_losses
from streamlr._kernels.losses import make_loss

EPS = 0.1

# classification only (labels in the binary encoding), and the regression losses
CLASSIFICATION = [e.name for e in _registry.losses() if "regression" not in e.tasks]
REGRESSION = [e.name for e in _registry.losses("regression")]
ALL = [e.name for e in _registry.losses()]


def _kinks(name, y):
    """Values of p where the loss is not twice differentiable."""
    return REFERENCE[name].kinks(y, EPS) if name in REFERENCE else []


def _labels(name):
    entry = _registry.loss(name)
    if "regression" in entry.tasks:  # real targets, in the loss's domain
        return st.floats(-5.0, 5.0, allow_nan=False).map(
            lambda y: float(REFERENCE[name].targets(np.float64(y))))
    return st.sampled_from([entry.negative_target, 1.0])  # the kernel's encoding


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


# the registry's losses that scikit-learn has (all of them today)
SKLEARN = [name for name in ALL if name in SkSGDClassifier.loss_functions]


@pytest.mark.parametrize("name", SKLEARN)
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


@pytest.mark.parametrize("name", [e.name for e in _registry.losses() if e.uses_epsilon])
def test_epsilon_is_used(name):
    wide = make_loss(name, epsilon=1.0)
    narrow = make_loss(name, epsilon=0.01)
    assert wide._py_loss(0.0, 0.5) != narrow._py_loss(0.0, 0.5)
    if name != "huber":
        assert wide._py_loss(0.0, 0.5) == 0.0


@pytest.mark.parametrize("name", [e.name for e in _registry.losses() if not e.uses_epsilon])
def test_epsilon_is_ignored(name):
    for y in (1.0, float(REFERENCE[name].targets(np.float64(_registry.loss(name).negative_target)))):
        for p in (-1.5, -0.05, 0.0, 0.5, 2.0):
            assert make_loss(name, epsilon=1.0)._py_loss(y, p) == make_loss(
                name, epsilon=0.01)._py_loss(y, p)


def test_default_epsilon_is_sklearn_default():
    assert make_loss("huber")._py_loss(0.0, 1.0) == make_loss("huber", epsilon=0.1)._py_loss(0.0, 1.0)


def test_unknown_loss_name():
    with pytest.raises((ValueError, KeyError)):
        make_loss("bogus")


# --------------------------------------------------------------------------
# the registry
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_every_loss_has_a_reference(name):
    assert name in REFERENCE, f"{name} has no NumPy definition: add one to tests/_reference.py"


def test_registry_losses_are_the_kernel_losses():
    entries = _registry.losses()
    assert {e.kernel for e in entries} == set(kernel_losses.LOSS_NAMES)
    assert [e.name for e in entries] == ALL and len(set(ALL)) == len(ALL)
    assert set(CLASSIFICATION) | set(REGRESSION) == set(ALL)
    for e in entries:
        assert e.tasks and e.tasks <= set(_registry.TASKS), e.name
        assert e.negative_target in (0.0, -1.0), e.name
        assert e.probabilities in (None, *PROBABILITIES), e.name
        assert _registry.loss(e.name) is e
    with pytest.raises(ValueError, match="task"):
        _registry.losses("ranking")


@pytest.mark.parametrize("name", ALL)
def test_kernel_loss_is_the_reference(name):
    """The kernel's value in the entry's target encoding equals the NumPy
    definition (labels +-1 for the classification-only losses)."""
    entry = _registry.loss(name)
    loss = make_loss(entry.kernel, epsilon=EPS)
    ps = np.linspace(-3.0, 3.0, 61)
    if "regression" in entry.tasks:
        ys = [-2.0, -0.05, 0.0, 0.3, 1.0]
        encode = lambda y: float(REFERENCE[name].targets(np.float64(y)))  # noqa: E731
        as_reference = encode
    else:
        ys = [-1.0, 1.0]
        encode = lambda y_pm: 1.0 if y_pm > 0 else entry.negative_target  # noqa: E731
        as_reference = float
    for y in ys:
        got = [loss._py_loss(encode(y), p) for p in ps]
        expected = REFERENCE[name].value(np.float64(as_reference(y)), ps, EPS)
        assert_allclose(got, expected, rtol=1e-12, atol=1e-15, err_msg=f"{name} y={y}")


@pytest.mark.parametrize("name", ALL)
def test_estimators_accept_the_losses_of_their_task(name):
    entry = _registry.loss(name)
    Xc, yc = make_classification_data(n_samples=20)
    Xr, yr = make_regression_data(n_samples=20)
    if name in REFERENCE:
        yr = REFERENCE[name].targets(yr)
    for make, task, X, y in ((SGDClassifier, "classification", Xc, yc),
                             (SGDRegressor, "regression", Xr, yr)):
        est = make(loss=name, max_iter=2, tol=None)
        if task in entry.tasks:
            est.fit(X, y)
            assert est.loss == name
        else:
            with pytest.raises(ValueError, match="loss"):
                est.fit(X, y)


@pytest.mark.parametrize("name", [e.name for e in _registry.losses("classification")])
def test_negative_target_is_the_binary_encoding(name):
    """One sample of the negative class from zero weights (plain SGD, dense,
    no penalty): w = -eta0 * dloss(negative_target, 0) * x."""
    entry = _registry.loss(name)
    X, y = make_classification_data(n_samples=30)
    i = int(np.flatnonzero((y == 0) & (np.abs(X).sum(axis=1) > 0))[0])
    est = SGDClassifier(loss=name, penalty=None, learning_rate="constant", eta0=0.1,
                        shuffle=False, epsilon=EPS)
    est.partial_fit(X[i:i + 1], y[i:i + 1], classes=[0, 1])
    step = -0.1 * make_loss(entry.kernel, epsilon=EPS)._py_dloss(entry.negative_target, 0.0)
    assert step != 0.0
    assert_allclose(est.coef_.ravel(), step * X[i], rtol=1e-14, atol=1e-300)
    assert_allclose(est.intercept_, [step], rtol=1e-14)


@pytest.mark.parametrize("name", [e.name for e in _registry.losses("classification")])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_probabilities_as_the_registry_says(name, n_classes):
    entry = _registry.loss(name)
    X, y = make_classification_data(n_samples=60, n_classes=n_classes)
    est = SGDClassifier(loss=name, max_iter=3, tol=None, random_state=0).fit(X, y)
    if entry.probabilities is None:
        assert not hasattr(est, "predict_proba")
        return
    d = est.decision_function(X)
    p = PROBABILITIES[entry.probabilities](d)
    if n_classes == 2:
        expected = np.column_stack([1.0 - p, p])
    else:
        total = p.sum(axis=1, keepdims=True)
        expected = np.where(total > 0, p / np.where(total > 0, total, 1.0), 1.0 / n_classes)
    assert_allclose(est.predict_proba(X), expected, rtol=1e-12, atol=1e-15)
