"""Learning without a tuned rate (issue #15): what a rate race would see and serve.

For every stream (raw, unscaled features, fixed seeds) the script records the
prediction each candidate copy makes for every row *before* learning it: streamlr's
plain SGD and Adam at 13 constant rates log-spaced over 1e-5 .. 10 (plain SGD also
at 8 lower rates, 1e-9 .. 10^-5.5), COCOB, the no-rate rules ``"vw"``, ``"prodigy"``
and ``"schedulefree"`` when ``streamlr.optim`` resolves them, River's default model and
Vowpal Wabbit's default (``--quiet``, labels -1/1 with ``--loss_function logistic``).
Until streamlr's ``Normalized`` (``"vw"``) lands, Vowpal Wabbit itself with its
prediction clipping switched off stands in for it in the race (copies ``vw~@<rate>``).
The recordings are cached under ``bench/.cache/no_rate`` (gitignored).

Then it replays serving rules on those recordings in NumPy, exactly as a kernel would:
row i is served with the weights computed from rows < i, and the served loss is the
loss of the served margin (sum_c pi_c * margin_c, which is the margin of the
pi-weighted average of the copies' weights). Rules: follow-the-leader (on a sliding
window or a discounted sum of the copies' losses) and the exponentially weighted
average of the copies, each with two guards: a copy that once made a wild prediction
is never served again (it keeps learning and its loss keeps counting), and a default
copy serves the first rows. The constants are chosen on the tuned streams only;
the held-back streams are reported separately.

Losses: log loss of the margin for classification, (prediction - y)^2 for regression
(streamlr's own ``progressive_loss_`` is half of it). Progressive loss = mean over rows
of the loss of the prediction made before learning the row. A run that diverges
(``streamlr.DivergenceError`` or a non-finite prediction) has a loss of inf.

Rerun:  python bench/bench_no_rate.py --out bench/no_rate.json   (full, 13 streams: ~3.5 min on 2 shared
                                     cores from scratch, ~1.5 min once the recordings are cached; writes
                                     the JSON and bench/no_rate.png beside it)
        python bench/bench_no_rate.py --quick                    (streams cut to 2,000 rows: ~40 s)
        python bench/bench_no_rate.py --check                    (vectorised replay == serve_rowwise)
Run as a script (``python bench/bench_no_rate.py``, so that bench/ and not the repository root
comes first on sys.path): it imports the *installed* streamlr (``pip install -e .`` or
``pip install .``), River, vowpalwabbit and scikit-learn (``pip install ".[bench]"``);
matplotlib is optional (no chart without it).
"""
import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
from itertools import product

import numpy as np
from scipy.signal import lfilter
from suite_report import cpu_model

import streamlr
from streamlr.linear_model import SGDClassifier, SGDRegressor

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".cache", "no_rate")

RATES13 = 10.0 ** np.linspace(-5, 1, 13)           # the tuned-rate grid: 1e-5 .. 10, x sqrt(10)
SGD_LOW = 10.0 ** np.arange(-9, -5, 0.5)           # plain SGD below the grid: 1e-9 .. 10^-5.5
VW_RATES = (0.1, 0.5, 2.0, 8.0)                  # Normalized ("vw") copies: VW's -l; 0.5 is its default
NATIVE_NO_RATE = ("cocob", "vw", "prodigy", "schedulefree")
LN2 = math.log(2.0)
BIG = 1e100


def rate_name(r):
    return f"{r:.2g}"


# ----------------------------------------------------------------------------- streams

def _dicts_to_matrix(pairs):
    """River (x dict, y) pairs -> dense float matrix; string values one-hot encoded."""
    keys, cats = [], {}
    for x, _ in pairs:
        for k, v in x.items():
            if isinstance(v, str):
                cats.setdefault(k, [])
                if v not in cats[k]:
                    cats[k].append(v)
            elif k not in keys:
                keys.append(k)
    cols = [(k, None) for k in keys] + [(k, v) for k in cats for v in sorted(cats[k])[1:]]
    X = np.zeros((len(pairs), len(cols)))
    for i, (x, _) in enumerate(pairs):
        for j, (k, v) in enumerate(cols):
            X[i, j] = float(x[k]) if v is None else float(x[k] == v)
    y = np.array([float(t) for _, t in pairs])
    return X, y


def _river(ds, n):
    from itertools import islice
    return _dicts_to_matrix(list(islice(ds, n)))


def _sk(loader, n, target=None, seed=0):
    d = loader()
    X, y = np.asarray(d.data, float), np.asarray(d.target, float)
    if target is not None:
        y = target(y).astype(float)
    order = np.random.default_rng(seed).permutation(len(y))   # bundled tables are not streams
    return X[order][:n], y[order][:n]


def _concept_drift(make, n, seed):
    from river.datasets import synth
    return synth.ConceptDriftStream(stream=make(0, seed), drift_stream=make(1, seed + 1),
                                    position=n // 2, width=max(n // 20, 1), seed=seed + 2)


def load_stream(name, n_max):
    from itertools import islice

    from river import datasets
    from river.datasets import synth
    from sklearn import datasets as skd
    if name == "phishing":
        return _river(datasets.Phishing(), n_max)
    if name == "bananas":
        return _river(datasets.Bananas(), n_max)
    if name == "breast-cancer":
        return _sk(skd.load_breast_cancer, n_max)
    if name == "digits>=5":
        return _sk(skd.load_digits, n_max, target=lambda t: t >= 5)
    if name == "hyperplane-drift":
        return _river(synth.Hyperplane(seed=7, n_features=10, n_drift_features=5, mag_change=0.001,
                                       noise_percentage=0.05, sigma=0.1), n_max)
    if name == "sea-drift":
        return _river(_concept_drift(lambda k, s: synth.SEA(variant=(0, 2)[k], noise=0.1, seed=s),
                                     min(n_max, 20000), 11), n_max)
    if name == "trump-approval":
        return _river(datasets.TrumpApproval(), n_max)
    if name == "chick-weights":
        return _river(datasets.ChickWeights(), n_max)
    if name == "diabetes-raw":
        return _sk(lambda: skd.load_diabetes(scaled=False), n_max)
    if name == "friedman-drift":
        return _river(synth.FriedmanDrift(drift_type="gra", position=(n_max // 3, 2 * n_max // 3),
                                          transition_window=0, seed=5), n_max)
    if name == "agrawal-drift":
        return _river(_concept_drift(lambda k, s: synth.Agrawal(classification_function=(0, 4)[k],
                                                                seed=s), min(n_max, 20000), 21), n_max)
    if name == "wine-class0":
        return _sk(skd.load_wine, n_max, target=lambda t: t == 0)
    if name == "mv":
        return _river(synth.Mv(seed=3), n_max)
    if name == "iris-versicolor":
        return _sk(skd.load_iris, n_max, target=lambda t: t == 1)
    if name == "waveform-class0":
        X, y = _river(synth.Waveform(seed=3), min(n_max, 5000))
        return X, (y == 0).astype(float)
    if name == "rbf":
        return _river(synth.RandomRBF(seed_model=4, seed_sample=5, n_classes=2, n_features=10), n_max)
    if name == "airline-passengers":
        rows = [({"year": x["month"].year, "month": x["month"].month}, y)
                for x, y in islice(datasets.AirlinePassengers(), n_max)]
        return _dicts_to_matrix(rows)
    raise KeyError(name)


# name -> (task, held back, what it is); held-back streams never choose a constant
STREAMS = {
    "phishing": ("clf", False, "River Phishing, 1,250 rows, 9 features in [0, 1]"),
    "bananas": ("clf", False, "River Bananas, 5,300 rows, 2 features, not linearly separable"),
    "breast-cancer": ("clf", False, "scikit-learn, 569 rows (shuffled), 30 features 1e-3 .. 4e3"),
    "digits>=5": ("clf", False, "scikit-learn digits, 1,797 rows (shuffled), digit >= 5, 64 pixels 0 .. 16"),
    "hyperplane-drift": ("clf", False, "River Hyperplane, 5 of 10 features drifting (mag_change 1e-3)"),
    "sea-drift": ("clf", False, "River SEA variant 0 -> 2 at half (ConceptDriftStream), 10% noise"),
    "trump-approval": ("reg", False, "River TrumpApproval, 1,001 rows, a date ordinal ~7e5 among 40s"),
    "chick-weights": ("reg", False, "River ChickWeights, 578 rows, raw ids and times"),
    "diabetes-raw": ("reg", False, "scikit-learn diabetes unscaled, 442 rows (shuffled), y 25 .. 346"),
    "friedman-drift": ("reg", False, "River FriedmanDrift, global recurring abrupt drift at 1/3, 2/3"),
    "agrawal-drift": ("clf", True, "River Agrawal function 0 -> 4 at half, salaries/loans ~1e5"),
    "wine-class0": ("clf", True, "scikit-learn wine, 178 rows (shuffled), class 0 vs rest, 13 features"),
    "mv": ("reg", True, "River Mv, categoricals one-hot, features up to ~1e3"),
    # added after the serving rule was chosen, to check it on streams it never saw
    "iris-versicolor": ("clf", True, "scikit-learn iris, 150 rows (shuffled), versicolor vs rest"),
    "waveform-class0": ("clf", True, "River Waveform, 5,000 rows, 21 noisy features, class 0 vs rest"),
    "rbf": ("clf", True, "River RandomRBF, 2 classes, 10 features in [0, 1]"),
    "airline-passengers": ("reg", True, "River AirlinePassengers, 144 rows, raw year, month; y 104 .. 622"),
}


# ----------------------------------------------------------------------------- recording

def _native_no_rate():
    """The no-rate rules this streamlr knows (hook: new ones join automatically)."""
    from streamlr import optim
    names = []
    for name in NATIVE_NO_RATE:
        try:
            optim.resolve(name)
        except (ValueError, KeyError, TypeError):
            continue
        names.append(name)
    return names


def copy_specs(native):
    """Every recorded copy: name -> (system, optimizer, rate)."""
    specs = {}
    for r in SGD_LOW:
        specs[f"sgd@{rate_name(r)}"] = ("streamlr", "sgd", r)
    for opt in ("sgd", "adam"):
        for r in RATES13:
            specs[f"{opt}@{rate_name(r)}"] = ("streamlr", opt, r)
    for name in native:
        specs[name] = ("streamlr", name, None)
    if "vw" in native:                          # streamlr's Normalized at the race's rates
        for r in VW_RATES:
            specs[f"vw@{rate_name(r)}"] = ("streamlr", "vw", r)
    for r in VW_RATES:
        specs[f"vw~@{rate_name(r)}"] = ("vw-proxy", None, r)
    for opt in ("sgd", "adam"):                 # the kernel's race (learning_rate="auto"), as served
        specs[f"{opt}-auto"] = ("streamlr", opt, "auto")
    specs["optimizer-auto"] = ("streamlr", "auto", None)   # the kernel's optimizer="auto"
    specs["river-default"] = ("river", None, None)
    specs["vw-default"] = ("vw", None, None)
    return specs


def record_streamlr(X, y, task, optimizer, rate):
    """Margins before learning each row (nan from a divergence on)."""
    est_cls = SGDClassifier if task == "clf" else SGDRegressor
    kw = dict(penalty=None, optimizer=optimizer, shuffle=False,
              loss="log_loss" if task == "clf" else "squared_error")
    if rate == "auto":
        kw.update(learning_rate="auto")
    elif rate is not None and optimizer in NATIVE_NO_RATE:
        from streamlr.schedules import Constant
        kw.update(learning_rate=Constant(rate))      # the reference's lr (VW's -l)
    elif rate is not None:
        kw.update(learning_rate="constant", eta0=rate)
    est = est_cls(**kw)
    score = est.decision_function if task == "clf" else est.predict
    out = np.full(len(y), np.nan)
    with np.errstate(all="ignore"):
        for i in range(len(y)):
            xi = X[i:i + 1]
            out[i] = score(xi)[0] if i else 0.0
            if not np.isfinite(out[i]):
                out[i] = np.nan
                break
            try:
                if i == 0 and task == "clf":
                    est.partial_fit(xi, y[:1], classes=np.array([0.0, 1.0]))
                else:
                    est.partial_fit(xi, y[i:i + 1])
            except (streamlr.DivergenceError, FloatingPointError, OverflowError):
                break
    return out


def record_river(X, y, task):
    from river import linear_model
    model = linear_model.LogisticRegression() if task == "clf" else linear_model.LinearRegression()
    out = np.full(len(y), np.nan)
    names = [f"x{j}" for j in range(X.shape[1])]
    with np.errstate(all="ignore"):
        for i in range(len(y)):
            x = dict(zip(names, X[i].tolist(), strict=True))
            try:
                m = float(model._raw_dot_one(x))  # the margin predict_one/predict_proba_one use
                if not np.isfinite(m):
                    break
                out[i] = m
                model.learn_one(x, bool(y[i]) if task == "clf" else float(y[i]))
            except (OverflowError, FloatingPointError, ValueError, ZeroDivisionError):
                break
    return out


def record_vw(X, y, task, rate=None, clip=True):
    import vowpalwabbit
    args = "--quiet" + (" --loss_function logistic" if task == "clf" else "")
    if rate is not None:
        args += f" -l {rate!r}"
    if not clip:
        args += " --min_prediction -1e30 --max_prediction 1e30"
    ws = vowpalwabbit.Workspace(args)
    out = np.full(len(y), np.nan)
    labels = (np.where(y > 0.5, 1, -1) if task == "clf" else y).tolist()
    try:
        for i in range(len(y)):
            feats = " ".join(f"f{j}:{v!r}" for j, v in enumerate(X[i].tolist()) if v != 0.0)
            ex = ws.parse(f"{labels[i]!r} | {feats}")
            ws.learn(ex)                                  # predicts, then learns
            m = ex.get_simplelabel_prediction()
            ws.finish_example(ex)
            if not np.isfinite(m):
                break
            out[i] = m
    finally:
        ws.finish()
    return out


def record(spec, X, y, task):
    system, opt, rate = spec
    if system == "streamlr":
        return record_streamlr(X, y, task, opt, rate)
    if system == "river":
        return record_river(X, y, task)
    if system == "vw":
        return record_vw(X, y, task)
    return record_vw(X, y, task, rate=rate, clip=False)


def _versions():
    import river
    import vowpalwabbit
    return {"streamlr": getattr(streamlr, "__version__", "?"), "river": river.__version__,
            "vowpalwabbit": getattr(vowpalwabbit, "__version__", "?"), "numpy": np.__version__}


def _build_id():
    """The compiled kernels streamlr runs (path, size, mtime): a rebuild invalidates the cache."""
    kdir = os.path.join(os.path.dirname(streamlr.__file__), "_kernels")
    parts = [os.path.dirname(streamlr.__file__)]
    for f in sorted(os.listdir(kdir)):
        if f.endswith((".so", ".pyd")):
            st = os.stat(os.path.join(kdir, f))
            parts.append(f"{f}:{st.st_size}:{int(st.st_mtime)}")
    return ";".join(parts)


def _is_race(spec):
    return spec[0] == "streamlr" and "auto" in (spec[1], spec[2])


def recordings(name, n_max, specs, refresh=False, log=print, cache=None):
    """Margins of every copy on stream ``name`` (cached per stream, data and versions)."""
    X, y = load_stream(name, n_max)
    key = hashlib.sha1(X.tobytes() + y.tobytes() + json.dumps(_versions()).encode()
                       + _build_id().encode()).hexdigest()[:12]
    path = os.path.join(cache or CACHE, f"{name}-{len(y)}-{key}.npz")
    cached = {}
    if os.path.exists(path) and not refresh:
        with np.load(path) as f:
            cached = {k: f[k] for k in f.files}
    # the kernel's races are recorded every run: their rule lives in Python
    # constants as well as in the compiled kernels the key covers
    todo = [c for c in specs if c not in cached or _is_race(specs[c])]
    if todo:
        t0 = time.perf_counter()
        for c in todo:
            cached[c] = record(specs[c], X, y, STREAMS[name][0])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.savez_compressed(path, **cached)
        log(f"  recorded {len(todo)} copies on {name} ({len(y)} rows) in {time.perf_counter() - t0:.1f} s")
    return X, y, {c: cached[c] for c in specs}


# ----------------------------------------------------------------------------- losses

def loss_matrix(M, y, task):
    """Per-row losses of margins M (n, K); inf where the copy has diverged."""
    with np.errstate(all="ignore"):
        if task == "clf":
            L = np.logaddexp(0.0, -(2.0 * y - 1.0)[:, None] * M)
        else:
            L = (M - y[:, None]) ** 2
    L[~np.isfinite(L)] = np.inf
    return L


def mean_loss(L):
    return float(np.mean(L)) if np.all(np.isfinite(L)) else math.inf


# ----------------------------------------------------------------------------- serving rules

class Replay:
    """One stream and one candidate set: what a race kernel would see, row by row."""

    def __init__(self, M, y, task, default):
        self.M, self.y, self.task, self.default = M, y, task, default
        n, _ = M.shape
        self.L = loss_matrix(M, y, task)
        self.alive = np.isfinite(M)
        self.M0 = np.where(self.alive, M, 0.0)
        self.Lcap = np.minimum(np.where(np.isfinite(self.L), self.L, BIG), BIG)
        self._S, self._wild = {}, {}
        # scale of the squared loss from the targets of rows < i (running variance)
        cnt = np.arange(n, dtype=float)
        s1 = np.concatenate([[0.0], np.cumsum(y)[:-1]])
        s2 = np.concatenate([[0.0], np.cumsum(y * y)[:-1]])
        with np.errstate(all="ignore"):
            self.var = np.where(cnt > 1, np.maximum(s2 / cnt - (s1 / cnt) ** 2, 0.0), 0.0)
        # the loss of the zero prediction, worst row so far (rows <= j): the yardstick of "wild"
        self.zero_loss = np.full(n, LN2) if task == "clf" else np.maximum.accumulate(y * y)

    def discounted(self, gamma, window=None):
        """S[i, c]: discounted (or windowed) loss of copy c over rows < i; n_eff[i]."""
        key = (gamma, window)
        if key not in self._S:
            Lc = self.Lcap
            if window:
                cs = np.vstack([np.zeros((1, Lc.shape[1])), np.cumsum(Lc, axis=0)])[:-1]
                lo = np.maximum(np.arange(len(Lc)) - window, 0)
                S = cs - np.vstack([np.zeros((1, Lc.shape[1])), np.cumsum(Lc, axis=0)])[lo]
                neff = np.minimum(np.arange(len(Lc)), window).astype(float)
            else:
                S = lfilter([0.0, 1.0], [1.0, -gamma], Lc, axis=0)
                neff = lfilter([0.0, 1.0], [1.0, -gamma], np.ones(len(Lc)))
            self._S[key] = (np.minimum(S, BIG), neff)
        return self._S[key]

    def wild_before(self, lam, bound=math.inf):
        """wild[i, c]: copy c made a wild prediction on some row < i: a loss above ``lam`` times
        the zero prediction's (log loss: ln 2; squared: the largest y^2 so far), or, for log loss,
        a margin beyond +-``bound`` (a confident prediction, right or wrong)."""
        key = (lam, bound)
        if key not in self._wild:
            bad = lam * self.zero_loss[:, None] < self.L
            if self.task == "clf" and bound < math.inf:
                bad |= np.abs(self.M0) > bound
            w = np.vstack([np.zeros((1, bad.shape[1]), bool), np.logical_or.accumulate(bad, axis=0)[:-1]])
            self._wild[key] = w
        return self._wild[key]

    def serve(self, rule):
        """Served margins of ``rule`` (row i from rows < i) and the shares pi (n, K).

        EWA: pi_c proportional to exp(-eta_i * S_c[i]) over the eligible copies (alive, never
        wild), with eta_i = eta / scale_i: ``scale="leader"``: the leader's mean discounted loss
        S_min[i] / n_eff[i] (scale-free: pi_c = exp(-eta * n_eff * (S_c / S_min - 1)) relative to
        the leader); ``scale="fixed"``: 1 for log loss, the running variance of the targets for
        squared loss. FTL: the eligible copy with the lowest S_c[i] (ties: the default copy).
        Both: the default copy serves rows i < ``n0``.
        """
        n, d = self.M.shape[0], self.default
        S, neff = self.discounted(rule.get("gamma", 1.0), rule.get("window"))
        elig = self.alive & ~self.wild_before(rule["wild"], rule.get("bound", math.inf))
        Sm = np.where(elig, S, np.inf)
        mn = Sm.min(axis=1)
        with np.errstate(all="ignore"):
            if rule["kind"] == "ftl":
                eta = np.full(n, np.inf)
            else:
                if rule["scale"] == "leader":
                    scale = mn / neff
                else:
                    scale = np.ones(n) if self.task == "clf" else self.var
                eta = rule["eta"] / scale
                eta[~(eta < np.inf)] = np.inf        # nothing to scale by yet (or no copy): ties rule
            inf_rows = np.isinf(eta)
            Z = np.where(inf_rows[:, None], 0.0, eta[:, None]) * Sm
            W = np.exp(Z.min(axis=1)[:, None] - Z)
            # eta = inf: follow the leader; ties go to the default copy, else to the first
            ties = (Sm - mn[:, None]) <= 1e-12 * np.abs(mn[:, None])
            pick = np.where(ties[:, d], d, np.argmax(ties, axis=1))
        rows = np.nonzero(inf_rows)[0]
        W[rows] = 0.0
        W[rows, pick[rows]] = 1.0
        W[~elig] = 0.0
        W[~np.isfinite(W)] = 0.0
        # guard (ii): the default copy serves the first rows while it is eligible
        first = (np.arange(n) < rule["n0"]) & elig[:, d]
        W[first] = 0.0
        W[first, d] = 1.0
        # nobody eligible: the alive copy with the lowest loss so far (wild or not)
        none = W.sum(axis=1) == 0
        if none.any():
            Sa = np.where(self.alive, S, np.inf)
            rows = np.nonzero(none & np.isfinite(Sa.min(axis=1)))[0]
            W[rows, Sa[rows].argmin(axis=1)] = 1.0
        tot = W.sum(axis=1)
        with np.errstate(all="ignore"):
            pi = W / tot[:, None]
            served = np.where(tot > 0, np.einsum("ij,ij->i", pi, self.M0), np.nan)
        return served, pi

    def served_loss(self, rule):
        served, _ = self.serve(rule)
        return mean_loss(loss_matrix(served[:, None], self.y, self.task)[:, 0])


def serve_rowwise(M, y, task, default, rule):
    """The same rule as ``Replay.serve``, one row at a time, as a kernel would run it (a reference
    for the kernel's race and a check of the vectorised replay; ``--check`` compares the two)."""
    n, K = M.shape
    S, neff, wild, served = np.zeros(K), 0.0, np.zeros(K, bool), np.full(n, np.nan)
    y_max2, y_sum, y_sum2 = 0.0, 0.0, 0.0
    for i in range(n):
        alive = np.isfinite(M[i])
        elig = alive & ~wild
        pi = np.zeros(K)
        if not elig.any():
            if alive.any():
                pi[np.argmin(np.where(alive, S, np.inf))] = 1.0
        elif i < rule["n0"] and elig[default]:
            pi[default] = 1.0
        else:
            lead = S[elig].min()
            if rule["kind"] == "ftl":
                eta = math.inf
            elif rule["scale"] == "leader":
                eta = rule["eta"] / (lead / neff) if neff > 0 and lead > 0 else math.inf
            else:
                var = y_sum2 / i - (y_sum / i) ** 2 if i > 1 else 0.0
                scale = 1.0 if task == "clf" else max(var, 0.0)
                eta = rule["eta"] / scale if scale > 0 else math.inf
            if math.isinf(eta):
                tie = elig & (S - lead <= 1e-12 * abs(lead))
                pi[default if tie[default] else int(np.argmax(tie))] = 1.0
            else:
                w = np.where(elig, np.exp(-eta * (S - lead)), 0.0)
                pi = w / w.sum()
        if pi.any():
            served[i] = float(np.sum(pi[alive] * M[i, alive]))
        # learn the row: every copy's loss counts, wild or not
        loss = loss_matrix(M[i:i + 1], y[i:i + 1], task)[0]
        gamma = rule.get("gamma", 1.0)
        S = gamma * S + np.minimum(np.where(np.isfinite(loss), loss, BIG), BIG)
        neff = gamma * neff + 1.0
        y_max2, y_sum, y_sum2 = max(y_max2, y[i] * y[i]), y_sum + y[i], y_sum2 + y[i] * y[i]
        wild |= loss > rule["wild"] * (LN2 if task == "clf" else y_max2)
        if task == "clf":
            wild |= np.abs(np.where(alive, M[i], 0.0)) > rule.get("bound", math.inf)
    return served


def rule_label(rule):
    g = rule.get("gamma", 1.0)
    wild = "off" if math.isinf(rule["wild"]) else f"loss > {rule['wild']:g} x zero-loss"
    if rule.get("bound", math.inf) < math.inf:
        wild += f" or |margin| > {rule['bound']:g} (log loss)"
    if rule["kind"] == "ftl":
        head = f"FTL window {rule['window']}" if rule.get("window") else f"FTL gamma {g:g}"
    else:
        head = f"EWA gamma {g:g}, eta {rule['eta']:g}/{rule['scale']}"
    return f"{head}; wild: {wild}; default copy serves {rule['n0']} rows"


GUARDS = dict(wild=100.0, bound=30.0, n0=2)


def core_grid():
    """Stage A: the weighting itself, under fixed guards."""
    rules = [dict(kind="ewa", gamma=g, eta=eta, scale=scale, **GUARDS)
             for g, eta, scale in product((1.0, 0.995, 0.99, 0.98), (0.03, 0.1, 0.25, 1.0),
                                          ("leader", "fixed"))]
    rules += [dict(kind="ftl", gamma=g, window=w, **GUARDS)
              for g, w in ((1.0, None), (0.999, None), (0.99, None), (1.0, 100), (1.0, 500))]
    return rules


def guard_grid(rule):
    """Stage B: the guards around the best weighting."""
    return [dict(rule, wild=wild, bound=bound, n0=n0)
            for wild, bound, n0 in product((10.0, 100.0, 1e4, math.inf), (10.0, 30.0, 100.0, math.inf),
                                           (1, 2, 3, 10))]


def family(rule):
    if rule["kind"] == "ftl":
        return "FTL window" if rule.get("window") else "FTL discounted"
    return f"EWA, eta scaled by {'the leader' if rule['scale'] == 'leader' else 'var(y) / 1'}"


# ----------------------------------------------------------------------------- candidate sets

def grid_names(opt, rates):
    return [f"{opt}@{rate_name(r)}" for r in rates]


def _span_names(opt, lo, hi):
    return grid_names(opt, [r for r in RATES13 if lo * 0.99 <= r <= hi * 1.01])


def candidate_sets(native):
    """name -> (copies, default copy, goal); goal "opt": optimizer="auto", else that optimizer's
    learning_rate="auto" (ratio to its own best of 13 rates)."""
    vw = "vw" if "vw" in native else "vw~"        # VW itself stands in until streamlr's "vw" lands
    vw4 = [f"{vw}@{rate_name(r)}" for r in VW_RATES]
    vw1 = [f"{vw}@0.5"]
    extra = [c for c in ("prodigy", "schedulefree") if c in native]
    A, S = (lambda lo, hi: _span_names("adam", lo, hi)), (lambda lo, hi: _span_names("sgd", lo, hi))
    sets = {
        "sgd x13 (1e-5..10)": (S(1e-5, 10), "sgd@1e-05", "sgd"),
        "sgd x11 (1e-5..1)": (S(1e-5, 1), "sgd@1e-05", "sgd"),
        "sgd x21 (1e-9..10)": (grid_names("sgd", np.concatenate([SGD_LOW, RATES13])), "sgd@1e-09", "sgd"),
        "adam x13 (1e-5..10)": (A(1e-5, 10), "adam@1e-05", "adam"),
        "adam x11 (1e-5..1)": (A(1e-5, 1), "adam@1e-05", "adam"),
        "adam x9 (1e-5..0.1)": (A(1e-5, 0.1), "adam@1e-05", "adam"),
    }
    for label, copies in (
            ("vw x4 + cocob + adam x13 + sgd x13", vw4 + ["cocob"] + A(1e-5, 10) + S(1e-5, 10)),
            ("vw x4 + cocob + adam x11 + sgd x11", vw4 + ["cocob"] + A(1e-5, 1) + S(1e-5, 1)),
            ("vw x4 + cocob + adam x9 + sgd x7", vw4 + ["cocob"] + A(1e-5, 0.1) + S(1e-5, 0.01)),
            ("vw x4 + cocob + adam x13", vw4 + ["cocob"] + A(1e-5, 10)),
            ("vw + cocob + adam x13 + sgd x13", vw1 + ["cocob"] + A(1e-5, 10) + S(1e-5, 10)),
            ("vw + cocob + adam x7 + sgd x7", vw1 + ["cocob"] + A(1e-4, 0.1) + S(1e-5, 0.01))):
        sets["auto: " + label] = (copies + extra, vw1[0], "opt")
    return sets


PRIMARY_LR = ("sgd x13 (1e-5..10)", "adam x13 (1e-5..10)")
PRIMARY_AUTO = "auto: vw x4 + cocob + adam x13 + sgd x13"
DEFAULT_AUTO = "auto: vw x4 + cocob + adam x9 + sgd x7"


def window_sets(opt, width):
    """Every run of ``width`` consecutive grid rates (where to center learning_rate="auto")."""
    out = {}
    for s in range(13 - width + 1):
        rates = RATES13[s:s + width]
        out[f"{opt} x{width} {rate_name(rates[0])}..{rate_name(rates[-1])}"] = (
            grid_names(opt, rates), grid_names(opt, rates[:1])[0], opt, math.sqrt(rates[0] * rates[-1]))
    return out


# ----------------------------------------------------------------------------- the study

def references(losses):
    """Best in hindsight per goal: "sgd"/"adam": the best of that optimizer's 13 rates;
    "opt": the best of both grids, River's default and VW's default."""
    ref = {}
    for opt in ("sgd", "adam"):
        best = min(grid_names(opt, RATES13), key=lambda c: losses[c])
        ref[opt] = (best, losses[best])
    best = min([ref["sgd"][0], ref["adam"][0], "river-default", "vw-default"], key=lambda c: losses[c])
    ref["opt"] = (best, losses[best])
    return ref


def ratio(x, ref):
    if not math.isfinite(ref):
        return math.nan                                  # every candidate diverged: no goal to meet
    if ref == 0.0:
        return 1.0 if x == 0.0 else math.inf
    return x / ref


def summarize(ratios):
    r = np.array([v for v in ratios if not math.isnan(v)])
    return (float(np.max(r)), float(np.median(r))) if len(r) else (math.nan, math.nan)


class Study:
    """The recordings of every stream and the replays of candidate sets on them."""

    def __init__(self, data):
        self.data = data
        self.losses, self.refs, self._replays = {}, {}, {}
        for s, (_, y, marg) in data.items():
            task = STREAMS[s][0]
            self.losses[s] = {c: mean_loss(loss_matrix(m[:, None], y, task)[:, 0]) for c, m in marg.items()}
            self.refs[s] = references(self.losses[s])
        self.tuned = [s for s in data if not STREAMS[s][1]]
        self.held = [s for s in data if STREAMS[s][1]]

    def replay(self, stream, copies, default):
        key = (stream, tuple(copies), default)
        if key not in self._replays:
            _, y, marg = self.data[stream]
            M = np.column_stack([marg[c] for c in copies])
            self._replays[key] = Replay(M, y, STREAMS[stream][0], copies.index(default))
        return self._replays[key]

    def ratios(self, rule, copies, default, goal, streams):
        return {s: ratio(self.replay(s, copies, default).served_loss(rule), self.refs[s][goal][1])
                for s in streams}

    def score(self, rule, sets, names):
        """Per set: (worst, median) over the tuned streams; overall: worst of them, mean median."""
        per_set = {n: summarize(self.ratios(rule, *sets[n], self.tuned).values()) for n in names}
        worst = max(v[0] for v in per_set.values() if not math.isnan(v[0]))
        med = float(np.mean([v[1] for v in per_set.values() if not math.isnan(v[1])]))
        return worst, med, per_set


def _rank(scored):
    """Lowest worst ratio first (to 3 decimals), then the lowest mean median."""
    return round(scored[0], 3), scored[1]


def run(args):
    t_start = time.perf_counter()
    n_max = 2000 if args.quick else args.rows
    native = _native_no_rate()
    specs = copy_specs(native)
    print(f"streamlr {_versions()['streamlr']} from {os.path.dirname(streamlr.__file__)}; "
          f"no-rate rules it resolves: {', '.join(native)}", flush=True)
    names = [s for s in STREAMS if not args.streams or s in args.streams.split(",")]
    t_rec = time.perf_counter()
    data = {}
    for name in names:
        X, y, marg = recordings(name, n_max, specs, refresh=args.refresh, cache=args.cache)
        data[name] = (X, y, marg)
    t_rec = time.perf_counter() - t_rec
    study = Study(data)
    sets = candidate_sets(native)
    if args.auto_set not in sets:
        raise SystemExit(f"--auto-set must be one of: {', '.join(k for k in sets if k.startswith('auto'))}")
    primary = list(dict.fromkeys(PRIMARY_LR + (PRIMARY_AUTO, args.auto_set)))

    # 1) search on the tuned streams: stage A (weighting) then stage B (guards around the best)
    t_search = time.perf_counter()
    scored = []
    for rule in core_grid():
        scored.append((*study.score(rule, sets, primary), rule))
    best_core = min(scored, key=_rank)[3]
    for rule in guard_grid(best_core):
        if rule != best_core:
            scored.append((*study.score(rule, sets, primary), rule))
    scored.sort(key=_rank)
    best_rule = scored[0][3]
    t_search = time.perf_counter() - t_search
    print(f"searched {len(scored)} rules x {len(primary)} candidate sets on {len(study.tuned)} tuned streams "
          f"in {t_search:.0f} s", flush=True)
    families = {}
    for worst, med, per_set, rule in scored:
        families.setdefault(family(rule), (worst, med, per_set, rule))
    ablations = {}
    for what, change in (("no wild guard", dict(wild=math.inf, bound=math.inf)),
                         ("no margin bound", dict(bound=math.inf)),
                         ("no loss guard", dict(wild=math.inf)),
                         ("no default rows", dict(n0=0)),
                         ("default serves 10 rows", dict(n0=10)),
                         ("no discount", dict(gamma=1.0)),
                         ("eta x 4", dict(eta=best_rule.get("eta", 1.0) * 4)),
                         ("eta / 4", dict(eta=best_rule.get("eta", 1.0) / 4)),
                         ("eta not scaled by the leader", dict(scale="fixed"))):
        rule = dict(best_rule, **change)
        if rule != best_rule:
            worst, med, per_set = study.score(rule, sets, primary)
            ablations[what] = (rule_label(rule), worst, med, per_set)

    # 2) every candidate set under the chosen rule, tuned and held back
    set_rows = {}
    for sname, (copies, default, goal) in sets.items():
        r_t = study.ratios(best_rule, copies, default, goal, study.tuned)
        r_h = study.ratios(best_rule, copies, default, goal, study.held)
        set_rows[sname] = dict(goal=goal, k=len(copies), default=default, copies=copies, tuned=r_t, held=r_h,
                               tuned_summary=summarize(r_t.values()), held_summary=summarize(r_h.values()))
    # 3) where to center learning_rate="auto": runs of consecutive grid rates
    centering = {}
    for opt in ("sgd", "adam"):
        for width in (5, 7, 9, 11):
            for sname, (copies, default, goal, center) in window_sets(opt, width).items():
                centering[sname] = dict(
                    opt=opt, width=width, center=center,
                    tuned=summarize(study.ratios(best_rule, copies, default, goal, study.tuned).values()),
                    held=summarize(study.ratios(best_rule, copies, default, goal, study.held).values()))

    # 4) per stream: the baselines and the emulated races against the best in hindsight
    table = []
    for s in names:
        ref_name, ref_loss = study.refs[s]["opt"]
        row = dict(stream=s, task=STREAMS[s][0], rows=len(data[s][1]), held_back=STREAMS[s][1],
                   best=ref_name, best_loss=ref_loss, best_sgd=study.refs[s]["sgd"],
                   best_adam=study.refs[s]["adam"], ratios={})
        for c in native:
            row["ratios"][c] = ratio(study.losses[s][c], ref_loss)
        row["ratios"]["River default"] = ratio(study.losses[s]["river-default"], ref_loss)
        row["ratios"]["VW default"] = ratio(study.losses[s]["vw-default"], ref_loss)
        part = "tuned" if s in study.tuned else "held"
        row["ratios"]["optimizer auto"] = ratio(study.losses[s]["optimizer-auto"], ref_loss)
        row["ratios"]["auto race*"] = set_rows[args.auto_set][part][s]
        for opt in ("sgd", "adam"):          # the kernel's race, measured (not emulated)
            row["ratios"][f"lr-auto {opt}"] = ratio(study.losses[s][f"{opt}-auto"], ref_loss)
            row["ratios"][f"lr-auto {opt} (own)"] = ratio(study.losses[s][f"{opt}-auto"],
                                                          study.refs[s][opt][1])
        row["ratios"]["lr-auto adam* (own)"] = set_rows[PRIMARY_LR[1]][part][s]
        row["ratios"]["lr-auto sgd* (own)"] = set_rows[PRIMARY_LR[0]][part][s]
        table.append(row)

    elapsed = time.perf_counter() - t_start
    return dict(
        measured=time.strftime("%Y-%m-%d"), cpu=_cpu(), python=platform.python_version(),
        versions=_versions(), quick=bool(args.quick), rows_max=n_max, native_no_rate=native,
        seconds_total=round(elapsed, 1),
        seconds_recording=round(t_rec, 1), seconds_search=round(t_search, 1), primary_sets=primary,
        streams={s: dict(task=STREAMS[s][0], held_back=STREAMS[s][1], about=STREAMS[s][2],
                         rows=len(data[s][1]), features=data[s][0].shape[1],
                         feature_abs_max_range=_span(data[s][0]), losses=study.losses[s],
                         best=study.refs[s]) for s in names},
        recommended=dict(rule=best_rule, label=rule_label(best_rule), worst=scored[0][0],
                         mean_median=scored[0][1], per_set=scored[0][2], auto_set=args.auto_set,
                         auto_copies=sets[args.auto_set][0]),
        families={k: dict(label=rule_label(v[3]), worst=v[0], mean_median=v[1], per_set=v[2])
                  for k, v in families.items()},
        top_rules=[dict(label=rule_label(r), worst=w, mean_median=m) for w, m, _, r in scored[:10]],
        ablations={k: dict(label=v[0], worst=v[1], mean_median=v[2], per_set=v[3])
                   for k, v in ablations.items()},
        sets=set_rows, centering=centering, table=table)


def _span(X):
    a = np.abs(X[:, np.any(X != 0, axis=0)]).max(axis=0)
    return [float(a.min()), float(a.max())] if len(a) else [0.0, 0.0]


def _cpu():
    return f"{cpu_model()}, {os.cpu_count()} cores"


# ----------------------------------------------------------------------------- report

def fmt_ratio(r):
    if math.isnan(r):
        return "n/a"
    if math.isinf(r):
        return "inf"
    return f"{r:.3f}" if r < 10 else (f"{r:.3g}" if r < 1000 else f"{r:.0e}")


def fmt_pair(p):
    return f"{fmt_ratio(p[0])} / {fmt_ratio(p[1])}"


def report(res):
    lines = []
    add = lines.append
    table = res["table"]
    cols = list(table[0]["ratios"])
    add(f"Measured {res['measured']} on {res['cpu']}; Python {res['python']}, "
        + ", ".join(f"{k} {v}" for k, v in res["versions"].items())
        + f". Streams of at most {res['rows_max']:,} rows; {res['seconds_total']:.0f} s in all "
          f"(recording {res['seconds_recording']:.0f} s, rule search {res['seconds_search']:.0f} s).")
    add("")
    add("Progressive loss over the loss of the best in hindsight (the best of plain SGD and Adam at 13 "
        "constant rates 1e-5..10, River's default and VW's default; log loss for clf, squared error for "
        "reg). `lr-auto sgd/adam (own)` = the kernel's learning_rate=\"auto\" (measured), as a ratio to "
        "that optimizer's best of its 13 rates. Columns with * are emulated offline on the recorded copies "
        "with the recommended rule "
        f"({res['recommended']['label']}): `auto race*` = the optimizer=\"auto\" set "
        f"`{res['recommended']['auto_set']}`; `(own)` = learning_rate=\"auto\" over that optimizer's 13 "
        "rates, as a ratio to its own best rate (n/a: every rate diverged). Streams marked + are held back.")
    add("")
    add("| stream | task | rows | best in hindsight | its loss | " + " | ".join(cols) + " |")
    add("|---|---|---:|---|---:|" + "---:|" * len(cols))
    for row in table:
        mark = "+" if row["held_back"] else ""
        add(f"| {row['stream']}{mark} | {row['task']} | {row['rows']:,} | {row['best']} | "
            f"{row['best_loss']:.4g} | " + " | ".join(fmt_ratio(row["ratios"][c]) for c in cols) + " |")
    add("")
    add("Candidate sets under the recommended rule, worst / median ratio (goal `opt`: to the best in "
        "hindsight; `sgd`/`adam`: to that optimizer's best of its 13 rates):")
    add("")
    add("| candidate set | goal | K | default copy | tuned streams | held-back streams |")
    add("|---|---|---:|---|---:|---:|")
    for sname, r in res["sets"].items():
        add(f"| {sname} | {r['goal']} | {r['k']} | {r['default']} | {fmt_pair(r['tuned_summary'])} | "
            f"{fmt_pair(r['held_summary'])} |")
    add("")
    prim = res["primary_sets"]
    add("Serving rules on the tuned streams, worst / median per primary set (the chosen rule minimises the "
        "worst over these sets, then the mean median):")
    add("")
    add("| rule | " + " | ".join(prim) + " |")
    add("|---|" + "---:|" * len(prim))
    rec = res["recommended"]
    add(f"| **chosen**: {rec['label']} | " + " | ".join(fmt_pair(rec["per_set"][p]) for p in prim) + " |")
    for fam, v in res["families"].items():
        add(f"| best {fam}: {v['label']} | " + " | ".join(fmt_pair(v["per_set"][p]) for p in prim) + " |")
    for what, v in res["ablations"].items():
        add(f"| chosen, {what} | " + " | ".join(fmt_pair(v["per_set"][p]) for p in prim) + " |")
    add("")
    add("Where to center learning_rate=\"auto\": runs of consecutive grid rates (default copy: the smallest "
        "rate), worst / median:")
    add("")
    add("| rates | tuned streams | held-back streams |")
    add("|---|---:|---:|")
    for sname, r in res["centering"].items():
        add(f"| {sname} | {fmt_pair(r['tuned'])} | {fmt_pair(r['held'])} |")
    return "\n".join(lines)


def chart(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart", file=sys.stderr)
        return None
    table = res["table"]
    series = [("River default", "River default", "#9e9e9e"), ("VW default", "VW default", "#5c6bc0"),
              ("COCOB", "cocob", "#ffa726")]
    for key, label, color in (("vw", "Normalized (vw)", "#26a69a"), ("prodigy", "Prodigy", "#8d6e63"),
                              ("schedulefree", "ScheduleFreeAdamW", "#ab47bc")):
        if key in table[0]["ratios"]:
            series.append((label, key, color))
    series.append(('learning_rate="auto", Adam', "lr-auto adam", "#1e88e5"))
    series.append(('optimizer="auto"', "optimizer auto", "#d32f2f"))
    top = 1e3
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=72)
    width = 0.8 / len(series)
    x = np.arange(len(table))
    for k, (label, key, color) in enumerate(series):
        vals = np.array([row["ratios"].get(key, math.nan) for row in table], dtype=float)
        shown = np.where(np.isfinite(vals), np.clip(vals, 0.5, top), top)
        pos = x + (k - (len(series) - 1) / 2) * width
        ax.bar(pos, shown - 1.0, width, bottom=1.0, color=color, label=label)   # from 1: up is worse
        for p, v in zip(pos, vals, strict=True):
            if not np.isfinite(v) or v > top:
                ax.text(p, top * 0.9, "inf" if not np.isfinite(v) else "off scale", rotation=90, ha="center",
                        va="top", fontsize=6, color="white")
    ax.set_yscale("log")
    ax.set_ylim(0.5, top * 1.05)
    ax.axhline(1.0, color="black", lw=0.6)
    ax.axhline(1.05, color="black", lw=0.6, ls="--")
    ax.set_xticks(x, [row["stream"] + ("+" if row["held_back"] else "") for row in table], rotation=30,
                  ha="right", fontsize=8)
    ax.set_ylabel("progressive loss / best in hindsight")
    ax.set_title("No tuned rate, raw features, one pass: progressive loss relative to the best of 26 tuned "
                 "runs and the River and VW defaults\n(+ held back; dashed line: 1.05)", fontsize=9,
                 pad=26)
    ax.legend(fontsize=7, ncol=len(series), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _plain(o):
    """JSON without NaN/Infinity: non-finite floats become strings."""
    if isinstance(o, dict):
        return {str(k): _plain(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_plain(v) for v in o]
    if isinstance(o, np.ndarray):
        return _plain(o.tolist())
    if isinstance(o, (np.floating, float)):
        o = float(o)
        return o if math.isfinite(o) else str(o)
    if isinstance(o, np.integer):
        return int(o)
    return o


def check(args):
    """The vectorised replay equals the row-by-row rule (EWA and FTL, both scales)."""
    native = _native_no_rate()
    specs, sets = copy_specs(native), candidate_sets(native)
    rules = [dict(kind="ewa", gamma=0.995, eta=0.1, scale="leader", **GUARDS),
             dict(kind="ewa", gamma=0.99, eta=1.0, scale="fixed", **GUARDS),
             dict(kind="ftl", gamma=0.999, **GUARDS)]
    worst = 0.0
    for name in (args.streams.split(",") if args.streams else ("wine-class0", "trump-approval", "phishing")):
        _, y, marg = recordings(name, 2000 if args.quick else args.rows, specs, cache=args.cache)
        for sname in (DEFAULT_AUTO, PRIMARY_LR[0]):
            copies, default, _ = sets[sname]
            M = np.column_stack([marg[c] for c in copies])
            for rule in rules:
                fast, _ = Replay(M, y, STREAMS[name][0], copies.index(default)).serve(rule)
                slow = serve_rowwise(M, y, STREAMS[name][0], copies.index(default), rule)
                worst = max(worst, float(np.nanmax(np.abs(fast - slow) / (1.0 + np.abs(slow)))))
    print(f"largest relative difference, vectorised vs row by row: {worst:.2g}")
    if worst > 1e-9:
        raise SystemExit("the vectorised replay differs from the row-by-row rule")
    return worst


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="cut every stream to 2,000 rows (about a minute)")
    p.add_argument("--rows", type=int, default=20000, help="rows per stream at most (default 20,000)")
    p.add_argument("--streams", default="", help="comma-separated subset of: " + ", ".join(STREAMS))
    p.add_argument("--auto-set", default=DEFAULT_AUTO, help="the optimizer='auto' candidate set of the table "
                   f"and chart (default {DEFAULT_AUTO!r})")
    p.add_argument("--out", default=None, help="write the results as JSON here (and the chart beside it)")
    p.add_argument("--png", default=None, help="chart path (default: --out with .png)")
    p.add_argument("--md", default=None, help="also write the report (markdown tables) here")
    p.add_argument("--refresh", action="store_true", help="record again, ignoring the cached recordings")
    p.add_argument("--cache", default=None, help=f"where recordings are cached (default {CACHE})")
    p.add_argument("--check", action="store_true", help="check the vectorised replay against serve_rowwise")
    args = p.parse_args(argv)
    if args.check:
        return check(args)
    res = run(args)
    text = report(res)
    print()
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(_plain(res), f, indent=1)
        print(f"\nwrote {args.out}")
    png = args.png or (os.path.splitext(args.out)[0] + ".png" if args.out else None)
    if png and chart(res, png):
        print(f"wrote {png}")
    if args.md:
        with open(args.md, "w") as f:
            f.write(text + "\n")
    return res


if __name__ == "__main__":
    main()
