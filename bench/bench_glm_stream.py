"""Count and amount streams with a known truth: streamlr's GLM losses learned
online against scikit-learn's batch GLM refitted from scratch every
``--refit`` rows on all the data so far (issue #18).

    python bench/bench_glm_stream.py                  # 50,000 rows x 40 features, 3 repeats
    python bench/bench_glm_stream.py --rows 20000 --repeats 1     # quicker
    python bench/bench_glm_stream.py --gaps      # objective gaps of fit to scikit-learn's GLMs

Streams (seeded; log mu = X w + b with X standard normal / sqrt(d), w and b
fixed): ``poisson`` counts, ``gamma`` amounts (shape 2), ``tweedie``
compound Poisson-gamma amounts (power 1.5, many exact zeros).

Both learners are scored prequentially on the rows after the first refit
block: each row is predicted by the model of the rows before it (streamlr:
the online model, which then learns the row; scikit-learn: the GLM fitted on
every row before the current block). The score is the mean deviance
(scikit-learn's ``mean_tweedie_deviance`` with the loss's power, twice
streamlr's ``progressive_loss_``); the truth's own deviance (the mean exp(X w
+ b) known) is the floor. Time: the online learner's ``partial_fit`` calls
(one per block) against the sum of the refits, median of repeats
(alternating). Same penalty for both: L2 with ``--alpha``.
"""
import argparse
import json
import time
import warnings

import numpy as np
from sklearn.linear_model import GammaRegressor, PoissonRegressor, TweedieRegressor
from sklearn.metrics import mean_tweedie_deviance
from suite_report import cpu_model

from streamlr import SGDRegressor

POWERS = {"poisson": 1.0, "gamma": 2.0, "tweedie": 1.5}

# the online learners: (label, SGDRegressor keywords): one fixed rate, and
# three without a rate to choose
ONLINE = (
    ("adagrad 0.1", dict(optimizer="adagrad", learning_rate="constant", eta0=0.1)),
    ("vw", dict(optimizer="vw")),
    ("adagrad, rate race", dict(optimizer="adagrad", learning_rate="auto")),
    ("optimizer=auto", dict(optimizer="auto")),
)


def stream(kind, n, d, seed=0):
    """(X, y, mu): rows, targets and the true means."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 1.0, d) * (rng.random(d) < 0.5)
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    b = {"poisson": 1.0, "gamma": 3.0, "tweedie": 0.5}[kind]
    mu = np.exp(X @ w + b)
    if kind == "poisson":
        y = rng.poisson(mu).astype(np.float64)
    elif kind == "gamma":
        y = rng.gamma(2.0, mu / 2.0)
    else:
        # compound Poisson-gamma with power 1.5: N ~ Poisson(lam), each claim
        # Gamma(shape a, scale s), a = (2 - p) / (p - 1) = 1, lam = mu^(2-p) / (phi (2-p)),
        # s = phi (p - 1) mu^(p-1), dispersion phi = 1
        lam = mu ** 0.5 / 0.5
        counts = rng.poisson(lam)
        scale = 0.5 * mu ** 0.5
        y = np.array([rng.gamma(c, s) if c else 0.0 for c, s in zip(counts, scale, strict=True)])
    return X, y, mu


def batch_model(kind, alpha):
    kw = dict(alpha=alpha, max_iter=1000, tol=1e-6)
    if kind == "poisson":
        return PoissonRegressor(**kw)
    if kind == "gamma":
        return GammaRegressor(**kw)
    return TweedieRegressor(power=1.5, link="log", **kw)


def run_batch(kind, X, y, block, alpha):
    """(predictions of the rows after the first block, seconds of all refits)."""
    pred = np.empty(X.shape[0] - block)
    seconds = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lo in range(block, X.shape[0], block):
            start = time.perf_counter()
            model = batch_model(kind, alpha).fit(X[:lo], y[:lo])
            seconds += time.perf_counter() - start
            pred[lo - block:lo] = model.predict(X[lo:lo + block])
    return pred, seconds


def run_online(kind, X, y, block, alpha, kw):
    """(mean deviance of the rows after the first block, seconds of all
    partial_fit calls)."""
    est = SGDRegressor(loss=kind, power=1.5, penalty="l2", alpha=alpha, shuffle=False, **kw)
    seconds, after_first = 0.0, None
    for lo in range(0, X.shape[0], block):
        start = time.perf_counter()
        est.partial_fit(X[lo:lo + block], y[lo:lo + block])
        seconds += time.perf_counter() - start
        if lo == 0:
            after_first = est.progressive_loss_ * block
    total = est.progressive_loss_ * X.shape[0]
    return 2.0 * (total - after_first) / (X.shape[0] - block), seconds


def objective_gaps(n=1000, d=5, seed=0):
    """Rows (loss, parameter, alpha, relative gap): the objective a 150-epoch
    ``fit`` reaches over the optimum of scikit-learn's batch twin, on the
    data of tests/test_glm_losses.py (penalty l2 with the same alpha for
    the GLMs; QuantileRegressor: penalty l1)."""
    from sklearn.linear_model import QuantileRegressor
    from sklearn.metrics import mean_pinball_loss
    rng = np.random.RandomState(seed)
    X = 0.5 * rng.randn(n, d)
    eta = X @ np.array([0.3, -0.2, 0.1, 0.0, 0.5]) + 0.5
    mu = np.exp(eta)
    cases = [("poisson", 1.0, rng.poisson(mu).astype(float)),
             ("gamma", 2.0, rng.gamma(2.0, mu / 2.0)),
             ("tweedie", 1.5, rng.poisson(mu) * rng.gamma(2.0, 0.5, size=n)),
             ("quantile", 0.5, eta + rng.randn(n)),
             ("quantile", 0.9, eta + rng.randn(n))]
    rows = []
    for name, k, y in cases:
        for alpha in (0.001, 0.01):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "quantile":
                    sk = QuantileRegressor(alpha=alpha, quantile=k, solver="highs").fit(X, y)
                    est = SGDRegressor(loss=name, quantile=k, penalty="l1", alpha=alpha,
                                       learning_rate="invscaling", eta0=0.1, power_t=0.5,
                                       max_iter=300, tol=None, random_state=0).fit(X, y)
                else:
                    sk = TweedieRegressor(power=k, link="log", alpha=alpha, tol=1e-12,
                                          max_iter=10_000).fit(X, y)
                    est = SGDRegressor(loss=name, power=k, penalty="l2", alpha=alpha,
                                       learning_rate="constant", eta0=0.01, average=True,
                                       max_iter=150, tol=None, random_state=0).fit(X, y)

            def objective(coef, b, name=name, k=k, y=y, alpha=alpha):
                p = X @ coef + b
                if name == "quantile":
                    return mean_pinball_loss(y, p, alpha=k) + alpha * np.abs(coef).sum()
                return 0.5 * mean_tweedie_deviance(y, np.exp(p), power=k) + 0.5 * alpha * coef @ coef

            ref = objective(sk.coef_, sk.intercept_)
            rows.append((name, k, alpha, objective(est.coef_, est.intercept_[0]) / ref - 1.0))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--refit", type=int, default=1000)
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--streams", default="poisson,gamma,tweedie")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--gaps", action="store_true",
                        help="only print the objective gaps of fit to scikit-learn's optimum")
    args = parser.parse_args(argv)
    if args.gaps:
        print("objective of a 150-epoch fit (quantile: 300) over scikit-learn's optimum - 1")
        for name, k, alpha, gap in objective_gaps():
            print(f"{name:8} {k:4} alpha {alpha:<6} {gap:+.1e}")
        return
    print(f"CPU: {cpu_model()}; {args.rows} rows x {args.features} features; refit every "
          f"{args.refit} rows; alpha {args.alpha}; repeats: {args.repeats} (median time)")
    print(f"{'stream':8} {'learner':18} {'deviance':>9} {'vs batch':>9} {'seconds':>9} "
          f"{'cost':>8}")
    results = []
    for kind in args.streams.split(","):
        X, y, mu = stream(kind, args.rows, args.features)
        tail = slice(args.refit, None)
        truth = mean_tweedie_deviance(y[tail], mu[tail], power=POWERS[kind])
        times = {"batch": []}
        devs = {}
        for _ in range(args.repeats):
            pred, sec = run_batch(kind, X, y, args.refit, args.alpha)
            times["batch"].append(sec)
            devs["batch"] = mean_tweedie_deviance(y[tail], pred, power=POWERS[kind])
            for label, kw in ONLINE:
                dev, sec = run_online(kind, X, y, args.refit, args.alpha, kw)
                times.setdefault(label, []).append(sec)
                devs[label] = dev
        batch_s = float(np.median(times["batch"]))
        print(f"{kind:8} {'truth':18} {truth:9.4f}")
        for label in ["batch", *(lbl for lbl, _ in ONLINE)]:
            sec = float(np.median(times[label]))
            rel = devs[label] / devs["batch"] - 1.0
            print(f"{kind:8} {label:18} {devs[label]:9.4f} {rel:+9.2%} {sec:9.3f} "
                  f"{sec / batch_s:8.2%}")
            results.append(dict(stream=kind, learner=label, deviance=devs[label],
                                vs_batch=rel, seconds=sec, cost=sec / batch_s, truth=truth))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(cpu=cpu_model(), args=vars(args), results=results), fh, indent=1)


if __name__ == "__main__":
    main()
