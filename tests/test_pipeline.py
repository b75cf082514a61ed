"""streamlr.pipeline: partial_fit of every step in turn (update, then
transform), the per-event path, parameter routing, bad steps, and the
scikit-learn machinery (clone, GridSearchCV, set_params)."""
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier as SkSGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler

from streamlr import SGDClassifier, SGDRegressor
from streamlr.pipeline import Pipeline, make_pipeline
from streamlr.preprocessing import StandardScaler
from streamlr.testing import model_state


def _data(seed=0, n=400, d=8):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 50.0, size=d) + rng.uniform(-20, 20, size=d)
    y = (X @ rng.normal(size=d) > np.median(X @ rng.normal(size=d))).astype(int)
    return X, y


def _clf(**kw):
    return SGDClassifier(**{"loss": "log_loss", "random_state": 0, **kw})


def _same_model(a, b):
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)


@pytest.mark.parametrize("chunk", [1, 7, 100, 400])
def test_partial_fit_is_each_step_in_turn(chunk):
    X, y = _data()
    pipe = make_pipeline(StandardScaler(), _clf())
    scaler, clf = StandardScaler(), _clf()
    for lo in range(0, len(X), chunk):
        pipe.partial_fit(X[lo:lo + chunk], y[lo:lo + chunk], classes=[0, 1])
        scaler.partial_fit(X[lo:lo + chunk])       # update, then transform
        clf.partial_fit(scaler.transform(X[lo:lo + chunk]), y[lo:lo + chunk], classes=[0, 1])
    _same_model(pipe[-1], clf)
    np.testing.assert_array_equal(pipe[0].var_, scaler.var_)
    np.testing.assert_array_equal(pipe.predict(X), clf.predict(scaler.transform(X)))


@pytest.mark.parametrize("est", [_clf(), _clf(loss="hinge"), SGDRegressor(random_state=0)])
def test_learn_one_is_partial_fit_per_row(est):
    """Per event: bitwise partial_fit on one-row chunks (the scaler's event
    update is scikit-learn's one-row formula; the estimator's learn_one is
    its one-row partial_fit)."""
    X, y = _data(1)
    is_clf = isinstance(est, SGDClassifier)
    y = y if is_clf else X[:, 0] * 0.3 + y
    kw = {"classes": [0, 1]} if is_clf else {}
    events, rows = make_pipeline(StandardScaler(), clone(est)), make_pipeline(StandardScaler(),
                                                                              clone(est))
    for x, t in zip(X, y, strict=True):
        events.learn_one(x, t, **kw)
        rows.partial_fit(x[None], [t], **kw)
    _same_model(events[-1], rows[-1])
    a, b = model_state(events[-1]), model_state(rows[-1])
    for key in a:
        if key != "meta":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for x in X[:20]:
        assert events.predict_one(x) == rows.predict(x[None])[0]
    if hasattr(est, "predict_proba"):
        proba = events.predict_proba_one(X[0])
        np.testing.assert_allclose(list(proba.values()), rows.predict_proba(X[:1])[0], rtol=1e-12)


def test_events_are_update_then_transform():
    X, y = _data(2, n=5)
    pipe = make_pipeline(StandardScaler(), _clf())
    scaler, clf = StandardScaler(), _clf()
    for x, t in zip(X, y, strict=True):
        pipe.learn_one(x, t, classes=[0, 1])
        scaler.learn_one(x)
        clf.learn_one(scaler.transform_one(x), t, classes=[0, 1])
    _same_model(pipe[-1], clf)


def test_dict_events():
    X, y = _data(3, n=100, d=3)
    pipe = make_pipeline(StandardScaler(), _clf())
    for x, t in zip(X, y, strict=True):
        pipe.learn_one({"a": x[0], "b": x[1], "c": x[2]}, t, classes=[0, 1])
    arrays = make_pipeline(StandardScaler(), _clf())
    for x, t in zip(X, y, strict=True):
        arrays.learn_one(x, t, classes=[0, 1])
    np.testing.assert_allclose(pipe[-1].coef_, arrays[-1].coef_, rtol=1e-12, atol=1e-12)
    assert pipe.predict_one({"a": 1.0, "b": 2.0, "c": 3.0}) == arrays.predict_one(
        np.array([1.0, 2.0, 3.0]))
    assert list(pipe[-1].feature_names_in_) == ["a", "b", "c"]


def test_parameter_routing():
    X, y = _data(4, n=60)
    w = np.linspace(0.5, 2.0, 60)
    pipe = make_pipeline(StandardScaler(), _clf())
    pipe.partial_fit(X, y, classes=[0, 1], sample_weight=w, standardscaler__sample_weight=w)
    scaler = StandardScaler().partial_fit(X, sample_weight=w)
    clf = _clf().partial_fit(scaler.transform(X), y, classes=[0, 1], sample_weight=w)
    np.testing.assert_array_equal(pipe[0].mean_, scaler.mean_)
    _same_model(pipe[-1], clf)


def test_a_step_without_partial_fit_is_named_before_any_change():
    X, y = _data(5, n=20)
    pipe = Pipeline([("scale", StandardScaler()), ("log", FunctionTransformer(np.abs)),
                     ("clf", _clf())])
    with pytest.raises(TypeError, match="step 'log' \\(FunctionTransformer\\) has no partial_fit"):
        pipe.partial_fit(X, y, classes=[0, 1])
    assert not hasattr(pipe[0], "mean_")
    with pytest.raises(TypeError, match="step 'log'"):
        pipe.learn_one(X[0], y[0], classes=[0, 1])
    final = make_pipeline(StandardScaler(), FunctionTransformer(np.abs))
    with pytest.raises(TypeError, match="functiontransformer"):
        final.partial_fit(X)


def test_other_steps_learn_through_partial_fit():
    """A scikit-learn transformer (no learn_one) and a scikit-learn final
    estimator (no learn_one/predict_one) per event: their partial_fit,
    transform and predict on one row."""
    X, y = _data(6, n=80)
    pipe = make_pipeline(MinMaxScaler(), "passthrough", SkSGDClassifier(random_state=0))
    ref = make_pipeline(MinMaxScaler(), "passthrough", SkSGDClassifier(random_state=0))
    for x, t in zip(X, y, strict=True):
        pipe.learn_one(x, t, classes=[0, 1])
        ref.partial_fit(x[None], [t], classes=[0, 1])
    np.testing.assert_array_equal(pipe[-1].coef_, ref[-1].coef_)
    assert pipe.predict_one(X[0]) == ref.predict(X[:1])[0]


def test_clone_gridsearch_pickle():
    X, y = _data(7, n=300)
    pipe = make_pipeline(StandardScaler(), _clf())
    c = clone(pipe)
    assert type(c) is Pipeline and c.get_params()["sgdclassifier__loss"] == "log_loss"
    search = GridSearchCV(pipe, {"sgdclassifier__alpha": [1e-4, 1e-2],
                                 "standardscaler__with_mean": [True, False]}, cv=3).fit(X, y)
    best = search.best_estimator_
    assert type(best) is Pipeline
    best.learn_one(X[0], y[0])
    assert best.predict_one(X[1]) in (0, 1)
    for x, t in zip(X[:50], y[:50], strict=True):
        pipe.learn_one(x, t, classes=[0, 1])
    again = pickle.loads(pickle.dumps(pipe))
    for x, t in zip(X[50:], y[50:], strict=True):
        pipe.learn_one(x, t)
        again.learn_one(x, t)
    _same_model(pipe[-1], again[-1])
    pipe.set_params(sgdclassifier__alpha=0.01)
    pipe.learn_one(X[0], y[0])


def test_returned_events_are_not_shared():
    X, _ = _data(8, n=10)
    s = StandardScaler()
    for x in X:
        s.learn_one(x)
    a, b = s.transform_one(X[0]), s.transform_one(X[1])
    assert not np.shares_memory(a, b)


def test_dense_events_take_the_compiled_path(monkeypatch):
    """After the first event, a dense event goes through the scaler's kernel
    alone: neither partial_fit nor transform runs."""
    X, y = _data(9, n=30)
    pipe = make_pipeline(StandardScaler(), _clf())
    pipe.learn_one(X[0], y[0], classes=[0, 1])

    def refuse(*args, **kwargs):
        raise AssertionError("the slow path ran")

    monkeypatch.setattr(StandardScaler, "partial_fit", refuse)
    monkeypatch.setattr(StandardScaler, "transform", refuse)
    for x, t in zip(X[1:], y[1:], strict=True):
        pipe.learn_one(x, t)
        pipe.predict_one(x)
        pipe.predict_proba_one(x)
