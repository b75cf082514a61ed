"""Make the format-1 model files that tests/test_persistence_formats.py loads.

The files were written by streamlr 0.1.0 (revision 3e220a7, model file
format 1, the kernel's short array names). To make them again, run this
script with that build first on the path, from the repository's root::

    PYTHONPATH=build/bench_compare/3e220a7d2cb3 python tests/data/make_format1_models.py

(``build/bench_compare/3e220a7d2cb3`` is ``bench_compare``'s in-place build
of revision 3e220a7.) The script refuses to run on a streamlr that does not
write format 1.

For each case ``NAME`` in ``CASES`` it writes, into this directory:

* ``format1_NAME.npz``: the model, saved after ``train`` (unfitted for the
  ``unfitted_*`` case);
* ``format1_NAME.continued.npz``: the same model object after ``resume``
  (more rows), never saved in between: the model loading and resuming must
  give, bitwise;
* ``format1_NAME.expected.npz``: what the old build observed (``observe``) on
  both models, ``NAME.`` and ``continued.`` entries, each with its type in
  the ``__types__`` member (JSON), and the SHA-256 of the rows
  (``__rows_sha256__``) so that a change in the data is told apart from a
  change in streamlr.

The test imports this module (without running ``main``) for the rows, the
estimators' parameters, ``resume`` and ``observe``, so that both builds see
the same rows, the same calls and the same observations. Everything here
besides ``main`` therefore works on both builds.
"""
import hashlib
import json
import os
import sys

import numpy as np
import pandas as pd
import scipy.sparse as sp

SEED = 20260207
HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES_3 = np.array(["ant", "bee", "cow"])
FEATURE_NAMES = ["temp", "wind", "rain", "sun", "hour"]


# -- rows -------------------------------------------------------------------------

def _dense_rows(rng, n, d, dtype=np.float64):
    return (rng.randn(n, d) / np.sqrt(d)).astype(dtype)


def _sparse_rows(rng, n, d, density):
    X = rng.randn(n, d) * (rng.rand(n, d) < density)
    X[3] = 0.0   # an empty row
    X = sp.csr_matrix(X)
    X.sort_indices()
    return X


def rows(name):
    """{"train": (X, y), "extra": (X, y), "probe": X} of case ``name``, from
    a RandomState seeded by SEED and the case's index (legacy RandomState
    streams are stable across NumPy versions)."""
    index = list(CASES).index(name)
    rng = np.random.RandomState(SEED + index)
    n_train, n_extra, n_probe = 120, 90, 6
    n = n_train + n_extra + n_probe
    if name == "clf_binary_sgd_elasticnet_avg5":
        X = _dense_rows(rng, n, 6)
        y = (X @ np.array([2.0, -1.5, 1.0, 0.0, 0.5, 0.0]) + 0.3 * rng.randn(n) > 0).astype(np.int64)
    elif name == "clf_3class_adam_csr_plateau":
        X = _sparse_rows(rng, n, 12, 0.3)
        scores = X @ rng.randn(12, 3) + 0.5 * rng.randn(n, 3)
        y = CLASSES_3[np.argmax(scores, axis=1)]
    elif name == "reg_float32_nadam_named":
        X = _dense_rows(rng, n, len(FEATURE_NAMES), np.float32)
        y = (X @ np.array([1.0, -2.0, 0.5, 3.0, 0.0]) + 0.7 + 0.1 * rng.randn(n)).astype(np.float32)
        X = pd.DataFrame(X, columns=FEATURE_NAMES)
    elif name == "reg_sparsified_l1_csr":
        X = _sparse_rows(rng, n, 10, 0.4)
        y = X @ np.array([1.5, 0.0, 0.0, -2.0, 0.0, 0.0, 0.7, 0.0, 0.0, 0.0]) - 0.2 + 0.05 * rng.randn(n)
    elif name == "unfitted_clf_adam_warmup":
        X = _dense_rows(rng, n, 7)
        y = (X[:, 0] - X[:, 1] + 0.4 * rng.randn(n) > 0.1).astype(np.int64)
    else:
        raise KeyError(name)
    a, b = n_train, n_train + n_extra
    take = (lambda s: X.iloc[s]) if isinstance(X, pd.DataFrame) else (lambda s: X[s])
    return {"train": (take(slice(0, a)), y[:a]), "extra": (take(slice(a, b)), y[a:b]),
            "probe": take(slice(b, n))}


def rows_sha256(name):
    """SHA-256 over every row of case ``name`` (values, indices, labels)."""
    h = hashlib.sha256()
    r = rows(name)
    for part in (*r["train"], *r["extra"], r["probe"]):
        if isinstance(part, pd.DataFrame):
            h.update(",".join(part.columns).encode())
            part = part.to_numpy()
        arrays = (part.data, part.indices, part.indptr) if sp.issparse(part) else (part,)
        for a in arrays:
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes() if a.dtype.kind != "U" else "|".join(a.tolist()).encode())
    return h.hexdigest()


# -- the cases --------------------------------------------------------------------

def estimator(name):
    """A new, unfitted estimator of case ``name``."""
    from streamlr import SGDClassifier, SGDRegressor
    from streamlr.optim import Adam
    from streamlr.schedules import Constant, CosineAnnealing, ReduceOnPlateau, Sequential, Warmup

    if name == "clf_binary_sgd_elasticnet_avg5":
        return SGDClassifier(loss="hinge", penalty="elasticnet", alpha=1e-3, l1_ratio=0.3,
                             average=5, optimizer="sgd", max_iter=4, tol=None, random_state=7)
    if name == "clf_3class_adam_csr_plateau":
        schedule = Sequential([Constant(0.02),
                               ReduceOnPlateau(0.05, factor=0.5, patience=0, window=8)], [20])
        return SGDClassifier(loss="log_loss", alpha=1e-4, optimizer="adam",
                             learning_rate=schedule, random_state=0)
    if name == "reg_float32_nadam_named":
        return SGDRegressor(optimizer="nadam", alpha=1e-4, average=30, random_state=0)
    if name == "reg_sparsified_l1_csr":
        return SGDRegressor(loss="huber", penalty="l1", alpha=1e-3, learning_rate="invscaling",
                            max_iter=5, tol=None, random_state=1)
    if name == "unfitted_clf_adam_warmup":
        return SGDClassifier(loss="log_loss", optimizer=Adam(betas=(0.8, 0.99), amsgrad=True),
                             learning_rate=Warmup(CosineAnnealing(0.05, 300), 30, start_factor=0.1),
                             average=10, class_weight={0: 1.0, 1: 2.5}, max_iter=3, tol=None,
                             random_state=5)
    raise KeyError(name)


def _named(X, i):
    """Row i of a DataFrame as a learn_one/predict_one event (a dict)."""
    return {k: float(v) for k, v in X.iloc[i].items()}


def train(name, est):
    """The training before the model is saved (nothing for the unfitted case)."""
    (X, y) = rows(name)["train"]
    if name == "clf_binary_sgd_elasticnet_avg5":
        est.fit(X, y)
    elif name == "clf_3class_adam_csr_plateau":
        for start in range(0, 120, 30):   # windows of 8 do not end at the last row
            est.partial_fit(X[start:start + 30], y[start:start + 30], classes=CLASSES_3)
    elif name == "reg_float32_nadam_named":
        est.partial_fit(X.iloc[:110], y[:110])
        for i in range(110, 120):
            est.learn_one(_named(X, i), float(y[i]))
    elif name == "reg_sparsified_l1_csr":
        est.fit(X, y)
        est.sparsify()
    return est


def resume(name, est):
    """What a model does after being saved: the same calls on the same rows,
    on the never-saved model (old build) and on the loaded one (the test)."""
    (X, y) = rows(name)["extra"]
    if name == "clf_binary_sgd_elasticnet_avg5":
        est.partial_fit(X[:70], y[:70])             # the general path
        for i in range(70, 75):
            est.learn_one(X[i], y[i])               # single events
        est.partial_fit(X[75:], y[75:])             # a small call
    elif name == "clf_3class_adam_csr_plateau":
        est.partial_fit(X[:70], y[:70])
        for i in range(70, 75):
            est.learn_one(X[i], y[i])               # 1-row CSR events
        est.partial_fit(X[75:], y[75:])
    elif name == "reg_float32_nadam_named":
        for i in range(5):
            est.learn_one(_named(X, i), float(y[i]))
        est.partial_fit(X.iloc[5:80], y[5:80])
        est.partial_fit(X.iloc[80:], y[80:])
    elif name == "reg_sparsified_l1_csr":
        # densify first: after training, 0.1.0 kept showing the coef_ of
        # sparsify() (stale) where the docstring promises a dense, current one
        est.densify()
        est.partial_fit(X, y)
        est.sparsify()
    elif name == "unfitted_clf_adam_warmup":
        est.fit(X, y)
    return est


# -- what is compared -------------------------------------------------------------

FITTED = ("coef_", "intercept_", "t_", "n_iter_", "lr_", "lr_history_", "progressive_loss_",
          "n_features_in_", "classes_", "feature_names_in_", "optimizer_state_")


def observe(name, est):
    """{name: value} of everything the test compares bitwise: the fitted
    attributes and the predictions on the probe rows."""
    out = {"type": type(est).__name__}
    if not hasattr(est, "t_"):
        out["fitted"] = False
        for attr in FITTED:
            out[f"hasattr.{attr}"] = hasattr(est, attr)
        return out
    out["fitted"] = True
    for attr in FITTED:
        if hasattr(est, attr):
            out[attr] = getattr(est, attr)
    X = rows(name)["probe"]
    out["predict"] = est.predict(X)
    if hasattr(est, "decision_function"):
        out["decision_function"] = est.decision_function(X)
    if hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
    if isinstance(X, pd.DataFrame):
        out["predict_one"] = est.predict_one(_named(X, 0))
    else:
        out["predict_one"] = est.predict_one(X[0])
    return out


def describe(value):
    """(type description, stored array or dict of arrays) of an observed value."""
    kind = {"type": type(value).__name__}
    if sp.issparse(value):
        kind.update(format=value.format, dtype=value.dtype.str, shape=list(value.shape))
        return kind, value.toarray()
    if isinstance(value, dict):
        kind["keys"] = list(value)
        return kind, {k: describe(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        kind.update(dtype=value.dtype.str, shape=list(value.shape))
        return kind, value.astype(str) if value.dtype == object else value
    if isinstance(value, np.generic):
        kind["dtype"] = value.dtype.str
    return kind, np.asarray(value)


def flatten(prefix, observed):
    """(types, arrays) of an ``observe`` dict, keys ``prefix.name[.key]``."""
    types, arrays = {}, {}
    for key, value in observed.items():
        kind, stored = describe(value)
        types[f"{prefix}.{key}"] = kind
        if isinstance(stored, dict):
            for sub, (sub_kind, sub_stored) in stored.items():
                types[f"{prefix}.{key}.{sub}"] = sub_kind
                arrays[f"{prefix}.{key}.{sub}"] = sub_stored
        else:
            arrays[f"{prefix}.{key}"] = stored
    return types, arrays


CASES = {
    "clf_binary_sgd_elasticnet_avg5": "binary, plain SGD, elasticnet, average=5, dense float64, fit",
    "clf_3class_adam_csr_plateau": "3 string classes, Adam, CSR rows (interleaved layout), "
                                   "Sequential([Constant, ReduceOnPlateau]), partial_fit",
    "reg_float32_nadam_named": "regressor, NAdam, average=30, float32, named features "
                               "(DataFrame, dict events)",
    "reg_sparsified_l1_csr": "regressor, plain SGD, L1, CSR rows, sparsify()",
    "unfitted_clf_adam_warmup": "unfitted classifier with spec objects and class_weight",
}


def paths(name):
    base = os.path.join(HERE, f"format1_{name}")
    return base + ".npz", base + ".continued.npz", base + ".expected.npz"


def _file_members(path):
    with np.load(path, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    header = json.loads(members.pop("__header__").tobytes())
    members.pop("__checksum__")
    return header, members


def main():
    import streamlr
    from streamlr import persistence

    print(f"streamlr {streamlr.__version__} from {os.path.dirname(streamlr.__file__)}")
    if persistence.FORMAT_VERSION != 1:
        sys.exit(f"streamlr at {streamlr.__file__} writes format {persistence.FORMAT_VERSION}; "
                 "run this script with a build of revision 3e220a7 (format 1)")
    for name in CASES:
        model_path, continued_path, expected_path = paths(name)
        est = train(name, estimator(name))
        types, arrays = flatten(name, observe(name, est))
        persistence.save(est, model_path)
        resume(name, est)
        more_types, more_arrays = flatten("continued", observe(name, est))
        persistence.save(est, continued_path)
        # the old build's own guarantee: load and resume == never stopping
        check = os.path.join(HERE, ".check.npz")
        try:
            persistence.save(resume(name, persistence.load(model_path)), check)
            h1, m1 = _file_members(check)
            h2, m2 = _file_members(continued_path)
        finally:
            if os.path.exists(check):
                os.unlink(check)
        assert h1 == h2 and sorted(m1) == sorted(m2), name
        for key in m1:
            assert m1[key].dtype == m2[key].dtype and m1[key].tobytes() == m2[key].tobytes(), key
        types.update(more_types)
        arrays.update(more_arrays)
        arrays["__types__"] = np.frombuffer(json.dumps(types, sort_keys=True).encode(), np.uint8)
        arrays["__rows_sha256__"] = np.array(rows_sha256(name))
        arrays["__streamlr__"] = np.array(f"{streamlr.__version__} format 1")
        np.savez_compressed(expected_path, **arrays)
        print(f"{name}: {os.path.getsize(model_path)} + {os.path.getsize(continued_path)} + "
              f"{os.path.getsize(expected_path)} bytes")


if __name__ == "__main__":
    main()
