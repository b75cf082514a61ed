"""Throughput of every optimizer: one epoch against streamlr's plain SGD, and
per-sample Adam against River and PyTorch, in the same process.

Part 1: for each optimizer, one ``partial_fit`` over the dense and CSR
workloads of ``bench_sgd.py`` (log_loss, shuffle=False), alternating with
plain SGD; median of ``--repeats``; reported as samples/s and as the time
ratio to plain SGD (goal for Adam: <= 2x on dense rows, <= 1.5x on CSR).

Part 2: per-sample Adam on the same dense stream (d=100), one event at a
time: streamlr's ``partial_fit`` on one row, River's
``LogisticRegression(optimizer=optim.Adam())`` ``learn_one`` and a PyTorch
``Adam`` step on a single parameter vector; plus streamlr's kernel rate on
the whole stream. Peers are skipped when not installed.

Rerun:  python bench/bench_optim.py             (full size)
        python bench/bench_optim.py --quick     (small sizes)
"""
import argparse
import time

import numpy as np
from bench_sgd import make_csr, make_dense

import streamlr

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
              "adamw", "amsgrad", "adamax", "nadam", "ftrl"]


def epoch_time(X, y, optimizer):
    est = streamlr.SGDClassifier(loss="log_loss", optimizer=optimizer, learning_rate="constant",
                                 eta0=0.01, shuffle=False)
    start = time.perf_counter()
    est.partial_fit(X, y, classes=np.array([0, 1]))
    return time.perf_counter() - start


def part1(cases, repeats, optimizers=OPTIMIZERS):
    print("| optimizer | " + " | ".join(f"{name} samples/s | x SGD time" for name, _ in cases) + " |")
    print("|---|" + "---:|---:|" * len(cases))
    for opt in optimizers:
        cells = []
        for _, (X, y) in cases:
            t_opt, t_sgd = [], []
            for _ in range(repeats):
                t_sgd.append(epoch_time(X, y, "sgd"))
                t_opt.append(epoch_time(X, y, opt))
            m_opt, m_sgd = np.median(t_opt), np.median(t_sgd)
            cells.append(f"{X.shape[0] / m_opt:>12,.0f} | {m_opt / m_sgd:.2f}")
        print(f"| {opt} | " + " | ".join(cells) + " |", flush=True)


def per_event(fn, n):
    times = np.empty(n)
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        times[i] = time.perf_counter() - t0
    return times


def part2(X, y, n_events):
    print(f"\nPer-sample Adam, d={X.shape[1]}, {n_events} events (median, p99 in us; events/s):")
    print("| learner | median us | p99 us | events/s |")
    print("|---|---:|---:|---:|")
    rows = {}
    est = streamlr.SGDClassifier(loss="log_loss", optimizer="adam", learning_rate="constant",
                                 eta0=0.001, shuffle=False)
    est.partial_fit(X[:1], y[:1], classes=np.array([0, 1]))
    rows["streamlr partial_fit(1 row)"] = per_event(
        lambda i: est.partial_fit(X[i:i + 1], y[i:i + 1]), n_events)
    try:
        from river import linear_model as rlm
        from river import optim as roptim
        model = rlm.LogisticRegression(optimizer=roptim.Adam(lr=0.001))
        dicts = [dict(enumerate(row)) for row in X[:n_events].tolist()]
        rows["River LogisticRegression(Adam).learn_one"] = per_event(
            lambda i: model.learn_one(dicts[i], bool(y[i])), n_events)
    except ImportError:
        print("(River not installed: skipped)")
    try:
        import torch
        torch.set_num_threads(1)
        Xt = torch.tensor(X[:n_events], dtype=torch.float64)
        yt = torch.tensor(y[:n_events], dtype=torch.float64)
        w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
        b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([w, b], lr=0.001)
        lossf = torch.nn.BCEWithLogitsLoss()

        def step(i):
            opt.zero_grad()
            loss = lossf((Xt[i] @ w + b)[0:1], yt[i:i + 1])
            loss.backward()
            opt.step()

        rows["PyTorch Adam step (batch 1)"] = per_event(step, n_events)
    except ImportError:
        print("(PyTorch not installed: skipped)")
    for name, t in rows.items():
        print(f"| {name} | {np.median(t) * 1e6:.1f} | {np.percentile(t, 99) * 1e6:.1f} | "
              f"{1 / np.median(t):,.0f} |")
    # the compiled loop itself: one call over the whole stream
    t = np.median([epoch_time(X, y, "adam") for _ in range(3)])
    print(f"| streamlr kernel (one partial_fit over {X.shape[0]} rows) | {t / X.shape[0] * 1e6:.3f} | - | "
          f"{X.shape[0] / t:,.0f} |")
    for name, tt in rows.items():
        if not name.startswith("streamlr"):
            ratio = np.median(tt) / (t / X.shape[0])
            print(f"streamlr kernel vs {name}: {ratio:,.0f}x the per-sample throughput")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--optimizers", default=",".join(OPTIMIZERS),
                    help="comma-separated subset of: " + ",".join(OPTIMIZERS))
    ap.add_argument("--no-peers", action="store_true", help="skip the per-sample part")
    args = ap.parse_args()
    n, d, d_sparse = (20_000, 100, 2**16) if args.quick else (200_000, 100, 2**20)
    cases = [(f"dense {n}x{d}", make_dense(n, d, np.float64)),
             (f"CSR {n}x2^{int(np.log2(d_sparse))} nnz=40", make_csr(n, d_sparse, 40, np.float64))]
    print(f"# streamlr {streamlr.__version__}; median of {args.repeats}")
    part1(cases, args.repeats, args.optimizers.split(","))
    if not args.no_peers:
        part2(*cases[0][1], n_events=2_000 if args.quick else 10_000)


if __name__ == "__main__":
    main()
