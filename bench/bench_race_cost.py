"""What the rate race costs: one epoch (one ``partial_fit`` over the whole
matrix) of ``learning_rate="auto"`` against one model of the same optimizer
at one constant rate, and ``learn_one`` of each, in the same process.

    python bench/bench_race_cost.py                # dense 200k x 100 and CSR 200k x 2^20 (40 nnz)
    python bench/bench_race_cost.py --rows 20000   # quicker

Prints, per optimizer and input: seconds per epoch (median of repeats,
alternating the two), the ratio race / single, and learn_one microseconds.
"""
import argparse
import platform
import time

import numpy as np
import scipy.sparse as sp

from streamlr import SGDClassifier


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


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


def epoch_seconds(make, X, y):
    model = make()
    start = time.perf_counter()
    model.partial_fit(X, y, classes=[0, 1])
    return time.perf_counter() - start, model


def learn_one_us(make, X, y, n=2000):
    model = make()
    model.partial_fit(X[:1], y[:1], classes=[0, 1])
    rows = [X[i] for i in range(1, n + 1)]
    start = time.perf_counter()
    for i, row in enumerate(rows):
        model.learn_one(row, y[i + 1])
    return (time.perf_counter() - start) / n * 1e6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--optimizers", default="sgd,adam,adagrad")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_model()}; rows: {args.rows}; repeats: {args.repeats} (median)")
    print(f"{'input':6} {'optimizer':9} {'copies':>6} {'single s':>9} {'race s':>8} {'ratio':>6} "
          f"{'single us':>9} {'race us':>8} {'ratio':>6}")
    for kind, (X, y) in (("dense", dense_data(args.rows)), ("csr", csr_data(args.rows))):
        for opt in args.optimizers.split(","):
            def single(opt=opt):
                return SGDClassifier(loss="log_loss", optimizer=opt, learning_rate="constant",
                                     eta0=0.01, shuffle=False)

            def race(opt=opt):
                return SGDClassifier(loss="log_loss", optimizer=opt, learning_rate="auto",
                                     shuffle=False)

            times = {"single": [], "race": []}
            for _ in range(args.repeats):
                for name, make in (("single", single), ("race", race)):
                    times[name].append(epoch_seconds(make, X, y)[0])
            copies = epoch_seconds(race, X[:10], y[:10])[1]._model.copies
            s, r = np.median(times["single"]), np.median(times["race"])
            us = {name: np.median([learn_one_us(make, X, y) for _ in range(args.repeats)])
                  for name, make in (("single", single), ("race", race))}
            print(f"{kind:6} {opt:9} {copies:>6} {s:9.3f} {r:8.3f} {r / s:6.2f} "
                  f"{us['single']:9.2f} {us['race']:8.2f} {us['race'] / us['single']:6.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
