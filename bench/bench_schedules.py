"""Cost of evaluating each learning-rate schedule inside the loop.

One epoch (one ``partial_fit``, plain SGD, log_loss, shuffle=False) on the
dense and CSR workloads of ``bench_sgd.py`` with each schedule, alternating
with ``Constant``; median of ``--repeats``; reported as the ratio of epoch
times to ``Constant`` (goal: every schedule within 1.1x).

Rerun:  python bench/bench_schedules.py            (full size)
        python bench/bench_schedules.py --quick    (small sizes)
"""
import argparse
import time

import numpy as np
from bench_sgd import make_csr, make_dense

import streamlr
from streamlr import schedules as S


def schedules(n):
    return {
        "Constant": S.Constant(0.01),
        "InverseScaling": S.InverseScaling(0.01, 0.5),
        "Optimal": S.Optimal(),
        "InverseTimeDecay": S.InverseTimeDecay(0.01, 1e-3),
        "StepDecay": S.StepDecay(0.01, n // 10, 0.5),
        "MultiStepDecay": S.MultiStepDecay(0.01, [n // 4, n // 2, 3 * n // 4]),
        "ExponentialDecay": S.ExponentialDecay(0.01, 0.99999),
        "PolynomialDecay": S.PolynomialDecay(0.01, n, 2.0),
        "CosineAnnealing": S.CosineAnnealing(0.01, n),
        "CosineWarmRestarts": S.CosineWarmRestarts(0.01, n // 20, 2),
        "Cyclic": S.Cyclic(0.001, 0.01, n // 10),
        "OneCycle": S.OneCycle(0.01, n),
        "Warmup(Cosine)": S.Warmup(S.CosineAnnealing(0.01, n), n // 10),
        "Sequential": S.Sequential([S.Constant(0.01), S.ExponentialDecay(0.01, 0.9999)], [n // 2]),
        "ReduceOnPlateau": S.ReduceOnPlateau(0.01, window=1000),
    }


def epoch_time(X, y, schedule):
    est = streamlr.SGDClassifier(loss="log_loss", learning_rate=schedule, shuffle=False)
    start = time.perf_counter()
    est.partial_fit(X, y, classes=np.array([0, 1]))
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n, d, d_sparse = (20_000, 100, 2**16) if args.quick else (200_000, 100, 2**20)
    cases = [(f"dense {n}x{d}", make_dense(n, d, np.float64)),
             (f"CSR {n}x2^{int(np.log2(d_sparse))} nnz=40", make_csr(n, d_sparse, 40, np.float64))]
    print(f"# streamlr {streamlr.__version__}; median of {args.repeats}; ratio to Constant")
    print("| schedule | " + " | ".join(f"{name} x Constant" for name, _ in cases) + " |")
    print("|---|" + "---:|" * len(cases))
    base = S.Constant(0.01)
    for name, sched in schedules(n).items():
        cells = []
        for _, (X, y) in cases:
            t_s, t_c = [], []
            for _ in range(args.repeats):
                t_c.append(epoch_time(X, y, base))
                t_s.append(epoch_time(X, y, sched))
            cells.append(f"{np.median(t_s) / np.median(t_c):.3f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
