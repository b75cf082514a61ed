"""Atomic calls, persistence (save/load, pickle), interrupts.

Fuzzing is in test_fuzz.py, the memory soak in test_soak.py, threads in
test_threads.py, invalid input in test_validation.py.
"""
import os
import pickle
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

import streamlr
from streamlr import SGDClassifier, SGDRegressor, _registry
from streamlr import optim as O
from streamlr import schedules as S
from streamlr.testing import model_state, pass_blocks

# every optimizer string of the registry, and a rule with all its slots
# (and a rule without a string)
OPTIMIZERS = [*_registry.optimizer_strings(), O.RMSprop(momentum=0.5, centered=True),
              O.ScheduleFreeSGD(warmup_steps=10)]
SCHEDULES = [
    None,  # the optimizer's default string schedule
    S.Warmup(S.CosineWarmRestarts(0.05, 40, 2), 25),
    S.Sequential([S.ReduceOnPlateau(0.05, window=15, patience=0), S.StepDecay(0.02, 30)], [120]),
    S.OneCycle(0.1, 250, three_phase=True),
]


def _data(n=300, d=15, seed=0, sparse=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[rng.random(X.shape) < 0.4] = 0
    y = np.array(["spam", "ham", "eggs"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    return (sp.csr_matrix(X) if sparse else X), y


def _snapshot(est):
    """Everything a call may change, copied."""
    state = model_state(est)
    if state is None:
        return None
    return ([state[name] for name in ("weight_blocks", "average_weights", "l1_received",
                                      "last_update", "scalars", "intercept_block",
                                      "schedule_state", "history")]
            + [est.t_, est.lr_, est.lr_history_, state["meta"]["schedule_key"]])


def _assert_same(a, b):
    assert (a is None) == (b is None)
    if a is None:
        return
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        elif isinstance(x, float) and np.isnan(x):
            assert np.isnan(y)
        else:
            assert x == y


def _make(opt, sched):
    kw = {} if sched is None else {"learning_rate": sched}
    if sched is None and opt != "sgd":
        kw = {"learning_rate": "constant", "eta0": 0.02}
    return SGDClassifier(loss="log_loss", optimizer=opt, average=20, penalty="elasticnet",
                         shuffle=False, **kw)


# ---------------------------------------------------------------- save / load


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("sched", SCHEDULES, ids=["string", "warmup", "sequential", "onecycle"])
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=repr)
def test_save_load_resumes_bitwise(opt, sched, sparse, tmp_path):
    X, y = _data(sparse=sparse)
    classes = np.unique(y)
    if sched is not None and not _registry.resolve_optimizer(opt).takes_rate:
        # a rule without a rate (COCOB) refuses a schedule object
        with pytest.raises(ValueError, match="has no learning rate"):
            _make(opt, sched).partial_fit(X, y, classes=classes)
        return
    path = tmp_path / "model.streamlr"
    never_stopped = _make(opt, sched).partial_fit(X, y, classes=classes)
    first = _make(opt, sched).partial_fit(X[:140], y[:140], classes=classes)
    streamlr.save(first, path)
    resumed = streamlr.load(path).partial_fit(X[140:], y[140:])
    pickled = pickle.loads(pickle.dumps(first)).partial_fit(X[140:], y[140:])
    for other in (resumed, pickled):
        np.testing.assert_array_equal(other.coef_, never_stopped.coef_)
        np.testing.assert_array_equal(other.intercept_, never_stopped.intercept_)
        assert other.t_ == never_stopped.t_
        assert other.lr_ == never_stopped.lr_
        assert other.progressive_loss_ == never_stopped.progressive_loss_
        for key, value in never_stopped.optimizer_state_.items():
            np.testing.assert_array_equal(other.optimizer_state_[key], value)
        # one history row per call: the resumed models made two calls
        np.testing.assert_array_equal(other.lr_history_[-1], never_stopped.lr_history_[-1])
        assert other.lr_history_.shape == (2, 3)
        np.testing.assert_array_equal(other.classes_, never_stopped.classes_)
    assert resumed.get_params().keys() == never_stopped.get_params().keys()
    assert resumed.optimizer == never_stopped.optimizer
    assert resumed.learning_rate == never_stopped.learning_rate


def test_save_load_regressor_fit_unfitted_and_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, _ = _data()
    y = np.asarray(X[:, 2] * 3.0 + 1.0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = SGDRegressor(optimizer=O.Adam(betas=(0.8, 0.99)), learning_rate=S.ExponentialDecay(0.01, 0.999),
                       max_iter=4, tol=None, random_state=3, shuffle=True).fit(frame, y)
    streamlr.save(est, tmp_path / "r.streamlr")
    back = streamlr.load(tmp_path / "r.streamlr")
    np.testing.assert_array_equal(back.predict(frame), est.predict(frame))
    np.testing.assert_array_equal(back.feature_names_in_, est.feature_names_in_)
    assert back.n_iter_ == est.n_iter_ and back.n_features_in_ == est.n_features_in_
    unfitted = SGDClassifier(class_weight={"spam": 2.0, "ham": 1.0}, optimizer="nadam")
    streamlr.save(unfitted, tmp_path / "u.streamlr")
    back = streamlr.load(tmp_path / "u.streamlr")
    assert back.get_params() == unfitted.get_params()
    assert not hasattr(back, "coef_")


def test_save_keeps_sparsified_coef(tmp_path):
    X, y = _data()
    est = SGDClassifier(penalty="l1", alpha=0.01, shuffle=False).fit(X, y).sparsify()
    streamlr.save(est, tmp_path / "s.streamlr")
    back = streamlr.load(tmp_path / "s.streamlr")
    assert sp.issparse(back.coef_)
    np.testing.assert_array_equal(back.coef_.toarray(), est.coef_.toarray())


def test_save_refuses_what_it_cannot_store(tmp_path):
    X, y = _data()
    est = SGDClassifier(random_state=np.random.RandomState(0)).fit(X, y)
    with pytest.raises(ValueError, match="random_state"):
        streamlr.save(est, tmp_path / "x.streamlr")
    assert not (tmp_path / "x.streamlr").exists()
    with pytest.raises(TypeError):
        streamlr.save(object(), tmp_path / "y.streamlr")


def test_save_is_atomic(tmp_path, monkeypatch):
    X, y = _data()
    path = tmp_path / "model.streamlr"
    old = SGDClassifier(shuffle=False).fit(X, y)
    streamlr.save(old, path)
    before = path.read_bytes()
    new = SGDClassifier(optimizer="adam", shuffle=False).fit(X, y)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies mid-write

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        streamlr.save(new, path)
    assert path.read_bytes() == before  # the previous file is whole
    assert sorted(os.listdir(tmp_path)) == ["model.streamlr"]  # no temporary left behind
    np.testing.assert_array_equal(streamlr.load(path).coef_, old.coef_)


def test_load_rejects_truncated_tampered_and_foreign_files(tmp_path):
    X, y = _data()
    path = tmp_path / "model.streamlr"
    streamlr.save(SGDClassifier(optimizer="adam", shuffle=False).fit(X, y), path)
    data = path.read_bytes()
    # truncated
    (tmp_path / "trunc").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="streamlr model file|truncated"):
        streamlr.load(tmp_path / "trunc")
    # tampered: change one weight inside the archive, keeping a valid zip
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    blocks = np.load(path)["state.weight_blocks"]
    blocks.flat[0] += 1.0
    import io

    buf = io.BytesIO()
    np.save(buf, blocks)
    members["state.weight_blocks.npy"] = buf.getvalue()
    with zipfile.ZipFile(tmp_path / "tampered", "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    with pytest.raises(ValueError, match="checksum"):
        streamlr.load(tmp_path / "tampered")
    # foreign: an npz of other arrays, a text file, an npz holding a pickle
    np.savez(tmp_path / "other.npz", a=np.arange(3))
    with pytest.raises(ValueError, match="not a streamlr model file"):
        streamlr.load(tmp_path / "other.npz")
    (tmp_path / "text").write_text("hello")
    with pytest.raises(ValueError):
        streamlr.load(tmp_path / "text")
    np.savez(tmp_path / "pickled.npz", __header__=np.array([{"magic": "streamlr-model"}], dtype=object))
    with pytest.raises(ValueError):
        streamlr.load(tmp_path / "pickled.npz")  # allow_pickle=False: never unpickled
    with pytest.raises(FileNotFoundError):
        streamlr.load(tmp_path / "missing")


def test_load_never_imports_or_calls_anything_named_in_the_file(tmp_path):
    X, y = _data()
    path = tmp_path / "model.streamlr"
    streamlr.save(SGDClassifier(optimizer="adam").fit(X, y), path)
    # rewrite the header so that the optimizer names an arbitrary class, and
    # fix the checksum: the whitelist must still refuse it
    import json

    from streamlr import persistence as P

    with np.load(path) as z:
        members = {k: z[k] for k in z.files}
    header = json.loads(members.pop("__header__").tobytes())
    members.pop("__checksum__")
    header["params"]["optimizer"] = {"__spec__": "os.system", "params": {"command": "true"}}
    hb = json.dumps(header, sort_keys=True).encode()
    members["__header__"] = np.frombuffer(hb, dtype=np.uint8)
    members["__checksum__"] = np.frombuffer(P._digest(hb, {k: v for k, v in members.items()
                                                           if not k.startswith("__")}).encode(),
                                            dtype=np.uint8)
    with open(path, "wb") as f:  # (np.savez would append .npz to a name)
        np.savez(f, **members)
    with pytest.raises(ValueError, match="unknown object"):
        streamlr.load(path)


# ---------------------------------------------------------------- atomic calls, interrupts


@pytest.mark.parametrize("opt", ["sgd", "adam", "rmsprop"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_blocks_inside_a_pass_change_nothing(opt, sparse, monkeypatch):
    """The driver runs a pass in blocks of rows (signals are
    checked between them); any block size gives bitwise the same model,
    n_iter_ included (the tol rule's sums run on across blocks)."""
    X, y = _data(n=400, sparse=sparse)
    sched = S.Sequential([S.ReduceOnPlateau(0.05, window=7, patience=0), S.Constant(0.01)], [300])
    models = []
    for block in (1 << 16, 7, 1):
        with pass_blocks(block):
            a = SGDClassifier(loss="log_loss", optimizer=opt, learning_rate=sched, shuffle=False,
                              average=5).partial_fit(X, y, classes=np.unique(y))
            b = SGDClassifier(loss="hinge", optimizer=opt, shuffle=False, tol=1e-3, max_iter=30,
                              learning_rate="optimal" if opt == "sgd" else "constant").fit(X, y)
        models.append((a, b))
    for a, b in models[1:]:
        np.testing.assert_array_equal(a.coef_, models[0][0].coef_)
        np.testing.assert_array_equal(b.coef_, models[0][1].coef_)
        assert b.n_iter_ == models[0][1].n_iter_


@pytest.mark.parametrize("method", ["partial_fit", "fit"])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_keyboard_interrupt_between_blocks_leaves_the_model_as_before(method, opt, monkeypatch):
    """Ctrl-C during a long call: Python raises KeyboardInterrupt between two
    kernel blocks; the call is undone, the model is the one before the call
    (documented), and training can go on."""
    X, y = _data(n=400)
    classes = np.unique(y)
    est = SGDClassifier(loss="log_loss", optimizer=opt, learning_rate=S.Warmup(S.Constant(0.05), 50),
                        average=3, shuffle=False, max_iter=5, tol=None)
    est.partial_fit(X[:100], y[:100], classes=classes)
    before = _snapshot(est)
    calls = {"n": 0}

    def interrupted(k, first_row):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt

    with pass_blocks(16, between=interrupted), pytest.raises(KeyboardInterrupt):
        if method == "fit":
            est.fit(X, y)
        else:
            est.partial_fit(X[100:], y[100:])
    assert calls["n"] == 5
    _assert_same(before, _snapshot(est))
    twin = SGDClassifier(**est.get_params(deep=False)).partial_fit(X[:100], y[:100], classes=classes)
    est.partial_fit(X[100:], y[100:])
    twin.partial_fit(X[100:], y[100:])
    np.testing.assert_array_equal(est.coef_, twin.coef_)


@pytest.mark.parametrize("bad", ["nan_row", "wrong_width", "unknown_label", "bad_weight"])
def test_failed_calls_leave_every_piece_of_state_as_it_was(bad):
    X, y = _data()
    classes = np.unique(y)
    est = SGDClassifier(loss="log_loss", optimizer="adam", average=3, shuffle=False,
                        learning_rate=S.ReduceOnPlateau(0.05, window=10, patience=0))
    est.partial_fit(X[:100], y[:100], classes=classes)
    before = _snapshot(est)
    Xb, yb, sw = X[100:200].copy(), y[100:200].copy(), None
    if bad == "nan_row":
        Xb[50, 3] = np.nan
    elif bad == "wrong_width":
        Xb = Xb[:, :-1]
    elif bad == "unknown_label":
        yb = yb.astype(object)
        yb[10] = "bacon"
    else:
        sw = np.ones(len(yb))
        sw[3] = np.inf
    with pytest.raises(ValueError):
        est.partial_fit(Xb, yb, sample_weight=sw)
    _assert_same(before, _snapshot(est))


def test_reading_the_model_ignores_later_invalid_params():
    """coef_/intercept_ show the model as trained: set_params (even invalid)
    changes nothing until the next training call, which then rejects it."""
    X, y = _data()
    est = SGDClassifier(average=10, shuffle=False).partial_fit(X, y, classes=np.unique(y))
    coef, intercept = est.coef_.copy(), est.intercept_.copy()
    est.set_params(average="yes")
    np.testing.assert_array_equal(est.coef_, coef)
    np.testing.assert_array_equal(est.intercept_, intercept)
    np.testing.assert_array_equal(est.predict(X), est.classes_[np.argmax(X @ coef.T + intercept, 1)])
    with pytest.raises(ValueError, match="average"):
        est.partial_fit(X, y)
    np.testing.assert_array_equal(est.coef_, coef)


@pytest.mark.parametrize("n_features, rows", [(1 << 16, 100), (4096, 50)])
def test_failed_sparse_call_with_a_weight_scale_reset_is_undone(n_features, rows):
    """Plain SGD with L2 folds its weight scale into every weight when it
    underflows (scikit-learn's reset, every ~30 updates here). A sparse call
    normally snapshots only its rows' columns; one that may reset must
    snapshot all, or a failure after the reset could not be undone. 100 rows
    take the general path, 50 the single-event one."""
    rng = np.random.default_rng(0)

    def chunk(n):
        cols = rng.integers(0, n_features, n).astype(np.int32)
        return sp.csr_matrix((rng.uniform(0.5, 1.5, n), cols, np.arange(n + 1)),
                             shape=(n, n_features))

    clf = SGDClassifier(loss="hinge", learning_rate="constant", eta0=1.0, alpha=0.5,
                        shuffle=False)
    clf.partial_fit(chunk(200), rng.integers(0, 2, 200), classes=[0, 1])
    for bad in ("nan", "overflow"):
        before = _snapshot(clf)
        X = chunk(rows)
        if bad == "nan":
            X.data[-1] = np.nan
            err = ValueError
        else:
            X.data[-2:] = 1e300   # one column: the second row's prediction overflows
            X.indices[-2:] = X.indices[-2]
            err = streamlr.DivergenceError
        with pytest.raises(err):
            clf.partial_fit(X, rng.integers(0, 2, rows))
        _assert_same(before, _snapshot(clf))
