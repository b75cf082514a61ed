"""``streamlr train`` through the headless learner (no scikit-learn, SciPy or
pandas): the same progress table, model and model file as through the
estimator, bitwise; and the spec objects' scikit-learn protocol without
scikit-learn's base class."""
import inspect
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import streamlr
from streamlr import _cli_options, load
from streamlr.cli import main
from streamlr.linear_model import SGDClassifier, SGDRegressor, _headless
from streamlr.optim import Adam
from streamlr.schedules import Constant, StepDecay, Warmup


def _write_vw(path, n, classes, seed=0, weights=False, bad=False):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(3, 20))
    with open(path, "w") as f:
        for r in range(n):
            u, i = rng.integers(0, 20, size=3), rng.integers(0, 20, size=3)
            s = w[0, u].sum() + w[1, i].sum() + rng.normal()
            if classes == "binary":
                label = "1" if s > 0 else "-1"
            elif classes == "multi":
                label = str(1 + int(np.clip(s + 1.5, 0, 2.99)))
            else:
                label = f"{s:.5f}"
            if weights:
                label += f" {rng.choice([0.5, 1.0, 2.0, 0.0] if r > 8 else [0.5, 2.0]):g}"
            if bad and r in (17, 300):
                f.write("1 |u a:b:c\n")
                continue
            f.write(f"{label} |u " + " ".join(f"u{j}_{u[j]}" for j in range(3))
                    + f" amount:{rng.normal():.4f} |i " + " ".join(f"i{j}_{i[j]}" for j in range(3))
                    + "\n")


def _write_libsvm(path, n, seed=1):
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for _ in range(n):
            cols = np.sort(rng.choice(50, size=5, replace=False)) + 1
            vals = rng.normal(size=5)
            label = "+1" if vals.sum() > 0 else "-1"
            f.write(label + " " + " ".join(f"{c}:{v:.4f}" for c, v in zip(cols, vals, strict=True))
                    + "\n")


def _write_csv(path, n, seed=2):
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write("a,b,city,w,y\n")
        for r in range(n):
            a, b = rng.normal(size=2)
            city = rng.choice(["paris", "rome", "oslo"])
            label = ["cat", "dog", "owl"][int(a > 0) + int(b > 0.5)]
            if r == 40:
                label = "yak"    # not one of --classes: a bad line with --skip-bad-lines
            f.write(f"{a:.4f},{b:.4f},{city},{rng.choice([1, 2])},{label}\n")


CASES = {
    "vw-binary-sgd": ("d.vw", "binary", ["--lr", "0.1", "--chunk-size", "100"]),
    "vw-binary-vw-weights": ("w.vw", "binary-w", ["--optimizer", "vw", "--penalty", "none",
                                                  "--chunk-size", "64"]),
    "vw-binary-adam-passes-q": ("d.vw", "binary", ["--optimizer", "adam", "--lr", "0.01",
                                                   "--passes", "2", "-q", "ui"]),
    "vw-binary-vw-q-float32": ("w.vw", "binary-w", ["--optimizer", "vw", "--penalty", "none",
                                                    "-q", "ui", "--dtype", "float32"]),
    "csv-float32-adam": ("d.csv", "csv", ["--target", "y", "--classes", "cat,dog,owl",
                                          "--skip-bad-lines", "--optimizer", "adam",
                                          "--dtype", "float32"]),
    "vw-multi-adam": ("m.vw", "multi", ["--optimizer", "adam", "--schedule",
                                        "cosine:T_max=1000", "--chunk-size", "128"]),
    "vw-multi-multinomial-classes": ("m.vw", "multi", ["--classes", "1,2,3", "--loss",
                                                       "log_loss", "--warmup", "20"]),
    "vw-regression-sgd-l1": ("r.vw", "regression", ["--loss", "squared_error", "--penalty",
                                                    "l1", "--chunk-size", "50"]),
    "vw-regression-vw": ("r.vw", "regression", ["--loss", "huber", "--optimizer", "vw",
                                                "--passes", "2"]),
    "vw-skip-bad": ("b.vw", "binary-bad", ["--skip-bad-lines", "--optimizer", "adagrad"]),
    "libsvm-hinge": ("d.svm", "libsvm", ["--loss", "hinge", "--n-features", "64",
                                         "--chunk-size", "200"]),
    "csv-text-classes-weights": ("d.csv", "csv", ["--target", "y", "--weight", "w",
                                                  "--classes", "cat,dog,owl",
                                                  "--skip-bad-lines", "--optimizer", "adam"]),
    "csv-plateau-prodigy": ("d.csv", "csv", ["--target", "y", "--classes", "cat,dog,owl",
                                             "--skip-bad-lines", "--optimizer", "prodigy",
                                             "--categorical", "city", "--chunk-size", "30"]),
    "vw-regression-schedulefree-plateau": ("r.vw", "regression", [
        "--loss", "squared_error", "--optimizer", "schedulefree", "--schedule", "plateau",
        "--lr", "0.05"]),
}


def _data(tmp_path, name, kind):
    path = tmp_path / name
    if kind.startswith("binary"):
        _write_vw(path, 1500, "binary", weights=kind == "binary-w", bad=kind == "binary-bad")
    elif kind == "multi":
        _write_vw(path, 1200, "multi", seed=3)
    elif kind == "regression":
        _write_vw(path, 1300, "regression", seed=4)
    elif kind == "libsvm":
        _write_libsvm(path, 1100)
    else:
        _write_csv(path, 900)
    return path


def _run(capsys, argv, headless, monkeypatch):
    monkeypatch.setattr(_cli_options, "HEADLESS", headless)
    assert main(argv) == 0
    out = capsys.readouterr().out
    return [line for line in out.splitlines() if not line.startswith("time = ")]


@pytest.mark.parametrize("case", sorted(CASES))
def test_headless_train_equals_the_estimator(tmp_path, capsys, monkeypatch, case):
    name, kind, options = CASES[case]
    data = _data(tmp_path, name, kind)
    lean_path, est_path = tmp_path / "lean.streamlr", tmp_path / "est.streamlr"
    argv = ["train", str(data), *options]
    lean = _run(capsys, [*argv, "--model-out", str(lean_path)], True, monkeypatch)
    est = _run(capsys, [*argv, "--model-out", str(est_path)], False, monkeypatch)
    lean = [line.replace(str(lean_path), "M") for line in lean]
    est = [line.replace(str(est_path), "M") for line in est]
    assert lean == est
    assert len(lean) > 8
    # the same model file contents (every member; the zip's dates aside)
    with np.load(lean_path) as a, np.load(est_path) as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key
    m1, m2 = load(lean_path), load(est_path)
    assert type(m1) is type(m2)
    np.testing.assert_array_equal(m1.coef_, m2.coef_)
    np.testing.assert_array_equal(m1.intercept_, m2.intercept_)
    s1, s2 = m1.optimizer_state_, m2.optimizer_state_
    assert sorted(s1) == sorted(s2)
    for key in s1:
        np.testing.assert_array_equal(s1[key], s2[key])


def test_headless_serves_the_command_line_options(tmp_path, capsys, monkeypatch):
    data = _data(tmp_path, "d.vw", "binary")
    seen = []
    real = _cli_options._estimator

    def spy(args, headless=False):
        model, labels = real(args, headless)
        seen.append(type(model).__name__)
        return model, labels

    monkeypatch.setattr("streamlr._cli_commands._estimator", spy)
    assert main(["train", str(data), "--quiet"]) == 0
    assert seen == ["HeadlessClassifier"]
    monkeypatch.setattr(_cli_options, "HEADLESS", False)
    assert main(["train", str(data), "--quiet"]) == 0
    assert seen[-1] == "SGDClassifier"


def test_train_imports_neither_sklearn_scipy_nor_pandas(tmp_path):
    data = _data(tmp_path, "d.vw", "binary")
    code = textwrap.dedent(f"""
        import sys
        from streamlr.cli import main
        status = main(["train", {str(data)!r}, "--quiet", "--optimizer", "adam", "-q", "ui",
                       "--passes", "2"])
        status |= main(["train", {str(data)!r}, "--quiet", "--loss", "squared_error"])
        heavy = sorted(m for m in ("sklearn", "scipy", "pandas", "joblib") if m in sys.modules)
        print("STATUS", status, "HEAVY", ",".join(heavy) or "none")
    """)
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(streamlr.__file__)))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "STATUS 0 HEAVY none"


def test_headless_defaults_are_the_estimators():
    for cls, defaults in ((SGDClassifier, _headless.CLASSIFIER_DEFAULTS),
                          (SGDRegressor, _headless.REGRESSOR_DEFAULTS)):
        sig = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
               if name != "self"}
        assert list(sig) == list(defaults)
        for name, value in sig.items():
            assert type(defaults[name]) is type(value) and defaults[name] == value, name


def test_headless_to_estimator_keeps_learning_as_the_estimator(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    from streamlr._csr import CSRRows

    def csr(a):
        indptr = np.arange(0, a.size + 1, a.shape[1], dtype=np.intc)
        indices = np.tile(np.arange(a.shape[1], dtype=np.intc), a.shape[0])
        return CSRRows(a.ravel().copy(), indices, indptr, a.shape)

    import scipy.sparse as sp

    params = dict(loss="log_loss", optimizer="adam", shuffle=False, random_state=0)
    lean = _headless.HeadlessClassifier(**params)
    ref = SGDClassifier(**params)
    for lo in range(0, 300, 70):
        lean.partial_fit(csr(X[lo:lo + 70]), y[lo:lo + 70], classes=np.array([0, 1]))
        ref.partial_fit(sp.csr_matrix(X[lo:lo + 70]), y[lo:lo + 70], classes=[0, 1])
    est = lean.to_estimator()
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    assert est.progressive_loss_ == ref.progressive_loss_
    est.partial_fit(X[:50], y[:50])
    ref.partial_fit(X[:50], y[:50])
    np.testing.assert_array_equal(est.coef_, ref.coef_)


# -- the spec objects without scikit-learn's base class ----------------------------------


def test_spec_get_set_params_nested_and_clone():
    from sklearn.base import clone

    w = Warmup(StepDecay(0.1, 100), warmup_steps=10)
    params = w.get_params(deep=True)
    assert params["schedule__step_size"] == 100 and params["warmup_steps"] == 10
    assert w.get_params(deep=False) == {"schedule": w.schedule, "warmup_steps": 10,
                                        "start_factor": 0.0}
    w.set_params(schedule__gamma=0.5, warmup_steps=5)
    assert w.schedule.gamma == 0.5 and w.warmup_steps == 5
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        w.set_params(nope=1)
    c = clone(w)
    assert c == w and c is not w and c.schedule is not w.schedule
    est = SGDClassifier(optimizer=Adam(eps=1e-6), learning_rate=Constant(0.01))
    deep = est.get_params(deep=True)
    assert deep["optimizer__eps"] == 1e-6 and deep["learning_rate__lr"] == 0.01
    est.set_params(optimizer__eps=1e-4, learning_rate__lr=0.1)
    assert est.optimizer.eps == 1e-4 and est.learning_rate.lr == 0.1
    assert clone(est).optimizer == Adam(eps=1e-4)
    assert pickle.loads(pickle.dumps(w)) == w
    assert "optimizer=Adam(eps=0.0001)" in repr(est)


def test_grid_search_over_nested_optimizer_parameters():
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] > 0).astype(int)
    est = SGDClassifier(loss="log_loss", optimizer=Adam(), learning_rate=Constant(0.01),
                        max_iter=5, tol=None, random_state=0)
    grid = GridSearchCV(est, {"learning_rate__lr": [0.001, 0.05],
                              "optimizer__betas": [(0.9, 0.999), (0.8, 0.99)]}, cv=2).fit(X, y)
    best = grid.best_params_
    assert best["learning_rate__lr"] in (0.001, 0.05)
    assert grid.best_estimator_.learning_rate.lr == best["learning_rate__lr"]
    assert grid.best_estimator_.optimizer.betas == best["optimizer__betas"]
    assert est.learning_rate.lr == 0.01 and est.optimizer == Adam()   # searched on clones


@pytest.mark.parametrize("options", [
    # overflow in a call over every column (no coordinate snapshot when headless)
    ["--loss", "squared_error", "--optimizer", "momentum", "--lr", "1", "--penalty", "none"],
    ["--loss", "squared_error", "--optimizer", "momentum", "--lr", "3", "--chunk-size", "700"],
    ["--loss", "squared_error", "--optimizer", "adam", "--lr", "1e300"],   # non-finite step
    ["--lr", "0.1"],    # continuous labels for a classifier: scikit-learn's error
])
def test_headless_failure_is_reported_as_the_estimator(tmp_path, capsys, monkeypatch, options):
    data = _data(tmp_path, "r.vw", "regression")
    out = []
    for headless in (True, False):
        monkeypatch.setattr(_cli_options, "HEADLESS", headless)
        status = main(["train", str(data), *options])
        captured = capsys.readouterr()
        out.append((status, [line for line in captured.out.splitlines()
                             if not line.startswith("time = ")], captured.err))
    assert out[0] == out[1]
    assert out[0][0] == 1 and "error" in out[0][2]


def test_headless_non_finite_row_is_reported_as_the_estimator(tmp_path, capsys, monkeypatch):
    data = tmp_path / "bad.csv"
    rows = [f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(300)]
    rows[150] = "3,inf,1"
    data.write_text("a,b,label\n" + "\n".join(rows) + "\n")
    out = []
    for headless in (True, False):
        monkeypatch.setattr(_cli_options, "HEADLESS", headless)
        status = main(["train", str(data), "--target", "label", "--chunk-size", "100"])
        captured = capsys.readouterr()
        out.append((status, captured.err))
    assert out[0] == out[1]
    assert out[0][0] == 1 and "infinite value" in out[0][1]
