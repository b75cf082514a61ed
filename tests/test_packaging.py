"""Generated build artefacts must never be committed; the sdist and the wheel
carry what they should (the wheel only what runs)."""

import fnmatch
import glob
import os
import platform
import shutil
import struct
import subprocess
import sys
import tarfile
import zipfile

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


# -- the distributions: what the sdist and the wheel carry --------------------------------
#
# The slow tests below build an sdist and a wheel from the tracked files of this
# checkout (or read the ones .ci/run built, from the folder STREAMLR_DIST names) and
# check what each one carries. .ci/run also installs that wheel into a fresh virtual
# environment and runs it from outside the checkout (.ci/wheel).

SOURCES = (".pyx", ".pxd", ".pxi")
JUNK = (".c", ".cpp", ".o", ".so.debug", ".pyc", ".html")


def _build_tools_importable():
    try:
        import Cython  # noqa: F401
        import numpy  # noqa: F401
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """``(wheel path, sdist path)``: from STREAMLR_DIST, else built here."""
    given = os.environ.get("STREAMLR_DIST")
    if given:
        out = given
    else:
        tracked = _tracked_files()
        src = tmp_path_factory.mktemp("src")
        for f in tracked:
            if os.path.isfile(os.path.join(REPO, f)):
                os.makedirs(os.path.dirname(src / f), exist_ok=True)
                shutil.copy2(os.path.join(REPO, f), src / f)
        out = str(tmp_path_factory.mktemp("dist"))
        # offline and quicker with the build tools at hand; else pip fetches them
        local = _build_tools_importable()
        pytest.importorskip("build")
        for cmd in ([sys.executable, "-m", "build", "--sdist", "-o", out]
                    + (["--no-isolation"] if local else []),
                    [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", out]
                    + (["--no-build-isolation"] if local else [])):
            res = subprocess.run(cmd, cwd=src, capture_output=True, text=True)
            assert res.returncode == 0, res.stdout + res.stderr
    wheels = glob.glob(os.path.join(out, "streamlr-*.whl"))
    sdists = glob.glob(os.path.join(out, "streamlr-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, os.listdir(out)
    return wheels[0], sdists[0]


def _elf_sections(data):
    """The section names of a 64-bit little-endian ELF file."""
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = headers[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    return {names[h[0]:names.index(b"\0", h[0])].decode() for h in headers}


@pytest.mark.slow
def test_wheel_carries_only_what_runs(dists):
    wheel, _ = dists
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        shared = [n for n in names if n.endswith((".so", ".pyd"))]
        assert not [n for n in names if n.endswith(SOURCES + JUNK)]
        assert not [n for n in names if n.startswith(("tests/", "bench/", "docs/", "build/"))]
        assert {n.split("/")[-1].split(".")[0] for n in shared} >= {"_cpu", "losses", "sgd"}
        assert "streamlr/cli.py" in names and "streamlr/_kernels/__init__.py" in names
        if sys.platform.startswith("linux"):
            for n in shared:
                sections = _elf_sections(z.read(n))
                assert not {s for s in sections if s.startswith(".debug")}, n   # -g0
                assert ".symtab" not in sections, n                             # stripped (-s)
                assert ".dynsym" in sections, n            # PyInit_ is still found
        unpacked = sum(i.file_size for i in z.infolist())
    # 3.6 MB packed and 9 MB unpacked with debug information and the Cython sources
    assert os.path.getsize(wheel) < 2_000_000 and unpacked < 5_000_000, (wheel, unpacked)


@pytest.mark.slow
def test_sdist_carries_the_sources_and_no_build_output(dists):
    _, sdist = dists
    with tarfile.open(sdist) as t:
        names = [n.split("/", 1)[1] for n in t.getnames() if "/" in n]
    kernels = {n for n in names if n.startswith("streamlr/_kernels/")}
    tracked = [f for f in _tracked_files() if f.startswith("streamlr/")]
    assert set(tracked) <= set(names), sorted(set(tracked) - set(names))
    assert {n for n in kernels if n.endswith(SOURCES)} >= {"streamlr/_kernels/sgd.pyx",
                                                            "streamlr/_kernels/optimizers.pxd",
                                                            "streamlr/_kernels/loop.pxi"}
    assert {"setup.py", "pyproject.toml", "README.md", "LICENSE", "tests/conftest.py"} <= set(names)
    assert not [n for n in names if n.endswith(JUNK + (".so", ".pyd"))]
    assert not [n for n in names if n.startswith(("build/", "docs/_build/", "docs/auto_examples/"))
                or "__pycache__" in n]


@pytest.mark.slow
def test_baseline_kernel_is_portable(dists, tmp_path):
    """No -march=native by default: the baseline kernel uses no AVX (ymm) register;
    the AVX2 twin, chosen at import on CPUs that have AVX2, does."""
    if shutil.which("objdump") is None or not sys.platform.startswith("linux"):
        pytest.skip("needs objdump on Linux")
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("x86-64 only")
    wheel, _ = dists
    counts = {}
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            base = n.split("/")[-1].split(".")[0]
            if base in ("sgd", "sgd_avx2", "losses"):
                path = z.extract(n, tmp_path)
                asm = subprocess.run(["objdump", "-d", path], capture_output=True, text=True).stdout
                counts[base] = asm.count("%ymm")
    assert counts["sgd"] == 0 and counts["losses"] == 0, counts
    assert counts["sgd_avx2"] > 0, counts

