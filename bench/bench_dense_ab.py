"""Two (or more) builds of streamlr A/B on one dense epoch with scikit-learn's
default settings (issue #20): log loss, L2, alpha 1e-4, ``learning_rate=
"optimal"``, one ``partial_fit`` of 200,000 x 100 float64 rows (``--loss``
another loss), against one
single-threaded ``X @ w`` pass (the floor), in CPU time.

Each build runs in processes of its own, alternating (the order flipped every
round), so that a loaded machine's noise hits every build alike; each process
times ``--per-process`` epochs on fresh models and floors, drops the first,
and reports medians; the table gives each build's median over the rounds.

    python bench/bench_dense_ab.py /work/main /path/to/worktree --rounds 9

A build is a source tree with its kernels built in place (it goes first on
``PYTHONPATH``). The first 16 hex digits of the coefficients and the
progressive loss are printed per build, to see that the bits agree.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import sys, time
import numpy as np
from threadpoolctl import threadpool_limits
import streamlr
n, d, reps, loss = 200_000, 100, int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d))
y = (X[:, : d // 2].sum(axis=1) + rng.standard_normal(n) > 0).astype(int)
w = rng.standard_normal(d)
ts, fs = [], []
with threadpool_limits(1):
    for _ in range(reps):
        m = streamlr.SGDClassifier(loss=loss, shuffle=False, tol=None)
        t0 = time.process_time()
        m.partial_fit(X, y, classes=np.array([0, 1]))
        ts.append(time.process_time() - t0)
        t0 = time.process_time()
        X @ w
        fs.append(time.process_time() - t0)
print("RESULT", np.median(ts[1:]), np.median(fs[1:]), m.coef_.tobytes().hex()[:16],
      repr(m.progressive_loss_))
"""


def run(build, reps, loss):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(build))
    with tempfile.TemporaryDirectory() as cwd:     # nothing importable beside the build
        out = subprocess.run([sys.executable, "-c", CHILD, str(reps), loss], env=env, capture_output=True,
                             text=True, cwd=cwd, check=True).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT")][-1].split()
    return float(line[1]), float(line[2]), line[3], line[4]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("builds", nargs="+", help="source trees with their kernels built in place")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--per-process", type=int, default=6, help="epochs per process (first dropped)")
    ap.add_argument("--loss", default="log_loss", help="the classifier's loss (default log_loss)")
    args = ap.parse_args()
    import numpy as np
    from suite_report import cpu_model
    times = {b: [] for b in args.builds}
    floors = {b: [] for b in args.builds}
    bits = {}
    print(f"CPU: {cpu_model()}; load {os.getloadavg()[0]:.2f} at start ({time.strftime('%H:%M:%S')})")
    for r in range(args.rounds):
        for b in (args.builds if r % 2 == 0 else args.builds[::-1]):
            t, f, coef, loss = run(b, args.per_process, args.loss)
            times[b].append(t)
            floors[b].append(f)
            bits[b] = (coef, loss)
    print(f"load {os.getloadavg()[0]:.2f} at the end; loss={args.loss}; CPU time, median of "
          f"{args.rounds} processes")
    print("| build | epoch ms | floor ms | x floor | x first build | coef[:8 bytes] | progressive loss |")
    print("|---|---:|---:|---:|---:|---|---|")
    first = np.median(times[args.builds[0]])
    for b in args.builds:
        t, f = np.median(times[b]), np.median(floors[b])
        print(f"| {b} | {t * 1e3:.2f} | {f * 1e3:.2f} | {t / f:.3f} | {t / first:.3f} | "
              f"{bits[b][0]} | {bits[b][1]} |")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    main()
