"""What a drift detector costs, per update: River's detectors, streamlr's
standalone objects (``update(x)``, one Python call each, and the compiled
batch feeder the loop runs), and a model's detector inside the per-sample
loop (an epoch of ``partial_fit`` with ``drift_detector`` minus one without,
per row; ``learn_one`` with and without).

    python bench/bench_drift.py                 # 200,000 values / rows, 5 repeats
    python bench/bench_drift.py --rows 50000 --repeats 3

Medians over repeats. The in-loop figures run plain SGD and Adam on dense
rows (d = 100) and on hashed CSR rows (2^20 columns, 40 non-zeros), a
binary log-loss classifier with a constant rate and ``on_drift="none"`` (so
that both models learn the same weights and only the detector differs);
the stream's 0/1 errors are those of a model learning it, so ADWIN keeps a
realistic window.
"""
import argparse
import statistics
import time

import numpy as np
from bench_race_cost import csr_data, dense_data
from suite_report import cpu_model

from streamlr import SGDClassifier
from streamlr._kernels import detectors as _det
from streamlr.drift import ADWIN, PageHinkley


def _median_ns(fn, repeats, n):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - t0) / n)
    return statistics.median(times)


def standalone(values, repeats):
    rows = []
    try:
        from river import drift as river_drift
    except ImportError:
        river_drift = None
    pairs = [("ADWIN", ADWIN, getattr(river_drift, "ADWIN", None)),
             ("PageHinkley", PageHinkley, getattr(river_drift, "PageHinkley", None))]
    as_list = values.tolist()
    for name, ours, theirs in pairs:
        def obj_loop(cls=ours):
            det = cls()
            for x in as_list:
                det.update(x)

        def batch(cls=ours):
            _det.update_many(cls()._fresh_state(), values)

        row = {"detector": name,
               "streamlr update()": _median_ns(obj_loop, repeats, len(values)),
               "streamlr compiled": _median_ns(batch, repeats, len(values))}
        if theirs is not None:
            def river_loop(cls=theirs):
                det = cls()
                for x in as_list:
                    det.update(x)
            row["river update()"] = _median_ns(river_loop, repeats, len(values))
        rows.append(row)
    return rows


def in_loop(rows, repeats):
    out = []
    for layout, (X, y) in (("dense", dense_data(rows)), ("csr", csr_data(rows))):
        for opt in ("sgd", "adam"):
            kw = dict(loss="log_loss", optimizer=opt, learning_rate="constant", eta0=1e-3,
                      shuffle=False, on_drift="none")
            for name, det in (("ADWIN", ADWIN), ("PageHinkley", PageHinkley)):
                base, with_det = [], []
                for r in range(repeats):
                    pair = [("base", None), ("det", det())]
                    for which, d in (pair if r % 2 == 0 else pair[::-1]):
                        m = SGDClassifier(**kw, drift_detector=d)
                        m.partial_fit(X[:10], y[:10], classes=[0, 1])
                        t0 = time.perf_counter()
                        m.partial_fit(X[10:], y[10:])
                        (base if which == "base" else with_det).append(time.perf_counter() - t0)
                b, w = statistics.median(base), statistics.median(with_det)
                one = []
                for d in (None, det()):
                    m = SGDClassifier(**kw, drift_detector=d).partial_fit(X[:1000], y[:1000],
                                                                          classes=[0, 1])
                    xs = [X[i] for i in range(1000, 6000)]
                    for x, t in zip(xs[:1000], y[1000:2000], strict=True):
                        m.learn_one(x, t)
                    ts = []
                    for x, t in zip(xs[1000:], y[2000:6000], strict=True):
                        t0 = time.perf_counter_ns()
                        m.learn_one(x, t)
                        ts.append(time.perf_counter_ns() - t0)
                    one.append(statistics.median(ts) / 1000)
                out.append({"input": layout, "optimizer": opt, "detector": name,
                            "epoch s": b, "epoch s (detector)": w,
                            "ns/row added": (w - b) / (X.shape[0] - 10) * 1e9,
                            "epoch ratio": w / b, "learn_one us": one[0],
                            "learn_one us (detector)": one[1]})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_model()}; values/rows: {args.rows}; repeats: {args.repeats} (median)")
    rng = np.random.default_rng(0)
    errors = (rng.random(args.rows) < np.where(np.arange(args.rows) < args.rows // 2, 0.1, 0.3))
    print("\nper update, ns (0/1 errors with one change of rate)")
    print(f"{'detector':<12} {'river update()':>15} {'streamlr update()':>18} {'streamlr compiled':>18}")
    for row in standalone(errors.astype(np.float64), args.repeats):
        print(f"{row['detector']:<12} {row.get('river update()', float('nan')):>15.0f} "
              f"{row['streamlr update()']:>18.0f} {row['streamlr compiled']:>18.1f}")
    print("\nin the loop: one partial_fit epoch without and with the detector")
    print(f"{'input':<6} {'opt':<5} {'detector':<12} {'epoch s':>8} {'with':>8} {'ratio':>6} "
          f"{'ns/row':>7} {'learn_one us':>13} {'with':>6}")
    for row in in_loop(args.rows, args.repeats):
        print(f"{row['input']:<6} {row['optimizer']:<5} {row['detector']:<12} "
              f"{row['epoch s']:>8.3f} {row['epoch s (detector)']:>8.3f} "
              f"{row['epoch ratio']:>6.3f} {row['ns/row added']:>7.1f} "
              f"{row['learn_one us']:>13.2f} {row['learn_one us (detector)']:>6.2f}")


if __name__ == "__main__":
    main()
