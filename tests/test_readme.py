"""The README's commands do what it says: the first ones draw the picture it shows.

A newcomer runs the README's first command and should see the demo's
picture, not a note that it was skipped; the same holds for the command-line
walk-through on the demo's stream. The slow tests run those commands as a
shell would (``streamlr`` is ``python -m streamlr`` of the tree under test)
and compare the pictures they write with the ones the README embeds.
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import streamlr

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
SRC = os.path.dirname(os.path.dirname(os.path.abspath(streamlr.__file__)))


def _readme():
    if not os.path.exists(README):
        pytest.skip("no README.md next to the tests (an installed package)")
    with open(README, encoding="utf-8") as f:
        return f.read()


def _bash_blocks(text):
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def _commands(block):
    """The block's command lines, comments removed, continuation lines joined."""
    text = block.replace("\\\n", " ")
    return [re.sub(r"\s+#.*$", "", ln).strip() for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]


def test_readme_opens_with_the_two_commands_of_a_fresh_machine():
    text = _readme()
    first = _bash_blocks(text)[0]
    assert text.split("\n\n")[1].startswith("```bash\n")   # right under the title
    assert _commands(first) == ['pip install ".[plot]" && streamlr demo',
                                'pip install ".[test]" && pytest']


def test_ci_runs_the_readme_test_command():
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as f:
        lines = [ln.strip() for ln in f]
    assert any(re.fullmatch(r'pip install "\.\[test(,[a-z]+)*\]"', ln) for ln in lines)
    assert "pytest" in lines


def test_readme_images_exist_and_are_small():
    text = _readme()
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert "docs/demo.png" in images and "docs/cli-lr-find.png" in images
    for path in images:
        full = os.path.join(REPO, path)
        assert os.path.isfile(full), path
        assert os.path.getsize(full) < 300_000, path


def _run_as_shell(commands, cwd):
    script = "set -euo pipefail\nstreamlr() { \"$PYTHON\" -m streamlr \"$@\"; }\n" + "\n".join(commands)
    env = dict(os.environ, PYTHON=sys.executable,
               PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("MPLBACKEND", None)
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def _same_picture(a, b):
    from matplotlib.image import imread

    x, y = imread(a), imread(b)
    assert x.shape == y.shape
    assert np.mean(np.abs(x - y)) < 0.01


@pytest.mark.slow
def test_first_command_draws_the_readme_picture(tmp_path):
    pytest.importorskip("matplotlib")
    res = _run_as_shell(["streamlr demo"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "skipped" not in res.stdout + res.stderr
    png = tmp_path / "streamlr-demo.png"
    assert f"plot written to {png}" in res.stdout
    _same_picture(png, os.path.join(REPO, "docs", "demo.png"))


@pytest.mark.slow
def test_command_line_walk_through_runs_and_draws_the_readme_picture(tmp_path):
    pytest.importorskip("matplotlib")
    text = _readme()
    block = next(b for b in _bash_blocks(text) if "--csv cards.csv" in b)
    commands = _commands(block)
    assert [c.split()[1] for c in commands] == ["demo", "lr-find", "train", "predict"]
    res = _run_as_shell(commands, tmp_path)
    assert res.returncode == 0, res.stderr
    assert "skipped" not in res.stdout + res.stderr
    png = tmp_path / "lr-find.png"
    assert f"plot written to {png}" in res.stdout
    _same_picture(png, os.path.join(REPO, "docs", "cli-lr-find.png"))
    rate = re.search(r"suggested learning rate: (\S+)", res.stdout).group(1)
    assert f"here {rate})" in text          # the README quotes the suggestion
    assert len((tmp_path / "p.txt").read_text().splitlines()) == 200_000
