"""Data-parallel training with Dask: ``streamlr.dask.fit_parallel`` on 1 and 2
workers against single-process ``partial_fit``.

The stream: a seeded logistic problem (dense, float32, ``--features``
columns, 10% label noise through the Bernoulli draw), cut into row blocks of
``--block`` rows; the last 20% is held out. Each configuration trains Adam
(constant rate) for ``--rounds`` passes:

* single process: ``partial_fit`` over the blocks in order, ``--rounds`` times;
* ``fit_parallel`` on a ``distributed.LocalCluster`` of 1 worker and of 2
  workers (one thread each): one copy per worker per round, then mixing.

Reported: the median wall time of ``--repeats`` runs (after one warm-up
run), the speed-up of 2 workers over 1, and the held-out log loss of each.
By default the workers are threads of this process (``processes=False``:
the kernels release the GIL, and blocks move between workers without
copies); ``--processes`` runs them as separate processes, where each copy's
blocks travel to its worker every round.

Rerun:  pip install ".[dask]" && python bench/bench_dask.py
        python bench/bench_dask.py --quick          (small sizes)
"""
import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import log_loss

import streamlr
from streamlr.dask import fit_parallel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite_report import cpu_model  # noqa: E402


def make_data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(size=(n, d), dtype=np.float32) / np.float32(np.sqrt(d))
    w = rng.normal(size=d) * 3.0
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(X @ w)))).astype(np.int64)
    return X, y


def model():
    return streamlr.SGDClassifier(loss="log_loss", optimizer="adam", learning_rate="constant",
                                  eta0=0.003, shuffle=False)


def single(X, y, block, rounds):
    est = model()
    for _ in range(rounds):
        for lo in range(0, len(y), block):
            est.partial_fit(X[lo:lo + block], y[lo:lo + block], classes=[0, 1])
    return est


def machine_parallelism():
    """How much faster two GIL-free NumPy sorts run in two threads than one
    after the other: about 2 on an idle 2-core machine, about 1 when other
    work holds a core (then no 2-worker run can scale either)."""
    import threading

    arrays = [np.random.default_rng(i).standard_normal(2_000_000) for i in range(2)]

    def work(a):
        for _ in range(3):
            np.sort(a)

    start = time.perf_counter()
    for a in arrays:
        work(a)
    sequential = time.perf_counter() - start
    threads = [threading.Thread(target=work, args=(a,)) for a in arrays]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sequential / (time.perf_counter() - start)


def timed(fn, repeats):
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), result


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=1_000_000)
    p.add_argument("--features", type=int, default=100)
    p.add_argument("--block", type=int, default=50_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--processes", action="store_true")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.quick:
        args.samples, args.block, args.repeats = 100_000, 10_000, 1
    import dask.array as da
    import distributed

    X, y = make_data(args.samples, args.features)
    n_train = int(0.8 * len(y)) // args.block * args.block
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    print(f"{n_train:,} training rows x {args.features} features (float32), blocks of "
          f"{args.block:,}, {len(yte):,} held out; Adam, {args.rounds} passes; "
          f"{cpu_model()}, {os.cpu_count()} CPUs; workers as {'processes' if args.processes else 'threads'}")
    rows = []
    t, est = timed(lambda: single(Xtr, ytr, args.block, args.rounds), args.repeats)
    rows.append(("single process, partial_fit", t, est))
    for workers in (1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                               processes=args.processes,
                                               dashboard_address=None)
        with cluster, distributed.Client(cluster) as client, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sending large graph": the data, once
            dX = da.from_array(Xtr, chunks=(args.block, args.features))
            dy = da.from_array(ytr, chunks=args.block)
            dX, dy = client.persist(dX), client.persist(dy)
            distributed.wait([dX, dy])

            def run(dX=dX, dy=dy):
                return fit_parallel(model(), dX, dy, rounds=args.rounds, classes=[0, 1])

            t, est = timed(run, args.repeats)
            rows.append((f"fit_parallel, {workers} worker{'s' if workers > 1 else ''}", t, est))
    base = rows[1][1]
    print(f"machine check: 2 threads of NumPy sorting ran {machine_parallelism():.2f}x "
          "faster than 1 (2.0 = two free cores)")
    print()
    print("| configuration | time (s) | samples/s | speed-up vs 1 worker | held-out log loss |")
    print("|---|---:|---:|---:|---:|")
    for name, t, est in rows:
        loss = log_loss(yte, est.predict_proba(Xte))
        rate = args.rounds * n_train / t
        print(f"| {name} | {t:.2f} | {rate:,.0f} | {base / t:.2f}x | {loss:.4f} |")


if __name__ == "__main__":
    main()
