"""Saving and loading models in a file that loading can never execute code from.

Format (version 2): a NumPy ``.npz`` archive, read with ``allow_pickle=False``.

* ``__header__``: UTF-8 JSON as a uint8 array: the magic ``"streamlr-model"``,
  the format version, the streamlr version, the estimator's class, its
  parameters (spec objects as ``{"__spec__": "Adam", "params": {...}}``, only
  the spec classes of the registry are accepted on load), the fitted
  scalars, and the names of the arrays.
* one member per array of fitted state, named after ``ModelState``'s
  attributes (``state.weight_blocks``, ``state.scalars``, ...), plain numeric
  or unicode dtypes.
* delayed labels' pending events, when there are any (``pending.keys``: the
  keys as type-tagged UTF-8 JSON; ``pending.nnz``, ``pending.values``,
  ``pending.indices``, ``pending.served``, ``pending.t``: the rows, the
  decision values served and ``t_`` at each; linear_model/_pending.py).
* ``__checksum__``: SHA-256 over the header and every array (name, dtype,
  shape, bytes) in a fixed order; ``load`` refuses a file whose checksum does
  not match (truncated, tampered, or not written by ``save``).

Files of format 1 (streamlr 0.1.0, with the kernel's short array names) still
load, into the same model. Format 3 is format 2 with the fitted scalar
``block_widths``: a race of different rules first fed CSR rows
(``optimizer="auto"``) keeps each copy's weights and slots in blocks of its
own rule's width, in one flat ``state.weight_blocks``; every other model is
still written as format 2.

``save`` writes to a temporary file in the target's directory, flushes it to
disk and renames it over the target, so a crash mid-save leaves the previous
file whole. Loading and continuing to train gives bitwise the model of never
stopping.
"""
import contextlib
import hashlib
import json
import numbers
import os
import tempfile
import zipfile

import numpy as np
import scipy.sparse as sp

from . import __version__, _registry
from .linear_model import SGDClassifier, SGDRegressor, _pending
from .linear_model._state import ARRAYS, ModelState
from .linear_model._state import DEFAULTS as OPTIONAL_ARRAYS

MAGIC = "streamlr-model"
FORMAT_VERSION = 2
# the format of a model whose race gives each copy its own rule's width
# (``block_widths``): format 2 otherwise, so that other files stay as they were
WIDTHS_FORMAT = 3
READABLE_FORMATS = (1, 2, 3)
_ESTIMATORS = {"SGDClassifier": SGDClassifier, "SGDRegressor": SGDRegressor}
# format 1's names of the state arrays
_V1_ARRAYS = {"blk": "weight_blocks", "aw": "average_weights", "q": "l1_received",
              "stamp": "last_update", "scal": "scalars", "oint": "intercept_block",
              "sched_state": "schedule_state"}


def _specs():
    return _registry.spec_classes()


# -- values <-> JSON --------------------------------------------------------------

def _encode(value, where):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        return v if np.isfinite(v) else {"__float__": repr(v)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"__tuple__": [_encode(v, where) for v in value.tolist()]}
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    specs = _specs()
    if type(value).__name__ in specs and isinstance(value, specs[type(value).__name__]):
        params = value.get_params(deep=False)
        return {"__spec__": type(value).__name__,
                "params": {k: _encode(v, where) for k, v in params.items()}}
    raise ValueError(f"cannot save {where}={value!r}: only numbers, strings, None, lists, "
                     "dicts and streamlr.optim/streamlr.schedules objects can be saved "
                     "(a RandomState instance, for one, cannot: use an int seed)")


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__float__" in value:
            return float(value["__float__"])
        if "__dict__" in value:
            return {_decode(k): _decode(v) for k, v in value["__dict__"]}
        if "__spec__" in value:
            cls = _specs().get(value["__spec__"])
            if cls is None:
                raise ValueError(f"unknown object {value['__spec__']!r} in the model file")
            return cls(**{k: _decode(v) for k, v in value["params"].items()})
        raise ValueError("malformed value in the model file")
    return value


# -- checksum ---------------------------------------------------------------------

def _digest(header_bytes, arrays):
    h = hashlib.sha256()
    h.update(header_bytes)
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype.str).encode())
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


# -- save -------------------------------------------------------------------------

def _fitted(est):
    """(scalars for the header, arrays) of a fitted estimator."""
    state = est._model.state_dict()
    meta = state.pop("meta")
    # the drift detector's arrays only when there is one (a file stays as it
    # was for models without)
    arrays = {f"state.{name}": state[name] for name in ARRAYS
              if name not in OPTIONAL_ARRAYS or state[name].size}
    arrays["history"] = state["history"]
    key = meta["schedule_key"]
    scalars = {
        "t_": meta["t"],
        "n_iter_": meta["n_iter"],
        "lr_": meta["lr"],
        "n_features_in_": int(est.n_features_in_),
        "history": [meta["history_calls"], meta["history_stride"]],
        "sparse_coef": bool(sp.issparse(est.coef_)),
        "optimizer_key": [meta["optimizer_key"][0], meta["optimizer_key"][1],
                          list(meta["optimizer_key"][2])],
        "decays": meta["decays"],
        "rule_scalars": list(meta["rule_scalars"]),
        "race_rates": None if meta["race_rates"] is None else [
            None if r != r else r for r in meta["race_rates"]],
        "race_optimizers": None if meta["race_optimizers"] is None else list(meta["race_optimizers"]),
        "race_kernels": None if meta["race_kernels"] is None else list(meta["race_kernels"]),
        "interleaved": meta["interleaved"],
        "average": meta["average"],
        "schedule_repr": None if key is None else key[0],
    }
    if meta["block_widths"] is not None:
        # a race of different rules, each copy's blocks its own rule's width
        # (format 3: a build before it would misread the flat weight array)
        scalars["block_widths"] = list(meta["block_widths"])
    if key is not None:
        arrays["schedule.kinds"] = np.frombuffer(key[1], dtype=np.intc)
        arrays["schedule.params"] = np.frombuffer(key[2], dtype=np.float64)
    if hasattr(est, "classes_"):
        classes = np.asarray(est.classes_)
        if classes.dtype.kind not in "biufU":
            try:
                classes = classes.astype(str) if all(isinstance(c, str) for c in classes) else None
            except (TypeError, ValueError):
                classes = None
            if classes is None:
                raise ValueError("cannot save classes_ of mixed or object types")
        arrays["classes_"] = classes
    if hasattr(est, "feature_names_in_"):
        arrays["feature_names_in_"] = np.asarray(est.feature_names_in_, dtype=str)
    arrays.update(_pending.save_arrays(est))    # delayed labels' events, if any
    return scalars, arrays


def save(estimator, path, *, metadata=None):
    """Write ``estimator`` (fitted or not) to ``path``, atomically.

    The file holds its parameters and, when fitted, all training state
    (weights, optimizer and schedule state, averaging, ``t_``), so that
    ``load(path)`` resumes training bitwise. No pickle is involved.

    Parameters
    ----------
    estimator : SGDClassifier or SGDRegressor
        The streamlr estimator to save.
    path : str or path-like
        The file to write; an existing file is replaced only once the new
        one is complete.
    metadata : dict, optional
        A JSON-serialisable dict stored with the model (covered by the
        checksum) and read back by :func:`load_metadata`; the command line
        keeps there how the training data was read.

    Raises
    ------
    TypeError
        If ``estimator`` is not a streamlr estimator, ``metadata`` is not a
        dict, or a pending event's key (delayed labels) is not a str, int,
        float, bytes or a tuple of those.
    ValueError
        If a parameter or ``metadata`` cannot be saved (a ``RandomState``
        instance, non-JSON values).

    See Also
    --------
    load : Read the model back.

    Examples
    --------
    >>> import numpy as np
    >>> from streamlr import SGDClassifier, load, save
    >>> model = SGDClassifier().partial_fit(np.eye(4), [0, 1, 0, 1], classes=[0, 1])
    >>> save(model, "model.streamlr")                # doctest: +SKIP
    >>> same = load("model.streamlr")                # doctest: +SKIP
    """
    name = type(estimator).__name__
    if name not in _ESTIMATORS or not isinstance(estimator, _ESTIMATORS[name]):
        raise TypeError(f"save() takes a streamlr estimator, got {name}")
    params = {k: _encode(v, k) for k, v in estimator.get_params(deep=False).items()}
    fitted = "_model" in estimator.__dict__
    scalars, arrays = _fitted(estimator) if fitted else ({}, {})
    version = WIDTHS_FORMAT if "block_widths" in scalars else FORMAT_VERSION
    header = {"magic": MAGIC, "format": version, "streamlr": __version__,
              "estimator": name, "params": params, "fitted": fitted,
              "scalars": scalars, "arrays": sorted(arrays)}
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        try:
            header["metadata"] = json.loads(json.dumps(metadata, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"metadata must be JSON-serialisable ({exc})") from None
    header_bytes = json.dumps(header, sort_keys=True).encode("utf-8")
    members = dict(arrays)
    members["__header__"] = np.frombuffer(header_bytes, dtype=np.uint8)
    members["__checksum__"] = np.frombuffer(_digest(header_bytes, arrays).encode(), dtype=np.uint8)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".streamlr-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **members)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- load -------------------------------------------------------------------------

def _read(path):
    try:
        with np.load(os.fspath(path), allow_pickle=False) as z:
            members = {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise ValueError(f"{path}: not a streamlr model file, or a truncated one ({exc})") from None
    if "__header__" not in members or "__checksum__" not in members:
        raise ValueError(f"{path}: not a streamlr model file (no header)")
    header_bytes = members.pop("__header__").tobytes()
    checksum = members.pop("__checksum__").tobytes().decode("ascii", "replace")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{path}: not a streamlr model file (unreadable header)") from None
    if not isinstance(header, dict) or header.get("magic") != MAGIC:
        raise ValueError(f"{path}: not a streamlr model file")
    if header.get("format") not in READABLE_FORMATS:
        raise ValueError(f"{path}: model file format {header.get('format')!r} is not "
                         f"supported by streamlr {__version__} (format {FORMAT_VERSION})")
    if _digest(header_bytes, members) != checksum:
        raise ValueError(f"{path}: checksum mismatch: the model file is damaged or was modified")
    if sorted(members) != header.get("arrays"):
        raise ValueError(f"{path}: the model file's arrays do not match its header")
    return header, members


def load(path):
    """Read a model written by :func:`save`; never executes code from the file.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    SGDClassifier or SGDRegressor
        The estimator as it was saved; training it further gives bitwise
        the model of never stopping.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For a truncated, tampered or foreign file, or one of a newer format.

    See Also
    --------
    save : Write a model.
    load_metadata : Read the metadata saved with a model.
    """
    header, arrays = _read(path)
    cls = _ESTIMATORS.get(header.get("estimator"))
    if cls is None:
        raise ValueError(f"{path}: unknown estimator {header.get('estimator')!r}")
    try:
        est = cls(**{k: _decode(v) for k, v in header["params"].items()})
    except TypeError as exc:
        raise ValueError(f"{path}: parameters do not fit {cls.__name__} ({exc})") from None
    if not header["fitted"]:
        return est
    sc = header["scalars"]
    est._model = ModelState.from_state_dict(_state_dict(header["format"], sc, arrays))
    est.n_features_in_ = int(sc["n_features_in_"])
    if "classes_" in arrays:
        est.classes_ = arrays["classes_"]
    if "feature_names_in_" in arrays:
        est.feature_names_in_ = arrays["feature_names_in_"].astype(object)
    _pending.load_arrays(est, arrays)
    if sc["sparse_coef"]:
        est.sparsify()
    return est


def _state_dict(version, sc, arrays):
    """The ModelState.state_dict a file's scalars and arrays describe."""
    if version == 1:   # the kernel's short names
        names = {f"state.{old}": new for old, new in _V1_ARRAYS.items()}
        key_names = ("opt_key", "sched_repr", "sched.kinds", "sched.params")
    else:
        names = {f"state.{name}": name for name in ARRAYS}
        key_names = ("optimizer_key", "schedule_repr", "schedule.kinds", "schedule.params")
    state = {new: np.array(arrays[old]) for old, new in names.items() if old in arrays}
    state["history"] = np.array(arrays["history"], dtype=np.float64).reshape(-1, 3)
    opt_key, repr_key, kinds_key, params_key = key_names
    schedule_key = None
    if sc[repr_key] is not None:
        schedule_key = (sc[repr_key], arrays[kinds_key].astype(np.intc).tobytes(),
                        arrays[params_key].astype(np.float64).tobytes())
    state["meta"] = {
        "optimizer_key": (sc[opt_key][0], int(sc[opt_key][1]), tuple(sc[opt_key][2])),
        "decays": sc["decays"],
        "rule_scalars": tuple(sc.get("rule_scalars", ())),
        "race_rates": None if sc.get("race_rates") is None else [
            float("nan") if r is None else r for r in sc["race_rates"]],
        "race_optimizers": sc.get("race_optimizers"),
        "race_kernels": sc.get("race_kernels"),
        "interleaved": sc["interleaved"],
        "block_widths": sc.get("block_widths"),
        "average": sc["average"],
        "schedule_key": schedule_key,
        "t": sc["t_"],
        "n_iter": sc["n_iter_"],
        "lr": sc["lr_"],
        "history_calls": int(sc["history"][0]),
        "history_stride": int(sc["history"][1]),
    }
    return state


def load_metadata(path):
    """Read the ``metadata`` dict a model file was saved with.

    The file is checked as :func:`load` checks it.

    Parameters
    ----------
    path : str or path-like
        The model file.

    Returns
    -------
    dict
        The ``metadata`` given to :func:`save`; empty when none was.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For a truncated, tampered or foreign file.
    """
    header, _ = _read(path)
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: malformed metadata in the model file")
    return metadata


__all__ = ["save", "load", "load_metadata", "MAGIC", "FORMAT_VERSION"]
