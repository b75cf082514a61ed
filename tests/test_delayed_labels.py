"""Delayed labels: ``predict_one(x, key=k)`` remembers an event,
``learn_label(k, y)`` learns it later (api.md, "Streams that change").

learn_label is learn_one of the remembered row at the current weights,
bitwise, except the progressive loss, which is the loss of the decision value
served at predict_one time (checked against NumPy's loss formulas and,
exactly, against the sum the loop would add)."""
import copy
from collections import OrderedDict

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from _reference import LOSSES

import streamlr
from streamlr import SGDClassifier, SGDRegressor
from streamlr.drift import ADWIN, PageHinkley
from streamlr.exceptions import DivergenceError
from streamlr.linear_model._state import SLOTS
from streamlr.schedules import ReduceOnPlateau

LOSS_COLS = [SLOTS["loss_sum"], SLOTS["served_loss"]]


def _data(n=60, d=6, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=(classes, d))
    y = np.argmax(np.c_[np.zeros(n), X @ w[1:].T] if classes > 2 else
                  np.c_[np.zeros(n), X @ w[:1].T], axis=1)
    return X, y, X @ w[0] + 0.1 * rng.normal(size=n)


def _classifier(classes=2, **kw):
    X, y, _ = _data(classes=classes)
    kw.setdefault("loss", "log_loss")
    model = SGDClassifier(learning_rate="constant", eta0=0.05, **kw)
    return model.partial_fit(X[:20], y[:20], classes=np.arange(classes)), X, y


def _regressor(**kw):
    X, _, t = _data()
    kw.setdefault("learning_rate", "constant")
    model = SGDRegressor(eta0=0.02, **kw)
    return model.partial_fit(X[:20], t[:20]), X, t


def _state_equal(a, b, skip_loss=False):
    """Bitwise the same model (the loss sums, and a plateau window's sum of
    them, aside with ``skip_loss``: equal to rounding)."""
    sa, sb = a._model.state_dict(), b._model.state_dict()
    for name in sa:
        if name in ("meta", "history"):
            continue
        x, y = sa[name], sb[name]
        if name == "scalars" and skip_loss:
            x, y = np.delete(x, LOSS_COLS, axis=1), np.delete(y, LOSS_COLS, axis=1)
        if name == "schedule_state" and skip_loss and x.size:
            assert_allclose(x, y, rtol=1e-12, err_msg=name)
            continue
        assert_array_equal(x, y, err_msg=name)
    assert a.t_ == b.t_
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)


def _numpy_loss(model, label, p):
    """The loss of decision value(s) p for label, by _reference's formulas."""
    name = model.loss
    if not hasattr(model, "classes_"):
        label = _encoded(model, label)[0]     # a float32 model reads its target rounded
        return float(LOSSES[name].value(np.float64(label), np.float64(p[0]), model.epsilon))
    classes = list(model.classes_)
    if len(classes) == 2:
        ys = [1.0 if label == classes[1] else -1.0]
    else:
        ys = [1.0 if label == c else -1.0 for c in classes]
    return [float(LOSSES[name].value(np.float64(yb), np.float64(pb), model.epsilon))
            for yb, pb in zip(ys, p, strict=True)]


def _encoded(model, label):
    """Each binary problem's target, as the loop reads it."""
    if not hasattr(model, "classes_"):
        return [float(np.asarray(label, dtype=model._model.weight_blocks.dtype))]
    classes, neg = list(model.classes_), model._negative_target()
    if len(classes) == 2:
        return [1.0 if label == classes[1] else neg]
    return [1.0 if label == c else neg for c in classes]


def _check_delayed(model, X, y, row, later, dtype=np.float64):
    """predict_one(row, key) now; learn_one of ``later`` rows; learn_label:
    the same as learn_one of the row then, the loss at the served value."""
    ref = copy.deepcopy(model)
    answer = model.predict_one(row, key="k")
    assert answer == ref.predict_one(row)
    served = model._model.pending.events["k"][2]
    if hasattr(model, "classes_"):
        assert_array_equal(served, np.atleast_1d(ref.decision_function(_as_2d(row))).ravel())
    elif model.loss != "poisson":
        assert_array_equal(served, ref.predict(_as_2d(row)))
    assert model.n_pending_ == 1
    for i in later:
        model.learn_one(X[i].astype(dtype), y[i])
        ref.learn_one(X[i].astype(dtype), y[i])
    before = model._model.scalars.copy()
    model.learn_label("k", y[0])
    ref.learn_one(row, y[0])
    _state_equal(model, ref, skip_loss=True)
    assert model.n_pending_ == 0
    # the loss sums: the sum before plus the loss of the served value, as the
    # loop adds it (exactly), which NumPy's formula gives (to rounding)
    engine = model._model.engine
    col = SLOTS["loss_sum"]
    expected = _numpy_loss(model, y[0], served)
    for b, e in enumerate(np.atleast_1d(expected)):
        got = model._model.scalars[b, col] - before[b, col]
        assert got == pytest.approx(e, rel=1e-12, abs=1e-15)
    for b, yb in enumerate(_encoded(model, y[0])):
        assert model._model.scalars[b, col] == before[b, col] + engine.loss._py_loss(yb, served[b])
    return model, ref, engine


def _as_2d(row):
    if sp.issparse(row):
        return row
    if isinstance(row, dict):
        return [row]
    return np.asarray(row).reshape(1, -1)


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_binary_dense_equals_learn_one(loss, optimizer):
    model, X, y = _classifier(loss=loss, optimizer=optimizer)
    _check_delayed(model, X, y, X[30].copy(), range(31, 40))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multiclass_equals_learn_one(fit_intercept):
    model, X, y = _classifier(classes=3, optimizer="adagrad", fit_intercept=fit_intercept)
    _check_delayed(model, X, y, X[30].copy(), range(31, 45))


@pytest.mark.parametrize("loss", ["squared_error", "huber", "epsilon_insensitive", "poisson"])
def test_regressor_equals_learn_one(loss):
    X, _, t = _data()
    if loss == "poisson":
        t = np.abs(t)
    model = SGDRegressor(loss=loss, optimizer="adam", eta0=0.02).partial_fit(X[:20], t[:20])
    _check_delayed(model, X, t, X[30].copy(), range(31, 40))


def test_csr_row_and_float32():
    model, X, y = _classifier(optimizer="adam")
    row = sp.csr_matrix(np.where(np.abs(X[30]) > 0.5, X[30], 0.0).reshape(1, -1))
    _check_delayed(model, X, y, row, range(31, 36))
    X32 = X.astype(np.float32)
    m32 = SGDClassifier(loss="log_loss", optimizer="adam").partial_fit(X32[:20], y[:20],
                                                                          classes=[0, 1])
    _check_delayed(m32, X32, y, X32[30].copy(), range(31, 36), dtype=np.float32)
    r32 = SGDRegressor(optimizer="adam").partial_fit(X32[:20], X32[:20, 0])
    _check_delayed(r32, X32, X[:, 0] / 3.0, X32[30].copy(), range(31, 36), dtype=np.float32)


def test_hashed_dict_events():
    model = SGDClassifier(loss="log_loss", optimizer="adam", hash_bits=10)
    events = [{"user": f"u{i % 7}", "price": 1.0 + i, "n": i % 3} for i in range(40)]
    y = np.array([i % 2 for i in range(40)])
    model.partial_fit(events[:10], y[:10], classes=[0, 1])
    ref = copy.deepcopy(model)
    served = model.decision_function([events[20]])
    assert model.predict_proba_one(events[20], key=("s", 20)) == ref.predict_proba_one(events[20])
    events[20]["price"] = 99.0       # the remembered row is the model's own copy
    for i in range(21, 30):
        model.learn_one(events[i], y[i])
        ref.learn_one(events[i], y[i])
    before = model._model.scalars[0, SLOTS["loss_sum"]]
    model.learn_label(("s", 20), 1)
    events[20]["price"] = 21.0
    ref.learn_one(events[20], 1)
    _state_equal(model, ref, skip_loss=True)
    assert model._model.scalars[0, SLOTS["loss_sum"]] - before == pytest.approx(
        np.logaddexp(0.0, -served[0]), rel=1e-12)


def test_named_dict_events_and_mutated_input():
    X, y, _ = _data()
    names = [f"f{j}" for j in range(X.shape[1])]
    model = SGDClassifier(loss="log_loss", optimizer="adam")
    model.learn_one(dict(zip(names, X[0], strict=True)), y[0], classes=[0, 1])
    ref = copy.deepcopy(model)
    event = dict(zip(names, X[5], strict=True))
    model.predict_one(event, key=5)
    row = X[6].copy()
    model.predict_one(row, key=6)
    row[:] = 0.0        # a caller's array may change: the model kept its copy
    model.learn_label(5, y[5])
    model.learn_label(6, y[6])
    ref.learn_one(event, y[5])
    ref.learn_one(X[6], y[6])
    _state_equal(model, ref, skip_loss=True)


def test_served_value_is_the_averaged_models():
    # with averaging, the served decision is the averaged model's (what
    # predict_one answered), and that is the one whose loss is counted
    model, X, y = _classifier(average=5)
    _check_delayed(model, X, y, X[30].copy(), range(31, 38))


def test_replace_makes_newest_and_max_pending_drops_oldest():
    model, X, y = _classifier(max_pending=3)
    for i, k in enumerate("abcd"):
        model.predict_one(X[i], key=k)
    assert model.n_pending_ == 3
    with pytest.raises(KeyError, match="'a'.*dropped"):
        model.learn_label("a", 0)
    model.predict_one(X[10], key="b")       # replaced: newest, with row 10
    model.predict_one(X[11], key="e")       # drops c, the oldest now
    assert list(model._model.pending.events) == ["d", "b", "e"]
    with pytest.raises(KeyError, match="'c'"):
        model.learn_label("c", 0)
    ref = copy.deepcopy(model)
    model.learn_label("b", y[10])
    ref.learn_one(X[10], y[10])
    _state_equal(model, ref, skip_loss=True)
    with pytest.raises(KeyError, match="'b'"):   # learned: no longer pending
        model.learn_label("b", 0)
    model.predict_one(X[1], key="a")        # a dropped key can be used again
    assert model.n_pending_ == 3


def test_ttl_counts_updates():
    model, X, y = _classifier(pending_ttl=2)
    model.predict_one(X[0], key=0)
    model.predict_one(X[1], key=1)
    model.learn_one(X[2], y[2])
    model.learn_one(X[3], y[3])
    assert model.n_pending_ == 2
    model.learn_label(1, y[1])              # two updates since: still pending
    assert model.n_pending_ == 0            # key 0: three updates since, expired
    with pytest.raises(KeyError, match="expired"):
        model.learn_label(0, y[0])
    model.predict_one(X[0], key=9)
    model.partial_fit(X[4:7], y[4:7])
    assert model.n_pending_ == 0
    with pytest.raises(KeyError, match="9.*expired"):
        model.learn_label(9, y[0])
    zero, X, y = _classifier(pending_ttl=0)
    zero.predict_one(X[0], key="z")
    zero.learn_label("z", y[0])             # no update in between: allowed


def test_bad_keys_and_labels_change_nothing():
    model, X, y = _classifier(classes=3)
    with pytest.raises(TypeError, match="hashable"):
        model.predict_one(X[0], key=["a"])
    with pytest.raises(TypeError, match="hashable"):
        model.learn_label({"a": 1}, 0)
    model.predict_one(X[0], key="k")
    before = copy.deepcopy(model)
    with pytest.raises(KeyError, match="'nope'"):
        model.learn_label("nope", 0)
    with pytest.raises(ValueError, match="not one of the classes"):
        model.learn_label("k", 7)
    with pytest.raises(ValueError, match="sample_weight"):
        model.learn_label("k", 0, sample_weight=np.nan)
    with pytest.raises(ValueError, match="sample_weight"):
        model.learn_label("k", 0, sample_weight="heavy")
    _state_equal(model, before)
    assert model.n_pending_ == 1
    with pytest.raises(ValueError, match="NaN"):
        model.predict_one(np.full(X.shape[1], np.nan), key="bad")
    assert model.n_pending_ == 1
    unfitted = SGDRegressor()
    with pytest.raises(KeyError, match="'k'"):
        unfitted.learn_label("k", 1.0)
    with pytest.raises(ValueError, match="y must be a number"):
        reg, X, t = _regressor()
        reg.predict_one(X[0], key=1)
        reg.learn_label(1, "x")


def test_divergence_keeps_the_event_pending():
    model = SGDRegressor(learning_rate="constant", eta0=1e10, penalty=None)
    model.partial_fit(np.ones((1, 2)), [0.0])
    big = np.array([1e160, 1e160])
    model.predict_one(big, key="big")
    before = copy.deepcopy(model)
    with pytest.raises(DivergenceError):
        model.learn_label("big", 1e200)
    _state_equal(model, before)
    assert model.n_pending_ == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_max_pending_validated(bad):
    model, X, y = _classifier()
    model.set_params(max_pending=bad)
    with pytest.raises(ValueError, match="max_pending"):
        model.predict_one(X[0], key=1)
    with pytest.raises(ValueError, match="max_pending"):
        model.learn_one(X[0], y[0])


@pytest.mark.parametrize("bad", [-1, 1.5, False, "2"])
def test_pending_ttl_validated(bad):
    X, y, _ = _data()
    with pytest.raises(ValueError, match="pending_ttl"):
        SGDClassifier(pending_ttl=bad).fit(X, y)


def test_clone_and_params():
    model, X, y = _classifier(max_pending=7, pending_ttl=3)
    model.predict_one(X[0], key="a")
    c = clone(model)
    assert c.get_params()["max_pending"] == 7 and c.get_params()["pending_ttl"] == 3
    assert "_model" not in c.__dict__
    copied = copy.deepcopy(model)
    assert copied.n_pending_ == 1
    copied.learn_label("a", 1)
    assert model.n_pending_ == 1


KEYS = ["s", "", 0, -12345678901234567890, 2.5, float("inf"), b"\x00\xff", ("t", 1, (2.0, b"x")),
        True, np.int64(42), "ünï"]


@pytest.mark.parametrize("make", ["binary", "multiclass", "regressor", "hashed", "csr32"])
def test_save_load_round_trip(tmp_path, make):
    if make == "regressor":
        model, X, y = _regressor(optimizer="adam")
    elif make == "multiclass":
        model, X, y = _classifier(classes=3, optimizer="adam", pending_ttl=100)
    elif make == "csr32":
        X, y, _ = _data()
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0).astype(np.float32))
        model = SGDClassifier(loss="log_loss", optimizer="adam").partial_fit(X[:20], y[:20],
                                                                             classes=[0, 1])
    else:
        model, X, y = _classifier(optimizer="adam")
    if make == "hashed":
        model = SGDClassifier(loss="log_loss", optimizer="adam", hash_bits=8)
        X = [{"a": float(i), "b": f"v{i % 4}"} for i in range(60)]
        model.partial_fit(X[:20], y[:20], classes=[0, 1])
    # each key type; the dense/sparse rows mixed where the model takes both
    for i, k in enumerate(KEYS):
        model.predict_one(X[20 + i], key=k)
    if make in ("binary", "regressor"):
        model.predict_one(sp.csr_matrix(X[40:41]), key="sparse")
    path = tmp_path / "m.streamlr"
    streamlr.save(model, path)
    loaded = streamlr.load(path)
    assert loaded.n_pending_ == model.n_pending_
    assert list(loaded._model.pending.events) == list(model._model.pending.events)
    for k in list(model._model.pending.events):
        label = y[3] if make != "regressor" else 0.5
        model.learn_label(k, label)
        loaded.learn_label(k, label)
    _state_equal(model, loaded)
    assert model.progressive_loss_ == loaded.progressive_loss_
    assert loaded.n_pending_ == 0
    # saving without pending events writes no pending arrays
    streamlr.save(loaded, path)
    assert "_model" in streamlr.load(path).__dict__


def test_save_refuses_other_keys(tmp_path):
    model, X, y = _classifier()
    model.predict_one(X[0], key=frozenset({1}))
    with pytest.raises(TypeError, match="frozenset"):
        streamlr.save(model, tmp_path / "m.streamlr")
    assert not (tmp_path / "m.streamlr").exists()


def test_drift_detector_fed_the_served_loss():
    # a regressor's detector sees the loss of the value served: the same
    # detector, fed those losses, flags at the same samples
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    t = X @ [1.0, -2.0, 0.5] + np.where(np.arange(400) < 200, 0.0, 8.0)
    model = SGDRegressor(learning_rate="constant", eta0=0.01, optimizer="adam",
                         drift_detector=PageHinkley(threshold=20.0), on_drift="none")
    model.partial_fit(X[:1], t[:1])
    det = PageHinkley(threshold=20.0)
    det.update(0.5 * t[0] ** 2)         # the first sample's loss (at the zero model)
    lag, served, det_flags = 5, {}, []
    for i in range(1, 400):
        served[i] = model.predict_one(X[i], key=i)
        j = i - lag
        if j >= 1:
            model.learn_label(j, t[j])
            det.update(0.5 * (t[j] - served[j]) ** 2)
            if det.drift_detected:
                det_flags.append(model.t_ - 1)
    assert len(det_flags) > 0
    assert_array_equal(model.drifts_, det_flags)


def test_learn_label_with_ovr_drift_detector():
    from streamlr.drift import ADWIN

    model, X, y = _classifier(classes=3, drift_detector=ADWIN(), optimizer="adam")
    _check_delayed(model, X, y, X[30].copy(), range(31, 40))


@pytest.mark.parametrize("kw", [
    dict(optimizer="adam"),
    dict(optimizer="sgd", learning_rate="optimal", penalty="elasticnet"),
    dict(optimizer="adam", learning_rate="auto"),
    dict(optimizer="adam", learning_rate=ReduceOnPlateau(0.05, patience=0, window=3)),
    dict(optimizer="adagrad", drift_detector=PageHinkley(min_instances=5, threshold=0.5)),
    dict(optimizer="adam", class_weight="balanced"),
])
@pytest.mark.parametrize("classes", [2, 3])
def test_immediate_label_is_learn_one_bitwise(kw, classes):
    # with no update in between, the served value is the current one (to
    # rounding: the prediction routine, dot.pxi, sums in its own fixed
    # order, the loop in its own): the model (schedule, detector, race
    # included) is learn_one's, the loss sums equal to rounding
    X, y, _ = _data(classes=classes)
    model = SGDClassifier(loss="log_loss", **kw)
    model.partial_fit(X[:10], y[:10], classes=np.arange(classes))
    ref = copy.deepcopy(model)
    for i in range(10, 50):
        model.predict_one(X[i], key=i)
        model.learn_label(i, y[i])
        ref.learn_one(X[i], y[i])
        _state_equal(model, ref, skip_loss=True)
    assert_allclose(model._model.scalars[:, LOSS_COLS], ref._model.scalars[:, LOSS_COLS],
                    rtol=1e-13)
    assert_array_equal(model.drifts_, ref.drifts_)


def test_plateau_window_observes_the_served_loss():
    X, y, _ = _data()
    model = SGDClassifier(loss="log_loss", optimizer="adam",
                          learning_rate=ReduceOnPlateau(0.05, window=1000))
    model.partial_fit(X[:10], y[:10], classes=[0, 1])
    model.predict_one(X[20], key="k")
    served = model._model.pending.events["k"][2][0]
    for i in range(21, 30):
        model.learn_one(X[i], y[i])
    before = model.schedule_state_.copy()
    model.learn_label("k", y[20])
    after = model.schedule_state_
    yb = 1.0 if y[20] == 1 else 0.0
    sum_col, count_col = 4, 5        # PL_SUM, PL_COUNT of the one plateau node
    assert after[0, count_col] == before[0, count_col] + 1
    assert after[0, sum_col] == before[0, sum_col] + model._model.engine.loss._py_loss(yb, served)


# -- a random interleaving against a pure-Python store ------------------------


class StoreModel:
    """The documented rules of the store, in plain Python."""

    def __init__(self, cap, ttl):
        self.cap, self.ttl, self.events = cap, ttl, OrderedDict()

    def remember(self, key, row, t):
        self.events.pop(key, None)
        self.events[key] = (row, t)
        while len(self.events) > self.cap:
            self.events.popitem(last=False)
        self.prune(t)

    def prune(self, t):
        if self.ttl is None:
            return
        for key in [k for k, (_, t0) in self.events.items() if t - t0 > self.ttl]:
            del self.events[key]

    def take(self, key, t):
        self.prune(t)
        return self.events.pop(key)[0]


OPS = st.lists(st.tuples(st.sampled_from(["predict", "label", "learn"]), st.integers(0, 5),
                         st.integers(0, 59)), min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(ops=OPS, cap=st.integers(1, 4), ttl=st.one_of(st.none(), st.integers(0, 6)))
def test_random_interleaving_matches_a_python_store(ops, cap, ttl):
    X, y, _ = _data()
    model = SGDClassifier(loss="hinge", optimizer="adam", max_pending=cap, pending_ttl=ttl)
    model.partial_fit(X[:2], y[:2], classes=[0, 1])
    replay = copy.deepcopy(model)       # learn_one of what learn_label learned
    store = StoreModel(cap, ttl)
    for op, key, row in ops:
        if op == "predict":
            model.predict_one(X[row], key=key)
            store.remember(key, row, model.t_)
        elif op == "learn":
            model.learn_one(X[row], y[row])
            replay.learn_one(X[row], y[row])
        else:
            try:
                expected = store.take(key, model.t_)
            except KeyError:
                with pytest.raises(KeyError, match=repr(key)):
                    model.learn_label(key, y[row])
                continue
            model.learn_label(key, y[row])
            replay.learn_one(X[expected], y[row])
        store.prune(model.t_)
        assert model.n_pending_ == len(store.events)
    _state_equal(model, replay, skip_loss=True)


# -- classes that appear while events are pending (new_classes="add") ---------


def test_served_values_follow_new_classes():
    X, y, _ = _data()
    model = SGDClassifier(loss="log_loss", optimizer="adam", new_classes="add")
    model.partial_fit(X[:10], y[:10], classes=[0, 1])
    model.predict_one(X[20], key="k")
    p = model._model.pending.events["k"][2][0]
    model.learn_one(X[21], 2)                # binary -> one-vs-rest, a row for class 2
    model.learn_one(X[22], 5)                # one more row
    ref = copy.deepcopy(model)
    before = model._model.scalars.copy()
    model.learn_label("k", 1)
    ref.learn_one(X[20], 1)
    _state_equal(model, ref, skip_loss=True)
    # what a model declared with every class would have served: the negated
    # row (-p) for class 0, the row (p) for class 1, zero rows for 2 and 5
    engine, col = model._model.engine, SLOTS["loss_sum"]
    for b, served in enumerate([0.0 - p, p, 0.0, 0.0]):
        yb = 1.0 if b == 1 else 0.0
        assert model._model.scalars[b, col] == before[b, col] + engine.loss._py_loss(yb, served)


def test_label_that_adds_a_class_is_learned_as_learn_one(tmp_path):
    X, y, _ = _data()
    model = SGDClassifier(loss="modified_huber", optimizer="adam", new_classes="add")
    model.learn_one(X[0], "a")               # one class so far
    assert model.predict_proba_one(X[1], key=1) == {"a": 1.0}
    model.predict_one(X[2], key=2)
    ref = copy.deepcopy(model)
    model.learn_label(1, "b")                # the second class: the binary problem starts
    ref.learn_one(X[1], "b")
    model.predict_one(X[3], key=3)
    streamlr.save(model, tmp_path / "m.streamlr")
    model = streamlr.load(tmp_path / "m.streamlr")
    model.learn_label(3, "c")                # the third: one-vs-rest
    ref.learn_one(X[3], "c")
    model.learn_label(2, "a")
    ref.learn_one(X[2], "a")
    _state_equal(model, ref, skip_loss=True)
    assert list(model.classes_) == ["a", "b", "c"]
    strict = SGDClassifier().partial_fit(X[:4], [0, 1, 0, 1], classes=[0, 1])
    strict.predict_one(X[0], key=0)
    with pytest.raises(ValueError, match="not one of the classes"):
        strict.learn_label(0, 2)             # new_classes="error": refused, still pending
    assert strict.n_pending_ == 1


def test_multinomial_learn_label_equals_learn_one():
    """The softmax model: learn_label is learn_one of the remembered row, and
    every class row counts the cross-entropy of the served values."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(260, 5))
    y = np.argmax(X[:, :3], axis=1)
    kw = dict(loss="log_loss", multi_class="multinomial", optimizer="adam", learning_rate="constant",
              eta0=0.05, shuffle=False)
    delayed = SGDClassifier(**kw).partial_fit(X[:200], y[:200], classes=[0, 1, 2])
    direct = SGDClassifier(**kw).partial_fit(X[:200], y[:200], classes=[0, 1, 2])
    for i in range(200, 260):
        assert delayed.predict_proba_one(X[i], key=i) == direct.predict_proba_one(X[i])
        delayed.learn_label(i, y[i])
        direct.learn_one(X[i], y[i])
    assert_array_equal(delayed.coef_, direct.coef_)
    assert_array_equal(delayed.intercept_, direct.intercept_)
    assert delayed.progressive_loss_ == pytest.approx(direct.progressive_loss_, rel=1e-12)
    assert delayed.n_pending_ == 0


@pytest.mark.parametrize("multi_class,K", [("ovr", 2), ("multinomial", 3)])
def test_race_with_detector_reacts_as_learn_one(multi_class, K):
    """A detection made at learn_label restarts the copies still racing and
    re-opens the race, as the loop does: labelling right after predicting
    equals learn_one, detections and shares included."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 5))
    W1, W2 = rng.normal(size=(K, 5)), rng.normal(size=(K, 5))
    y = np.where(np.arange(1200) < 600, np.argmax(X @ W1.T, axis=1), np.argmax(X @ W2.T, axis=1))
    kw = dict(loss="log_loss", optimizer="adam", learning_rate="auto", multi_class=multi_class,
              shuffle=False, drift_detector=ADWIN())
    delayed = SGDClassifier(**kw).partial_fit(X[:100], y[:100], classes=np.arange(K))
    direct = SGDClassifier(**kw).partial_fit(X[:100], y[:100], classes=np.arange(K))
    for i in range(100, 1200):
        delayed.predict_one(X[i], key=i)
        delayed.learn_label(i, y[i])
        direct.predict_one(X[i])
        direct.learn_one(X[i], y[i])
    assert len(direct.drifts_) >= 1
    assert_array_equal(delayed.drifts_, direct.drifts_)
    assert_array_equal(delayed.coef_, direct.coef_)
    assert_array_equal(delayed.rate_race_["weights"], direct.rate_race_["weights"])
