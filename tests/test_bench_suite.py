"""Smoke test of the benchmark suite (``python -m bench``) at its tiny scale.

Timing goals live in bench/, never here: this only checks that the suite runs
in-process, measures something positive and finite for every system that is
installed, skips the others with a note, and writes its markdown section (twice,
replacing it in place) and its chart.
"""
import importlib.util
import math
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
PEERS = {"river": "River", "vowpalwabbit": "Vowpal Wabbit", "torch": "PyTorch"}


@pytest.fixture(scope="module")
def suite():
    sys.path.insert(0, BENCH)
    try:
        import run
        import suite_report
        yield run, suite_report
    finally:
        sys.path.remove(BENCH)
        for name in ("run", "suite_data", "suite_systems", "suite_report"):
            sys.modules.pop(name, None)


def installed(module):
    return importlib.util.find_spec(module) is not None


@pytest.mark.slow
def test_tiny_suite_writes_table_and_chart(suite, tmp_path):
    run, report = suite
    md = tmp_path / "README.md"
    md.write_text("# Benchmarks\n\nKept text.\n")
    png = tmp_path / "bench.png"
    argv = ["--scale", "tiny", "--repeats", "1", "--rows", "600", "--calls", "30",
            "--budget", "0.02", "--peer-budget", "0.05", "--river-rows", "100", "--vw-rows", "100",
            "--torch-rows", "50", "--out-md", str(md)]
    if installed("matplotlib"):
        argv += ["--out-png", str(png)]
    results = run.main(argv, log=lambda *a: None)

    available = {"streamlr", "scikit-learn"} | {label for mod, label in PEERS.items() if installed(mod)}
    for mod, label in PEERS.items():
        skipped = any(note.startswith(f"skipped {label}") for note in results["notes"])
        assert skipped == (not installed(mod))

    seen = {r["system"] for r in results["throughput"]}
    assert seen == available | {"X @ w floor"}
    assert {r["workload"] for r in results["throughput"]} == {"dense-clf", "dense-reg", "csr"}
    for r in results["throughput"]:
        assert r["rows"] > 0
        assert r["rate"] > 0 and math.isfinite(r["rate"])
        assert r["x_floor"] > 0 and math.isfinite(r["x_floor"])
        if r["system"] == "X @ w floor":
            continue
        if r["workload"] == "dense-reg":
            assert math.isfinite(r["r2"])
        else:
            assert 0.0 <= r["accuracy"] <= 1.0 and r["log_loss"] > 0
    # streamlr learns the dense problems on 600 rows (a system that learns nothing shows)
    dense = [r for r in results["throughput"] if r["system"] == "streamlr" and r["workload"] == "dense-clf"]
    assert all(r["accuracy"] > 0.7 for r in dense)

    assert {r["system"] for r in results["latency"]} == available
    for r in results["latency"]:
        assert 0 < r["calls"] <= 30
        assert 0 < r["median_us"] <= r["p99_us"] and math.isfinite(r["p99_us"])
        assert r["x_streamlr"] is None or r["x_streamlr"] > 0
    assert results["goals"]

    text = md.read_text()
    assert text.startswith("# Benchmarks\n\nKept text.\n")
    assert text.count(report.START) == 1 and text.count(report.END) == 1
    assert "| dense-clf | streamlr | sgd |" in text and "median us" in text
    if installed("matplotlib"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "](bench.png)" in text

    # a rerun replaces the section in place and leaves the rest alone
    run.main(["--scale", "tiny", "--repeats", "1", "--rows", "300", "--workloads", "dense-reg",
              "--systems", "streamlr", "--out-md", str(md)], log=lambda *a: None)
    again = md.read_text()
    assert again.startswith("# Benchmarks\n\nKept text.\n")
    assert again.count(report.START) == 1
    assert "| dense-reg | streamlr |" in again and "| dense-clf |" not in again


def test_unknown_names_are_refused(suite):
    run, _ = suite
    with pytest.raises(SystemExit):
        run.main(["--systems", "streamlr,nope"], log=lambda *a: None)
    with pytest.raises(SystemExit):
        run.main(["--workloads", "dense"], log=lambda *a: None)


def test_latency_uses_the_single_event_api_when_present(suite, monkeypatch):
    """Once the estimators have learn_one/predict_one the latency workload times
    them (and partial_fit of one row besides); checked here with a stand-in."""
    import types

    import numpy as np
    import scipy.sparse as sp

    import streamlr

    def as_2d(x):
        return x if sp.issparse(x) else np.asarray(x).reshape(1, -1)

    class WithSingleEvents(streamlr.SGDClassifier):
        def learn_one(self, x, y, sample_weight=1.0):
            self.partial_fit(as_2d(x), [y], sample_weight=[sample_weight])

        def predict_one(self, x):
            return self.predict(as_2d(x))[0]

    stand_in = types.ModuleType("streamlr_with_single_events")
    stand_in.SGDClassifier = WithSingleEvents
    stand_in.SGDRegressor = streamlr.SGDRegressor
    monkeypatch.setitem(sys.modules, stand_in.__name__, stand_in)
    run, _ = suite
    import suite_systems
    monkeypatch.setattr(suite_systems.Streamlr, "estimators", stand_in.__name__)

    results = run.main(["--scale", "tiny", "--workloads", "latency", "--systems", "streamlr,sklearn",
                        "--optimizers", "sgd", "--rows", "300", "--calls", "20"], log=lambda *a: None)
    ours = [r for r in results["latency"] if r["system"] == "streamlr"]
    assert [r["call"] for r in ours] == ["learn_one", "predict_one", "partial_fit(1 row)"] * 2
    assert all(r["calls"] > 0 and r["median_us"] > 0 for r in ours)
    peers = [r for r in results["latency"] if r["system"] == "scikit-learn"]
    assert all(r["x_streamlr"] > 0 for r in peers)
    described = " ".join(desc for desc, _, _ in results["goals"])
    assert "learn_one <= 3 us" in described and "partial_fit of one row <= 30 us" in described
    assert not any("no learn_one" in note for note in results["notes"])


def test_a_missing_peer_is_skipped_with_a_note(suite, monkeypatch, tmp_path):
    run, _ = suite
    import suite_systems
    monkeypatch.setattr(suite_systems.VowpalWabbit, "module", "vowpalwabbit_not_installed_here")
    md = tmp_path / "bench.md"
    results = run.main(["--scale", "tiny", "--workloads", "dense-reg", "--systems", "streamlr,vw",
                        "--rows", "300", "--out-md", str(md)], log=lambda *a: None)
    assert {r["system"] for r in results["throughput"]} == {"streamlr", "X @ w floor"}
    assert any(n.startswith("skipped Vowpal Wabbit: not installed") for n in results["notes"])
    assert "skipped Vowpal Wabbit: not installed" in md.read_text()
