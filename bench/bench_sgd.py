"""One epoch of plain SGD: streamlr vs scikit-learn vs the ``X @ w`` floor, in one process.

Two tables, never mixed (issue #20 item 0):

* scikit-learn's DEFAULT settings (``SGDClassifier(loss=..., shuffle=False)``:
  L2 penalty, alpha 1e-4, ``learning_rate="optimal"``), one ``partial_fit``
  over 200,000 rows: dense 100 features float64 and float32, CSR 2^20
  columns with 40 non-zeros per row;
* streamlr's own workloads (those of ``python -m bench``: ``suite_data``'s
  dense-clf and hashed csr, log loss, no penalty, constant rate; plain SGD
  against scikit-learn with the same settings, and Adam).

Each case trains a fresh model with one ``partial_fit`` call over the whole
matrix (one epoch, ``shuffle=False``; the time covers input validation and
training), alternating scikit-learn, streamlr and the floor (one
single-threaded ``X @ w`` pass over the same matrix: BLAS gemv, or scipy's
CSR product), and reports the median wall time over ``--repeats`` runs, the
throughput in samples/s, the ratio scikit-learn time / streamlr time and each
system's time over the floor's. "max |coef diff|" compares the two fitted
models. The CPU model is printed with the tables.

Rerun:  python bench/bench_sgd.py            (full size, a few minutes)
        python bench/bench_sgd.py --quick    (small sizes, seconds)
        python bench/bench_sgd.py --tables defaults --losses log_loss
        python bench/bench_sgd.py --clock cpu   (CPU time: for a loaded machine)
"""
import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn
import sklearn.linear_model as skl
from threadpoolctl import threadpool_limits

import streamlr

sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite_data  # noqa: E402
from suite_report import cpu_model  # noqa: E402


def make_dense(n, d, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (X[:, : d // 2].sum(axis=1) + rng.standard_normal(n) > 0).astype(int)
    return X, y


def make_csr(n, d, nnz_per_row, dtype, seed=0):
    rng = np.random.default_rng(seed)
    indices = np.sort(rng.integers(0, d, size=(n, nnz_per_row)), axis=1)
    # drop duplicate columns within a row by nudging them (keeps nnz fixed)
    indices = (indices + np.arange(nnz_per_row)) % d
    indices.sort(axis=1)
    data = rng.standard_normal(n * nnz_per_row).astype(dtype)
    indptr = np.arange(0, n * nnz_per_row + 1, nnz_per_row)
    X = sp.csr_matrix((data, indices.ravel().astype(np.int32), indptr.astype(np.int32)),
                      shape=(n, d))
    y = (rng.standard_normal(n) > 0).astype(int)
    return X, y


# the clock of every timing: wall time, or (--clock cpu) the process's CPU
# time, which descheduling on a loaded machine does not inflate (every
# system timed here runs on one thread)
CLOCK = [time.perf_counter]


def one_epoch(cls, X, y, kwargs):
    model = cls(shuffle=False, tol=None, **kwargs)
    start = CLOCK[0]()
    model.partial_fit(X, y, classes=np.array([0, 1]))
    return CLOCK[0]() - start, model


def floor_once(X, w):
    """Seconds of one single-threaded ``X @ w`` pass (scipy's CSR product on CSR)."""
    with threadpool_limits(1):
        start = CLOCK[0]()
        X @ w
        return CLOCK[0]() - start


def run_case(name, X, y, systems, repeats):
    """``systems``: (label, class, kwargs); all alternate with the floor."""
    times = {label: [] for label, _, _ in systems}
    times["floor"] = []
    models = {}
    w = np.random.default_rng(0).standard_normal(X.shape[1]).astype(X.dtype)
    for rep in range(repeats):  # alternate (order flipped each repeat) so that noise hits all
        order = list(systems) + [None]
        for item in (order if rep % 2 == 0 else order[::-1]):
            if item is None:
                times["floor"].append(floor_once(X, w))
                continue
            label, cls, kwargs = item
            dt, models[label] = one_epoch(cls, X, y, kwargs)
            times[label].append(dt)
    n = X.shape[0]
    med = {k: float(np.median(v)) for k, v in times.items()}
    ref = models.get("scikit-learn sgd")
    for label, _, _ in systems:
        vs = med["scikit-learn sgd"] / med[label] if ref is not None else float("nan")
        diff = (np.max(np.abs(ref.coef_ - models[label].coef_))
                if ref is not None and label.endswith("sgd") and label != "scikit-learn sgd"
                else float("nan"))
        print(f"| {name} | {label} | {n / med[label]:,.0f} | "
              f"{'-' if label.startswith('scikit') else f'{vs:.2f}x'} | "
              f"{med[label] / med['floor']:.2f} | {'-' if np.isnan(diff) else f'{diff:.1e}'} |",
              flush=True)
    print(f"| {name} | X @ w floor | {n / med['floor']:,.0f} | - | 1.00 | - |", flush=True)
    return med


HEADER = ("| case | system | samples/s | streamlr is | x floor time | max abs coef diff |\n"
          "|---|---|---:|---:|---:|---:|")


def defaults_table(n, d, d_sparse, losses, repeats):
    print("\n### scikit-learn's default settings (L2, alpha 1e-4, optimal rate), one partial_fit\n")
    print(HEADER)
    cases = [
        (f"dense {n:,}x{d} float64", make_dense(n, d, np.float64)),
        (f"dense {n:,}x{d} float32", make_dense(n, d, np.float32)),
        (f"CSR {n:,}x2^{int(np.log2(d_sparse))}, 40 nnz/row", make_csr(n, d_sparse, 40, np.float64)),
    ]
    for name, (X, y) in cases:
        for loss in losses:
            run_case(f"{name} {loss}", X, y,
                     [("scikit-learn sgd", skl.SGDClassifier, {"loss": loss}),
                      ("streamlr sgd", streamlr.SGDClassifier, {"loss": loss})], repeats)


def own_table(n, repeats, quick):
    print("\n### streamlr's own workloads (python -m bench: log loss, no penalty, constant rate)\n")
    print(HEADER)
    for wl in (suite_data.dense_classification(n, 0),
               suite_data.hashed_csr(n, 0, n_features=2**16 if quick else 2**20)):
        base = {"loss": "log_loss", "penalty": None, "learning_rate": "constant"}
        run_case(wl.title.replace(" log_loss", ""), wl.X, wl.y,
                 [("scikit-learn sgd", skl.SGDClassifier, dict(base, eta0=wl.lr["sgd"])),
                  ("streamlr sgd", streamlr.SGDClassifier, dict(base, eta0=wl.lr["sgd"])),
                  ("streamlr adam", streamlr.SGDClassifier,
                   dict(base, eta0=wl.lr["adam"], optimizer="adam"))], repeats)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--tables", default="defaults,own", help="defaults, own or both (comma)")
    ap.add_argument("--losses", default="log_loss,hinge",
                    help="losses of the defaults table (issue #20's figures: log_loss; "
                         "hinge is SGDClassifier's default loss)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time with perf_counter (wall) or process_time (CPU time: steadier "
                         "on a loaded machine)")
    args = ap.parse_args()
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    n, d, d_sparse = (20_000, 100, 2**16) if args.quick else (200_000, 100, 2**20)
    print(f"CPU: {cpu_model()}; streamlr {streamlr.__version__}, scikit-learn {sklearn.__version__}, "
          f"numpy {np.__version__}, {platform.machine()}; median of {args.repeats}, systems and "
          f"floor alternating; {args.clock} time")
    tables = args.tables.split(",")
    if "defaults" in tables:
        defaults_table(n, d, d_sparse, args.losses.split(","), args.repeats)
    if "own" in tables:
        own_table(n, args.repeats, args.quick)
    print("\n`streamlr is`: scikit-learn's time over this system's (same case); `x floor time`: "
          "time over one X @ w pass over the same matrix.")


if __name__ == "__main__":
    main()
