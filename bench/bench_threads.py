"""Two threads against one: one-vs-rest with ``n_jobs=2``, and two estimators
learning at once in two threads.

The kernel runs without the GIL, so both should approach 2x on a machine
with two free cores. Whether the cores are free right now is measured on
the side: NumPy's sort (GIL-free too) in one thread vs two, in the same
rounds. Each round alternates every configuration; median of the rounds.

Rerun:  PYTHONPATH=. python bench/bench_threads.py [--quick]
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from streamlr import SGDClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite_report import cpu_model  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def in_threads(fns):
    threads = [threading.Thread(target=f) for f in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    n = 20_000 if args.quick else 100_000
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 100))
    y = (X[:, :8] + 0.5 * rng.standard_normal((n, 8))).argmax(axis=1)   # 8 classes
    yb = (y < 4).astype(int)
    arrays = [rng.standard_normal(2_000_000) for _ in range(2)]

    def ovr(n_jobs, opt):
        return lambda: SGDClassifier(optimizer=opt, n_jobs=n_jobs, shuffle=False,
                                     learning_rate="constant", eta0=1e-3).partial_fit(
            X, y, classes=np.arange(8))

    def binary(opt):
        return lambda: SGDClassifier(optimizer=opt, shuffle=False, learning_rate="constant",
                                     eta0=1e-3).partial_fit(X, yb, classes=[0, 1])

    cases = {}
    for opt in ("sgd", "adam"):
        cases[f"one-vs-rest, 8 classes, {opt}: n_jobs=1"] = ovr(1, opt)
        cases[f"one-vs-rest, 8 classes, {opt}: n_jobs=2"] = ovr(2, opt)
        cases[f"one binary estimator, {opt}"] = binary(opt)
        cases[f"two binary estimators in two threads, {opt}"] = (
            lambda opt=opt: in_threads([binary(opt), binary(opt)]))
    cases["NumPy sort, one array"] = lambda: np.sort(arrays[0])
    cases["NumPy sort, two arrays in two threads"] = (
        lambda: in_threads([lambda: np.sort(arrays[0]), lambda: np.sort(arrays[1])]))

    for fn in cases.values():   # warm-up
        fn()
    times = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            times[name].append(timed(fn))
    med = {name: float(np.median(v)) for name, v in times.items()}
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; {n:,} rows x 100 features; "
          f"median of {args.rounds} rounds")
    for name, t in med.items():
        print(f"{name:48s} {t * 1e3:9.1f} ms")
    print()
    for opt in ("sgd", "adam"):
        one = med[f"one-vs-rest, 8 classes, {opt}: n_jobs=1"]
        two = med[f"one-vs-rest, 8 classes, {opt}: n_jobs=2"]
        print(f"n_jobs=2 speed-up, {opt}: {one / two:.2f}x")
        one = med[f"one binary estimator, {opt}"]
        two = med[f"two binary estimators in two threads, {opt}"]
        print(f"two estimators in two threads, {opt}: {2 * one / two:.2f}x the work per second")
    one, two = med["NumPy sort, one array"], med["NumPy sort, two arrays in two threads"]
    print(f"NumPy sort in two threads (free-core check): {2 * one / two:.2f}x")


if __name__ == "__main__":
    main()
