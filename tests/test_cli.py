"""The ``streamlr`` command line and the streaming readers behind it.

Some tests run the CLI as a subprocess (``python -m streamlr``), as a user
would; the rest call ``streamlr.cli.main`` in-process, which is the same code
without the interpreter start-up.
"""
import gzip
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import streamlr
from streamlr import SGDClassifier, SGDRegressor, _registry, cli, load
from streamlr.cli import Labels, UsageError, main, parse_optimizer, parse_schedule
from streamlr.hashing import hash_feature
from streamlr.io import BadLineError, DataFormat, Reader, guess_format
from streamlr.optim import Adam
from streamlr.persistence import load_metadata
from streamlr.schedules import CosineAnnealing, MultiStepDecay, StepDecay, Warmup

N = 300
PNG = b"\x89PNG\r\n\x1a\n"


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(0.0, 0.5, N)
    cat = rng.choice(["a", "b", "c"], N)
    x = rng.normal(size=N)
    logit = amount - 1.0 + 1.5 * (cat == "b") + x
    y = (rng.random(N) < 1 / (1 + np.exp(-logit))).astype(int)
    return amount, cat, x, y


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same data as CSV, libsvm and Vowpal Wabbit files."""
    d = tmp_path_factory.mktemp("data")
    amount, cat, x, y = _rows()
    with open(d / "d.csv", "w") as f:
        f.write("id,amount,cat,x,label\n")
        f.writelines(f"{i},{amount[i]:.4f},{cat[i]},{x[i]:.4f},{y[i]}\n" for i in range(N))
    with open(d / "d.svm", "w") as f:
        f.writelines(f"{y[i]} 1:{amount[i]:.4f} {2 + 'abc'.index(cat[i])}:1 5:{x[i]:.4f}\n"
                     for i in range(N))
    with open(d / "d.vw", "w") as f:
        f.writelines(f"{2 * y[i] - 1} |num amount:{amount[i]:.4f} x:{x[i]:.4f} |cat {cat[i]}\n"
                     for i in range(N))
    return d


def run_cli(*args, cwd, input=None):
    """``python -m streamlr ARGS`` with the streamlr these tests import."""
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(streamlr.__file__)))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("MPLBACKEND", None)
    return subprocess.run([sys.executable, "-m", "streamlr", *map(str, args)], cwd=cwd,
                          input=input, capture_output=True, text=True, env=env, timeout=120,
                          check=False)


def read_all(path, fmt, labels=None):
    """All rows of a file through the reader: (X, label texts, weights)."""
    with open(path, newline="") as f:
        chunks = list(Reader(f, fmt, chunk_size=64, parse_label=labels))
    X = sp.vstack([c.X for c in chunks], format="csr")
    labels = [label for c in chunks for label in c.labels]
    return X, labels, np.concatenate([c.weights for c in chunks])


FORMATS = {
    "csv": ("d.csv", DataFormat("csv", target="label", ignore=["id"], hash_bits=10),
            ["--target", "label", "--ignore", "id", "--hash-bits", "10"], [0, 1]),
    "libsvm": ("d.svm", DataFormat("libsvm", n_features=8), ["--n-features", "8"], [0, 1]),
    "vw": ("d.vw", DataFormat("vw", hash_bits=10), ["--hash-bits", "10"], [-1, 1]),
}


# -- subprocess: the installed command ------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_train_then_predict_equals_python_api(files, tmp_path, name):
    path, fmt, opts, classes = FORMATS[name]
    model_path = tmp_path / "m.streamlr"
    res = run_cli("train", files / path, *opts, "--optimizer", "adam", "--lr", "0.05",
                  "--schedule", "cosine:T_max=200", "--chunk-size", "50",
                  "--model-out", model_path, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"number of samples = {N}" in res.stdout
    assert load_metadata(model_path)["reader"] == fmt.to_dict()

    X, labels, _ = read_all(files / path, fmt)
    y = np.array([int(t) for t in labels])
    ref = SGDClassifier(loss="log_loss", optimizer="adam", eta0=0.05,
                        learning_rate=CosineAnnealing(0.05, 200),
                        shuffle=False, random_state=0)
    ref.partial_fit(X, y, classes=classes)  # one call: chunking never changes the model
    model = load(model_path)
    np.testing.assert_array_equal(model.coef_, ref.coef_)
    assert model.t_ == ref.t_ == N + 1
    assert model.progressive_loss_ == pytest.approx(ref.progressive_loss_, rel=1e-12)

    out = tmp_path / "pred.txt"
    assert main(["predict", str(files / path), "--model", str(model_path), "-o", str(out)]) == 0
    assert out.read_text().split() == [str(v) for v in ref.predict(X)]
    assert main(["predict", str(files / path), "--model", str(model_path), "--proba",
                 "-o", str(out)]) == 0
    np.testing.assert_allclose(np.loadtxt(out), ref.predict_proba(X)[:, 1], rtol=1e-8)


def test_predict_streams_to_stdout(files, tmp_path):
    model_path = tmp_path / "m.streamlr"
    assert main(["train", str(files / "d.csv"), "--target", "label", "--quiet",
                 "--model-out", str(model_path)]) == 0
    res = run_cli("predict", files / "d.csv", "--model", model_path, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split()
    assert len(lines) == N and set(lines) <= {"0", "1"}
    assert f"{N} predictions written to standard output" in res.stderr


def test_train_from_stdin_with_format_guessed(files, tmp_path):
    res = run_cli("train", "-", "--optimizer", "adagrad", "--lr", "0.1",
                  input=(files / "d.vw").read_text(), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "finished run: vw data" in res.stdout
    assert f"number of samples = {N}" in res.stdout


def test_exit_codes_as_a_subprocess(files, tmp_path):
    res = run_cli("train", tmp_path / "missing.csv", "--target", "label", cwd=tmp_path)
    assert res.returncode == 1
    assert "no such file" in res.stderr and "missing.csv" in res.stderr
    assert res.stdout == ""  # nothing printed before the file opened
    res = run_cli("train", files / "d.csv", "--target", "label", "--optimizer", "adamm",
                  cwd=tmp_path)
    assert res.returncode == 2
    assert "unknown optimizer 'adamm'" in res.stderr
    res = run_cli("train", files / "d.csv", "--no-such-option", cwd=tmp_path)
    assert res.returncode == 2


def test_demo_runs_and_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    res = run_cli("demo", "--samples", "20000", "--window", "5000", "--out", "demo.png",
                  cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    table = [ln for ln in lines if ln.strip()[:1].isdigit() and " / " in ln]
    assert [ln.split()[0] for ln in table] == ["5,000", "10,000", "15,000", "20,000"]
    for name in ("SGD", "Adam, constant", "Adam, cosine restarts"):
        assert any(ln.startswith(name) for ln in lines)
    assert (tmp_path / "demo.png").read_bytes()[:8] == PNG
    assert f"plot written to {tmp_path / 'demo.png'}" in res.stdout  # the absolute path


def test_lr_find_writes_plot_and_suggestion(files, tmp_path):
    pytest.importorskip("matplotlib")
    res = run_cli("lr-find", files / "d.vw", "--optimizer", "adam", "--num-steps", "30",
                  "--plot", "lr.png", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("suggested"))
    assert 1e-7 < float(line.split(":")[1]) < 10.0
    assert (tmp_path / "lr.png").read_bytes()[:8] == PNG


# -- in-process: behaviour in detail -----------------------------------------------------


def test_progress_lines_at_doubling_counts(files, capsys):
    assert main(["train", str(files / "d.svm"), "--chunk-size", "7"]) == 0
    out = capsys.readouterr().out.splitlines()
    table = [ln.split() for ln in out[2:out.index("")]]
    counts = [int(r[2]) for r in table]
    assert counts == [1, 2, 4, 8, 16, 32, 64, 128, 256, N]
    first = out[2].split()
    assert float(first[0]) == pytest.approx(np.log(2.0))  # log loss of the untrained model
    # Vowpal Wabbit's columns: the summed weight, the label, the prediction made
    # before learning the sample (0 for the untrained model), its features
    assert [float(v) for v in first[3:5]] == [1.0, 1.0] and float(first[5]) == 0.0
    assert all(float(r[3]) == float(r[2]) for r in table)
    assert "average loss" in "\n".join(out) and "current predict" not in out


def test_progress_since_last_is_the_loss_of_the_new_samples(files, capsys):
    main(["train", str(files / "d.svm")])
    out = capsys.readouterr().out.splitlines()
    rows = [[float(v) for v in ln.split()[:3]] for ln in out[2:out.index("")]]
    for (avg0, _, n0), (avg1, since, n1) in zip(rows, rows[1:], strict=False):
        assert since == pytest.approx((avg1 * n1 - avg0 * n0) / (n1 - n0), abs=2e-6)


@pytest.mark.parametrize("name, text, line", [
    ("bad.csv", "a,b,label\n1,2,0\n3,4\n5,6,1\n7,8,0\n", 3),
    ("bad.csv", "a,b,label\n1,2,0\n3,inf,1\n5,6,1\n7,8,0\n", 3),
    ("bad.svm", "1 1:2 3:4\n0 1:x\n1 2:1\n0 2:3\n", 2),
    ("bad.svm", "1 1:2\n0 2:3\n# a comment line\n1 999999999:1\n0 2:1\n", 4),
    ("bad.vw", "1 |f a b:2\n-1 |f c\n\n-1 f c\n1 |g d\n", 4),
    ("bad.vw", "1 |f a\n-1 |f a:1x\n1 |g d\n-1 |f b\n", 2),
])
def test_malformed_line_reported_or_skipped(tmp_path, capsys, name, text, line):
    path = tmp_path / name
    path.write_text(text)
    opts = ["--target", "label"] if name.endswith(".csv") else []
    assert main(["train", str(path), *opts, "--n-features", "10"] if name.endswith(".svm")
                else ["train", str(path), *opts]) == 1
    err = capsys.readouterr().err
    assert f"{path}, line {line}:" in err and "--skip-bad-lines" in err
    args = ["train", str(path), *opts, "--skip-bad-lines", "--quiet"]
    if name.endswith(".svm"):
        args += ["--n-features", "10"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"bad lines skipped = 1  (first: line {line}:" in out
    assert "number of samples = 3" in out


def test_missing_target_column_and_csv_without_target(files, capsys):
    assert main(["train", str(files / "d.csv"), "--target", "labl"]) == 1
    err = capsys.readouterr().err
    assert "no column 'labl'" in err and "'label'" in err
    assert main(["train", str(files / "d.csv")]) == 1
    assert "--target" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--schedule", "cosine"], "T_max"),
    (["--schedule", "cosine:T_max=-3"], "T_max"),
    (["--schedule", "nope"], "unknown schedule 'nope'"),
    (["--schedule", "step:gamma"], "not key=value"),
    (["--optimizer", "adam:betas=(0.9,)"], "betas"),
    (["--lr", "-1"], "--lr"),
    (["--loss", "huber", "--task", "regression", "--target", "x", "--loss", "hinge"],
     "classification loss"),
    (["--alpha", "-1"], "alpha"),
    (["--target", "label", "--n-features", "5"], "libsvm"),
])
def test_unknown_option_values_are_usage_errors(files, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["train", str(files / "d.csv"), "--target", "label", *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_passes_over_stdin_refused_over_a_file_repeated(files, tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exc:
        main(["train", "-", "--passes", "2"])
    assert exc.value.code == 2
    assert "standard input cannot be read twice" in capsys.readouterr().err
    model_path = tmp_path / "m.streamlr"
    assert main(["train", str(files / "d.vw"), "--passes", "3", "--quiet",
                 "--model-out", str(model_path)]) == 0
    assert f"number of samples = {3 * N}  (3 passes)" in capsys.readouterr().out
    assert load(model_path).t_ == 3 * N + 1


def test_classes_inferred_from_first_chunk_and_unknown_later(tmp_path, capsys):
    path = tmp_path / "d.vw"
    path.write_text("1 |f a\n-1 |f b\n1 |f a\n3 |f c\n")
    assert main(["train", str(path), "--chunk-size", "2"]) == 1
    err = capsys.readouterr().err
    assert "line 4" in err and "label '3' is not one of the classes [-1, 1]" in err
    assert main(["train", str(path), "--chunk-size", "2", "--classes=-1,1,3",
                 "--quiet"]) == 0
    # VW's labels begin with a minus sign: also without "="
    assert main(["train", str(path), "--chunk-size", "2", "--classes", "-1,1,3",
                 "--quiet"]) == 0
    with pytest.raises(SystemExit):     # a missing value is still a usage error
        main(["train", str(path), "--classes", "--quiet"])
    path.write_text("1 |f a\n1 |f b\n-1 |f a\n")
    assert main(["train", str(path), "--chunk-size", "2"]) == 1
    assert "only one class" in capsys.readouterr().err


def test_text_labels_and_regression(tmp_path, capsys):
    path = tmp_path / "t.csv"
    rows = ["f,g,kind,price"] + [f"{i % 3},{'xyz'[i % 3]},{'ab'[i % 2]},{i / 10}"
                                 for i in range(40)]
    path.write_text("\n".join(rows) + "\n")
    model_path = tmp_path / "m.streamlr"
    assert main(["train", str(path), "--target", "kind", "--ignore", "price", "--quiet",
                 "--model-out", str(model_path)]) == 0
    assert list(load(model_path).classes_) == ["a", "b"]
    out = tmp_path / "p.txt"
    assert main(["predict", str(path), "--model", str(model_path), "-o", str(out)]) == 0
    assert set(out.read_text().split()) <= {"a", "b"}
    assert main(["train", str(path), "--target", "price", "--loss", "squared_error",
                 "--ignore", "kind", "--lr", "0.01", "--quiet",
                 "--model-out", str(model_path)]) == 0
    assert isinstance(load(model_path), SGDRegressor)
    assert main(["predict", str(path), "--model", str(model_path), "-o", str(out)]) == 0
    assert np.loadtxt(out).shape == (40,)
    capsys.readouterr()
    assert main(["train", str(path), "--target", "g", "--loss", "squared_error"]) == 1
    assert "line 2: label 'x' is not a number" in capsys.readouterr().err


def test_csv_weight_column_is_sample_weight(tmp_path):
    path = tmp_path / "w.csv"
    rng = np.random.default_rng(1)
    rows = ["a,w,y"] + [f"{rng.normal():.3f},{rng.integers(0, 3)},{rng.integers(0, 2)}"
                        for _ in range(60)]
    path.write_text("\n".join(rows) + "\n")
    model_path = tmp_path / "m.streamlr"
    assert main(["train", str(path), "--target", "y", "--weight", "w", "--hash-bits", "4",
                 "--lr", "0.1", "--quiet", "--model-out", str(model_path)]) == 0
    fmt = DataFormat("csv", target="y", weight="w", hash_bits=4)
    X, labels, w = read_all(path, fmt)
    assert sorted(set(w)) == [0.0, 1.0, 2.0]
    ref = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.1, shuffle=False,
                        random_state=0)
    ref.partial_fit(X, np.array(labels, dtype=int), classes=[0, 1], sample_weight=w)
    np.testing.assert_array_equal(load(model_path).coef_, ref.coef_)


def test_predict_checks_model_and_options(files, tmp_path, capsys):
    model_path = tmp_path / "m.streamlr"
    streamlr.save(SGDClassifier().partial_fit(np.eye(3), [0, 1, 0], classes=[0, 1]), model_path)
    assert main(["predict", str(files / "d.csv"), "--model", str(model_path)]) == 1
    assert "holds no data settings" in capsys.readouterr().err
    assert main(["train", str(files / "d.csv"), "--target", "label", "--loss", "hinge",
                 "--quiet", "--model-out", str(model_path)]) == 0
    with pytest.raises(SystemExit) as exc:
        main(["predict", str(files / "d.csv"), "--model", str(model_path), "--proba"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        main(["predict", str(files / "d.svm"), "--model", str(model_path), "--format", "vw"])
    out = tmp_path / "raw.txt"
    assert main(["predict", str(files / "d.csv"), "--model", str(model_path), "--raw",
                 "-o", str(out)]) == 0
    X, _, _ = read_all(files / "d.csv", DataFormat("csv", target="label"))
    np.testing.assert_allclose(np.loadtxt(out), load(model_path).decision_function(X),
                               rtol=1e-8)
    assert main(["predict", str(tmp_path / "nope.csv"), "--model", str(model_path)]) == 1
    assert main(["predict", str(files / "d.csv"), "--model", str(tmp_path / "nope")]) == 1


def test_gzip_files_are_read(files, tmp_path, capsys):
    path = tmp_path / "d.vw.gz"
    with gzip.open(path, "wt") as f:
        f.write((files / "d.vw").read_text())
    assert main(["train", str(path), "--quiet"]) == 0
    assert f"number of samples = {N}" in capsys.readouterr().out


def test_lr_find_without_matplotlib(files, capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.chdir(tmp_path)
    assert main(["lr-find", str(files / "d.svm"), "--num-steps", "20"]) == 0
    out = capsys.readouterr().out
    assert "suggested learning rate" in out and "plot skipped" in out
    assert not (tmp_path / "lr-find.png").exists()


def test_demo_without_matplotlib_skips_the_plot(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--samples", "4000", "--window", "2000"]) == 0
    out = capsys.readouterr().out
    assert "plot skipped: matplotlib is not installed" in out
    assert not (tmp_path / "streamlr-demo.png").exists()


# -- the pieces -----------------------------------------------------------------------------


def test_parse_schedule_and_optimizer():
    assert parse_schedule("cosine:T_max=100", 0.1) == CosineAnnealing(0.1, 100)
    assert parse_schedule("CosineAnnealing:T_max=100,lr=0.5", 0.1) == CosineAnnealing(0.5, 100)
    assert parse_schedule("step:step_size=10,gamma=0.5", 0.2) == StepDecay(0.2, 10, 0.5)
    assert parse_schedule("multistep:milestones=[10,20]", 0.2) == MultiStepDecay(0.2, [10, 20])
    assert parse_schedule("constant", 0.2) == "constant"
    assert parse_optimizer("adam") == "adam"
    assert parse_optimizer("adam:betas=(0.8,0.9),amsgrad=True") == Adam(betas=(0.8, 0.9),
                                                                        amsgrad=True)


def test_option_tables_are_the_registry():
    """The command line lists what the registry holds (each row's round trip
    through parse_optimizer/parse_schedule: test_optim, test_schedules)."""
    assert list(cli.OPTIMIZERS) == list(_registry.optimizer_strings())
    for name, (cls, kwargs) in cli.OPTIMIZERS.items():
        assert cls(**kwargs) == _registry.resolve_optimizer(name)
        assert parse_optimizer(name) == name
    assert {e.cli: e.spec for e in _registry.schedules() if e.cli is not None} == cli.SCHEDULES
    for entry in _registry.schedules():
        if entry.sklearn is not None:
            assert parse_schedule(entry.cli, 0.1) == entry.sklearn
    assert tuple(e.name for e in _registry.losses("classification")) == cli.CLASSIFICATION_LOSSES
    assert tuple(e.name for e in _registry.losses("regression")) == cli.REGRESSION_LOSSES
    text = cli.build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    text = " ".join(text.split())
    for name in (*_registry.optimizer_strings(), *cli.SCHEDULES, *cli.CLASSIFICATION_LOSSES):
        assert name in text, name


@pytest.mark.parametrize("loss", [e.name for e in _registry.losses()])
def test_loss_picks_the_task(files, loss):
    # --task auto: a regressor for the losses a regressor takes
    args = cli.build_parser().parse_args(["train", str(files / "d.svm"), "--loss", loss])
    est, labels = cli._estimator(args)
    regression = "regression" in _registry.loss(loss).tasks
    assert isinstance(est, SGDRegressor if regression else SGDClassifier)
    assert labels.regression == regression
    args = cli.build_parser().parse_args(["train", str(files / "d.svm"), "--loss", loss,
                                          "--task", "classification"])
    if "classification" not in _registry.loss(loss).tasks:   # poisson, gamma, ...
        with pytest.raises(UsageError, match="loss"):
            cli._estimator(args)
        return
    assert isinstance(cli._estimator(args)[0], SGDClassifier)


def test_warmup_wraps_the_schedule(files, tmp_path):
    model_path = tmp_path / "m.streamlr"
    assert main(["train", str(files / "d.svm"), "--optimizer", "adam", "--lr", "0.02",
                 "--schedule", "cosine:T_max=100", "--warmup", "10", "--quiet",
                 "--model-out", str(model_path)]) == 0
    assert load(model_path).learning_rate == Warmup(CosineAnnealing(0.02, 100), 10)


def test_vw_reader_namespaces_tags_and_weights():
    fmt = DataFormat("vw", hash_bits=12)
    lines = ["1 2.0 'tag1|user age:0.5 new |item:2 price:3\n",
             "-1 'x |user age:1\n",
             "1 |user age:0\n"]
    (chunk,) = Reader(lines, fmt)
    assert chunk.labels == ["1", "-1", "1"]
    assert list(chunk.weights) == [2.0, 1.0, 1.0]
    X = chunk.X.toarray()
    age, new, price = (hash_feature(k, ns, bits=12)
                       for k, ns in (("age", "user"), ("new", "user"), ("price", "item")))
    assert X[0, age] == 0.5 and X[0, new] == 1.0 and X[0, price] == 6.0  # scaled by 2
    assert X[1, age] == 1.0 and chunk.X[2].nnz == 0
    assert list(chunk.lines) == [1, 2, 3]


def test_csv_reader_categories_missing_and_quotes():
    fmt = DataFormat("csv", target="y", categorical=["zip"], hash_bits=16)
    lines = ['zip,amt,city,y\n', '02139,1.5,"Cambridge, MA",1\n', '10001,,nan,0\n',
             '02139,2,NY,1\n']
    (chunk,) = Reader(lines, fmt)
    r = Reader([], fmt)
    X = chunk.X.toarray()
    assert X[0, r._key("zip=02139")] == 1.0 and X[0, r._key("amt")] == 1.5
    assert X[0, r._key("city=Cambridge, MA")] == 1.0
    assert chunk.X[1].nnz == 1  # empty and nan cells are missing
    assert X[2, r._key("amt")] == 2.0 and X[2, r._key("zip=02139")] == 1.0
    assert chunk.labels == ["1", "0", "1"]


def test_reader_chunks_are_bounded_and_lines_counted():
    fmt = DataFormat("libsvm", n_features=4)
    lines = [f"{i % 2} 1:{i}\n" for i in range(25)]
    chunks = list(Reader(iter(lines), fmt, chunk_size=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert chunks[2].lines[-1] == 25
    with pytest.raises(BadLineError, match="line 2: feature index 4 is outside"):
        list(Reader(["0 1:1\n", "1 4:1\n"], fmt))


def test_data_format_validation_and_guessing():
    with pytest.raises(ValueError, match="CSV files only"):
        DataFormat("vw", target="y")
    with pytest.raises(ValueError, match="hash_bits"):
        DataFormat("csv", hash_bits=40)
    assert DataFormat.from_dict(DataFormat("csv", target="y").to_dict()) == DataFormat(
        "csv", target="y")
    assert guess_format("a.CSV") == "csv" and guess_format("a.vw.gz") == "vw"
    assert guess_format("-", "1 |f a\n") == "vw"
    assert guess_format("-", "1 3:1 4:2\n") == "libsvm"
    assert guess_format("-", "a,b,c\n") == "csv"
    assert guess_format("-", "hello\n") is None


def test_labels_conversion():
    labels = Labels(regression=False)
    assert list(labels.convert(["1", "-1", "1.0"])) == [1, -1, 1]
    with pytest.raises(ValueError, match="not one of the classes"):
        labels.check("2")
    with pytest.raises(ValueError, match="mix numbers and text"):
        Labels(regression=False).convert(["1", "a"])
    with pytest.raises(ValueError, match="not a finite number"):
        Labels(regression=True).check("inf")
