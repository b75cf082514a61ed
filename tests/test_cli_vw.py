"""``streamlr train``/``predict`` on Vowpal Wabbit files through the compiled
readers, against Vowpal Wabbit's own driver."""
import gzip
import os
import subprocess
import sys

import numpy as np
import pytest

import streamlr
from streamlr import load
from streamlr.cli import main
from streamlr.io import DataFormat, read_vw
from streamlr.linear_model import SGDClassifier
from streamlr.persistence import load_metadata

pytest.importorskip("vowpalwabbit")


def make_vw(path, n=3000, seed=0, unlabeled=0):
    rng = np.random.default_rng(seed)
    wu, wi = rng.normal(size=(5, 30)), rng.normal(size=(5, 30))
    with open(path, "w") as f:
        for r in range(n):
            u, i = rng.integers(0, 30, size=5), rng.integers(0, 30, size=5)
            s = wu[np.arange(5), u].sum() + wi[np.arange(5), i].sum() + rng.normal()
            label = "" if r < unlabeled else ("1 " if rng.random() < 1 / (1 + np.exp(-s))
                                               else "-1 ")
            f.write(label + "|u " + " ".join(f"u{j}_{u[j]}" for j in range(5))
                    + f" amount:{rng.normal():.4f} |i " + " ".join(f"i{j}_{i[j]}" for j in range(5))
                    + "\n")


def _table(text):
    """(counter, average loss) of a progress table (VW's or ours)."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2].isdigit():
            try:
                rows.append((int(parts[2]), float(parts[0])))
            except ValueError:
                continue
    return rows


def _vw_table(path, *args):
    res = subprocess.run([sys.executable, "-m", "vowpalwabbit", "-d", str(path),
                          "--loss_function", "logistic", "-b", "18", *args],
                         capture_output=True, text=True, check=True, timeout=300)
    return _table(res.stderr + res.stdout)


@pytest.mark.parametrize("q", [[], ["-q", "ui"]])
def test_progress_table_equals_vw_own_driver(tmp_path, capsys, q):
    """VW's default update (optimizer "vw", no penalty) on VW's own file: the
    same progressive losses as VW's driver prints, line for line."""
    path = tmp_path / "d.vw"
    make_vw(path)
    theirs = _vw_table(path, *q)
    assert main(["train", str(path), "--optimizer", "vw", "--penalty", "none", *q]) == 0
    ours = _table(capsys.readouterr().out)
    assert len(theirs) >= 10
    for (n, loss), (m, mine) in zip(theirs, ours, strict=False):
        assert n == m
        assert mine == pytest.approx(loss, abs=2e-6)  # VW prints 6 decimals


def test_interactions_are_saved_and_used_by_predict(tmp_path):
    path = tmp_path / "d.vw"
    make_vw(path, n=500)
    model_path = tmp_path / "m.streamlr"
    out = tmp_path / "p.txt"
    assert main(["train", str(path), "-q", "ui", "--cubic", "uui", "--lr", "0.1", "--quiet",
                 "--model-out", str(model_path)]) == 0
    fmt = DataFormat.from_dict(load_metadata(model_path)["reader"])
    assert fmt.interactions == ("ui", "uui")
    (X, y, _), = read_vw(path, interactions=["ui", "uui"], chunk_rows=10**6)
    ref = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.1, shuffle=False,
                        random_state=0)
    ref.partial_fit(X, y.astype(int), classes=[-1, 1])
    np.testing.assert_array_equal(load(model_path).coef_, ref.coef_)
    assert main(["predict", str(path), "--model", str(model_path), "--raw", "-o",
                 str(out)]) == 0
    np.testing.assert_allclose(np.loadtxt(out), ref.decision_function(X), rtol=1e-8)


def test_unlabeled_rows_are_predicted_not_learned(tmp_path, capsys):
    path = tmp_path / "d.vw"
    make_vw(path, n=400, unlabeled=25)
    model_path = tmp_path / "m.streamlr"
    assert main(["train", str(path), "--quiet", "--model-out", str(model_path)]) == 0
    out = capsys.readouterr().out
    assert "number of samples = 375" in out and "unlabeled rows    = 25" in out
    assert main(["predict", str(path), "--model", str(model_path)]) == 0
    assert len(capsys.readouterr().out.split()) == 400


def test_gzip_on_stdin_with_the_format_guessed(tmp_path):
    path = tmp_path / "d.vw"
    make_vw(path, n=700)
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(streamlr.__file__)))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run([sys.executable, "-m", "streamlr", "train", "-", "--quiet"],
                         input=gzip.compress(path.read_bytes()), capture_output=True,
                         env=env, timeout=120, check=False, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert b"finished run: vw data" in res.stdout and b"number of samples = 700" in res.stdout
