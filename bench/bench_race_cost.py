"""What the rate race costs: one epoch (one ``partial_fit`` over the whole
matrix) of ``learning_rate="auto"`` against one model of the same optimizer
at one constant rate, and ``learn_one`` of each, in the same process.

    python bench/bench_race_cost.py                # dense 200k x 100 and CSR 200k x 2^20 (40 nnz)
    python bench/bench_race_cost.py --rows 20000   # quicker
    python bench/bench_race_cost.py --cpu          # CPU seconds (a machine shared with other jobs)

Prints, per optimizer and input: seconds of a first pass (a new model) and of
a later pass (median of repeats, alternating the two), the ratio race /
single, and learn_one microseconds after the race's first narrowing.
"""
import argparse
import time

import numpy as np
import scipy.sparse as sp
from suite_report import cpu_model

from streamlr import SGDClassifier


def dense_data(n, d=100, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) + rng.standard_normal(n) > 0).astype(int)
    return X, y


def csr_data(n, bits=20, fields=40, seed=0):
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, 1 << bits, size=(n, fields)).astype(np.int32)
    cols.sort(axis=1)
    indptr = np.arange(0, n * fields + 1, fields, dtype=np.int32)
    X = sp.csr_matrix((np.full(n * fields, 1 / np.sqrt(fields)), cols.ravel(), indptr),
                      shape=(n, 1 << bits))
    X.sum_duplicates()
    y = rng.integers(0, 2, size=n)
    return X, y


# the rules optimizer="auto" races, at a rate each runs well at
AUTO_RULES = ("sgd", "adam", "cocob", "vw", "prodigy", "schedulefree")


def _single(opt):
    """One model of ``opt`` (the no-rate rules at their own default rate)."""
    return SGDClassifier(loss="log_loss", optimizer=opt, learning_rate="constant", eta0=0.01,
                         shuffle=False)


# the clock: wall time, or with --cpu this process's CPU time (its own
# work and the kernel's on its behalf, e.g. page faults; not the time it
# waited for a core on a loaded machine)
CLOCK = [time.perf_counter]


def epoch_seconds(make, X, y):
    """(first pass of a new model, a later pass of the same model) in seconds."""
    clock = CLOCK[0]
    model = make()
    start = clock()
    model.partial_fit(X, y, classes=[0, 1])
    first = clock() - start
    start = clock()
    model.partial_fit(X, y)
    return first, clock() - start, model


def learn_one_us(make, X, y, n=2000, warm=1025):
    """Mean learn_one microseconds over n events, after ``warm`` rows (past
    the race's first narrowing)."""
    n = min(n, X.shape[0] - warm)
    if n <= 0:
        raise SystemExit(f"--rows must exceed {warm} to time learn_one after the first narrowing")
    model = make()
    model.partial_fit(X[:warm], y[:warm], classes=[0, 1])
    rows = [X[i] for i in range(warm, warm + n)]
    start = CLOCK[0]()
    for i, row in enumerate(rows):
        model.learn_one(row, y[warm + i])
    return (CLOCK[0]() - start) / n * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--optimizers", default="sgd,adam,auto")
    parser.add_argument("--cpu", action="store_true",
                        help="time CPU seconds of this process (time.process_time), not wall time")
    args = parser.parse_args(argv)
    CLOCK[0] = time.process_time if args.cpu else time.perf_counter
    print(f"CPU: {cpu_model()}; rows: {args.rows}; repeats: {args.repeats} (median); "
          f"{'CPU' if args.cpu else 'wall'} time")
    print("first: one partial_fit over all rows on a new model (the race runs all its copies for "
          "its first 1,024 rows); later: a second pass of the same model; learn_one: mean over "
          "2,000 events after the first 1,024")
    print(f"{'input':6} {'optimizer':9} {'copies':>6} {'first s':>8} {'race':>7} {'ratio':>6} "
          f"{'later s':>8} {'race':>7} {'ratio':>6} {'1 us':>6} {'race us':>8} {'ratio':>6}")
    for kind, (X, y) in (("dense", dense_data(args.rows)), ("csr", csr_data(args.rows))):
        for opt in args.optimizers.split(","):
            # optimizer="auto" is timed against the most expensive rule it races
            label, slowest = opt, opt
            if opt == "auto":
                slowest = max(AUTO_RULES, key=lambda o: epoch_seconds(
                    lambda o=o: _single(o), X, y)[1])
                label = f"auto/{slowest}"

            def single(rule=slowest):
                return _single(rule)

            def race(opt=opt):
                if opt == "auto":
                    return SGDClassifier(loss="log_loss", optimizer="auto", shuffle=False)
                return SGDClassifier(loss="log_loss", optimizer=opt, learning_rate="auto",
                                     shuffle=False)

            first = {"single": [], "race": []}
            later = {"single": [], "race": []}
            for _ in range(args.repeats):
                for name, make in (("single", single), ("race", race)):
                    a, b, _ = epoch_seconds(make, X, y)
                    first[name].append(a)
                    later[name].append(b)
            copies = epoch_seconds(race, X[:10], y[:10])[2]._model.copies
            f1, f2 = np.median(first["single"]), np.median(first["race"])
            l1, l2 = np.median(later["single"]), np.median(later["race"])
            us = {name: np.median([learn_one_us(make, X, y) for _ in range(args.repeats)])
                  for name, make in (("single", single), ("race", race))}
            print(f"{kind:6} {label:9} {copies:>6} {f1:8.3f} {f2:7.3f} {f2 / f1:6.2f} "
                  f"{l1:8.3f} {l2:7.3f} {l2 / l1:6.2f} {us['single']:6.2f} {us['race']:8.2f} "
                  f"{us['race'] / us['single']:6.2f}", flush=True)


if __name__ == "__main__":
    main()
