"""Naive NumPy oracles for the optimizers of ``streamlr.optim``.

Written from the documented formulas (the docstrings of ``streamlr.optim``
and the definitions of ``torch.optim``), one sample at a time, with plain
unscaled weights. Two modes:

* ``lazy=False`` (dense semantics): every coordinate is updated at every
  sample, as PyTorch does with batch size 1.
* ``lazy=True``: only the coordinates stored in the CSR row (and the
  intercept) are touched. An untouched coordinate keeps its weight and
  its state, except the exponentially decaying averages that the package
  catches up exactly (RMSprop's ``square_avg``/``grad_avg``, Adadelta's
  ``square_avg``/``acc_delta``): those decay as if the gradient had been 0.
  Bias corrections and NAdam's momentum schedule use the global step t.

The averaged model is the arithmetic mean of the iterates after each update
number s >= ``average`` (1-based), kept as a plain running sum.

``REFERENCES`` holds one ``RuleReference`` per optimizer of the registry
(``streamlr._registry.optimizers()``), keyed by its name; ``test_optim``
runs every registry row against it and fails for a row without one.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, wrightomega

# --------------------------------------------------------------------------
# the rules, keyed by the registry's name (the spec class name)
# --------------------------------------------------------------------------


def _always(p):
    return True


@dataclass(frozen=True)
class RuleReference:
    """The NumPy model of one update rule.

    ``step(p, w, g, S, J, t, lr, intercept, ctx)`` applies one step to the
    coordinates J of w (in place): ``p`` the spec's parameters, ``g`` the
    gradient of the coordinates J, ``S`` the full state arrays, ``t`` the
    1-based global step, ``lr`` the schedule's rate, ``ctx`` the per-problem
    scalar state. ``slots(p)`` names the state arrays, ``initial(p, slot)``
    their start value, ``decaying(p)`` the {slot: factor} that decay by
    themselves when g = 0 and that the lazy (sparse) semantics still catch
    up. ``scalars`` is the per-problem scalar state (initial values; or a
    function of ``p`` returning them) and
    ``advance(p, ctx, t)`` moves it once per sample, before the step.
    ``eta0`` is a rate the tests run the rule at; ``covers(p)`` says which
    parameterisations this reference models. ``at(p, w, S, b, Sb)``, when
    set, is the point ``(w_at, b_at)`` where the gradient (and the L2
    penalty) is taken instead of the served ``(w, b)`` (schedule-free's y);
    ``own_l1`` says the rule applies the L1 proximal step itself, reading
    its strength (alpha * l1_ratio) from ``ctx["l1_strength"]``.

    A rule whose step couples every coordinate of the problem (Prodigy's d)
    gives ``joint(p, w, b, g, gb, S, Sb, J, t, lr, ctx)`` instead of
    ``step``: one step of the coefficients J and the intercept together
    (``gb`` None without one); it returns the rate the L1 proximal step
    takes, or None for a skipped sample (no proximal step).

    A rule that is not a step of the gradient (Vowpal Wabbit's,
    ``Normalized``) gives ``row(p, w, b, x, y, pred, loss, imp, lr, S, Sb,
    ctx, fit_intercept, l2, l1)`` instead, which updates the whole row (``x``
    its dense values, ``pred`` the prediction, ``loss`` a ``LossFunctions``
    of the sample's loss, ``imp`` its importance) and the intercept ``b``.
    """

    step: Callable | None
    slots: Callable
    initial: Callable = lambda p, slot: 0.0
    decaying: Callable = lambda p: {}
    scalars: dict | Callable = field(default_factory=dict)
    advance: Callable | None = None
    eta0: float = 0.05
    covers: Callable = _always
    joint: Callable | None = None
    at: Callable | None = None
    own_l1: bool = False
    row: Callable | None = None


def _sgd(p, w, g, S, J, t, lr, intercept, ctx):
    mom, damp, nest = p["momentum"], p["dampening"], p["nesterov"]
    if mom == 0:
        w[J] = w[J] - lr * g
        return
    buf = S["momentum_buffer"]
    if t == 1:
        buf[J] = g
    else:
        buf[J] = mom * buf[J] + (1.0 - damp) * g
    d = g + mom * buf[J] if nest else buf[J]
    w[J] = w[J] - lr * d


def _adagrad(p, w, g, S, J, t, lr, intercept, ctx):
    s = S["sum"]
    s[J] = s[J] + g * g
    w[J] = w[J] - lr * g / (np.sqrt(s[J]) + p["eps"])


def _rmsprop(p, w, g, S, J, t, lr, intercept, ctx):
    a, eps, mom = p["alpha"], p["eps"], p["momentum"]
    sq = S["square_avg"]
    sq[J] = a * sq[J] + (1.0 - a) * g * g
    if p["centered"]:
        ga = S["grad_avg"]
        ga[J] = a * ga[J] + (1.0 - a) * g
        avg = np.sqrt(sq[J] - ga[J] ** 2) + eps
    else:
        avg = np.sqrt(sq[J]) + eps
    if mom > 0:
        buf = S["momentum_buffer"]
        buf[J] = mom * buf[J] + g / avg
        w[J] = w[J] - lr * buf[J]
    else:
        w[J] = w[J] - lr * g / avg


def _adadelta(p, w, g, S, J, t, lr, intercept, ctx):
    rho, eps = p["rho"], p["eps"]
    v, u = S["square_avg"], S["acc_delta"]
    v[J] = rho * v[J] + (1.0 - rho) * g * g
    delta = np.sqrt(u[J] + eps) / np.sqrt(v[J] + eps) * g
    u[J] = rho * u[J] + (1.0 - rho) * delta * delta
    w[J] = w[J] - lr * delta


def _adam(p, w, g, S, J, t, lr, intercept, ctx):
    b1, b2 = p["betas"]
    eps = p["eps"]
    m, v = S["exp_avg"], S["exp_avg_sq"]
    m[J] = b1 * m[J] + (1.0 - b1) * g
    v[J] = b2 * v[J] + (1.0 - b2) * g * g
    if p["amsgrad"]:
        vm = S["max_exp_avg_sq"]
        vm[J] = np.maximum(vm[J], v[J])
        vhat = vm[J]
    else:
        vhat = v[J]
    if p.get("bias_correction", True):
        step = lr / (1.0 - b1 ** t)
        denom = np.sqrt(vhat) / np.sqrt(1.0 - b2 ** t) + eps
    else:
        step = lr
        denom = np.sqrt(vhat) + eps
    w[J] = w[J] - step * m[J] / denom


def _adamw(p, w, g, S, J, t, lr, intercept, ctx):
    if not intercept:
        # decoupled decay of the weight (the gradient was taken before)
        w[J] = w[J] * (1.0 - lr * p["weight_decay"])
    _adam(p, w, g, S, J, t, lr, intercept, ctx)


def _adam_slots(p):
    return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if p["amsgrad"] else ())


def _adamax(p, w, g, S, J, t, lr, intercept, ctx):
    b1, b2 = p["betas"]
    m, u = S["exp_avg"], S["exp_inf"]
    m[J] = b1 * m[J] + (1.0 - b1) * g
    u[J] = np.maximum(b2 * u[J], np.abs(g) + p["eps"])
    w[J] = w[J] - lr / (1.0 - b1 ** t) * m[J] / u[J]


def _nadam_mu(b1, psi, t):
    return b1 * (1.0 - 0.5 * 0.96 ** (t * psi))


def _nadam_advance(p, ctx, t):
    ctx["mu_product"] *= _nadam_mu(p["betas"][0], p["momentum_decay"], t)


def _nadam(p, w, g, S, J, t, lr, intercept, ctx):
    b1, b2 = p["betas"]
    mu = _nadam_mu(b1, p["momentum_decay"], t)
    mu_next = _nadam_mu(b1, p["momentum_decay"], t + 1)
    prod = ctx["mu_product"]  # already includes mu of this step
    m, v = S["exp_avg"], S["exp_avg_sq"]
    m[J] = b1 * m[J] + (1.0 - b1) * g
    v[J] = b2 * v[J] + (1.0 - b2) * g * g
    denom = np.sqrt(v[J] / (1.0 - b2 ** t)) + p["eps"]
    w[J] = (w[J] - lr * (1.0 - mu) / (1.0 - prod) * g / denom
            - lr * mu_next / (1.0 - prod * mu_next) * m[J] / denom)


def _radam(p, w, g, S, J, t, lr, intercept, ctx):
    # Liu et al. 2020, with torch.optim.RAdam's placement of eps
    b1, b2 = p["betas"]
    m, v = S["exp_avg"], S["exp_avg_sq"]
    m[J] = b1 * m[J] + (1.0 - b1) * g
    v[J] = b2 * v[J] + (1.0 - b2) * g * g
    m_hat = m[J] / (1.0 - b1 ** t)
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    rho_t = rho_inf - 2.0 * t * b2 ** t / (1.0 - b2 ** t)
    if rho_t > 5.0:
        rect = np.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                       / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
        adaptive = np.sqrt(1.0 - b2 ** t) / (np.sqrt(v[J]) + p["eps"])
        w[J] = w[J] - lr * m_hat * rect * adaptive
    else:
        w[J] = w[J] - lr * m_hat


def _ftrl(p, w, g, S, J, t, lr, intercept, ctx):
    beta = p["beta"]
    l1, l2 = (0.0, 0.0) if intercept else (p["l1"], p["l2"])
    z, n = S["z"], S["n"]
    n_old = n[J].copy()
    n_new = n_old + g * g
    sigma = (np.sqrt(n_new) - np.sqrt(n_old)) / lr
    z[J] = z[J] + g - sigma * w[J]
    n[J] = n_new
    zj = z[J]
    neww = -(zj - np.sign(zj) * l1) / ((beta + np.sqrt(n_new)) / lr + l2)
    w[J] = np.where(np.abs(zj) <= l1, 0.0, neww)


def _cocob(p, w, g, S, J, t, lr, intercept, ctx):
    # Orabona & Tommasi 2017, COCOB-Backprop per coordinate, in the order of
    # parameterfree.COCOB; no rate (lr unused). The weights start at 0, so
    # the starting point x0 is its initial 0.
    theta, G, L, R, x0 = (S["sum_negative_gradients"], S["grad_norm_sum"], S["L"],
                          S["reward"], S["x0"])
    L[J] = np.maximum(L[J], np.abs(g))
    theta[J] = theta[J] - g
    G[J] = G[J] + np.abs(g)
    R[J] = np.maximum(R[J] - g * (w[J] - x0[J]), 0.0)
    den = np.maximum(G[J] + L[J], p["alpha"] * L[J]) * L[J]
    w[J] = (R[J] + L[J]) * theta[J] / den + x0[J]


def _prodigy_scalars(p):
    d0 = float(p["d0"])
    return {"d": d0, "d_max": d0, "d_numerator": 0.0, "k": 0.0, "s_abs_sum": 0.0}


def _prodigy_slots(p):
    return (("exp_avg",) if p["betas"][0] > 0 else ()) + ("exp_avg_sq", "s", "p0")


def _prodigy(p, w, b, g, gb, S, Sb, J, t, lr, ctx):
    # Mishchenko & Defazio 2024, in the order of prodigyopt.Prodigy with
    # growth_rate=inf and lr the schedule's rate: one d for the coefficients
    # J and the intercept. Lazy rows: the coordinates outside J keep their
    # state, and their |s| stays in the sum of |s| (taken over all of them).
    if not lr > 0:
        return None  # a rate of 0: the reference leaves everything as it is
    b1, b2 = p["betas"]
    b3 = np.sqrt(b2) if p["beta3"] is None else p["beta3"]
    d, d0, k = ctx["d"], p["d0"], ctx["k"]
    dlr = d * lr
    if p["use_bias_correction"]:
        dlr = dlr * (np.sqrt(1.0 - b2 ** (k + 1)) / (1.0 - b1 ** (k + 1)))
    s_factor = (d / d0) * (d if p["safeguard_warmup"] else dlr)
    parts = [(w, g, S, J, p["weight_decay"])]
    if gb is not None:
        parts.append((b, gb, Sb, np.zeros(1, dtype=np.intp), 0.0))
    dot = 0.0
    for x, gx, St, idx, _ in parts:
        dot += float(gx @ (St["p0"][idx] - x[idx]))
        if b1 > 0:
            St["exp_avg"][idx] = b1 * St["exp_avg"][idx] + d * (1.0 - b1) * gx
        St["exp_avg_sq"][idx] = b2 * St["exp_avg_sq"][idx] + d * d * (1.0 - b2) * gx * gx
        St["s"][idx] = b3 * St["s"][idx] + s_factor * gx
    denom = float(np.abs(S["s"]).sum() + np.abs(Sb["s"]).sum())
    ctx["s_abs_sum"] = denom
    if denom == 0.0:
        return None  # no gradient yet: the reference returns before the step
    numerator = b3 * ctx["d_numerator"] + (d / d0) * dlr * dot
    ctx["d_max"] = max(ctx["d_max"], p["d_coef"] * numerator / denom)
    ctx["d"] = ctx["d_max"]
    ctx["d_numerator"] = numerator
    ctx["k"] = k + 1.0
    d = ctx["d"]
    for x, gx, St, idx, decay in parts:
        den = np.sqrt(St["exp_avg_sq"][idx]) + d * p["eps"]
        x[idx] = x[idx] - decay * dlr * x[idx]
        if b1 > 0:
            x[idx] = x[idx] - dlr * St["exp_avg"][idx] / den
        else:
            x[idx] = x[idx] - dlr * d * gx / den
    return dlr


def _sf_beta(p):
    return p["momentum"] if "momentum" in p else p["betas"][0]


def _sf_at(p, w, S, b, Sb):
    # the gradient point y = (1 - beta) z + beta x
    beta = _sf_beta(p)
    return (1.0 - beta) * S["z"] + beta * w, (1.0 - beta) * Sb["z"] + beta * b


def _sf_constants(p, ctx, t, lr):
    """The per-sample quantities (warmed-up rate, ckp1, bias correction),
    advancing the scalars k, weight_sum, lr_max once per sample t."""
    if ctx.get("_t") != t:
        k = ctx["k"]
        warm = p["warmup_steps"]
        lr_k = lr * ((k + 1) / warm if k < warm else 1.0)
        ctx["lr_max"] = max(lr_k, ctx["lr_max"])
        weight = (k + 1) ** p["r"] * ctx["lr_max"] ** p["weight_lr_power"]
        ctx["weight_sum"] = ctx["weight_sum"] + weight
        ckp1 = weight / ctx["weight_sum"] if ctx["weight_sum"] != 0 else 0.0
        b2 = p["betas"][1] if "betas" in p else 0.0
        ctx["_c"] = (lr_k, ckp1, 1.0 - b2 ** (k + 1))
        ctx["k"] = k + 1
        ctx["_t"] = t
    return ctx["_c"]


def _schedulefree(p, w, g, S, J, t, lr, intercept, ctx):
    # Defazio et al. 2024, written for the averaged point x = w (see the
    # docstring of ScheduleFreeSGD): z takes the base step, x follows it
    lr_k, ckp1, bc2 = _sf_constants(p, ctx, t, lr)
    z = S["z"]
    if "betas" in p:
        beta = p["betas"][0]
        v = S["exp_avg_sq"]
        v[J] = p["betas"][1] * v[J] + (1.0 - p["betas"][1]) * g * g
        d = g / (np.sqrt(v[J] / bc2) + p["eps"])
        if not intercept:
            d = d + p["weight_decay"] * ((1.0 - beta) * z[J] + beta * w[J])
    else:
        d = g
    zj = z[J] - lr_k * d
    thr = 0.0 if intercept else lr_k * ctx.get("l1_strength", 0.0)
    if thr > 0:
        zj = np.sign(zj) * np.maximum(np.abs(zj) - thr, 0.0)
    z[J] = zj
    w[J] = w[J] + ckp1 * (z[J] - w[J])


_SF_SCALARS = {"k": 0.0, "weight_sum": 0.0, "lr_max": -1.0}
def _normalized_row(p, w, b, x, y, pred, loss, imp, lr, S, Sb, ctx, fit_intercept, l2, l1):
    # Vowpal Wabbit's update (gd.cc), written from the documented formulas of
    # streamlr.optim.Normalized: two passes over the nonzero entries of the
    # row and the intercept (x = 1), the loss's invariant update in between
    adaptive, normalized, invariant, pt = (p["adaptive"], p["normalized"], p["invariant"],
                                           float(p["power_t"]))
    if imp <= 0:
        return
    t_before = ctx["weighted_t"]
    ctx["weighted_t"] = t_before + imp
    d = loss.dloss(y, pred)
    # nothing learnt from a squared gradient that is (or underflows to) 0
    # nor from a loss that is 0 as VW finds it, in float32 (but for a zero
    # prediction: the perceptron on its boundary)
    if not imp * d * d > 0 or not ((loss.value(y, pred) > 0 and not loss.vw_zero(y, pred))
                                   or pred == 0):
        return
    # VW 9's exponent of N^2: power_t - 1, without adaptive rates too, but -1
    # on its square-root path (power_t = 0.5) without them
    q = -1.0 if (not adaptive and pt == 0.5) else pt - 1.0
    coords = [(w, S, j, float(x[j])) for j in np.flatnonzero(x)]
    if fit_intercept:
        coords.append((b, Sb, 0, 1.0))
    rates, ppu, norm_x = [], 0.0, 0.0
    for vec, st, j, xv in coords:
        r = 1.0
        if adaptive:
            st["sum_sq_grad"][j] += imp * d * d * xv * xv
            G = st["sum_sq_grad"][j]
            r = G ** -pt if G > 0 else np.inf  # G underflowed to 0 (see below)
        if normalized:
            n = st["max_abs_x"]
            if abs(xv) > n[j]:
                if n[j] > 0:
                    vec[j] *= (abs(xv) / n[j]) ** (2.0 * q)
                n[j] = abs(xv)
            norm_x += (xv / n[j]) ** 2
            r *= (n[j] ** 2) ** q
        rates.append(r)
        ppu += xv * xv * r
    mult = 1.0
    if normalized:
        ctx["total_weight"] += imp
        ctx["normalized_sum_norm_x"] += imp * norm_x
        if ctx["normalized_sum_norm_x"] > 0:
            mult = (ctx["normalized_sum_norm_x"] / ctx["total_weight"]) ** q
        ppu *= mult
    if not 0 < ppu < np.inf:  # infinite: a new coordinate's G underflowed to 0
        return
    scale = lr * imp * (1.0 if adaptive else (t_before + imp) ** -pt)
    u = loss.flow(y, pred, scale * ppu) / ppu if invariant else -scale * d
    eta_bar = -u / d  # the penalties act at the update's own rate
    shrink = max(0.0, 1.0 - l2 * eta_bar)
    for (vec, _, j, xv), r in zip(coords, rates, strict=True):
        vec[j] = (shrink if vec is w else 1.0) * vec[j] + u * mult * xv * r
    if l1 > 0:
        J = np.flatnonzero(x)
        thr = eta_bar * l1
        w[J] = np.sign(w[J]) * np.maximum(np.abs(w[J]) - thr, 0.0)


def _normalized_scalars(p):
    # VW's t starts at its initial_t: 1 for the plain rule, 0 otherwise
    t0 = 0.0 if (p["adaptive"] or p["normalized"]) else 1.0
    return {"total_weight": 0.0, "normalized_sum_norm_x": 0.0, "weighted_t": t0}


def _no_step(*args):
    raise AssertionError("a row rule has no per-coordinate step")


REFERENCES = {
    # plain SGD (no momentum) is scikit-learn's update, with its quirks;
    # test_parity_sklearn checks it against scikit-learn itself
    "SGD": RuleReference(
        _sgd, lambda p: ("momentum_buffer",) if p["momentum"] > 0 else (),
        covers=lambda p: p["momentum"] > 0),
    "Adagrad": RuleReference(
        _adagrad, lambda p: ("sum",),
        initial=lambda p, slot: float(p["initial_accumulator_value"]) if slot == "sum" else 0.0,
        eta0=0.1),
    "RMSprop": RuleReference(
        _rmsprop,
        lambda p: (("square_avg",) + (("momentum_buffer",) if p["momentum"] > 0 else ())
                   + (("grad_avg",) if p["centered"] else ())),
        decaying=lambda p: {"square_avg": p["alpha"], "grad_avg": p["alpha"]},
        eta0=0.01),
    "Adadelta": RuleReference(
        _adadelta, lambda p: ("square_avg", "acc_delta"),
        decaying=lambda p: {"square_avg": p["rho"], "acc_delta": p["rho"]},
        eta0=1.0),
    "Adam": RuleReference(_adam, _adam_slots),
    "AdamW": RuleReference(_adamw, _adam_slots),
    "Adamax": RuleReference(_adamax, lambda p: ("exp_avg", "exp_inf")),
    "NAdam": RuleReference(_nadam, lambda p: ("exp_avg", "exp_avg_sq"),
                           scalars={"mu_product": 1.0}, advance=_nadam_advance),
    "RAdam": RuleReference(_radam, lambda p: ("exp_avg", "exp_avg_sq")),
    "FTRL": RuleReference(_ftrl, lambda p: ("z", "n"), eta0=0.5),
    "COCOB": RuleReference(
        _cocob, lambda p: ("sum_negative_gradients", "grad_norm_sum", "L", "reward", "x0"),
        initial=lambda p, slot: float(p["eps"]) if slot == "L" else 0.0),
    # learning_rate strings run it at its default rate 1.0: eta0 = 1.0 is that
    "Prodigy": RuleReference(None, _prodigy_slots, scalars=_prodigy_scalars, eta0=1.0,
                             joint=_prodigy),
    # run at their default rate (learning_rate strings are ignored)
    "ScheduleFreeSGD": RuleReference(
        _schedulefree, lambda p: ("z",), scalars=_SF_SCALARS, eta0=1.0, at=_sf_at, own_l1=True),
    "ScheduleFreeAdamW": RuleReference(
        _schedulefree, lambda p: ("z", "exp_avg_sq"), scalars=_SF_SCALARS, eta0=0.0025,
        at=_sf_at, own_l1=True),
    # the rule runs at its default rate (learning_rate strings are ignored)
    "Normalized": RuleReference(
        _no_step,
        lambda p: (("sum_sq_grad",) if p["adaptive"] else ()) + (
            ("max_abs_x",) if p["normalized"] else ()),
        scalars=_normalized_scalars, row=_normalized_row, eta0=0.5),
}


def reference(opt):
    """(RuleReference, parameters) of a streamlr.optim spec object."""
    return REFERENCES[type(opt).__name__], dict(opt.get_params(deep=False))


def slot_names(opt):
    ref, p = reference(opt)
    return ref.slots(p)


# --------------------------------------------------------------------------
# one binary problem
# --------------------------------------------------------------------------


def _rows(X):
    """Dense values and, per row, the stored column indices (all of them for
    a dense matrix)."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        dense = X.toarray().astype(np.float64)
        stored = [np.asarray(X.indices[X.indptr[i]:X.indptr[i + 1]], dtype=np.intp)
                  for i in range(X.shape[0])]
        return dense, stored
    dense = np.asarray(X, dtype=np.float64)
    return dense, None


def run_binary(X, target, dloss, opt, *, eta0, learning_rate="constant", power_t=0.25,
               penalty=None, alpha=1e-4, l1_ratio=0.15, fit_intercept=True,
               sample_weight=None, weight_pos=1.0, weight_neg=1.0, average=0,
               lazy=None, n_epochs=1):
    """Train one linear model sample by sample; returns a dict with the final
    ``coef``, ``intercept``, the averaged ones when averaging, the state
    slots (full arrays) and their ``<slot>_intercept`` scalars, the scalar
    state (NAdam's ``mu_product``) and ``t`` (updates made).

    ``target`` is in the loss's encoding; ``dloss(y, p)`` its derivative.
    ``lazy`` defaults to "CSR input" (True iff X is sparse).
    """
    Xd, stored = _rows(X)
    if lazy is None:
        lazy = stored is not None
    if lazy and stored is None:
        stored = [np.arange(Xd.shape[1])] * Xd.shape[0]
    n, d = Xd.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = np.zeros(d)
    b = np.zeros(1)
    ref, params = reference(opt)
    slots = ref.slots(params)
    S = {s: np.full(d, ref.initial(params, s)) for s in slots}
    Sb = {s: np.full(1, ref.initial(params, s)) for s in slots}
    decaying = {s: f for s, f in ref.decaying(params).items() if s in slots}
    ctx = dict(ref.scalars(params) if callable(ref.scalars) else ref.scalars)
    if penalty == "l2":
        l2, l1 = alpha, 0.0
    elif penalty == "l1":
        l2, l1 = 0.0, alpha
    elif penalty == "elasticnet":
        l2, l1 = alpha * (1.0 - l1_ratio), alpha * l1_ratio
    else:
        l2, l1 = 0.0, 0.0
    average = int(average)
    sum_w, sum_b, n_avg = np.zeros(d), 0.0, 0
    all_j = np.arange(d)
    zero = np.zeros(1, dtype=np.intp)
    t = 0
    for _ in range(n_epochs):
        for i in range(n):
            t += 1
            x = Xd[i]
            p = float(np.dot(w, x) + b[0])
            if learning_rate == "constant":
                lr = eta0
            elif learning_rate == "invscaling":
                lr = eta0 / t ** power_t
            else:
                raise ValueError(learning_rate)
            cw = weight_pos if target[i] > 0 else weight_neg
            if ref.row is not None:
                ref.row(params, w, b, x, target[i], p, LOSS_FUNCTIONS[dloss], cw * sw[i], lr,
                        S, Sb, ctx, fit_intercept, l2, l1)
                if average and t >= average:
                    sum_w += w
                    sum_b += b[0]
                    n_avg += 1
                continue
            # the margin p is the served model's; the gradient is taken at
            # (w_at, b_at), schedule-free's y
            w_at = w
            if ref.at is not None:
                w_at, b_at = ref.at(params, w, S, b, Sb)
                p = float(np.dot(w_at, x) + (b_at[0] if fit_intercept else b[0]))
            gs = dloss(target[i], p) * cw * sw[i]
            J = stored[i] if lazy else all_j
            if ref.advance is not None:
                ref.advance(params, ctx, t)
            if lazy and decaying:
                untouched = np.setdiff1d(all_j, J)
                for s, f in decaying.items():
                    S[s][untouched] *= f
            g = gs * x[J] + l2 * w_at[J]
            if ref.own_l1:
                ctx["l1_strength"] = l1
            if ref.joint is not None:
                rate = ref.joint(params, w, b, g, np.array([gs]) if fit_intercept else None,
                                 S, Sb, J, t, lr, ctx)
            else:
                ref.step(params, w, g, S, J, t, lr, False, ctx)
                rate = lr
            if l1 > 0 and rate is not None and not ref.own_l1:
                thr = rate * l1
                wj = w[J]
                w[J] = np.sign(wj) * np.maximum(np.abs(wj) - thr, 0.0)
            if fit_intercept and ref.joint is None:
                ref.step(params, b, np.array([gs]), Sb, zero, t, lr, True, ctx)
            if average and t >= average:
                sum_w += w
                sum_b += b[0]
                n_avg += 1
    out = {"coef": w, "intercept": b[0], "t": t}
    if average and n_avg:
        out["avg_coef"] = sum_w / n_avg
        out["avg_intercept"] = sum_b / n_avg
    for s in slots:
        out[s] = S[s]
        out[s + "_intercept"] = Sb[s][0]
    # per-problem scalar state (NAdam's mu_product); "_..." and the L1
    # strength are the reference's own bookkeeping
    out.update({k: v for k, v in ctx.items() if not k.startswith("_") and k != "l1_strength"})
    return out


# --------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------


def _d_squared(y, p):
    return p - y


def _d_log(y, p):
    return expit(p) - y


def _d_hinge(y, p):
    return -y if y * p <= 1.0 else 0.0


@dataclass(frozen=True)
class LossFunctions:
    """A loss as the row rules need it: its ``value(y, p)``, ``dloss(y, p)``
    and ``flow(y, p, a)``, how far the prediction moves when the gradient
    flow dp/dh = -a dloss(y, p) runs for unit time."""

    value: Callable
    dloss: Callable
    flow: Callable
    # whether VW finds the loss 0 (in float32); None: the value at float32
    # operands, computed in float64, is 0
    zero32: Callable | None = None

    def vw_zero(self, y, p):
        if self.zero32 is not None:
            return self.zero32(y, p)
        return not self.value(float(np.float32(y)), float(np.float32(p))) > 0


def _flow_squared(y, p, a):
    return (p - y) * np.expm1(-a)


def _flow_log(y, p, a):
    # y in {0, 1}; the margin z = s p solves z + e^z = z0 + e^z0 + a, i.e.
    # z = x - W(e^x) with x the right side: Wright's omega function
    s = 2.0 * y - 1.0
    z0 = s * p
    x = z0 + np.exp(z0) + a
    return s * ((x - np.real(wrightomega(x))) - z0)


def _flow_hinge(y, p, a):
    gap = 1.0 - y * p
    return y * min(a, gap) if gap > 0 else 0.0


def _zero32_log(y, p):
    # VW's float32 log(1 + exp(-z)) is 0 once exp(-z) <= 2^-24 (y in {0, 1})
    z = np.float32(p) if y == 1 else -np.float32(p)
    return bool(z > 0 and np.float32(np.exp(-np.float64(z))) <= np.float32(2.0 ** -24))


# the row rules' view of the losses, by the derivative run_binary receives
LOSS_FUNCTIONS = {
    _d_squared: LossFunctions(lambda y, p: 0.5 * (p - y) ** 2, _d_squared, _flow_squared),
    _d_log: LossFunctions(lambda y, p: np.logaddexp(0.0, p) - y * p, _d_log, _flow_log,
                          _zero32_log),
    _d_hinge: LossFunctions(lambda y, p: max(0.0, 1.0 - y * p), _d_hinge, _flow_hinge),
}


def _collect(results, regressor):
    """Stack per-problem results like the estimators' attributes."""
    averaged = "avg_coef" in results[0]
    key_c, key_b = ("avg_coef", "avg_intercept") if averaged else ("coef", "intercept")
    coef = np.array([r[key_c] for r in results])
    intercept = np.array([r[key_b] for r in results])
    state = {}
    for s in results[0]:
        if s in ("coef", "intercept", "avg_coef", "avg_intercept", "t"):
            continue
        arr = np.array([r[s] for r in results])
        if np.ndim(results[0][s]) == 0:  # <slot>_intercept, mu_product: one per problem
            state[s] = arr
        else:
            state[s] = arr[0] if regressor else arr
    if regressor:
        coef = coef[0]
    return {"coef": coef, "intercept": intercept, "state": state,
            "raw_coef": np.array([r["coef"] for r in results])}


def reference_regressor(X, y, opt, **kw):
    """SGDRegressor(loss="squared_error") with a non-SGD optimizer."""
    r = run_binary(X, np.asarray(y, dtype=np.float64), _d_squared, opt, **kw)
    return _collect([r], regressor=True)


def reference_classifier(X, y, opt, loss, class_weight=None, **kw):
    """SGDClassifier (one-vs-rest when more than two classes) with a non-SGD
    optimizer; ``loss`` is "log_loss" or "hinge". ``class_weight`` maps
    label -> weight."""
    y = np.asarray(y)
    classes = np.unique(y)
    dl = {"log_loss": _d_log, "hinge": _d_hinge}[loss]
    neg = 0.0 if loss == "log_loss" else -1.0
    cw = {c: 1.0 for c in classes}
    if class_weight:
        cw.update(class_weight)
    problems = [classes[1]] if len(classes) == 2 else list(classes)
    results = []
    for pos in problems:
        target = np.where(y == pos, 1.0, neg)
        if len(classes) == 2:
            wp, wn = cw[classes[1]], cw[classes[0]]
        else:
            wp, wn = cw[pos], 1.0
        results.append(run_binary(X, target, dl, opt, weight_pos=wp, weight_neg=wn, **kw))
    return _collect(results, regressor=False)
