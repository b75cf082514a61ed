"""One prediction routine for every path (issue #20 item 1).

A prediction is a function of the model and the row alone: models that
reach the same state along different histories (one call or chunks, a failed
call that rolled back, a save and load, set_params that rebinds the engine or
leaves it unbindable) give bitwise the same predictions for one row, a few
rows (the small-call path) and many rows (the whole-array path), dense and
CSR, all equal to the single-event path; and those equal
``X @ coef_.T + intercept_`` to rounding.
"""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from streamlr import SGDClassifier, SGDRegressor
from streamlr.linear_model._base import SMALL_CALL_ROWS

N_ROWS, N_FEATURES = 300, 13

CASES = {
    "binary-sgd": (SGDClassifier, dict(loss="log_loss"), 2),
    "binary-sgd-avg": (SGDClassifier, dict(loss="log_loss", average=10), 2),
    "multi-sgd": (SGDClassifier, dict(loss="hinge"), 3),
    "multi-adam-avg": (SGDClassifier, dict(loss="modified_huber", optimizer="adam",
                                           learning_rate="constant", eta0=0.01, average=20), 3),
    "reg-sgd": (SGDRegressor, dict(), None),
    "reg-adam": (SGDRegressor, dict(optimizer="adam", learning_rate="constant", eta0=0.01), None),
    "reg-adam-avg": (SGDRegressor, dict(optimizer="adam", learning_rate="constant", eta0=0.01,
                                        average=True), None),
    "reg-race": (SGDRegressor, dict(learning_rate="auto", optimizer="adam"), None),
    "multi-race": (SGDClassifier, dict(learning_rate="auto", optimizer="adam", loss="log_loss"), 3),
}


def _data(n_classes, dtype, sparse, seed=0, n=N_ROWS, d=N_FEATURES):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, size=d)
    X[rng.random((n, d)) < 0.4] = 0.0   # zeros: CSR rows hold fewer entries than dense ones
    w = rng.standard_normal(d)
    y = X @ w / 5 + rng.standard_normal(n) * 0.1
    if n_classes is not None:
        y = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
    X = X.astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), y


def _fit(est, X, y, n_classes, cuts=None):
    kw = {} if n_classes is None else {"classes": np.arange(n_classes)}
    if cuts is None:
        return est.partial_fit(X, y, **kw)
    edges = [0, *sorted(set(c for c in cuts if 0 < c < X.shape[0])), X.shape[0]]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        est.partial_fit(X[lo:hi], y[lo:hi], **kw)
    return est


def _histories(case, dtype, sparse):
    """Models of the same state reached along different histories."""
    cls, params, n_classes = CASES[case]
    X, y = _data(n_classes, dtype, sparse)
    make = lambda: cls(shuffle=False, random_state=0, **params)  # noqa: E731
    one = _fit(make(), X, y, n_classes)
    out = {"one call": one,
           "chunks": _fit(make(), X, y, n_classes, cuts=[1, 7, 64, 65, 200])}
    failed = _fit(make(), X, y, n_classes)
    bad = (X[:5].toarray() if sparse else X[:5].copy())
    bad[2, 1] = np.nan
    kw = {} if n_classes is None else {"classes": np.arange(n_classes)}
    for rows in (bad[:3], bad):             # a small call and the general path, both roll back
        with pytest.raises(ValueError):
            failed.partial_fit(sp.csr_matrix(bad[: len(rows)]) if sparse else rows, y[: len(rows)],
                               **kw)
    failed.predict(X[:3])                    # predictions between the failures
    out["after a failed call"] = failed
    out["save/load"] = pickle.loads(pickle.dumps(_fit(make(), X, y, n_classes)))
    rebound = _fit(make(), X, y, n_classes)
    rebound.predict_one(X[0])                # bind the engine, then make it stale
    rebound.set_params(tol=1e-4, n_iter_no_change=7)
    out["set_params (rebinds)"] = rebound
    unbindable = _fit(make(), X, y, n_classes)
    unbindable.set_params(alpha=-1.0)        # invalid: no engine can be bound now
    out["set_params (invalid)"] = unbindable
    return out, X


def _dense(X):
    return X.toarray() if sp.issparse(X) else X


def _paths(est, X):
    """Decision values (n, K) of the rows of X along every path."""
    def dec(A):
        return np.asarray(est.predict(A) if not hasattr(est, "classes_")
                          else est.decision_function(A)).reshape(A.shape[0], -1)
    many = dec(X)
    assert X.shape[0] > SMALL_CALL_ROWS
    few = np.vstack([dec(X[i: i + 5]) for i in range(0, 40, 5)])
    one_row = np.vstack([dec(X[i: i + 1]) for i in range(10)])
    events = np.vstack([est._decision_one(X[i] if sp.issparse(X) else X[i]) for i in range(10)])
    return many, few, one_row, events


def _bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", list(CASES))
def test_predictions_are_a_function_of_the_model_and_the_row(case, dtype, sparse):
    models, X = _histories(case, dtype, sparse)
    ref = models["one call"]
    ref_many, _, _, ref_events = _paths(ref, X)
    for name, est in models.items():
        np.testing.assert_array_equal(_bits(est.coef_), _bits(ref.coef_), err_msg=name)
        many, few, one_row, events = _paths(est, X)
        assert many.dtype == np.dtype(dtype)
        for label, got, want in (("many rows", many, ref_many), ("few rows", few, ref_many[:40]),
                                 ("one row", one_row, ref_many[:10]),
                                 ("event", events.astype(dtype), ref_many[:10]),
                                 ("event vs event", events, ref_events)):
            np.testing.assert_array_equal(_bits(got), _bits(want), err_msg=f"{name}: {label}")
        # a dense row and the same row in CSR form: the same bits
        other = _dense(X) if sparse else sp.csr_matrix(X)
        np.testing.assert_array_equal(_bits(_paths(est, other)[0]), _bits(ref_many), err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
def test_labels_and_probabilities_follow_the_same_values(case):
    models, X = _histories(case, np.float64, False)
    ref = models["one call"]
    for est in models.values():
        labels = est.predict(X)
        assert list(labels[:10]) == [est.predict_one(X[i]) for i in range(10)]
        np.testing.assert_array_equal(labels[:5], est.predict(X[:5]))
        if hasattr(est, "predict_proba") and est.loss in ("log_loss", "modified_huber"):
            np.testing.assert_array_equal(est.predict_proba(X), ref.predict_proba(X))
            np.testing.assert_array_equal(est.predict_proba(X[:3]), ref.predict_proba(X)[:3])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(CASES))
def test_predictions_equal_coef_times_x_plus_intercept(case, sparse):
    """``X @ coef_.T + intercept_`` to 1e-12 of the scale of its terms
    (sum |x_j coef_j| + |intercept|; a race: of its copies' terms, which
    coef_ sums in another order)."""
    models, X = _histories(case, np.float64, sparse)
    est = models["one call"]
    Xd = _dense(X)
    coef = np.atleast_2d(est.coef_)
    want = Xd @ coef.T + est.intercept_
    got = _paths(est, X)[0]
    scale = np.abs(Xd) @ np.abs(coef).T + np.abs(est.intercept_)
    if est._model.copies > 1:
        m = est._model
        shares = m.race_shares()
        copies = np.stack([m.model(k, m.averaged(), m.average)[0] for k in range(m.n_problems)])
        scale = np.abs(Xd) @ (np.abs(copies).reshape(shares.shape + (-1,))
                              * shares[..., None]).sum(axis=1).T + np.abs(est.intercept_)
    assert np.all(np.abs(got - want) <= 1e-12 * scale)


def test_float32_models_keep_numpys_promotion():
    X, y = _data(None, np.float32, False)
    reg = SGDRegressor(shuffle=False).partial_fit(X, y)
    assert reg.predict(X).dtype == np.float32
    assert reg.predict(X[:3]).dtype == np.float32
    X64 = X.astype(np.float64)
    got = reg.predict(X64)
    assert got.dtype == np.float64 and reg.predict(X64[:3]).dtype == np.float64
    np.testing.assert_array_equal(got[:3], reg.predict(X64[:3]))
    want = X64 @ reg.coef_.astype(np.float64) + np.float64(reg.intercept_[0])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # float32 rows: accumulated in double, rounded once to float32
    np.testing.assert_allclose(reg.predict(X), want, rtol=1e-6, atol=1e-6)
    reg64 = SGDRegressor(shuffle=False).partial_fit(X64, y)
    assert reg64.predict(X).dtype == np.float64
    np.testing.assert_array_equal(reg64.predict(X), reg64.predict(X64))


def test_integer_rows_are_read_as_float64():
    X, y = _data(3, np.float64, False)
    Xi = np.round(X).astype(np.int64)
    clf = SGDClassifier(shuffle=False).partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.decision_function(Xi),
                                  clf.decision_function(Xi.astype(np.float64)))
    np.testing.assert_array_equal(clf.decision_function(Xi[:4]),
                                  clf.decision_function(Xi.astype(np.float64))[:4])


def test_bad_rows_are_refused_on_every_path():
    X, y = _data(None, np.float64, False)
    reg = SGDRegressor(shuffle=False).partial_fit(X, y)
    bad = X.copy()
    bad[3, 2] = np.inf
    for rows in (bad[:5], bad, sp.csr_matrix(bad)):
        with pytest.raises(ValueError, match="NaN or infinity"):
            reg.predict(rows)
    with pytest.raises(ValueError, match="features"):
        reg.predict(X[:, :5])
    with pytest.raises(ValueError, match="features"):
        reg.predict(X[:100, :5])
    reg.set_params(alpha=-1.0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        reg.predict_one(bad[3])
    assert reg.predict_one(X[0]) == reg.predict(X[:1])[0]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 150), d=st.integers(1, 40),
       cuts=st.lists(st.integers(1, 149), max_size=5), sparse=st.booleans(),
       seed=st.integers(0, 2**16), f32=st.booleans(), adam=st.booleans())
def test_any_shape_and_chunking_gives_the_same_predictions(n, d, cuts, sparse, seed, f32, adam):
    dtype = np.float32 if f32 else np.float64
    X, y = _data(None, dtype, sparse, seed=seed, n=n, d=d)
    params = dict(optimizer="adam", learning_rate="constant", eta0=0.01) if adam else {}
    one = SGDRegressor(shuffle=False, **params).partial_fit(X, y)
    chunked = _fit(SGDRegressor(shuffle=False, **params), X, y, None, cuts=cuts)
    np.testing.assert_array_equal(_bits(one.coef_), _bits(chunked.coef_))
    Xq = sp.vstack([X] * 2).tocsr() if sparse else np.vstack([X] * 2)   # > SMALL_CALL_ROWS rows
    many = chunked.predict(Xq)[:n]
    np.testing.assert_array_equal(_bits(many), _bits(one.predict(Xq)[:n]))
    np.testing.assert_array_equal(_bits(many), _bits(one.predict(_dense(Xq) if sparse
                                                                 else sp.csr_matrix(Xq))[:n]))
    for i in range(0, n, max(1, n // 7)):
        np.testing.assert_array_equal(_bits(chunked.predict(X[i: i + 3])), _bits(many[i: i + 3]))
        assert dtype(chunked.predict_one(X[i])) == many[i]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_float64_row_of_a_float32_model_is_read_as_predict_reads_it(case, sparse):
    """The event paths read a float64 (or integer) row of a float32 model in
    float64, as predict and decision_function do (NumPy's promotion), not
    rounded to float32 first: the same bits on every path, bound engine or
    not, with or without a key (delayed labels)."""
    cls, params, n_classes = CASES[case]
    X32, y = _data(n_classes, np.float32, sparse)
    est = _fit(cls(shuffle=False, random_state=0, **params), X32, y, n_classes)
    X64, _ = _data(n_classes, np.float64, sparse, seed=1, n=12)
    X64 = X64 * 1.0000001                   # values that float32 cannot hold
    want = np.asarray(est.predict(X64) if n_classes is None
                      else est.decision_function(X64)).reshape(X64.shape[0], -1)
    assert want.dtype == np.float64
    for bound in (False, True):
        if bound:
            est.predict_one(X32[0])          # bind the engine (the compiled event path)
            assert est._event_engine() is not None
        events = np.vstack([est._decision_one(X64[i]) for i in range(X64.shape[0])])
        np.testing.assert_array_equal(_bits(events), _bits(want), err_msg=f"bound={bound}")
        if n_classes is None:
            served = np.array([est.predict_one(X64[i]) for i in range(X64.shape[0])])
            np.testing.assert_array_equal(served, est.predict(X64))
            assert est.predict_one(X64[0], key="k") == served[0]
        else:
            labels = [est.predict_one(X64[i]) for i in range(X64.shape[0])]
            np.testing.assert_array_equal(labels, est.predict(X64))
    # and a float32 row stays float32 (rounded once), on every path
    events32 = np.vstack([est._decision_one(X32[i]) for i in range(5)])
    want32 = np.asarray(est.predict(X32[:5]) if n_classes is None
                        else est.decision_function(X32[:5])).reshape(5, -1)
    np.testing.assert_array_equal(_bits(events32.astype(np.float32)), _bits(want32))


def test_learning_a_float64_row_of_a_float32_model_after_a_key():
    """predict_one(x, key=) serves the float64 prediction and remembers the
    row in the model's dtype: learn_label is learn_one of that row."""
    X, y = _data(None, np.float32, False)
    a = SGDRegressor(shuffle=False).partial_fit(X, y)
    b = SGDRegressor(shuffle=False).partial_fit(X, y)
    x = np.linspace(-3.1, 2.7, N_FEATURES) * 1.0000001
    assert a.predict_one(x, key=1) == b.predict(x[None])[0]
    a.learn_label(1, 0.5)
    b.learn_one(x, 0.5)
    np.testing.assert_array_equal(_bits(a.coef_), _bits(b.coef_))
    np.testing.assert_array_equal(a.predict(X[:20]), b.predict(X[:20]))


def test_a_dict_event_of_a_float32_model_is_read_in_float64():
    X, y = _data(None, np.float32, False)
    pd = pytest.importorskip("pandas")
    names = [f"f{j}" for j in range(N_FEATURES)]
    reg = SGDRegressor(shuffle=False).partial_fit(pd.DataFrame(X, columns=names), y)
    x = np.linspace(-3.1, 2.7, N_FEATURES) * 1.0000001
    want = reg.predict(pd.DataFrame(x[None], columns=names))[0]
    assert reg.predict_one(dict(zip(names, x.tolist(), strict=True))) == want
    reg.learn_one(dict(zip(names, x.tolist(), strict=True)), 0.1)   # bound engine
    want = reg.predict(pd.DataFrame(x[None], columns=names))[0]
    assert reg.predict_one(dict(zip(names, x.tolist(), strict=True))) == want
