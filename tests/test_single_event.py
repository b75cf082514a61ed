"""The single-event path: learn_one / predict_one / predict_proba_one, and
partial_fit calls of a few rows (which take the same bound learner).

The reference is the general partial_fit path (one call over the whole
stream), which the parity tests tie to scikit-learn and the optimizer tests to
torch.optim: the bound path must give bitwise the same model.
"""
import pickle
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamlr
from streamlr import DivergenceError, SGDClassifier, SGDRegressor, _registry
from streamlr import optim as O
from streamlr import schedules as S
from streamlr.testing import model_state

# every optimizer string of the registry, and a rule with all its slots
# (and a rule without a string)
OPTIMIZERS = [*_registry.optimizer_strings(), O.RMSprop(momentum=0.5, centered=True),
              O.ScheduleFreeSGD(warmup_steps=10)]
SCHEDULES = [None, S.Warmup(S.CosineAnnealing(0.05, 60), 20),
             S.ReduceOnPlateau(0.05, window=7, patience=0)]


def _data(n=120, d=9, seed=0, sparse=False, dtype=np.float64, n_classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    X[rng.random(X.shape) < 0.5] = 0
    score = X[:, 0] - X[:, 1] + 0.3 * rng.standard_normal(n)
    y = np.digitize(score, np.quantile(score, np.linspace(0, 1, n_classes + 1)[1:-1]))
    return (sp.csr_matrix(X) if sparse else X), y, score


def _state(est):
    """Everything the model is made of, copied (bitwise comparisons)."""
    state = model_state(est)
    out = [state[name] for name in ("weight_blocks", "average_weights", "l1_received",
                                    "last_update", "scalars", "intercept_block",
                                    "schedule_state", "history")]
    out += [est.t_, est.lr_, est.n_iter_, est.lr_history_, est.coef_, est.intercept_]
    out += sorted(est.optimizer_state_.items())
    return out


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, tuple):
            assert x[0] == y[0]
            x, y = x[1], y[1]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y or (x != x and y != y), (x, y)


def _row(X, i):
    return X[i] if sp.issparse(X) else X[i]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    opt=st.sampled_from(OPTIMIZERS),
    sched=st.sampled_from(SCHEDULES),
    penalty=st.sampled_from(["l2", "l1", "elasticnet", None]),
    average=st.sampled_from([False, 1, 30]),
    sparse=st.booleans(),
    f32=st.booleans(),
    n_classes=st.sampled_from([2, 3]),
    loss=st.sampled_from(["log_loss", "hinge", "modified_huber"]),
    weighted=st.booleans(),
    cuts=st.lists(st.integers(1, 119), max_size=8),
    seed=st.integers(0, 3),
)
def test_any_mix_of_events_and_calls_equals_one_partial_fit(
        opt, sched, penalty, average, sparse, f32, n_classes, loss, weighted, cuts, seed):
    """learn_one, small and large partial_fit calls, in any mix: bitwise the
    model of one partial_fit over the same rows."""
    if sched is not None and not _registry.resolve_optimizer(opt).takes_rate:
        sched = None  # a rule without a rate (COCOB) refuses a schedule object
    X, y, _ = _data(sparse=sparse, dtype=np.float32 if f32 else np.float64,
                    n_classes=n_classes, seed=seed)
    sw = np.random.default_rng(seed).uniform(0.2, 2.0, len(y)) if weighted else None
    params = dict(loss=loss, optimizer=opt, penalty=penalty, average=average, shuffle=False,
                  eta0=0.02, learning_rate=sched or "optimal",
                  class_weight={0: 1.5} if weighted else None)
    ref = SGDClassifier(**params).partial_fit(X, y, classes=np.unique(y), sample_weight=sw)
    est = SGDClassifier(**params)
    bounds = sorted(set([3] + [c for c in cuts if c > 3] + [len(y)]))
    est.partial_fit(X[:3], y[:3], classes=np.unique(y), sample_weight=None if sw is None else sw[:3])
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False):
        if (hi - lo) % 3 == 1:   # event by event
            for i in range(lo, hi):
                est.learn_one(_row(X, i), y[i], 1.0 if sw is None else sw[i])
        else:                    # one call: small ones take the bound path, large ones not
            est.partial_fit(X[lo:hi], y[lo:hi], sample_weight=None if sw is None else sw[lo:hi])
    for name in ("coef_", "intercept_"):
        a, b = getattr(ref, name), getattr(est, name)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert ref.t_ == est.t_ and ref.n_iter_ == est.n_iter_
    assert ref.progressive_loss_ == est.progressive_loss_
    assert ref.lr_ == est.lr_
    for k, v in ref.optimizer_state_.items():
        np.testing.assert_array_equal(v, est.optimizer_state_[k])


@pytest.mark.parametrize("opt", ["sgd", "adam", "adagrad"])
@pytest.mark.parametrize("sparse", [False, True])
def test_learn_one_equals_partial_fit_row_by_row_including_history(opt, sparse):
    X, y, score = _data(sparse=sparse)
    params = dict(optimizer=opt, shuffle=False, average=20, learning_rate=S.StepDecay(0.05, 30))
    a, b = SGDRegressor(**params), SGDRegressor(**params)
    for i in range(len(score)):
        a.partial_fit(X[i:i + 1], score[i:i + 1])
        b.learn_one(_row(X, i), score[i])
    _assert_same(_state(a), _state(b))
    # and the general path (a call too large for the bound one) agrees
    c = SGDRegressor(**params)
    X2 = sp.vstack([X] * 2).tocsr() if sparse else np.vstack([X] * 2)
    c.partial_fit(X2[: len(score)], score)
    np.testing.assert_array_equal(c.coef_, b.coef_)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("average", [False, 10])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_predict_one_matches_predict(sparse, n_classes, average, opt):
    X, y, score = _data(sparse=sparse, n_classes=n_classes)
    clf = SGDClassifier(loss="log_loss", optimizer=opt, average=average, shuffle=False,
                        eta0=0.05).partial_fit(X, y, classes=np.unique(y))
    proba = clf.predict_proba(X)
    for i in range(0, X.shape[0], 7):
        assert clf.predict_one(_row(X, i)) == clf.predict(X[i:i + 1])[0]
        p = clf.predict_proba_one(_row(X, i))
        assert list(p) == clf.classes_.tolist()
        np.testing.assert_allclose(list(p.values()), proba[i], rtol=1e-12, atol=1e-15)
    reg = SGDRegressor(optimizer=opt, average=average, shuffle=False).partial_fit(X, score)
    pred = reg.predict(X)
    for i in range(0, X.shape[0], 7):
        out = reg.predict_one(_row(X, i))
        assert isinstance(out, float)
        np.testing.assert_allclose(out, pred[i], rtol=1e-12, atol=1e-12)


def test_predict_proba_one_only_for_probabilistic_losses():
    X, y, _ = _data()
    clf = SGDClassifier(loss="hinge").partial_fit(X, y, classes=[0, 1])
    assert not hasattr(clf, "predict_proba_one")
    with pytest.raises(AttributeError):
        clf.predict_proba_one(X[0])


def test_event_forms_agree():
    """A 1-D array, a list, a 2-D one-row array, a 1-row CSR matrix / array, a
    float32 row on a float64 model: the same event."""
    X, y, _ = _data()
    base = SGDClassifier(optimizer="adam", shuffle=False).partial_fit(X[:5], y[:5], classes=[0, 1])
    forms = [lambda r: r, list, lambda r: r[None, :], sp.csr_matrix, sp.csr_array,
             lambda r: sp.coo_matrix(r[None, :]), lambda r: np.asfortranarray(np.vstack([r, r]))[0]]
    models = []
    for form in forms:
        m = pickle.loads(pickle.dumps(base))
        for i in range(5, 40):
            m.learn_one(form(X[i]), y[i])
        models.append(m)
    dense_ref = models[0]
    for m in models[1:3] + models[6:]:
        np.testing.assert_array_equal(m.coef_, dense_ref.coef_)
    # CSR events are sparse rows: their own (lazy) semantics, equal among themselves
    np.testing.assert_array_equal(models[3].coef_, models[4].coef_)
    np.testing.assert_array_equal(models[3].coef_, models[5].coef_)
    # float32 events on a float64 model: read as their float64 values
    a, b = pickle.loads(pickle.dumps(base)), pickle.loads(pickle.dumps(base))
    X32 = X.astype(np.float32)
    for i in range(5, 40):
        a.learn_one(X32[i], y[i])
        b.partial_fit(X32[i:i + 1], y[i:i + 1])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.coef_.dtype == np.float64


def test_named_features_take_dicts():
    pd = pytest.importorskip("pandas")
    X, y, _ = _data(d=4)
    cols = ["amount", "hour", "age", "distance"]
    df = pd.DataFrame(X, columns=cols)
    a = SGDClassifier(optimizer="adam", shuffle=False).partial_fit(df[:10], y[:10], classes=[0, 1])
    b = pickle.loads(pickle.dumps(a))
    for i in range(10, 60):
        event = {c: v for c, v in zip(cols, X[i], strict=False) if v != 0}   # missing names are 0
        a.learn_one(dict(reversed(list(event.items()))), y[i])
        b.partial_fit(df[i:i + 1], y[i:i + 1])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.predict_one({"amount": 1.0}) == b.predict(pd.DataFrame([[1.0, 0, 0, 0]], columns=cols))[0]
    before = _state(a)
    with pytest.raises(ValueError, match="'colour'"):
        a.learn_one({"amount": 1.0, "colour": 2.0}, 1)
    with pytest.raises(ValueError, match="'hour' must be numeric"):
        a.learn_one({"hour": "noon"}, 1)
    _assert_same(before, _state(a))
    # a model fitted without names refuses dicts
    c = SGDClassifier().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="without feature names"):
        c.learn_one({"amount": 1.0}, 1)


def test_first_event_sets_up_the_model():
    reg = SGDRegressor(shuffle=False)
    with pytest.raises(Exception, match="not fitted"):
        reg.predict_one(np.ones(3))
    reg.learn_one({"a": 1.0, "b": 2.0}, 3.0)
    assert list(reg.feature_names_in_) == ["a", "b"] and reg.n_features_in_ == 2
    reg.learn_one({"b": 1.0}, 1.0)
    ref = SGDRegressor(shuffle=False).partial_fit(np.array([[1.0, 2.0], [0.0, 1.0]]), [3.0, 1.0])
    np.testing.assert_array_equal(reg.coef_, ref.coef_)

    clf = SGDClassifier()
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.learn_one(np.ones(3), 1)
    assert model_state(clf) is None
    clf.learn_one(np.ones(3), "b", classes=["a", "b"])
    assert list(clf.classes_) == ["a", "b"] and clf.t_ == 2.0
    with pytest.raises(ValueError, match="not the same"):
        clf.learn_one(np.ones(3), "b", classes=["a", "c"])


BAD_EVENTS = [
    (lambda x: np.r_[x[:-1], np.nan], 1, 1.0, "NaN or infinity"),
    (lambda x: np.r_[x[:-1], np.inf], 1, 1.0, "NaN or infinity"),
    (lambda x: x[:-1], 1, 1.0, "features"),
    (lambda x: np.r_[x, 1.0], 1, 1.0, "features"),
    (lambda x: np.vstack([x, x]), 1, 1.0, "one row"),
    (lambda x: x.astype(complex), 1, 1.0, "Complex"),
    (lambda x: np.array(["a"] * len(x)), 1, 1.0, "numeric"),
    (lambda x: "abc", 1, 1.0, "x must be"),
    (lambda x: 3.0, 1, 1.0, "x must be"),
    (lambda x: x, 7, 1.0, "not one of the classes"),
    (lambda x: x, None, 1.0, "not one of the classes"),
    (lambda x: x, 1, np.nan, "sample_weight"),
    (lambda x: x, 1, "heavy", "sample_weight"),
    (lambda x: sp.csr_matrix(np.vstack([x, x])), 1, 1.0, "one row"),
    (lambda x: sp.csr_matrix(np.r_[x, 1.0]), 1, 1.0, "features"),
    (lambda x: sp.csr_matrix((np.array([1.0]), np.array([len(x) + 5]), np.array([0, 1])),
                             shape=(1, len(x))), 1, 1.0, "column index"),
    (lambda x: sp.csr_matrix((np.array([np.nan]), np.array([0]), np.array([0, 1])),
                             shape=(1, len(x))), 1, 1.0, "NaN or infinity"),
]


@pytest.mark.parametrize("make, label, sw, match", BAD_EVENTS)
@pytest.mark.parametrize("sparse_model", [False, True])
def test_bad_event_raises_and_changes_nothing(make, label, sw, match, sparse_model):
    X, y, _ = _data()
    dense_X = X
    X = sp.csr_matrix(X) if sparse_model else X
    clf = SGDClassifier(optimizer="adam", average=5, shuffle=False).partial_fit(
        X, y, classes=[0, 1])
    clf.learn_one(dense_X[0], 1)     # the bound learner exists
    before = _state(clf)
    with pytest.raises((ValueError, TypeError), match=match):
        clf.learn_one(make(dense_X[1]), label, sw)
    _assert_same(before, _state(clf))
    if label == 1 and sw == 1.0:     # the same row through predict_one
        with pytest.raises((ValueError, TypeError)):
            clf.predict_one(make(dense_X[1]))


def test_bad_regression_target():
    X, _, score = _data()
    reg = SGDRegressor().partial_fit(X, score)
    before = _state(reg)
    for bad in (np.nan, np.inf, "x", None):
        with pytest.raises(ValueError, match="y"):
            reg.learn_one(X[0], bad)
    with pytest.raises(ValueError, match="NaN or infinity"):
        reg.partial_fit(X[:2], [1.0, np.nan])
    _assert_same(before, _state(reg))


@pytest.mark.parametrize("opt", ["sgd", "adam", "adagrad"])
@pytest.mark.parametrize("sparse", [False, True])
def test_divergence_in_an_event_is_undone(opt, sparse):
    X, y, score = _data(sparse=sparse)
    reg = SGDRegressor(optimizer=opt, shuffle=False, learning_rate="constant",
                       eta0=0.01).partial_fit(X, score)
    reg.learn_one(_row(X, 0), 1.0)
    before = _state(reg)
    big = _row(X, 3) * 1e200
    with pytest.raises(DivergenceError) as info:
        for _ in range(5):
            reg.learn_one(big, 1e200)
    assert info.value.t >= before[8]
    after = _state(reg)
    # the failing event changed nothing; the events before it (if any) count
    if after[8] == before[8]:
        _assert_same(before, after)
    # and a small partial_fit call that diverges is undone as a whole
    snap = _state(reg)
    rows = sp.vstack([X[:2], big]).tocsr() if sparse else np.vstack([X[:2], big])
    with pytest.raises(DivergenceError):
        reg.partial_fit(rows, [0.0, 1.0, 1e200])
    _assert_same(snap, _state(reg))


def test_parameter_changes_between_events_take_effect():
    """set_params, plain attribute assignment and changes inside a spec
    object are all seen by the next event, exactly as by partial_fit."""
    X, y, _ = _data()
    changes = [
        lambda m: m.set_params(eta0=0.001),
        lambda m: setattr(m, "alpha", 0.01),
        lambda m: m.set_params(optimizer__eps=1e-3),
        lambda m: setattr(m.optimizer, "betas", (0.5, 0.9)),
        lambda m: m.set_params(learning_rate=S.ExponentialDecay(0.05, 0.99)),
        lambda m: setattr(m.learning_rate, "gamma", 0.9),
    ]
    a = SGDClassifier(optimizer=O.Adam(), learning_rate="constant", eta0=0.05,
                      shuffle=False).partial_fit(X[:5], y[:5], classes=[0, 1])
    b = pickle.loads(pickle.dumps(a))
    i = 5
    for change in changes:
        change(a)
        change(b)
        for _ in range(10):
            a.learn_one(X[i], y[i])
            b.partial_fit(X[i:i + 1], y[i:i + 1])  # one row: through the bound path
            i += 1
        np.testing.assert_array_equal(a.coef_, b.coef_)
    # and against the general path, which rebuilds everything per call
    c = SGDClassifier(optimizer=O.Adam(), learning_rate="constant", eta0=0.05,
                      shuffle=False).partial_fit(X[:5], y[:5], classes=[0, 1])
    i = 5
    for change in changes:
        change(c)
        c.partial_fit(X[i:i + 10], y[i:i + 10])
        i += 10
    np.testing.assert_array_equal(a.coef_, c.coef_)
    # an invalid change is refused at the next event, before any update
    a.eta0 = -1.0
    before = _state(a)
    with pytest.raises(ValueError, match="eta0"):
        a.learn_one(X[0], y[0])
    _assert_same(before, _state(a))


def test_resume_after_pickle_clone_and_save(tmp_path):
    X, y, _ = _data(sparse=True)
    a = SGDClassifier(optimizer="adam", shuffle=False).partial_fit(X[:10], y[:10], classes=[0, 1])
    for i in range(10, 30):
        a.learn_one(X[i], y[i])
    b = pickle.loads(pickle.dumps(a))
    streamlr.save(a, tmp_path / "m.streamlr")
    c = streamlr.load(tmp_path / "m.streamlr")
    for m in (a, b, c):
        for i in range(30, 60):
            m.learn_one(X[i], y[i])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.coef_, c.coef_)
    assert set(vars(pickle.loads(pickle.dumps(a)))) == set(vars(a))


def test_fit_after_events_starts_over():
    X, y, _ = _data()
    a = SGDClassifier(shuffle=False, max_iter=5, tol=None)
    a.partial_fit(X[:5], y[:5], classes=[0, 1])
    a.learn_one(X[5], y[5])
    a.fit(X, y)
    b = SGDClassifier(shuffle=False, max_iter=5, tol=None).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    a.learn_one(X[0], y[0])
    b.partial_fit(X[:1], y[:1])
    np.testing.assert_array_equal(a.coef_, b.coef_)


@pytest.mark.slow
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_events_cost_o_nnz_on_hashed_features(opt):
    """No allocation proportional to n_features per event (2^22 features:
    a 32 MB weight vector), for learn_one, predict_one and small calls."""
    D = 1 << 22
    rows = sp.random(50, D, density=20 / D, format="csr", random_state=0)
    y = np.arange(50) % 2
    est = SGDClassifier(optimizer=opt, shuffle=False).partial_fit(rows[:5], y[:5], classes=[0, 1])
    est.learn_one(rows[5], 1)
    est.predict_one(rows[5])
    tracemalloc.start()
    try:
        for i in range(6, 40):
            est.learn_one(rows[i], y[i])
            est.predict_one(rows[i])
            est.partial_fit(rows[i:i + 2], y[i:i + 2])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < D * 8 / 64, f"peak {peak} bytes"


def test_estimators_with_events_are_collected():
    """Binding an estimator for events leaves no global trace: once the last
    reference goes, the estimator is freed (no table keeps it alive)."""
    import gc
    import weakref
    X, y, _ = _data()
    refs = []
    for _ in range(5):
        m = SGDClassifier().partial_fit(X, y, classes=[0, 1])
        for i in range(3):
            m.set_params(eta0=0.01 * (i + 1))   # each change rebuilds the binding
            m.learn_one(X[i], y[i])
            m.predict_one(X[i])
        refs.append(weakref.ref(m))
        del m
    gc.collect()
    assert all(r() is None for r in refs)


def test_predict_does_not_change_the_estimator():
    X, y, _ = _data(sparse=True)
    m = SGDClassifier(optimizer="adam").partial_fit(X, y, classes=[0, 1])
    before = dict(vars(m))
    m.predict(X[:3])
    m.predict_one(X[0])
    assert vars(m).keys() == before.keys()
    assert all(vars(m)[k] is v for k, v in before.items())


def test_small_and_large_calls_agree_with_events():
    """partial_fit calls of a few rows (the bound path) and of many rows (the
    general path), interleaved with events, train bitwise one model."""
    X, y, _ = _data(n=300)
    a = SGDClassifier(shuffle=False).partial_fit(X[:5], y[:5], classes=[0, 1])
    b = SGDClassifier(shuffle=False).partial_fit(X[:5], y[:5], classes=[0, 1])
    for i in range(5, 25):
        a.partial_fit(X[i:i + 1], y[i:i + 1])
    a.partial_fit(X[25:200], y[25:200])
    for i in range(200, 210):
        a.learn_one(X[i], y[i])
    a.partial_fit(X[210:], y[210:])
    b.partial_fit(X[5:], y[5:])
    # the same model; only the history differs (one row per call or event)
    keep = [i for i in range(len(_state(a))) if i not in (7, 11)]   # not the histories
    _assert_same([_state(a)[i] for i in keep], [_state(b)[i] for i in keep])


@pytest.mark.parametrize("corrupt", ["index", "indptr", "nan"])
def test_small_call_with_broken_csr_changes_nothing(corrupt):
    X, y, _ = _data(sparse=True)
    clf = SGDClassifier(optimizer="adam").partial_fit(X, y, classes=[0, 1])
    clf.partial_fit(X[:2], y[:2])
    rows = X[:3].copy()
    if corrupt == "index":
        rows.indices[1] = X.shape[1] + 3
    elif corrupt == "indptr":
        rows.indptr[1], rows.indptr[2] = rows.indptr[2], rows.indptr[1]
    else:
        rows.data[-1] = np.nan
    before = _state(clf)
    with pytest.raises(ValueError, match="CSR|NaN"):
        clf.partial_fit(rows, y[:3])
    with pytest.raises(ValueError, match="CSR|NaN"):
        clf.predict(rows)
    _assert_same(before, _state(clf))


@pytest.mark.parametrize("bad_index", [-1, 9, 10 ** 6])
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_large_chunk_with_an_index_out_of_range_is_refused_by_the_kernel(bad_index, opt):
    """Column indices of a large chunk are checked by the kernel row by row
    (not in a separate pass): the call is undone and the row is named."""
    X, y, _ = _data(n=300, sparse=True)
    clf = SGDClassifier(optimizer=opt, shuffle=False).partial_fit(X[:5], y[:5], classes=[0, 1])
    rows = X.copy()
    k = rows.indptr[250]
    rows.indices[k] = bad_index
    before = _state(clf)
    with pytest.raises(ValueError, match=r"column indices must lie in \[0, 9\)"):
        clf.partial_fit(rows, y)
    _assert_same(before, _state(clf))
    with pytest.raises(ValueError, match="column indices"):
        SGDClassifier(optimizer=opt, max_iter=3, tol=None).fit(rows, y)
    # the rows held out by early stopping are never read by the kernel
    with pytest.raises(ValueError, match="column indices"):
        SGDClassifier(early_stopping=True, validation_fraction=0.5, max_iter=3,
                      random_state=0).fit(rows, y)


def test_a_model_fitted_with_early_stopping_predicts_events():
    """early_stopping is a fit setting: predict_one works after such a fit,
    learning calls refuse it as partial_fit does, and change nothing."""
    X, y, _ = _data(n=200)
    clf = SGDClassifier(early_stopping=True, random_state=0).fit(X, y)
    assert clf.predict_one(X[0]) == clf.predict(X[:1])[0]
    before = _state(clf)
    with pytest.raises(ValueError, match="early_stopping"):
        clf.learn_one(X[0], y[0])
    with pytest.raises(ValueError, match="early_stopping"):
        clf.partial_fit(X[:2], y[:2])
    _assert_same(before, _state(clf))


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
@pytest.mark.parametrize("n_classes", [2, 3, 7, 8, 9, 16, 17, 130])
def test_predict_proba_one_is_bitwise_predict_probas_formula(loss, n_classes):
    # the compiled probabilities of one event equal predict_proba's NumPy
    # formula (expit or the clipped Huber map, NumPy's summation, one
    # division) on the same decision values, bit for bit
    rng = np.random.default_rng(n_classes)
    X = rng.normal(size=(max(4 * n_classes, 60), 5)) * 3
    y = np.arange(X.shape[0]) % n_classes
    clf = SGDClassifier(loss=loss, shuffle=False, eta0=0.5, learning_rate="constant")
    clf.partial_fit(X, y, classes=np.arange(n_classes))
    for i in range(0, X.shape[0], 3):
        got = clf.predict_proba_one(X[i])
        scores = clf._decision_one(X[i])
        want = clf._proba_from_scores(scores[None, :])[0]
        assert list(got) == clf.classes_.tolist()
        np.testing.assert_array_equal(np.array(list(got.values())), want)
    if loss == "modified_huber" and n_classes > 2:
        # every score below -1: predict_proba's uniform row
        clf.intercept_ = np.full(n_classes, -50.0)
        clf.coef_ = np.zeros((n_classes, 5))
        np.testing.assert_array_equal(list(clf.predict_proba_one(X[0]).values()),
                                      np.full(n_classes, 1.0 / n_classes))


@pytest.mark.parametrize("classes", [[0, 1], (1, 0), np.array([1, 0]), [1, 0, 1]],
                         ids=["list", "tuple", "array", "repeated"])
def test_learn_one_with_classes_every_call(classes):
    """classes= on every learn_one (River-style loops) changes nothing, and a
    different set is refused before the model changes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 4))
    y = (X[:, 0] > 0).astype(int)
    a = SGDClassifier(loss="log_loss", shuffle=False)
    b = SGDClassifier(loss="log_loss", shuffle=False)
    for i in range(50):
        a.learn_one(X[i], y[i], classes=classes)
        b.learn_one(X[i], y[i], classes=[0, 1] if i == 0 else None)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    coef = a.coef_.copy()
    for wrong in ([0, 2], [0, 1, 2], np.array([0, 2]), ("a", "b")):
        with pytest.raises(ValueError, match="classes"):
            a.learn_one(X[0], y[0], classes=wrong)
    np.testing.assert_array_equal(a.coef_, coef)
