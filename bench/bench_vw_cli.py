"""``streamlr train`` against Vowpal Wabbit's own driver on a VW text file (issue #17).

One generated file: ``--rows`` rows (default 200,000) of 40 hashed string
features in two namespaces (``|u`` and ``|i``, 20 each, 1,000 values per
field), labels -1/1 from a logistic model over the features. Whole process,
one pass, logistic loss, 18 bits, as a user runs them:

- ``streamlr train FILE --optimizer vw --penalty none`` (VW's default update:
  adaptive, normalized, importance-invariant, rate 0.5; no regularisation,
  as VW) against ``python -m vowpalwabbit -d FILE --loss_function logistic
  -b 18`` (VW's own driver, from the vowpalwabbit package: no ``vw`` binary
  ships with it);
- the same with ``-q ui`` (400 more features a row: VW crosses them on the
  fly, and so does streamlr since issue #17 item 3: the reader keeps each
  value's namespace and the learning loop crosses each row right before it
  uses it, never a wider matrix; such runs learn through the estimator, so
  they import scikit-learn and SciPy);
- the readers' parse rate alone (``read_vw`` in this process, no learning;
  with ``-q ui``: ``read_vw``, which crosses at read time, and the command
  line's reader, which leaves the crosses to the loop);
- the start-up floor: ``python -c "import streamlr.cli"`` (what ``streamlr
  train`` imports: NumPy, the compiled kernels and the standard library;
  it learns through the headless learner, without scikit-learn, SciPy or
  pandas) against ``python -c "import vowpalwabbit"``, and, for scale,
  ``python -c "from streamlr import SGDClassifier"`` (the estimators bring
  scikit-learn and SciPy);
- ``learn_one``/``predict_one`` of a 40-feature dict event on a
  ``hash_bits=18`` model (the hashing in compiled code), against
  ``learn_one`` of the same event as a 1-row CSR matrix; the same for a
  namespaced event crossed by ``interactions=["ui"]`` (the crossing in
  compiled code, per event) against its 440 features as a 1-row CSR matrix.

streamlr's modules are byte-compiled first (``compileall``), as an
installed package's are (vowpalwabbit's are): with
``PYTHONDONTWRITEBYTECODE`` set, every run would otherwise compile them.
Both drivers print their progress tables (neither ``--quiet``). Runs
alternate between the systems; the table reports the median of
``--repeats``, wall clock and CPU time (user + system, all threads: on a
loaded machine the scheduler's share decides the wall clock, the CPU time
what each run costs). Final progressive losses are read from each driver's
summary.

    python bench/bench_vw_cli.py                  # 200,000 rows, 5 repeats
    python bench/bench_vw_cli.py --rows 2000000 --repeats 3 --no-q
    python bench/bench_vw_cli.py --keep /tmp/b.vw --q-only        # then, same file:
    python bench/bench_vw_cli.py --keep /tmp/b.vw --reuse --q-only
"""
import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this streamlr
from suite_report import cpu_model  # noqa: E402


def make_file(path, rows, seed=0, fields=20, card=1000):
    rng = np.random.default_rng(seed)
    wu = rng.normal(size=(fields, card)) * 0.3
    wi = rng.normal(size=(fields, card)) * 0.3
    cols = np.arange(fields)
    with open(path, "w") as f:
        for start in range(0, rows, 10_000):
            n = min(10_000, rows - start)
            U = rng.integers(0, card, size=(n, fields))
            items = rng.integers(0, card, size=(n, fields))
            s = wu[cols, U].sum(1) + wi[cols, items].sum(1)
            y = np.where(rng.random(n) < 1 / (1 + np.exp(-s)), 1, -1)
            f.writelines(
                f"{y[r]} |u {' '.join(f'u{j}_{U[r, j]}' for j in range(fields))}"
                f" |i {' '.join(f'i{j}_{items[r, j]}' for j in range(fields))}\n"
                for r in range(n))


def _env():
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cpu_children():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _run(cmd):
    """(wall seconds, final progressive loss, CPU seconds) of one run."""
    c, t = _cpu_children(), time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=_env(), check=True)
    dt = time.perf_counter() - t
    cpu = _cpu_children() - c
    m = re.search(r"average loss\s*=\s*([0-9.eE+-]+)", res.stdout + res.stderr)
    return dt, float(m.group(1)) if m else float("nan"), cpu


def systems(path, q):
    inter = ["-q", "ui"] if q else []
    return {
        "streamlr train": [sys.executable, "-m", "streamlr", "train", str(path), "--optimizer",
                           "vw", "--penalty", "none", *inter],
        # VW's own precision: float32 values, weights and state
        "streamlr train --dtype float32": [
            sys.executable, "-m", "streamlr", "train", str(path), "--optimizer", "vw", "--penalty",
            "none", "--dtype", "float32", *inter],
        "VW driver": [sys.executable, "-m", "vowpalwabbit", "-d", str(path), "--loss_function",
                      "logistic", "-b", "18", *inter],
    }


def parse_rate(path, repeats, interactions=(), later=False):
    from streamlr.io import DataFormat, open_stream, read_vw

    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        n = 0
        if later:   # the command line's reader: the crosses left to the loop
            for chunk in open_stream(path, DataFormat("vw", hash_bits=18,
                                                      interactions=interactions), 65536):
                n += len(chunk)
        else:
            for X, _y, _w in read_vw(path, 18, interactions=interactions):
                n += X.shape[0]
        times.append(time.perf_counter() - t)
    return n, statistics.median(times)


def event_latency(repeats, n=20_000):
    """Median learn_one / predict_one time of 40-feature dict events (20 string,
    20 numeric) on a hash_bits=18 model, and learn_one of the same rows as
    1-row CSR matrices (no hashing); then namespaced events (20 features in
    ``u``, 20 in ``i``) crossed by ``interactions=["ui"]`` (440 features a
    row), against learn_one of the same crossed rows as 1-row CSR matrices."""
    import scipy.sparse as sp

    from streamlr import SGDClassifier
    from streamlr._kernels._hashing import EventHasher

    rng = np.random.default_rng(1)
    flat = [{**{f"c{j}": f"v{rng.integers(0, 1000)}" for j in range(20)},
             **{f"n{j}": float(rng.normal()) for j in range(20)}} for _ in range(n)]
    spaced = [{"u": {f"u{j}": f"v{rng.integers(0, 1000)}" for j in range(20)},
               "i": {f"i{j}": f"v{rng.integers(0, 1000)}" for j in range(20)}} for _ in range(n)]
    y = rng.integers(0, 2, size=n)

    def as_csr(events, interactions):
        hasher = EventHasher(18, [s.encode() for s in interactions])
        rows = []
        for e in events:
            d, i = hasher.hash_one(e)
            rows.append(sp.csr_matrix((d, i, np.array([0, len(d)], dtype=np.intc)),
                                      shape=(1, 1 << 18)))
        return rows

    flat_csr = as_csr(flat, ())
    cases = {"learn_one dict": (flat, (), "adam"), "predict_one dict": (flat, (), "adam"),
             "learn_one 1-row CSR": (flat_csr, (), "adam"),
             "learn_one dict, plain SGD": (flat, (), "sgd"),
             "learn_one 1-row CSR, plain SGD": (flat_csr, (), "sgd"),
             "learn_one dict, interactions=['ui'] (440 features)": (spaced, ("ui",), "adam"),
             "predict_one dict, interactions=['ui']": (spaced, ("ui",), "adam"),
             "learn_one 1-row CSR of the same 440 features": (as_csr(spaced, ("ui",)), (), "adam")}
    out = {}
    for name, (xs, inter, optimizer) in cases.items():
        per = []
        for _ in range(repeats):
            m = SGDClassifier(loss="log_loss", hash_bits=18, optimizer=optimizer,
                              learning_rate="constant", eta0=0.01, interactions=list(inter))
            m.learn_one(xs[0], int(y[0]), classes=[0, 1])
            t = time.perf_counter()
            if name.startswith("learn"):
                for x, t_ in zip(xs, y.tolist(), strict=True):
                    m.learn_one(x, t_)
            else:
                for x in xs:
                    m.predict_one(x)
            per.append((time.perf_counter() - t) / n)
        out[name] = statistics.median(per)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--keep", metavar="FILE", help="write the data here (default: a temp file)")
    p.add_argument("--no-q", action="store_true", help="skip the -q ui runs")
    p.add_argument("--q-only", action="store_true",
                   help="only the whole-process -q ui runs (no start-up, parse or event rows)")
    p.add_argument("--reuse", action="store_true",
                   help="learn the --keep FILE as it is (written by an earlier run) instead "
                        "of writing it again (the same --rows)")
    args = p.parse_args(argv)
    if args.no_q and args.q_only:
        p.error("--no-q and --q-only exclude each other")
    if args.reuse and not (args.keep and os.path.exists(args.keep)):
        p.error("--reuse needs the --keep FILE of an earlier run")
    import compileall

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    compileall.compile_dir(os.path.join(here, "streamlr"), quiet=1)
    tmp = tempfile.TemporaryDirectory()
    path = args.keep or os.path.join(tmp.name, "bench.vw")
    if not args.reuse:
        make_file(path, args.rows)
    size = os.path.getsize(path) / 1e6
    print(f"{cpu_model()} ({os.cpu_count()} cores); {args.rows:,} rows, {size:.1f} MB; "
          f"median of {args.repeats}, systems alternating")
    print()
    print("| run | system | seconds | rows/s | final progressive loss | streamlr is | CPU s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for q in (False,) if args.no_q else (True,) if args.q_only else (False, True):
        cmds = systems(path, q)
        res = {name: [] for name in cmds}
        for _ in range(args.repeats):
            for name, cmd in cmds.items():
                res[name].append(_run(cmd))
        med = {name: statistics.median(t for t, _, _ in r) for name, r in res.items()}
        for name, r in res.items():
            ratio = med["VW driver"] / med[name]
            print(f"| whole process{', -q ui' if q else ''} | {name} | {med[name]:.2f} | "
                  f"{args.rows / med[name]:,.0f} | {r[0][1]:.6f} | "
                  f"{f'{ratio:.2f}x VW' if name.startswith('streamlr train') else ''} | "
                  f"{statistics.median(c for _, _, c in r):.2f} |")
    if args.q_only:
        return
    starts = {"import streamlr.cli (the train path)": [sys.executable, "-c", "import streamlr.cli"],
              "import vowpalwabbit": [sys.executable, "-c", "import vowpalwabbit"],
              "from streamlr import SGDClassifier": [
                  sys.executable, "-c", "from streamlr import SGDClassifier"]}
    res = {name: [] for name in starts}
    for _ in range(args.repeats):
        for name, cmd in starts.items():
            res[name].append(_run(cmd))
    for name, r in res.items():
        print(f"| start-up floor | {name} | {statistics.median(t for t, _, _ in r):.2f} | | | | "
              f"{statistics.median(c for _, _, c in r):.2f} |")
    readers = [((), False, "read_vw")]
    if not args.no_q:
        readers += [(("ui",), False, "read_vw (crossed at read time)"),
                    (("ui",), True, "train's reader (crossed in the loop)")]
    for inter, later, name in readers:
        n, dt = parse_rate(path, args.repeats, inter, later)
        print(f"| parse only{', -q ui' if inter else ''} | {name} | {dt:.2f} | {n / dt:,.0f} | "
              f"({size / dt:.0f} MB/s) | | |")
    print()
    print("| single events (hash_bits=18, Adam unless named, 40 features a row before "
          "crossing) | microseconds per call |")
    print("|---|---:|")
    for name, sec in event_latency(args.repeats).items():
        print(f"| {name} | {sec * 1e6:.2f} |")


if __name__ == "__main__":
    main()
