"""This working tree against an older revision of streamlr, side by side.

Builds the older revision (default ``3e220a7``, main before the kernel
refactor) from ``git archive`` into ``build/bench_compare/<commit>/`` (cached:
built once per commit), checks that this tree's extensions are not older
than their Cython sources (``--build`` runs ``python setup.py build_ext
--inplace -q`` here if they are; otherwise it stops and says so), then times
both. Every measurement is a fresh subprocess with ``PYTHONPATH`` set to
the tree under test, so the two versions never share a process; within each
repeat every workload runs once on each tree, the order flipped from one
repeat to the next (old-new, new-old, ...) so machine noise and drift hit both.

Workloads (seeded data from ``suite_data``, identical in every subprocess):

- epochs: one ``partial_fit`` over 200,000 rows (``shuffle=False``) on a
  fresh model, log loss; dense 200,000x100 float64 and CSR 2^20 columns with
  40 non-zeros per row (values 1/sqrt(40), column frequencies falling off as
  1/rank); ``sgd`` is ``SGDClassifier(loss="log_loss", shuffle=False)``
  (scikit-learn's defaults: l2, alpha 1e-4, ``optimal`` rate), ``adam`` adds
  ``optimizer="adam", learning_rate="constant", eta0=1e-3``. Each subprocess
  runs one warm-up epoch and reports the median of the next three (30 with
  ``--quick``).
- latency: median microseconds per call of ``learn_one``, ``predict_one``,
  ``predict_proba_one`` and ``partial_fit`` of a (1, d) row, 20,000 calls each
  after 2,000 warm-up calls, each timed with ``perf_counter_ns``, on an Adam
  model (eta0=1e-3) first fitted on 1,000 rows: dense d=100, and hashed
  1-row CSR matrices (2^20 columns, 40 non-zeros).

The table gives the median over repeats and ``new/old time``: the new tree's
time per sample or per call over the old one's (for epochs, old samples/s
over new samples/s); below 1 is faster. Above 1.05 is flagged WORSE and the
exit status is 1. The last line says whether both trees trained bitwise the
same coefficients.

Rerun:  python bench/bench_compare.py [--rev 3e220a7] [--repeats 5]
        python bench/bench_compare.py --quick        (20,000 rows, ~2 minutes)
        python bench/bench_compare.py --only csr,latency-dense --json /tmp/cmp.json
        python bench/bench_compare.py --new 3e220a7     (the old revision against
                                                         itself: the noise floor)
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "build" / "bench_compare"
WORKLOADS = ("dense-sgd", "dense-adam", "csr-sgd", "csr-adam", "latency-dense", "latency-csr")
CALLS = ("learn_one", "predict_one", "predict_proba_one", "partial_fit(1 row)")
FIT_ROWS, WARM = 1_000, 2_000
WORSE = 1.05


def sizes(quick):
    """(epoch rows, latency calls)."""
    return (20_000, 5_000) if quick else (200_000, 20_000)


def make_model(opt):
    from streamlr import SGDClassifier
    if opt == "sgd":
        return SGDClassifier(loss="log_loss", shuffle=False)  # scikit-learn's defaults
    return SGDClassifier(loss="log_loss", optimizer="adam", learning_rate="constant",
                         eta0=1e-3, shuffle=False)


def make_data(kind, n):
    import suite_data  # bench/ is sys.path[0] in the worker
    w = suite_data.hashed_csr(n, 0) if kind == "csr" else suite_data.dense_classification(n, 0)
    return w.X, w.y


def digest(clf):
    return hashlib.sha1(clf.coef_.tobytes() + clf.intercept_.tobytes()).hexdigest()[:12]


def work_epoch(kind, opt, n):
    X, y = make_data(kind, n)
    times = []
    for _ in range(1 + max(3, 600_000 // n)):  # the first is a warm-up
        clf = make_model(opt)
        t0 = time.perf_counter()
        clf.partial_fit(X, y, classes=[0, 1])
        times.append(time.perf_counter() - t0)
    return {f"{kind} {opt} epoch": float(np.median(times[1:]))}, digest(clf)


def work_latency(kind, calls):
    import scipy.sparse as sp
    X, y = make_data(kind, FIT_ROWS + WARM + calls)
    clf = make_model("adam")
    clf.partial_fit(X[:FIT_ROWS], y[:FIT_ROWS], classes=[0, 1])
    idx = range(FIT_ROWS, X.shape[0])
    if kind == "csr":  # one 1-row CSR matrix per event, built before timing
        p = X.indptr
        one = rows = [sp.csr_matrix((X.data[p[i]:p[i + 1]], X.indices[p[i]:p[i + 1]],
                                     np.array([0, p[i + 1] - p[i]], dtype=p.dtype)),
                                    shape=(1, X.shape[1])) for i in idx]
    else:
        one, rows = [X[i] for i in idx], [X[i:i + 1] for i in idx]
    labels, ys = [int(y[i]) for i in idx], [y[i:i + 1] for i in idx]
    args = {"learn_one": (clf.learn_one, list(zip(one, labels, strict=True))),
            "predict_one": (clf.predict_one, [(x,) for x in one]),
            "predict_proba_one": (clf.predict_proba_one, [(x,) for x in one]),
            "partial_fit(1 row)": (clf.partial_fit, list(zip(rows, ys, strict=True)))}
    clock = time.perf_counter_ns
    out = {}
    for name in CALLS:
        fn, events = args[name]
        ts = np.empty(len(events), dtype=np.int64)
        for i, a in enumerate(events):
            t0 = clock()
            fn(*a)
            ts[i] = clock() - t0
        out[f"{kind} {name}"] = float(np.median(ts[WARM:])) / 1e3
    return out, digest(clf)


def worker(args):
    import streamlr
    tree = Path(args.tree).resolve()
    if not Path(streamlr.__file__).resolve().is_relative_to(tree):
        sys.exit(f"worker imported {streamlr.__file__}, expected a module under {tree}")
    n, calls = sizes(args.quick)
    if args.worker.startswith("latency-"):
        figures, dig = work_latency(args.worker.split("-")[1], calls)
    else:
        figures, dig = work_epoch(*args.worker.split("-"), n)
    print(json.dumps({"figures": figures, "digest": dig}))


def run(cmd, cwd, what):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if p.returncode:
        sys.exit(f"{what} failed (exit {p.returncode}) in {cwd}:\n$ {shlex.join(cmd)}\n"
                 f"{(p.stderr or p.stdout)[-4000:]}")
    return p.stdout


def build_old(rev):
    """Extract and build ``rev`` once into the cache; return (commit, tree)."""
    sha = run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], ROOT, "git rev-parse").strip()
    tree = CACHE / sha[:12]
    if (tree / ".built").exists():
        return sha, tree
    print(f"# building {rev} ({sha[:12]}) in {tree} ...", file=sys.stderr, flush=True)
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    git = subprocess.Popen(["git", "archive", sha], cwd=ROOT, stdout=subprocess.PIPE)
    tar = subprocess.run(["tar", "-x", "-C", str(tree)], stdin=git.stdout, check=False)
    if git.wait() or tar.returncode:
        sys.exit(f"git archive {sha} | tar -x -C {tree} failed")
    run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], tree, f"building {rev}")
    (tree / ".built").write_text(sha + "\n")
    return sha, tree


def stale_extensions():
    """This tree's .pyx modules whose in-place .so is missing or older than a source."""
    from Cython.Build.Dependencies import create_dependency_tree
    deps, cwd, out = create_dependency_tree(), os.getcwd(), []
    os.chdir(ROOT)  # the tree's paths are relative to the project root
    try:
        for pyx in sorted(Path("streamlr").rglob("*.pyx")):
            so = pyx.with_suffix(sysconfig.get_config_var("EXT_SUFFIX"))
            newest = max(os.path.getmtime(d) for d in deps.all_dependencies(str(pyx))
                         if not os.path.isabs(d))
            if not so.exists() or so.stat().st_mtime < newest:
                out.append(str(pyx))
    finally:
        os.chdir(cwd)
    return out


def measure(tree, workload, quick):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", workload,
           "--tree", str(tree)] + (["--quick"] if quick else [])
    env = dict(os.environ, PYTHONPATH=str(tree))
    p = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if p.returncode:
        sys.exit(f"{workload} on {tree} failed:\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def label(key, n):
    kind, rest = key.split(" ", 1)
    data = {"dense": f"dense {n:,}x100", "csr": f"CSR {n:,}x2^20, 40 nnz"}[kind]
    if rest.endswith(" epoch"):
        return f"epoch {data}, {rest[:-6]} (samples/s)"
    return f"{rest}, {'dense d=100' if kind == 'dense' else 'CSR 2^20, 40 nnz'}, adam (us/call)"


def report(res, digests, args, n, meta):
    lines = [(f"Measured {meta['date']}, {meta['cpu']} ({os.cpu_count()} cores), load "
              f"{meta['load']}; Python {platform.python_version()}, numpy {np.__version__}. "
              f"Old: `{meta['old']}`; new: {meta['new']}. Median of "
              f"{args.repeats} repeats, old and new alternating; {meta['seconds']:.0f} s in all."),
             "", f"Rerun: `{meta['command']}`", "",
             "| figure | old | new | new/old time | paired range | verdict |",
             "|---|---:|---:|---:|---:|---|"]
    worse = []
    for key, r in res.items():
        old, new = np.median(r["old"]), np.median(r["new"])
        pairs = [a / b for a, b in zip(r["new"], r["old"], strict=True)]
        ratio = new / old
        if key.endswith(" epoch"):
            old, new = n / old, n / new
        r.update(old_median=float(old), new_median=float(new), ratio=float(ratio))
        verdict = ("faster" if ratio < 2 - WORSE else "within 5%" if ratio <= WORSE
                   else "**WORSE**" if min(pairs) > 1 else "**WORSE** (not in every repeat)")
        worse += [key] if ratio > WORSE else []
        fmt = "{:,.0f}" if key.endswith(" epoch") else "{:.2f}"
        lines.append(f"| {label(key, n)} | {fmt.format(old)} | {fmt.format(new)} | {ratio:.3f} | "
                     f"{min(pairs):.2f}-{max(pairs):.2f} | {verdict} |")
    same = [w for w, d in digests.items() if set(d["old"]) == set(d["new"]) and len(set(d["old"])) == 1]
    lines += ["", ("`new/old time`: new time per sample (epochs) or per call over old, median "
                   "of repeats; < 1 is faster, > 1.05 is flagged WORSE. `paired range`: the same "
                   "ratio within each repeat, min-max (the noise; a real slow-down is > 1 in "
                   "every repeat)."),
              f"Final coefficients bitwise equal old vs new: {', '.join(same) or 'none'}"
              + "".join(f"; differ: {w}" for w in digests if w not in same) + "."]
    return "\n".join(lines), worse


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="3e220a7", help="the old revision (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="20,000 rows, 5,000 calls")
    ap.add_argument("--only", help=f"comma-separated workloads or prefixes of {','.join(WORKLOADS)}")
    ap.add_argument("--new", metavar="REV",
                    help="time this revision (built like --rev) instead of the working tree")
    ap.add_argument("--build", action="store_true",
                    help="run build_ext --inplace in this tree if its extensions are stale")
    ap.add_argument("--out-md", help="also write the table to this file")
    ap.add_argument("--json", help="write the raw numbers to this file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--tree", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    picked = [w for w in WORKLOADS
              if not args.only or any(w.startswith(t.strip()) for t in args.only.split(","))]
    if not picked:
        sys.exit(f"--only {args.only!r} matches none of {', '.join(WORKLOADS)}")
    start = time.perf_counter()
    sha, old_tree = build_old(args.rev)
    if args.new:  # another revision instead of this tree (--new REV --rev REV: noise check)
        new_sha, new_tree = build_old(args.new)
        new = f"`{args.new} = {new_sha[:12]}`"
    else:
        stale = stale_extensions()
        if stale and args.build:
            run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], ROOT, "building this tree")
        elif stale:
            sys.exit(f"this tree's extensions are older than their sources ({', '.join(stale)}): "
                     "run `python setup.py build_ext --inplace -q` first, or pass --build")
        head = run(["git", "rev-parse", "--short=12", "HEAD"], ROOT, "git").strip()
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no"], ROOT, "git").strip()
        new_tree, new = ROOT, f"this working tree (HEAD {head}{', modified' if dirty else ''})"
    trees = {"old": old_tree, "new": new_tree}
    res, digests = {}, {w: {"old": [], "new": []} for w in picked}
    for r in range(args.repeats):
        for w in picked:
            for side in (("old", "new") if r % 2 == 0 else ("new", "old")):
                out = measure(trees[side], w, args.quick)
                digests[w][side].append(out["digest"])
                for key, v in out["figures"].items():
                    res.setdefault(key, {"old": [], "new": []})[side].append(v)
        print(f"# repeat {r + 1}/{args.repeats} done, {time.perf_counter() - start:.0f} s",
              file=sys.stderr, flush=True)
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f
                    if line.startswith("model name")), platform.processor() or platform.machine())
    meta = {"date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), "cpu": cpu,
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "old": f"{args.rev} = {sha[:12]}",
            "new": new,
            "seconds": time.perf_counter() - start,
            "command": " ".join(["python bench/bench_compare.py", shlex.join(sys.argv[1:])]).strip()}
    n = sizes(args.quick)[0]
    text, worse = report(res, digests, args, n, meta)
    print(text)
    if args.out_md:
        Path(args.out_md).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": n, "figures": res,
                                               "digests": digests}, indent=1) + "\n")
    sys.exit(1 if worse else 0)


if __name__ == "__main__":
    main()
