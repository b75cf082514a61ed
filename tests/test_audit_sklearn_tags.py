"""Audit: scikit-learn's estimator checks on the log-link losses, whose targets
must be positive (``target_tags.positive_only``, as scikit-learn's
PoissonRegressor/GammaRegressor/TweedieRegressor declare it)."""

import pytest
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import estimator_checks_generator

from streamlr import SGDRegressor

WEIGHT_EQUIVALENCE = (
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weight_equivalence_on_sparse_data",
)


@pytest.mark.parametrize("params, positive", [
    (dict(), False), (dict(loss="huber"), False), (dict(loss="quantile"), False),
    (dict(loss="poisson"), True), (dict(loss="gamma"), True),
    (dict(loss="tweedie", power=1.5), True), (dict(loss="tweedie", power=0.0), False),
    (dict(loss="tweedie", power=-1.0), False),
])
def test_positive_only_target_tag(params, positive):
    assert get_tags(SGDRegressor(**params)).target_tags.positive_only is positive


def _cases():
    cases = []
    for est in (SGDRegressor(loss="poisson", random_state=0),
                SGDRegressor(loss="gamma", random_state=0, max_iter=20)):
        for e, check in estimator_checks_generator(est, legacy=True):
            name = getattr(check, "func", check).__name__
            if name not in WEIGHT_EQUIVALENCE:
                cases.append(pytest.param(e, check, id=f"{e!r}-{name}"))
    return cases


@pytest.mark.parametrize("estimator, check", _cases())
def test_sklearn_checks_log_link_losses(estimator, check):
    check(estimator)
