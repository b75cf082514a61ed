"""Drift detectors inside the estimators: ``drift_detector``, ``on_drift``, ``drifts_``.

* A NumPy oracle (one loop over the samples, every binary problem in step,
  River's detector fed the 0/1 error or the loss, the update rules of
  ``tests/_reference_optim.py``) gives the weights, the optimizer state and
  the detections of restart / reset / none.
* ``on_drift="none"`` trains bitwise the model without a detector, and its
  detections are River's on the model's own progressive errors.
* The detector's state is part of the model: any chunking, ``learn_one``,
  save/load and a failed call change nothing.
"""
import _streams
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from _reference_optim import REFERENCES, reference

from streamlr import SGDClassifier, SGDRegressor, load, save
from streamlr.drift import ADWIN, PageHinkley
from streamlr.optim import SGD, Adagrad, Adam, AdamW, NAdam, Prodigy, RMSprop
from streamlr.schedules import InverseScaling, ReduceOnPlateau

river_drift = pytest.importorskip("river.drift")


def drifting(task, n=1500, d=6, seed=0, classes=3, flips=(0.5,)):
    """A stream whose concept changes abruptly at the fractions ``flips``."""
    return _streams.drifting(task, n, d, seed, classes, flips)


# --------------------------------------------------------------------------
# the oracle
# --------------------------------------------------------------------------


def _dloss(loss):
    return {"log_loss": lambda y, p: expit(p) - y, "squared_error": lambda y, p: p - y,
            "hinge": lambda y, p: -y if y * p <= 1.0 else 0.0}[loss]


def _loss(loss):
    return {"log_loss": lambda y, p: np.logaddexp(0.0, p) - y * p,
            "squared_error": lambda y, p: 0.5 * (p - y) * (p - y),
            "hinge": lambda y, p: max(0.0, 1.0 - y * p)}[loss]


def reference_drift(X, y, opt, loss, detector, on_drift, *, eta0, schedule="constant",
                    power_t=0.5, regression=False):
    """The model, one loop over samples: every problem predicts, the detector
    sees the sample's error (or loss), every problem learns at the clock
    ``t - clock0``, then a detection restarts (or resets) all of them."""
    n, d = X.shape
    if regression:
        targets, labels = [np.asarray(y, dtype=np.float64)], None
    else:
        classes = np.unique(y)
        labels = np.searchsorted(classes, y)
        neg = 0.0 if loss == "log_loss" else -1.0
        pos = [1] if len(classes) == 2 else list(range(len(classes)))
        targets = [np.where(labels == c, 1.0, neg) for c in pos]
    K = len(targets)
    ref, p = reference(opt)
    slots = ref.slots(p)
    dloss, lossf = _dloss(loss), _loss(loss)

    def fresh_state():
        S = [{s: np.full(d, ref.initial(p, s)) for s in slots} for _ in range(K)]
        Sb = [{s: np.full(1, ref.initial(p, s)) for s in slots} for _ in range(K)]
        ctx = [dict(ref.scalars(p) if callable(ref.scalars) else ref.scalars) for _ in range(K)]
        return S, Sb, ctx

    w, b = np.zeros((K, d)), np.zeros((K, 1))
    S, Sb, ctx = fresh_state()
    starts = getattr(opt, "starts_at_weights", ())
    clock, found, all_j, zero = 0, [], np.arange(d), np.zeros(1, dtype=np.intp)
    for i in range(n):
        x = X[i]
        preds = [float(np.dot(w[k], x) + b[k, 0]) for k in range(K)]
        if regression:
            value = lossf(targets[0][i], preds[0])
        elif K == 1:
            value = float((preds[0] > 0) != (targets[0][i] > 0))
        else:
            value = float(int(np.argmax(preds)) != labels[i])
        detector.update(value)
        clock += 1
        lr = eta0 if schedule == "constant" else eta0 / clock ** power_t
        for k in range(K):
            gs = dloss(targets[k][i], preds[k])
            g = gs * x
            if ref.advance is not None:
                ref.advance(p, ctx[k], clock)
            if ref.joint is not None:
                ref.joint(p, w[k], b[k], g, np.array([gs]), S[k], Sb[k], all_j, clock, lr, ctx[k])
            else:
                ref.step(p, w[k], g, S[k], all_j, clock, lr, False, ctx[k])
                ref.step(p, b[k], np.array([gs]), Sb[k], zero, clock, lr, True, ctx[k])
        if detector.drift_detected:
            found.append(i + 1)
            if on_drift != "none":
                if on_drift == "reset":
                    w[:], b[:] = 0.0, 0.0
                S, Sb, ctx = fresh_state()
                for k in range(K):
                    for s in starts:
                        S[k][s][:] = w[k]
                        Sb[k][s][:] = b[k]
                clock = 0
    state = {s: np.array([S[k][s] for k in range(K)]) for s in slots}
    return w, b[:, 0], np.array(found, dtype=np.int64), state


ORACLE_RULES = [Adam(), Adam(amsgrad=True), SGD(momentum=0.9, dampening=0.1), Adagrad(),
                RMSprop(centered=True), NAdam(), AdamW(weight_decay=0.1), Prodigy()]


@pytest.mark.parametrize("opt", ORACLE_RULES, ids=lambda o: repr(o))
@pytest.mark.parametrize("task, loss, n_classes", [
    ("classification", "log_loss", 2), ("classification", "hinge", 3),
    ("regression", "squared_error", 0)])
@pytest.mark.parametrize("on_drift", ["restart", "reset", "none"])
def test_matches_the_oracle(opt, task, loss, n_classes, on_drift):
    X, y = drifting(task, n=1200, classes=n_classes, seed=3, flips=(0.35, 0.7))
    detector_args = {"clock": 8, "delta": 0.05}
    eta0 = REFERENCES[type(opt).__name__].eta0 if type(opt).__name__ == "Prodigy" else 0.02
    regression = task == "regression"
    est_cls = SGDRegressor if regression else SGDClassifier
    est = est_cls(loss=loss, optimizer=opt, learning_rate="constant", eta0=eta0, penalty=None,
                  shuffle=False, drift_detector=ADWIN(**detector_args), on_drift=on_drift)
    est.partial_fit(X, y, **({} if regression else {"classes": np.unique(y)}))
    w, b, found, state = reference_drift(X, y, opt, loss, river_drift.ADWIN(**detector_args),
                                         on_drift, eta0=eta0, regression=regression)
    np.testing.assert_array_equal(est.drifts_, found)
    assert len(found) >= 1
    coef = np.atleast_2d(est.coef_)
    # Prodigy's estimate of d amplifies rounding noise over a long stream
    rtol = 1e-2 if isinstance(opt, Prodigy) else 1e-8
    np.testing.assert_allclose(coef, w, rtol=rtol, atol=1e-10)
    np.testing.assert_allclose(est.intercept_, b, rtol=rtol, atol=1e-10)
    for name, arr in state.items():
        np.testing.assert_allclose(np.atleast_2d(est.optimizer_state_[name]), arr, rtol=rtol,
                                   atol=1e-8 if rtol > 1e-8 else 1e-10, err_msg=name)


@pytest.mark.parametrize("on_drift", ["restart", "reset"])
def test_restart_restarts_the_schedule_clock(on_drift):
    X, y = drifting("classification", n=1500, classes=2, seed=5, flips=(0.4,))
    args = {"min_instances": 20, "threshold": 8.0}
    est = SGDClassifier(loss="log_loss", optimizer=Adam(), learning_rate=InverseScaling(0.05, 0.5),
                        penalty=None, shuffle=False, drift_detector=PageHinkley(**args),
                        on_drift=on_drift)
    est.partial_fit(X, y, classes=[0, 1])
    w, b, found, _ = reference_drift(X, y, Adam(), "log_loss", river_drift.PageHinkley(**args),
                                     on_drift, eta0=0.05, schedule="invscaling")
    np.testing.assert_array_equal(est.drifts_, found)
    assert len(found) >= 1
    np.testing.assert_allclose(est.coef_, w, rtol=1e-8, atol=1e-10)
    # the next update after the last detection runs at the clock's restart
    assert est.t_ == len(X) + 1
    clock = len(X) - found[-1]
    assert est.lr_ == pytest.approx(0.05 / clock ** 0.5, rel=1e-12)


# --------------------------------------------------------------------------
# "none" changes nothing but drifts_, whatever the rule
# --------------------------------------------------------------------------

NONE_RULES = ["sgd", "adam", "vw", "cocob", "prodigy", "schedulefree", "ftrl", "adagrad"]


def _river_on_progressive_errors(est_cls, kw, X, y, detector, fit_kw):
    """River's detections on the errors of a model (without a detector)
    predicting each sample before learning it."""
    est = est_cls(**kw)
    found = []
    for i in range(len(X)):
        if i:
            pred = est.predict(X[i:i + 1])[0]
            value = (0.5 * (pred - y[i]) ** 2 if est_cls is SGDRegressor
                     else float(pred != y[i]))
        else:
            value = 0.5 * y[i] ** 2 if est_cls is SGDRegressor else float(
                fit_kw["classes"][0] != y[i])
        detector.update(value)
        if detector.drift_detected:
            found.append(i + 1)
        est.partial_fit(X[i:i + 1], y[i:i + 1], **fit_kw)
    return est, found


@pytest.mark.parametrize("optimizer", NONE_RULES)
@pytest.mark.parametrize("task", ["binary", "ovr", "regression"])
def test_none_trains_the_model_without_detector(optimizer, task):
    if task == "regression":
        X, y = drifting("regression", n=900, seed=1, flips=(0.5,))
        est_cls, kw, fit_kw = SGDRegressor, {"loss": "squared_error"}, {}
        detector = {"min_instances": 30, "threshold": 20.0, "mode": "up"}
        dcls, rcls = PageHinkley, river_drift.PageHinkley
    else:
        X, y = drifting("classification", n=900, seed=1, classes=2 if task == "binary" else 4)
        est_cls, kw, fit_kw = SGDClassifier, {"loss": "hinge"}, {"classes": np.unique(y)}
        detector = {"clock": 4, "delta": 0.1}
        dcls, rcls = ADWIN, river_drift.ADWIN
    kw.update(optimizer=optimizer, shuffle=False, learning_rate="constant", eta0=0.01)
    plain = est_cls(**kw).partial_fit(X, y, **fit_kw)
    watched = est_cls(**kw, drift_detector=dcls(**detector), on_drift="none")
    watched.partial_fit(X, y, **fit_kw)
    np.testing.assert_array_equal(watched._model.weight_blocks, plain._model.weight_blocks)
    np.testing.assert_array_equal(watched._model.scalars, plain._model.scalars)
    if optimizer in ("sgd", "adam"):
        _, found = _river_on_progressive_errors(est_cls, kw, X, y, rcls(**detector), fit_kw)
        np.testing.assert_array_equal(watched.drifts_, found)
        assert len(found)


def test_plain_sgd_restart_restarts_optimal_rate():
    X, y = drifting("classification", n=2000, classes=2, seed=2)
    est = SGDClassifier(shuffle=False, drift_detector=ADWIN(clock=8, delta=0.05))
    est.partial_fit(X, y, classes=[0, 1])
    assert len(est.drifts_)
    last = est.drifts_[-1]
    est2 = SGDClassifier(shuffle=False, drift_detector=ADWIN(clock=8, delta=0.05))
    est2.partial_fit(X[:last], y[:last], classes=[0, 1])
    fresh = SGDClassifier(shuffle=False).partial_fit(X[:1], y[:1], classes=[0, 1])
    est2.partial_fit(X[last:last + 1], y[last:last + 1])
    assert est2.lr_ == fresh.lr_     # the optimal rate at clock 1 again
    assert est2.t_ == last + 2


# --------------------------------------------------------------------------
# the detector's state is the model's
# --------------------------------------------------------------------------


def _make(task, optimizer, on_drift, detector, dtype=np.float64, sparse=False, seed=0):
    if task == "regression":
        X, y = drifting("regression", n=700, seed=seed, flips=(0.3, 0.6))
        est = SGDRegressor(optimizer=optimizer, learning_rate="constant", eta0=0.01,
                           shuffle=False, drift_detector=detector, on_drift=on_drift)
        fit_kw = {}
    else:
        X, y = drifting("classification", n=700, seed=seed, flips=(0.3, 0.6),
                        classes=2 if task == "binary" else 3)
        est = SGDClassifier(loss="log_loss", optimizer=optimizer, learning_rate="constant",
                            eta0=0.05, shuffle=False, drift_detector=detector, on_drift=on_drift)
        fit_kw = {"classes": np.unique(y)}
    X = X.astype(dtype)
    return est, (sp.csr_matrix(X) if sparse else X), y, fit_kw


def _same(a, b):
    for name in ("weight_blocks", "scalars", "intercept_block", "last_update", "drift_state",
                 "drifts", "schedule_state"):
        np.testing.assert_array_equal(getattr(a._model, name), getattr(b._model, name),
                                      err_msg=name)


DETECTORS = [lambda: ADWIN(clock=4, delta=0.3),
             lambda: PageHinkley(min_instances=10, threshold=4.0, mode="up")]


@settings(max_examples=25, deadline=None)
@given(task=st.sampled_from(["binary", "ovr", "regression"]),
       optimizer=st.sampled_from(["adam", "sgd", "adagrad", "prodigy", "vw"]),
       on_drift=st.sampled_from(["restart", "reset", "none"]),
       det=st.sampled_from(DETECTORS), sparse=st.booleans(),
       cuts=st.lists(st.integers(1, 200), min_size=1, max_size=8))
def test_any_chunking_and_learn_one_train_the_same_model(task, optimizer, on_drift, det, sparse,
                                                         cuts):
    est, X, y, fit_kw = _make(task, optimizer, on_drift, det(), sparse=sparse)
    one = est.__class__(**est.get_params(deep=False)).partial_fit(X, y, **fit_kw)
    chunked = est.__class__(**est.get_params(deep=False))
    edges = np.unique(np.clip(np.cumsum([0, *cuts]), 0, X.shape[0]))
    edges = np.append(edges, X.shape[0]) if edges[-1] != X.shape[0] else edges
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        chunked.partial_fit(X[lo:hi], y[lo:hi], **fit_kw)
    _same(one, chunked)
    single = est.__class__(**est.get_params(deep=False))
    for i in range(X.shape[0]):
        single.learn_one(X[i], y[i], **fit_kw)
    _same(one, single)
    assert len(one.drifts_) > 0


@pytest.mark.parametrize("task", ["binary", "ovr", "regression"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_resumes_bitwise(task, dtype, tmp_path):
    est, X, y, fit_kw = _make(task, "adam", "restart", ADWIN(clock=4, delta=0.3), dtype=dtype)
    whole = est.__class__(**est.get_params(deep=False)).partial_fit(X, y, **fit_kw)
    est.partial_fit(X[:333], y[:333], **fit_kw)
    save(est, tmp_path / "m.streamlr")
    loaded = load(tmp_path / "m.streamlr")
    assert loaded.drift_detector == est.drift_detector
    _same(est, loaded)
    loaded.partial_fit(X[333:], y[333:], **fit_kw)
    _same(whole, loaded)
    assert len(whole.drifts_) >= 1


@pytest.mark.parametrize("task", ["binary", "ovr", "regression"])
@pytest.mark.parametrize("rows", [40, 400])    # the bound engine, the general path
def test_a_failed_call_changes_nothing(task, rows):
    est, X, y, fit_kw = _make(task, "adam", "reset", PageHinkley(min_instances=5, threshold=1.0))
    est.partial_fit(X[:200], y[:200], **fit_kw)
    before = {name: getattr(est._model, name).copy() for name in
              ("weight_blocks", "scalars", "drift_state", "drifts", "last_update")}
    n_before = len(est.drifts_)
    bad = X[200:200 + rows].copy()
    bad[-1, 0] = np.nan
    probe = est.__class__(**est.get_params(deep=False)).partial_fit(X[:200], y[:200], **fit_kw)
    probe.partial_fit(X[200:200 + rows - 1], y[200:200 + rows - 1])
    assert len(probe.drifts_) > n_before    # the failing call detected drift before failing
    with pytest.raises(ValueError):
        est.partial_fit(bad, y[200:200 + rows])
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(est._model, name), value, err_msg=name)


def test_the_detector_object_is_not_fed():
    det = ADWIN(clock=4, delta=0.3)
    fresh = det._get_state().copy()
    est, X, y, fit_kw = _make("binary", "adam", "restart", det)
    est.partial_fit(X, y, **fit_kw)
    np.testing.assert_array_equal(det._get_state(), fresh)
    assert len(est.drifts_)


def test_fit_starts_a_fresh_detector_and_does_not_feed_it():
    est, X, y, fit_kw = _make("binary", "adam", "restart", ADWIN(clock=4, delta=0.3))
    est.partial_fit(X, y, **fit_kw)
    assert len(est.drifts_)
    est.set_params(max_iter=3, tol=None)
    est.fit(X, y)
    assert len(est.drifts_) == 0
    est.partial_fit(X[:3], y[:3])
    assert est.drift_detector.width == 0      # the parameter object is never fed
    state = est._model.drift_state
    fresh = ADWIN(clock=4, delta=0.3)._fresh_state()
    assert state[10] == 3 and state[2] == 0      # width 3, no detection counted
    np.testing.assert_array_equal(state[:8], fresh[:8])


def test_a_new_detector_mid_stream_starts_afresh():
    est, X, y, fit_kw = _make("binary", "adam", "restart", ADWIN(clock=4, delta=0.05))
    est.partial_fit(X[:300], y[:300], **fit_kw)
    est.set_params(drift_detector=PageHinkley(threshold=3.0))
    est.partial_fit(X[300:301], y[300:301])
    state = est._model.drift_state
    assert state.size == PageHinkley()._fresh_state().size and state[8] == 1.0   # n = 1
    est.drift_detector.set_params(threshold=2.0)    # its parameters changed: fresh again
    est.learn_one(X[301], y[301])
    assert est._model.drift_state[8] == 1.0
    est.set_params(drift_detector=None)
    est.partial_fit(X[302:], y[302:])
    assert est._model.drift_state.size == 0


def test_plateau_schedule_restarts():
    X, y = drifting("regression", n=800, seed=4, flips=(0.5,))
    sched = ReduceOnPlateau(0.05, factor=0.5, patience=2, window=20)
    est = SGDRegressor(optimizer="adam", learning_rate=sched, shuffle=False,
                       drift_detector=PageHinkley(min_instances=20, threshold=5.0, mode="up"))
    est.partial_fit(X, y)
    assert len(est.drifts_)
    last = int(est.drifts_[-1])
    part = SGDRegressor(**est.get_params(deep=False)).partial_fit(X[:last], y[:last])
    initial = SGDRegressor(optimizer="adam", learning_rate=sched, shuffle=False).partial_fit(
        X[:1], y[:1])
    # after the detection, the schedule's state is a fresh one's before its first sample
    fresh = initial.schedule_state_.copy()
    fresh[:, 4:6] = 0.0     # the window's running sums hold the first sample there
    np.testing.assert_array_equal(part.schedule_state_[:, :4], fresh[:, :4])


@pytest.mark.parametrize("params, match", [
    ({"on_drift": "restart!"}, "on_drift"), ({"on_drift": None}, "on_drift"),
    ({"drift_detector": "adwin"}, "drift_detector"),
])
def test_bad_parameters_raise_before_the_model_changes(params, match):
    X, y = drifting("classification", n=50, classes=2)
    est = SGDClassifier(shuffle=False).partial_fit(X, y, classes=[0, 1])
    before = est._model.weight_blocks.copy()
    est.set_params(**params)
    with pytest.raises(ValueError, match=match):
        est.partial_fit(X, y)
    with pytest.raises(ValueError, match=match):
        est.learn_one(X[0], y[0])
    np.testing.assert_array_equal(est._model.weight_blocks, before)
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**{k: v for k, v in params.items()}).partial_fit(X, y.astype(float))


def test_a_detector_with_bad_parameters_is_refused():
    det = ADWIN()
    det.delta = 5.0       # set behind set_params' back
    with pytest.raises(ValueError, match="delta"):
        SGDClassifier(drift_detector=det).partial_fit(np.eye(2), [0, 1], classes=[0, 1])
