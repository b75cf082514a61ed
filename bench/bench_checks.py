"""What the divergence protection costs.

Per call, streamlr (1) snapshots what the call may change, so that a failed
call can be undone (all state for dense input, only the touched columns for
CSR chunks), and (2) checks after each pass that the touched weights and
optimizer state are finite. Inside the loop it also tests each prediction
and step for finiteness (two compares per sample, not measurable here).
This script times (1) and (2) alone against a whole ``partial_fit`` call on
the workloads of ``bench_sgd.py``, for plain SGD and Adam; median of repeats.

Rerun:  python bench/bench_checks.py [--quick]
"""
import argparse
import time

import numpy as np
from bench_sgd import make_csr, make_dense

import streamlr
from streamlr.linear_model._driver import bind
from streamlr.linear_model._input import touched_columns


def median_time(fn, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return float(np.median(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    n, d, d_sparse = (20_000, 100, 2**16) if args.quick else (200_000, 100, 2**20)
    cases = [(f"dense {n}x{d}", make_dense(n, d, np.float64)),
             (f"CSR {n}x2^{int(np.log2(d_sparse))} nnz=40", make_csr(n, d_sparse, 40, np.float64))]
    print("| case | optimizer | partial_fit ms | snapshot ms | finite check ms | share |")
    print("|---|---|---:|---:|---:|---:|")
    for name, (X, y) in cases:
        for opt in ("sgd", "adam"):
            est = streamlr.SGDClassifier(loss="log_loss", optimizer=opt, learning_rate="constant",
                                         eta0=0.01, shuffle=False)
            est.partial_fit(X[:10], y[:10], classes=[0, 1])
            call = median_time(lambda est=est, X=X, y=y: est.partial_fit(X, y), args.repeats)
            sparse = hasattr(X, "indices")
            cols = touched_columns(X.indices, X.indptr, X.shape[1]) if sparse else None
            engine = bind(est)   # the engine a call snapshots and checks with

            def snapshot(engine=engine, cols=cols):
                engine.save_state(cols)
                engine.drop_state()

            def finite_check(engine=engine, cols=cols):
                engine.save_state(cols)
                t0 = time.perf_counter()
                engine.finite(0)
                elapsed = time.perf_counter() - t0
                engine.drop_state()
                return elapsed

            snap = median_time(snapshot, args.repeats)
            check = float(np.median([finite_check() for _ in range(args.repeats)]))
            print(f"| {name} | {opt} | {call * 1e3:.2f} | {snap * 1e3:.3f} | {check * 1e3:.3f} | "
                  f"{(snap + check) / call:.1%} |", flush=True)


if __name__ == "__main__":
    main()
