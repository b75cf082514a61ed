"""Single-event latency over a long stream: does it stay flat as features
accumulate?

A million events of 40 hashed features (2^20 columns, fresh random columns
every event, so the set of touched features keeps growing), one
``learn_one`` and one ``predict_one`` each, timed per call with
``perf_counter_ns``; reported per window of 100,000 events (median and p99),
for plain SGD and Adam. Also a dense d=100 stream of the same length. The
event object is one 1-row CSR matrix whose arrays are swapped for each event
(what a feature hasher hands over), so the timing is streamlr's alone.

Rerun:  PYTHONPATH=. python bench/bench_latency.py [--events N]
"""
import argparse
import time

import numpy as np
import scipy.sparse as sp

from streamlr import SGDClassifier

D = 1 << 20
NNZ = 40
WINDOW = 100_000


def run(opt, n_events, dense, rng):
    clf = SGDClassifier(loss="log_loss", optimizer=opt, learning_rate="constant",
                        eta0=0.01, shuffle=False)
    learn = np.empty(n_events, dtype=np.int64)
    pred = np.empty(n_events, dtype=np.int64)
    clock = time.perf_counter_ns
    if dense:
        w = rng.standard_normal(100)
        X = rng.standard_normal((min(n_events, 100_000), 100))
        y = (X @ w > 0).astype(int)
        clf.partial_fit(X[:1], y[:1], classes=[0, 1])
        for i in range(n_events):
            x, label = X[i % len(X)], y[i % len(X)]
            t0 = clock()
            clf.predict_one(x)
            t1 = clock()
            clf.learn_one(x, label)
            t2 = clock()
            pred[i], learn[i] = t1 - t0, t2 - t1
        return learn, pred
    row = sp.csr_matrix((np.ones(NNZ), np.arange(NNZ, dtype=np.int32),
                         np.array([0, NNZ], dtype=np.int32)), shape=(1, D))
    clf.partial_fit(row, [0], classes=[0, 1])
    block = 100_000
    for lo in range(0, n_events, block):
        cols = rng.integers(0, D, size=(block, NNZ)).astype(np.int32)
        vals = np.full((block, NNZ), 1 / np.sqrt(NNZ))
        labels = (cols[:, 0] % 7 < 3).astype(int)      # a learnable hashed signal
        for k in range(min(block, n_events - lo)):
            row.indices, row.data = cols[k], vals[k]
            t0 = clock()
            clf.predict_one(row)
            t1 = clock()
            clf.learn_one(row, labels[k])
            t2 = clock()
            pred[lo + k], learn[lo + k] = t1 - t0, t2 - t1
    return learn, pred


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'stream':14s} {'opt':5s} {'call':12s} " + " ".join(
        f"{f'{(i + 1) * WINDOW // 1000}k':>11s}" for i in range(args.events // WINDOW)))
    for dense in (False, True):
        for opt in ("sgd", "adam"):
            learn, pred = run(opt, args.events, dense, rng)
            for name, ts in (("learn_one", learn), ("predict_one", pred)):
                cells = []
                for i in range(args.events // WINDOW):
                    w = ts[i * WINDOW:(i + 1) * WINDOW] / 1e3
                    cells.append(f"{np.median(w):4.2f}/{np.percentile(w, 99):5.2f}")
                stream = "dense d=100" if dense else "hashed 2^20"
                print(f"{stream:14s} {opt:5s} {name:12s} " + " ".join(f"{c:>11s}" for c in cells))
    print("cells: median / p99 microseconds per call in each window of 100,000 events")


if __name__ == "__main__":
    main()
