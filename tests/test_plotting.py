"""streamlr.plotting: each function draws and saves a PNG; matplotlib stays optional."""
import sys

import numpy as np
import pytest

from streamlr import SGDClassifier, lr_find, plotting
from streamlr.evaluate import progressive_val_score
from streamlr.schedules import CosineAnnealing, OneCycle, StepDecay

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def mpl():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    return mpl


@pytest.fixture(scope="module")
def stream():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 5))
    y = (X @ np.array([1.0, -1.0, 0.5, 0.0, 2.0]) + rng.normal(size=2000) > 0).astype(int)
    return X, y


def _trained(stream, optimizer):
    X, y = stream
    model = SGDClassifier(loss="log_loss", optimizer=optimizer, learning_rate="constant",
                          eta0=0.01, shuffle=False)
    for lo in range(0, len(y), 200):
        model.partial_fit(X[lo:lo + 200], y[lo:lo + 200], classes=[0, 1])
    return model


def test_plot_schedules_saves_png(mpl, tmp_path):
    path = tmp_path / "s.png"
    schedules = [StepDecay(0.1, 300), CosineAnnealing(0.1, 1000), OneCycle(0.1, 1000)]
    ax = plotting.plot_schedules(schedules, t_max=1000, path=path)
    assert path.read_bytes()[:8] == PNG
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == [repr(s) for s in schedules]
    np.testing.assert_allclose(lines[1].get_ydata(), schedules[1](np.arange(1000)))
    ax = plotting.plot_schedules({"cos": schedules[1]}, t_max=10, log=True)
    assert ax.get_yscale() == "log" and ax.get_lines()[0].get_label() == "cos"
    with pytest.raises(ValueError, match="2 labels for 3 schedules"):
        plotting.plot_schedules(schedules, labels=["a", "b"])


def test_plot_lr_find_saves_png(mpl, tmp_path, stream):
    X, y = stream
    result = lr_find(SGDClassifier(loss="log_loss", optimizer="adam"), X, y, num_steps=40)
    path = tmp_path / "lr.png"
    ax = plotting.plot_lr_find(result, path=path)
    assert path.read_bytes()[:8] == PNG
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), result.lrs)
    assert f"{result.suggestion:.3g}" in ax.get_title()


def test_plot_progressive_and_learning_rates(mpl, tmp_path, stream):
    X, y = stream
    sgd, adam = _trained(stream, "sgd"), _trained(stream, "adam")
    score = progressive_val_score(SGDClassifier(loss="log_loss"), X, y, "log_loss",
                                  step=100, classes=[0, 1])
    path = tmp_path / "p.png"
    ax = plotting.plot_progressive({"sgd": sgd, "adam": adam, "pvs": score,
                                    "pairs": ([1, 2], [0.5, 0.4])}, path=path)
    assert path.read_bytes()[:8] == PNG
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"sgd", "adam", "pvs", "pairs"}
    np.testing.assert_array_equal(lines["adam"].get_ydata(), adam.lr_history_[:, 2])
    np.testing.assert_array_equal(lines["pvs"].get_xdata(), score.n_samples)
    path = tmp_path / "lr.png"
    ax = plotting.plot_learning_rates({"sgd": sgd, "adam": adam}, path=path)
    assert path.read_bytes()[:8] == PNG
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), sgd.lr_history_[:, 1])
    with pytest.raises(TypeError, match="cannot plot str"):
        plotting.plot_progressive({"bad": "curve"})


def test_draws_on_given_axes_without_saving(mpl):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        assert plotting.plot_schedules(StepDecay(0.1, 5), t_max=20, ax=ax) is ax
        assert len(ax.get_lines()) == 1
    finally:
        plt.close(fig)


def test_saving_leaves_no_pyplot_figure(mpl, tmp_path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plotting.plot_schedules(StepDecay(0.1, 5), t_max=20, path=tmp_path / "x.png")
    assert plt.get_fignums() == before


def test_without_matplotlib_names_the_extra(monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"streamlr\[plot\]"):
        plotting.plot_schedules(StepDecay(0.1, 5), path=tmp_path / "x.png")
    with pytest.raises(ImportError, match=r"streamlr\[plot\]"):
        plotting.plot_learning_rates({})
    assert not (tmp_path / "x.png").exists()
