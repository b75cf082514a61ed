"""A drift detector with a rate race (learning_rate="auto", optimizer="auto").

* A NumPy/Python reference: each copy an Adam of ``tests/_reference_optim.py``
  at its rate, the race of ``tests/_reference_race.py`` serving the rows,
  River's ADWIN fed the served 0/1 error (or loss); at a detection every copy
  still in the race restarts (or resets) and the race re-opens.
* The detector's state is the model's: any chunking, ``learn_one``, CSR
  input, save/load and a failed call change nothing.
"""
import _streams
import numpy as np
import pytest
import scipy.sparse as sp
from _reference_race import OUT, WILD, RaceReference
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from _reference import margin_loss
from _reference_optim import reference

from streamlr import SGDClassifier, SGDRegressor, load, save
from streamlr.drift import ADWIN, PageHinkley
from streamlr.linear_model import _driver
from streamlr.optim import Adam

river_drift = pytest.importorskip("river.drift")

RATES = (1e-3, 1e-2, 1e-1)
DETECTOR = {"clock": 8, "delta": 0.05}


def drifting(task, n=1200, d=5, seed=0, classes=3, flips=(0.35, 0.7)):
    """A stream whose concept changes abruptly at the fractions ``flips``."""
    return _streams.drifting(task, n, d, seed, classes, flips)


# --------------------------------------------------------------------------
# the reference
# --------------------------------------------------------------------------


def _dloss(loss):
    return {"log_loss": lambda t, p: expit(p) - (1.0 if t > 0 else 0.0),
            "hinge": lambda t, p: -t if t * p <= 1.0 else 0.0,
            "squared_error": lambda t, p: p - t}[loss]


def reference_race_drift(X, y, opt, rates, loss, task, detector, on_drift, *, warmup=np.inf,
                         period=1, awake=None):
    """One loop over the samples: each binary problem's copies that still
    learn predict and learn the sample, each race serves it, the detector
    sees the served error (or loss); a detection makes every copy still in
    the race restart at clock 0 (``reset``: from zero weights) and re-opens
    the races. Returns the copies, the races and the detections."""
    n, d = X.shape
    regression = task == "regression"
    if regression:
        targets, labels = [np.asarray(y, dtype=np.float64)], None
    else:
        classes = np.unique(y)
        labels = np.searchsorted(classes, y)
        neg = 0.0 if loss == "log_loss" else -1.0
        pos = [1] if len(classes) == 2 else list(range(len(classes)))
        targets = [np.where(labels == c, 1.0, neg) for c in pos]
    B, R = len(targets), len(rates)
    ref, p = reference(opt)
    slots = ref.slots(p)
    dloss = _dloss(loss)

    def serve_loss(t, m):
        return float(margin_loss(loss, t if regression else (1.0 if t > 0 else -1.0), m))

    def restart(copy, zero):
        if zero:
            copy["w"][:] = 0.0
            copy["b"][:] = 0.0
        copy["S"] = {s: np.full(d, ref.initial(p, s)) for s in slots}
        copy["Sb"] = {s: np.full(1, ref.initial(p, s)) for s in slots}
        copy["ctx"] = dict(ref.scalars(p) if callable(ref.scalars) else ref.scalars)
        copy["clock"] = 0

    copies = [[{"w": np.zeros(d), "b": np.zeros(1)} for _ in range(R)] for _ in range(B)]
    for row in copies:
        for copy in row:
            restart(copy, False)
    races = [RaceReference(R, int(np.argmin(rates)), _driver.RACE_DISCOUNT, _driver.RACE_ETA,
                           _driver.RACE_WILD, np.inf if regression else _driver.RACE_BOUND,
                           _driver.RACE_FIRST_ROWS, warmup, period, awake) for _ in range(B)]
    all_j, zero = np.arange(d), np.zeros(1, dtype=np.intp)
    found = []
    for i in range(n):
        x = X[i]
        served = []
        for b in range(B):
            t = targets[b][i]
            margins = np.full(R, np.nan)
            for c, copy in enumerate(copies[b]):
                if races[b].status[c] > WILD:      # out, or asleep
                    continue
                m = float(np.dot(copy["w"], x) + copy["b"][0])
                margins[c] = m
                copy["clock"] += 1
                gs = dloss(t, m)
                ref.step(p, copy["w"], gs * x, copy["S"], all_j, copy["clock"], rates[c], False,
                         copy["ctx"])
                ref.step(p, copy["b"], np.array([gs]), copy["Sb"], zero, copy["clock"], rates[c],
                         True, copy["ctx"])
            served.append(races[b].serve(t, margins, serve_loss))
        if regression:
            value = serve_loss(targets[0][i], served[0])
        elif B == 1:
            value = float((served[0] > 0) != (targets[0][i] > 0))
        else:
            value = float(int(np.argmax(served)) != labels[i])
        detector.update(value)
        if detector.drift_detected:
            found.append(i + 1)
            if on_drift != "none":
                for b in range(B):
                    for c, copy in enumerate(copies[b]):
                        if races[b].status[c] != OUT:
                            restart(copy, on_drift == "reset")
                    races[b].reopen()
    return copies, races, np.array(found, dtype=np.int64)


TASKS = {"binary": (SGDClassifier, "log_loss"), "ovr": (SGDClassifier, "hinge"),
         "regression": (SGDRegressor, "squared_error")}


def _check_against_reference(est, copies, races, found):
    R = len(RATES)
    np.testing.assert_array_equal(est.drifts_, found)
    scal = est._model.scalars
    rr = est.rate_race_
    for b, row in enumerate(copies):
        for c, copy in enumerate(row):
            k = b * R + c
            np.testing.assert_allclose(est._model.w[k], copy["w"], rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(scal[k, _driver._k.SLOTS["intercept"]], copy["b"][0],
                                       rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(scal[b * R:(b + 1) * R, _driver._k.SLOTS["race_status"]],
                                      races[b].status)
        np.testing.assert_allclose(rr["weights"][b], races[b].share, rtol=1e-7, atol=1e-12)
    served_loss = sum(r.served_loss for r in races)
    served_n = sum(r.served_n for r in races)
    np.testing.assert_allclose(est.progressive_loss_, served_loss / served_n, rtol=1e-8)


@pytest.mark.parametrize("task", ["binary", "ovr", "regression"])
@pytest.mark.parametrize("on_drift", ["restart", "reset", "none"])
def test_matches_the_reference(task, on_drift):
    X, y = drifting(task, seed=3)
    est_cls, loss = TASKS[task]
    est = est_cls(loss=loss, optimizer="adam", learning_rate="auto", auto_rates=RATES,
                  penalty=None, shuffle=False, drift_detector=ADWIN(**DETECTOR),
                  on_drift=on_drift)
    est.partial_fit(X, y, **({} if task == "regression" else {"classes": np.unique(y)}))
    # the estimator's own narrowing (1,200 rows: it narrows once after 1,024)
    copies, races, found = reference_race_drift(X, y, Adam(), RATES, loss, task,
                                                river_drift.ADWIN(**DETECTOR), on_drift,
                                                warmup=_driver.RACE_WARMUP,
                                                period=_driver.RACE_PERIOD,
                                                awake=_driver.RACE_AWAKE)
    assert len(found) >= 1
    _check_against_reference(est, copies, races, found)


@pytest.fixture
def narrow_early(monkeypatch):
    # the race narrows after 60 rows, then every 40, to 2 copies
    monkeypatch.setattr(_driver, "RACE_WARMUP", 60)
    monkeypatch.setattr(_driver, "RACE_PERIOD", 40)
    monkeypatch.setattr(_driver, "RACE_AWAKE", 2)


@pytest.mark.parametrize("events", [False, True])
@pytest.mark.parametrize("task", ["binary", "regression"])
def test_a_restart_wakes_the_sleeping_copies(narrow_early, events, task):
    """After a detection every copy races again (the sleeping ones with the
    weights they fell asleep with), and the race narrows again after
    ``warmup`` rows counted from the re-opening."""
    X, y = drifting(task, seed=5)
    est_cls, loss = TASKS[task]
    est = est_cls(loss=loss, optimizer="adam", learning_rate="auto", auto_rates=RATES,
                  penalty=None, shuffle=False, drift_detector=ADWIN(**DETECTOR))
    fit_kw = {} if task == "regression" else {"classes": np.unique(y)}
    if events:
        est.partial_fit(X[:1], y[:1], **fit_kw)
        for i in range(1, len(X)):
            est.learn_one(X[i], y[i])
    else:
        est.partial_fit(X, y, **fit_kw)
    copies, races, found = reference_race_drift(
        X, y, Adam(), RATES, loss, task, river_drift.ADWIN(**DETECTOR), "restart",
        warmup=60, period=40, awake=2)
    # the race had narrowed before some detection (60 rows after the last re-opening)
    assert len(found) >= 2 and np.diff(np.concatenate([[0], found])).max() > 60
    _check_against_reference(est, copies, races, found)


def test_a_detection_reopens_the_race_at_once():
    """A call that ends on the detecting row leaves the race re-opened: the
    default copy's share 1, no discounted loss, every copy racing."""
    X, y = drifting("binary", seed=3)
    kw = {"loss": "log_loss", "optimizer": "auto", "shuffle": False,
          "drift_detector": ADWIN(**DETECTOR)}
    probe = SGDClassifier(**kw).partial_fit(X, y, classes=[0, 1])
    assert len(probe.drifts_)
    at = int(probe.drifts_[0])
    est = SGDClassifier(**kw).partial_fit(X[:at], y[:at], classes=[0, 1])
    np.testing.assert_array_equal(est.drifts_, [at])
    scal = est._model.scalars
    slots = _driver._k.SLOTS
    default = int(scal[0, slots["race_default"]])
    share = est.rate_race_["weights"][0]
    assert share[default] == 1.0 and share.sum() == 1.0
    status = scal[:, slots["race_status"]]
    assert set(status) <= {0.0, 2.0}
    np.testing.assert_array_equal(scal[status == 0, slots["race_loss"]], 0.0)
    assert scal[0, slots["race_count"]] == 0.0
    assert scal[0, slots["race_opened"]] == scal[0, slots["served_n"]] == at
    # every copy's clock restarted: the next update is each one's first
    np.testing.assert_array_equal(scal[status == 0, slots["clock0"]],
                                  scal[status == 0, slots["t"]] - 1.0)
    # and the rest of the stream continues as one call
    est.partial_fit(X[at:], y[at:])
    _same(est, probe)


# --------------------------------------------------------------------------
# the detector's state is the model's
# --------------------------------------------------------------------------


def _same(a, b):
    for name in ("weight_blocks", "scalars", "intercept_block", "last_update", "drift_state",
                 "drifts", "schedule_state"):
        np.testing.assert_array_equal(getattr(a._model, name), getattr(b._model, name),
                                      err_msg=name)


def _make(task, race, on_drift, detector, dtype=np.float64, sparse=False, seed=0, n=700):
    X, y = drifting(task, n=n, seed=seed, flips=(0.3, 0.6))
    kw = {"optimizer": "auto"} if race == "optimizer" else {
        "optimizer": "adam", "learning_rate": "auto", "auto_rates": RATES}
    est_cls, loss = TASKS[task]
    est = est_cls(loss=loss if task != "binary" else "log_loss", shuffle=False, penalty=None,
                  drift_detector=detector, on_drift=on_drift, **kw)
    fit_kw = {} if task == "regression" else {"classes": np.unique(y)}
    X = X.astype(dtype)
    return est, (sp.csr_matrix(X) if sparse else X), y, fit_kw


DETECTORS = [lambda: ADWIN(clock=4, delta=0.3),
             lambda: PageHinkley(min_instances=10, threshold=4.0, mode="up")]


@settings(max_examples=20, deadline=None)
@given(task=st.sampled_from(["binary", "ovr", "regression"]),
       race=st.sampled_from(["rate", "optimizer"]),
       on_drift=st.sampled_from(["restart", "reset", "none"]),
       det=st.sampled_from(DETECTORS), sparse=st.booleans(),
       cuts=st.lists(st.integers(1, 200), min_size=1, max_size=8))
def test_any_chunking_and_learn_one_train_the_same_model(task, race, on_drift, det, sparse, cuts):
    est, X, y, fit_kw = _make(task, race, on_drift, det(), sparse=sparse)
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


@pytest.mark.parametrize("race", ["rate", "optimizer"])
def test_blocks_of_the_general_path_change_nothing(race):
    est, X, y, fit_kw = _make("ovr", race, "restart", ADWIN(clock=4, delta=0.3))
    one = est.__class__(**est.get_params(deep=False)).partial_fit(X, y, **fit_kw)
    with _driver.pass_blocks(37):
        blocked = est.__class__(**est.get_params(deep=False)).partial_fit(X, y, **fit_kw)
    _same(one, blocked)
    assert len(one.drifts_) > 0


@pytest.mark.parametrize("task", ["binary", "ovr", "regression"])
@pytest.mark.parametrize("race", ["rate", "optimizer"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_resumes_bitwise(task, race, dtype, tmp_path):
    est, X, y, fit_kw = _make(task, race, "restart", ADWIN(clock=4, delta=0.3), dtype=dtype)
    whole = est.__class__(**est.get_params(deep=False)).partial_fit(X, y, **fit_kw)
    est.partial_fit(X[:333], y[:333], **fit_kw)
    save(est, tmp_path / "m.streamlr")
    loaded = load(tmp_path / "m.streamlr")
    _same(est, loaded)
    loaded.partial_fit(X[333:], y[333:], **fit_kw)
    _same(whole, loaded)
    assert len(whole.drifts_) >= 1 and whole.drifts_[-1] > 333


@pytest.mark.parametrize("task", ["binary", "ovr", "regression"])
@pytest.mark.parametrize("rows", [40, 400])    # the bound engine, the general path
def test_a_failed_call_changes_nothing(task, rows):
    est, X, y, fit_kw = _make(task, "rate", "reset", PageHinkley(min_instances=5, threshold=1.0))
    est.partial_fit(X[:200], y[:200], **fit_kw)
    names = ("weight_blocks", "scalars", "intercept_block", "drift_state", "drifts",
             "last_update")
    before = {name: getattr(est._model, name).copy() for name in names}
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
    with pytest.raises(ValueError):
        est.learn_one(bad[-1], y[200 + rows - 1])
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(est._model, name), value, err_msg=name)
    # and the stream goes on as if the failed calls never happened
    est.partial_fit(X[200:], y[200:])
    probe = est.__class__(**est.get_params(deep=False)).partial_fit(X, y, **fit_kw)
    _same(est, probe)


def test_a_copy_that_diverges_leaves_the_race_and_the_stream_goes_on():
    X, y = drifting("regression", n=600, seed=2)
    kw = {"loss": "squared_error", "optimizer": "sgd", "learning_rate": "auto",
          "auto_rates": (1e-5, 1e-4, 1e300), "penalty": None, "shuffle": False,
          "drift_detector": ADWIN(clock=4, delta=0.3)}
    one = SGDRegressor(**kw).partial_fit(X, y)
    status = one._model.scalars[:, _driver._k.SLOTS["race_status"]]
    assert status[2] == OUT and np.isfinite(one.coef_).all() and len(one.drifts_) >= 2
    chunked = SGDRegressor(**kw)
    for lo in range(0, len(X), 50):
        chunked.partial_fit(X[lo:lo + 50], y[lo:lo + 50])
    _same(one, chunked)
    # the copy that left stays out of the re-opened race: it is never served
    assert one.rate_race_["weights"][0][2] == 0.0


def test_fit_runs_the_race_without_the_detector():
    est, X, y, fit_kw = _make("binary", "rate", "restart", ADWIN(clock=4, delta=0.3))
    est.set_params(max_iter=2, tol=None)
    est.fit(X, y)
    assert len(est.drifts_) == 0
    est.partial_fit(X, y)
    assert len(est.drifts_) >= 1


@pytest.mark.parametrize("rows", [40, 400])    # the bound engine, the general path
@pytest.mark.parametrize("sparse", [False, True])
def test_a_failed_call_that_woke_sleeping_copies_changes_nothing(narrow_early, rows, sparse):
    """The snapshot takes a sleeping copy's coordinates when a restart wakes
    it: a call failing after that puts them back."""
    est, X, y, fit_kw = _make("binary", "rate", "restart", ADWIN(clock=4, delta=0.3),
                              sparse=sparse, n=900)
    start = 250
    est.partial_fit(X[:start], y[:start], **fit_kw)
    status = est._model.scalars[:, _driver._k.SLOTS["race_status"]]
    assert (status == 3).any()          # some copies sleep when the call begins
    names = ("weight_blocks", "scalars", "intercept_block", "drift_state", "drifts",
             "last_update")
    before = {name: getattr(est._model, name).copy() for name in names}
    probe = est.__class__(**est.get_params(deep=False)).partial_fit(X[:start], y[:start],
                                                                     **fit_kw)
    probe.partial_fit(X[start:start + rows - 1], y[start:start + rows - 1])
    assert len(probe.drifts_) > len(est.drifts_)     # a restart woke them during the call
    # a copy asleep at the start learned during the call (it may sleep again at its end)
    moved = (probe._model.w != est._model.w).any(axis=1)
    assert (moved & (status == 3)).any()
    bad = X[start:start + rows].copy()
    if sparse:
        bad = bad.toarray()
    bad[-1, 0] = np.nan
    with pytest.raises(ValueError):
        est.partial_fit(sp.csr_matrix(bad) if sparse else bad, y[start:start + rows])
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(est._model, name), value, err_msg=name)
