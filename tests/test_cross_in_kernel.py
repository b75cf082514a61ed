"""Interactions crossed inside the learning loop, row by row (issue #17 item 3,
``streamlr/_kernels/cross.pxi``): the VW reader of the command line and
``partial_fit``/the predictions of namespaced dict events hand the loop the
un-crossed rows and the namespace of each value, never the crossed matrix.
Oracle: the crossed CSR matrix the parser (``read_vw``) and ``EventHasher``
make, learned the same way. Everything here is bitwise."""
import functools

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

import streamlr.io as sio
from streamlr import SGDClassifier, SGDRegressor, load
from streamlr._crossed import CrossedRows, crossed_events
from streamlr._io_readers import vw_interactions
from streamlr._kernels import kernel
from streamlr._kernels._hashing import EventHasher
from streamlr.cli import main
from streamlr.drift import PageHinkley
from streamlr.exceptions import DivergenceError
from streamlr.io import DataFormat, open_stream, read_vw

BITS = 12
INTERS = [["ui"], ["uu", "ui"], ["ui", "uic"], ["uuc"]]


def make_vw(path, n=400, seed=0, onehot=False):
    """VW text of namespaces u, i, c: one-hot or dense-valued features (a
    feature repeated within a namespace now and then; a zero value too)."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        label = "1" if rng.random() < 0.5 else "-1"
        weight = f" {rng.choice(['1', '0.5', '2'])}" if rng.random() < 0.3 else ""

        def feats(prefix, k):
            out = []
            for _ in range(k):
                name = f"{prefix}{rng.integers(0, 6)}"
                if onehot:
                    out.append(name)
                else:
                    v = rng.choice([rng.normal(), 0.0, 1e-3 * rng.normal(), 3.7])
                    out.append(f"{name}:{v:.6g}")
            return " ".join(out)

        lines.append(f"{label}{weight} |u {feats('a', rng.integers(1, 5))} "
                     f"|i {feats('b', rng.integers(0, 4))} |c {feats('z', rng.integers(0, 3))}")
    path.write_text("\n".join(lines) + "\n")


def _crossed_chunks(path, inters, chunk_rows=10**6):
    fmt = DataFormat("vw", hash_bits=BITS, interactions=inters)
    return list(open_stream(str(path), fmt, chunk_rows))


def _assert_csr_equal(a, b):
    a, b = sp.csr_matrix(a), sp.csr_matrix(b)
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data.view(np.uint8), b.data.view(np.uint8))


def _assert_models_equal(a, b):
    np.testing.assert_array_equal(np.asarray(a.coef_).view(np.uint8),
                                  np.asarray(b.coef_).view(np.uint8))
    np.testing.assert_array_equal(np.asarray(a.intercept_), np.asarray(b.intercept_))
    assert a.progressive_loss_ == b.progressive_loss_ or (
        np.isnan(a.progressive_loss_) and np.isnan(b.progressive_loss_))


@pytest.mark.parametrize("onehot", [False, True])
@pytest.mark.parametrize("inters", INTERS)
def test_the_reader_leaves_rows_uncrossed_and_the_kernel_crosses_them_as_it_did(
        tmp_path, inters, onehot):
    path = tmp_path / "d.vw"
    make_vw(path, onehot=onehot)
    (X, y, w), = read_vw(path, hash_bits=BITS, interactions=inters, chunk_rows=10**6)
    chunk, = _crossed_chunks(path, inters)
    assert isinstance(chunk.X, CrossedRows)
    assert chunk.X.X.nnz < X.nnz                # the chunk holds the rows' own features only
    _assert_csr_equal(chunk.X.materialize(), X)
    _assert_csr_equal(chunk.X.materialize(np.float32), X.astype(np.float32))
    # the kernel's crosses of float32 rows: the float64 crosses rounded
    Xr = chunk.X.X
    v32, ind, ptr = kernel.cross_csr(Xr.data.astype(np.float32), Xr.indices, Xr.indptr,
                                     chunk.X.spec(np.float32), 1 << BITS)
    _assert_csr_equal(sp.csr_matrix((v32, ind, ptr), shape=X.shape),
                      sp.csr_matrix((X.data.astype(np.float32), X.indices, X.indptr),
                                    shape=X.shape))
    np.testing.assert_array_equal(chunk.y, y)
    np.testing.assert_array_equal(chunk.weights, w)


ESTIMATORS = [
    lambda: SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.05, shuffle=False),
    lambda: SGDClassifier(loss="hinge", penalty="elasticnet", alpha=1e-3, shuffle=False),
    lambda: SGDClassifier(loss="log_loss", optimizer="adam", eta0=0.01, average=True,
                          shuffle=False),
    lambda: SGDClassifier(loss="log_loss", optimizer="vw", penalty=None, learning_rate="constant",
                          eta0=0.05, shuffle=False),
    lambda: SGDRegressor(loss="squared_error", optimizer="adagrad", eta0=0.05, shuffle=False),
    lambda: SGDRegressor(loss="huber", penalty="l1", alpha=1e-4, shuffle=False),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("onehot", [False, True])
@pytest.mark.parametrize("inters", [["ui"], ["ui", "uic"], ["uu"]])
@pytest.mark.parametrize("make", range(len(ESTIMATORS)))
def test_partial_fit_of_crossed_rows_equals_the_crossed_matrix(tmp_path, make, inters, onehot,
                                                              dtype):
    path = tmp_path / "d.vw"
    make_vw(path, n=300, onehot=onehot, seed=make)
    (X, y, w), = read_vw(path, hash_bits=BITS, interactions=inters, chunk_rows=10**6)
    rows = _crossed_chunks(path, inters)[0].X
    a, b = ESTIMATORS[make](), ESTIMATORS[make]()
    kw = {"classes": [-1, 1]} if isinstance(a, SGDClassifier) else {}
    yy = y.astype(int) if kw else y
    # the model's dtype: its first call's (a float32 model converts later rows
    # with scipy's astype, which sums each row's duplicates: then the call's rows
    # are crossed into a matrix, as before)
    a.partial_fit(X[:1].astype(dtype), yy[:1], **kw)
    b.partial_fit(X[:1].astype(dtype), yy[:1], **kw)
    # chunks of several sizes: the general path (crossed in the loop) and small calls
    for lo, hi in [(0, 1), (1, 150), (150, 190), (190, 300)]:
        try:
            a.partial_fit(X[lo:hi], yy[lo:hi], sample_weight=w[lo:hi], **kw)
        except DivergenceError as exc:    # then the same, at the same update
            with pytest.raises(DivergenceError) as got:
                b.partial_fit(rows[lo:hi], yy[lo:hi], sample_weight=w[lo:hi], **kw)
            assert str(got.value) == str(exc)
        else:
            b.partial_fit(rows[lo:hi], yy[lo:hi], sample_weight=w[lo:hi], **kw)
        _assert_models_equal(a, b)
    da, db = a.decision_function(X) if kw else a.predict(X), (
        b.decision_function(rows) if kw else b.predict(rows))
    np.testing.assert_array_equal(np.asarray(da), np.asarray(db))
    if kw:
        np.testing.assert_array_equal(a.predict(X), b.predict(rows))
        if hasattr(a, "predict_proba"):
            np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(rows))


def test_one_vs_rest_and_a_drift_detector_take_crossed_rows(tmp_path):
    path = tmp_path / "d.vw"
    make_vw(path, n=300)
    (X, y, _), = read_vw(path, hash_bits=BITS, interactions=["ui"], chunk_rows=10**6)
    rows = _crossed_chunks(path, ["ui"])[0].X
    labels = (np.arange(300) % 3)
    for params in [dict(), dict(multi_class="multinomial", loss="log_loss"),
                   dict(learning_rate="auto")]:
        a = SGDClassifier(shuffle=False, **params)
        b = SGDClassifier(shuffle=False, **params)
        a.partial_fit(X, labels, classes=[0, 1, 2])
        b.partial_fit(rows, labels, classes=[0, 1, 2])
        _assert_models_equal(a, b)
        np.testing.assert_array_equal(a.decision_function(X), b.decision_function(rows))
    for est in (SGDRegressor(shuffle=False), SGDClassifier(shuffle=False)):
        est.set_params(drift_detector=PageHinkley(min_instances=5, threshold=1.0))
        a, b = clone(est), clone(est)
        kw = {"classes": [0, 1, 2]} if isinstance(est, SGDClassifier) else {}
        target = labels if kw else y
        a.partial_fit(X, target, **kw)
        b.partial_fit(rows, target, **kw)
        _assert_models_equal(a, b)
        np.testing.assert_array_equal(a.drifts_, b.drifts_)


def test_a_crossed_product_that_overflows_names_its_row(tmp_path):
    path = tmp_path / "d.vw"
    path.write_text("1 |u a:1 |i b:1\n" * 70 + "1 |u a:1e30 |i b:1e30\n")
    rows = _crossed_chunks(path, ["ui"])[0].X
    est = SGDClassifier()
    with pytest.raises(ValueError, match=r"NaN or infinity \(in row 70\)"):
        est.partial_fit(rows, np.ones(71, dtype=int), classes=[-1, 1])
    assert not hasattr(est, "coef_")


# -- dict events --------------------------------------------------------------------------

def make_events(n=200, seed=0, onehot=False):
    rng = np.random.default_rng(seed)
    events = []
    for _ in range(n):
        u = {f"f{rng.integers(0, 5)}": (f"v{rng.integers(0, 4)}" if onehot
                                        else float(rng.normal())) for _ in range(3)}
        i = {"item": f"i{rng.integers(0, 20)}", "price": float(rng.gamma(2.0)) * 0.1}
        e = {"user": u, "item": i, "ctx": {"hour": int(rng.integers(0, 24))}}
        if rng.random() < 0.5:
            e["global"] = 0.3
        events.append(e)
    y = rng.integers(0, 2, size=n)
    return events, y


def _materialised(events, inters):
    data, ind, ptr = EventHasher(BITS, vw_interactions(inters)).hash_rows(events)
    return sp.csr_matrix((data, ind, ptr), shape=(len(events), 1 << BITS))


@pytest.mark.parametrize("onehot", [False, True])
@pytest.mark.parametrize("inters", [["ui"], ["ui", "uic"], ["uu", "uuc"]])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dict_events_crossed_in_the_loop_equal_the_crossed_matrix(inters, onehot, dtype):
    events, y = make_events(onehot=onehot)
    Xm = _materialised(events, inters)
    rows = crossed_events(events, BITS, tuple(vw_interactions(inters)))
    _assert_csr_equal(rows.materialize(), Xm)
    # float32 rows: the crosses made in float64 of the events' values (src), then rounded
    R = rows.X
    v32, ind, ptr = kernel.cross_csr(R.data.astype(np.float32), R.indices, R.indptr,
                                     rows.spec(np.float32), 1 << BITS)
    _assert_csr_equal(sp.csr_matrix((v32, ind, ptr), shape=Xm.shape),
                      sp.csr_matrix((Xm.data.astype(np.float32), Xm.indices, Xm.indptr),
                                    shape=Xm.shape))
    # the reference learns the matrix EventHasher makes; a float32 model is made by a
    # first float32 call
    ref = SGDClassifier(hash_bits=BITS, loss="log_loss", optimizer="adam", eta0=0.01,
                        shuffle=False)
    new = SGDClassifier(hash_bits=BITS, interactions=inters, loss="log_loss", optimizer="adam",
                        eta0=0.01, shuffle=False)
    first = sp.csr_matrix(([0.5], [3], [0, 1]), shape=(1, 1 << BITS), dtype=dtype)
    ref.partial_fit(first, [1], classes=[0, 1])
    new.partial_fit(first, [1], classes=[0, 1])
    for lo, hi in [(0, 100), (100, 130), (130, 200)]:
        ref.partial_fit(Xm[lo:hi], y[lo:hi])
        new.partial_fit(events[lo:hi], y[lo:hi])
        _assert_models_equal(ref, new)
    np.testing.assert_array_equal(ref.decision_function(Xm), new.decision_function(events))
    np.testing.assert_array_equal(ref.predict_proba(Xm), new.predict_proba(events))
    if dtype == np.float64:
        # learn_one (EventHasher's crosses, one event) learns the same model
        one = SGDClassifier(hash_bits=BITS, interactions=inters, loss="log_loss",
                            optimizer="adam", eta0=0.01, shuffle=False)
        one.partial_fit(first, [1], classes=[0, 1])
        for e, t in zip(events, y, strict=True):
            one.learn_one(e, t)
        _assert_models_equal(ref, one)
        assert [one.predict_proba_one(e)[1] for e in events[:20]] == list(
            new.predict_proba(events[:20])[:, 1])


def test_a_regressor_of_dict_events_with_interactions():
    events, _ = make_events(seed=3)
    y = np.random.default_rng(3).normal(size=len(events))
    Xm = _materialised(events, ["ui", "uic"])
    ref = SGDRegressor(hash_bits=BITS, shuffle=False)
    new = SGDRegressor(hash_bits=BITS, interactions=["ui", "uic"], shuffle=False)
    ref.partial_fit(Xm, y)
    new.partial_fit(events, y)
    _assert_models_equal(ref, new)
    np.testing.assert_array_equal(ref.predict(Xm), new.predict(events))


# -- the command line ---------------------------------------------------------------------

def _read_time_parser(real, *args, **kwargs):
    return real(*args, **{**kwargs, "cross_later": False})


@pytest.mark.parametrize("args", [["-q", "ui"], ["-q", "ui", "--cubic", "uic"],
                                  ["-q", "uu", "--optimizer", "vw", "--penalty", "none"]])
def test_train_and_predict_equal_the_read_time_crossing(tmp_path, monkeypatch, capsys, args):
    path = tmp_path / "d.vw"
    make_vw(path, n=2500)
    runs = {}
    for later in (True, False):
        if not later:   # the parser crossing at read time, as before
            monkeypatch.setattr(sio, "vw_parser", functools.partial(_read_time_parser,
                                                                    sio.vw_parser))
        model = tmp_path / f"m{later}.streamlr"
        out = tmp_path / f"p{later}.txt"
        assert main(["train", str(path), "--hash-bits", str(BITS), "--chunk-size", "700", *args,
                     "--model-out", str(model)]) == 0
        table = capsys.readouterr().out.split("finished run")[0]
        assert main(["predict", str(path), "--model", str(model), "--raw", "-o",
                     str(out)]) == 0
        runs[later] = (load(model), table, out.read_text())
    _assert_models_equal(runs[True][0], runs[False][0])
    assert runs[True][1] == runs[False][1]      # the progress table (features counted crossed)
    assert runs[True][2] == runs[False][2]


def test_learning_and_predicting_many_rows_makes_no_crossed_matrix(tmp_path, monkeypatch):
    path = tmp_path / "d.vw"
    make_vw(path, n=300)
    (X, y, _), = read_vw(path, hash_bits=BITS, interactions=["ui", "uic"], chunk_rows=10**6)
    rows = _crossed_chunks(path, ["ui", "uic"])[0].X
    events, ye = make_events()
    ref = SGDClassifier(shuffle=False).partial_fit(X, y.astype(int), classes=[-1, 1])
    ref_d = ref.decision_function(X)

    def no_matrix(self, dtype=None):
        raise AssertionError("a crossed matrix was made")

    monkeypatch.setattr(CrossedRows, "materialize", no_matrix)
    est = SGDClassifier(shuffle=False).partial_fit(rows, y.astype(int), classes=[-1, 1])
    _assert_models_equal(ref, est)
    np.testing.assert_array_equal(est.decision_function(rows), ref_d)
    dict_est = SGDClassifier(hash_bits=BITS, interactions=["ui"], shuffle=False)
    dict_est.partial_fit(events, ye, classes=[0, 1]).predict(events)
