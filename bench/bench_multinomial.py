"""One epoch of the softmax model (``multi_class="multinomial"``) against one
epoch of one-vs-rest, on dense 200k x 100 and CSR 200k x 2^20 (40 non-zeros
per row), K = 5 classes drawn from a softmax of a random linear model:
time (``partial_fit`` of the whole array, median of repeats) and the log
loss of ``predict_proba`` on the same rows, side by side, for plain SGD and
Adam. The CPU model is printed with the figures (issue #18 item 5: a
multinomial epoch should cost no more than one-vs-rest's).

    python bench/bench_multinomial.py [--repeats 3] [--rows 200000]
    python bench/bench_multinomial.py --races   # the softmax's rate races, dense

``--races`` times one epoch of the dense softmax model with Adam at a
constant rate against ``learning_rate="auto"`` (Adam) and
``optimizer="auto"`` (a new model each: the first pass).

Measured 2026-12-07 on an Intel(R) Xeon(R) Processor (2 shared cores, busy),
median of 3, seconds per epoch, one-vs-rest / softmax (log loss after the
epoch, one-vs-rest / softmax): dense SGD 1.36 / 0.41 (0.755 / 0.746), dense
Adam 1.32 / 0.85 (0.909 / 1.122), CSR SGD 2.31 / 1.97 (1.361 / 1.293), CSR
Adam 4.48 / 3.61 (0.339 / 0.227). The softmax reads each row once for its K
class rows (one-vs-rest reads it K times) and prefetches the next CSR rows'
weights of every class row.
"""
import argparse
import time

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import log_loss
from suite_report import cpu_model

from streamlr import SGDClassifier


def data(kind, n, K, seed=0):
    rng = np.random.RandomState(seed)
    if kind == "dense":
        d = 100
        X = rng.randn(n, d)
        W = rng.randn(K, d) / np.sqrt(d) * 3
        P = X @ W.T
    else:
        d, nnz = 1 << 20, 40
        cols = rng.randint(0, d, size=(n, nnz)).astype(np.int32)
        cols.sort(axis=1)
        vals = rng.randn(n, nnz)
        X = sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, n * nnz + 1, nnz)),
                          shape=(n, d))
        X.sum_duplicates()
        W = rng.randn(K, d) / np.sqrt(nnz) * 3
        P = np.asarray(X @ W.T)
    y = np.argmax(P + rng.gumbel(size=P.shape), axis=1)
    return X, y


def one_epoch(X, y, multi_class, optimizer, repeats):
    times, est = [], None
    classes = np.unique(y)
    for _ in range(repeats):
        est = SGDClassifier(loss="log_loss", multi_class=multi_class, optimizer=optimizer,
                            learning_rate="constant", eta0=0.01, alpha=1e-5)
        t0 = time.perf_counter()
        est.partial_fit(X, y, classes=classes)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), log_loss(y, est.predict_proba(X), labels=classes)


def race_epochs(X, y, repeats):
    """Seconds of one epoch (a new model, median of repeats): the softmax
    with Adam at one rate, and its two races."""
    classes = np.unique(y)
    makers = {
        "adam 0.01": lambda: SGDClassifier(loss="log_loss", multi_class="multinomial",
                                           optimizer="adam", learning_rate="constant",
                                           eta0=0.01, alpha=1e-5),
        'learning_rate="auto"': lambda: SGDClassifier(loss="log_loss", multi_class="multinomial",
                                                      optimizer="adam", learning_rate="auto",
                                                      alpha=1e-5),
        'optimizer="auto"': lambda: SGDClassifier(loss="log_loss", multi_class="multinomial",
                                                  optimizer="auto", alpha=1e-5),
    }
    times = {name: [] for name in makers}
    for _ in range(repeats):
        for name, make in makers.items():
            est = make()
            t0 = time.perf_counter()
            est.partial_fit(X, y, classes=classes)
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--races", action="store_true",
                    help="time the softmax's rate races (dense) instead")
    args = ap.parse_args(argv)
    print(f"CPU: {cpu_model()}; {args.rows} rows, K = {args.classes}, median of {args.repeats}")
    if args.races:
        X, y = data("dense", args.rows, args.classes)
        seconds = race_epochs(X, y, args.repeats)
        one = seconds["adam 0.01"]
        for name, sec in seconds.items():
            print(f"dense softmax, {name:22} {sec:7.3f} s  {sec / one:5.2f}x", flush=True)
        return
    print(f"{'input':6} {'optimizer':9} {'ovr s':>8} {'softmax s':>10} {'ratio':>6} "
          f"{'ovr logloss':>12} {'softmax logloss':>16}")
    for kind in ("dense", "csr"):
        X, y = data(kind, args.rows, args.classes)
        for opt in ("sgd", "adam"):
            t_ovr, l_ovr = one_epoch(X, y, "ovr", opt, args.repeats)
            t_mn, l_mn = one_epoch(X, y, "multinomial", opt, args.repeats)
            print(f"{kind:6} {opt:9} {t_ovr:8.3f} {t_mn:10.3f} {t_mn / t_ovr:6.2f} "
                  f"{l_ovr:12.4f} {l_mn:16.4f}", flush=True)


if __name__ == "__main__":
    main()
