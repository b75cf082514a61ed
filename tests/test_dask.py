"""Dask: dask-ml's wrappers and searches, and fit_parallel, on a local cluster.

Skipped when dask / distributed (or dask-ml, for its tests) are not installed.
"""
import copy
import warnings

import numpy as np
import pytest
from sklearn.metrics import log_loss

from streamlr import SGDClassifier, SGDRegressor
from streamlr.optim import Adam
from streamlr.schedules import Constant, CosineAnnealing

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from streamlr.dask import fit_parallel, mix, search_compat  # noqa: E402

BLOCK = 250


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cluster's start-up chatter
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                           dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 8))
    w = np.array([1.5, -2.0, 0.5, 0.0, 1.0, 0.0, -0.5, 0.25])
    y = (X @ w + 0.5 * rng.normal(size=3000) > 0).astype(np.int64)
    return X, y


def _dask(X, y):
    return da.from_array(X, chunks=(BLOCK, X.shape[1])), da.from_array(y, chunks=BLOCK)


def _model(**kw):
    params = {"loss": "log_loss", "optimizer": "adam", "learning_rate": "constant",
              "eta0": 0.01, "shuffle": False}
    params.update(kw)
    return SGDClassifier(**params)


def _sequential(model, X, y, blocks, classes=(0, 1)):
    for b in blocks:
        model.partial_fit(X[b * BLOCK:(b + 1) * BLOCK], y[b * BLOCK:(b + 1) * BLOCK],
                          classes=list(classes))
    return model


# -- fit_parallel ------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "nadam", "ftrl", "prodigy"])
def test_one_split_is_sequential_partial_fit(client, data, optimizer):
    X, y = data
    dX, dy = _dask(X, y)
    est = fit_parallel(_model(optimizer=optimizer), dX, dy, rounds=2, classes=[0, 1],
                       n_splits=1)
    ref = _sequential(_model(optimizer=optimizer), X, y, list(range(12)) * 2)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-12, atol=1e-14)
    assert est.t_ == ref.t_ == 2 * len(y) + 1
    assert est.progressive_loss_ == pytest.approx(ref.progressive_loss_, rel=1e-12)
    for key, value in ref.optimizer_state_.items():
        np.testing.assert_allclose(est.optimizer_state_[key], value, rtol=1e-12, atol=1e-14)


def test_two_splits_average_the_copies(client, data):
    X, y = data
    dX, dy = _dask(X, y)
    est = fit_parallel(_model(), dX, dy, rounds=1, classes=[0, 1], n_splits=2)
    first = _sequential(_model(), X, y, range(6))
    second = _sequential(_model(), X, y, range(6, 12))
    np.testing.assert_allclose(est.coef_, (first.coef_ + second.coef_) / 2, rtol=1e-12)
    np.testing.assert_allclose(est.intercept_, (first.intercept_ + second.intercept_) / 2)
    for key in ("exp_avg", "exp_avg_sq", "exp_avg_intercept"):
        np.testing.assert_allclose(est.optimizer_state_[key], (first.optimizer_state_[key]
                                   + second.optimizer_state_[key]) / 2, rtol=1e-12)
    assert est.t_ == len(y) + 1  # every sample counts once
    total = first.progressive_loss_ * 1500 + second.progressive_loss_ * 1500
    assert est.progressive_loss_ == pytest.approx(total / 3000)
    assert est.lr_history_.shape == (1, 3) and est.lr_history_[0, 0] == len(y)


def test_next_round_starts_from_the_average(client, data):
    X, y = data
    dX, dy = _dask(X, y)
    two = fit_parallel(_model(), dX, dy, rounds=2, classes=[0, 1], n_splits=2)
    one = fit_parallel(_model(), dX, dy, rounds=1, classes=[0, 1], n_splits=2)
    copies = [_sequential(copy.deepcopy(one), X, y, blocks) for blocks in (range(6), range(6, 12))]
    expected = mix(copies, base=one)
    np.testing.assert_allclose(two.coef_, expected.coef_, rtol=1e-12)
    assert two.t_ == expected.t_ == 2 * len(y) + 1
    assert two.lr_history_.shape == (2, 3)
    # continuing from a fitted estimator: one more round on top of `one`
    more = fit_parallel(copy.deepcopy(one), dX, dy, rounds=1, n_splits=2)
    np.testing.assert_allclose(more.coef_, two.coef_, rtol=1e-12)


def test_held_out_loss_close_to_single_process(client, data):
    X, y = data
    Xtr, ytr, Xte, yte = X[:2500], y[:2500], X[2500:], y[2500:]
    dX, dy = _dask(Xtr, ytr)
    par = fit_parallel(_model(), dX, dy, rounds=3, n_splits=2)  # classes from da.unique
    seq = _sequential(_model(), Xtr, ytr, list(range(10)) * 3)
    lp, ls = log_loss(yte, par.predict_proba(Xte)), log_loss(yte, seq.predict_proba(Xte))
    assert lp < 1.15 * ls
    assert lp < 0.5 * np.log(2)  # it learned something


def test_regressor_and_schedule(client, data):
    X, _ = data
    y = X @ np.arange(8.0) / 8
    dX, dy = _dask(X, y)
    est = SGDRegressor(optimizer=Adam(), learning_rate=CosineAnnealing(0.05, 6000),
                       shuffle=False)
    fit_parallel(est, dX, dy, rounds=2, n_splits=2)
    assert est.coef_.shape == (8,) and est.t_ == 6001
    # round 2 starts at t = 3000 (all samples of round 1); each copy then
    # makes 1500 updates, the last at t = 4499
    assert est.lr_ == pytest.approx(CosineAnnealing(0.05, 6000)(4499))
    assert est.score(X, y) > 0.95


def test_fit_parallel_errors(client, data):
    X, y = data
    dX, dy = _dask(X, y)
    with pytest.raises(ValueError, match="average"):
        fit_parallel(_model(average=True), dX, dy)
    with pytest.raises(ValueError, match="rounds"):
        fit_parallel(_model(), dX, dy, rounds=0)
    with pytest.raises(TypeError, match="dask array"):
        fit_parallel(_model(), X, dy)
    with pytest.raises(ValueError, match="exceeds the 12 row blocks"):
        fit_parallel(_model(), dX, dy, n_splits=13)
    with pytest.raises(TypeError, match="streamlr estimator"):
        from sklearn.linear_model import SGDClassifier as Sk

        fit_parallel(Sk(), dX, dy)


# -- dask-ml ----------------------------------------------------------------------------------


def test_dask_ml_incremental(client, data):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = data
    dX, dy = _dask(X, y)
    inc = wrappers.Incremental(_model(), scoring="accuracy", shuffle_blocks=False)
    inc.fit(dX, dy, classes=[0, 1])
    ref = _sequential(_model(), X, y, range(12))
    np.testing.assert_array_equal(inc.estimator_.coef_, ref.coef_)
    assert inc.score(dX, dy) == pytest.approx(ref.score(X, y))


PARAMS = {
    "eta0": [1e-3, 1e-2, 1e-1],
    "optimizer": ["sgd", "adam", Adam(amsgrad=True)],
    "learning_rate": ["constant", Constant(0.05), CosineAnnealing(0.05, 3000)],
}


def _check_search(search):
    assert isinstance(search.best_estimator_, SGDClassifier)
    assert search.best_estimator_.t_ > 1
    for key, value in search.best_params_.items():
        assert value in PARAMS[key]
    assert 0.8 < search.best_score_ <= 1.0


def test_dask_ml_incremental_search(client, data):
    ms = pytest.importorskip("dask_ml.model_selection")
    X, y = data
    dX, dy = _dask(X, y)
    search = ms.IncrementalSearchCV(_model(), PARAMS, n_initial_parameters=6, max_iter=4,
                                    decay_rate=None, random_state=0)
    with search_compat(client):
        search.fit(dX, dy, classes=[0, 1])
    _check_search(search)


def test_dask_ml_hyperband_search(client, data):
    ms = pytest.importorskip("dask_ml.model_selection")
    X, y = data
    dX, dy = _dask(X, y)
    search = ms.HyperbandSearchCV(_model(), PARAMS, max_iter=9, random_state=0)
    with search_compat(client):
        search.fit(dX, dy, classes=[0, 1])
    _check_search(search)
    assert search.metadata_["n_models"] == len(search.cv_results_["params"])
