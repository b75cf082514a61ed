"""The learning-rate schedules of ``streamlr.schedules``.

1. ``schedule(t)`` against closed forms written independently in
   ``_reference_schedules`` (integer step arithmetic, one t at a time), over
   thousands of t with the boundaries (step edges, milestones, restarts, the
   end of a one-cycle and past it), scalar and array input.
2. The compiled twin (the node table evaluated by the kernel) equals
   ``schedule(t)``, composites included.
3. PyTorch's schedulers as the oracle (skipped without torch): the rate
   before each ``scheduler.step()``.
4. ReduceOnPlateau: the kernel hooks against a reference state machine and
   ``torch.optim.lr_scheduler.ReduceLROnPlateau``; through the estimators.
5. The estimators: strings and their objects, chunk invariance, ``lr_``,
   ``lr_history_``, the rate multiplying each optimizer's step.
6. The spec objects: validation, get/set_params, clone, equality, hash,
   repr, no mutation by fit, plot().
7. ``Optimal``'s alpha.
8. The registry: every row has a reference and an example, its kind is the
   kernel's, it round-trips through the command line and ``save``/``load``.

The schedules come from the registry (``streamlr._registry.schedules()``):
a row without a closed form in ``_reference_schedules.RATES`` or without an
example in ``CLOSED_FORM_CASES`` fails section 8; a row with a PyTorch twin
is compared with it on every example.
"""

import builtins
import copy
import importlib
import pathlib
import re
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

from _reference_schedules import RATES, plateau_path, reference_rates, train_with_schedule
from conftest import assert_same_model, make_classification_data, make_regression_data

import streamlr
from streamlr import SGDClassifier, SGDRegressor, _registry
from streamlr import schedules as S
from streamlr._kernels import kernel as K
from streamlr.cli import parse_schedule
from streamlr.schedules import (
    Adaptive,
    Constant,
    CosineAnnealing,
    CosineWarmRestarts,
    Cyclic,
    ExponentialDecay,
    InverseScaling,
    InverseTimeDecay,
    MultiStepDecay,
    OneCycle,
    Optimal,
    PolynomialDecay,
    ReduceOnPlateau,
    Sequential,
    StepDecay,
    Warmup,
    compile_schedule,
)

RTOL = 1e-12
ATOL = 1e-15

# plateau state slots (schedules.pxd)
PL_LR, PL_BEST, PL_BAD, PL_COOLDOWN, PL_SUM, PL_COUNT = range(6)


def _grid(n=3000, edges=()):
    """0..n-1 plus each edge and its neighbours (sorted, unique, >= 0)."""
    extra = [e + d for e in edges for d in (-1, 0, 1)]
    ts = np.union1d(np.arange(n), np.asarray(extra, dtype=np.int64))
    return ts[ts >= 0]


# (id, schedule, edges worth probing)
CLOSED_FORM_CASES = [
    ("constant", Constant(0.05), []),
    ("invscaling", InverseScaling(0.3, 0.25), []),
    ("invscaling-sqrt", InverseScaling(1.0, 0.5), []),
    ("optimal", Optimal(alpha=1e-3), []),
    ("optimal-big-alpha", Optimal(alpha=0.5), []),
    ("adaptive", Adaptive(0.02), []),
    ("invtime", InverseTimeDecay(0.1, 0.5, decay_steps=100), []),
    ("invtime-staircase", InverseTimeDecay(0.1, 0.5, decay_steps=100, staircase=True),
     [100, 200, 2900]),
    ("step", StepDecay(0.1, 250, gamma=0.5), [250, 500, 2750]),
    ("step-1", StepDecay(0.1, 1, gamma=0.999), [1, 2]),
    ("multistep", MultiStepDecay(0.1, [0, 10, 11, 700, 2999], gamma=0.3), [0, 10, 11, 700, 2999]),
    ("exponential", ExponentialDecay(0.1, 0.999), []),
    ("polynomial", PolynomialDecay(0.1, 1000, power=2.0), [1000, 5000]),
    ("polynomial-linear", PolynomialDecay(0.1, 1777), [1777]),
    ("polynomial-power0", PolynomialDecay(0.1, 300, power=0.0), [300]),
    ("cosine", CosineAnnealing(0.1, 400), [400, 800, 1200, 2000]),
    ("cosine-min", CosineAnnealing(0.1, 333, lr_min=0.01), [333, 666, 999]),
    ("restarts-1", CosineWarmRestarts(0.1, 100), [100, 200, 1000]),
    ("restarts-2", CosineWarmRestarts(0.1, 50, T_mult=2, lr_min=0.001),
     [50, 150, 350, 750, 1550]),
    ("restarts-3", CosineWarmRestarts(0.1, 20, T_mult=3), [20, 80, 260, 800, 2420]),
    ("cyclic", Cyclic(0.001, 0.1, 100), [100, 200, 300]),
    ("cyclic-asym", Cyclic(0.001, 0.1, 37, step_size_down=53), [37, 90, 127, 180]),
    ("cyclic-tri2", Cyclic(0.001, 0.1, 60, step_size_down=40, mode="triangular2"),
     [60, 100, 160, 200]),
    ("cyclic-exp", Cyclic(0.001, 0.1, 50, mode="exp_range", gamma=0.999), [50, 100]),
    ("onecycle", OneCycle(0.1, 1000), [299, 300, 999, 1000, 1001]),
    ("onecycle-linear", OneCycle(0.1, 1000, anneal="linear"), [299, 300, 999, 1000]),
    ("onecycle-3", OneCycle(0.1, 1003, pct_start=0.25, three_phase=True),
     [249, 250, 499, 500, 1002, 1003]),
    ("onecycle-3-linear", OneCycle(0.2, 800, pct_start=0.4, anneal="linear", three_phase=True,
                                   div_factor=10.0, final_div_factor=100.0),
     [319, 320, 638, 799, 800]),
    ("warmup", Warmup(CosineAnnealing(0.1, 500), 100), [100, 600]),
    ("warmup-factor", Warmup(StepDecay(0.1, 300), 50, start_factor=0.1), [50, 350]),
    ("warmup-restarts", Warmup(CosineWarmRestarts(0.05, 100, T_mult=2), 30), [30, 130, 330]),
    ("sequential", Sequential([Constant(0.01), CosineAnnealing(0.1, 500),
                               ExponentialDecay(0.05, 0.99)],
                              [200, 1200]), [200, 1200]),
    ("warmup-of-sequential",
     Warmup(Sequential([StepDecay(0.1, 100, 0.5), PolynomialDecay(0.02, 400)], [700]), 150,
            start_factor=0.2),
     [150, 850, 1250]),
    ("sequential-of-warmup",
     Sequential([Warmup(Constant(0.1), 100), OneCycle(0.2, 600), Cyclic(0.01, 0.05, 25)],
                [400, 1000]),
     [100, 400, 999, 1000, 1600]),
    ("plateau", ReduceOnPlateau(0.03), []),
]


def _ids(cases):
    return [c[0] for c in cases]


# --------------------------------------------------------------------------
# 1. closed forms
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name, sched, edges", CLOSED_FORM_CASES, ids=_ids(CLOSED_FORM_CASES))
def test_call_matches_closed_form(name, sched, edges):
    ts = _grid(3000, edges)
    if isinstance(sched, OneCycle):
        # past the cycle: test_one_cycle_holds_its_final_rate
        ts = ts[ts < sched.total_steps]
    expected = reference_rates(sched, ts)
    got = sched(ts.astype(np.float64))
    assert isinstance(got, np.ndarray) and got.shape == ts.shape
    assert got.dtype == np.float64
    assert_allclose(got, expected, rtol=RTOL, atol=ATOL, err_msg=name)
    # integer arrays too
    assert_allclose(sched(ts), expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name, sched, edges", CLOSED_FORM_CASES, ids=_ids(CLOSED_FORM_CASES))
def test_call_scalar_and_shapes(name, sched, edges):
    ts = [0, 1, 7, 299, 1000]
    arr = sched(np.asarray(ts, dtype=np.float64))
    for i, t in enumerate(ts):
        for scalar in (t, float(t), np.int64(t), np.float64(t), np.array(float(t))):
            out = sched(scalar)
            assert type(out) is float, (name, type(scalar), type(out))
            assert out == arr[i]
    grid = np.arange(12, dtype=np.float64).reshape(3, 4)
    out = sched(grid)
    assert out.shape == (3, 4)
    assert_array_equal(out, sched(grid.ravel()).reshape(3, 4))
    assert sched(np.zeros(0)).shape == (0,)


@pytest.mark.parametrize("bad", [-1, -0.5, np.nan, np.inf, [0, -3]])
def test_call_rejects_bad_t(bad):
    with pytest.raises(ValueError, match="t"):
        StepDecay(0.1, 10)(bad)


def test_boundaries_spelled_out():
    # a few values written by hand, as a guard on the reference itself
    s = StepDecay(1.0, 10, gamma=0.5)
    assert s(9) == 1.0 and s(10) == 0.5 and s(19) == 0.5 and s(20) == 0.25
    m = MultiStepDecay(1.0, [3, 5], gamma=0.1)
    assert [m(t) for t in (2, 3, 4, 5)] == [1.0, 0.1, 0.1, pytest.approx(0.01, rel=1e-15)]
    r = CosineWarmRestarts(1.0, 4, T_mult=2)
    assert r(0) == 1.0 and r(4) == 1.0 and r(12) == 1.0 and r(28) == 1.0
    assert r(2) == pytest.approx(0.5) and r(8) == pytest.approx(0.5) and r(20) == pytest.approx(0.5)
    c = Cyclic(0.0, 1.0, 2, step_size_down=4)
    assert [c(t) for t in range(7)] == pytest.approx([0, 0.5, 1, 0.75, 0.5, 0.25, 0])
    c2 = Cyclic(0.0, 1.0, 2, mode="triangular2")
    assert c2(2) == 1.0 and c2(6) == 0.5 and c2(10) == 0.25
    p = PolynomialDecay(1.0, 4)
    assert [p(t) for t in range(7)] == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0]
    w = Warmup(Constant(2.0), 4)
    assert [w(t) for t in range(6)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]
    q = Sequential([Constant(1.0), StepDecay(3.0, 2, 0.5)], [3])
    assert [q(t) for t in range(8)] == [1.0, 1.0, 1.0, 3.0, 3.0, 1.5, 1.5, 0.75]


def test_cosine_annealing_is_periodic_past_T_max():
    s = CosineAnnealing(0.1, 250, lr_min=0.002)
    t = np.arange(0, 500)
    assert_allclose(s(t + 500), s(t), rtol=1e-12)
    assert s(250) == pytest.approx(0.002, rel=1e-12)
    assert s(500) == pytest.approx(0.1, rel=1e-12)
    # past T_max the rate climbs back (PyTorch's closed form)
    assert s(260) > s(250)


def test_polynomial_holds_past_total_steps():
    s = PolynomialDecay(0.1, 100, power=0.5)
    assert_array_equal(s(np.arange(100, 5000)), 0.0)
    assert s(99) > 0


@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_holds_its_final_rate(anneal, three_phase):
    # total_steps updates use t = 0 .. total_steps - 1; the last one is at
    # lr_max / div_factor / final_div_factor, and a stream continuing past
    # the cycle keeps that rate (api.md: "hold their final rate")
    s = OneCycle(0.1, 200, anneal=anneal, three_phase=three_phase)
    final = 0.1 / 25.0 / 1e4
    # atol: the linear form a + (b - a) pct loses a few ulps of lr_max to
    # cancellation at pct = 1 (PyTorch's value there has the same rounding)
    assert s(199) == pytest.approx(final, rel=1e-12, abs=ATOL)
    past = s(np.arange(199, 2000))
    assert np.all(past >= 0), "a negative learning rate past the end of the cycle"
    assert_allclose(past, final, rtol=1e-12, atol=ATOL)
    assert np.all(past == past[0]), "held, not extrapolated"


# --------------------------------------------------------------------------
# 2. the compiled twin
# --------------------------------------------------------------------------


def _twin(sched, ts, ctx=None):
    kinds, params, extra, state = compile_schedule(sched, ctx or {})
    return np.array([K.schedule_rate(kinds, params, extra, state, float(t)) for t in ts])


@pytest.mark.parametrize("name, sched, edges", CLOSED_FORM_CASES, ids=_ids(CLOSED_FORM_CASES))
def test_compiled_twin_equals_call(name, sched, edges):
    ts = _grid(3000, edges)
    assert_allclose(_twin(sched, ts), sched(ts), rtol=RTOL, atol=ATOL, err_msg=name)


def test_compiled_twin_deep_nesting():
    inner = Sequential([Warmup(ExponentialDecay(0.1, 0.995), 40, start_factor=0.3),
                        Cyclic(0.001, 0.02, 30, mode="exp_range", gamma=0.9995)], [500])
    sched = Warmup(Sequential([inner, MultiStepDecay(0.05, [100, 300]),
                               CosineWarmRestarts(0.04, 60, T_mult=2)], [900, 1500]), 75)
    ts = _grid(3000, [75, 115, 575, 975, 1075, 1575, 1635])
    assert_allclose(_twin(sched, ts), sched(ts), rtol=RTOL, atol=ATOL)
    assert_allclose(sched(ts), reference_rates(sched, ts), rtol=RTOL, atol=ATOL)


def test_compiled_twin_of_optimal_takes_the_estimators_alpha():
    ts = np.arange(0, 2000, 7)
    got = _twin(Optimal(), ts, {"alpha": 1e-3})
    assert_allclose(got, Optimal(alpha=1e-3)(ts), rtol=RTOL)
    # its own alpha wins over the context's
    got = _twin(Optimal(alpha=0.01), ts, {"alpha": 1e-3})
    assert_allclose(got, Optimal(alpha=0.01)(ts), rtol=RTOL)


def test_compiled_plateau_reads_its_state():
    sched = Warmup(ReduceOnPlateau(0.2), 10)
    kinds, params, extra, state = compile_schedule(sched, {})
    node = 1
    assert state[6 * node + PL_LR] == 0.2 and state[6 * node + PL_BEST] == np.inf
    state[6 * node + PL_LR] = 0.05
    assert K.schedule_rate(kinds, params, extra, state, 5.0) == pytest.approx(0.025, rel=1e-15)
    assert K.schedule_rate(kinds, params, extra, state, 50.0) == 0.05


# --------------------------------------------------------------------------
# 3. PyTorch as the oracle
# --------------------------------------------------------------------------


def _torch_rates(make, lr, n):
    """``param_groups[0]["lr"]`` before each of n ``scheduler.step()`` calls."""
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's step(0), order warnings
        sched = make(torch.optim.lr_scheduler, opt)
        out = []
        for _ in range(n):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(out)


def _torch_class(dotted):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


# More examples for the comparison with the registry's PyTorch twins, beyond
# CLOSED_FORM_CASES. rtol: 1e-10 throughout. The chainable PyTorch forms
# (StepLR, ExponentialLR, PolynomialLR, CosineAnnealingLR, LinearLR)
# multiply the previous rate by a ratio at each step, so their rounding
# accumulates over the 2000 steps; 1e-10 still holds for all of them here.
TORCH_EXAMPLES = [
    ("StepLR", StepDecay(0.1, 150, gamma=0.7)),
    ("MultiStepLR", MultiStepDecay(0.1, [10, 250, 251, 1000], gamma=0.3)),
    # repeated and unordered milestones: PyTorch counts them (a Counter)
    ("MultiStepLR-repeated", MultiStepDecay(0.1, [250, 10, 10, 1000, 10, 251], gamma=0.3)),
    ("ExponentialLR", ExponentialDecay(0.1, 0.998)),
    ("PolynomialLR", PolynomialDecay(0.1, 1500, power=2.0)),
    ("PolynomialLR-linear", PolynomialDecay(0.1, 700)),
    ("CosineAnnealingLR", CosineAnnealing(0.1, 300)),
    ("CosineAnnealingLR-min", CosineAnnealing(0.1, 450, lr_min=0.004)),
    ("WarmRestarts-1", CosineWarmRestarts(0.1, 128)),
    ("WarmRestarts-2", CosineWarmRestarts(0.1, 50, T_mult=2, lr_min=0.001)),
    ("WarmRestarts-3", CosineWarmRestarts(0.1, 20, T_mult=3)),
    ("CyclicLR-triangular", Cyclic(0.001, 0.1, 37, step_size_down=53)),
    ("CyclicLR-triangular2", Cyclic(0.001, 0.1, 60, mode="triangular2")),
    ("CyclicLR-exp_range", Cyclic(0.001, 0.1, 45, step_size_down=20, mode="exp_range",
                                  gamma=0.9993)),
    ("OneCycleLR-cos", OneCycle(0.1, 2000)),
    ("OneCycleLR-linear", OneCycle(0.3, 1500, pct_start=0.2, anneal="linear", div_factor=10.0,
                                   final_div_factor=50.0)),
    ("OneCycleLR-three-phase", OneCycle(0.1, 1999, pct_start=0.35, three_phase=True)),
    ("OneCycleLR-three-phase-linear", OneCycle(0.1, 1000, three_phase=True, anneal="linear")),
]


def _twin_cases():
    """(id, schedule, entry) of every example whose registry row builds its
    PyTorch twin from keywords (ReduceOnPlateau's is driven by the loss, not
    by t: section 4)."""
    examples = [(n, s) for n, s, _ in CLOSED_FORM_CASES] + TORCH_EXAMPLES
    for name, sched in examples:
        entry = _registry.schedule(type(sched).__name__)
        if entry.torch_kwargs is not None and entry.spec is not ReduceOnPlateau:
            yield name, sched, entry


TWIN_CASES = list(_twin_cases())


@pytest.mark.parametrize("name, sched, entry", TWIN_CASES, ids=_ids(TWIN_CASES))
def test_matches_torch_twin(name, sched, entry):
    # OneCycleLR raises past total_steps: compare the total_steps scheduled updates
    n = min(2000, sched.total_steps) if isinstance(sched, OneCycle) else 2000
    kwargs = entry.torch_kwargs(sched)
    expected = _torch_rates(lambda L, o: _torch_class(entry.torch)(o, **kwargs),
                            getattr(sched, "lr", 1.0), n)
    t = np.arange(n)
    assert_allclose(sched(t), expected, rtol=1e-10, atol=ATOL, err_msg=name)
    assert_allclose(_twin(sched, t), expected, rtol=1e-10, atol=ATOL, err_msg=name)


# The composites, whose twins nest PyTorch schedulers:
# (id, streamlr schedule, torch factory(lr_scheduler, optimizer), base lr, steps)
TORCH_CASES = [
    ("Warmup-LinearLR-Cosine", Warmup(CosineAnnealing(0.1, 600), 200, start_factor=0.1),
     lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=200),
                                     L.CosineAnnealingLR(o, T_max=600)], milestones=[200]),
     0.1, 2000),
    ("Warmup-LinearLR-Step", Warmup(StepDecay(0.1, 100, gamma=0.8), 37, start_factor=0.01),
     lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.01, total_iters=37),
                                     L.StepLR(o, step_size=100, gamma=0.8)], milestones=[37]),
     0.1, 2000),
    ("Warmup-LinearLR-Restarts", Warmup(CosineWarmRestarts(0.1, 40, T_mult=2), 60,
                                        start_factor=0.25),
     lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.25, total_iters=60),
                                     L.CosineAnnealingWarmRestarts(o, T_0=40, T_mult=2)],
                                 milestones=[60]), 0.1, 2000),
    ("SequentialLR", Sequential([StepDecay(0.1, 50, 0.9), CosineAnnealing(0.1, 400),
                                 ExponentialDecay(0.1, 0.997)], [300, 1100]),
     lambda L, o: L.SequentialLR(o, [L.StepLR(o, step_size=50, gamma=0.9),
                                     L.CosineAnnealingLR(o, T_max=400),
                                     L.ExponentialLR(o, gamma=0.997)], milestones=[300, 1100]),
     0.1, 2000),
    ("SequentialLR-constant-poly", Sequential([Constant(0.05), PolynomialDecay(0.05, 500)], [250]),
     lambda L, o: L.SequentialLR(o, [L.ConstantLR(o, factor=1.0, total_iters=1),
                                     L.PolynomialLR(o, total_iters=500)], milestones=[250]),
     0.05, 2000),
]


@pytest.mark.parametrize("name, sched, make, lr, n", TORCH_CASES, ids=_ids(TORCH_CASES))
def test_matches_torch_scheduler(name, sched, make, lr, n):
    expected = _torch_rates(make, lr, n)
    t = np.arange(n)
    assert_allclose(sched(t), expected, rtol=1e-10, atol=ATOL, err_msg=name)
    assert_allclose(_twin(sched, t), expected, rtol=1e-10, atol=ATOL, err_msg=name)


# --------------------------------------------------------------------------
# 4. ReduceOnPlateau
# --------------------------------------------------------------------------


def _metric_sequences():
    rng = np.random.RandomState(3)
    steady = (list(np.linspace(1.0, 0.5, 8)) + [0.5] * 30
              + list(np.linspace(0.49, 0.2, 5)) + [0.2] * 30)
    # improvements right at the relative threshold: 1e-3 below best counts only
    # when strictly below best * (1 - threshold)
    edge = [1.0, 1.0 * (1 - 1e-3), 0.999 * (1 - 1e-3) - 1e-12, 0.998001, 0.998001 * (1 - 1e-3),
            0.99, 0.99, 0.99, 0.99, 0.99, 0.99]
    noisy = list(1.0 / np.sqrt(np.arange(1, 400)) + 0.02 * rng.rand(399))
    walk = list(np.cumsum(rng.randn(300) * 0.01) + 5.0)
    return {"steady": steady, "edge": edge, "noisy": noisy, "walk": walk}


PLATEAU_PARAMS = [
    dict(lr=0.1),
    dict(lr=0.1, factor=0.5, patience=0),
    dict(lr=0.1, factor=0.5, patience=2, threshold=1e-3),
    dict(lr=0.1, factor=0.3, patience=1, cooldown=3),
    dict(lr=0.1, factor=0.1, patience=0, lr_min=1e-3),
    dict(lr=0.1, factor=0.5, patience=3, threshold=0.0, cooldown=1, lr_min=0.01),
    dict(lr=1e-6, factor=0.5, patience=0),  # cuts below 1e-8 are skipped (PyTorch's eps)
]


def _hook_path(params, metrics):
    sched = ReduceOnPlateau(**params)
    kinds, p, extra, state = compile_schedule(sched, {})
    out = []
    for m in metrics:
        out.append(K.schedule_rate(kinds, p, extra, state, 0.0))
        K.schedule_plateau_step(kinds, p, extra, state, 0, float(m))
    out.append(K.schedule_rate(kinds, p, extra, state, 12345.0))
    return np.array(out), state


@pytest.mark.parametrize("params", PLATEAU_PARAMS,
                         ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("seq", ["steady", "edge", "noisy", "walk"])
def test_plateau_hook_matches_reference_and_torch(params, seq):
    metrics = _metric_sequences()[seq]
    got, _ = _hook_path(params, metrics)
    assert_array_equal(got, plateau_path(metrics, **params))
    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=params["lr"])
    entry = _registry.schedule("ReduceOnPlateau")  # its twin, from the registry row
    sched = _torch_class(entry.torch)(opt, **entry.torch_kwargs(ReduceOnPlateau(**params)))
    expected = []
    for m in metrics:
        expected.append(opt.param_groups[0]["lr"])
        sched.step(m)
    expected.append(opt.param_groups[0]["lr"])
    assert_allclose(got, expected, rtol=1e-15)


def test_plateau_hook_cuts_where_expected():
    # patience 2: the third bad step cuts; cooldown 2 then hides two bad steps
    params = dict(lr=1.0, factor=0.5, patience=2, cooldown=2, threshold=0.0)
    metrics = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    got, state = _hook_path(params, metrics)
    #            before step:  0    1    2    3    4     5     6     7     8      9 ...
    assert list(got) == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25,
                         0.25]
    assert state[PL_BEST] == 0.5
    assert state[PL_BAD] == 2  # step 10 fell in the cooldown, steps 11 and 12 were bad
    # lr_min floor
    got, _ = _hook_path(dict(lr=1.0, factor=0.1, patience=0, lr_min=0.05), [1.0] * 6)
    assert list(got) == [1.0, 1.0, 0.1, 0.05, 0.05, 0.05, 0.05]


@pytest.mark.parametrize("window", [1, 7, 50])
def test_plateau_observe_steps_on_window_means(window):
    rng = np.random.RandomState(window)
    losses = 0.3 + 0.05 * rng.rand(2000) + np.exp(-np.arange(2000) / 100.0)
    params = dict(lr=0.1, factor=0.5, patience=2, threshold=1e-3, cooldown=1)
    sched = ReduceOnPlateau(window=window, **params)
    kinds, p, extra, state = compile_schedule(sched, {})
    rates = []
    for x in losses:
        rates.append(K.schedule_rate(kinds, p, extra, state, 0.0))
        K.schedule_plateau_observe(kinds, p, extra, state, 0, float(x))
    # window means summed in the same order as the kernel (bitwise equal)
    means = []
    for start in range(0, len(losses) - window + 1, window):
        acc = 0.0
        for x in losses[start:start + window]:
            acc += x
        means.append(acc / window)
    path = plateau_path(means, **params)
    expected = path[np.arange(len(losses)) // window]  # a cut affects the next sample
    assert_array_equal(rates, expected)
    left = len(losses) % window
    assert state[PL_COUNT] == left
    assert state[PL_SUM] == pytest.approx(float(np.sum(losses[len(losses) - left:])), rel=1e-12)
    assert expected[-1] < params["lr"]  # the crafted stream does plateau


def _plateau_stream(n=1200, seed=0):
    # a linear target plus noise: the progressive loss falls, then sits at
    # the noise level, so ReduceOnPlateau cuts the rate again and again
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4) / 2.0
    y = X @ np.array([1.0, -1.0, 0.5, 0.0]) + 0.3 + 0.5 * rng.randn(n)
    return X, y


PLATEAU = dict(lr=0.01, factor=0.5, patience=1, threshold=1e-3)


def test_partial_fit_plateau_reduces_at_the_window_means():
    X, y = _plateau_stream()
    window = 60
    sched = ReduceOnPlateau(window=window, **PLATEAU)
    one = SGDRegressor(learning_rate=sched, penalty=None, shuffle=False).partial_fit(X, y)
    assert one.lr_ < PLATEAU["lr"] / 4

    # sample by sample: the loss measured before each update, the rate it got
    est = SGDRegressor(learning_rate=sched, penalty=None, shuffle=False)
    losses, rates = [], []
    for i in range(X.shape[0]):
        p = est.predict(X[i:i + 1])[0] if i else 0.0
        losses.append(0.5 * (p - y[i]) ** 2)
        est.partial_fit(X[i:i + 1], y[i:i + 1])
        rates.append(est.lr_)
    assert_same_model(one, est, check_progressive_loss=True)
    assert_array_equal(one.schedule_state_, est.schedule_state_)
    losses = np.array(losses)
    means = losses[: len(losses) // window * window].reshape(-1, window).mean(axis=1)
    path = plateau_path(means, **PLATEAU)
    assert_allclose(rates, path[np.arange(len(rates)) // window], rtol=1e-15)
    # the state: best window mean, partial window sum and count
    st = one.schedule_state_[0]
    assert st[PL_LR] == one.lr_ == path[-1]
    assert st[PL_BEST] == pytest.approx(means.min(), rel=1e-9)
    assert st[PL_COUNT] == len(losses) % window
    assert st[PL_SUM] == pytest.approx(losses[len(losses) - len(losses) % window:].sum(), rel=1e-9)

    torch = pytest.importorskip("torch")
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=PLATEAU["lr"])
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1, threshold=1e-3)
    for m in means:
        ts.step(float(m))
    assert opt.param_groups[0]["lr"] == pytest.approx(one.lr_, rel=1e-15)


@pytest.mark.parametrize("chunks", [[1, 59, 1, 500], [60, 60, 60], [7] * 30, [333, 1]])
def test_partial_fit_plateau_chunk_invariant(chunks):
    X, y = _plateau_stream()
    sched = ReduceOnPlateau(window=60, **PLATEAU)
    one = SGDRegressor(learning_rate=sched, penalty=None, shuffle=False).partial_fit(X, y)
    est = SGDRegressor(learning_rate=sched, penalty=None, shuffle=False)
    bounds = np.cumsum([0] + chunks + [X.shape[0] - sum(chunks)])
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        est.partial_fit(X[a:b], y[a:b])
    assert_same_model(one, est, check_progressive_loss=True)
    assert one.lr_ == est.lr_
    assert_array_equal(one.schedule_state_, est.schedule_state_)


def _epoch_means(est, n):
    """Each epoch's mean training loss, from the progressive loss in
    lr_history_ (the running mean since the model was initialised)."""
    h = est.lr_history_
    totals = h[:, 2] * h[:, 0]
    return np.diff(np.concatenate([[0.0], totals])) / n


def test_fit_plateau_steps_once_per_epoch():
    X, y = _plateau_stream(n=400)
    # the window is irrelevant in fit: one step per epoch
    for window in (10, 10 ** 6):
        sched = ReduceOnPlateau(lr=0.05, factor=0.5, patience=1, window=window)
        est = SGDRegressor(learning_rate=sched, penalty=None, max_iter=25, tol=None,
                           shuffle=False).fit(X, y)
        h = est.lr_history_
        assert h.shape == (25, 3)
        assert_array_equal(h[:, 0], 400.0 * np.arange(1, 26))
        means = _epoch_means(est, 400)
        path = plateau_path(means, lr=0.05, factor=0.5, patience=1)
        # row k holds the rate of epoch k's updates: the rate after k steps
        assert_allclose(h[:, 1], path[:-1], rtol=1e-15)
        assert h[-1, 1] < 0.05 / 4
        st = est.schedule_state_[0]
        assert st[PL_LR] == path[-1]
        assert st[PL_SUM] == 0.0 and st[PL_COUNT] == 0.0  # no per-sample windows in fit
        if window == 10:
            first = est
    assert_same_model(first, est)


def test_fit_plateau_single_epoch_does_not_cut_mid_epoch():
    # "in fit once per epoch": with max_iter=1 the one epoch runs at lr,
    # however small the window
    X, y = _plateau_stream(n=600)
    kw = dict(penalty=None, max_iter=1, tol=None, shuffle=False)
    sched = ReduceOnPlateau(lr=0.05, factor=0.5, patience=0, window=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = SGDRegressor(learning_rate=sched, **kw).fit(X, y)
        ref = SGDRegressor(learning_rate="constant", eta0=0.05, **kw).fit(X, y)
    assert est.lr_ == 0.05
    assert_same_model(est, ref)


def test_plateau_multiclass_state_per_problem():
    X, y = make_classification_data(n_samples=300, n_classes=3, seed=4)
    sched = ReduceOnPlateau(lr=0.05, factor=0.5, patience=0, window=20, threshold=0.05)
    one = SGDClassifier(learning_rate=sched, loss="log_loss", shuffle=False)
    one.partial_fit(X, y, classes=[0, 1, 2])
    st = one.schedule_state_
    assert st.shape == (3, 6)
    assert len(np.unique(st[:, PL_BEST])) == 3  # each problem its own losses
    est = SGDClassifier(learning_rate=sched, loss="log_loss", shuffle=False)
    for a in range(0, 300, 45):
        est.partial_fit(X[a:a + 45], y[a:a + 45], classes=[0, 1, 2])
    assert_same_model(one, est, check_progressive_loss=True)
    assert_array_equal(one.schedule_state_, est.schedule_state_)


# --------------------------------------------------------------------------
# 5. inside the estimators
# --------------------------------------------------------------------------

ETA0, POWER_T = 0.05, 0.3


def _same_fit(a, b):
    assert_same_model(a, b, check_progressive_loss=True)
    assert np.array_equal(a.lr_, b.lr_, equal_nan=True), (a.lr_, b.lr_)
    assert_array_equal(a.lr_history_, b.lr_history_)
    for key in a.optimizer_state_:
        assert_array_equal(a.optimizer_state_[key], b.optimizer_state_[key], err_msg=key)
    assert set(a.optimizer_state_) == set(b.optimizer_state_)


# scikit-learn's learning_rate strings and the objects they stand for (registry)
STRING_TWINS = [(rate, _registry.schedule_for_string(rate, ETA0, POWER_T))
                for rate in _registry.sklearn_rates()]


def test_sklearn_strings_are_the_documented_objects():
    documented = {"constant": Constant(ETA0), "invscaling": InverseScaling(ETA0, POWER_T),
                  "optimal": Optimal(), "adaptive": Adaptive(ETA0)}
    assert dict(STRING_TWINS) == documented
    for string, obj in documented.items():
        assert S.from_string(string, ETA0, POWER_T) == obj
        assert type(S.from_string(string, ETA0, POWER_T)) is type(obj)
    with pytest.raises(KeyError):
        S.from_string("pa1", ETA0, POWER_T)


@pytest.mark.parametrize("string, obj", STRING_TWINS, ids=[s for s, _ in STRING_TWINS])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_string_and_object_fit_bitwise(string, obj, kind, optimizer):
    if kind == "classifier":
        X, y = make_classification_data(n_samples=120, n_classes=3, seed=1)
        make = SGDClassifier
    else:
        X, y = make_regression_data(n_samples=120, seed=1)
        make = SGDRegressor
    if string == "optimal" and optimizer != "sgd":
        obj = Constant(ETA0)  # api.md: "optimal" means Constant(eta0) there
    kw = dict(eta0=ETA0, power_t=POWER_T, tol=1e-3, max_iter=60, n_iter_no_change=2,
              random_state=0, optimizer=optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning
        a = make(learning_rate=string, **kw).fit(X, y)
        b = make(learning_rate=obj, **kw).fit(X, y)
    _same_fit(a, b)
    assert a.n_iter_ == b.n_iter_
    if string == "adaptive" or (string == "constant" and optimizer == "sgd"):
        # tol stopped or cut the rate: n_iter_ and the epochs mattered
        assert a.n_iter_ > 2
    if kind == "regressor":  # multiclass: test_lr_history_multiclass_fit
        assert a.lr_history_.shape == (a.n_iter_, 3)


@pytest.mark.parametrize("string, obj", STRING_TWINS, ids=[s for s, _ in STRING_TWINS])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("optimizer", ["sgd", "adagrad"])
def test_string_and_object_partial_fit_bitwise(string, obj, kind, optimizer):
    if kind == "classifier":
        X, y = make_classification_data(n_samples=150, seed=2)
        make, extra = SGDClassifier, {"classes": [0, 1]}
    else:
        X, y = make_regression_data(n_samples=150, seed=2)
        make, extra = SGDRegressor, {}
    if string == "optimal" and optimizer != "sgd":
        obj = Constant(ETA0)  # api.md: "optimal" means Constant(eta0) there
    kw = dict(eta0=ETA0, power_t=POWER_T, shuffle=False, optimizer=optimizer)
    a, b = make(learning_rate=string, **kw), make(learning_rate=obj, **kw)
    for lo, hi in [(0, 1), (1, 50), (50, 150)]:
        a.partial_fit(X[lo:hi], y[lo:hi], **extra)
        b.partial_fit(X[lo:hi], y[lo:hi], **extra)
    _same_fit(a, b)


def test_optimal_string_with_another_optimizer_is_constant_eta0():
    X, y = make_classification_data(n_samples=100, seed=5)
    kw = dict(eta0=0.02, shuffle=False, optimizer="adam", max_iter=5, tol=None)
    a = SGDClassifier(learning_rate="optimal", **kw).fit(X, y)
    b = SGDClassifier(learning_rate=Constant(0.02), **kw).fit(X, y)
    _same_fit(a, b)
    assert a.lr_ == 0.02


CHUNK_SCHEDULES = [
    ("warmup-restarts", Warmup(CosineWarmRestarts(0.05, 20, T_mult=2), 30)),
    ("onecycle", OneCycle(0.05, 200)),  # the stream runs past the cycle
    ("step", StepDecay(0.05, 40, gamma=0.5)),
    ("cyclic", Cyclic(0.001, 0.05, 15, step_size_down=25, mode="triangular2")),
    ("plateau", ReduceOnPlateau(0.05, factor=0.5, patience=0, threshold=1e-2, window=16)),
]


@pytest.mark.parametrize("name, sched", CHUNK_SCHEDULES, ids=_ids(CHUNK_SCHEDULES))
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adagrad"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_chunk_invariance(name, sched, optimizer, sparse):
    X, y = make_regression_data(n_samples=300, seed=3, sparse=sparse)
    kw = dict(learning_rate=sched, optimizer=optimizer, shuffle=False)
    one = SGDRegressor(**kw).partial_fit(X, y)
    est = SGDRegressor(**kw)
    for lo, hi in [(0, 1), (1, 38), (38, 40), (40, 140), (140, 300)]:
        est.partial_fit(X[lo:hi], y[lo:hi])
    assert_same_model(one, est, check_progressive_loss=True)
    assert one.lr_ == est.lr_
    for key in one.optimizer_state_:
        assert_array_equal(one.optimizer_state_[key], est.optimizer_state_[key], err_msg=key)
    assert_array_equal(one.schedule_state_, est.schedule_state_)
    if name != "plateau":
        assert one.lr_ == pytest.approx(sched(299), rel=RTOL, abs=ATOL)


@pytest.mark.parametrize("name, sched", CHUNK_SCHEDULES[:4] + [
    ("sequential", Sequential([Warmup(Constant(0.05), 10), ExponentialDecay(0.03, 0.99)], [50])),
    ("multistep", MultiStepDecay(0.05, [3, 60, 61])),
], ids=_ids(CHUNK_SCHEDULES[:4]) + ["sequential", "multistep"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regressor"])
def test_lr_is_the_rate_of_the_last_update(name, sched, kind):
    if kind == "regressor":
        X, y = make_regression_data(n_samples=180, seed=6)
        est, extra = SGDRegressor(learning_rate=sched, shuffle=False), {}
    else:
        X, y = make_classification_data(n_samples=180, n_classes=2 if kind == "binary" else 3,
                                        seed=6)
        est, extra = SGDClassifier(learning_rate=sched, shuffle=False), {"classes": np.unique(y)}
    assert np.isnan(getattr(est, "lr_", np.nan))
    sizes = []
    for lo, hi in [(0, 1), (1, 2), (2, 61), (61, 180)]:
        est.partial_fit(X[lo:hi], y[lo:hi], **extra)
        sizes.append(hi - lo)
        # t_ counts updates + 1; the last update was number t_ - 1, made at t = t_ - 2
        assert est.t_ == hi + 1
        assert est.lr_ == pytest.approx(sched(est.t_ - 2), rel=RTOL, abs=ATOL)
    h = est.lr_history_
    assert h.shape == (4, 3)
    assert_array_equal(h[:, 0], np.cumsum(sizes))
    assert_allclose(h[:, 1], sched(h[:, 0] - 1), rtol=RTOL, atol=ATOL)
    assert h[-1, 1] == est.lr_ and h[-1, 2] == est.progressive_loss_


def test_lr_history_per_epoch_then_per_call():
    X, y = make_classification_data(n_samples=100, seed=7)
    sched = StepDecay(0.05, 130, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = SGDClassifier(learning_rate=sched, max_iter=40, tol=1e-3, random_state=0).fit(X, y)
    h = est.lr_history_
    assert h.shape == (est.n_iter_, 3)
    assert_array_equal(h[:, 0], 100.0 * np.arange(1, est.n_iter_ + 1))
    assert np.all(np.diff(h[:, 0]) > 0)
    assert_allclose(h[:, 1], sched(h[:, 0] - 1), rtol=RTOL)
    assert h[-1, 1] == est.lr_ and h[-1, 2] == est.progressive_loss_
    # partial_fit continues the clock and adds one row per call
    n_epochs = est.n_iter_
    assert 2 < n_epochs < 40
    est.partial_fit(X[:30], y[:30])
    est.partial_fit(X[30:], y[30:])
    h2 = est.lr_history_
    assert h2.shape == (n_epochs + 2, 3)
    assert_array_equal(h2[:-2], h)
    assert_array_equal(h2[-2:, 0], h[-1, 0] + np.array([30.0, 100.0]))
    assert est.lr_ == pytest.approx(sched(est.t_ - 2), rel=RTOL)
    # a new fit starts a new history
    est.fit(X, y)
    assert_array_equal(est.lr_history_, h)


# a rule without a rate (COCOB) refuses a schedule object (test_optim)
@pytest.mark.parametrize("optimizer", [s for s in _registry.optimizer_strings()
                                       if _registry.resolve_optimizer(s).takes_rate])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_constant_object_equals_constant_string(optimizer, sparse):
    X, y = make_regression_data(n_samples=100, seed=8, sparse=sparse)
    kw = dict(optimizer=optimizer, max_iter=3, tol=None, shuffle=False)
    # a rule with its own default rate (Normalized) runs at it under any string
    default = _registry.resolve_optimizer(optimizer).default_rate
    rate = 0.02 if default is None else default
    a = SGDRegressor(learning_rate="constant", eta0=0.02, **kw).fit(X, y)
    b = SGDRegressor(learning_rate=Constant(rate), eta0=0.5, **kw).fit(X, y)  # eta0 unused
    _same_fit(a, b)


@pytest.mark.parametrize("sched", [StepDecay(0.05, 30, gamma=0.5), OneCycle(0.08, 150),
                                   Cyclic(0.001, 0.05, 20, mode="exp_range", gamma=0.995)],
                         ids=["step", "onecycle", "cyclic"])
@pytest.mark.parametrize("rule", ["sgd", "adagrad", "adam"])
def test_rate_multiplies_the_optimizer_step(sched, rule):
    X, y = make_regression_data(n_samples=200, seed=9)
    est = SGDRegressor(learning_rate=sched, optimizer=rule, penalty=None, shuffle=False)
    est.partial_fit(X, y)
    w, b = train_with_schedule(X, y, sched, rule)
    assert_allclose(est.coef_, w, rtol=1e-9, atol=1e-12)
    assert_allclose(est.intercept_[0], b, rtol=1e-9, atol=1e-12)


def test_lr_history_multiclass_fit():
    # one-vs-rest: the binary problems may stop after different numbers of
    # epochs; n_iter_ is the largest, and t_ counts n_iter_ epochs
    X, y = make_classification_data(n_samples=120, n_classes=3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = SGDClassifier(learning_rate=Constant(ETA0), tol=1e-3, max_iter=60,
                            n_iter_no_change=2, random_state=0).fit(X, y)
    h = est.lr_history_
    assert est.t_ == 1 + 120 * est.n_iter_
    assert h.shape == (est.n_iter_, 3), "one row per epoch of fit"
    assert h[-1, 0] == est.t_ - 1


# --------------------------------------------------------------------------
# 6. the spec objects
# --------------------------------------------------------------------------

INVALID = [
    ("lr", lambda: Constant(-0.1)),
    ("lr", lambda: Constant(0.0)),
    ("lr", lambda: Constant(np.nan)),
    ("lr", lambda: Constant(True)),
    ("lr", lambda: StepDecay("0.1", 10)),
    ("power_t", lambda: InverseScaling(0.1, -1.0)),
    ("alpha", lambda: Optimal(alpha=0.0)),
    ("factor", lambda: Adaptive(0.1, factor=1.0)),
    ("decay_steps", lambda: InverseTimeDecay(0.1, 0.5, decay_steps=0)),
    ("staircase", lambda: InverseTimeDecay(0.1, 0.5, staircase="yes")),
    ("step_size", lambda: StepDecay(0.1, 0)),
    ("step_size", lambda: StepDecay(0.1, 2.5)),
    ("gamma", lambda: StepDecay(0.1, 10, gamma=-0.5)),
    ("milestones", lambda: MultiStepDecay(0.1, [10, -5])),
    ("milestones", lambda: MultiStepDecay(0.1, [])),
    ("milestone", lambda: MultiStepDecay(0.1, [-1, 5])),
    ("gamma", lambda: ExponentialDecay(0.1, 0.0)),
    ("gamma", lambda: ExponentialDecay(0.1, 1.5)),
    ("total_steps", lambda: PolynomialDecay(0.1, 0)),
    ("T_max", lambda: CosineAnnealing(0.1, 0)),
    ("lr_min", lambda: CosineAnnealing(0.1, 10, lr_min=-1.0)),
    ("T_0", lambda: CosineWarmRestarts(0.1, 0)),
    ("T_mult", lambda: CosineWarmRestarts(0.1, 10, T_mult=0)),
    ("mode", lambda: Cyclic(0.001, 0.1, 10, mode="sawtooth")),
    ("step_size_up", lambda: Cyclic(0.001, 0.1, 0)),
    ("step_size_down", lambda: Cyclic(0.001, 0.1, 10, step_size_down=0)),
    ("pct_start", lambda: OneCycle(0.1, 100, pct_start=0.0)),
    ("pct_start", lambda: OneCycle(0.1, 100, pct_start=1.0)),
    ("pct_start", lambda: OneCycle(0.1, 100, pct_start=1.5)),
    ("anneal", lambda: OneCycle(0.1, 100, anneal="exp")),
    ("total_steps", lambda: OneCycle(0.1, 1)),
    ("schedule", lambda: Warmup(None, 10)),
    ("schedule", lambda: Warmup(0.1, 10)),
    ("warmup_steps", lambda: Warmup(Constant(0.1), 0)),
    ("start_factor", lambda: Warmup(Constant(0.1), 10, start_factor=1.5)),
    ("milestones", lambda: Sequential([Constant(0.1), Constant(0.2)], [])),
    ("milestones", lambda: Sequential([Constant(0.1), Constant(0.2)], [5, 10])),
    ("milestones", lambda: Sequential([Constant(0.1), Constant(0.2), Constant(0.3)], [10, 10])),
    ("schedules", lambda: Sequential([], [])),
    ("schedules", lambda: Sequential([Constant(0.1), "cosine"], [5])),
    ("factor", lambda: ReduceOnPlateau(0.1, factor=1.0)),
    ("patience", lambda: ReduceOnPlateau(0.1, patience=-1)),
    ("cooldown", lambda: ReduceOnPlateau(0.1, cooldown=-1)),
    ("window", lambda: ReduceOnPlateau(0.1, window=0)),
    ("threshold", lambda: ReduceOnPlateau(0.1, threshold=-1e-4)),
]


@pytest.mark.parametrize("param, build", INVALID,
                         ids=[f"{p}-{i}" for i, (p, _) in enumerate(INVALID)])
def test_invalid_parameters_raise_at_construction(param, build):
    with pytest.raises(ValueError, match=param):
        build()


def test_set_params_validates_and_rolls_back():
    s = StepDecay(0.1, 10)
    with pytest.raises(ValueError, match="step_size"):
        s.set_params(step_size=0, lr=0.5)
    assert s.get_params() == {"lr": 0.1, "step_size": 10, "gamma": 0.1}
    assert s.set_params(lr=0.5, gamma=0.5) is s
    assert s(10) == 0.25


def test_get_params_set_params_nested():
    w = Warmup(StepDecay(0.1, 10), 5)
    params = w.get_params(deep=True)
    assert params["schedule__lr"] == 0.1 and params["warmup_steps"] == 5
    w.set_params(schedule__lr=0.4)
    assert w.schedule.lr == 0.4 and w(5) == 0.4

    est = SGDRegressor(learning_rate=StepDecay(0.1, 10))
    assert est.get_params()["learning_rate__lr"] == 0.1
    est.set_params(learning_rate__lr=0.3)
    assert est.learning_rate == StepDecay(0.3, 10)
    est = SGDRegressor(learning_rate=Warmup(CosineAnnealing(0.1, 50), 5))
    est.set_params(learning_rate__schedule__T_max=80, learning_rate__warmup_steps=7)
    assert est.learning_rate == Warmup(CosineAnnealing(0.1, 80), 7)
    X, y = make_regression_data(n_samples=40)
    est.set_params(learning_rate__schedule__lr=0.02, shuffle=False).partial_fit(X, y)
    assert est.lr_ == pytest.approx(Warmup(CosineAnnealing(0.02, 80), 7)(39), rel=RTOL)


def test_changed_schedule_takes_effect_between_calls():
    X, y = make_regression_data(n_samples=60)
    est = SGDRegressor(learning_rate=Constant(0.01), shuffle=False).partial_fit(X[:30], y[:30])
    est.set_params(learning_rate__lr=0.03).partial_fit(X[30:], y[30:])
    assert est.lr_ == 0.03


ALL_SPECS = [c[1] for c in CLOSED_FORM_CASES] + [Optimal()]


@pytest.mark.parametrize("sched", ALL_SPECS, ids=_ids(CLOSED_FORM_CASES) + ["optimal-none"])
def test_clone_equality_hash_repr(sched):
    c = clone(sched)
    assert c is not sched and c == sched and hash(c) == hash(sched)
    assert type(c) is type(sched)
    for child, orig in zip(c._children(), sched._children(), strict=True):
        assert child == orig and child is not orig  # deep
    assert copy.deepcopy(sched) == sched
    assert len({sched, c, copy.deepcopy(sched)}) == 1
    # readable: the class name and parameters, and it rebuilds the object
    text = repr(sched)
    assert text.startswith(type(sched).__name__ + "(")
    assert eval(text, vars(S)) == sched
    # a parameter changed: no longer equal
    key = "lr" if "lr" in sched.get_params(deep=False) else None
    if key is not None:
        other = clone(sched).set_params(lr=sched.lr * 0.5)
        assert other != sched


def test_equality_details():
    assert StepDecay(0.1, 10) == StepDecay(0.1, 10, gamma=0.1)
    assert StepDecay(0.1, 10) != StepDecay(0.1, 11)
    assert StepDecay(0.1, 10) != MultiStepDecay(0.1, [10])
    assert Constant(1) == Constant(1.0) and hash(Constant(1)) == hash(Constant(1.0))
    assert MultiStepDecay(0.1, [5, 9]) == MultiStepDecay(0.1, (5, 9))
    assert hash(MultiStepDecay(0.1, [5, 9])) == hash(MultiStepDecay(0.1, (5, 9)))
    a = Sequential([Constant(0.1), StepDecay(0.1, 5)], [20])
    assert a == Sequential([Constant(0.1), StepDecay(0.1, 5)], [20])
    assert a != Sequential([Constant(0.1), StepDecay(0.1, 6)], [20])
    assert Warmup(Constant(0.1), 5) != Warmup(Constant(0.2), 5)
    assert Constant(0.1) != 0.1
    assert repr(StepDecay(0.1, 10)) == "StepDecay(lr=0.1, step_size=10)"


def test_clone_estimator_with_schedule():
    sched = Warmup(OneCycle(0.1, 100), 10)
    est = SGDClassifier(learning_rate=sched)
    c = clone(est)
    assert c.learning_rate == sched and c.learning_rate is not sched


@pytest.mark.parametrize("sched", [
    ReduceOnPlateau(0.05, factor=0.5, patience=0, window=10, threshold=0.05),
    Warmup(Sequential([ReduceOnPlateau(0.05, patience=0, window=5), StepDecay(0.02, 7)], [60]), 20),
    Adaptive(0.05),
    MultiStepDecay(0.05, [10, 40]),
], ids=["plateau", "warmup-sequential-plateau", "adaptive", "multistep"])
def test_fit_does_not_mutate_the_schedule(sched):
    X, y = make_classification_data(n_samples=120, seed=10)
    before_params = copy.deepcopy(sched.get_params(deep=True))
    before_dict = copy.deepcopy(sched.__dict__)
    kids_before = [copy.deepcopy(k.__dict__) for k in sched._children()]
    est = SGDClassifier(learning_rate=sched, max_iter=20, tol=1e-3, n_iter_no_change=2,
                        shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    est.partial_fit(X, y)
    assert est.learning_rate is sched
    assert sched.get_params(deep=True) == before_params
    assert sched.__dict__ == before_dict
    assert set(sched.__dict__) == set(before_dict)
    assert [k.__dict__ for k in sched._children()] == kids_before


def test_plot_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="matplotlib"):
        StepDecay(0.1, 10).plot()

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match="matplotlib"):
        Warmup(CosineAnnealing(0.1, 50), 5).plot(t_max=100)


def test_plot_with_matplotlib():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    sched = Warmup(CosineWarmRestarts(0.1, 50, T_mult=2), 20)
    ax = sched.plot(t_max=300)
    try:
        assert isinstance(ax, mpl.axes.Axes)
        lines = ax.get_lines()
        assert len(lines) == 1
        x, y = lines[0].get_data()
        assert len(x) == len(y) == 300
        assert_allclose(y, sched(np.arange(300)), rtol=RTOL)
        fig, ax2 = plt.subplots()
        assert StepDecay(0.1, 10).plot(t_max=50, ax=ax2) is ax2
        assert len(ax2.get_lines()[0].get_xdata()) == 50
    finally:
        plt.close("all")


# --------------------------------------------------------------------------
# 7. Optimal's alpha
# --------------------------------------------------------------------------


def test_optimal_without_alpha_needs_an_estimator():
    with pytest.raises(ValueError, match="alpha"):
        Optimal()(0)
    with pytest.raises(ValueError, match="alpha"):
        Optimal()(np.arange(5))
    with pytest.raises(ValueError, match="alpha"):
        compile_schedule(Optimal(), {})


@pytest.mark.parametrize("loss", ["hinge", "log_loss", "modified_huber"])
def test_optimal_with_alpha_uses_it_inside_an_estimator(loss):
    X, y = make_classification_data(n_samples=150, seed=11)
    kw = dict(loss=loss, penalty=None, shuffle=False, max_iter=4, tol=None)
    # penalty=None: the estimator's alpha then only sets the optimal rate
    a = SGDClassifier(alpha=1e-4, learning_rate=Optimal(alpha=0.01), **kw).fit(X, y)
    b = SGDClassifier(alpha=0.01, learning_rate="optimal", **kw).fit(X, y)
    c = SGDClassifier(alpha=1e-4, learning_rate="optimal", **kw).fit(X, y)
    _same_fit(a, b)
    assert not np.array_equal(a.coef_, c.coef_)
    # sklearn's heuristic gives t0 = 1 / (alpha^(-1/4) alpha) for these losses
    assert a.lr_ == pytest.approx(Optimal(alpha=0.01)(a.t_ - 2), rel=RTOL)
    # and Optimal() takes the estimator's alpha
    d = SGDClassifier(alpha=0.01, learning_rate=Optimal(), **kw).fit(X, y)
    _same_fit(b, d)


# --------------------------------------------------------------------------
# 8. the registry
# --------------------------------------------------------------------------


@pytest.mark.parametrize("entry", _registry.schedules(), ids=lambda e: e.name)
def test_every_schedule_has_a_reference_and_an_example(entry):
    """A registry row needs its closed form in _reference_schedules.RATES and
    an example in CLOSED_FORM_CASES (sections 1, 2, 6 and 8 then run on it)."""
    assert entry.name in RATES, (
        f"{entry.name} has no closed form: add one to tests/_reference_schedules.py")
    assert any(type(s) is entry.spec for _, s, _ in CLOSED_FORM_CASES), (
        f"{entry.name} has no example: add one to CLOSED_FORM_CASES")
    assert issubclass(entry.spec, S.Schedule) and entry.spec.__name__ == entry.name
    assert entry.name in S.__all__ and getattr(S, entry.name) is entry.spec


@pytest.mark.parametrize("entry", [e for e in _registry.schedules() if e.torch is not None],
                         ids=lambda e: e.name)
def test_every_torch_twin_is_checked(entry):
    checked = ({type(c[1]) for c in TWIN_CASES} | {type(c[1]) for c in TORCH_CASES}
               | {ReduceOnPlateau})  # section 4
    assert entry.spec in checked, entry.name
    torch = pytest.importorskip("torch")
    assert _torch_class(entry.torch).__module__.startswith(torch.optim.lr_scheduler.__name__)


def _kernel_kinds():
    """{kind: code} of the SCH_* constants in the kernel sources."""
    root = pathlib.Path(K.__file__).parent
    if not list(root.glob("*.pxd")):  # an installed wheel carries no Cython sources:
        root = pathlib.Path(__file__).resolve().parents[1] / "streamlr" / "_kernels"  # the tree's
        if not root.is_dir():
            pytest.skip("the kernels' Cython sources are not at hand")
    found = {}
    for path in sorted(root.glob("*.px[di]")) + sorted(root.glob("*.pyx")):
        for name, code in re.findall(r"^\s*SCH_([A-Z0-9_]+)\s*=\s*(\d+)", path.read_text(),
                                     flags=re.MULTILINE):
            found[name.lower()] = int(code)
    return found


def test_registry_kinds_are_the_kernel_kinds():
    assert _registry.schedule_kinds() == S._KIND
    assert _registry.schedule_kinds() == _kernel_kinds()
    assert set(_registry.schedule_kinds()) == {e.kind for e in _registry.schedules()}


@pytest.mark.parametrize("name, sched, edges", CLOSED_FORM_CASES, ids=_ids(CLOSED_FORM_CASES))
def test_root_node_is_the_registry_kind(name, sched, edges):
    entry = _registry.schedule(type(sched).__name__)
    kinds = compile_schedule(sched, {"alpha": 1e-3})[0]
    assert kinds[0] == entry.code == _registry.schedule_kinds()[entry.kind]


CLI_CASES = [c for c in CLOSED_FORM_CASES if _registry.schedule(type(c[1]).__name__).cli]


def test_composites_have_no_command_line_name():
    # the command line builds Warmup from --warmup; Sequential is not reachable
    for entry in _registry.schedules():
        assert (entry.cli is None) == (entry.spec in (Warmup, Sequential)), entry.name


@pytest.mark.parametrize("name, sched, edges", CLI_CASES, ids=_ids(CLI_CASES))
def test_schedule_round_trips_through_the_cli(name, sched, edges):
    entry = _registry.schedule(type(sched).__name__)
    params = ",".join(f"{k}={v!r}" for k, v in sched.get_params(deep=False).items())
    for alias in (entry.cli, entry.name, entry.name.lower()):
        parsed = parse_schedule(f"{alias}:{params}", 123.0)
        assert type(parsed) is type(sched) and parsed == sched, alias
    # the rate (lr, else lr_max) defaults to --lr
    own = sched.get_params(deep=False)
    rate = next((k for k in ("lr", "lr_max") if k in own), None)
    text = ",".join(f"{k}={v!r}" for k, v in own.items() if k != rate)
    parsed = parse_schedule(f"{entry.cli}:{text}" if text else entry.cli, 0.25)
    if entry.sklearn is not None and not text:
        assert parsed == entry.sklearn  # scikit-learn's own rule
    else:
        expected = clone(sched).set_params(**{rate: 0.25}) if rate else sched
        assert type(parsed) is type(sched) and parsed == expected


@pytest.mark.parametrize("name, sched, edges", CLOSED_FORM_CASES, ids=_ids(CLOSED_FORM_CASES))
def test_schedule_round_trips_through_save_and_load(name, sched, edges, tmp_path):
    X, y = make_regression_data(n_samples=90, seed=12)
    est = SGDRegressor(learning_rate=clone(sched), shuffle=False, alpha=1e-3)
    est.partial_fit(X[:50], y[:50])
    path = tmp_path / "model.npz"
    streamlr.save(est, path)
    loaded = streamlr.load(path)
    assert type(loaded.learning_rate) is type(sched) and loaded.learning_rate == sched
    _same_fit(est, loaded)
    est.partial_fit(X[50:], y[50:])
    loaded.partial_fit(X[50:], y[50:])
    _same_fit(est, loaded)
