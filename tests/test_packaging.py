"""Generated build artefacts must never be committed."""

import fnmatch
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATED = ["*.c", "*.cpp", "*.so", "*.pyd", "*.html", "*.o"]


def _tracked_files():
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    try:
        inside = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        pytest.skip("git cannot be run")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode("utf-8", "replace")
    return [f for f in out.split("\0") if f]


def test_no_generated_files_tracked():
    tracked = _tracked_files()
    bad = [f for f in tracked if any(fnmatch.fnmatch(os.path.basename(f), pat) for pat in GENERATED)]
    assert bad == [], f"generated files are tracked by git: {bad}"


def test_cython_sources_tracked_if_anything_is():
    tracked = _tracked_files()
    if not tracked:
        pytest.skip("nothing committed or staged yet")
    pyx = [f for f in tracked if f.endswith(".pyx")]
    if not any(f.startswith("streamlr/") for f in tracked):
        pytest.skip("package not committed yet")
    assert pyx, "the .pyx sources must be tracked (generated .c files are not)"
