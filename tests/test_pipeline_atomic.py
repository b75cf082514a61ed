"""A failed call of an online pipeline leaves every step as it was: the
scaler that already learnt the event is put back (bitwise: the same arrays,
the same values, the same count), so the pipeline's predictions and its next
events are those of a pipeline that never saw the failed call."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import SGDClassifier as SkSGDClassifier
from sklearn.preprocessing import MinMaxScaler

from streamlr import SGDClassifier, SGDRegressor
from streamlr.pipeline import make_pipeline
from streamlr.preprocessing import StandardScaler
from streamlr.testing import model_state


def _data(seed=0, n=120, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 30.0, size=d) + rng.uniform(-10, 10, size=d)
    y = (X @ rng.normal(size=d) > 0).astype(int)
    return X, y


def _state(pipe):
    """Every fitted array and count of every step (the final estimator's
    whole model state), copied."""
    out = {}
    for name, est in pipe.steps:
        if isinstance(est, (SGDClassifier, SGDRegressor)):
            if hasattr(est, "coef_"):
                for key, value in model_state(est).items():
                    if key != "meta":
                        out[f"{name}.{key}"] = np.array(value, copy=True)
        elif est is not None and not isinstance(est, str):
            for key, value in est.__dict__.items():
                if key.endswith("_") and not key.startswith("_"):
                    out[f"{name}.{key}"] = copy.deepcopy(value)
    return out


def _assert_same(before, after):
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value, err_msg=key)
            assert after[key].dtype == value.dtype, key
        else:
            assert type(after[key]) is type(value) and after[key] == value, key


def _bad_events(d):
    nan = np.zeros(d)
    nan[1] = np.nan
    return [
        ("nan feature", lambda p: p.learn_one(nan, 1), ValueError),
        ("unseen label", lambda p: p.learn_one(np.ones(d), 7), ValueError),
        ("bad weight", lambda p: p.learn_one(np.ones(d), 1, sample_weight=np.inf), ValueError),
        ("nan weight", lambda p: p.learn_one(np.ones(d), 0, sample_weight=np.nan), ValueError),
        ("chunk with an unseen label",
         lambda p: p.partial_fit(np.ones((3, d)), [0, 1, 5]), ValueError),
        ("chunk with a nan", lambda p: p.partial_fit(np.vstack([np.ones(d), nan]), [0, 1]),
         ValueError),
    ]


@pytest.mark.parametrize("case", range(6))
@pytest.mark.parametrize("with_mean", [True, False])
def test_a_failed_call_leaves_every_step_as_it_was(case, with_mean):
    X, y = _data()
    pipe = make_pipeline(StandardScaler(with_mean=with_mean), SGDClassifier(random_state=0))
    for x, t in zip(X[:60], y[:60], strict=True):
        pipe.learn_one(x, t, classes=[0, 1])
    before, predictions = _state(pipe), pipe.decision_function(X)
    name, call, error = _bad_events(X.shape[1])[case]
    with pytest.raises(error):
        call(pipe)
    _assert_same(before, _state(pipe))
    np.testing.assert_array_equal(pipe.decision_function(X), predictions, err_msg=name)
    # and the events after it are those of a pipeline that never saw it
    ref = make_pipeline(StandardScaler(with_mean=with_mean), SGDClassifier(random_state=0))
    for x, t in zip(X[:60], y[:60], strict=True):
        ref.learn_one(x, t, classes=[0, 1])
    for x, t in zip(X[60:], y[60:], strict=True):
        pipe.learn_one(x, t)
        ref.learn_one(x, t)
    _assert_same(_state(ref), _state(pipe))


def test_a_failed_first_event_leaves_the_pipeline_unfitted():
    pipe = make_pipeline(StandardScaler(), SGDClassifier())
    with pytest.raises(ValueError, match="classes"):
        pipe.learn_one(np.arange(4.0), 1)           # the first event needs classes
    assert not hasattr(pipe[0], "mean_") and not hasattr(pipe[-1], "coef_")
    pipe.learn_one(np.arange(4.0), 1, classes=[0, 1])
    assert pipe[0].n_samples_seen_ == 1


def test_a_dict_event_that_fails_is_undone():
    pipe = make_pipeline(StandardScaler(), SGDRegressor(random_state=0))
    pipe.learn_one({"a": 1.0, "b": 2.0}, 1.0)
    pipe.learn_one({"a": 3.0, "b": -2.0}, 0.5)
    before = _state(pipe)
    with pytest.raises(ValueError):
        pipe.learn_one({"a": 3.0, "b": 1.0}, np.inf)   # the target is not finite
    _assert_same(before, _state(pipe))


def test_foreign_steps_are_restored():
    """scikit-learn steps learn through partial_fit and are not atomic by
    themselves: the pipeline puts them back."""
    X, y = _data(3, n=40)
    pipe = make_pipeline(MinMaxScaler(), SkSGDClassifier(random_state=0))
    for x, t in zip(X, y, strict=True):
        pipe.learn_one(x, t, classes=[0, 1])
    before = _state(pipe)
    big = X[0] * 100.0                                 # widens MinMaxScaler's range
    with pytest.raises(ValueError):
        pipe.learn_one(big, 9)                         # a label outside classes
    _assert_same(before, _state(pipe))
    with pytest.raises(ValueError):
        pipe.partial_fit(np.vstack([big, big]), [0, 9])
    _assert_same(before, _state(pipe))


def test_views_of_the_scaler_stay_valid():
    """The undo writes the scaler's arrays in place: a reference taken
    before the failure sees the restored values."""
    X, y = _data(4, n=30)
    pipe = make_pipeline(StandardScaler(), SGDClassifier())
    for x, t in zip(X, y, strict=True):
        pipe.learn_one(x, t, classes=[0, 1])
    mean, kept = pipe[0].mean_, pipe[0].mean_.copy()
    with pytest.raises(ValueError):
        pipe.learn_one(X[0] * 1e3, 5)
    assert pipe[0].mean_ is mean
    np.testing.assert_array_equal(mean, kept)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5)), min_size=1, max_size=40),
       st.integers(0, 2 ** 16))
def test_a_stream_with_bad_events_learns_as_the_good_events_alone(plan, seed):
    """Property: bad events (NaN feature, unseen label, bad weight) among
    good ones leave the pipeline where the good events alone take it."""
    X, y = _data(seed % 7, n=40, d=3)
    pipe = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    ref = make_pipeline(StandardScaler(), SGDClassifier(random_state=0))
    pipe.learn_one(X[0], y[0], classes=[0, 1])
    ref.learn_one(X[0], y[0], classes=[0, 1])
    bad = _bad_events(3)
    for kind, i in plan:
        x, t = X[1 + (i * 7 + seed) % 39], y[1 + (i * 7 + seed) % 39]
        if kind == 0:
            with pytest.raises(ValueError):
                bad[i % 4][1](pipe)
        else:
            pipe.learn_one(x, t)
            ref.learn_one(x, t)
    _assert_same(_state(ref), _state(pipe))
