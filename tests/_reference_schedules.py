"""Independent oracles for ``streamlr.schedules``.

Each rate is written from its published definition (PyTorch's scheduler
documentation, Keras's InverseTimeDecay, Bottou's rate as scikit-learn
seeds it), one element at a time with integer arithmetic where the
definition counts steps, so that it shares no code path with the package's
vectorised NumPy forms or its compiled twin. The schedule objects are read
only through ``get_params(deep=False)``. ``RATES`` holds one closed form per
schedule of the registry (``streamlr._registry.schedules()``), keyed by its
name.

Also here: ReduceLROnPlateau's rule as a plain Python state machine, and a
per-sample training loop (squared loss, no penalty) for plain SGD, Adagrad
and Adam with a rate given by a schedule.
"""

import math

import numpy as np

# --------------------------------------------------------------------------
# closed forms, one t at a time
# --------------------------------------------------------------------------


def _cosine_between(high, low, frac):
    """Half-cosine from ``high`` (frac = 0) down to ``low`` (frac = 1)."""
    return low + 0.5 * (high - low) * (1.0 + math.cos(math.pi * frac))


def _optimal_t0(alpha):
    # scikit-learn: typw = sqrt(1 / sqrt(alpha)); eta0 = typw / max(1, dloss(-typw, 1));
    # for the hinge loss dloss(-typw, 1) = -1, so eta0 = typw and t0 = 1 / (typw alpha)
    typw = alpha ** -0.25
    return 1.0 / (typw * alpha)


def _restart_window(t, T_0, T_mult):
    """(start, length) of the SGDR period containing integer step t."""
    if T_mult == 1:
        k = t // T_0
        return k * T_0, T_0
    # periods T_0 m^k start at T_0 (m^k - 1) / (m - 1): invert with a log,
    # then correct the integer k exactly
    k = math.floor(math.log(t * (T_mult - 1) / T_0 + 1, T_mult))
    k = max(k, 0)

    def begin(j):
        return T_0 * (T_mult ** j - 1) // (T_mult - 1)

    while begin(k + 1) <= t:
        k += 1
    while begin(k) > t:
        k -= 1
    return begin(k), T_0 * T_mult ** k


def _one_cycle(p, t):
    peak = float(p["lr_max"])
    first = peak / p["div_factor"]
    last = first / p["final_div_factor"]
    n = p["total_steps"]
    a = p["pct_start"] * n
    if p["three_phase"]:
        knots = [(0.0, first), (a - 1.0, peak), (2.0 * a - 2.0, first), (n - 1.0, last)]
    else:
        knots = [(0.0, first), (a - 1.0, peak), (n - 1.0, last)]
    if t >= n - 1:
        return last  # the rate of the last scheduled update, held for ever
    for (x0, y0), (x1, y1) in zip(knots, knots[1:], strict=False):
        if t <= x1:
            frac = (t - x0) / (x1 - x0)
            if p["anneal"] == "cos":
                return _cosine_between(y0, y1, frac)
            return y0 + (y1 - y0) * frac
    raise AssertionError("unreachable")


def _constant(p, t):
    return float(p["lr"])


def _invscaling(p, t):
    return p["lr"] / (t + 1.0) ** p["power_t"]


def _optimal(p, t):
    alpha = p["alpha"]
    return 1.0 / (alpha * (_optimal_t0(alpha) + t))


def _invtime(p, t):
    x = t / p["decay_steps"]
    if p["staircase"]:
        x = math.floor(x)
    return p["lr"] / (1.0 + p["decay_rate"] * x)


def _step(p, t):
    return p["lr"] * p["gamma"] ** (t // p["step_size"])


def _multistep(p, t):
    passed = sum(1 for m in p["milestones"] if m <= t)
    return p["lr"] * p["gamma"] ** passed


def _exponential(p, t):
    return p["lr"] * p["gamma"] ** t


def _polynomial(p, t):
    left = max(p["total_steps"] - t, 0)
    return p["lr"] * (left / p["total_steps"]) ** p["power"]


def _cosine(p, t):
    return _cosine_between(p["lr"], p["lr_min"], t / p["T_max"])


def _restarts(p, t):
    start, length = _restart_window(t, p["T_0"], p["T_mult"])
    return _cosine_between(p["lr"], p["lr_min"], (t - start) / length)


def _cyclic(p, t):
    up = p["step_size_up"]
    down = p["step_size_down"] if p["step_size_down"] is not None else up
    period = up + down
    k, pos = divmod(t, period)
    frac = pos / up if pos <= up else (period - pos) / down
    amp = p["lr_max"] - p["lr_min"]
    if p["mode"] == "triangular2":
        amp = amp / 2.0 ** k
    elif p["mode"] == "exp_range":
        amp = amp * p["gamma"] ** t
    return p["lr_min"] + amp * frac


def _warmup(p, t):
    inner, w, f = p["schedule"], p["warmup_steps"], p["start_factor"]
    if t < w:
        return reference_rate(inner, 0) * (f + (1.0 - f) * t / w)
    return reference_rate(inner, t - w)


def _sequential(p, t):
    begin = 0
    for sched, end in zip(p["schedules"], list(p["milestones"]) + [None], strict=True):
        if end is None or t < end:
            return reference_rate(sched, t - begin)
        begin = end
    raise AssertionError("unreachable")


# rate(params, t) of each schedule of the registry, keyed by its name;
# test_schedules fails for a registry row without one
RATES = {
    "Constant": _constant,
    "InverseScaling": _invscaling,
    "Optimal": _optimal,
    "Adaptive": _constant,
    "InverseTimeDecay": _invtime,
    "StepDecay": _step,
    "MultiStepDecay": _multistep,
    "ExponentialDecay": _exponential,
    "PolynomialDecay": _polynomial,
    "CosineAnnealing": _cosine,
    "CosineWarmRestarts": _restarts,
    "Cyclic": _cyclic,
    "OneCycle": _one_cycle,
    "Warmup": _warmup,
    "Sequential": _sequential,
    "ReduceOnPlateau": _constant,  # its cuts: PlateauReference below
}


def reference_rate(schedule, t):
    """The rate of ``schedule`` for update ``t + 1`` (t an integer >= 0)."""
    name = type(schedule).__name__
    if name not in RATES:
        raise NotImplementedError(name)
    return RATES[name](schedule.get_params(deep=False), int(t))


def reference_rates(schedule, ts):
    return np.array([reference_rate(schedule, t) for t in ts])


# --------------------------------------------------------------------------
# ReduceLROnPlateau (mode "min", relative threshold), as PyTorch documents it
# --------------------------------------------------------------------------


class PlateauReference:
    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4, cooldown=0, lr_min=0.0):
        self.lr = float(lr)
        self.factor, self.patience, self.threshold = factor, patience, threshold
        self.cooldown, self.lr_min = cooldown, lr_min
        self.best = math.inf
        self.bad = 0
        self.rest = 0

    def step(self, metric):
        if metric < self.best * (1.0 - self.threshold):
            self.best, self.bad = metric, 0
        else:
            self.bad += 1
        if self.rest > 0:  # cooling down: bad epochs are not counted
            self.rest -= 1
            self.bad = 0
        if self.bad > self.patience:
            cut = max(self.lr * self.factor, self.lr_min)
            if self.lr - cut > 1e-8:
                self.lr = cut
            self.rest = self.cooldown
            self.bad = 0
        return self.lr


def plateau_path(metrics, **kw):
    """Rate before each step on ``metrics``, and the rate after the last."""
    ref = PlateauReference(**kw)
    out = []
    for m in metrics:
        out.append(ref.lr)
        ref.step(m)
    out.append(ref.lr)
    return np.array(out)


# --------------------------------------------------------------------------
# one-sample-at-a-time training with a schedule (squared loss, no penalty)
# --------------------------------------------------------------------------


def train_with_schedule(X, y, schedule, rule, eps=None):
    """Weights and intercept after one pass; ``rule`` is "sgd", "adagrad" or
    "adam" with PyTorch's default hyperparameters; the rate of update t + 1
    is ``schedule(t)``."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    theta = np.zeros(d + 1)  # weights, then the intercept
    acc = np.zeros(d + 1)
    m = np.zeros(d + 1)
    v = np.zeros(d + 1)
    b1, b2 = 0.9, 0.999
    for t in range(n):
        xi = np.append(X[t], 1.0)
        pred = theta @ xi
        g = (pred - y[t]) * xi
        lr = schedule(t)
        if rule == "sgd":
            theta = theta - lr * g
        elif rule == "adagrad":
            acc = acc + g * g
            theta = theta - lr * g / (np.sqrt(acc) + (1e-10 if eps is None else eps))
        elif rule == "adam":
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mhat = m / (1 - b1 ** (t + 1))
            vhat = v / (1 - b2 ** (t + 1))
            theta = theta - lr * mhat / (np.sqrt(vhat) + (1e-8 if eps is None else eps))
        else:
            raise ValueError(rule)
    return theta[:d], theta[d]
