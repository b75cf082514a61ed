"""Input and hyper-parameter validation.

Bad input must raise ValueError *before* any weight changes: a fitted model
is left bitwise as it was, including hidden kernel state (checked by
continuing the stream and comparing with a twin that never saw the bad
call).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier as SkSGDClassifier
from sklearn.linear_model import SGDRegressor as SkSGDRegressor

from conftest import (
    assert_same_model,
    assert_same_state,
    make_classification_data,
    make_regression_data,
    snapshot,
)

from streamlr import SGDClassifier, SGDRegressor

FINITE = "NaN|nan|[Ii]nfinity|finite"
FEATURES = "features"
LABELS = "classes|label"
EMPTY = "0 sample|empty|minimum"
SW = "sample_weight|[Ss]ample weight"

# a configuration with as much hidden state as possible: L1 (u, q),
# averaging, a decaying schedule
STATEFUL = dict(
    penalty="elasticnet", l1_ratio=0.5, alpha=0.01, learning_rate="invscaling", eta0=0.1, average=5,
    shuffle=False,
)


def _with(a, idx, value):
    a = np.array(a, dtype=np.float64, copy=True)
    a[idx] = value
    return a


def _bad_inputs(kind):
    """(id, X, y, extra kwargs, match) for a 6-feature model."""
    if kind == "reg":
        X, y = make_regression_data(n_samples=30, seed=9)
    else:
        X, y = make_classification_data(n_samples=30, n_classes=3 if kind == "clf3" else 2, seed=9)
    X = np.asarray(X)
    cases = [
        ("nan-X", _with(X, (3, 2), np.nan), y, {}, FINITE),
        ("inf-X", _with(X, (29, 0), np.inf), y, {}, FINITE),
        ("neginf-X-csr", sp.csr_matrix(_with(X, (0, 5), -np.inf)), y, {}, FINITE),
        ("nan-X-csr", sp.csr_matrix(_with(X, (17, 1), np.nan)), y, {}, FINITE),
        ("nan-y", X, _with(y, 5, np.nan), {}, FINITE),
        ("n-features", X[:, :5], y, {}, FEATURES),
        ("n-features-more", np.hstack([X, X[:, :1]]), y, {}, FEATURES),
        ("empty", X[:0], y[:0], {}, EMPTY),
        ("len-mismatch", X, y[:-1], {}, "inconsistent|samples|length"),
        ("1d-X", X[:, 0], y, {}, "2D|dimension"),
        ("sw-shape", X, y, {"sample_weight": np.ones(29)}, SW + "|shape"),
        ("sw-2d", X, y, {"sample_weight": np.ones((30, 1))}, SW + "|1D|shape"),
        ("sw-nan", X, y, {"sample_weight": _with(np.ones(30), 4, np.nan)}, FINITE),
        ("sw-inf", X, y, {"sample_weight": _with(np.ones(30), 4, np.inf)}, FINITE),
        ("sw-all-zero", X, y, {"sample_weight": np.zeros(30)}, "zero"),
    ]
    if kind == "reg":
        cases.append(("inf-y", X, _with(y, 0, np.inf), {}, FINITE))
    else:
        cases.append(("unknown-label", X, _with(y, 7, 9), {}, LABELS))
    return cases


def _all_cases():
    out = []
    for kind in ["reg", "clf", "clf3"]:
        for case in _bad_inputs(kind):
            out.append(pytest.param(kind, *case, id=f"{kind}-{case[0]}"))
    return out


def _fresh(kind, **kw):
    params = dict(STATEFUL, **kw)
    return SGDRegressor(**params) if kind == "reg" else SGDClassifier(**params)


def _stream(kind):
    if kind == "reg":
        return make_regression_data(n_samples=60)
    return make_classification_data(n_samples=60, n_classes=3 if kind == "clf3" else 2)


@pytest.mark.parametrize("kind,name,X_bad,y_bad,kw,match", _all_cases())
def test_bad_partial_fit_leaves_fitted_model_untouched(kind, name, X_bad, y_bad, kw, match):
    X, y = _stream(kind)
    classes = None if kind == "reg" else np.unique(y)
    extra = {} if classes is None else {"classes": classes}

    est = _fresh(kind)
    twin = _fresh(kind)
    for m in (est, twin):
        m.partial_fit(X[:30], y[:30], **extra)
    before = snapshot(est)

    with pytest.raises(ValueError, match=match):
        est.partial_fit(X_bad, y_bad, **kw)
    assert_same_state(before, snapshot(est))

    # hidden state (u, q, averaging, weight scale) untouched as well
    for m in (est, twin):
        m.partial_fit(X[30:], y[30:])
    assert_same_model(est, twin, check_progressive_loss=True)


@pytest.mark.parametrize("kind,name,X_bad,y_bad,kw,match", _all_cases())
def test_bad_fit_raises(kind, name, X_bad, y_bad, kw, match):
    if name in ("n-features", "n-features-more"):
        pytest.skip("a new fit may change the number of features")
    if name == "unknown-label":
        pytest.skip("fit takes its classes from y")
    est = _fresh(kind)
    with pytest.raises(ValueError, match=match):
        est.fit(X_bad, y_bad, **kw)
    # sklearn raises too (sanity check of the test itself)
    ref = (SkSGDRegressor if kind == "reg" else SkSGDClassifier)(**STATEFUL)
    with pytest.raises(ValueError):
        ref.fit(X_bad, y_bad, **kw)


@pytest.mark.parametrize("kind,name,X_bad,y_bad,kw,match", _all_cases())
def test_bad_fit_on_fitted_model_keeps_state(kind, name, X_bad, y_bad, kw, match):
    # Not a sklearn guarantee (sklearn clears coef_ before validating X), but
    # streamlr validates everything before touching the model.
    if name in ("n-features", "n-features-more", "unknown-label"):
        pytest.skip("not an error for fit")
    X, y = _stream(kind)
    est = _fresh(kind).fit(X, y)
    before = snapshot(est)
    with pytest.raises(ValueError, match=match):
        est.fit(X_bad, y_bad, **kw)
    assert_same_state(before, snapshot(est))


def test_first_partial_fit_requires_classes():
    X, y = make_classification_data()
    est = SGDClassifier()
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, y)
    assert not hasattr(est, "coef_") or est.coef_ is None


def test_partial_fit_with_different_classes():
    X, y = make_classification_data()
    est = SGDClassifier(**STATEFUL).partial_fit(X[:40], y[:40], classes=[0, 1])
    before = snapshot(est)
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X[40:], y[40:], classes=[0, 2])
    assert_same_state(before, snapshot(est))


def test_partial_fit_unknown_label_with_classes_argument():
    X, y = make_classification_data()
    est = SGDClassifier(**STATEFUL).partial_fit(X[:40], y[:40], classes=[0, 1])
    before = snapshot(est)
    y_bad = y[40:].copy()
    y_bad[3] = 2
    with pytest.raises(ValueError, match=LABELS):
        est.partial_fit(X[40:], y_bad, classes=[0, 1])
    assert_same_state(before, snapshot(est))


def test_fit_single_class():
    X, _ = make_classification_data()
    with pytest.raises(ValueError, match="class"):
        SGDClassifier().fit(X, np.zeros(X.shape[0]))


def test_partial_fit_forbidden_options():
    X, y = make_classification_data()
    with pytest.raises(ValueError, match="early_stopping"):
        SGDClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])
    # class_weight="balanced" is streamed (tests/test_class_balance.py), not refused
    Xr, yr = make_regression_data()
    with pytest.raises(ValueError, match="early_stopping"):
        SGDRegressor(early_stopping=True).partial_fit(Xr, yr)


def test_predict_validation():
    X, y = make_classification_data()
    with pytest.raises(NotFittedError):
        SGDClassifier().predict(X)
    with pytest.raises(NotFittedError):
        SGDRegressor().predict(X)
    est = SGDClassifier(max_iter=2, tol=None).fit(X, y)
    with pytest.raises(ValueError, match=FEATURES):
        est.predict(np.asarray(X)[:, :4])
    with pytest.raises(ValueError, match=FINITE):
        est.decision_function(_with(X, (0, 0), np.nan))
    reg = SGDRegressor(max_iter=2, tol=None).fit(*make_regression_data())
    with pytest.raises(ValueError, match=FEATURES):
        reg.predict(np.asarray(X)[:, :4])


BAD_CLF_PARAMS = [
    (dict(alpha=-1.0), "alpha"),
    (dict(loss="bogus"), "loss"),
    (dict(penalty="bogus"), "penalty"),
    (dict(learning_rate="bogus"), "learning_rate"),
    (dict(learning_rate="constant", eta0=0.0), "eta0"),
    (dict(learning_rate="invscaling", eta0=-0.1), "eta0"),
    (dict(l1_ratio=1.5), "l1_ratio"),
    (dict(penalty="elasticnet", l1_ratio=None), "l1_ratio"),
    (dict(max_iter=0), "max_iter"),
    (dict(tol=-1.0), "tol"),
    (dict(n_iter_no_change=0), "n_iter_no_change"),
    (dict(validation_fraction=1.0), "validation_fraction"),
    (dict(validation_fraction=0.0), "validation_fraction"),
    (dict(average=-1), "average"),
    (dict(epsilon=-1.0), "epsilon"),
    (dict(class_weight="bogus"), "class_weight"),
    (dict(learning_rate="optimal", alpha=0.0), "alpha"),
    (dict(learning_rate="pa1", loss="log_loss"), "pa1|hinge"),
    (dict(learning_rate="pa2", loss="squared_error"), "pa2|hinge"),
]

BAD_REG_PARAMS = [
    (dict(alpha=-1.0), "alpha"),
    (dict(loss="hinge"), "loss"),
    (dict(loss="log_loss"), "loss"),
    (dict(learning_rate="constant", eta0=0.0), "eta0"),
    (dict(penalty="l3"), "penalty"),
    (dict(max_iter=0), "max_iter"),
    (dict(learning_rate="optimal", alpha=0.0), "alpha"),
    (dict(learning_rate="pa1"), "pa1|epsilon_insensitive"),
    (dict(learning_rate="pa2", loss="huber"), "pa2|epsilon_insensitive"),
    (dict(epsilon=-0.5), "epsilon"),
    (dict(validation_fraction=1.5), "validation_fraction"),
]


@pytest.mark.parametrize("params,match", BAD_CLF_PARAMS, ids=lambda v: str(v))
def test_bad_classifier_hyperparameters(params, match):
    X, y = make_classification_data()
    # construction never validates (sklearn convention) ...
    est = SGDClassifier(**params)
    assert est.get_params()[next(iter(params))] == params[next(iter(params))]
    # ... fit does, like sklearn
    with pytest.raises(ValueError):
        SkSGDClassifier(**params).fit(X, y)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    with pytest.raises(ValueError, match=match):
        SGDClassifier(**params).partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize("params,match", BAD_REG_PARAMS, ids=lambda v: str(v))
def test_bad_regressor_hyperparameters(params, match):
    X, y = make_regression_data()
    est = SGDRegressor(**params)
    with pytest.raises(ValueError):
        SkSGDRegressor(**params).fit(X, y)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**params).partial_fit(X, y)


def test_coef_init_shape_mismatch():
    X, y = make_classification_data(n_classes=3)
    with pytest.raises(ValueError, match="coef|match"):
        SGDClassifier().fit(X, y, coef_init=np.zeros((2, X.shape[1])))
    with pytest.raises(ValueError, match="intercept|match"):
        SGDClassifier().fit(X, y, intercept_init=np.zeros(2))
    Xr, yr = make_regression_data()
    with pytest.raises(ValueError, match="coef|match"):
        SGDRegressor().fit(Xr, yr, coef_init=np.zeros(Xr.shape[1] + 1))


@pytest.mark.parametrize("kind", ["reg", "clf", "clf3"])
def test_bad_first_partial_fit_leaves_model_unfitted(kind):
    X, y = _stream(kind)
    classes = None if kind == "reg" else np.unique(y)
    extra = {} if classes is None else {"classes": classes}
    est = _fresh(kind)
    with pytest.raises(ValueError, match=FINITE):
        est.partial_fit(_with(X, (5, 5), np.nan), y, **extra)
    assert getattr(est, "coef_", None) is None
    # and it then trains exactly like a fresh estimator
    est.partial_fit(X, y, **extra)
    assert_same_model(est, _fresh(kind).partial_fit(X, y, **extra), check_progressive_loss=True)


@pytest.mark.parametrize("kind", ["reg", "clf"])
def test_divergence_in_partial_fit_leaves_model_as_it_was(kind):
    from streamlr import DivergenceError

    X, y = _stream(kind)
    classes = None if kind == "reg" else np.unique(y)
    extra = {} if classes is None else {"classes": classes}
    params = dict(STATEFUL, learning_rate="constant", average=False, penalty=None)
    if kind == "clf":
        params["loss"] = "squared_error"
    est = (SGDRegressor if kind == "reg" else SGDClassifier)(**params)
    est.partial_fit(X[:30], y[:30], **extra)
    before = snapshot(est)
    est.set_params(eta0=1e300)
    with pytest.raises(DivergenceError):
        est.partial_fit(X[30:], y[30:])
    assert_same_state(before, snapshot(est))
