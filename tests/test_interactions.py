"""``interactions=``: Vowpal Wabbit's -q/--cubic crosses of hashed dict events,
made per event in compiled code. Oracles: VW's own --audit of the same events
written as VW text (every crossed index and value), and a pure-Python
crossing of the features hashed one at a time (bitwise equal rows; the
estimators fitted on them bitwise equal to fitting the wider matrix)."""
import io
import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import streamlr
from streamlr import SGDClassifier, SGDRegressor
from streamlr.hashing import hash_feature
from streamlr.io import read_vw

BITS = 18
MASK = (1 << BITS) - 1
FNV = 16777619
U32 = 0xFFFFFFFF


# -- the reference: the documented rules in Python -----------------------------------------

def _letter(ns):
    ns = ns.strip()
    return ns[0] if ns else " "


def _base(event):
    """(full 32-bit hash, value, namespace letter) of the event's own features,
    in its order."""
    out = []

    def add(key, value, ns):
        if isinstance(value, str):
            out.append((hash_feature(f"{key}={value}", ns, 32), 1.0, _letter(ns)))
        elif float(value) != 0:
            out.append((hash_feature(key, ns, 32), float(value), _letter(ns)))

    for key, value in event.items():
        if isinstance(value, dict):
            for k, v in value.items():
                add(k, v, key)
        else:
            add(key, value, " ")
    return out


def _vw_order(interactions):
    """VW 9's set of crosses: one per set of letters, a repeated letter sorted."""
    kept = {}
    for inter in interactions:
        key = "".join(sorted(inter))
        kept[key] = min(kept.get(key, inter), inter)
    return [key if len(set(key)) < len(key) else raw for key, raw in kept.items()]


def reference_row(event, interactions, bits=BITS):
    base = _base(event)
    cols = [h for h, _, _ in base]
    vals = [v for _, v, _ in base]
    n = len(base)
    for inter in _vw_order(interactions):
        a, b = inter[0], inter[1]
        for i in range(n):
            if base[i][2] != a:
                continue
            for j in range(i if a == b else 0, n):
                if base[j][2] != b:
                    continue
                hab = ((base[i][0] * FNV) & U32) ^ base[j][0]
                vab = base[i][1] * base[j][1]
                if len(inter) == 2:
                    if vab != 0:
                        cols.append(hab)
                        vals.append(vab)
                    continue
                c = inter[2]
                for k in range(j if b == c else 0, n):
                    if base[k][2] != c:
                        continue
                    v = vab * base[k][1]
                    if v != 0:
                        cols.append(((hab * FNV) & U32) ^ base[k][0])
                        vals.append(v)
    mask = (1 << bits) - 1
    return [c & mask for c in cols], vals


def reference_matrix(events, interactions, bits=BITS):
    rows = [reference_row(e, interactions, bits) for e in events]
    indptr = np.cumsum([0] + [len(c) for c, _ in rows])
    cols = np.array([c for r, _ in rows for c in r], dtype=np.intc)
    vals = np.array([v for _, r in rows for v in r], dtype=np.float64)
    return sp.csr_matrix((vals, cols, indptr), shape=(len(events), 1 << bits))


def make_events(n=300, seed=0, quarter_values=False):
    """Namespaced events (user, item, context, default): string and numeric
    features; with ``quarter_values`` the numbers are multiples of 1/4, so
    that VW's float products equal the double ones."""
    rng = np.random.default_rng(seed)
    events, y = [], []
    for _ in range(n):
        e = {}
        for ns in ("user", "item", "c", " "):
            if rng.random() < 0.15:
                continue
            d = {}
            for j in range(rng.integers(0, 6)):
                if rng.random() < 0.5:
                    d[f"f{j}"] = f"v{rng.integers(0, 5)}"
                elif quarter_values:
                    d[f"x{j}_{rng.integers(0, 40)}"] = float(rng.integers(-8, 9)) / 4
                else:
                    d[f"x{j}_{rng.integers(0, 40)}"] = float(rng.normal())
            if not d:
                continue
            if ns == " ":
                e.update(d)
            else:
                e[ns] = d
        events.append(e)
        y.append(int(rng.random() < 0.5))
    return events, np.array(y)


def hashed(events, interactions, bits=BITS):
    """The rows the estimator learns from (its own hashing and crossing)."""
    return SGDClassifier(hash_bits=bits, interactions=interactions)._hashed(events)


# -- against Vowpal Wabbit --------------------------------------------------------------

def _vw_line(event):
    def feats(d):
        return " ".join(f"{k}={v}" if isinstance(v, str) else f"{k}:{v!r}" for k, v in d.items())

    parts = [f"|{k} {feats(v)}" for k, v in event.items() if isinstance(v, dict)]
    flat = {k: v for k, v in event.items() if not isinstance(v, dict)}
    if flat:
        parts.append(f"| {feats(flat)}")
    return "1 " + " ".join(parts)


def _vw_audit(path, interactions):
    """Per example, the sorted (index, value) of the features VW's --audit shows."""
    args = []
    for inter in interactions:
        args += ["-q" if len(inter) == 2 else "--cubic", inter]
    res = subprocess.run([sys.executable, "-m", "vowpalwabbit", "-d", str(path), "--audit",
                          "-b", str(BITS), "--quiet", "--noconstant", *args],
                         capture_output=True, text=True, check=True, timeout=300)
    rows = []
    for line in res.stdout.splitlines():
        if not line:
            continue
        if not line.startswith("\t"):  # a prediction line starts an example
            rows.append([])
            continue
        for item in line.strip("\t").split("\t"):
            _, index, value, _ = item.rsplit(":", 3)
            rows[-1].append((int(index), float(value)))
    return [sorted(r) for r in rows]


VW_CASES = [["ui"], ["iu", "ui"], ["uu"], ["ui", "ic"], ["uic"], ["uui"], ["iuu", "cc"],
            ["ccc"], [" u"], ["uu ", "  "], ["uic", "u "]]


@pytest.mark.parametrize("interactions", VW_CASES, ids=lambda i: "-".join(i).replace(" ", "_"))
def test_crosses_equal_vw_audit(tmp_path, interactions):
    pytest.importorskip("vowpalwabbit")
    events, _ = make_events(200, seed=1, quarter_values=True)
    path = tmp_path / "q.vw"
    path.write_text("\n".join(_vw_line(e) for e in events) + "\n")
    theirs = _vw_audit(path, interactions)
    X = hashed(events, interactions)
    assert len(theirs) == X.shape[0] == len(events)
    n_cross = 0
    for r, audit in enumerate(theirs):
        s = slice(X.indptr[r], X.indptr[r + 1])
        ours = sorted(zip(X.indices[s].tolist(), X.data[s].tolist(), strict=True))
        assert [i for i, _ in ours] == [i for i, _ in audit]
        for (_, u), (_, v) in zip(ours, audit, strict=True):  # --audit prints 6 digits
            assert math.isclose(u, v, rel_tol=1e-5)
        n_cross += len(ours) - len(_base(events[r]))
    assert n_cross > 3 * len(events)


# -- against the Python reference ----------------------------------------------------------

@pytest.mark.parametrize("interactions", VW_CASES + [["uiu"], ["ui", "uic", "cc"]],
                         ids=lambda i: "-".join(i).replace(" ", "_"))
def test_rows_equal_reference_bitwise(interactions):
    events, _ = make_events(150, seed=2)
    X, R = hashed(events, interactions), reference_matrix(events, interactions)
    for a in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(X, a), getattr(R, a))


_names = st.text("abxyz", min_size=1, max_size=3)
_values = st.one_of(st.floats(-1e3, 1e3, allow_subnormal=False), st.integers(-5, 5),
                    st.text("pq", min_size=1, max_size=2))
_spaces = st.dictionaries(_names, _values, max_size=4)
_events = st.dictionaries(st.sampled_from(["u", "i", "user", " c", "c", "", " "]), _spaces,
                          max_size=4)
_inters = st.lists(st.text("uic ", min_size=2, max_size=3), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(_events, min_size=1, max_size=5), interactions=_inters,
       bits=st.integers(1, 31))
def test_any_events_equal_reference(events, interactions, bits):
    X, R = hashed(events, interactions, bits), reference_matrix(events, interactions, bits)
    for a in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(X, a), getattr(R, a))


def test_cross_by_hand():
    ev = {"u": {"a": 2.0, "b": "x"}, "i": {"c": 3.0}}
    X = hashed([ev], ["ui", "uu"])
    ha, hb, hc = (hash_feature(n, ns, 32) for n, ns in (("a", "u"), ("b=x", "u"), ("c", "i")))
    got = list(zip(X.indices.tolist(), X.data.tolist(), strict=True))
    cross = [(((ha * FNV) ^ hc) & MASK, 6.0), (((hb * FNV) ^ hc) & MASK, 3.0),
             (((ha * FNV) ^ ha) & MASK, 4.0), (((ha * FNV) ^ hb) & MASK, 2.0),
             (((hb * FNV) ^ hb) & MASK, 1.0)]
    assert got[3:] == cross   # after the event's own three features, in VW's order


# -- the estimators on crossed events -------------------------------------------------------

ESTIMATORS = [
    lambda **kw: SGDClassifier(loss="log_loss", shuffle=False, **kw),
    lambda **kw: SGDClassifier(loss="hinge", optimizer="adam", learning_rate="constant",
                               eta0=0.01, fit_intercept=False, shuffle=False, **kw),
    lambda **kw: SGDRegressor(shuffle=False, **kw),
    lambda **kw: SGDRegressor(loss="huber", optimizer="vw", shuffle=False, **kw),
]
INTERS = ["ui", "uic", "cc"]


@pytest.mark.parametrize("make", ESTIMATORS)
def test_fit_equals_the_materialised_matrix(make):
    events, y = make_events(300, seed=3)
    if isinstance(make(), SGDRegressor):
        y = y + 0.25
    kw = {"classes": [0, 1]} if isinstance(make(), SGDClassifier) else {}
    ours = make(hash_bits=BITS, interactions=INTERS)
    wide = make(hash_bits=BITS)
    X = reference_matrix(events, INTERS)
    ours.partial_fit(events[:170], y[:170], **kw)
    wide.partial_fit(X[:170], y[:170], **kw)
    for e, t in zip(events[170:], y[170:], strict=True):
        ours.learn_one(e, t)
    wide.partial_fit(X[170:], y[170:])
    np.testing.assert_array_equal(ours.coef_, wide.coef_)
    np.testing.assert_array_equal(ours.intercept_, wide.intercept_)
    np.testing.assert_array_equal(ours.predict(events), wide.predict(X))
    if isinstance(ours, SGDClassifier):
        np.testing.assert_array_equal(ours.decision_function(events), wide.decision_function(X))
    for r in (0, 7, 299):
        assert ours.predict_one(events[r]) == wide.predict(X[r])[0]
    # a matrix is taken as it is: the crossed one predicts alike
    np.testing.assert_array_equal(ours.predict(X), wide.predict(X))


def test_fit_and_proba_one():
    events, y = make_events(200, seed=4)
    X = reference_matrix(events, ["ui"])
    ours = SGDClassifier(loss="log_loss", hash_bits=BITS, interactions=["ui"], shuffle=False,
                         max_iter=3, tol=None, random_state=0).fit(events, y)
    wide = SGDClassifier(loss="log_loss", hash_bits=BITS, shuffle=False, max_iter=3, tol=None,
                         random_state=0).fit(X, y)
    np.testing.assert_array_equal(ours.coef_, wide.coef_)
    np.testing.assert_array_equal(ours.predict_proba(events), wide.predict_proba(X))
    p = ours.predict_proba_one(events[5])
    assert p[1] == wide.predict_proba(X[5])[0, 1]


def test_float32_events():
    events, y = make_events(100, seed=5)
    X = reference_matrix(events, ["ui"]).astype(np.float32)
    ours = SGDRegressor(hash_bits=BITS, interactions=["ui"], shuffle=False)
    wide = SGDRegressor(hash_bits=BITS, shuffle=False)
    wide.partial_fit(X, y.astype(np.float32))
    ours.partial_fit(sp.csr_matrix(X[:1]), y[:1].astype(np.float32))  # a float32 model
    for e, t in zip(events[1:], y[1:], strict=True):
        ours.learn_one(e, t)
    np.testing.assert_array_equal(ours.coef_, wide.coef_)


def test_saved_cloned_and_resumed(tmp_path):
    events, y = make_events(160, seed=6)
    m = SGDClassifier(loss="log_loss", hash_bits=BITS, interactions=["ui", "uic"], shuffle=False)
    m.partial_fit(events[:80], y[:80], classes=[0, 1])
    path = tmp_path / "m.streamlr"
    streamlr.save(m, path)
    loaded = streamlr.load(path)
    assert list(loaded.interactions) == ["ui", "uic"] == list(clone(m).interactions)
    for e, t in zip(events[80:], y[80:], strict=True):
        m.learn_one(e, t)
        loaded.learn_one(e, t)
    np.testing.assert_array_equal(loaded.coef_, m.coef_)


def test_no_crosses_without_the_namespaces():
    events = [{"u": {"a": 1.0}}, {"i": {"b": 1.0}}, {}]
    X = hashed(events, ["ui", "uic"])
    np.testing.assert_array_equal(X.toarray(), hashed(events, []).toarray())
    assert SGDClassifier(hash_bits=BITS, interactions=[])._hashed(events).nnz == 2


@pytest.mark.parametrize("bad, match", [
    (["u"], "'interactions'.*'u'"), (["uicd"], "'interactions'.*'uicd'"),
    ([5], "'interactions'.*5"), ([b"ui"], "'interactions'"), (["u:"], "'interactions'"),
    (7, "'interactions'"), ({"ui": 1}, "'interactions'"),
])
@pytest.mark.parametrize("cls", [SGDClassifier, SGDRegressor])
def test_bad_interactions(bad, match, cls):
    m = cls(hash_bits=BITS, interactions=bad)
    kw = {"classes": [0, 1]} if cls is SGDClassifier else {}
    with pytest.raises(ValueError, match=match):
        m.partial_fit([{"u": {"a": 1}}], [1], **kw)
    with pytest.raises(ValueError, match=match):
        m.learn_one({"u": {"a": 1}}, 1, **kw)
    assert not hasattr(m, "coef_")


def test_interactions_need_hash_bits():
    with pytest.raises(ValueError, match="'interactions'.*'hash_bits'"):
        SGDClassifier(interactions=["ui"]).fit(np.eye(2), [0, 1])
    SGDClassifier(interactions=[]).fit(np.eye(2), [0, 1])   # nothing to cross: allowed


def test_wide_crossed_rows_end_a_chunk_early():
    # read_vw materialises VW's crosses: a chunk also ends at 2**23 values
    # (each row here has 200 + C(202, 3) = 1,353,600), never inside a row
    line = "1 |u " + " ".join(f"f{j}" for j in range(200)) + "\n"
    data = (line * 8).encode()
    chunks = [X for X, _, _ in read_vw(io.BytesIO(data), interactions=["uuu"], chunk_rows=100)]
    assert [X.shape[0] for X in chunks] == [7, 1]
    assert all(np.diff(X.indptr).tolist() == [1_353_600] * X.shape[0] for X in chunks)


@pytest.mark.parametrize("kw", [{"learning_rate": "auto", "optimizer": "adam"},
                                {"drift_detector": streamlr.drift.PageHinkley(threshold=5.0)}],
                         ids=["rate-race", "drift"])
def test_race_and_drift_see_the_crosses(kw):
    events, y = make_events(200, seed=7)
    X = reference_matrix(events, ["ui", "cc"])
    ours = SGDClassifier(loss="log_loss", hash_bits=BITS, interactions=["ui", "cc"],
                         shuffle=False, **kw)
    wide = SGDClassifier(loss="log_loss", hash_bits=BITS, shuffle=False, **kw)
    ours.partial_fit(events[:100], y[:100], classes=[0, 1])
    wide.partial_fit(X[:100], y[:100], classes=[0, 1])
    for e, t in zip(events[100:], y[100:], strict=True):
        ours.learn_one(e, t)
    wide.partial_fit(X[100:], y[100:])
    np.testing.assert_array_equal(ours.coef_, wide.coef_)
    np.testing.assert_array_equal(ours.decision_function(events), wide.decision_function(X))
