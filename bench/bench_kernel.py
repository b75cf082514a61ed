"""One epoch of the compiled loop, this build against another build of it.

```bash
python bench/bench_kernel.py                       # this build only, with the X @ w floor
python bench/bench_kernel.py --old /tmp/oldbuild   # ... alternating with an older build
```

The workloads of the suite (``python -m bench``): dense 200,000 x 100 and
hashed CSR 200,000 x 2^20 with 40 non-zeros, log loss, no penalty, constant
rate, one ``partial_fit`` on a fresh model (as the suite times it). Each
repeat runs the floor (one single-threaded ``X @ w``), then every
(kernel, optimizer) cell, in an order that alternates between repeats, so
machine noise hits all of them; medians are reported.

``--old DIR``: DIR holds a package ``streamlr_old`` whose ``_kernels`` is an
older copy of ``streamlr/_kernels`` with its module paths renamed, built in
place (see the kernel section of bench/README.md for the recipe). The
estimators are the current ones; only the compiled module and its losses are
swapped, so the comparison is kernel against kernel. The coefficients of both
builds must agree bit for bit, which is checked.
"""
import argparse
import importlib
import sys
import time
from pathlib import Path

import numpy as np

# the in-place build of this checkout (python setup.py build_ext --inplace),
# not an installed copy
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import suite_data  # noqa: E402

from streamlr.linear_model import _sgd  # noqa: E402


def _kernel_modules(package):
    kern = importlib.import_module(f"{package}._kernels")
    losses = importlib.import_module(f"{package}._kernels.losses")
    return kern.kernel, losses.make_loss


def fit_once(workload, optimizer, kernel):
    """Seconds for one partial_fit over the workload with ``kernel``; the model."""
    _sgd._k, _sgd.make_loss = kernel
    kwargs = {"penalty": None, "learning_rate": "constant", "eta0": workload.lr[optimizer],
              "shuffle": False, "tol": None}
    if optimizer != "sgd":
        kwargs["optimizer"] = optimizer
    from streamlr import SGDClassifier
    est = SGDClassifier(loss="log_loss", **kwargs)
    t0 = time.perf_counter()
    est.partial_fit(workload.X, workload.y, classes=np.array([0, 1]))
    return time.perf_counter() - t0, est


def floor_once(workload):
    from threadpoolctl import threadpool_limits
    w = np.full(workload.n_features, 0.5)
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        workload.X @ w
        return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", help="directory holding the streamlr_old package to compare with")
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--workloads", default="csr,dense")
    ap.add_argument("--csr-features", type=int, default=2**20,
                    help="columns of the hashed workload (2**10: the weights stay in L1, "
                         "which isolates the compute from the memory traffic)")
    ap.add_argument("--optimizers", default="sgd,adam")
    args = ap.parse_args(argv)

    kernels = {"new": _kernel_modules("streamlr")}
    if args.old:
        sys.path.insert(0, args.old)
        kernels = {"old": _kernel_modules("streamlr_old"), **kernels}
    saved = (_sgd._k, _sgd.make_loss)
    makers = {"csr": lambda: suite_data.hashed_csr(args.n, 10, args.csr_features),
              "dense": lambda: suite_data.dense_classification(args.n, 10)}
    print(f"kernel modules: {', '.join(f'{k}={v[0].__name__}' for k, v in kernels.items())}")
    print(f"median of {args.repeats}, n={args.n:,}")
    print(f"{'workload':8} {'optimizer':9} {'kernel':6} {'samples/s':>12} {'x floor':>8} {'x old':>7}")
    try:
        for wl_name in args.workloads.split(","):
            wl = makers[wl_name]()
            cells = [(opt, k) for opt in args.optimizers.split(",") for k in kernels]
            for cell in cells:  # warm-up: imports, page faults of first allocations
                fit_once(wl, cell[0], kernels[cell[1]])
            times = {cell: [] for cell in cells}
            floor = []
            models = {}
            for rep in range(args.repeats):
                floor.append(floor_once(wl))
                for cell in (cells if rep % 2 == 0 else cells[::-1]):
                    dt, est = fit_once(wl, cell[0], kernels[cell[1]])
                    times[cell].append(dt)
                    models[cell] = est
            f = float(np.median(floor))
            for opt in args.optimizers.split(","):
                for k in kernels:
                    t = float(np.median(times[(opt, k)]))
                    ratio = ""
                    if "old" in kernels and k != "old":
                        ratio = f"{t / float(np.median(times[(opt, 'old')])):.3f}"
                    print(f"{wl_name:8} {opt:9} {k:6} {args.n / t:12,.0f} {t / f:8.2f} {ratio:>7}")
                if "old" in kernels:
                    a, b = models[(opt, "old")], models[(opt, "new")]
                    same = (np.array_equal(a.coef_, b.coef_)
                            and np.array_equal(a.intercept_, b.intercept_))
                    print(f"{'':8} {opt:9} coefficients old == new bitwise: {same}")
            print(f"{wl_name:8} floor: {args.n / f:,.0f} rows/s")
    finally:
        _sgd._k, _sgd.make_loss = saved


if __name__ == "__main__":
    main()
