"""The event path's hashing shortcuts against the plain ones: a string
feature's "key=value" hashed without joining the bytes, str read in place,
items read in batches (events of any size, namespaces, str subclasses,
values that run Python code), and learn_one's one compiled call."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlr import SGDClassifier, SGDRegressor
from streamlr._kernels._hashing import EventHasher, vw_hash_bytes, vw_hash_pair, vw_index

_bytes = st.one_of(
    st.binary(max_size=20),
    st.text(alphabet=" \t\x01\x1f\x200123456789=ab", max_size=12).map(str.encode),
)


@settings(max_examples=2000, deadline=None)
@given(_bytes, _bytes, st.integers(0, 2**32 - 1))
def test_pair_hash_is_the_joined_hash(key, value, seed):
    assert vw_hash_pair(key, value, seed) == vw_hash_bytes(key + b"=" + value, seed)


def _reference(event, bits):
    """(indices, values) of a dict event, one feature at a time through the
    plain hash of the joined UTF-8 bytes."""
    mask = (1 << bits) - 1
    idx, val = [], []

    def feature(k, v, ns):
        seed = 0 if ns is None else vw_hash_bytes(ns.encode(), 0)
        if isinstance(v, str):
            idx.append(vw_hash_bytes((k + "=" + v).encode(), seed) & mask)
            val.append(1.0)
        elif float(v) != 0:
            idx.append(vw_hash_bytes(k.encode(), seed) & mask)
            val.append(float(v))

    for k, v in event.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                feature(k2, v2, k)
        else:
            feature(k, v, None)
    return idx, val


_names = st.one_of(st.text(max_size=8), st.sampled_from(["a", "é", "ключ", " 12 ", "𝔘"]))
_values = st.one_of(st.text(max_size=6), st.floats(-1e6, 1e6), st.integers(-99, 99),
                    st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_names, st.one_of(_values, st.dictionaries(_names, _values, max_size=40)),
                       max_size=80))
def test_events_of_any_size_hash_as_one_feature_at_a_time(event):
    h = EventHasher(18)
    data, ind = h.hash_one(event)
    idx, val = _reference(event, 18)
    assert ind.tolist() == idx
    assert data.tolist() == val


class _Str(str):
    pass


class _Evil:
    """A value whose conversion empties the event it is in."""

    def __init__(self, event, x):
        self.event, self.x = event, x

    def __float__(self):
        self.event.clear()
        return self.x


def test_str_subclasses_and_values_that_run_code():
    h = EventHasher(18)
    event = {_Str("k"): _Str("v"), "n": 2.0}
    assert h.hash_one(event)[1].tolist() == [vw_index(b"k=v", b"", (1 << 18) - 1),
                                             vw_index(b"n", b"", (1 << 18) - 1)]
    event = {f"a{i}": float(i + 1) for i in range(40)}
    event["a3"] = _Evil(event, 7.0)
    data, ind = h.hash_one(event)       # no crash: the items read before the change count
    assert data.tolist()[:4] == [1.0, 2.0, 3.0, 7.0]
    assert 4 <= len(data) <= 40


@pytest.mark.parametrize("bad, error, match", [
    ({"a": 1.0, 3: 1.0}, TypeError, "feature names must be str"),
    ({"a": 1.0, "b": math.nan}, ValueError, "'b' is not finite"),
    ({"a": 1.0, "ns": {"x": math.inf}}, ValueError, "'x' is not finite"),
    ({"a": 1.0, 5: {"x": 1.0}}, TypeError, "namespace names must be str"),
    ({"a": 1.0, "ns": {"x": {"y": 1.0}}}, TypeError, "namespaces nest one level"),
    ({"a": 1.0, "b": [1.0]}, TypeError, "must be a number or a string"),
])
@pytest.mark.parametrize("est", [SGDClassifier, SGDRegressor])
def test_bad_events_change_nothing(bad, error, match, est):
    m = est(hash_bits=10, optimizer="adam")
    first = {f"f{i}": float(i) for i in range(45)}
    if est is SGDClassifier:
        m.learn_one(first, 1, classes=[0, 1])
    else:
        m.learn_one(first, 1.0)
    m.learn_one(first, 0 if est is SGDClassifier else 0.5)     # the engine bound
    coef, t = m.coef_.copy(), m.t_
    bad = {**{f"g{i}": float(i) for i in range(40)}, **bad}
    with pytest.raises(error, match=match):
        m.learn_one(bad, 1)
    np.testing.assert_array_equal(m.coef_, coef)
    assert m.t_ == t


def test_the_fast_call_follows_parameter_changes():
    rng = np.random.default_rng(0)
    events = [{f"c{j}": f"v{rng.integers(9)}" for j in range(5)} for _ in range(60)]
    y = rng.integers(0, 2, 60)
    a = SGDClassifier(hash_bits=12, random_state=0)
    b = SGDClassifier(hash_bits=12, random_state=0)
    for i, (x, t) in enumerate(zip(events, y, strict=True)):
        if i == 30:
            a.set_params(alpha=0.01)
            b.alpha = 0.01
        a.learn_one(x, t, classes=[0, 1])
        b.partial_fit([x], [t], classes=[0, 1])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    a.set_params(early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping"):
        a.learn_one(events[0], 1)
