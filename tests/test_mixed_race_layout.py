"""The layout of a race of different update rules (``optimizer="auto"``).

Plain SGD reads its weight at ``w[j * S]`` (plain_sgd.pxi), so a race whose
copies mix plain SGD with rules that keep slots interleaves its state on CSR
rows like every other model first fed CSR rows (one cache line per
coordinate), and trains bitwise the model of the old layout (one array per
slot), which models saved before keep.
"""
import os
import pickle
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from streamlr import SGDClassifier, SGDRegressor, load, save
from streamlr.drift import ADWIN
from streamlr.linear_model._state import SLOTS
from streamlr.testing import model_state, pass_blocks, state_layout

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "data"))
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


def _trained(name, X, y, layout=None, dtype=np.float64, chunks=(0, 230, None)):
    X = X.astype(dtype)
    y = y.astype(dtype) if CASES[name][0] is SGDRegressor else y
    est = _make(name)
    kw = _fit_kw(est, y)
    for lo, hi in zip(chunks[:-1], chunks[1:], strict=True):
        if layout is None:
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
    meta_new, meta_old = model_state(new)["meta"], model_state(old)["meta"]
    assert meta_new["interleaved"] and not meta_old["interleaved"]
    assert new._model.plain and new._model.mixed
    blocks = new._model.weight_blocks
    # (K, d, P): the widest rule's block, not padded
    assert blocks.shape[1:] == (X.shape[1], new._model.intercept_block.shape[1])
    _same(new, old)
    if name == "drift":
        assert len(new.drifts_) > 0
    # dense rows on the CSR-born race: plain SGD on a stride, every row
    rest = X[:120].toarray().astype(dtype)
    yr = y[:120].astype(dtype) if isinstance(new, SGDRegressor) else y[:120]
    new.partial_fit(rest, yr)
    old.partial_fit(rest, yr)
    _same(new, old)
    np.testing.assert_array_equal(new.predict(X[:50]), old.predict(X[:50]))


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


def test_a_race_saved_in_the_old_layout_resumes_as_the_old_build_resumed_it():
    """Files written by a build that kept a mixed race in slot arrays
    (tests/data/make_mixed_race_slot_arrays.py) load in that layout and
    resume bitwise as that build did; an interleaved model trained here on
    the same rows is the same model."""
    here = os.path.join(os.path.dirname(__file__), "data", old_files.NAME)
    with np.load(here + ".expected.npz") as z:
        expected = {k: z[k] for k in z.files}
    X = sp.csr_matrix((expected["data"], expected["indices"], expected["indptr"]),
                      shape=tuple(expected["shape"]))
    y = expected["y"]
    with open(here + ".pkl", "rb") as f:
        unpickled = pickle.load(f)
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
