"""new_classes="add": classes that appear mid-stream (api.md, "Losses").

The exact statement tested: a model that adds a class when its first sample
arrives holds bitwise the model declared with every class from the start
whose row for that class is reset, at that moment, to a fresh zero row
(zero weights and intercept, the optimizer's initial state, its rule
scalars initial; its clocks are the model's). Before that moment the
declared model's rows of the classes seen are the grown model's: for
K -> K+1 the same binary problems; for 2 -> 3 the binary row and its
negation (the declared model's two rows stay opposite, bitwise for the
losses whose derivative is sign-symmetric in floating point: all but
log_loss, which agrees to rounding).
"""
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from streamlr import SGDClassifier, _registry, persistence
from streamlr import optim as O
from streamlr.drift import ADWIN
from streamlr.linear_model._state import SLOTS
from streamlr.testing import model_state

# every optimizer string of the registry, and rules with all their slots
OPTIMIZERS = [*_registry.optimizer_strings(), O.RMSprop(momentum=0.5, centered=True),
              O.ScheduleFreeSGD(warmup_steps=10), O.Adam(amsgrad=True)]


def _ids(opt):
    return opt if isinstance(opt, str) else repr(opt)


def test_every_registry_optimizer_is_covered():
    covered = {type(_registry.resolve_optimizer(o)).__name__ for o in OPTIMIZERS}
    assert covered == {entry.name for entry in _registry.optimizers()}


def _spec(opt):
    return _registry.resolve_optimizer(opt)


def _stream(n_classes, new, n=160, d=7, seed=0, sparse=False):
    """(X, y, arrival): rows whose first part lacks class ``new``, which
    first appears at row ``arrival``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[rng.random(X.shape) < 0.4] = 0
    score = X[:, 0] - X[:, 1] + 0.5 * X[:, 2] + 0.3 * rng.standard_normal(n)
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))
    head = np.flatnonzero(y[: n // 2] != new)
    order = np.concatenate([head, np.arange(n // 2, n)])
    X, y = X[order], y[order]
    found = np.flatnonzero(y == new)
    arrival = int(found[0]) if found.size else None
    return (sp.csr_matrix(X) if sparse else X), y, arrival


def _params(opt, **kw):
    params = dict(loss="hinge", optimizer=opt, learning_rate="constant", eta0=0.05,
                  shuffle=False, alpha=1e-3)
    params.update(kw)
    return params


def _reset_row(est, k, spec, schedule_initial=None):
    """The reference: reset row k of a declared model to a fresh zero row,
    in place, with NumPy only (its clocks and the scale factors that evolve
    with them, identical in every row, stay)."""
    m = est._model
    names = spec.slots()
    init = np.zeros(1 + len(names))
    init[1:] = spec.initial_values()
    for name in spec.starts_at_weights:
        init[1 + names.index(name)] = 0.0
    m.weight_blocks[k] = 0
    if m.interleaved:
        m.weight_blocks[k, :, : len(init)] = init
    else:
        m.weight_blocks[k, : len(init), :] = init[:, None]
    m.intercept_block[k] = 0
    m.intercept_block[k, : len(init)] = init
    for a in (m.average_weights, m.l1_received, m.last_update):
        a[k] = 0
    for name in ("intercept", "average_intercept", "l1_u", "sq_norm", "l1_norm", "loss_sum",
                 "n_seen"):
        m.scalars[k, SLOTS[name]] = 0.0
    for i, (_, value) in enumerate(spec.scalar_state()):
        m.scalars[k, SLOTS["rule"] + i] = value
    if schedule_initial is not None:
        m.schedule_state[k] = schedule_initial
    m.engine = None


def _declared(params, X, y, classes, arrival, new, spec):
    ref = SGDClassifier(**params)
    ref.partial_fit(X[:arrival], y[:arrival], classes=classes)
    _reset_row(ref, list(classes).index(new), spec)
    ref.partial_fit(X[arrival:], y[arrival:])
    return ref


def _grown(params, X, y, seen, how):
    est = SGDClassifier(new_classes="add", **params)
    if how == "one_call":
        est.partial_fit(X, y, classes=seen)
    elif how == "chunks":
        est.partial_fit(X[:1], y[:1], classes=seen)
        for lo in range(1, X.shape[0], 13):
            est.partial_fit(X[lo:lo + 13], y[lo:lo + 13])
    else:
        est.learn_one(X[0], y[0], classes=seen)
        for i in range(1, X.shape[0]):
            est.learn_one(X[i], y[i])
    return est


def _assert_same_model(a, b, exact=True):
    check = assert_array_equal if exact else (
        lambda u, v: assert_allclose(u, v, rtol=1e-9, atol=1e-12))
    assert_array_equal(a.classes_, b.classes_)
    check(a.coef_, b.coef_)
    check(a.intercept_, b.intercept_)
    sa, sb = a.optimizer_state_, b.optimizer_state_
    assert sorted(sa) == sorted(sb)
    for name in sa:
        check(sa[name], sb[name])
    assert a.t_ == b.t_
    check(a.progressive_loss_, b.progressive_loss_)


@pytest.mark.parametrize("how", ["one_call", "chunks", "learn_one"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=_ids)
def test_two_to_three_equals_declared_model(opt, sparse, how):
    # classes 0 and 2 first: the binary row; then 1, in the middle
    X, y, arrival = _stream(3, new=1, sparse=sparse)
    params = _params(opt)
    grown = _grown(params, X, y, [0, 2], how)
    ref = _declared(params, X, y, [0, 1, 2], arrival, 1, _spec(opt))
    _assert_same_model(grown, ref)


@pytest.mark.parametrize("how", ["one_call", "chunks", "learn_one"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=_ids)
def test_k_to_k_plus_one_equals_declared_model(opt, sparse, how):
    # classes 0, 1, 3 first; then 2, inserted between 1 and 3
    X, y, arrival = _stream(4, new=2, sparse=sparse, seed=1)
    params = _params(opt)
    grown = _grown(params, X, y, [0, 1, 3], how)
    ref = _declared(params, X, y, [0, 1, 2, 3], arrival, 2, _spec(opt))
    _assert_same_model(grown, ref)


@pytest.mark.parametrize("kw", [
    dict(optimizer="sgd", learning_rate="optimal", average=True),
    dict(optimizer="sgd", learning_rate="invscaling", penalty="elasticnet", average=20),
    dict(optimizer="sgd", learning_rate="pa1"),
    dict(optimizer="adam", average=True, penalty="l1"),
    dict(optimizer="nadam", penalty="elasticnet"),
    dict(loss="modified_huber", optimizer="adagrad", fit_intercept=False),
    dict(loss="squared_hinge", optimizer="ftrl"),
    dict(loss="perceptron", optimizer="momentum"),
    dict(loss="squared_error", optimizer="prodigy", eta0=1.0),
])
@pytest.mark.parametrize("new, n_classes, seen", [(1, 3, [0, 2]), (0, 3, [1, 2]),
                                                  (2, 3, [0, 1]), (2, 4, [0, 1, 3])])
def test_options_equal_declared_model(kw, new, n_classes, seen):
    X, y, arrival = _stream(n_classes, new=new, seed=2)
    kw = dict(kw)
    params = _params(kw.pop("optimizer"), **kw)
    grown = _grown(params, X, y, seen, "one_call")
    ref = _declared(params, X, y, list(range(n_classes)), arrival, new,
                    _spec(params["optimizer"]))
    _assert_same_model(grown, ref)


def test_log_loss_agrees_to_rounding():
    # log_loss encodes y in {0, 1}: its derivative at -p for the other
    # class is not bitwise the negation, so the declared rows are opposite
    # only to rounding
    X, y, arrival = _stream(3, new=1)
    params = _params("adam", loss="log_loss")
    grown = _grown(params, X, y, [0, 2], "one_call")
    ref = _declared(params, X, y, [0, 1, 2], arrival, 1, _spec("adam"))
    _assert_same_model(grown, ref, exact=False)


# -- the growth itself, against a NumPy reference ---------------------------------


def _reference_growth(before, pos, spec, binary):
    """state_dict arrays of a model after adding a class at ``pos``, from
    the arrays before (NumPy only)."""
    out = {name: np.array(before[name]) for name in ("weight_blocks", "intercept_block",
                                                      "scalars", "average_weights",
                                                      "last_update", "class_counts")}
    names = spec.slots()
    odd = [1 + names.index(n) for n in spec.sign_odd_slots if n in names]
    if binary:
        wb = out["weight_blocks"]
        neg = wb[0].copy()
        interleaved = before["meta"]["interleaved"]
        for s in [0, *odd]:
            if interleaved:
                neg[:, s] = 0.0 - neg[:, s]
            else:
                neg[s] = 0.0 - neg[s]
        out["weight_blocks"] = np.stack([neg, wb[0]])
        ib = out["intercept_block"]
        nib = ib[0].copy()
        nib[[0, *odd]] = 0.0 - nib[[0, *odd]]
        out["intercept_block"] = np.stack([nib, ib[0]])
        sc = out["scalars"][0].copy()
        for name in ("intercept", "average_intercept"):
            sc[SLOTS[name]] = 0.0 - sc[SLOTS[name]]
        out["scalars"] = np.stack([sc, out["scalars"][0]])
        aw = out["average_weights"]
        out["average_weights"] = np.stack([0.0 - aw[0], aw[0]])
        out["last_update"] = np.stack([out["last_update"][0]] * 2)
    init = np.r_[0.0, spec.initial_values()]
    for name in spec.starts_at_weights:
        init[1 + names.index(name)] = 0.0
    wb = out["weight_blocks"]
    row = np.zeros(wb.shape[1:])
    if before["meta"]["interleaved"]:
        row[:, : len(init)] = init
    else:
        row[: len(init)] = init[:, None]
    out["weight_blocks"] = np.insert(wb, pos, row, axis=0)
    ib = np.zeros(out["intercept_block"].shape[1])
    ib[: len(init)] = init
    out["intercept_block"] = np.insert(out["intercept_block"], pos, ib, axis=0)
    sc = np.zeros(out["scalars"].shape[1])
    sc[SLOTS["wscale"]] = sc[SLOTS["average_b"]] = sc[SLOTS["mu_product"]] = 1.0
    for i, (_, value) in enumerate(spec.scalar_state()):
        sc[SLOTS["rule"] + i] = value
    for name in ("t", "clock0", "mu_product", "wscale", "average_a", "average_b"):
        sc[SLOTS[name]] = out["scalars"][0, SLOTS[name]]
    out["scalars"] = np.insert(out["scalars"], pos, sc, axis=0)
    for name in ("average_weights", "last_update"):
        out[name] = np.insert(out[name], pos, 0, axis=0)
    out["class_counts"] = np.insert(out["class_counts"], pos, 0)
    return out


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("opt", OPTIMIZERS, ids=_ids)
@pytest.mark.parametrize("seen, new", [([0, 2], 1), ([1, 2], 0), ([0, 1], 5), ([0, 1, 3], 2)])
def test_growth_matches_numpy_reference(opt, sparse, seen, new):
    X, y, _ = _stream(len(seen), new=-1, sparse=sparse, seed=3)
    y = np.asarray(seen)[y]
    est = SGDClassifier(new_classes="add", **_params(opt, average=True))
    est.partial_fit(X, y)
    before = model_state(est)
    # the first row of a new class: the model grows, then learns it; with
    # a zero weight nothing but the clocks moves ... so grow alone here
    est._add_classes(_spec(opt), np.asarray([new]))
    after = model_state(est)
    expected = _reference_growth(before, int(np.searchsorted(seen, new)), _spec(opt),
                                 binary=len(seen) == 2)
    assert_array_equal(est.classes_, np.sort([*seen, new]))
    for name, value in expected.items():
        assert after[name].dtype == before[name].dtype, name
        assert_array_equal(after[name], value, err_msg=name)
    # the earlier classes' rows are untouched, bitwise
    if len(seen) > 2:
        keep = [i for i, c in enumerate(est.classes_) if c != new]
        assert after["weight_blocks"][keep].tobytes() == before["weight_blocks"].tobytes()
        assert after["scalars"][keep].tobytes() == before["scalars"].tobytes()


# -- chunking, events, persistence -----------------------------------------------


def _stream_of_arrivals(sparse=False, n=150):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, 6))
    X[rng.random(X.shape) < 0.3] = 0
    y = np.array(["b"] * 10 + list(rng.choice(["b", "d"], 40)) + list(rng.choice(["b", "c", "d"], 50))
                 + list(rng.choice(["a", "b", "c", "d"], n - 100)))
    return (sp.csr_matrix(X) if sparse else X), y


@pytest.mark.parametrize("kw", [dict(optimizer="adam"), dict(optimizer="sgd", average=True),
                                dict(optimizer="prodigy", class_weight="balanced"),
                                dict(optimizer="adagrad", drift_detector=ADWIN(delta=0.5)),
                                dict(optimizer="schedulefree", learning_rate="optimal")])
@pytest.mark.parametrize("sparse", [False, True])
def test_chunks_and_events_give_the_same_model(kw, sparse):
    # no classes at all: the first call starts with one class ("b")
    X, y = _stream_of_arrivals(sparse)
    make = lambda: SGDClassifier(new_classes="add", shuffle=False, **kw)  # noqa: E731
    one = make().partial_fit(X, y)
    chunks = make()
    for lo in range(0, X.shape[0], 11):
        chunks.partial_fit(X[lo:lo + 11], y[lo:lo + 11])
    events = make()
    for i in range(X.shape[0]):
        events.learn_one(X[i], y[i])
    small = make()
    for lo in range(0, X.shape[0], 3):   # the bound engine's small calls
        small.partial_fit(X[lo:lo + 3], y[lo:lo + 3])
    a = model_state(one)
    for other in (chunks, events, small):
        assert_array_equal(other.classes_, ["a", "b", "c", "d"])
        b = model_state(other)
        for name in ("weight_blocks", "scalars", "intercept_block", "average_weights",
                     "class_counts", "drift_state", "drifts"):
            assert a[name].tobytes() == b[name].tobytes(), name
    assert_array_equal(one.class_counts_, [np.sum(y == c) for c in "abcd"])


def test_one_class_so_far():
    X, y = _stream_of_arrivals()
    est = SGDClassifier(new_classes="add", loss="log_loss", shuffle=False)
    est.partial_fit(X[:10], y[:10])      # only "b"
    assert_array_equal(est.classes_, ["b"])
    assert est.t_ == 1.0 and est.n_iter_ == 1
    assert_array_equal(est.class_counts_, [10])
    assert_array_equal(est.predict(X[:4]), ["b"] * 4)
    assert est.predict_one(X[0]) == "b"
    assert_array_equal(est.predict_proba(X[:3]), np.ones((3, 1)))
    assert est.predict_proba_one(X[0]) == {"b": 1.0}
    assert not est.coef_.any()
    # the second class makes the binary problem, from its first sample on:
    # the model declared with both classes that learns from there
    first_d = 10 + int(np.flatnonzero(y[10:] == "d")[0])
    est.partial_fit(X[10:50], y[10:50])
    ref = SGDClassifier(loss="log_loss", shuffle=False)
    ref.partial_fit(X[first_d:50], y[first_d:50], classes=["b", "d"])
    _assert_same_model(est, ref)
    assert_array_equal(est.class_counts_, [np.sum(y[:50] == c) for c in "bd"])


def test_first_event_needs_no_classes():
    X, y = _stream_of_arrivals()
    est = SGDClassifier(new_classes="add")
    est.learn_one(X[0], y[0])
    assert_array_equal(est.classes_, ["b"])
    with pytest.raises(ValueError, match="classes must be passed"):
        SGDClassifier().learn_one(X[0], y[0])
    with pytest.raises(ValueError, match="classes must be passed"):
        SGDClassifier().partial_fit(X, y)


def test_fit_then_new_class():
    X, y, arrival = _stream(3, new=1)
    est = SGDClassifier(new_classes="add", shuffle=False, max_iter=5, tol=None)
    est.fit(X[:arrival], y[:arrival])
    assert_array_equal(est.classes_, [0, 2])
    coef = est.coef_.copy()
    est.partial_fit(X[arrival:arrival + 1], y[arrival:arrival + 1])
    assert_array_equal(est.classes_, [0, 1, 2])
    assert est.coef_.shape == (3, X.shape[1])
    est2 = SGDClassifier(new_classes="add", shuffle=False, max_iter=5, tol=None)
    est2.fit(X[:arrival], y[:arrival])
    est2._add_classes(_spec("sgd"), np.asarray([1]))
    assert_array_equal(est2.coef_[0], 0.0 - coef[0])
    assert_array_equal(est2.coef_[2], coef[0])
    assert not est2.coef_[1].any()


def test_declared_classes_later_are_added():
    X, y, arrival = _stream(3, new=1)
    est = SGDClassifier(new_classes="add").partial_fit(X[:20], y[:20], classes=[0, 2])
    est.partial_fit(X[20:30], y[20:30], classes=[0, 1, 2])
    assert_array_equal(est.classes_, [0, 1, 2])


def test_persistence_after_growth(tmp_path):
    X, y = _stream_of_arrivals()
    est = SGDClassifier(new_classes="add", optimizer="adam", shuffle=False)
    est.partial_fit(X[:90], y[:90])
    assert len(est.classes_) == 3
    persistence.save(est, tmp_path / "m.streamlr")
    loaded = persistence.load(tmp_path / "m.streamlr")
    assert loaded.new_classes == "add"
    est.partial_fit(X[90:], y[90:])
    loaded.partial_fit(X[90:], y[90:])
    _assert_same_model(est, loaded)
    assert_array_equal(loaded.classes_, ["a", "b", "c", "d"])


# -- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ignore", None, 1, "ADD"])
def test_bad_value(value):
    X, y = _stream_of_arrivals()
    with pytest.raises(ValueError, match="'new_classes' parameter"):
        SGDClassifier(new_classes=value).partial_fit(X, y, classes=["a", "b", "c", "d"])


def test_error_mode_names_the_label_and_changes_nothing():
    X, y = _stream_of_arrivals()
    est = SGDClassifier(shuffle=False).partial_fit(X[:20], y[:20], classes=["b", "d"])
    before = model_state(est)
    with pytest.raises(ValueError, match="'c'"):
        est.partial_fit(X[50:], y[50:])
    with pytest.raises(ValueError, match="'c'"):
        est.learn_one(X[60], "c")
    after = model_state(est)
    assert all(before[n].tobytes() == after[n].tobytes() for n in ("weight_blocks", "scalars"))


@pytest.mark.parametrize("how", ["partial_fit", "learn_one"])
@pytest.mark.parametrize("n_seen", [1, 2, 3])
def test_failed_call_leaves_model_unchanged(how, n_seen):
    X, y = _stream_of_arrivals()
    est = SGDClassifier(new_classes="add", optimizer="adam", shuffle=False,
                        class_weight="balanced")
    classes = ["b", "d", "c"][:n_seen]
    keep = np.isin(y, classes)
    est.partial_fit(X[keep][:70], y[keep][:70])
    assert len(est.classes_) == n_seen
    before, classes_before = model_state(est), est.classes_.copy()
    Xbad = X[100:110].copy()
    ybad = y[100:110].copy()
    ybad[0] = "a"                       # a new class, then a bad row
    Xbad[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        if how == "partial_fit":
            est.partial_fit(Xbad, ybad)
        else:
            est.learn_one(Xbad[5], "a")
    assert_array_equal(est.classes_, classes_before)
    after = model_state(est)
    for name in before:
        if isinstance(before[name], np.ndarray):
            assert before[name].tobytes() == after[name].tobytes(), name
    # and it learns on as if nothing happened
    est.partial_fit(X[100:105], y[100:105])


def test_unknown_label_type_is_refused():
    X, y = _stream_of_arrivals()
    est = SGDClassifier(new_classes="add").partial_fit(X[:30], y[:30])
    with pytest.raises(ValueError):
        est.partial_fit(X[:2], [1, 2])    # numbers among strings
    assert_array_equal(est.classes_, np.unique(y[:30]))


def test_float32_and_one_class_persistence(tmp_path):
    X, y = _stream_of_arrivals()
    X = X.astype(np.float32)
    est = SGDClassifier(new_classes="add", optimizer="rmsprop", shuffle=False)
    est.partial_fit(X[:5], y[:5])
    persistence.save(est, tmp_path / "one.streamlr")
    loaded = persistence.load(tmp_path / "one.streamlr")
    assert_array_equal(loaded.classes_, ["b"])
    assert_array_equal(loaded.class_counts_, [5])
    for model in (est, loaded):
        model.partial_fit(X[5:], y[5:])
    assert est.coef_.dtype == np.float32 and est.coef_.shape == (4, X.shape[1])
    _assert_same_model(est, loaded)
    events = SGDClassifier(new_classes="add", optimizer="rmsprop", shuffle=False)
    for i in range(X.shape[0]):
        events.learn_one(X[i], y[i])
    _assert_same_model(est, events)


def test_sample_weight_and_schedule_state():
    # a stateful schedule (ReduceOnPlateau): the new row's state starts fresh
    from streamlr.schedules import ReduceOnPlateau
    X, y, arrival = _stream(3, new=1, seed=4)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    params = _params("adam", learning_rate=ReduceOnPlateau(0.05, window=5, patience=0))
    grown = SGDClassifier(new_classes="add", **params)
    grown.partial_fit(X, y, classes=[0, 2], sample_weight=sw)
    ref = SGDClassifier(**params)
    ref.partial_fit(X[:arrival], y[:arrival], classes=[0, 1, 2], sample_weight=sw[:arrival])
    _reset_row(ref, 1, _spec("adam"), schedule_initial=_initial_schedule_row(params))
    ref.partial_fit(X[arrival:], y[arrival:], sample_weight=sw[arrival:])
    _assert_same_model(grown, ref)
    assert_array_equal(grown.schedule_state_, ref.schedule_state_)


def _initial_schedule_row(params):
    from streamlr.schedules import compile_schedule
    return compile_schedule(params["learning_rate"], {"alpha": params["alpha"],
                                                      "dloss": None})[3]


def test_fit_parallel_adds_the_streams_classes():
    da = pytest.importorskip("dask.array")
    from streamlr.dask import fit_parallel

    X, y, arrival = _stream(3, new=1, n=400)
    est = SGDClassifier(new_classes="add", **_params("adam"))
    est.partial_fit(X[:arrival], y[:arrival])
    assert_array_equal(est.classes_, [0, 2])
    dX = da.from_array(X[arrival:], chunks=(50, X.shape[1]))
    dy = da.from_array(y[arrival:], chunks=50)
    fit_parallel(est, dX, dy, rounds=1, n_splits=2)
    assert_array_equal(est.classes_, [0, 1, 2])
    assert est.coef_.shape == (3, X.shape[1])


@pytest.mark.parametrize("opt", ["sgd", "adagrad"])   # rules that stay put on a zero gradient
def test_multinomial_binary_row_becomes_softmax_rows(opt):
    """multi_class="multinomial": the third class gives the old negative class
    a zero row (softmax(0, m) is the binary sigmoid of m) and itself a zero
    row; the positive class keeps its row and state; predictions unchanged."""
    X, y, _ = _stream(3, new=2)
    keep = y < 2
    X2, y2 = X[keep], y[keep]
    params = dict(loss="log_loss", multi_class="multinomial", new_classes="add", optimizer=opt,
                  penalty=None, learning_rate="constant", eta0=0.05, shuffle=False)
    est = SGDClassifier(**params).partial_fit(X2[:60], y2[:60])
    w, b = est.coef_.copy(), est.intercept_.copy()
    p = est.predict_proba(X[:20])
    # a zero-weight sample moves nothing: what is left is the growth
    est.learn_one(X[np.flatnonzero(y == 2)[0]], 2, sample_weight=0.0)
    assert_array_equal(est.classes_, [0, 1, 2])
    assert_array_equal(est.coef_, np.vstack([np.zeros_like(w[0]), w[0], np.zeros_like(w[0])]))
    assert_array_equal(est.intercept_, [0.0, b[0], 0.0])
    q = est.predict_proba(X[:20])
    assert_allclose(q[:, 1] / (q[:, 0] + q[:, 1]), p[:, 1], rtol=1e-12)
    est.partial_fit(X[61:], y[61:])
    assert (est.predict(X) == y).mean() > 0.5     # it learns the third class (chance: 1/3)
