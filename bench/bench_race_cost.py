"""What the rate race costs: one epoch (one ``partial_fit`` over the whole
matrix) of ``learning_rate="auto"`` against one model of the same optimizer
at one constant rate, and ``learn_one`` of each, in the same process.

    python bench/bench_race_cost.py                # dense 200k x 100 and CSR 200k x 2^20 (40 nnz)
    python bench/bench_race_cost.py --rows 20000   # quicker
    python bench/bench_race_cost.py --cpu          # CPU seconds (a machine shared with other jobs)

Prints, per optimizer and input: seconds of a first pass (a new model), of
the second pass (which also makes the rollback snapshot's buffer, kept from
call to call after it) and of a steady pass (the mean of the third and
fourth: what every later call of a stream costs), each the median of
repeats, alternating the two; the ratio race / single; and learn_one
microseconds after the race's first narrowing.
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


def epoch_seconds(make, X, y, steady=True):
    """(first pass of a new model, its second pass, the mean of its third and
    fourth passes (None unless ``steady``), the model), in seconds."""
    clock = CLOCK[0]
    model = make()
    start = clock()
    model.partial_fit(X, y, classes=[0, 1])
    first = clock() - start
    start = clock()
    model.partial_fit(X, y)
    second = clock() - start
    if not steady:
        return first, second, None, model
    start = clock()
    model.partial_fit(X, y)
    model.partial_fit(X, y)
    return first, second, (clock() - start) / 2, model


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
          "its first 1,024 rows); second: its second pass; steady: the mean of its third and "
          "fourth passes; learn_one: mean over 2,000 events after the first 1,024")
    print(f"{'input':6} {'optimizer':12} {'copies':>6} {'first s':>8} {'race':>7} {'ratio':>6} "
          f"{'second s':>8} {'race':>7} {'ratio':>6} {'steady s':>8} {'race':>7} {'ratio':>6} "
          f"{'1 us':>6} {'race us':>8} {'ratio':>6}")
    for kind, (X, y) in (("dense", dense_data(args.rows)), ("csr", csr_data(args.rows))):
        for opt in args.optimizers.split(","):
            label, slowest = opt, opt
            if opt == "auto":
                # the most expensive rule the race holds, by its steady pass
                slowest = max(AUTO_RULES, key=lambda o: epoch_seconds(
                    lambda o=o: _single(o), X, y)[2])
                label = f"auto/{slowest}"

            def single(rule=slowest):
                return _single(rule)

            def race(opt=opt):
                if opt == "auto":
                    return SGDClassifier(loss="log_loss", optimizer="auto", shuffle=False)
                return SGDClassifier(loss="log_loss", optimizer=opt, learning_rate="auto",
                                     shuffle=False)

            times = {name: [] for name in ("single", "race")}
            for _ in range(args.repeats):
                for name, make in (("single", single), ("race", race)):
                    times[name].append(epoch_seconds(make, X, y)[:3])
            copies = epoch_seconds(race, X[:10], y[:10], steady=False)[3]._model.copies
            one, many = (np.median(times[name], axis=0) for name in ("single", "race"))
            us = {name: np.median([learn_one_us(make, X, y) for _ in range(args.repeats)])
                  for name, make in (("single", single), ("race", race))}
            cells = " ".join(f"{a:8.3f} {b:7.3f} {b / a:6.2f}" for a, b in zip(one, many, strict=True))
            print(f"{kind:6} {label:12} {copies:>6} {cells} {us['single']:6.2f} {us['race']:8.2f} "
                  f"{us['race'] / us['single']:6.2f}", flush=True)


if __name__ == "__main__":
    main()
