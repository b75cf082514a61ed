"""streamlr.drift's detectors against River's (the oracle), and their objects.

River 0.26's ``river.drift.ADWIN`` and ``PageHinkley`` are fed the same
sequences (Bernoulli errors, Gaussian values, step changes in mean and
rate, heavy tails) with the same parameters: the positions where drift is
flagged must be identical.
"""
import copy
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from streamlr._kernels import detectors as _det
from streamlr.drift import ADWIN, PageHinkley

river_drift = pytest.importorskip("river.drift")


def river_flags(detector, values):
    out = []
    for i, x in enumerate(values.tolist()):
        detector.update(x)
        if detector.drift_detected:
            out.append(i)
    return out


def ours_flags(detector, values):
    """Through the compiled batch feeder (the loop's code path)."""
    return _det.update_many(detector._fresh_state(), np.ascontiguousarray(values)).tolist()


def make_stream(kind, n, seed):
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, n), size=rng.integers(0, 6), replace=False))
    seg = np.searchsorted(cuts, np.arange(n), side="right")
    if kind == "bernoulli":       # a classifier's 0/1 errors, its error rate jumping
        rate = rng.uniform(0.02, 0.6, size=len(cuts) + 1)[seg]
        return (rng.random(n) < rate).astype(np.float64)
    if kind == "gaussian":        # a regressor's losses, the mean stepping
        return rng.normal(rng.normal(0, 2, size=len(cuts) + 1)[seg], rng.uniform(0.1, 3))
    if kind == "step":            # one abrupt change, then a slow drift
        x = rng.normal(0, 1, n)
        x[n // 2:] += rng.uniform(0.2, 3)
        return x + np.linspace(0, rng.uniform(-2, 2), n)
    if kind == "squared":         # squared-error losses: skewed, positive
        return rng.normal(rng.normal(0, 1, size=len(cuts) + 1)[seg], 1) ** 2
    return rng.standard_t(2, n)   # heavy tails


KINDS = ("bernoulli", "gaussian", "step", "squared", "heavy")

adwin_params = st.fixed_dictionaries({
    "delta": st.sampled_from([0.002, 1e-5, 0.05, 0.3, 0.9]),
    "clock": st.sampled_from([1, 4, 32, 100]),
    "max_buckets": st.sampled_from([2, 3, 5, 11]),
    "min_window_length": st.sampled_from([1, 5, 30]),
    "grace_period": st.sampled_from([0, 10, 300]),
})
ph_params = st.fixed_dictionaries({
    "min_instances": st.sampled_from([1, 30, 200]),
    "delta": st.sampled_from([0.0, 0.005, 0.1]),
    "threshold": st.sampled_from([0.0, 3.0, 20.0, 50.0]),
    "alpha": st.sampled_from([1.0, 0.9999, 0.99]),
    "mode": st.sampled_from(["both", "up", "down"]),
})
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(kind=st.sampled_from(KINDS), n=st.integers(2000, 8000), seed=st.integers(0, 2**31),
       params=adwin_params)
def test_adwin_flags_exactly_where_river_does(kind, n, seed, params):
    values = make_stream(kind, n, seed)
    assert ours_flags(ADWIN(**params), values) == river_flags(river_drift.ADWIN(**params), values)


@SETTINGS
@given(kind=st.sampled_from(KINDS), n=st.integers(2000, 8000), seed=st.integers(0, 2**31),
       params=ph_params)
def test_page_hinkley_flags_exactly_where_river_does(kind, n, seed, params):
    values = make_stream(kind, n, seed)
    assert (ours_flags(PageHinkley(**params), values)
            == river_flags(river_drift.PageHinkley(**params), values))


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian"])
def test_defaults_on_long_streams(kind):
    values = make_stream(kind, 100_000, 7)
    for ours, theirs in ((ADWIN(), river_drift.ADWIN()),
                         (PageHinkley(), river_drift.PageHinkley())):
        flags = river_flags(theirs, values)
        assert ours_flags(ours, values) == flags
        assert flags, "the stream should hold detections"


def test_object_update_matches_batch_and_river_state():
    values = make_stream("gaussian", 5000, 3)
    ours, theirs = ADWIN(clock=8), river_drift.ADWIN(clock=8)
    flags = []
    for i, x in enumerate(values):
        theirs.update(float(x))
        assert ours.update(x) is ours
        assert ours.drift_detected == theirs.drift_detected
        if ours.drift_detected:
            flags.append(i)
        assert ours.width == theirs.width
        assert ours.total == theirs.total
        assert ours.variance == theirs.variance
        assert ours.estimation == theirs.estimation
    assert flags == ours_flags(ADWIN(clock=8), values)
    assert ours.n_detections == len(flags) > 0


def test_update_takes_ints_and_bools():
    values = (make_stream("bernoulli", 3000, 5) > 0)
    ours, theirs = PageHinkley(threshold=5.0), river_drift.PageHinkley(threshold=5.0)
    a = [i for i, x in enumerate(values.tolist()) if ours.update(x).drift_detected]
    assert a == river_flags(theirs, values.astype(np.float64)) and a


def test_copies_keep_the_state_and_clone_starts_afresh():
    values = make_stream("step", 3000, 11)
    det = ADWIN(clock=4)
    for x in values[:1700]:
        det.update(x)
    for twin in (copy.deepcopy(det), pickle.loads(pickle.dumps(det)), copy.copy(det)):
        assert twin == det
        np.testing.assert_array_equal(twin._get_state(), det._get_state())
    twin = copy.deepcopy(det)
    rest_a = [i for i, x in enumerate(values[1700:]) if det.update(x).drift_detected]
    rest_b = [i for i, x in enumerate(values[1700:]) if twin.update(x).drift_detected]
    assert rest_a == rest_b
    fresh = clone(det)
    assert fresh == det and fresh.width == 0
    det.set_params(delta=0.01)
    assert det.width == 0 and det.delta == 0.01


def test_memory_is_fixed_and_rows_stay_few():
    det = ADWIN(max_buckets=5, delta=1e-9)
    size = det._get_state().size
    assert size == _det.HEADER + _det.MAX_ROWS * (3 + 2 * 5)
    values = np.random.default_rng(0).normal(size=200_000)
    _det.update_many(det._get_state(), values)
    assert det._get_state().size == size
    rows = int(det._get_state()[_det.FIELDS["rows"]])
    assert rows <= int(np.log2(det.width / 5)) + 2
    # everything past the rows in use is zero (so a state is a function of its inputs)
    assert not det._get_state()[_det.used(det._get_state()):].any()


@pytest.mark.parametrize("cls, name, value", [
    (ADWIN, "delta", 0.0), (ADWIN, "delta", 1.0), (ADWIN, "delta", float("nan")),
    (ADWIN, "delta", "0.1"), (ADWIN, "clock", 0), (ADWIN, "clock", 2.5),
    (ADWIN, "max_buckets", 1), (ADWIN, "max_buckets", 2**21), (ADWIN, "min_window_length", 0),
    (ADWIN, "grace_period", -1), (ADWIN, "clock", True),
    (PageHinkley, "min_instances", 0), (PageHinkley, "delta", -0.1),
    (PageHinkley, "threshold", float("inf")), (PageHinkley, "alpha", 0.0),
    (PageHinkley, "alpha", 1.5), (PageHinkley, "mode", "sideways"), (PageHinkley, "mode", None),
])
def test_bad_parameters_raise_naming_them(cls, name, value):
    with pytest.raises(ValueError, match=name):
        cls(**{name: value})
    det = cls()
    with pytest.raises(ValueError, match=name):
        det.set_params(**{name: value})
    assert det == cls()


def test_malformed_states_are_refused():
    good = ADWIN()._fresh_state()
    for bad in (good[:-1].copy(), good.astype(np.float32), np.zeros(3)):
        with pytest.raises(ValueError):
            _det.check_state(bad)
    broken = good.copy()
    broken[_det.FIELDS["rows"]] = 99
    with pytest.raises(ValueError):
        _det.check_state(broken)
    broken = good.copy()
    broken[_det.HEADER + 5 * 13] = 1.0    # a bucket in a row past the rows in use
    with pytest.raises(ValueError):
        _det.check_state(broken)
