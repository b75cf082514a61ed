"""Memory soak: does a long stream of partial_fit calls make the process grow?

Four configurations -- plain SGD (``log_loss``, scikit-learn's ``optimal``
rate) and Adam with a schedule
(``Warmup(CosineWarmRestarts(0.01, 100000, 2), 10000)``), each on hashed
sparse data (CSR, 2**20 features, 40 stored values per row) and on dense data
(100 features) -- each run two phases on one estimator:

* ``chunks``: ``--samples`` rows (default 10 million) through ``partial_fit``
  in chunks of seeded random sizes 1..5000;
* ``single``: ``--single`` calls (default 50,000 per configuration, 200,000
  in all) of ``partial_fit`` on one row each.

The data is generated chunk by chunk from a seeded generator and dropped after
use, so nothing accumulates but the model. At checkpoints (10%, 25%, 50%, 75%
and 100% of each phase) the script records the resident set size (VmRSS from
/proc/self/status), the number of objects the garbage collector tracks, the
rows of ``lr_history_`` and the throughput since the previous checkpoint, and
prints them as a markdown table for bench/README.md.

Verdict, per phase: RSS growth from the 10% checkpoint (after warm-up) to the
end must stay below ``--threshold-mib`` (5 MiB) plus what the ``lr_history_``
rows added in that window take. ``lr_history_`` is the only per-call growth by
design: one (t, lr, progressive loss) row per call, 24 bytes as the array it
returns, but stored as a Python list of 3-tuples; the script measures the
real cost of a row and reports both.

It also reports the single-row cost at the start and the end of each
``single`` phase: a cost that rises with the number of calls already made
shows per-call work that grows with the history.

Rerun:  python bench/soak.py                  (full size, several minutes)
        python bench/soak.py --quick          (~200k samples per phase, ~1 minute)
        python bench/soak.py --samples 2000000 --single 20000 --configs csr-adam
Linux only (reads /proc).
"""
import argparse
import gc
import platform
import sys
import time

import numpy as np
import scipy.sparse as sp

import streamlr
from streamlr.schedules import CosineWarmRestarts, Warmup

D_SPARSE = 2**20
NNZ = 40
D_DENSE = 100
MAX_CHUNK = 5000
CHECKPOINTS = (0.10, 0.25, 0.50, 0.75, 1.00)
WARMUP_FRACTION = CHECKPOINTS[0]
NOMINAL_ROW_BYTES = 3 * 8  # one lr_history_ row as a float64 array


def rss_mib():
    """Resident set size of this process, from /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def make_estimator(kind):
    if kind == "sgd":
        return streamlr.SGDClassifier(loss="log_loss", shuffle=False)
    schedule = Warmup(CosineWarmRestarts(0.01, 100000, 2), 10000)
    return streamlr.SGDClassifier(loss="log_loss", optimizer="adam",
                                  learning_rate=schedule, shuffle=False)


class SparseStream:
    """Hashed-feature rows: 40 column indices drawn uniformly from 2**20
    (collisions allowed, as with the hashing trick), values +-1/sqrt(40);
    labels from a fixed random linear model plus noise."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.w = self.rng.standard_normal(D_SPARSE)

    def chunk(self, n):
        rng = self.rng
        indices = rng.integers(0, D_SPARSE, size=n * NNZ, dtype=np.int32)
        data = rng.choice(np.array([-1.0, 1.0]), size=n * NNZ) / np.sqrt(NNZ)
        indptr = np.arange(0, n * NNZ + 1, NNZ, dtype=np.int32)
        X = sp.csr_matrix((data, indices, indptr), shape=(n, D_SPARSE))
        score = (data * self.w[indices]).reshape(n, NNZ).sum(axis=1)
        y = (score + 0.3 * rng.standard_normal(n) > 0).astype(np.int64)
        return X, y


class DenseStream:
    """Gaussian rows over 100 features, labels from a fixed linear model."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.w = self.rng.standard_normal(D_DENSE)

    def chunk(self, n):
        X = self.rng.standard_normal((n, D_DENSE)) / np.sqrt(D_DENSE)
        y = (X @ self.w + 0.3 * self.rng.standard_normal(n) > 0).astype(np.int64)
        return X, y


def history_rows(est):
    return est.lr_history_.shape[0]


def history_row_bytes(est):
    """Bytes one lr_history_ row takes: three float64 in a preallocated array
    (``_hist``; the history is bounded at ``HISTORY_ROWS`` rows)."""
    hist = est.__dict__.get("_hist")
    return hist.itemsize * hist.shape[1] if isinstance(hist, np.ndarray) else NOMINAL_ROW_BYTES


class Recorder:
    """Checkpoints of one phase: rows for the table and the growth figures."""

    def __init__(self, config, phase, total, est, samples_before, calls_before):
        self.config, self.phase, self.total = config, phase, total
        self.calls_at_last = calls_before
        self.est = est
        self.samples_before = samples_before
        self.targets = [max(1, int(round(f * total))) for f in CHECKPOINTS]
        self.next = 0
        self.rows = []
        self.busy = 0.0  # seconds spent in the stream itself since the last checkpoint
        self.done_at_last = 0
        self.call_times = []  # single phase: (calls done, us per call) at checkpoints

    def due(self, done):
        return self.next < len(self.targets) and done >= self.targets[self.next]

    def record(self, done, calls):
        rate = (done - self.done_at_last) / self.busy if self.busy > 0 else float("nan")
        per_call = self.busy / max(calls - self.calls_at_last, 1)
        gc.collect()
        row = dict(config=self.config, phase=self.phase, frac=CHECKPOINTS[self.next],
                   seen=self.samples_before + done, calls=calls,
                   hist=history_rows(self.est), rss=rss_mib(),
                   objects=len(gc.get_objects()), rate=rate, per_call_us=per_call * 1e6)
        self.rows.append(row)
        self.busy = 0.0
        self.done_at_last = done
        self.calls_at_last = calls
        while self.due(done):
            self.next += 1
        return row

    def summary(self, threshold_mib):
        warm, end = self.rows[0], self.rows[-1]
        row_bytes = history_row_bytes(self.est)
        added = end["hist"] - warm["hist"]
        hist_mib = added * row_bytes / 2**20
        nominal_mib = added * NOMINAL_ROW_BYTES / 2**20
        growth = end["rss"] - warm["rss"]
        allowed = threshold_mib + hist_mib
        return dict(config=self.config, phase=self.phase, rss_warm=warm["rss"],
                    rss_end=end["rss"], growth=growth, hist_rows=added,
                    row_bytes=row_bytes, hist_mib=hist_mib, nominal_mib=nominal_mib,
                    objects_growth=end["objects"] - warm["objects"],
                    allowed=allowed, ok=growth < allowed,
                    first_call_us=self.rows[0]["per_call_us"],
                    last_call_us=self.rows[-1]["per_call_us"])


def run_config(config, n_samples, n_single, seed, verbose):
    data, opt = config.split("-")
    stream = (SparseStream if data == "csr" else DenseStream)(seed)
    est = make_estimator(opt)
    chunk_rng = np.random.default_rng(seed + 1)
    # first call: allocates the state (O(n_features) once) before any checkpoint
    X, y = stream.chunk(100)
    est.partial_fit(X, y, classes=np.array([0, 1]))
    del X, y
    seen, calls = 100, 1
    recorders = []

    rec = Recorder(config, "chunks", n_samples, est, seen, calls)
    done = 0
    while done < n_samples:
        n = min(int(chunk_rng.integers(1, MAX_CHUNK + 1)), n_samples - done)
        X, y = stream.chunk(n)
        start = time.perf_counter()
        est.partial_fit(X, y)
        rec.busy += time.perf_counter() - start
        del X, y
        done += n
        calls += 1
        if rec.due(done):
            row = rec.record(done, calls)
            if verbose:
                print(f"  {config} chunks {row['seen']:,} samples, {row['rss']:.1f} MiB",
                      file=sys.stderr, flush=True)
    seen += done
    recorders.append(rec)

    rec = Recorder(config, "single", n_single, est, seen, calls)
    done = 0
    block = 1000
    while done < n_single:
        n = min(block, n_single - done)
        X, y = stream.chunk(n)
        for i in range(n):
            xi, yi = X[i:i + 1], y[i:i + 1]
            start = time.perf_counter()
            est.partial_fit(xi, yi)
            rec.busy += time.perf_counter() - start
            done += 1
            calls += 1
            if rec.due(done):
                row = rec.record(done, calls)
                if verbose:
                    print(f"  {config} single {row['seen']:,} samples, "
                          f"{row['rss']:.1f} MiB, {row['per_call_us']:.0f} us/call",
                          file=sys.stderr, flush=True)
        del X, y
    recorders.append(rec)
    return recorders


def print_tables(recorders, threshold_mib, args, wall):
    print(f"streamlr {streamlr.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}; "
          f"--samples {args.samples:,} --single {args.single:,} --seed {args.seed}; "
          f"{wall:.0f} s wall\n")
    print("| config | phase | at | samples seen | calls | lr_history_ rows | RSS MiB "
          "| gc objects | samples/s | us/call |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rec in recorders:
        for r in rec.rows:
            print(f"| {r['config']} | {r['phase']} | {r['frac']:.0%} | {r['seen']:,} "
                  f"| {r['calls']:,} | {r['hist']:,} | {r['rss']:.1f} | {r['objects']:,} "
                  f"| {r['rate']:,.0f} | {r['per_call_us']:,.0f} |")
    print()
    print(f"Growth after warm-up (from the {WARMUP_FRACTION:.0%} checkpoint to the end of "
          f"each phase); allowed: {threshold_mib:g} MiB + the lr_history_ rows added, "
          f"at their measured size.\n")
    print("| config | phase | RSS at 10% | RSS at end | growth MiB | history rows added "
          "| bytes/row (nominal 24) | history MiB (nominal) | gc objects growth "
          "| allowed MiB | verdict |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    summaries = [rec.summary(threshold_mib) for rec in recorders]
    for s in summaries:
        print(f"| {s['config']} | {s['phase']} | {s['rss_warm']:.1f} | {s['rss_end']:.1f} "
              f"| {s['growth']:+.1f} | {s['hist_rows']:,} | {s['row_bytes']} "
              f"| {s['hist_mib']:.2f} ({s['nominal_mib']:.2f}) | {s['objects_growth']:+,} "
              f"| {s['allowed']:.1f} | {'PASS' if s['ok'] else 'FAIL'} |")
    print()
    singles = [s for s in summaries if s["phase"] == "single"]
    if singles:
        print("Single-row partial_fit cost, first vs last checkpoint interval of each "
              "single phase (a rising cost is per-call work that grows with the calls "
              "already made):\n")
        print("| config | us/call at 10% | us/call at 100% | ratio |")
        print("|---|---:|---:|---:|")
        for s in singles:
            print(f"| {s['config']} | {s['first_call_us']:,.0f} | {s['last_call_us']:,.0f} "
                  f"| {s['last_call_us'] / s['first_call_us']:.2f}x |")
        print()
    ok = all(s["ok"] for s in summaries)
    print(f"Verdict: {'PASS' if ok else 'FAIL'} -- RSS growth after warm-up "
          f"{'stays' if ok else 'does not stay'} below {threshold_mib:g} MiB + lr_history_ "
          f"in every phase.")
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000_000,
                    help="rows per configuration in the chunked phase (default 10M)")
    ap.add_argument("--single", type=int, default=50_000,
                    help="single-row partial_fit calls per configuration (default 50k)")
    ap.add_argument("--quick", action="store_true",
                    help="200k rows in chunks, 5k single-row calls per configuration")
    ap.add_argument("--configs", default="csr-sgd,csr-adam,dense-sgd,dense-adam",
                    help="comma-separated subset of csr-sgd,csr-adam,dense-sgd,dense-adam")
    ap.add_argument("--threshold-mib", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true", help="progress on stderr")
    args = ap.parse_args(argv)
    if args.quick:
        args.samples, args.single = 200_000, 5_000
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in ("csr-sgd", "csr-adam", "dense-sgd", "dense-adam"):
            ap.error(f"unknown configuration {c!r}")
    start = time.perf_counter()
    recorders = []
    for i, config in enumerate(configs):
        recorders += run_config(config, args.samples, args.single, args.seed + 10 * i,
                                args.verbose)
        gc.collect()
    ok = print_tables(recorders, args.threshold_mib, args, time.perf_counter() - start)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
