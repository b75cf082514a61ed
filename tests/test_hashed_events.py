"""Estimators with ``hash_bits``: dict events hashed (in compiled code) as
Vowpal Wabbit hashes them, against the same rows hashed one feature at a
time by streamlr.hashing.hash_feature."""
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import streamlr
from streamlr import SGDClassifier, SGDRegressor
from streamlr.hashing import hash_feature

BITS = 12


def reference_row(event, bits=BITS):
    """The documented rules, one feature at a time."""
    cols, vals = [], []

    def add(key, value, ns):
        if isinstance(value, str):
            cols.append(hash_feature(f"{key}={value}", ns, bits))
            vals.append(1.0)
        elif float(value) != 0:
            cols.append(hash_feature(key, ns, bits))
            vals.append(float(value))

    for key, value in event.items():
        if isinstance(value, dict):
            for k, v in value.items():
                add(k, v, key)
        else:
            add(key, value, " ")
    return cols, vals


def reference_matrix(events, bits=BITS):
    rows = [reference_row(e, bits) for e in events]
    indptr = np.cumsum([0] + [len(c) for c, _ in rows])
    cols = np.array([c for r, _ in rows for c in r], dtype=np.intc)
    vals = np.array([v for _, r in rows for v in r], dtype=np.float64)
    return sp.csr_matrix((vals, cols, indptr), shape=(len(events), 1 << bits))


def make_events(n=300, seed=0):
    rng = np.random.default_rng(seed)
    events, y = [], []
    for _ in range(n):
        e = {f"n{j}": float(rng.normal()) for j in range(rng.integers(0, 6))}
        e.update({f"c{j}": f"v{rng.integers(0, 20)}" for j in range(rng.integers(0, 6))})
        if rng.random() < 0.5:
            e["u"] = {"id": f"user{rng.integers(0, 50)}", "age": int(rng.integers(0, 3))}
        if rng.random() < 0.3:
            e["i"] = {"sku": f"s{rng.integers(0, 30)}", "7": 1.5, "": "x"}
        events.append(e)
        y.append(int(rng.random() < 0.5))
    return events, np.array(y)


ESTIMATORS = [
    lambda: SGDClassifier(loss="log_loss", hash_bits=BITS, optimizer="adam",
                          learning_rate="constant", eta0=0.05, shuffle=False),
    lambda: SGDClassifier(loss="hinge", hash_bits=BITS, shuffle=False),
    lambda: SGDRegressor(hash_bits=BITS, optimizer="vw", shuffle=False),
]


@pytest.mark.parametrize("make", ESTIMATORS)
def test_events_equal_the_hashed_rows(make):
    events, y = make_events()
    X = reference_matrix(events)
    kw = {"classes": [0, 1]} if isinstance(make(), SGDClassifier) else {}
    ref = make().partial_fit(X, y, **kw)
    # learn_one, event by event (the first through partial_fit)
    one = make()
    for e, t in zip(events, y, strict=True):
        one.learn_one(e, t, **kw)
    np.testing.assert_array_equal(one.coef_, ref.coef_)
    np.testing.assert_array_equal(one.intercept_, ref.intercept_)
    # partial_fit on lists of dicts, in chunks
    chunked = make()
    for lo in range(0, len(events), 70):
        chunked.partial_fit(events[lo:lo + 70], y[lo:lo + 70], **kw)
    np.testing.assert_array_equal(chunked.coef_, ref.coef_)
    assert one.n_features_in_ == 1 << BITS and not hasattr(one, "feature_names_in_")
    # predictions of dicts equal those of the rows
    np.testing.assert_array_equal(one.predict(events), ref.predict(X))
    np.testing.assert_array_equal([one.predict_one(e) for e in events[:50]], ref.predict(X[:50]))
    if hasattr(ref, "decision_function"):
        np.testing.assert_array_equal(one.decision_function(events), ref.decision_function(X))
    fitted = make().fit(events, y)
    np.testing.assert_array_equal(fitted.coef_, make().fit(X, y).coef_)


names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
values = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.integers(-5, 5), st.booleans(),
                   names)


@settings(max_examples=200, deadline=None)
@given(event=st.dictionaries(names, st.one_of(values, st.dictionaries(names, values,
                                                                     max_size=4)),
                             max_size=8))
def test_hashing_of_any_event_is_the_documented_rule(event):
    from streamlr._kernels._hashing import EventHasher

    data, ind = EventHasher(BITS).hash_one(event)
    cols, vals = reference_row(event)
    assert ind.tolist() == cols and data.tolist() == vals


def test_bad_events_raise_before_the_model_changes():
    events, y = make_events(50)
    m = SGDClassifier(hash_bits=BITS, shuffle=False).partial_fit(events, y, classes=[0, 1])
    coef = m.coef_.copy()
    for bad, exc, match in [({"a": 1.0, 3: 2.0}, TypeError, "must be str"),
                            ({"a": math.inf}, ValueError, "'a' is not finite"),
                            ({"a": float("nan")}, ValueError, "not finite"),
                            ({"u": {"a": {"b": 1}}}, TypeError, "nest one level"),
                            ({"a": None}, TypeError, "number or a string"),
                            ({4: {"a": 1}}, TypeError, "namespace names must be str")]:
        with pytest.raises(exc, match=match):
            m.learn_one(bad, 1)
        with pytest.raises(exc, match=match):
            m.partial_fit([events[0], bad], [0, 1])
        with pytest.raises(exc, match=match):
            m.predict_one(bad)
        np.testing.assert_array_equal(m.coef_, coef)
    with pytest.raises(TypeError, match="list of dict events"):
        m.partial_fit(events[0], [0])
    with pytest.raises(ValueError, match="hash_bits=12 makes 4096"):
        m.partial_fit(np.zeros((1, 10)), [0])


@pytest.mark.parametrize("bits", [0, 32, 1.5, True, "18"])
def test_hash_bits_out_of_range(bits):
    with pytest.raises(ValueError, match="'hash_bits' parameter"):
        SGDClassifier(hash_bits=bits).learn_one({"a": 1}, 0, classes=[0, 1])
    with pytest.raises(ValueError, match="'hash_bits' parameter"):
        SGDRegressor(hash_bits=bits).partial_fit([{"a": 1}], [0.5])


def test_saved_and_cloned(tmp_path):
    events, y = make_events(120)
    m = SGDClassifier(loss="log_loss", hash_bits=BITS, shuffle=False)
    m.partial_fit(events[:60], y[:60], classes=[0, 1])
    path = tmp_path / "m.streamlr"
    streamlr.save(m, path)
    loaded = streamlr.load(path)
    assert loaded.hash_bits == BITS and clone(m).hash_bits == BITS
    for e, t in zip(events[60:], y[60:], strict=True):
        m.learn_one(e, t)
        loaded.learn_one(e, t)
    np.testing.assert_array_equal(loaded.coef_, m.coef_)
