"""Delayed labels (issue #16 item 4): the per-call cost of ``learn_label``
against ``learn_one`` of the same rows, and the memory of the pending store
once ``max_pending`` is reached.

* latency: an Adam ``SGDClassifier`` (log loss) on dense d=100 rows and on
  hashed 40-feature dict events (``hash_bits=18``); ``predict_one(x,
  key=i)`` for a window of events, then ``learn_label(i, y)`` of each, timed
  one call at a time (median and p99), against ``learn_one`` of the same
  rows and ``predict_one`` without a key. Several alternating rounds.
* memory: ``predict_one(x, key=i)`` of ``--events`` dense d=100 events (and
  a ``learn_label`` of every other one, lagging) with
  ``max_pending=--max-pending``: tracemalloc's current and peak bytes and the
  process RSS, sampled along the way, stay flat once the store is full.

    python bench/bench_delayed.py [--calls 20000] [--events 1000000] [--max-pending 10000]

Measured 2026-12-07 on an Intel(R) Xeon(R) Processor (2 shared cores,
loaded), 5 rounds of 20,000 calls, median / p99 us per call: dense d=100
learn_one 0.96 / 1.70, learn_label 1.56 / 2.49, predict_one 0.56 / 0.98,
predict_one(key) 1.62 / 4.92; hashed 40-feature dicts learn_one 2.84 / 4.78,
learn_label 2.56 / 5.38 (the hashing was done at predict_one), predict_one
2.71 / 4.46, predict_one(key) 4.31 / 7.64. Memory, 10^6 events with
max_pending=10^4: n_pending_ 9,999 from 10^5 events on, tracemalloc 15.4 MB
(peak 17.6) and RSS 378.4 MB at every tenth, flat.
"""
import argparse
import copy
import functools
import resource
import time
import tracemalloc

import numpy as np
from suite_report import cpu_model

from streamlr import SGDClassifier


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _hashed_events(rng, n):
    return [{f"f{j}": f"v{rng.integers(0, 1000)}" for j in range(40)} for _ in range(n)]


def _per_call(fn, items):
    out = np.empty(len(items))
    clock = time.perf_counter_ns
    for i, args in enumerate(items):
        t0 = clock()
        fn(*args)
        out[i] = clock() - t0
    return out / 1000.0


def _keyed(model, x, k):
    return model.predict_one(x, key=k)


def latency(name, make, rows, y, calls, rounds):
    res = {"learn_one": [], "learn_label": [], "predict_one": [], "predict_one(key)": []}
    for _ in range(rounds):
        # the same model state for both
        a = make().partial_fit(rows[:100], y[:100], classes=[0, 1])
        b = copy.deepcopy(a)
        idx = range(100, 100 + calls)
        res["predict_one"].append(_per_call(b.predict_one, [(rows[i],) for i in idx]))
        keyed = functools.partial(_keyed, a)
        res["predict_one(key)"].append(_per_call(keyed, [(rows[i], i) for i in idx]))
        res["learn_label"].append(_per_call(a.learn_label, [(i, y[i]) for i in idx]))
        res["learn_one"].append(_per_call(b.learn_one, [(rows[i], y[i]) for i in idx]))
        assert np.array_equal(a.coef_, b.coef_)     # the same updates
    for call, runs in res.items():
        t = np.concatenate(runs)
        print(f"{name:<22}{call:<18}{np.median(t):>10.2f}{np.percentile(t, 99):>10.2f}")


def memory(events, cap, d=100):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((1000, d))
    y = (X[:, 0] > 0).astype(int)
    model = SGDClassifier(loss="log_loss", optimizer="adam", max_pending=cap)
    model.partial_fit(X[:10], y[:10], classes=[0, 1])
    tracemalloc.start()
    print(f"{'events':>10}{'n_pending_':>12}{'traced MB':>11}{'peak MB':>9}{'RSS MB':>9}")
    step = events // 10
    t0 = time.perf_counter()
    for i in range(events):
        model.predict_one(X[i % 1000], key=i)
        if i % 2 and i >= 1000:
            # the odd keys get their label 1000 events later (the newest
            # 1000 are always pending); the even ones never do: max_pending
            # drops them, oldest first
            model.learn_label(i - 1000, y[(i - 1000) % 1000])
        if (i + 1) % step == 0:
            cur, peak = tracemalloc.get_traced_memory()
            print(f"{i + 1:>10}{model.n_pending_:>12}{cur / 2**20:>11.1f}{peak / 2**20:>9.1f}"
                  f"{_rss_mb():>9.1f}")
    tracemalloc.stop()
    print(f"{events} events in {time.perf_counter() - t0:.1f} s (tracemalloc on)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--max-pending", type=int, default=10_000)
    args = ap.parse_args()
    print(f"CPU: {cpu_model()}")
    rng = np.random.default_rng(0)
    n = 100 + args.calls
    Xd = rng.standard_normal((n, 100))
    y = (Xd[:, 0] + 0.3 * rng.standard_normal(n) > 0).astype(int)
    hashed = _hashed_events(rng, n)
    print(f"{'rows':<22}{'call':<18}{'median us':>10}{'p99 us':>10}")
    latency("dense d=100", lambda: SGDClassifier(loss="log_loss", optimizer="adam"),
            Xd, y, args.calls, args.rounds)
    latency("hashed 40 (bits 18)",
            lambda: SGDClassifier(loss="log_loss", optimizer="adam", hash_bits=18),
            hashed, y, args.calls, args.rounds)
    memory(args.events, args.max_pending)


if __name__ == "__main__":
    main()
