"""The softmax model (multi_class="multinomial") with a drift detector and
with a rate race.

Drift: a NumPy reference learns the softmax sample by sample (every class
row stepped by the registry's NumPy rule), feeds a standalone
``streamlr.drift`` detector the multiclass 0/1 error of the margins it made
before learning (the first largest margin, as predict), and on a detection
restarts every class row's optimizer and the schedule's clock ("restart"),
also zeroing the weights ("reset"), or only records it ("none"). The
estimator must detect at the same samples and end at the same model; the
engine's invariants (chunks, events, save/load, rollback) hold with the
detector.

Race (learning_rate="auto", optimizer="auto"): each copy is a whole softmax
model, equal to a standalone one at its rate; the race serves the
share-weighted margins by the rule of tests/_reference_race.py's
``SoftmaxRaceReference``; coef_ is the served model.
"""
import pickle

import _streams
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import softmax

from _reference_optim import REFERENCES, reference

import streamlr
from streamlr import DivergenceError, SGDClassifier
from streamlr.drift import ADWIN, PageHinkley
from streamlr.optim import SGD, Adagrad, Adam, NAdam, Prodigy, RMSprop


def drifting(n=900, d=5, K=4, seed=0, flips=(0.4, 0.75)):
    """A K-class stream whose concept changes abruptly at the fractions ``flips``."""
    return _streams.drifting("multiclass", n, d, seed, K, flips)


def reference_softmax_drift(X, y, opt, detector, on_drift, *, eta0, schedule="constant",
                            power_t=0.5):
    """The softmax model and its detector, one loop over samples: the K
    margins, the detector fed their 0/1 error, every class row's step at
    the clock ``t - clock0``, then the reaction to a detection."""
    n, d = X.shape
    classes = np.unique(y)
    labels = np.searchsorted(classes, y)
    K = len(classes)
    ref, p = reference(opt)
    slots = ref.slots(p)
    starts = getattr(opt, "starts_at_weights", ())

    def fresh_state():
        S = [{s: np.full(d, ref.initial(p, s)) for s in slots} for _ in range(K)]
        Sb = [{s: np.full(1, ref.initial(p, s)) for s in slots} for _ in range(K)]
        ctx = [dict(ref.scalars(p) if callable(ref.scalars) else ref.scalars) for _ in range(K)]
        return S, Sb, ctx

    W, B = np.zeros((K, d)), np.zeros((K, 1))
    S, Sb, ctx = fresh_state()
    clock, found, all_j, zero = 0, [], np.arange(d), np.zeros(1, dtype=np.intp)
    for i in range(n):
        x = X[i]
        margins = W @ x + B[:, 0]
        detector.update(float(int(np.argmax(margins)) != labels[i]))
        clock += 1
        lr = eta0 if schedule == "constant" else eta0 / clock ** power_t
        resid = softmax(margins) - (np.arange(K) == labels[i])
        for k in range(K):
            gs = resid[k]
            if ref.advance is not None:
                ref.advance(p, ctx[k], clock)
            if ref.joint is not None:
                ref.joint(p, W[k], B[k], gs * x, np.array([gs]), S[k], Sb[k], all_j, clock, lr,
                          ctx[k])
            else:
                ref.step(p, W[k], gs * x, S[k], all_j, clock, lr, False, ctx[k])
                ref.step(p, B[k], np.array([gs]), Sb[k], zero, clock, lr, True, ctx[k])
        if detector.drift_detected:
            found.append(i + 1)
            if on_drift != "none":
                if on_drift == "reset":
                    W[:], B[:] = 0.0, 0.0
                S, Sb, ctx = fresh_state()
                for k in range(K):
                    for s in starts:
                        S[k][s][:] = W[k]
                        Sb[k][s][:] = B[k]
                clock = 0
    return W, B[:, 0], np.array(found, dtype=np.int64)


def _est(opt, eta0, detector, on_drift="restart", **kw):
    kw.setdefault("learning_rate", "constant")
    return SGDClassifier(loss="log_loss", multi_class="multinomial", optimizer=opt, eta0=eta0,
                         penalty=None, shuffle=False, drift_detector=detector, on_drift=on_drift,
                         **kw)


RULES = [Adam(), SGD(momentum=0.9, dampening=0.1), Adagrad(), RMSprop(centered=True), NAdam(),
         Prodigy()]
ADWIN_ARGS = {"clock": 8, "delta": 0.05}
PH_ARGS = {"min_instances": 20, "threshold": 8.0}


@pytest.mark.parametrize("on_drift", ["restart", "reset", "none"])
@pytest.mark.parametrize("opt", RULES, ids=lambda o: type(o).__name__)
def test_matches_the_reference(opt, on_drift):
    X, y = drifting(seed=3)
    eta0 = REFERENCES["Prodigy"].eta0 if isinstance(opt, Prodigy) else 0.05
    est = _est(opt, eta0, ADWIN(**ADWIN_ARGS), on_drift).partial_fit(X, y, classes=np.unique(y))
    W, b, found = reference_softmax_drift(X, y, opt, ADWIN(**ADWIN_ARGS), on_drift, eta0=eta0)
    assert len(found) >= 1
    assert_array_equal(est.drifts_, found)
    # Prodigy's estimate of d amplifies rounding noise over a long stream
    rtol = 1e-2 if isinstance(opt, Prodigy) else 1e-8
    assert_allclose(est.coef_, W, rtol=rtol, atol=1e-10)
    assert_allclose(est.intercept_, b, rtol=rtol, atol=1e-10)


@pytest.mark.parametrize("on_drift", ["restart", "reset"])
def test_restart_restarts_the_schedule_clock(on_drift):
    X, y = drifting(n=1200, seed=5)
    est = _est(Adam(), 0.05, PageHinkley(**PH_ARGS), on_drift, learning_rate="invscaling",
               power_t=0.5).partial_fit(X, y, classes=np.unique(y))
    W, b, found = reference_softmax_drift(X, y, Adam(), PageHinkley(**PH_ARGS), on_drift,
                                          eta0=0.05, schedule="invscaling")
    assert len(found) >= 1
    assert_array_equal(est.drifts_, found)
    assert_allclose(est.coef_, W, rtol=1e-8, atol=1e-10)
    assert est.lr_ == pytest.approx(0.05 / (len(X) - found[-1]) ** 0.5, rel=1e-12)


def test_plain_sgd_restart_matches_none_before_the_first_detection():
    X, y = drifting(seed=1)
    classes = np.unique(y)
    kw = dict(learning_rate="invscaling", power_t=0.5)
    none = _est("sgd", 0.1, ADWIN(**ADWIN_ARGS), "none", **kw).partial_fit(X, y, classes=classes)
    plain = _est("sgd", 0.1, None, **kw).partial_fit(X, y, classes=classes)
    # "none" trains bitwise the model without a detector
    assert_array_equal(none.coef_, plain.coef_)
    assert_array_equal(none.intercept_, plain.intercept_)
    assert len(none.drifts_) >= 1
    first = int(none.drifts_[0])
    a = _est("sgd", 0.1, ADWIN(**ADWIN_ARGS), "restart", **kw).partial_fit(
        X[:first], y[:first], classes=classes)
    b = _est("sgd", 0.1, None, **kw).partial_fit(X[:first], y[:first], classes=classes)
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.drifts_, [first])
    restart = _est("sgd", 0.1, ADWIN(**ADWIN_ARGS), "restart", **kw).partial_fit(
        X, y, classes=classes)
    assert_array_equal(restart.drifts_[:1], [first])
    # the clock restarted: the last rate is the schedule's at the rows since
    assert restart.lr_ == pytest.approx(0.1 / (len(X) - restart.drifts_[-1]) ** 0.5, rel=1e-12)


def test_detections_are_those_of_the_served_errors():
    """The detector sees each sample's error of the prediction ``predict``
    made before learning it: a standalone detector fed those errors (from a
    model without a detector) finds the same samples as on_drift="none"."""
    X, y = drifting(n=600, seed=2)
    classes = np.unique(y)
    for cls, args in ((ADWIN, ADWIN_ARGS), (PageHinkley, PH_ARGS)):
        est = _est(Adam(), 0.05, cls(**args), "none").partial_fit(X, y, classes=classes)
        plain = _est(Adam(), 0.05, None)
        det, found = cls(**args), []
        for i in range(len(X)):
            pred = plain.predict(X[i:i + 1])[0] if i else classes[0]
            det.update(float(pred != y[i]))
            if det.drift_detected:
                found.append(i + 1)
            plain.partial_fit(X[i:i + 1], y[i:i + 1], classes=classes)
        assert len(found) >= 1
        assert_array_equal(est.drifts_, found)
        assert_array_equal(est.coef_, plain.coef_)


def _same(a, b):
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)
    assert_array_equal(a.drifts_, b.drifts_)
    assert a.t_ == b.t_
    for name, v in a.optimizer_state_.items():
        assert_array_equal(v, b.optimizer_state_[name], err_msg=name)
    assert_array_equal(a._model.drift_state, b._model.drift_state)


@settings(max_examples=12, deadline=None)
@given(cuts=st.lists(st.integers(1, 599), max_size=6, unique=True),
       on_drift=st.sampled_from(["restart", "reset", "none"]),
       opt=st.sampled_from(["sgd", "adam", "vw", "schedulefree"]),
       sparse=st.booleans())
def test_chunk_invariance(cuts, on_drift, opt, sparse):
    import scipy.sparse as sp
    X, y = drifting(n=600, seed=4)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    classes = np.unique(y)
    one = _est(opt, 0.05, ADWIN(**ADWIN_ARGS), on_drift).partial_fit(X, y, classes=classes)
    chunks = _est(opt, 0.05, ADWIN(**ADWIN_ARGS), on_drift)
    bounds = [0, *sorted(cuts), 600]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        chunks.partial_fit(X[lo:hi], y[lo:hi], classes=classes)
    _same(one, chunks)


def test_events_and_one_call_agree():
    X, y = drifting(n=500, seed=6)
    classes = np.unique(y)
    one = _est(Adam(), 0.05, ADWIN(**ADWIN_ARGS)).partial_fit(X, y, classes=classes)
    assert len(one.drifts_) >= 1
    events = _est(Adam(), 0.05, ADWIN(**ADWIN_ARGS))
    for i in range(len(X)):
        events.learn_one(X[i], y[i], classes=classes)
    _same(one, events)


def test_save_load_mid_stream_is_bitwise(tmp_path):
    X, y = drifting(n=900, seed=3)
    classes = np.unique(y)
    a = _est(Adam(), 0.05, ADWIN(**ADWIN_ARGS)).partial_fit(X[:350], y[:350], classes=classes)
    b = pickle.loads(pickle.dumps(a))
    streamlr.save(a, tmp_path / "m.npz")
    c = streamlr.load(tmp_path / "m.npz")
    whole = _est(Adam(), 0.05, ADWIN(**ADWIN_ARGS)).partial_fit(X, y, classes=classes)
    for m in (a, b, c):
        m.partial_fit(X[350:], y[350:])
        _same(whole, m)
    assert (whole.drifts_ > 350).any()


@pytest.mark.parametrize("small", [False, True], ids=["general", "events"])
def test_divergence_rolls_back_the_detector(small):
    X, y = drifting(n=500, seed=3)
    classes = np.unique(y)
    est = _est(Adam(), 0.05, ADWIN(**ADWIN_ARGS)).partial_fit(X[:300], y[:300], classes=classes)
    before = (est.coef_.copy(), est.t_, est.drifts_.copy(), est._model.drift_state.copy(),
              {k: v.copy() for k, v in est.optimizer_state_.items()})
    bad = X[300:] * 1e200
    est.eta0 = 1e300
    with pytest.raises(DivergenceError):
        est.partial_fit(bad[:5] if small else bad, y[300:305] if small else y[300:])
    assert_array_equal(est.coef_, before[0])
    assert est.t_ == before[1]
    assert_array_equal(est.drifts_, before[2])
    assert_array_equal(est._model.drift_state, before[3])
    for k, v in before[4].items():
        assert_array_equal(est.optimizer_state_[k], v)
    # the stream goes on as if the failed call never happened
    est.eta0 = 0.05
    est.partial_fit(X[300:], y[300:])
    whole = _est(Adam(), 0.05, ADWIN(**ADWIN_ARGS)).partial_fit(X, y, classes=classes)
    _same(whole, est)


# --------------------------------------------------------------------------
# the rate race of softmax models (learning_rate="auto", optimizer="auto")
# --------------------------------------------------------------------------

from _reference_race import SoftmaxRaceReference  # noqa: E402

from streamlr._kernels import kernel as _k  # noqa: E402
from streamlr.linear_model import _driver  # noqa: E402

RATES = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def _race_stream(n=400, d=6, K=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.logspace(0, 1, d)
    W = rng.normal(size=(d, K))
    return X, np.argmax(X @ W + rng.normal(size=(n, K)), axis=1)


def _race(**kw):
    return SGDClassifier(loss="log_loss", multi_class="multinomial", penalty=None, shuffle=False,
                         **kw)


def _standalone(optimizer, rate):
    """One copy of the race as a softmax model of its own, at its constant rate."""
    from streamlr.optim import resolve
    from streamlr.schedules import Constant
    if rate is None:                        # a rule without a rate
        return _race(optimizer=optimizer)
    if resolve(optimizer).default_rate is not None:
        return _race(optimizer=optimizer, learning_rate=Constant(rate))
    return _race(optimizer=optimizer, learning_rate="constant", eta0=rate)


def reference_softmax_race(X, y, members, default):
    """Each copy a standalone softmax model learning row by row (its K
    margins of each row recorded before learning it), and the reference
    rule serving the rows from them."""
    classes = np.unique(y)
    labels = np.searchsorted(classes, y)
    copies = [_standalone(opt, r) for opt, r in members]
    margins = np.zeros((len(X), len(members), len(classes)))
    for i in range(len(X)):
        for c, m in enumerate(copies):
            if i:
                margins[i, c] = m.decision_function(X[i:i + 1])[0]
            m.partial_fit(X[i:i + 1], y[i:i + 1], classes=classes)
    ref = SoftmaxRaceReference(len(members), default, _driver.RACE_DISCOUNT, _driver.RACE_ETA,
                               _driver.RACE_WILD, _driver.RACE_BOUND, _driver.RACE_FIRST_ROWS,
                               _driver.RACE_WARMUP, _driver.RACE_PERIOD, _driver.RACE_AWAKE)
    served = np.array([ref.serve(labels[i], margins[i]) for i in range(len(X))])
    return ref, served, copies


def _check_race(race, ref, copies):
    rr = race.rate_race_
    assert rr["weights"].shape == (1, len(copies))
    np.testing.assert_allclose(race.progressive_loss_, ref.served_loss / ref.served_n, rtol=1e-12)
    np.testing.assert_allclose(rr["weights"][0], ref.share, rtol=1e-10, atol=1e-300)
    assert_array_equal(rr["never_served"][0], ref.status == 1)
    K = race.coef_.shape[0]
    R = len(copies)
    for c, m in enumerate(copies):
        if ref.status[c] != 3:      # awake copies learned every row, as the standalone model
            assert_array_equal(race._model.w[np.arange(K) * R + c], m.coef_)
    served_coef = sum(s * m.coef_ for s, m in zip(ref.share, copies, strict=True))
    served_icpt = sum(s * m.intercept_ for s, m in zip(ref.share, copies, strict=True))
    assert_allclose(race.coef_, served_coef, rtol=1e-10, atol=1e-12)
    assert_allclose(race.intercept_, served_icpt, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("events", [False, True], ids=["one-call", "events"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_race_matches_standalone_copies_and_reference_rule(optimizer, events):
    X, y = _race_stream()
    classes = np.unique(y)
    race = _race(learning_rate="auto", auto_rates=RATES, optimizer=optimizer)
    if events:
        for i in range(len(X)):
            race.learn_one(X[i], y[i], classes=classes)
    else:
        race.partial_fit(X, y, classes=classes)
    members = [(optimizer, r) for r in RATES]
    ref, served, copies = reference_softmax_race(X, y, members, 0)
    _check_race(race, ref, copies)
    assert race.lr_ == pytest.approx(float(ref.share @ np.asarray(RATES)), rel=1e-10)
    # what is served from now on: the share-weighted margins, coef_'s
    Xt = X[:20]
    dec = race.decision_function(Xt)
    assert_allclose(dec, Xt @ race.coef_.T + race.intercept_, rtol=1e-10, atol=1e-12)
    assert_array_equal(race.predict(Xt), classes[np.argmax(dec, axis=1)])
    for i in range(5):
        assert race.predict_one(Xt[i]) == race.predict(Xt[i:i + 1])[0]
        proba = race.predict_proba_one(Xt[i])
        assert_allclose([proba[c] for c in classes], race.predict_proba(Xt[i:i + 1])[0],
                        rtol=1e-12)


def test_auto_optimizer_race_matches_standalone_copies_and_reference_rule():
    from streamlr.linear_model._params import AutoRace
    names = {"Normalized": "vw", "COCOB": "cocob", "Adam": "adam", "SGD": "sgd",
             "Prodigy": "prodigy", "ScheduleFreeAdamW": "schedulefree"}
    auto = AutoRace()
    members = [(names[type(spec).__name__], rate) for spec, rate in auto.members]
    X, y = _race_stream(n=250, seed=1)
    race = _race(optimizer="auto").partial_fit(X, y, classes=np.unique(y))
    ref, _, copies = reference_softmax_race(X, y, members, auto.default)
    assert len(race.rate_race_["rates"]) == len(members)
    _check_race(race, ref, copies)


@pytest.fixture
def narrow_early(monkeypatch):
    # the race narrows after 50 rows, then every 30, to 2 copies
    monkeypatch.setattr(_driver, "RACE_WARMUP", 50)
    monkeypatch.setattr(_driver, "RACE_PERIOD", 30)
    monkeypatch.setattr(_driver, "RACE_AWAKE", 2)


@pytest.mark.parametrize("events", [False, True], ids=["one-call", "events"])
def test_the_race_narrows_as_the_reference(narrow_early, events):
    X, y = _race_stream(n=300, seed=2)
    classes = np.unique(y)
    race = _race(learning_rate="auto", auto_rates=RATES, optimizer="adam")
    if events:
        for i in range(len(X)):
            race.learn_one(X[i], y[i], classes=classes)
    else:
        race.partial_fit(X, y, classes=classes)
    ref, _, copies = reference_softmax_race(X, y, [("adam", r) for r in RATES], 0)
    assert (ref.status == 3).sum() == len(RATES) - 2
    K = len(classes)
    # every class's rows read the same race
    assert_array_equal(race._model.scalars[:, 21], np.tile(ref.status, K))
    _check_race(race, ref, copies)


def _same_race(a, b):
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)
    assert_array_equal(a._model.weight_blocks, b._model.weight_blocks)
    assert_array_equal(a._model.scalars, b._model.scalars)
    assert a.t_ == b.t_
    assert a.progressive_loss_ == b.progressive_loss_


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 299), max_size=5, unique=True),
       optimizer=st.sampled_from(["sgd", "adam", "auto"]), sparse=st.booleans())
def test_race_chunk_invariance(narrow_early, cuts, optimizer, sparse):
    import scipy.sparse as sp
    X, y = _race_stream(n=300, seed=3)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) < 1.0, 0.0, X))
    classes = np.unique(y)
    kw = dict(optimizer="auto") if optimizer == "auto" else dict(
        learning_rate="auto", auto_rates=RATES, optimizer=optimizer)
    one = _race(**kw).partial_fit(X, y, classes=classes)
    chunks = _race(**kw)
    bounds = [0, *sorted(cuts), 300]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        chunks.partial_fit(X[lo:hi], y[lo:hi], classes=classes)
    _same_race(one, chunks)


def test_race_save_load_mid_stream_is_bitwise(tmp_path):
    X, y = _race_stream(n=400, seed=4)
    classes = np.unique(y)
    a = _race(optimizer="auto").partial_fit(X[:150], y[:150], classes=classes)
    b = pickle.loads(pickle.dumps(a))
    streamlr.save(a, tmp_path / "m.npz")
    c = streamlr.load(tmp_path / "m.npz")
    whole = _race(optimizer="auto").partial_fit(X, y, classes=classes)
    for m in (a, b, c):
        m.partial_fit(X[150:], y[150:])
        _same_race(whole, m)


@pytest.mark.parametrize("small", [False, True], ids=["general", "events"])
def test_race_diverges_only_when_every_copy_does(small):
    X, y = _race_stream(n=300, seed=5)
    classes = np.unique(y)
    race = _race(learning_rate="auto", auto_rates=RATES, optimizer="sgd").partial_fit(
        X[:100], y[:100], classes=classes)

    def state():
        return (race._model.weight_blocks.copy(), race._model.scalars.copy(), race.t_,
                race.progressive_loss_)

    before = state()
    bad = X[100:] * 1e300       # finite rows whose margins overflow in every copy
    with pytest.raises(DivergenceError):
        race.partial_fit(bad[:5] if small else bad, y[100:105] if small else y[100:])
    after = state()
    for u, v in zip(before, after, strict=True):
        assert_array_equal(u, v)
    # a copy whose rate makes it overflow leaves the race; the others go on
    wild = _race(learning_rate="auto", auto_rates=(1e-2, 1e-1, 1e305), optimizer="sgd")
    wild.partial_fit(X[:50], y[:50], classes=classes)
    wild.partial_fit(X[50:] * 1e3, y[50:])
    dropped = wild.rate_race_["dropped"][0]
    assert dropped[2] and not dropped[:2].any()
    assert np.isfinite(wild.coef_).all()


def test_race_fit_epochs():
    X, y = _race_stream(n=400, seed=6)
    a = _race(optimizer="auto", max_iter=3, tol=None).fit(X, y)
    b = _race(optimizer="auto", max_iter=3, tol=None).fit(X, y)
    _same_race(a, b)
    assert a.n_iter_ == 3
    assert a.score(X, y) > 0.7


def test_race_learn_label_equals_learn_one():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(260, 5))
    y = np.argmax(X @ rng.normal(size=(5, 4)), axis=1)
    classes = np.arange(4)
    delayed = _race(optimizer="auto").partial_fit(X[:200], y[:200], classes=classes)
    direct = _race(optimizer="auto").partial_fit(X[:200], y[:200], classes=classes)
    for i in range(200, 260):
        assert delayed.predict_proba_one(X[i], key=i) == direct.predict_proba_one(X[i])
        delayed.learn_label(i, y[i])
        direct.learn_one(X[i], y[i])
    assert_array_equal(delayed._model.weight_blocks, direct._model.weight_blocks)
    # the served loss: of predict_one's decision values (the served weights'
    # dot) for learn_label, of the mixed margins for learn_one; equal but
    # for rounding
    served = _k.SLOTS["served_loss"]
    a, b = delayed._model.scalars, direct._model.scalars
    assert_array_equal(np.delete(a, served, axis=1), np.delete(b, served, axis=1))
    assert_allclose(a[:, served], b[:, served], rtol=1e-12)
    assert delayed.progressive_loss_ == pytest.approx(direct.progressive_loss_, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_race_copies_with_weights_are_the_standalone_models(dtype):
    X, y = _race_stream(n=200, seed=9)
    X = X.astype(dtype)
    classes = np.unique(y)
    sw = np.random.default_rng(9).uniform(0.5, 2.0, size=len(X))
    cw = {c: 1.0 + 0.5 * c for c in classes}
    race = _race(learning_rate="auto", auto_rates=RATES, optimizer="adam", class_weight=cw)
    race.partial_fit(X[:120], y[:120], classes=classes, sample_weight=sw[:120])
    race.partial_fit(X[120:], y[120:], sample_weight=sw[120:])
    assert race.coef_.dtype == dtype
    K, R = len(classes), len(RATES)
    for c, rate in enumerate(RATES):
        alone = _race(optimizer="adam", learning_rate="constant", eta0=rate, class_weight=cw)
        alone.partial_fit(X[:120], y[:120], classes=classes, sample_weight=sw[:120])
        alone.partial_fit(X[120:], y[120:], sample_weight=sw[120:])
        assert_array_equal(race._model.w[np.arange(K) * R + c], alone.coef_)
    share = race.rate_race_["weights"][0]
    served = sum(s * race._model.w[np.arange(K) * R + c].astype(np.float64)
                 for c, s in enumerate(share) if s > 0)
    assert_allclose(race.coef_, served, rtol=1e-5 if dtype == np.float32 else 1e-10, atol=1e-7)


# --------------------------------------------------------------------------
# the race with a drift detector
# --------------------------------------------------------------------------


class _SoftmaxCopy:
    """One copy of the race as a NumPy softmax model (the registry's NumPy
    rule per class row, at its constant rate), with the restart of drift."""

    def __init__(self, opt, rate, d, K):
        self.ref, self.p = reference(opt)
        self.rate, self.K, self.d = rate, K, d
        self.slots = self.ref.slots(self.p)
        self.W, self.B = np.zeros((K, d)), np.zeros((K, 1))
        self.fresh()

    def fresh(self):
        ref, p, K, d = self.ref, self.p, self.K, self.d
        self.S = [{s: np.full(d, ref.initial(p, s)) for s in self.slots} for _ in range(K)]
        self.Sb = [{s: np.full(1, ref.initial(p, s)) for s in self.slots} for _ in range(K)]
        self.ctx = [dict(ref.scalars(p) if callable(ref.scalars) else ref.scalars)
                    for _ in range(K)]
        self.clock = 0

    def margins(self, x):
        return self.W @ x + self.B[:, 0]

    def learn(self, x, label):
        ref, p = self.ref, self.p
        resid = softmax(self.margins(x)) - (np.arange(self.K) == label)
        self.clock += 1
        all_j, zero = np.arange(self.d), np.zeros(1, dtype=np.intp)
        for k in range(self.K):
            gs = resid[k]
            ref.step(p, self.W[k], gs * x, self.S[k], all_j, self.clock, self.rate, False,
                     self.ctx[k])
            ref.step(p, self.B[k], np.array([gs]), self.Sb[k], zero, self.clock, self.rate, True,
                     self.ctx[k])

    def restart(self, reset):
        if reset:
            self.W[:], self.B[:] = 0.0, 0.0
        self.fresh()


def reference_race_drift(X, y, rates, detector, on_drift):
    classes = np.unique(y)
    labels = np.searchsorted(classes, y)
    K, d = len(classes), X.shape[1]
    copies = [_SoftmaxCopy(Adam(), r, d, K) for r in rates]
    ref = SoftmaxRaceReference(len(rates), 0, _driver.RACE_DISCOUNT, _driver.RACE_ETA,
                               _driver.RACE_WILD, _driver.RACE_BOUND, _driver.RACE_FIRST_ROWS,
                               _driver.RACE_WARMUP, _driver.RACE_PERIOD, _driver.RACE_AWAKE)
    found = []
    for i in range(len(X)):
        margins = np.full((len(rates), K), np.nan)
        for c, m in enumerate(copies):
            if ref.status[c] <= 1:      # racing or never served: it learns
                margins[c] = m.margins(X[i])
                m.learn(X[i], labels[i])
        served = ref.serve(labels[i], margins)
        detector.update(float(int(np.argmax(served)) != labels[i]))
        if detector.drift_detected:
            found.append(i + 1)
            if on_drift != "none":
                for c, m in enumerate(copies):
                    if ref.status[c] != 2:
                        m.restart(on_drift == "reset")
                ref.reopen()
    return ref, copies, np.array(found, dtype=np.int64)


@pytest.mark.parametrize("events", [False, True], ids=["one-call", "events"])
@pytest.mark.parametrize("on_drift", ["restart", "reset", "none"])
def test_race_with_drift_matches_the_reference(narrow_early, on_drift, events):
    X, y = drifting(n=500, seed=3, flips=(0.3, 0.65))
    classes = np.unique(y)
    rates = (1e-3, 1e-2, 1e-1, 0.5)
    race = _race(learning_rate="auto", auto_rates=rates, optimizer="adam",
                 drift_detector=ADWIN(**ADWIN_ARGS), on_drift=on_drift)
    if events:
        for i in range(len(X)):
            race.learn_one(X[i], y[i], classes=classes)
    else:
        race.partial_fit(X, y, classes=classes)
    ref, copies, found = reference_race_drift(X, y, rates, ADWIN(**ADWIN_ARGS), on_drift)
    assert len(found) >= 1
    assert_array_equal(race.drifts_, found)
    K, R = len(classes), len(rates)
    assert_array_equal(race._model.scalars[:, 21], np.tile(ref.status, K))
    assert_allclose(race.rate_race_["weights"][0], ref.share, rtol=1e-7, atol=1e-300)
    for c, m in enumerate(copies):
        if ref.status[c] <= 1:
            assert_allclose(race._model.w[np.arange(K) * R + c], m.W, rtol=1e-8, atol=1e-10)
    assert_allclose(race.progressive_loss_, ref.served_loss / ref.served_n, rtol=1e-8)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 399), max_size=5, unique=True),
       on_drift=st.sampled_from(["restart", "reset", "none"]))
def test_race_with_drift_is_chunk_invariant(narrow_early, cuts, on_drift):
    X, y = drifting(n=400, seed=4, flips=(0.4,))
    classes = np.unique(y)

    def make():
        return _race(optimizer="auto", drift_detector=ADWIN(**ADWIN_ARGS), on_drift=on_drift)

    one = make().partial_fit(X, y, classes=classes)
    chunks = make()
    bounds = [0, *sorted(cuts), 400]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        chunks.partial_fit(X[lo:hi], y[lo:hi], classes=classes)
    _same_race(one, chunks)
    assert_array_equal(one.drifts_, chunks.drifts_)
    assert_array_equal(one._model.drift_state, chunks._model.drift_state)


def test_race_with_drift_save_load_and_rollback(tmp_path):
    X, y = drifting(n=600, seed=5)
    classes = np.unique(y)

    def make():
        return _race(optimizer="auto", drift_detector=ADWIN(**ADWIN_ARGS))

    whole = make().partial_fit(X, y, classes=classes)
    assert (whole.drifts_ > 250).any()
    a = make().partial_fit(X[:250], y[:250], classes=classes)
    streamlr.save(a, tmp_path / "m.npz")
    b = streamlr.load(tmp_path / "m.npz")
    before = (a._model.weight_blocks.copy(), a._model.scalars.copy(), a.drifts_.copy(),
              a._model.drift_state.copy())
    with pytest.raises(DivergenceError):
        a.partial_fit(X[250:] * 1e300, y[250:])
    after = (a._model.weight_blocks, a._model.scalars, a.drifts_, a._model.drift_state)
    for u, v in zip(before, after, strict=True):
        assert_array_equal(u, v)
    for m in (a, b):
        m.partial_fit(X[250:], y[250:])
        _same_race(whole, m)
        assert_array_equal(whole.drifts_, m.drifts_)
