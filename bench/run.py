"""streamlr's benchmark suite: every workload against every peer, in one process.

Workloads (seeded, the same arrays for every system):

* ``dense-clf``: 200,000 x 100 standard-normal rows, binary labels, log loss;
* ``dense-reg``: 200,000 x 100, squared error;
* ``csr``: 200,000 rows hashed into 2**20 columns, 40 non-zeros per row, log loss;
* ``latency``: single events, 10,000 consecutive learn calls then 10,000
  predict calls on one model, on the d=100 dense rows and the hashed rows
  (median and p99 per call).

Systems: streamlr and scikit-learn (``partial_fit`` over the whole matrix,
``shuffle=False``), River (``learn_one`` on pre-built dicts), Vowpal Wabbit
(``vowpalwabbit.Workspace``, ``learn`` on pre-parsed examples) and PyTorch (a
batch-size-1 training loop). Slow peers train on the first rows of the stream
only (``--river-rows`` etc.); every throughput is samples/s. Optimizers: plain
SGD and Adam wherever the system has them (scikit-learn and VW have no Adam).
Peers that are not installed are skipped with a note.

For each workload the repeats alternate systems (``for r in repeats: for s in
systems``) together with the floor, one single-threaded ``X @ w`` pass over
the same matrix; reported: median samples/s, streamlr's speed-up over each
system, time per sample over the floor's, and held-out quality (accuracy and
log loss, or R^2).

Rerun:  python -m bench --out-md bench/README.md --out-png docs/bench.png   (full, a few minutes)
        python -m bench --quick                                              (small sizes)
        python -m bench --workloads latency --systems streamlr,river
"""
import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass, replace

import numpy as np
import suite_data
import suite_report
from suite_systems import ALL_SYSTEMS, version_of

WORKLOADS = ("dense-clf", "dense-reg", "csr", "latency")
OPTIMIZERS = ("sgd", "adam")
RERUN = "python -m bench --out-md bench/README.md --out-png docs/bench.png"


@dataclass(frozen=True)
class Scale:
    n: int  # training rows per workload
    n_test: int  # held-out rows
    n_sparse_features: int
    river_rows: int  # rows the slow peers train on
    vw_rows: int
    torch_rows: int
    calls: int  # consecutive single events per latency cell
    budget_s: float  # a latency cell stops early after this long
    peer_budget_s: float  # so does a slow peer's training pass
    repeats: int


SCALES = {
    "full": Scale(200_000, 20_000, 2**20, river_rows=20_000, vw_rows=50_000, torch_rows=10_000,
                  calls=10_000, budget_s=3.0, peer_budget_s=5.0, repeats=5),
    "quick": Scale(20_000, 5_000, 2**20, river_rows=2_000, vw_rows=10_000, torch_rows=1_000,
                   calls=1_000, budget_s=0.5, peer_budget_s=1.0, repeats=3),
    "tiny": Scale(2_000, 500, 2**16, river_rows=300, vw_rows=500, torch_rows=200,
                  calls=100, budget_s=0.05, peer_budget_s=0.2, repeats=1),
}

MAKERS = {
    "dense-clf": lambda s: suite_data.dense_classification(s.n, s.n_test),
    "dense-reg": lambda s: suite_data.dense_regression(s.n, s.n_test),
    "csr": lambda s: suite_data.hashed_csr(s.n, s.n_test, s.n_sparse_features),
}


def floor_seconds(workload):
    """One ``X @ w`` pass over the training matrix (BLAS gemv or scipy's CSR
    product), on one thread like every per-sample kernel here: a multi-threaded
    gemv on a busy machine measures the scheduler, not memory."""
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency
    w = np.full(workload.n_features, 0.5)
    with threadpool_limits(limits=1):
        t0 = time.perf_counter()
        workload.X @ w
        return time.perf_counter() - t0


def quality(workload, predicted):
    from sklearn.metrics import log_loss, r2_score
    predicted = np.asarray(predicted, dtype=np.float64)
    if not np.all(np.isfinite(predicted)):
        return {"accuracy": np.nan, "log_loss": np.nan} if workload.task == "clf" else {"r2": np.nan}
    if workload.task == "clf":
        p = np.clip(predicted, 1e-15, 1 - 1e-15)
        return {"accuracy": float(np.mean((p > 0.5) == workload.y_test)),
                "log_loss": float(log_loss(workload.y_test, p, labels=[0, 1]))}
    return {"r2": float(r2_score(workload.y_test, predicted))}


def warm_up(workload, cells):
    """Train and score every cell once on a few rows, untimed: first calls pay
    for imports, caches and allocations that a stream pays once."""
    small = replace(workload, name=f"{workload.name}/warm-up", X=workload.X[:64], y=workload.y[:64],
                    X_test=workload.X_test[:64], y_test=workload.y_test[:64])
    for system, opt in cells:
        system.train(small, opt)[2]()


def run_throughput(workload, systems, optimizers, repeats, log):
    cells = [(s, opt) for s in systems for opt in optimizers if opt in s.optimizers]
    warm_up(workload, cells)
    for s in systems:
        s.prepared(workload)  # dicts, example strings: built before any timing
    floor, per_sample = [], {cell: [] for cell in cells}
    last = {}
    for r in range(repeats):
        floor.append(floor_seconds(workload) / workload.X.shape[0])
        for cell in cells:
            system, opt = cell
            elapsed, rows, predict = system.train(workload, opt)
            per_sample[cell].append(elapsed / rows)
            last[cell] = rows, predict
        log(f"  {workload.name}: repeat {r + 1}/{repeats} done")
    floor_t = float(np.median(floor))
    rate = {cell: 1.0 / float(np.median(t)) for cell, t in per_sample.items()}
    rows_out = [{"workload": workload.name, "system": "X @ w floor", "optimizer": "-",
                 "rows": workload.X.shape[0], "rate": 1.0 / floor_t, "speedup": None, "x_floor": 1.0}]
    ours = systems[0] if systems[0].key == "streamlr" else None
    for cell in cells:
        system, opt = cell
        rows, predict = last[cell]
        ref = rate.get((ours, opt))
        row = {"workload": workload.name, "system": system.label, "optimizer": opt, "rows": rows,
               "rate": rate[cell], "speedup": None if ref is None else ref / rate[cell],
               "x_floor": (1.0 / rate[cell]) / floor_t}
        row.update(quality(workload, predict()))
        if ours is not None and opt in ours.optimizers and rows < workload.X.shape[0]:
            row["streamlr_same_rows"] = same_rows_quality(workload, ours, opt, rows)
        rows_out.append(row)
    return rows_out


def same_rows_quality(workload, ours, optimizer, rows):
    """streamlr's held-out score (accuracy or R^2) after the same first ``rows``
    rows a subsampled peer trained on, so the peer's quality has a reference."""
    prefix = replace(workload, name=f"{workload.name}/first-{rows}", X=workload.X[:rows],
                     y=workload.y[:rows])
    scores = quality(workload, ours.train(prefix, optimizer)[2]())
    return scores["accuracy" if workload.task == "clf" else "r2"]


def run_latency(streams, systems, optimizers, scale, log):
    rows = []
    for input_name, stream in streams:
        if stream.X.shape[0] < scale.calls + 1:
            raise ValueError(f"--calls {scale.calls} needs more than {stream.X.shape[0]} rows")
        for opt in optimizers:
            ref = {}
            for system in systems:
                if opt not in system.optimizers:
                    continue
                for call, kind, times in system.latency(stream, opt, scale.calls, scale.budget_s):
                    med, p99 = np.median(times) * 1e6, np.percentile(times, 99) * 1e6
                    if system.key == "streamlr":
                        ref[kind] = med
                    base = ref.get(kind)
                    rows.append({"input": input_name, "system": system.label, "optimizer": opt,
                                 "call": call, "kind": kind, "calls": len(times),
                                 "median_us": float(med), "p99_us": float(p99),
                                 "x_streamlr": None if base is None or system.key == "streamlr"
                                 else float(med / base)})
            log(f"  latency: {input_name} {opt} done")
    return rows


def goals(results):
    """Issue 6's targets for streamlr, checked against what this run measured."""
    out = []
    tp = {(r["workload"], r["system"], r["optimizer"]): r for r in results["throughput"]}
    for wl, opt, target in (("dense-clf", "sgd", 2.0), ("dense-reg", "sgd", 2.0), ("csr", "sgd", 1.5)):
        r = tp.get((wl, "streamlr", opt))
        if r and tp.get((wl, "scikit-learn", opt)):
            out.append((f"{wl} one epoch >= {target}x scikit-learn's throughput",
                        f"{r['rate'] / tp[(wl, 'scikit-learn', opt)]['rate']:.2f}x",
                        r["rate"] / tp[(wl, "scikit-learn", opt)]["rate"] >= target))
    for (wl, _, opt), r in sorted(tp.items()):
        if r["system"] == "streamlr":
            limit = 1.5 if opt == "sgd" else 3.0
            out.append((f"{wl} {opt} within {limit}x the X @ w floor", f"{r['x_floor']:.2f}x",
                        r["x_floor"] <= limit))
    limits = {"learn": 3.0, "predict": 2.0, "learn-pf": 30.0}
    for r in results["latency"]:
        if r["system"] != "streamlr":
            continue
        kind = r["kind"]
        if kind == "learn" and r["call"].startswith("partial_fit"):
            # no learn_one yet: the one-row partial_fit meets the partial_fit goal or not
            out.append((f"{r['input']} {r['optimizer']} learn_one <= 3 us median",
                        "no learn_one", False))
            kind = "learn-pf"
        if kind == "predict" and not r["call"].startswith("predict_one"):
            out.append((f"{r['input']} {r['optimizer']} predict_one <= 2 us median",
                        "no predict_one", False))
            continue
        name = {"learn": "learn_one", "predict": "predict_one", "learn-pf": "partial_fit of one row"}[kind]
        out.append((f"{r['input']} {r['optimizer']} {name} <= {limits[kind]:g} us median",
                    f"{r['median_us']:.2f} us (p99 {r['p99_us']:.2f})", r["median_us"] <= limits[kind]))
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help=f"comma-separated subset of {','.join(WORKLOADS)}")
    ap.add_argument("--systems", default=",".join(c.key for c in ALL_SYSTEMS),
                    help="comma-separated subset of " + ",".join(c.key for c in ALL_SYSTEMS))
    ap.add_argument("--optimizers", default=",".join(OPTIMIZERS), help="subset of sgd,adam")
    ap.add_argument("--scale", choices=sorted(SCALES), default="full")
    ap.add_argument("--quick", action="store_const", const="quick", dest="scale",
                    help="same as --scale quick: small sizes, seconds per workload")
    ap.add_argument("--repeats", type=int, help="repeats per workload (default: 5 full, 3 quick)")
    ap.add_argument("--rows", type=int, help="training rows per workload")
    ap.add_argument("--calls", type=int, help="consecutive single events per latency cell")
    ap.add_argument("--budget", type=float, help="seconds after which a latency cell stops early")
    ap.add_argument("--peer-budget", type=float,
                    help="seconds after which a slow peer's training pass stops early")
    for peer in ("river", "vw", "torch"):
        ap.add_argument(f"--{peer}-rows", type=int, help=f"rows {peer} trains on (it is slow)")
    ap.add_argument("--out-md", help="markdown file whose suite section is (re)written")
    ap.add_argument("--out-png", help="bar chart (needs matplotlib)")
    ap.add_argument("--out-json", help="all results as JSON")
    args = ap.parse_args(argv)
    for name, allowed in (("workloads", WORKLOADS), ("optimizers", OPTIMIZERS),
                          ("systems", [c.key for c in ALL_SYSTEMS])):
        chosen = [x for x in getattr(args, name).split(",") if x]
        unknown = sorted(set(chosen) - set(allowed))
        if unknown or not chosen:
            ap.error(f"--{name}: unknown {unknown}, choose from {','.join(allowed)}")
        setattr(args, name, chosen)
    return args


def make_scale(args):
    scale = SCALES[args.scale]
    overrides = {"repeats": args.repeats, "n": args.rows, "calls": args.calls, "budget_s": args.budget,
                 "peer_budget_s": args.peer_budget,
                 "river_rows": args.river_rows, "vw_rows": args.vw_rows, "torch_rows": args.torch_rows}
    return replace(scale, **{k: v for k, v in overrides.items() if v is not None})


def main(argv=None, log=print):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    scale = make_scale(args)
    started = time.perf_counter()

    notes, systems = [], []
    for cls in ALL_SYSTEMS:
        if cls.key not in args.systems:
            continue
        system = cls(scale)
        why = system.unavailable()
        if why:
            notes.append(f"skipped {why}")
            log(f"# skipped {why}")
        else:
            systems.append(system)
    versions = {"Python": platform.python_version(), "numpy": np.__version__,
                "scipy": version_of("scipy")}
    versions.update({s.label: s.version() for s in systems})
    log("# " + suite_report.machine_line(versions))
    for s in systems:
        missing = [o for o in args.optimizers if o not in s.optimizers]
        if missing:
            notes.append(f"{s.label} has no {', '.join(missing)}: those cells are absent.")
        if s.rows_option:
            notes.append(f"{s.label} trains on at most the first {getattr(scale, s.rows_option):,} "
                         f"rows of each stream and for at most {scale.peer_budget_s:g} s (per-sample "
                         f"Python calls); `rows timed` says how many.")
    ours = next((s for s in systems if s.key == "streamlr"), None)
    if ours is not None and not ours.has_single_event():
        notes.append("streamlr has no learn_one/predict_one yet: its single-event rows are "
                     "partial_fit/predict of one row.")
    notes.append("Same settings everywhere: no regularisation, constant step (dense: SGD 0.01, "
                 "Adam 0.001; hashed: SGD 0.1, Adam 0.01), zero initial weights, float64 data "
                 "(VW keeps float32 weights); plain-SGD steps halved for River's and VW's "
                 "(p - y)^2 squared loss. VW: `--sgd --power_t 0`, examples parsed before timing. "
                 "PyTorch: one thread, float64, `SparseAdam`/sparse `SGD` through an "
                 "`EmbeddingBag` on hashed rows. River/VW/PyTorch step the intercept as a weight "
                 "(River always with plain SGD); scikit-learn and streamlr's plain SGD scale "
                 "the intercept step by 0.01 on CSR.")

    data = {}

    def workload(name):
        if name not in data:
            data[name] = MAKERS[name](scale)
        return data[name]

    results = {"scale": args.scale, "repeats": scale.repeats, "versions": versions, "notes": notes,
               "throughput": [], "latency": [], "goals": []}
    for name in args.workloads:
        if name == "latency" or not systems:
            continue
        log(f"# {name}: {workload(name).title}")
        rows = run_throughput(workload(name), systems, args.optimizers, scale.repeats, log)
        results["throughput"] += rows
        log(suite_report.throughput_table(rows))
    if "latency" in args.workloads and systems:
        streams = [("dense d=100", workload("dense-clf")),
                   (f"hashed 2^{int(np.log2(scale.n_sparse_features))}, 40 nnz", workload("csr"))]
        log(f"# latency: {scale.calls:,} consecutive calls per cell (budget {scale.budget_s:g} s)")
        results["latency"] = run_latency(streams, systems, args.optimizers, scale, log)
        log(suite_report.latency_table(results["latency"]))
    results["goals"] = goals(results)
    results["seconds"] = time.perf_counter() - started
    if results["goals"]:
        log(suite_report.goals_lines(results["goals"]))
    for note in notes:
        log(f"# note: {note}")

    if args.out_png and suite_report.bar_chart(results, args.out_png):
        log(f"# wrote {args.out_png}")
    if args.out_md:
        this_run = "python -m bench " + " ".join(argv) if argv else "python -m bench"
        body = suite_report.section_body(results, RERUN, this_run.strip(), args.out_md, args.out_png)
        suite_report.update_markdown(args.out_md, body)
        log(f"# wrote the suite section of {args.out_md}")
    if args.out_json:
        with open(args.out_json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, default=float)
        log(f"# wrote {args.out_json}")
    log(f"# suite took {results['seconds']:.1f} s")
    return results


if __name__ == "__main__":
    main()
