"""new_classes="add" with a rate race (``learning_rate="auto"``,
``optimizer="auto"``).

One-vs-rest: a new class adds one row to every copy (zero weights, the
copy's rule's initial state, its clocks), and its binary problem starts its
own race as a race starts (every copy racing, zero discounted losses, the
default copy serving first). So the grown model holds bitwise the model
declared with every class from the start whose new class's rows are reset,
at the arrival, to fresh zero rows with a fresh race (within the race's
warm-up, where no copy sleeps). The softmax model: every copy gets a zero
row and the copies' race goes on.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from test_new_classes import _reset_row, _stream, _stream_of_arrivals

from streamlr import SGDClassifier, load, save
from streamlr.drift import ADWIN
from streamlr.linear_model import _params
from streamlr.linear_model._growth import RACE_SCALARS
from streamlr.linear_model._state import SLOTS
from streamlr.testing import model_state

RACES = [dict(optimizer="adam", learning_rate="auto", auto_rates=(1e-3, 1e-2, 1e-1)),
         dict(optimizer="sgd", learning_rate="auto", auto_rates=(1e-3, 1e-1), average=True),
         dict(optimizer="auto")]
NAMES = ("weight_blocks", "scalars", "intercept_block", "average_weights", "last_update",
         "class_counts", "schedule_state")


def _ids(kw):
    return "-".join(f"{k}={v}" for k, v in kw.items() if k != "auto_rates")


def _race_params(kw, **more):
    params = dict(loss="hinge", shuffle=False, alpha=1e-3)
    params.update(kw)
    params.update(more)
    return params


def _specs(est):
    members = _params.race_members(est, _params.validate_params(est))
    return [spec for spec, _ in members]


def _reset_race(est, b):
    """Binary problem b of a declared race, reset to fresh zero rows (each
    copy's rule) with a fresh race (NumPy only)."""
    m = est._model
    R = m.copies
    default = int(m.scalars[0, SLOTS["race_default"]])
    for c, spec in enumerate(_specs(est)):
        k = b * R + c
        _reset_row(est, k, spec)
        for name in RACE_SCALARS:
            m.scalars[k, SLOTS[name]] = 0.0
        m.scalars[k, SLOTS["race_default"]] = default
        m.scalars[k, SLOTS["race_share"]] = float(c == default)


def _same(a, b):
    assert_array_equal(a.classes_, b.classes_)
    sa, sb = model_state(a), model_state(b)
    for name in NAMES:
        assert_array_equal(sa[name], sb[name], err_msg=name)
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)
    assert a.t_ == b.t_


@pytest.mark.parametrize("kw", RACES, ids=_ids)
@pytest.mark.parametrize("how", ["one_call", "chunks", "learn_one"])
@pytest.mark.parametrize("n_classes,new,seen", [(3, 1, [0, 2]), (4, 2, [0, 1, 3])])
def test_ovr_race_equals_declared_race_with_a_fresh_problem(kw, how, n_classes, new, seen):
    X, y, arrival = _stream(n_classes, new=new, seed=1)
    params = _race_params(kw)
    grown = SGDClassifier(new_classes="add", **params)
    if how == "one_call":
        grown.partial_fit(X, y, classes=seen)
    elif how == "chunks":
        for lo in range(0, X.shape[0], 13):
            grown.partial_fit(X[lo:lo + 13], y[lo:lo + 13], classes=seen)
    else:
        for i in range(X.shape[0]):
            grown.learn_one(X[i], y[i], classes=seen if i == 0 else None)
    ref = SGDClassifier(**params)
    ref.partial_fit(X[:arrival], y[:arrival], classes=list(range(n_classes)))
    _reset_race(ref, new)
    ref.partial_fit(X[arrival:], y[arrival:])
    _same(grown, ref)


@pytest.mark.parametrize("kw", RACES, ids=_ids)
def test_growth_of_a_race_row_by_row(kw):
    X, y, arrival = _stream(4, new=2, seed=3)
    est = SGDClassifier(new_classes="add", **_race_params(kw))
    est.partial_fit(X[:arrival], y[:arrival], classes=[0, 1, 3])
    before = model_state(est)
    R = est._model.copies
    specs = _specs(est)
    est._add_classes(_params.validate_params(est), [2])     # the growth alone
    after = model_state(est)
    assert after["weight_blocks"].shape[0] == 4 * R
    keep = np.r_[0:2 * R, 3 * R:4 * R]
    for name in ("weight_blocks", "scalars", "intercept_block", "last_update"):
        assert_array_equal(after[name][keep], before[name], err_msg=name)
    m = est._model
    for c, spec in enumerate(specs):
        k = 2 * R + c
        assert_array_equal(m.w[k], 0.0)
        init = spec.initial_values()
        for i, value in enumerate(init):
            expected = 0.0 if spec.slots()[i] in spec.starts_at_weights else value
            assert_array_equal(m.slot(i)[k], expected)
        assert m.scalars[k, SLOTS["race_loss"]] == 0.0
        assert m.scalars[k, SLOTS["race_status"]] == 0.0
    share = m.race_shares()[2]
    assert share.sum() == 1.0 and share[int(m.scalars[0, SLOTS["race_default"]])] == 1.0


@pytest.mark.parametrize("kw", RACES, ids=_ids)
def test_softmax_race_grows_every_copy_and_its_race_goes_on(kw):
    X, y, _ = _stream(3, new=2, seed=4)
    keep = y < 2
    params = _race_params(kw, loss="log_loss", multi_class="multinomial", penalty=None)
    est = SGDClassifier(new_classes="add", **params).partial_fit(X[keep][:60], y[keep][:60])
    R = est._model.copies
    race = est._model.scalars[:R][:, [SLOTS[n] for n in RACE_SCALARS]].copy()
    p = est.predict_proba(X[:20])
    est._add_classes(_params.validate_params(est), [2])     # the growth alone
    assert_array_equal(est.classes_, [0, 1, 2])
    m = est._model
    assert m.weight_blocks.shape[0] == 3 * R
    # the copies' race goes on: every class row of copy c holds its bookkeeping
    for k in range(3):
        assert_array_equal(m.scalars[k * R:(k + 1) * R][:, [SLOTS[n] for n in RACE_SCALARS]],
                           race)
    for k in (0, 2):
        assert_array_equal(m.w[k * R:(k + 1) * R], 0.0)
    q = est.predict_proba(X[:20])
    assert_allclose(q[:, 1] / (q[:, 0] + q[:, 1]), p[:, 1], rtol=1e-12)
    est.partial_fit(X[61:], y[61:])
    assert np.isfinite(est.coef_).all() and len(est.classes_) == 3


@pytest.mark.parametrize("kw", RACES, ids=_ids)
@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
def test_chunks_and_events_give_the_same_model(kw, multi_class):
    X, y = _stream_of_arrivals(False)
    loss = "log_loss" if multi_class == "multinomial" else "hinge"
    make = lambda: SGDClassifier(new_classes="add", **_race_params(  # noqa: E731
        kw, loss=loss, multi_class=multi_class, drift_detector=ADWIN(delta=0.5)))
    one = make().partial_fit(X, y)
    chunks = make()
    for lo in range(0, X.shape[0], 11):
        chunks.partial_fit(X[lo:lo + 11], y[lo:lo + 11])
    events = make()
    for i in range(X.shape[0]):
        events.learn_one(X[i], y[i])
    for other in (chunks, events):
        _same(one, other)


@pytest.mark.parametrize("kw", RACES, ids=_ids)
def test_failed_call_leaves_model_unchanged_and_save_load(kw, tmp_path):
    X, y = _stream_of_arrivals(False)
    est = SGDClassifier(new_classes="add", **_race_params(kw))
    keep = np.isin(y, ["b", "d"])
    est.partial_fit(X[keep][:70], y[keep][:70])
    before, classes = model_state(est), est.classes_.copy()
    Xbad, ybad = X[100:110].copy(), y[100:110].copy()
    ybad[0] = "a"                   # a new class, then a bad row
    Xbad[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(Xbad, ybad)
    assert_array_equal(est.classes_, classes)
    after = model_state(est)
    for name in NAMES:
        assert before[name].tobytes() == after[name].tobytes(), name
    est.partial_fit(X[100:140], y[100:140])
    save(est, tmp_path / "m.streamlr")
    loaded = load(tmp_path / "m.streamlr")
    est.partial_fit(X[140:], y[140:])
    loaded.partial_fit(X[140:], y[140:])
    _same(est, loaded)
