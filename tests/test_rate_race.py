"""learning_rate="auto": the rate race, against standalone single-rate models
and a NumPy reference of the serving rule (tests/_reference_race.py)."""
import numpy as np
import pytest
import scipy.sparse as sp
from _reference_race import RaceReference
from hypothesis import given, settings
from hypothesis import strategies as st

from _reference import margin_loss

import streamlr
from streamlr import DivergenceError, SGDClassifier, SGDRegressor
from streamlr.linear_model import _driver
from streamlr.optim import COCOB

RATES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
# the serving rule is a short sequence of float64 operations per row, in
# the same order as the kernel's; exp may differ in the last bit
RTOL = 1e-12


def _stream(n=400, d=6, seed=0, classification=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * np.logspace(0, 1.5, d)
    w = rng.normal(size=d)
    y = X @ w / 5 + rng.normal(size=n)
    if classification:
        y = (y > 0).astype(int)
    return X, y


def _loss_fn(name, classification):
    if classification:
        return lambda y, p: float(margin_loss(name, 2.0 * y - 1.0, p))
    return lambda y, p: float(margin_loss(name, y, p))


def _standalone(est_cls, optimizer, rate, loss, **kw):
    """One copy of a race as a model of its own: its rule at its constant rate."""
    from streamlr.optim import resolve
    from streamlr.schedules import Constant
    spec = resolve(optimizer)
    if rate is None:                       # a rule without a rate
        return est_cls(optimizer=optimizer, loss=loss, shuffle=False, **kw)
    if spec.default_rate is not None:      # the rule's own rate, set by a schedule
        return est_cls(learning_rate=Constant(rate), optimizer=optimizer, loss=loss,
                       shuffle=False, **kw)
    return est_cls(learning_rate="constant", eta0=rate, optimizer=optimizer, loss=loss,
                   shuffle=False, **kw)


def _reference_race(est_cls, X, y, rates, optimizer, loss, classification, members=None,
                    default=None, **kw):
    """Each copy as a standalone model learning row by row, and the
    reference rule serving the rows from their decision values."""
    if members is None:
        members = [(optimizer, r) for r in rates]
        default = int(np.argmin(rates))
    rates = [r for _, r in members]
    copies = [_standalone(est_cls, opt, r, loss, **kw) for opt, r in members]
    margins = np.full((len(X), len(rates)), np.nan)
    alive = [True] * len(rates)
    for i in range(len(X)):
        for c, m in enumerate(copies):
            if not alive[c]:
                continue
            if i:
                margins[i, c] = (m.decision_function(X[i:i + 1])[0] if classification
                                 else m.predict(X[i:i + 1])[0])
            else:
                margins[i, c] = 0.0 + (0.0 if "intercept_init" not in kw else 0.0)
            try:
                if classification:
                    m.partial_fit(X[i:i + 1], y[i:i + 1], classes=[0, 1])
                else:
                    m.partial_fit(X[i:i + 1], y[i:i + 1])
            except DivergenceError:
                alive[c] = False
                margins[i, c] = np.nan
    ref = RaceReference(len(rates), default, _driver.RACE_DISCOUNT,
                        _driver.RACE_ETA, _driver.RACE_WILD,
                        _driver.RACE_BOUND if classification else np.inf,
                        _driver.RACE_FIRST_ROWS, _driver.RACE_WARMUP, _driver.RACE_PERIOD,
                        _driver.RACE_AWAKE)
    fn = _loss_fn(loss, classification)
    served = [ref.serve(y[i], margins[i], fn) for i in range(len(X))]
    return ref, np.array(served), copies


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adagrad"])
def test_regression_race_matches_standalone_copies_and_reference_rule(optimizer):
    X, y = _stream()
    race = SGDRegressor(learning_rate="auto", auto_rates=RATES, optimizer=optimizer,
                        penalty=None, shuffle=False)
    race.partial_fit(X, y)
    ref, _, copies = _reference_race(SGDRegressor, X, y, RATES, optimizer, "squared_error",
                                     False, penalty=None)
    rr = race.rate_race_
    np.testing.assert_array_equal(rr["dropped"][0], [False] * len(RATES))
    np.testing.assert_allclose(race.progressive_loss_, ref.served_loss / ref.served_n, rtol=RTOL)
    np.testing.assert_allclose(rr["weights"][0], ref.share, rtol=RTOL, atol=1e-300)
    np.testing.assert_array_equal(rr["never_served"][0], ref.status == 1)
    # each copy learned exactly what a standalone model at its rate learns
    for c, m in enumerate(copies):
        np.testing.assert_array_equal(race._model.w[c], m.coef_)
    served_coef = sum(s * m.coef_ for s, m in zip(ref.share, copies, strict=True))
    np.testing.assert_allclose(race.coef_, served_coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(race.predict(X[:5]), X[:5] @ race.coef_ + race.intercept_,
                               rtol=1e-10)
    assert race.lr_ == pytest.approx(float(ref.share @ np.asarray(RATES)), rel=RTOL)


@pytest.fixture
def narrow_early(monkeypatch):
    # the race narrows after 50 rows, then every 30, to 2 copies
    monkeypatch.setattr(_driver, "RACE_WARMUP", 50)
    monkeypatch.setattr(_driver, "RACE_PERIOD", 30)
    monkeypatch.setattr(_driver, "RACE_AWAKE", 2)


@pytest.mark.parametrize("events", [False, True])
def test_the_race_narrows_to_its_best_copies_as_the_reference(narrow_early, events):
    X, y = _stream()
    race = SGDRegressor(learning_rate="auto", auto_rates=RATES, optimizer="adam",
                        penalty=None, shuffle=False)
    if events:
        for i in range(len(X)):
            race.learn_one(X[i], y[i])
    else:
        race.partial_fit(X, y)
    ref, _, copies = _reference_race(SGDRegressor, X, y, RATES, "adam", "squared_error",
                                     False, penalty=None)
    rr = race.rate_race_
    assert (ref.status == 3).sum() == len(RATES) - 2
    np.testing.assert_array_equal(race._model.scalars[:, 21], ref.status)
    np.testing.assert_allclose(race.progressive_loss_, ref.served_loss / ref.served_n, rtol=RTOL)
    np.testing.assert_allclose(rr["weights"][0], ref.share, rtol=RTOL, atol=1e-300)
    for c in np.flatnonzero(ref.status != 3):      # the copies still awake learned every row
        np.testing.assert_array_equal(race._model.w[c], copies[c].coef_)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(1, 90), min_size=1, max_size=6))
def test_chunking_across_narrowings_changes_nothing(cuts):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_driver, "RACE_WARMUP", 50)
        mp.setattr(_driver, "RACE_PERIOD", 30)
        mp.setattr(_driver, "RACE_AWAKE", 2)
        X, y = _stream(n=300)
        one = SGDRegressor(learning_rate="auto", optimizer="adam", shuffle=False).partial_fit(X, y)
        chunked = SGDRegressor(learning_rate="auto", optimizer="adam", shuffle=False)
        edges = np.unique(np.clip(np.cumsum([0, *cuts]), 0, len(X)))
        edges = np.append(edges, len(X)) if edges[-1] != len(X) else edges
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            chunked.partial_fit(X[lo:hi], y[lo:hi])
        np.testing.assert_array_equal(one._model.weight_blocks, chunked._model.weight_blocks)
        np.testing.assert_array_equal(one._model.scalars, chunked._model.scalars)


def test_classification_race_matches_reference_rule():
    X, y = _stream(classification=True)
    race = SGDClassifier(loss="log_loss", learning_rate="auto", auto_rates=RATES,
                         optimizer="adam", penalty=None, shuffle=False)
    race.partial_fit(X, y, classes=[0, 1])
    ref, served, copies = _reference_race(SGDClassifier, X, y, RATES, "adam", "log_loss",
                                          True, penalty=None)
    np.testing.assert_allclose(race.progressive_loss_, ref.served_loss / ref.served_n, rtol=RTOL)
    np.testing.assert_allclose(race.rate_race_["weights"][0], ref.share, rtol=RTOL, atol=1e-300)
    proba = race.predict_proba(X[:4])[:, 1]
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-(X[:4] @ race.coef_[0] + race.intercept_))),
                               rtol=1e-10)


def test_served_value_is_the_share_weighted_copies_on_every_prediction_path():
    X, y = _stream(classification=True)
    yc = np.digitize(X[:, 0], [-0.5, 0.5])
    clf = SGDClassifier(learning_rate="auto", optimizer="adam", shuffle=False, random_state=0)
    clf.partial_fit(X, yc, classes=[0, 1, 2])
    assert clf.coef_.shape == (3, X.shape[1])
    assert clf.rate_race_["weights"].shape == (3, 13)
    np.testing.assert_allclose(clf.rate_race_["weights"].sum(axis=1), 1.0)
    big = clf.decision_function(np.vstack([X] * 1))           # the general path
    small = clf.decision_function(X[:10])                     # the bound engine
    one = np.array([clf._decision_one(X[i]) for i in range(10)])
    np.testing.assert_allclose(small, big[:10], rtol=1e-9)
    np.testing.assert_allclose(one, big[:10], rtol=1e-9)
    assert [clf.predict_one(X[i]) for i in range(10)] == list(clf.predict(X[:10]))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 150), min_size=1, max_size=6))
def test_any_chunking_and_learn_one_give_the_same_race(cuts):
    X, y = _stream(n=300)
    one = SGDRegressor(learning_rate="auto", optimizer="adam", shuffle=False).partial_fit(X, y)
    chunked = SGDRegressor(learning_rate="auto", optimizer="adam", shuffle=False)
    edges = np.unique(np.clip(np.cumsum([0, *cuts]), 0, len(X)))
    edges = np.append(edges, len(X)) if edges[-1] != len(X) else edges
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        chunked.partial_fit(X[lo:hi], y[lo:hi])
    np.testing.assert_array_equal(one.coef_, chunked.coef_)
    assert one.progressive_loss_ == chunked.progressive_loss_
    np.testing.assert_array_equal(one._model.scalars, chunked._model.scalars)


def test_learn_one_sparse_and_float32():
    X, y = _stream(n=200)
    a = SGDRegressor(learning_rate="auto", optimizer="adagrad", shuffle=False).partial_fit(X, y)
    b = SGDRegressor(learning_rate="auto", optimizer="adagrad", shuffle=False)
    for i in range(len(X)):
        b.learn_one(X[i], y[i])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    # Adagrad is exact on CSR rows: the same race
    c = SGDRegressor(learning_rate="auto", optimizer="adagrad", shuffle=False)
    c.partial_fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(c.coef_, a.coef_, rtol=1e-12)
    f = SGDRegressor(learning_rate="auto", optimizer="adagrad", shuffle=False)
    f.partial_fit(X.astype(np.float32), y)
    assert f.coef_.dtype == np.float32
    np.testing.assert_allclose(f.coef_, a.coef_, rtol=1e-3, atol=1e-4)


def test_save_and_load_resume_bitwise(tmp_path):
    X, y = _stream(n=300)
    a = SGDRegressor(learning_rate="auto", optimizer="adam", shuffle=False).partial_fit(X[:150], y[:150])
    streamlr.save(a, tmp_path / "race.npz")
    b = streamlr.load(tmp_path / "race.npz")
    for m in (a, b):
        m.partial_fit(X[150:], y[150:])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.progressive_loss_ == b.progressive_loss_
    assert b.rate_race_["rates"].tolist() == a.rate_race_["rates"].tolist()


def test_a_diverging_copy_leaves_the_race_without_failing_the_call():
    X, y = _stream(n=300)
    X = X * 100
    m = SGDRegressor(learning_rate="auto", auto_rates=(1e-6, 1e-5, 1e250), optimizer="sgd",
                     penalty=None, shuffle=False)
    m.partial_fit(X, y)
    rr = m.rate_race_
    assert rr["dropped"][0].tolist() == [False, False, True]
    assert rr["weights"][0, 2] == 0.0
    assert np.all(np.isfinite(m.coef_)) and np.isfinite(m.progressive_loss_)
    # learn_one too
    e = SGDRegressor(learning_rate="auto", auto_rates=(1e-6, 1e-5, 1e250), optimizer="sgd",
                     penalty=None, shuffle=False)
    for i in range(50):
        e.learn_one(X[i], y[i])
    assert e.rate_race_["dropped"][0].tolist() == [False, False, True]


@pytest.mark.parametrize("events", [False, True])
def test_only_when_every_copy_diverges_the_call_fails_and_rolls_back(events):
    X, y = _stream(n=200)
    m = SGDRegressor(learning_rate="auto", auto_rates=(1e200, 1e250), optimizer="sgd",
                     penalty=None, shuffle=False)
    m.partial_fit(X[:1] * 1e-3, y[:1] * 1e-3)
    before = m._model.state_dict()
    coef, pred = m.coef_.copy(), m.predict(X[:3])
    with pytest.raises(DivergenceError):
        if events:
            for i in range(len(X)):
                m.learn_one(X[i] * 1e3, y[i] * 1e3)
        else:
            m.partial_fit(X * 1e3, y * 1e3)
    if not events:
        after = m._model.state_dict()
        for name in ("weight_blocks", "scalars", "intercept_block"):
            np.testing.assert_array_equal(before[name], after[name])
        np.testing.assert_array_equal(m.coef_, coef)
        np.testing.assert_array_equal(m.predict(X[:3]), pred)


def test_fit_races_every_epoch_and_stops_on_the_served_loss():
    X, y = _stream(n=300, classification=True)
    clf = SGDClassifier(learning_rate="auto", optimizer="adam", max_iter=30, tol=1e-3,
                        random_state=0)
    clf.fit(X, y)
    assert 1 <= clf.n_iter_ <= 30
    assert clf.score(X, y) > 0.8
    assert clf.lr_ == pytest.approx(float(clf.rate_race_["weights"][0] @ clf.rate_race_["rates"]))
    es = SGDClassifier(learning_rate="auto", optimizer="adam", early_stopping=True,
                       random_state=0).fit(X, y)
    assert es.n_iter_ >= 1


@pytest.mark.parametrize("rates", [(), (0.1, -1.0), (0.0,), (np.nan,), (np.inf,), "fast",
                                   ("a", "b"), [[0.1]], tuple(np.logspace(-5, 0, 65))])
def test_bad_auto_rates_raise_naming_the_parameter_before_the_model_changes(rates):
    X, y = _stream(n=50)
    m = SGDRegressor(learning_rate="auto", shuffle=False).partial_fit(X, y)
    coef = m.coef_.copy()
    m.set_params(auto_rates=rates)
    with pytest.raises(ValueError, match="auto_rates"):
        m.partial_fit(X, y)
    with pytest.raises(ValueError, match="auto_rates"):
        m.learn_one(X[0], y[0])
    np.testing.assert_array_equal(m.coef_, coef)


def test_combinations_that_cannot_race_are_refused():
    X, y = _stream(n=50)
    with pytest.raises(ValueError, match="no learning rate"):
        SGDRegressor(learning_rate="auto", optimizer=COCOB()).partial_fit(X, y)
    with pytest.raises(ValueError, match="gtol"):
        SGDRegressor(learning_rate="auto", gtol=1e-3).fit(X, y)
    m = SGDRegressor(learning_rate="auto", shuffle=False).partial_fit(X, y)
    m.set_params(auto_rates=(0.1, 0.01))
    with pytest.raises(ValueError, match="races the rates"):
        m.partial_fit(X, y)
    m.set_params(auto_rates=None, learning_rate="constant")
    with pytest.raises(ValueError, match="races the rates"):
        m.learn_one(X[0], y[0])
    with pytest.raises(AttributeError, match="no rate race"):
        _ = SGDRegressor().partial_fit(X, y).rate_race_


def test_the_race_serves_close_to_the_best_rate_in_hindsight():
    # features over three orders of magnitude: the best constant rate is a
    # narrow window; the race (with nothing tuned) lands within a few percent
    X, y = _stream(n=3000, d=10, seed=1)
    losses = []
    for r in np.logspace(-5, 1, 13):
        m = SGDRegressor(learning_rate="constant", eta0=r, optimizer="adam", penalty=None,
                         shuffle=False)
        try:
            losses.append(m.partial_fit(X, y).progressive_loss_)
        except DivergenceError:
            losses.append(np.inf)
    race = SGDRegressor(learning_rate="auto", optimizer="adam", penalty=None, shuffle=False)
    race.partial_fit(X, y)
    assert race.progressive_loss_ <= 1.10 * min(losses)


# -- optimizer="auto": a race of update rules and rates --------------------------------


# the optimizer string of each rule optimizer="auto" races
AUTO_NAMES = {"Normalized": "vw", "COCOB": "cocob", "Adam": "adam", "SGD": "sgd",
              "Prodigy": "prodigy", "ScheduleFreeAdamW": "schedulefree"}


def _auto_members():
    from streamlr.linear_model._params import AutoRace
    race = AutoRace()
    return [(AUTO_NAMES[type(spec).__name__], rate) for spec, rate in race.members], race.default


@pytest.mark.parametrize("classification", [False, True])
def test_auto_optimizer_race_matches_standalone_copies_and_reference_rule(classification):
    X, y = _stream(n=300, classification=classification)
    members, default = _auto_members()
    est_cls = SGDClassifier if classification else SGDRegressor
    loss = "log_loss" if classification else "squared_error"
    race = est_cls(optimizer="auto", loss=loss, penalty=None, shuffle=False)
    if classification:
        race.partial_fit(X, y, classes=[0, 1])
    else:
        race.partial_fit(X, y)
    ref, _, copies = _reference_race(est_cls, X, y, None, None, loss, classification,
                                     members=members, default=default, penalty=None)
    rr = race.rate_race_
    assert len(rr["rates"]) == len(members) >= 19
    np.testing.assert_allclose(race.progressive_loss_, ref.served_loss / ref.served_n, rtol=RTOL)
    np.testing.assert_allclose(rr["weights"][0], ref.share, rtol=RTOL, atol=1e-300)
    for c, m in enumerate(copies):
        np.testing.assert_array_equal(race._model.w[c], m.coef_.ravel())
    assert race.optimizer_state_ == {}


def test_auto_optimizer_chunking_events_and_persistence(tmp_path):
    X, y = _stream(n=400)
    one = SGDRegressor(optimizer="auto", shuffle=False).partial_fit(X, y)
    chunked = SGDRegressor(optimizer="auto", shuffle=False)
    for lo in range(0, len(X), 70):
        chunked.partial_fit(X[lo:lo + 70], y[lo:lo + 70])
    np.testing.assert_array_equal(one.coef_, chunked.coef_)
    events = SGDRegressor(optimizer="auto", shuffle=False)
    for i in range(len(X)):
        events.learn_one(X[i], y[i])
    np.testing.assert_array_equal(one.coef_, events.coef_)
    streamlr.save(one, tmp_path / "auto.npz")
    back = streamlr.load(tmp_path / "auto.npz")
    for m in (one, back):
        m.partial_fit(X[:50], y[:50])
    np.testing.assert_array_equal(one.coef_, back.coef_)
    assert list(back.rate_race_["optimizers"]) == list(one.rate_race_["optimizers"])
    np.testing.assert_array_equal(back.rate_race_["rates"], one.rate_race_["rates"])
    # CSR rows and float32
    sp_model = SGDRegressor(optimizer="auto", shuffle=False).partial_fit(sp.csr_matrix(X), y)
    assert np.isfinite(sp_model.progressive_loss_)
    f32 = SGDRegressor(optimizer="auto", shuffle=False).partial_fit(X.astype(np.float32), y)
    assert f32.coef_.dtype == np.float32


def test_auto_optimizer_refuses_what_it_cannot_do():
    X, y = _stream(n=50)
    with pytest.raises(ValueError, match="auto_rates"):
        SGDRegressor(optimizer="auto", auto_rates=(0.1,)).partial_fit(X, y)
    with pytest.raises(ValueError, match="pa1"):
        SGDRegressor(optimizer="auto", learning_rate="pa1", loss="epsilon_insensitive").partial_fit(X, y)
    m = SGDRegressor(optimizer="auto", shuffle=False).partial_fit(X, y)
    m.set_params(optimizer="adam", learning_rate="auto")
    with pytest.raises(ValueError):
        m.partial_fit(X, y)


def test_dask_refuses_to_mix_races():
    pytest.importorskip("dask")
    from streamlr.dask import mix
    X, y = _stream(n=60)
    races = [SGDRegressor(learning_rate="auto", shuffle=False).partial_fit(X, y) for _ in range(2)]
    with pytest.raises(ValueError, match="rate races"):
        mix(races)


@pytest.mark.parametrize("optimizer, rates", [("sgd", (1e-6, 1e-5, 1e250)),
                                              ("prodigy", (0.5, 1.0, 1e250)),
                                              ("adam", (1e-4, 1e-3, 1e250))])
@pytest.mark.parametrize("sparse", [False, True])
def test_a_call_that_makes_the_model_resets_a_diverged_copy_as_a_snapshot_would(
        optimizer, rates, sparse, monkeypatch):
    # the call that makes a model snapshots no coordinates (a failure drops
    # the model whole); a copy that diverges there is reset to how the model
    # was made, exactly as the full snapshot of an older call put it back
    X, y = _stream(n=300)
    X = X * 100
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 50, X, 0.0))
    coef_init = np.linspace(-1, 1, X.shape[1])

    def fitted():
        m = SGDRegressor(learning_rate="auto", auto_rates=rates, optimizer=optimizer,
                         penalty=None, shuffle=False, max_iter=2, tol=None, average=False)
        m.fit(X, y, coef_init=coef_init, intercept_init=0.5)
        return m

    made = fitted()
    assert made.rate_race_["dropped"][0].tolist() == [False, False, True]
    monkeypatch.setattr(_driver.Transaction, "made_model", lambda self: False)
    snapshotted = fitted()
    a, b = made._model.state_dict(), snapshotted._model.state_dict()
    for name in ("weight_blocks", "average_weights", "l1_received", "last_update", "scalars",
                 "intercept_block"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert made._model.starting_coef is None
