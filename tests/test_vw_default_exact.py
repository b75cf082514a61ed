"""Vowpal Wabbit's default rate (``Normalized()``: adaptive, normalized,
power_t = 0.5) bitwise against a scalar reference of its arithmetic.

The kernel's fast path for this rate works over chunks of a row, computes
its square roots and divisions in vector registers, skips the division of
x^2 / N^2 when it is exactly 1 and reuses the first pass's denominators in
the second pass (optimizers.pxd, ``_vw_default_prepare``/``_apply``). None
of this may change a bit: the reference below does the same operations one
coordinate at a time, in the row's order, on rows with repeated indices
(whose G and N change between their occurrences), zeros, values below VW's
smallest |x|, and rows longer than a chunk and than the cache.
"""
import math

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from streamlr import SGDRegressor
from streamlr._kernels._hashing import EventHasher
from streamlr.optim import Normalized

X_MIN = 1.084202e-19
BITS = 6        # 64 columns: a long crossed row repeats many of them


def _events(seed, sizes):
    """Namespaced events (``a`` and ``b``, crossed as VW's -q ab): strings
    (value 1), +-1, other numbers, zeros and values below VW's smallest |x|."""
    rng = np.random.default_rng(seed)
    events = []
    for na, nb in sizes:
        ev = {}
        for ns, n in (("a", na), ("b", nb)):
            feats = {}
            for k in range(n):
                kind = rng.integers(0, 5)
                feats[f"f{k}"] = ("s", 1.0, -1.0, float(rng.normal() * 3), 0.0)[kind]
                if rng.random() < 0.01:
                    feats[f"f{k}"] = 1e-21
            ev[ns] = feats
        events.append(ev)
    return events


def _dot(blk, vals, idx):
    # the learning loop's prediction (rows.pxi _dot): lane k % 8 of the
    # first multiple of 8 values, the rest on lane 0, plus the intercept
    a = [0.0] * 8
    m = len(idx) - len(idx) % 8
    for k, (xv, j) in enumerate(zip(vals.tolist(), idx.tolist(), strict=True)):
        a[k % 8 if k < m else 0] += blk.w[j] * xv
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))


class _Block:
    def __init__(self, n):
        self.w, self.G, self.N = np.zeros(n), np.zeros(n), np.zeros(n)


def _prepare(blk, vals, idx, g2):
    ppu = nx = 0.0
    for xv, j in zip(vals.tolist(), idx.tolist(), strict=True):
        if xv == 0.0:
            continue
        ax = max(abs(xv), X_MIN)
        x2 = ax * ax
        blk.G[j] = blk.G[j] + g2 * x2
        G, N = blk.G[j], blk.N[j]
        if ax > N:
            if N > 0.0:
                blk.w[j] = blk.w[j] * (N / ax)
            blk.N[j] = ax
            N = ax
        nx += x2 / (N * N)
        ppu += x2 / (math.sqrt(G) * N)
    return ppu, nx


def _apply(blk, vals, idx, step):
    for xv, j in zip(vals.tolist(), idx.tolist(), strict=True):
        if xv == 0.0:
            continue
        if abs(xv) < X_MIN:
            xv = X_MIN if xv > 0 else -X_MIN
        blk.w[j] = 1.0 * blk.w[j] + step * xv / (math.sqrt(blk.G[j]) * blk.N[j])


def _learn(coef, inter, scal, vals, idx, y, p, invariant, eta=0.5):
    d = p - y
    cur = 0.5 * (p - y) * (p - y)
    g2 = 1.0 * d * d
    if not (g2 > 0.0 and (cur > 0.0 or p == 0.0)):
        return
    ppu, nx = _prepare(coef, vals, idx, g2)
    ppu, nx = 0.0 + ppu, 0.0 + nx
    pi, ni = _prepare(inter, np.ones(1), np.zeros(1, np.intc), g2)
    ppu, nx = ppu + pi, nx + ni
    scal["total_weight"] += 1.0
    scal["sum_norm_x"] += 1.0 * nx
    mult = 1.0
    if scal["sum_norm_x"] > 0.0:
        mult = math.sqrt(scal["total_weight"] / scal["sum_norm_x"])
    ppu *= mult
    if not 0.0 < ppu < math.inf:
        return
    scale = eta * 1.0
    if invariant:
        u = (p - y) * math.expm1(-(scale * ppu)) / ppu
    else:
        u = -scale * d
    _apply(coef, vals, idx, u * mult)
    _apply(inter, np.ones(1), np.zeros(1, np.intc), u * mult)


@pytest.mark.parametrize("invariant", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_default_rate_is_its_scalar_arithmetic(seed, invariant):
    # crossed rows of 0 to ~2,500 values (chunks of 64, a cache of 1,024)
    sizes = [(0, 0), (1, 1), (2, 3), (7, 9), (8, 8), (1, 70), (30, 40), (3, 2), (50, 50),
             (40, 20), (11, 6), (1, 0)] * 2
    events = _events(seed, sizes)
    y = np.random.default_rng(seed + 10).normal(size=len(events)) * 2
    hasher = EventHasher(BITS, [b"ab"])
    est = SGDRegressor(optimizer=Normalized(invariant=invariant), penalty=None,
                       hash_bits=BITS, interactions=["ab"])
    coef, inter = _Block(1 << BITS), _Block(1)
    scal = {"total_weight": 0.0, "sum_norm_x": 0.0}
    repeats = 0
    for event, target in zip(events, y.tolist(), strict=True):
        vals, idx = hasher.hash_one(event)
        repeats += len(idx) - len(set(idx.tolist()))
        p = _dot(coef, vals, idx) + inter.w[0]
        _learn(coef, inter, scal, vals, idx, target, p, invariant)
        est.learn_one(event, target)
        assert_array_equal(est.coef_, coef.w)
        assert_array_equal(est.intercept_, inter.w[0])
    assert repeats > 1000
    state = est.optimizer_state_
    assert_array_equal(state["sum_sq_grad"], coef.G)
    assert_array_equal(state["max_abs_x"], coef.N)
    assert_array_equal(state["sum_sq_grad_intercept"], inter.G[0])
    assert_array_equal(state["max_abs_x_intercept"], inter.N[0])
