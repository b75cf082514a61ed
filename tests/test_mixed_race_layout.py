"""The layout of a race of different update rules (``optimizer="auto"``).

Plain SGD reads its weight at ``w[j * S]`` (plain_sgd.pxi), so a race whose
copies mix plain SGD with rules that keep slots interleaves its state on CSR
rows like every other model first fed CSR rows, each copy in blocks of its
own rule's width (plain SGD 1, Adam 3: a stride per problem in the engine),
and trains bitwise the models of the two older layouts, which models saved
before keep: one array per slot, and every copy's blocks the widest rule's
(``(K, d, 6)``).
"""
import contextlib
import os
import pickle
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from streamlr import SGDClassifier, SGDRegressor, load, save
from streamlr.drift import ADWIN
from streamlr.linear_model import _state
from streamlr.linear_model._state import SLOTS
from streamlr.testing import model_state, pass_blocks, state_layout

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "data"))
import make_mixed_race_full_blocks as full_files  # noqa: E402
import make_mixed_race_slot_arrays as old_files  # noqa: E402

STATE = ("average_weights", "l1_received", "last_update", "scalars", "intercept_block",
         "schedule_state", "drift_state", "drifts", "class_counts")


def _rows(n=500, d=60, nnz=8, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    cols = np.sort(rng.choice(d, size=(n, nnz)), axis=1)
    X = sp.csr_matrix((rng.standard_normal(n * nnz).astype(dtype), cols.ravel(),
                       np.arange(0, n * nnz + 1, nnz)), shape=(n, d))
    X.sum_duplicates()
    z = X @ rng.standard_normal(d)
    return X, z


CASES = {
    "log-l2": (SGDClassifier, dict(loss="log_loss")),
    "hinge-average": (SGDClassifier, dict(loss="hinge", alpha=1e-3, average=True)),
    "elasticnet-average": (SGDClassifier, dict(loss="modified_huber", penalty="elasticnet",
                                               alpha=1e-3, average=7)),
    "l1-3-classes": (SGDClassifier, dict(loss="log_loss", penalty="l1", alpha=1e-4)),
    "softmax": (SGDClassifier, dict(loss="log_loss", multi_class="multinomial", alpha=1e-3)),
    "drift": (SGDClassifier, dict(loss="log_loss", alpha=1e-3,
                                  drift_detector=ADWIN(clock=4, delta=0.3), on_drift="restart")),
    "regressor": (SGDRegressor, dict(loss="huber", penalty="elasticnet", alpha=1e-3,
                                     average=True)),
    "no-intercept": (SGDRegressor, dict(alpha=1e-2, fit_intercept=False)),
}


def _target(name, cls, z):
    if cls is SGDRegressor:
        return z
    if name in ("l1-3-classes", "softmax"):
        return np.digitize(z, np.quantile(z, [0.33, 0.66]))
    y = (z > 0).astype(int)
    if name == "drift":
        y[250:] = 1 - y[250:]
    return y


def _make(name, **kw):
    cls, params = CASES[name]
    params = dict(params, **kw)
    if "drift_detector" in params:
        params["drift_detector"] = ADWIN(clock=4, delta=0.3)
    return cls(optimizer="auto", shuffle=False, **params)


def _fit_kw(est, y):
    return {"classes": np.unique(y)} if isinstance(est, SGDClassifier) else {}


def _canonical(est):
    """The state whatever its layout: weights and slots as (K, d) arrays."""
    model = est._model
    out = {"w": np.array(model.w)}
    for i in range(model.intercept_block.shape[1] - 1):
        out[f"slot{i}"] = np.array(model.slot(i))
    for name in STATE:
        out[name] = np.array(getattr(model, name))
    out["coef"], out["intercept"] = est.coef_, est.intercept_
    out["progressive"] = np.float64(est.progressive_loss_)
    out["t"] = np.float64(est.t_)
    return out


def _same(a, b):
    a, b = _canonical(a), _canonical(b)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].shape == b[key].shape, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@contextlib.contextmanager
def full_blocks():
    """Models made inside: a mixed race interleaved with every copy's blocks
    the widest rule's (the layout of 3c158ca)."""
    old = _state.MIXED_WIDTHS[0]
    _state.MIXED_WIDTHS[0] = False
    try:
        yield
    finally:
        _state.MIXED_WIDTHS[0] = old


def _trained(name, X, y, layout=None, dtype=np.float64, chunks=(0, 230, None)):
    """layout: None (the default: per-rule widths on CSR), False (slot
    arrays), True (interleaved as the default), "full" (every copy's blocks
    the widest rule's)."""
    X = X.astype(dtype)
    y = y.astype(dtype) if CASES[name][0] is SGDRegressor else y
    est = _make(name)
    kw = _fit_kw(est, y)
    for lo, hi in zip(chunks[:-1], chunks[1:], strict=True):
        if layout is None:
            est.partial_fit(X[lo:hi], y[lo:hi], **kw)
        elif layout == "full":
            with full_blocks():
                est.partial_fit(X[lo:hi], y[lo:hi], **kw)
        else:
            with state_layout(layout):
                est.partial_fit(X[lo:hi], y[lo:hi], **kw)
        kw = {}
    return est


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(CASES))
def test_a_mixed_race_on_csr_rows_interleaves_and_trains_the_slot_array_model(name, dtype):
    X, z = _rows()
    y = _target(name, CASES[name][0], z)
    new = _trained(name, X, y, dtype=dtype)
    old = _trained(name, X, y, layout=False, dtype=dtype)
    full = _trained(name, X, y, layout="full", dtype=dtype)
    meta_new, meta_old = model_state(new)["meta"], model_state(old)["meta"]
    meta_full = model_state(full)["meta"]
    assert meta_new["interleaved"] and not meta_old["interleaved"] and meta_full["interleaved"]
    assert new._model.plain and new._model.mixed
    # each copy's blocks its own rule's width: plain SGD 1, Adam 3, COCOB 6
    widths = new._model.widths
    assert meta_new["block_widths"] == list(widths)
    assert meta_old["block_widths"] is None and meta_full["block_widths"] is None
    kernels = new._model.race_kernels
    assert {w for w, k in zip(widths, kernels, strict=True) if k == 0} == {1}
    assert max(widths) == new._model.intercept_block.shape[1]
    blocks = new._model.weight_blocks
    assert blocks.shape == (X.shape[1] * sum(widths) * new._model.n_outputs,)
    # (K, d, P): the widest rule's block, not padded
    assert full._model.weight_blocks.shape[1:] == (X.shape[1], max(widths))
    assert blocks.nbytes < 0.5 * full._model.weight_blocks.nbytes
    _same(new, old)
    _same(new, full)
    if name == "drift":
        assert len(new.drifts_) > 0
    # dense rows on the CSR-born race: plain SGD on a stride, every row
    rest = X[:120].toarray().astype(dtype)
    yr = y[:120].astype(dtype) if isinstance(new, SGDRegressor) else y[:120]
    for est in (new, old, full):
        est.partial_fit(rest, yr)
    _same(new, old)
    _same(new, full)
    np.testing.assert_array_equal(new.predict(X[:50]), old.predict(X[:50]))
    np.testing.assert_array_equal(new.predict(X[:50]), full.predict(X[:50]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_weight_scale_folds_into_strided_weights(dtype):
    """A large L2 penalty underflows plain SGD's weight scale, which is then
    folded into every weight (and the average): on the stride too."""
    X, z = _rows(n=400)
    y = (z > 0).astype(int)
    models = []
    for layout in (True, False):
        est = SGDClassifier(optimizer="auto", loss="log_loss", alpha=10.0, average=True,
                            shuffle=False)
        with state_layout(layout):
            est.partial_fit(X.astype(dtype), y, classes=[0, 1])
        models.append(est)
    new, old = models
    assert new._model.interleaved and not old._model.interleaved
    _same(new, old)
    with full_blocks():
        full = SGDClassifier(optimizer="auto", loss="log_loss", alpha=10.0, average=True,
                             shuffle=False).partial_fit(X.astype(dtype), y, classes=[0, 1])
    assert full._model.weight_blocks.ndim == 3
    _same(new, full)
    # the fastest plain SGD copy scaled by (1 - 0.01 * 10) on each of its 400
    # updates: far below the fold's threshold without a fold
    model = new._model
    fastest = max((r, c) for c, (k, r) in enumerate(zip(model.race_kernels, model.race_rates,
                                                        strict=True)) if k == 0)[1]
    assert 0.9 ** 400 < 1e-15
    assert model.scalars[fastest, SLOTS["wscale"]] > (1e-9 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("name", ["log-l2", "elasticnet-average", "regressor"])
def test_each_plain_sgd_copy_is_plain_sgd_alone(name):
    """Before the race first narrows every copy learns every row: a plain
    SGD copy (weights on a stride of 6) is bitwise plain SGD alone at its
    rate (unit stride)."""
    X, z = _rows(n=300)
    cls, params = CASES[name]
    y = _target(name, cls, z)
    race = _trained(name, X, y, chunks=(0, None))
    model = race._model
    assert model.interleaved
    kw = _fit_kw(race, y)
    plain = [c for c, k in enumerate(model.race_kernels) if k == 0]
    assert len(plain) >= 5
    for c in plain:
        alone = cls(optimizer="sgd", learning_rate="constant", eta0=model.race_rates[c],
                    shuffle=False, **params).partial_fit(X, y, **kw)
        np.testing.assert_array_equal(model.w[c], alone._model.w[0], err_msg=str(c))
        for slot in ("wscale", "intercept", "average_a", "average_b", "l1_u"):
            assert model.scalars[c, SLOTS[slot]] == alone._model.scalars[0, SLOTS[slot]], slot
        coef, intercept = model.model(c, alone._model.averaged(), model.average)
        np.testing.assert_array_equal(coef, alone.coef_.ravel())
        assert intercept == np.ravel(alone.intercept_)[0]
        for name_ in ("average_weights", "l1_received"):
            got = getattr(model, name_)
            if got.shape[1]:
                np.testing.assert_array_equal(got[c], getattr(alone._model, name_)[0])


@pytest.mark.parametrize("name", ["elasticnet-average", "drift", "regressor"])
def test_chunks_blocks_events_pickle_and_save_train_the_same_model(name, tmp_path):
    X, z = _rows()
    y = _target(name, CASES[name][0], z)
    whole = _trained(name, X, y, chunks=(0, None))
    chunked = _trained(name, X, y, chunks=(0, 1, 77, 230, 231, 400, None))
    _same(whole, chunked)
    with pass_blocks(37):
        blocked = _trained(name, X, y, chunks=(0, None))
    _same(whole, blocked)
    # learn_one after a first call: CSR events, then dense ones (as dense rows
    # in partial_fit: a dense row sums its prediction in another order)
    events = _trained(name, X[:100], y[:100], chunks=(0, None))
    for i in range(100, 400):
        events.learn_one(X[i], y[i])
    _same(_trained(name, X[:400], y[:400], chunks=(0, None)), events)
    dense = X.toarray()
    for i in range(400, X.shape[0]):
        events.learn_one(dense[i], y[i])
    mixed = _trained(name, X[:400], y[:400], chunks=(0, None)).partial_fit(dense[400:], y[400:])
    _same(mixed, events)
    # a pickle and a file resume bitwise
    half = _trained(name, X[:230], y[:230], chunks=(0, None))
    path = tmp_path / "race.npz"
    save(half, path)
    for again in (pickle.loads(pickle.dumps(half)), load(path)):
        assert again._model.interleaved
        again.partial_fit(X[230:], y[230:])
        _same(whole, again)


def test_a_dense_born_mixed_race_keeps_slot_arrays_and_forcing_either_layout_agrees():
    X, z = _rows()
    y = (z > 0).astype(int)
    dense = X.toarray()
    est = _make("hinge-average").partial_fit(dense, y, classes=[0, 1])
    assert not est._model.interleaved
    with state_layout(True):
        forced = _make("hinge-average").partial_fit(dense, y, classes=[0, 1])
    assert forced._model.interleaved
    _same(est, forced)


def _saved_files(name):
    """(path stem, what the old build observed, its rows X and y, its pickled
    model) of the files tests/data/make_<name>.py wrote."""
    here = os.path.join(os.path.dirname(__file__), "data", name)
    with np.load(here + ".expected.npz") as z:
        expected = {k: z[k] for k in z.files}
    X = sp.csr_matrix((expected["data"], expected["indices"], expected["indptr"]),
                      shape=tuple(expected["shape"]))
    with open(here + ".pkl", "rb") as f:
        unpickled = pickle.load(f)
    return here, expected, X, expected["y"], unpickled


def test_a_race_saved_in_the_old_layout_resumes_as_the_old_build_resumed_it():
    """Files written by a build that kept a mixed race in slot arrays
    (tests/data/make_mixed_race_slot_arrays.py) load in that layout and
    resume bitwise as that build did; an interleaved model trained here on
    the same rows is the same model."""
    here, expected, X, y, unpickled = _saved_files(old_files.NAME)
    fresh = SGDClassifier(**old_files.PARAMS).partial_fit(X[:old_files.TRAIN],
                                                          y[:old_files.TRAIN], classes=[0, 1])
    assert fresh._model.interleaved
    for est in (load(here + ".npz"), unpickled, fresh):
        if est is not fresh:
            assert not est._model.interleaved
        est.partial_fit(X[old_files.TRAIN:], y[old_files.TRAIN:])
        got = old_files.observe(est, X)
        assert got.keys() <= expected.keys()
        for key, value in got.items():
            want = expected[key]
            if key in ("scalars", "progressive"):
                # the log loss's value from one exp (Loss.loss_dloss, issue
                # #20) moved each progressive loss by up to 5 ulps: the sums
                # of losses (and the race's shares taken from them) within
                # 1e-13 relative (1.4e-14 seen); every other number bitwise
                value, want = np.array(value, ndmin=2), np.array(want, ndmin=2)
                loss_slots = [SLOTS[k] for k in ("loss_sum", "race_loss", "race_share",
                                                 "served_loss")] if key == "scalars" else [0]
                np.testing.assert_allclose(value[:, loss_slots], want[:, loss_slots], rtol=1e-13,
                                           atol=0, err_msg=key)
                value, want = np.delete(value, loss_slots, 1), np.delete(want, loss_slots, 1)
            np.testing.assert_array_equal(value, want, err_msg=key)


@pytest.mark.parametrize("with_margins", [False, True])
def test_a_pass_of_a_strided_plain_copy_with_or_without_margins(with_margins):
    """The compiled pass of one plain SGD copy on its stride (what a race's
    block runs, with margins; without, its own specialisation) equals the
    pass of the same copy in slot arrays (unit stride) bitwise."""
    from streamlr.linear_model import _driver

    X, z = _rows(n=300)
    y = (z > 0).astype(int)
    models = []
    for layout in (True, False):
        with state_layout(layout):
            est = _make("elasticnet-average").partial_fit(X[:100], y[:100], classes=[0, 1])
        models.append(est)
    rest = X[100:]
    targets = np.where(y[100:] > 0, 1.0, -1.0)
    outs = []
    for est in models:
        engine = _driver.bind(est)
        model = est._model
        plain = [c for c, k in enumerate(model.race_kernels) if k == 0]
        margins = [np.zeros(rest.shape[0]) if with_margins else None for _ in plain]
        for c, m in zip(plain, margins, strict=True):
            t = model.scalars[c, SLOTS["t"]]
            status = engine.run_pass(c, rest.data, rest.indices, rest.indptr, targets, None,
                                     range(rest.shape[0]), t, margins=m)[0]
            assert status == rest.shape[0]
        outs.append((model, margins, plain))
    (a, ma, plain), (b, mb, _) = outs
    assert a.interleaved and not b.interleaved
    for c in plain:
        np.testing.assert_array_equal(a.w[c], b.w[c])
        np.testing.assert_array_equal(a.scalars[c], b.scalars[c])
        np.testing.assert_array_equal(a.average_weights[c], b.average_weights[c])
        np.testing.assert_array_equal(a.l1_received[c], b.l1_received[c])
    assert np.any(a.w[plain] != 0)
    if with_margins:
        for x, w in zip(ma, mb, strict=True):
            np.testing.assert_array_equal(x, w)
            assert np.any(x != 0)


def test_a_race_saved_with_full_blocks_resumes_as_the_old_build_resumed_it():
    """Files written by 3c158ca, which kept a mixed race on CSR rows as (K, d, 6)
    (tests/data/make_mixed_race_full_blocks.py), load in that layout and
    resume bitwise as that build did (a call, then events); a model made
    here on the same rows, each copy in its own rule's width, is the same
    model."""
    here, expected, X, y, unpickled = _saved_files(full_files.NAME)
    fresh = SGDClassifier(**full_files.PARAMS).partial_fit(X[:full_files.TRAIN],
                                                           y[:full_files.TRAIN], classes=[0, 1])
    assert fresh._model.widths is not None
    for est in (load(here + ".npz"), unpickled, fresh):
        if est is not fresh:
            assert est._model.interleaved and est._model.widths is None
            assert est._model.weight_blocks.ndim == 3
        full_files.resume(est, X, y)
        got = full_files.observe(est, X)
        assert got.keys() == expected.keys() - {"data", "indices", "indptr", "shape", "y"}
        for key, value in got.items():
            np.testing.assert_array_equal(value, expected[key], err_msg=key)


def test_per_rule_widths_save_as_format_3_and_resume(tmp_path):
    """A model of per-rule widths is written as format 3 (its widths in the
    header); other models stay format 2. Both resume bitwise."""
    import json

    X, z = _rows()
    y = (z > 0).astype(int)
    half = _trained("hinge-average", X[:230], y[:230], chunks=(0, None))
    path = tmp_path / "race.npz"
    save(half, path)
    with np.load(path) as f:
        header = json.loads(f["__header__"].tobytes())
    assert header["format"] == 3
    assert header["scalars"]["block_widths"] == list(half._model.widths)
    back = load(path)
    assert back._model.widths == half._model.widths
    _same(back, half)
    dense = _make("hinge-average").partial_fit(X[:230].toarray(), y[:230], classes=[0, 1])
    save(dense, tmp_path / "dense.npz")
    with np.load(tmp_path / "dense.npz") as f:
        header = json.loads(f["__header__"].tobytes())
    assert header["format"] == 2 and "block_widths" not in header["scalars"]
    whole = _trained("hinge-average", X, y, chunks=(0, None))
    back.partial_fit(X[230:], y[230:])
    _same(whole, back)


def test_the_rows_of_per_rule_widths_read_and_write_each_copys_block():
    """``ModelState.w`` and ``slot(i)`` of per-rule widths: each row a view
    of its copy's block; a slot its rule lacks reads as zeros and refuses a
    write; the flat array holds every copy's blocks back to back."""
    X, z = _rows(n=100)
    y = (z > 0).astype(int)
    est = _trained("log-l2", X, y, chunks=(0, None))
    model = est._model
    w = model.w
    assert w.shape == (model.n_problems, X.shape[1]) and w.dtype == model.weight_blocks.dtype
    offsets, strides, entries = model.block_layout()
    assert list(entries[: model.copies]) == list(model.widths)
    assert offsets[-1] + strides[-1] * X.shape[1] == model.weight_blocks.size
    plain = model.race_kernels.index(0)
    row = w[plain]
    assert np.shares_memory(row, model.weight_blocks)
    np.testing.assert_array_equal(np.asarray(w)[plain], row)
    np.testing.assert_array_equal(np.asarray(model.slot(0))[plain], 0)
    with pytest.raises(IndexError):
        model.slot(0).row(plain)
    before = model.weight_blocks.copy()
    w[plain] = 3.0
    assert np.all(model.w[plain] == 3.0)
    changed = np.flatnonzero(model.weight_blocks != before)
    lo = offsets[plain]
    assert changed.min() >= lo and changed.max() < lo + X.shape[1]


def test_copies_that_diverge_and_a_call_undone_agree_in_every_layout():
    """Copies that leave the race (reset when the call made the model, then
    restored from the snapshot in later calls) and a call that every copy
    diverges on (undone from the snapshot) leave the same model in the
    three layouts."""
    from streamlr.exceptions import DivergenceError

    rng = np.random.default_rng(1)
    n, d = 300, 30
    X = sp.random(n, d, density=0.2, random_state=1, format="csr") * 1e60
    y = X @ rng.standard_normal(d) * 1e70
    huge = sp.random(20, d, density=0.3, random_state=2, format="csr") * 1e150
    yh = huge @ rng.standard_normal(d) * 1e140

    def make():
        return SGDRegressor(optimizer="auto", shuffle=False, alpha=1e-4, penalty="elasticnet",
                            average=3)

    models = [make().partial_fit(X[:200], y[:200])]
    with full_blocks():
        models.append(make().partial_fit(X[:200], y[:200]))
    with state_layout(False):
        models.append(make().partial_fit(X[:200], y[:200]))
    a = models[0]
    assert a._model.widths is not None
    dropped = a.rate_race_["dropped"]
    assert dropped.any() and not dropped.all()
    for est in models:
        before = model_state(est)
        with pytest.raises(DivergenceError):
            est.partial_fit(huge, yh)
        after = model_state(est)
        for name in ("weight_blocks", "scalars", "intercept_block", "average_weights"):
            np.testing.assert_array_equal(after[name], before[name], err_msg=name)
        est.partial_fit(X[200:], y[200:])
        for i in range(5):
            est.learn_one(X[i], y[i])
    for other in models[1:]:
        _same(a, other)


@pytest.mark.parametrize("name", ["softmax", "l1-3-classes", "drift"])
def test_events_then_a_call_agree_in_every_layout(name):
    """learn_one on CSR rows (the softmax's, three one-vs-rest problems', a
    detector's), then a call: the three layouts keep the same model."""
    X, z = _rows()
    y = _target(name, CASES[name][0], z)
    models = [_trained(name, X[:200], y[:200], layout=layout, chunks=(0, None))
              for layout in (None, "full", False)]
    assert models[0]._model.widths is not None
    for est in models:
        for i in range(200, 320):
            est.learn_one(X[i], y[i])
        est.partial_fit(X[320:], y[320:])
    _same(models[0], models[1])
    _same(models[0], models[2])


@pytest.mark.parametrize("multi_class", ["ovr", "multinomial"])
def test_new_classes_grow_the_same_model_in_every_layout(multi_class):
    """new_classes="add" on CSR rows: a binary race that splits when a third
    class arrives, then grows a fourth (one-vs-rest), or the softmax race
    growing a row per copy; by calls and by events, the three layouts keep
    the same model."""
    X, z = _rows(n=400)
    y = np.digitize(z, np.quantile(z, [0.25, 0.5, 0.75]))
    first = y < 2
    order = np.r_[np.flatnonzero(first)[:120], np.flatnonzero(~first)[:40],
                  np.setdiff1d(np.arange(400), np.r_[np.flatnonzero(first)[:120],
                                                     np.flatnonzero(~first)[:40]])]
    X, y = X[order], y[order]
    params = dict(optimizer="auto", loss="log_loss", alpha=1e-3, shuffle=False,
                  new_classes="add", multi_class=multi_class)
    models = []
    for layout in (None, "full", False):
        est = SGDClassifier(**params)
        ctx = (full_blocks() if layout == "full" else state_layout(layout)
               if layout is not None else contextlib.nullcontext())
        with ctx:
            est.partial_fit(X[:100], y[:100], classes=[0, 1])
        for i in range(100, 200):
            est.learn_one(X[i], y[i])
        est.partial_fit(X[200:], y[200:])
        models.append(est)
    a = models[0]
    assert a._model.widths is not None and len(a.classes_) == 4
    for other in models[1:]:
        _same(a, other)
