"""Model files of format 1 (streamlr 0.1.0) load, with today's streamlr, into
bitwise the model the old build saved, resume bitwise as if never stopped,
and are re-saved in format 2 under the descriptive member names.

The fixtures in ``tests/data`` were written by revision 3e220a7 (format 1)
with ``tests/data/make_format1_models.py``, which this test imports for the
rows, the estimators' parameters, the calls that resume training and the
observations compared; see that script for how to make them again.
"""
import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import streamlr
from streamlr.linear_model._state import SLOTS
from streamlr.testing import model_state

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("make_format1_models", DATA / "make_format1_models.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

CASES = list(gen.CASES)

# format 1's member names -> format 2's (the members not listed keep their names)
V1_TO_V2 = {
    "state.blk": "state.weight_blocks",
    "state.aw": "state.average_weights",
    "state.q": "state.l1_received",
    "state.stamp": "state.last_update",
    "state.scal": "state.scalars",
    "state.oint": "state.intercept_block",
    "state.sched_state": "state.schedule_state",
    "sched.kinds": "schedule.kinds",
    "sched.params": "schedule.params",
}
# format 1's header scalars -> format 2's
V1_TO_V2_SCALARS = {"opt_key": "optimizer_key", "sched_repr": "schedule_repr"}
V2_STATE_MEMBERS = {"state.weight_blocks", "state.average_weights", "state.l1_received",
                    "state.last_update", "state.scalars", "state.intercept_block",
                    "state.schedule_state", "history"}
V2_MEMBERS = V2_STATE_MEMBERS | {"schedule.kinds", "schedule.params", "classes_",
                                 "feature_names_in_"}


# -- helpers ----------------------------------------------------------------------

def _read(path):
    """(header, arrays) of a model file, read as plain data."""
    with np.load(path, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    header = json.loads(members.pop("__header__").tobytes().decode("utf-8"))
    members.pop("__checksum__")
    return header, members


def _expected(case):
    with np.load(gen.paths(case)[2], allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    types = json.loads(arrays.pop("__types__").tobytes().decode("utf-8"))
    return arrays, types


def _same_bits(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    assert_array_equal(a, b, err_msg=what, strict=True)
    if a.dtype.kind != "O":   # -0.0 vs 0.0, NaN payloads
        assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes(), what


def _same(a, b, what):
    """a and b equal bitwise, with the same types all the way down."""
    assert type(a) is type(b), f"{what}: type {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        _same_bits(a, b, what)
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{what}: keys {list(a)} != {list(b)}"
        for k in a:
            _same(a[k], b[k], f"{what}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{what}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{what}[{i}]")
    elif isinstance(a, (float, np.floating)):
        assert np.float64(a).tobytes() == np.float64(b).tobytes(), f"{what}: {a!r} != {b!r}"
    elif isinstance(a, streamlr.optim.Optimizer | streamlr.schedules.Schedule):
        _same(a.get_params(deep=False), b.get_params(deep=False), f"{what}<{type(a).__name__}>")
    else:
        assert a == b, f"{what}: {a!r} != {b!r}"


# the observations that are predictions (compared to rounding, not bitwise)
PREDICTIONS = ("predict", "decision_function", "predict_proba", "predict_one")


def _check_observed(case, est, prefix, expected, types):
    """What the old build observed (``prefix.*`` entries) == what est shows now."""
    got_types, got = gen.flatten(prefix, gen.observe(case, est))
    want = {k for k in types if k.startswith(prefix + ".")}
    assert set(got_types) == want, (f"{prefix}: attributes missing {sorted(want - set(got_types))}, "
                                    f"new {sorted(set(got_types) - want)}")
    for key in sorted(want):
        assert got_types[key] == types[key], f"{key}: {got_types[key]} != {types[key]} (old build)"
        if key in expected:
            if key.split(".")[1] in PREDICTIONS and np.asarray(expected[key]).dtype.kind == "f":
                # the old build summed the dot products in another order (issue #20
                # item 1: one fixed-order routine now): the same values to rounding
                got_key = np.asarray(got[key])
                assert got_key.dtype == expected[key].dtype, key
                # (a float32 model's predict_one of a float64 row or a dict now reads
                # the row in float64, as predict does; the old build rounded it to
                # float32 first: float32's rounding)
                f32 = getattr(getattr(est, "coef_", None), "dtype", None) == np.float32
                tol = 1e-5 if got_key.dtype == np.float32 or f32 else 1e-12
                np.testing.assert_allclose(got_key, expected[key], rtol=tol, atol=tol, err_msg=key)
            elif key.split(".")[1] in LOSSES and np.asarray(expected[key]).dtype.kind == "f":
                # the log loss's value from one exp (Loss.loss_dloss, issue #20)
                # moved each progressive loss by up to 5 ulps: the losses
                # within 1e-13 relative, the rates of lr_history_ bitwise
                got_key, want = np.asarray(got[key]), np.asarray(expected[key])
                assert got_key.dtype == want.dtype and got_key.shape == want.shape, key
                if key.split(".")[1] == "lr_history_" and want.ndim == 2:
                    _same_bits(got_key[:, :2], want[:, :2], key)
                np.testing.assert_allclose(got_key, want, rtol=1e-13, atol=0, err_msg=key)
            else:
                _same_bits(got[key], expected[key], key)


# the observations that are progressive losses (lr_history_: the window's mean
# loss beside its rate), compared to 1e-13 relative, not bitwise
LOSSES = ("progressive_loss_", "lr_history_")

# state a build after format 1's never had: left out when comparing with it
NEW_STATE = ("drift_state", "drifts", "class_counts")


def _old_state(est):
    state = model_state(est)
    return state if state is None else {k: v for k, v in state.items() if k not in NEW_STATE}


def _old_state_to_rounding(est, old):
    """``_old_state`` of a model resumed here and of the old build's resumed
    model, with the sums of progressive losses (``scalars``' loss slots, the
    plateau schedule's window losses, the history's mean losses) checked to 1e-13 relative and then
    taken from the old build's: the log
    loss's value from one exp (Loss.loss_dloss, issue #20) moved each loss
    by up to 5 ulps. Every other number stays for the bitwise comparison."""
    a, b = _old_state(est), _old_state(old)
    if a is None or b is None or "scalars" not in a or "scalars" not in b:
        return a, b
    loss_slots = [SLOTS[k] for k in ("loss_sum", "race_loss", "race_share", "served_loss")]
    a = _losses_to_rounding(a, b, "scalars", lambda width: loss_slots if width > max(loss_slots)
                            else None)
    # ReduceOnPlateau's six numbers a node: its best window loss (1) and the
    # window's running sum (4) are losses
    a = _losses_to_rounding(a, b, "schedule_state",
                            lambda width: [c for c in range(width) if c % 6 in (1, 4)])
    # lr_history_'s rows: clock, rate, the window's mean loss
    a = _losses_to_rounding(a, b, "history", lambda width: [2] if width == 3 else None)
    return a, b


def _losses_to_rounding(a, b, key, loss_columns):
    """``a`` with the loss columns of its 2-D array ``key`` (``loss_columns(width)``,
    None for none) checked against ``b``'s to 1e-13 relative, then taken from it."""
    if key not in a or key not in b:
        return a
    xa, xb = np.array(a[key]), np.asarray(b[key])
    cols = loss_columns(xa.shape[1]) if xa.shape == xb.shape and xa.ndim == 2 else None
    if not cols:
        return a
    np.testing.assert_allclose(xa[:, cols], xb[:, cols], rtol=1e-13, atol=0,
                               err_msg=f"{key} (losses)")
    xa[:, cols] = xb[:, cols]
    return dict(a, **{key: xa.astype(np.asarray(a[key]).dtype)})


def _check_params(case, est):
    fresh = gen.estimator(case)
    assert type(est) is type(fresh)
    _same(est.get_params(deep=False), fresh.get_params(deep=False), f"{case} params")


def _same_json(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)   # NaN == NaN


# -- tests ------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_fixture_rows_regenerate(case):
    expected, _ = _expected(case)
    assert str(expected["__rows_sha256__"]) == gen.rows_sha256(case), (
        "the rows of tests/data/make_format1_models.py no longer are the ones the fixtures "
        "were made with (NumPy/pandas/SciPy changed them?): the other failures are not streamlr's")
    header, members = _read(gen.paths(case)[0])
    assert header["format"] == 1 and header["streamlr"] == "0.1.0"
    assert not set(members) & (V2_STATE_MEMBERS - {"history"})


@pytest.mark.parametrize("case", CASES)
def test_format1_file_loads_bitwise(case):
    expected, types = _expected(case)
    est = streamlr.load(gen.paths(case)[0])
    _check_params(case, est)
    _check_observed(case, est, case, expected, types)


@pytest.mark.parametrize("case", CASES)
def test_resume_after_loading_format1_is_never_stopping(case):
    expected, types = _expected(case)
    model_path, continued_path, _ = gen.paths(case)
    est = gen.resume(case, streamlr.load(model_path))
    _check_observed(case, est, "continued", expected, types)
    old = streamlr.load(continued_path)   # the old build's model that never stopped
    _check_observed(case, old, "continued", expected, types)
    _check_params(case, old)
    _same(*_old_state_to_rounding(est, old), f"{case} state after resuming")


@pytest.mark.parametrize("case", CASES)
def test_resave_is_format2_with_descriptive_names(case, tmp_path):
    expected, types = _expected(case)
    model_path, continued_path, _ = gen.paths(case)
    est = streamlr.load(model_path)
    streamlr.save(est, tmp_path / "model.npz")
    h1, m1 = _read(model_path)
    h2, m2 = _read(tmp_path / "model.npz")

    assert h2["format"] == 2
    assert h2["arrays"] == sorted(m2)
    assert set(m2) == {V1_TO_V2.get(name, name) for name in m1}
    assert set(m2) <= V2_MEMBERS, f"unexpected members {sorted(set(m2) - V2_MEMBERS)}"
    if h1["fitted"]:
        assert set(m2) >= V2_STATE_MEMBERS
    for old_name, array in m1.items():
        new = m2[V1_TO_V2.get(old_name, old_name)]
        if old_name == "state.scal" and new.shape[1] > array.shape[1]:
            # the update rules' own scalars came later: zero columns appended
            assert not new[:, array.shape[1]:].any()
            new = new[:, : array.shape[1]]
        _same_bits(new, array, f"{old_name} (format 1)")
    assert (h2["estimator"], h2["fitted"]) == (h1["estimator"], h1["fitted"])
    # parameters added since (at their defaults) are the only new ones
    added = {k: v for k, v in h2["params"].items() if k not in h1["params"]}
    assert added == {k: v for k, v in {"auto_rates": None, "drift_detector": None,
                                       "on_drift": "restart", "power": 1.5,
                                       "quantile": 0.5, "hash_bits": None,
                                       "interactions": None, "multi_class": "ovr",
                                       "new_classes": "error", "max_pending": 100_000,
                                       "pending_ttl": None}.items() if k in added}
    assert _same_json({k: v for k, v in h2["params"].items() if k not in added}, h1["params"])
    renamed = {V1_TO_V2_SCALARS.get(k, k): v for k, v in h1["scalars"].items()}
    assert not set(h2["scalars"]) & set(V1_TO_V2_SCALARS)
    missing = set(renamed) - set(h2["scalars"])
    assert not missing, f"format 2 header lacks the scalars {sorted(missing)}"
    for key, value in renamed.items():
        assert _same_json(h2["scalars"][key], value), f"{key}: {h2['scalars'][key]} != {value}"

    # format 2 loads back into the same model, which resumes as the old one did
    again = streamlr.load(tmp_path / "model.npz")
    _check_params(case, again)
    _same(model_state(again), model_state(est), f"{case} state after format 2")
    _check_observed(case, again, case, expected, types)
    gen.resume(case, again)
    _check_observed(case, again, "continued", expected, types)

    # and so does the resumed model
    streamlr.save(again, tmp_path / "continued.npz")
    assert _read(tmp_path / "continued.npz")[0]["format"] == 2
    reloaded = streamlr.load(tmp_path / "continued.npz")
    _same(model_state(reloaded), model_state(again), f"{case} resumed state after format 2")
    _same(*_old_state_to_rounding(reloaded, streamlr.load(continued_path)),
          f"{case} resumed state vs the old build's")
    _check_observed(case, reloaded, "continued", expected, types)


def _rewrite(source, target, version):
    """A copy of a model file whose header claims ``version``, with a valid
    checksum (SHA-256 over the header and the arrays, as ``save`` computes it)."""
    with np.load(source, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k not in ("__header__", "__checksum__")}
        header = json.loads(z["__header__"].tobytes())
    header["format"] = version
    header_bytes = json.dumps(header, sort_keys=True).encode("utf-8")
    h = hashlib.sha256()
    h.update(header_bytes)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype.str).encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    arrays["__header__"] = np.frombuffer(header_bytes, dtype=np.uint8)
    arrays["__checksum__"] = np.frombuffer(h.hexdigest().encode(), dtype=np.uint8)
    with open(target, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("version", [4, 0, "1"])
def test_unknown_format_is_refused(version, tmp_path):
    source = gen.paths("clf_3class_adam_csr_plateau")[0]
    # the rewrite itself is sound: claiming format 1 again loads
    _rewrite(source, tmp_path / "same.npz", 1)
    _same(model_state(streamlr.load(tmp_path / "same.npz")),
          model_state(streamlr.load(source)), "rewritten format 1")
    _rewrite(source, tmp_path / "future.npz", version)
    with pytest.raises(ValueError, match=rf"format {version!r} is not supported"):
        streamlr.load(tmp_path / "future.npz")
