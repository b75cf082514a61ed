"""The rollback of a call that reacts to drift, and what its snapshot costs.

A reaction to drift (restart, reset) changes every column of the model (the
optimizer's slots, the stamps, the average). A call of a few sparse rows
snapshots the columns it touches only, and takes every column at its first
reaction, before the reaction changes anything (``_widen_snapshot``,
snapshot.pxi). These tests make a call detect drift, react, then fail (a
row that makes the model diverge, or a bad column index), and check that the
model and its predictions are bitwise as before: dense and CSR, average on
and off, one-vs-rest, the softmax model, regression, with and without a
rate race, the bound engine (a few rows) and the general path.
"""
import numpy as np
import pytest
import scipy.sparse as sp

from streamlr import SGDClassifier, SGDRegressor
from streamlr.drift import ADWIN
from streamlr.linear_model import _driver

D_INFO, D_WIDE = 8, 1 << 14
STATE = ("weight_blocks", "average_weights", "l1_received", "last_update", "scalars",
         "intercept_block", "schedule_state", "drift_state", "drifts")


def stream(task, n, seed, flip):
    """Rows of D_INFO informative columns whose concept changes at row
    ``flip``; labels (or targets) of that concept."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D_INFO))
    W = 2.0 * rng.normal(size=(2, D_INFO, 3))
    scores = np.where(np.arange(n)[:, None] < flip, X @ W[0], X @ W[1])
    if task == "regression":
        return X, scores[:, 0] + 20.0 * (np.arange(n) >= flip)
    if task == "binary":
        return X, (scores[:, 0] > 0).astype(int)
    return X, np.argmax(scores, axis=1)


def with_noise_columns(X, seed, per_row):
    """X (dense) in D_INFO + D_WIDE columns, ``per_row`` random other columns set in each row."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    cols = D_INFO + rng.integers(0, D_WIDE, size=(n, per_row))
    rows = np.repeat(np.arange(n), per_row)
    noise = sp.csr_matrix((rng.normal(size=n * per_row), (rows, cols.ravel())),
                          shape=(n, D_INFO + D_WIDE))
    return (sp.hstack([sp.csr_matrix(X), sp.csr_matrix((n, D_WIDE))], format="csr")
            + noise).tocsr()


def make(task, average, race):
    kw = dict(optimizer="adam", average=average, shuffle=False, penalty="l2", alpha=1e-4,
              drift_detector=ADWIN(clock=4, delta=0.3), on_drift="restart")
    kw.update(learning_rate="auto") if race else kw.update(learning_rate="constant", eta0=0.01)
    if task == "regression":
        return SGDRegressor(**kw)
    return SGDClassifier(loss="log_loss", multi_class="multinomial" if task == "softmax" else "ovr",
                         **kw)


def state(est):
    return {name: getattr(est._model, name).copy() for name in STATE}


def predictions(est, X):
    if isinstance(est, SGDRegressor):
        return est.predict(X)
    return est.decision_function(X)


def case(task, average, race, sparse, rows, seed=0):
    """A model trained on 300 rows of one concept (over every column, when
    sparse), and a call of ``rows`` rows of another concept (on the
    informative columns only) that detects drift."""
    task_ = "ovr" if task == "softmax" else task
    X, y = stream(task_, 300 + rows, seed, flip=300)
    est = make(task, average, race)
    fit_kw = {} if task == "regression" else {"classes": np.unique(y)}
    if sparse:
        Xfit = with_noise_columns(X[:300], seed + 1, per_row=30)
        Xcall = with_noise_columns(X[300:], seed + 2, per_row=0)
        Xtest = with_noise_columns(X[:50], seed + 3, per_row=30)
    else:
        Xfit, Xcall, Xtest = X[:300], X[300:], X[:50]
    est.partial_fit(Xfit, y[:300], **fit_kw)
    return est, Xcall, y[300:], Xtest


def last_row_diverges(n):
    """Sample weights of a call whose last row makes the model diverge."""
    sw = np.ones(n)
    sw[-1] = 1e308
    return sw


def assert_rolled_back(est, before, Xtest, served):
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(est._model, name), value, err_msg=name)
    np.testing.assert_array_equal(predictions(est, Xtest), served)


GRID = [(task, average, race)
        for task in ("binary", "ovr", "softmax", "regression")
        for average in (False, True)
        for race in (False, True)]


@pytest.mark.parametrize("task,average,race", GRID)
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("rows", [40, 200])     # the bound engine, the general path
def test_a_call_that_restarts_then_diverges_changes_nothing(task, average, race, sparse, rows):
    est, Xcall, ycall, Xtest = case(task, average, race, sparse, rows)
    probe, *_ = case(task, average, race, sparse, rows)
    n_before = len(est.drifts_)
    probe.partial_fit(Xcall[:-1], ycall[:-1])
    assert len(probe.drifts_) > n_before        # the failing call restarts before it fails
    before, served = state(est), predictions(est, Xtest)
    with pytest.raises(ValueError):             # DivergenceError is a ValueError
        est.partial_fit(Xcall, ycall, sample_weight=last_row_diverges(Xcall.shape[0]))
    assert_rolled_back(est, before, Xtest, served)
    if sparse:
        # the restart changed the columns the call does not touch (their slots)
        assert not np.array_equal(probe._model.weight_blocks[..., D_INFO:, 1:],
                                  before["weight_blocks"][..., D_INFO:, 1:])
    # and the stream goes on as if the call never happened
    est.partial_fit(Xcall[:-1], ycall[:-1])
    for name, value in state(probe).items():
        np.testing.assert_array_equal(getattr(est._model, name), value, err_msg=name)


@pytest.mark.parametrize("task,average,race", GRID)
@pytest.mark.parametrize("rows", [40, 200])
def test_a_call_that_restarts_then_meets_a_bad_column_changes_nothing(task, average, race, rows):
    est, Xcall, ycall, Xtest = case(task, average, race, True, rows)
    before, served = state(est), predictions(est, Xtest)
    bad = Xcall.copy()
    bad.indices[-1] = bad.shape[1] + 5          # the last row's last column is out of range
    with pytest.raises(ValueError):
        est.partial_fit(bad, ycall)
    assert_rolled_back(est, before, Xtest, served)


@pytest.mark.parametrize("average", [False, True])
def test_learn_one_that_restarts_then_fails_changes_nothing(average):
    est, Xcall, ycall, Xtest = case("binary", average, False, True, 200)
    # the row that flags drift, learned one by one
    i = 0
    n_before = len(est.drifts_)
    while len(est.drifts_) == n_before:
        est.learn_one(Xcall[i], ycall[i])
        i += 1
    assert len(est.drifts_) == n_before + 1
    # a failing event after a restart (in the same engine) changes nothing either
    before, served = state(est), predictions(est, Xtest)
    with pytest.raises(ValueError):
        est.learn_one(Xcall[i], ycall[i], sample_weight=1e308)
    assert_rolled_back(est, before, Xtest, served)


def test_a_sparse_call_snapshots_its_columns_only():
    """Adam with a detector: a call of many sparse rows needs no snapshot of
    every column up front (the restart widens it), so the engine does not
    ask for one."""
    for average in (False, True):
        est, Xcall, ycall, _ = case("binary", average, False, True, 40)
        engine = _driver.current_engine(est)
        assert not engine.may_fold_scale(10_000, True)
