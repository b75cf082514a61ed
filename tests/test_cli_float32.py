"""``streamlr train --dtype float32``: each value read rounded to float32 and
a float32 model (Vowpal Wabbit's precision), against the estimator fed the
same rounded rows, and against VW's own driver."""
import numpy as np
import pytest
import scipy.sparse as sp
from test_cli_vw import _table, _vw_table, make_vw

from streamlr import load
from streamlr.cli import main
from streamlr.io import read_vw
from streamlr.linear_model import SGDClassifier


def _rounded(X):
    # float32 values, the entries as stored (no duplicates summed)
    return sp.csr_matrix((X.data.astype(np.float32), X.indices, X.indptr), shape=X.shape)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "vw"])
def test_the_model_is_the_estimator_on_rows_rounded_to_float32(tmp_path, optimizer):
    path, model_path, out = tmp_path / "d.vw", tmp_path / "m.streamlr", tmp_path / "p.txt"
    make_vw(path, n=700)
    assert main(["train", str(path), "--optimizer", optimizer, "--lr", "0.05", "--quiet",
                 "--dtype", "float32", "--chunk-size", "128", "--model-out",
                 str(model_path)]) == 0
    (X, y, _), = read_vw(path, chunk_rows=10**6)
    ref = SGDClassifier(loss="log_loss", optimizer=optimizer, learning_rate="constant", eta0=0.05,
                        shuffle=False, random_state=0)
    ref.partial_fit(_rounded(X), y.astype(int), classes=[-1, 1])
    model = load(model_path)
    assert model.coef_.dtype == np.float32
    np.testing.assert_array_equal(model.coef_, ref.coef_)
    np.testing.assert_array_equal(model.intercept_, ref.intercept_)
    assert main(["predict", str(path), "--model", str(model_path), "--raw", "-o",
                 str(out)]) == 0
    # predict reads float64 rows: the float32 coefficients times float64 values
    np.testing.assert_allclose(np.loadtxt(out), model.decision_function(X), rtol=1e-6,
                               atol=1e-6)


@pytest.mark.parametrize("q", [(), ("-q", "ui")])
def test_progress_stays_within_vw_own_drivers_print_precision(tmp_path, capsys, q):
    # VW keeps float32 weights; its table prints 6 decimals
    pytest.importorskip("vowpalwabbit")
    path = tmp_path / "d.vw"
    make_vw(path)
    theirs = _vw_table(path, *q)
    assert main(["train", str(path), "--optimizer", "vw", "--penalty", "none", "--dtype",
                 "float32", *q]) == 0
    ours = _table(capsys.readouterr().out)
    assert len(theirs) >= 10
    for (n, loss), (m, mine) in zip(theirs, ours, strict=False):
        assert n == m
        assert mine == pytest.approx(loss, abs=1e-4)


def test_a_dtype_other_than_float64_or_float32_is_refused(tmp_path, capsys):
    path = tmp_path / "d.vw"
    make_vw(path, n=50)
    with pytest.raises(SystemExit) as exc:
        main(["train", str(path), "--dtype", "float16"])
    assert exc.value.code == 2
    assert "--dtype" in capsys.readouterr().err
