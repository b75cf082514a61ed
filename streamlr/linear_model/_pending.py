"""Delayed labels: events remembered by ``predict_one(x, key=k)`` and learned
later by ``learn_label(k, y)``.

The store is part of the model (``ModelState.pending``, made on the first
remembered event): an ordered dict ``key -> (values, indices, served, t)``,
oldest first, where ``values``/``indices`` are the row as the model read it
(its own copy; ``indices`` None for a dense row), ``served`` the decision
values of the prediction (float64, one per output) and ``t`` the model's
``t_`` then. Events are remembered in the order of ``t_``, so the expired
ones (``pending_ttl``) are always a prefix of the store; at most
``max_pending`` are kept, the oldest dropped first. The keys of events
dropped or expired recently are kept (as many as ``max_pending``) only to
say why a later ``learn_label`` finds nothing.

The compiled half (the event as read, the update at the served prediction's
loss) is ``streamlr/_kernels/pending.pxi``. Saved by ``streamlr.save`` as
arrays (``save_arrays``/``load_arrays``); keys are written as tagged JSON.
"""
import json
from collections import OrderedDict

import numpy as np

from . import _driver

# the two constructor parameters, documented alike in both estimators
# (at %(pending_parameters)s)
PENDING_PARAMETERS = """    max_pending : int, default=100_000
        Delayed labels: the most events ``predict_one(x, key=k)`` (and
        ``predict_proba_one``) keep waiting for ``learn_label(k, y)``; when
        one more is remembered, the oldest is dropped. Memory stays bounded
        by ``max_pending`` rows.
    pending_ttl : int or None, default=None
        Delayed labels: an event remembered at ``t_ = t0`` expires once the
        model has made more than ``pending_ttl`` updates since (``t_ - t0 >
        pending_ttl``); ``learn_label`` of an expired event raises
        ``KeyError``. None: events never expire.
"""


class PendingStore:
    """The events waiting for their label, oldest first (see the module)."""

    __slots__ = ("events", "gone", "classes")

    def __init__(self, classes=None):
        self.events = OrderedDict()     # key -> (values, indices, served, t)
        self.gone = OrderedDict()       # key -> why it left (recent ones only; _why)
        self.classes = classes          # the classes_ the served values are aligned with

    def __getstate__(self):
        return {"events": self.events, "gone": self.gone, "classes": self.classes}

    def __setstate__(self, state):
        self.events = state["events"]
        self.gone = state["gone"]
        self.classes = state.get("classes")


def _store(est, model):
    store = model.__dict__.get("pending")
    if store is None:
        store = model.pending = PendingStore(est.__dict__.get("classes_"))
    return store


def _sync_classes(est, store):
    """Align the served values with ``classes_`` after classes were added
    (``new_classes="add"``; checked by identity, O(1)): a new class's row
    was zero, so its served decision value is 0; the binary row split into
    one-vs-rest rows serves -p for the old negative class and p for the old
    positive one (the negated row's decision, exactly)."""
    classes = est.__dict__.get("classes_")
    old = store.classes
    if classes is None or classes is old:
        return
    store.classes = classes
    if old is None or (len(old) == len(classes) and np.array_equal(old, classes)):
        return
    old, new = list(old), classes.tolist()
    for key, (v, ind, served, t) in list(store.events.items()):
        if len(old) == 2:
            known = {old[1]: served[0], old[0]: 0.0 - served[0]}
        elif len(old) > 2:
            known = dict(zip(old, served.tolist(), strict=True))
        else:
            known = {}
        wanted = new[1:] if len(new) == 2 else new
        store.events[key] = (v, ind, np.asarray([known.get(c, 0.0) for c in wanted]), t)


def _forget(store, key, why, cap):
    """``key`` left the store (``why``): remembered for the error message."""
    gone = store.gone
    gone[key] = why
    while len(gone) > cap:
        gone.popitem(last=False)


def _prune(store, t, ttl, cap):
    """Drop the expired events (a prefix: oldest first)."""
    events = store.events
    while events:
        key = next(iter(events))
        t0 = events[key][3]
        if t - t0 <= ttl:
            return
        del events[key]
        _forget(store, key, ("expired", t0, ttl), cap)


def _why(why):
    """The reason a key left the store, in words (``gone``'s entries)."""
    if why is None:
        return "never remembered by predict_one(x, key=...), or learned already"
    if why[0] == "expired":
        return f"expired (remembered at t_={why[1]:.0f}, pending_ttl={why[2]})"
    return f"dropped (more than max_pending={why[1]} events were pending)"


def _check_key(key):
    try:
        hash(key)
    except TypeError:
        raise TypeError(f"key must be hashable; got {type(key).__name__}") from None


def remember(est, x, key, what, logistic=False):
    """``predict_one`` (``what`` 0) or ``predict_proba_one`` (1) of ``x``,
    remembered under ``key``."""
    _check_key(key)
    model = est._fitted_model("predict_one" if what == 0 else "decision")
    engine = _driver.current_engine(est)
    one_class = what == 1 and len(est.__dict__.get("classes_", ())) == 1
    answer, values, indices, served = engine.predict_kept(
        x, model.averaged(), model.average, 0 if one_class else what, logistic)
    if one_class:           # new_classes="add", one class so far
        answer = {est.classes_[0].item(): 1.0}
    elif answer is None:    # many classes: predict_proba's own summation
        proba = est._proba_from_scores(served[None, :])[0]
        answer = dict(zip(est.classes_.tolist(), proba.tolist(), strict=True))
    store = _store(est, model)
    _sync_classes(est, store)
    events = store.events
    t = model.progress.t
    events.pop(key, None)     # a pending key: replaced, and now the newest
    events[key] = (values, indices, served, t)
    cap = est.max_pending
    if store.gone:
        store.gone.pop(key, None)
    while len(events) > cap:
        old, _ = events.popitem(last=False)
        _forget(store, old, ("dropped", cap), cap)
    if est.pending_ttl is not None:
        _prune(store, t, est.pending_ttl, cap)
    return answer


def learn_label(est, key, y, sample_weight):
    """``est.learn_label``: one update from the event remembered under ``key``."""
    model = est.__dict__.get("_model")
    store = None if model is None else model.__dict__.get("pending")
    try:
        event = None if store is None else store.events.get(key)
    except TypeError:
        raise TypeError(f"key must be hashable; got {type(key).__name__}") from None
    if event is None:
        _check_key(key)
        why = None if store is None else store.gone.get(key)
        raise KeyError(f"no event is pending under key {key!r}: {_why(why)}")
    _driver._no_early_stopping(est)
    engine = _driver.current_engine(est)
    if store.classes is not est.__dict__.get("classes_"):
        _sync_classes(est, store)
        event = store.events[key]
    ttl = est.pending_ttl
    t = model.progress.t
    if ttl is not None and t - event[3] > ttl:
        del store.events[key]
        why = ("expired", event[3], ttl)
        _forget(store, key, why, est.max_pending)
        raise KeyError(f"the event under key {key!r} {_why(why)}; now t_={t:.0f}")
    if getattr(est, "new_classes", "error") == "add" and (
            len(est.classes_) < 2 or y not in set(est.classes_.tolist())):
        # a label that adds a class (or the second): learned as learn_one
        # learns it, growing the model; its loss at the current weights
        est.learn_one(_as_event(est, event), y, sample_weight)
    elif engine.learn_kept(event[0], event[1], y, sample_weight, event[2]) < 0:
        _driver.raise_diverged(est, engine, "this event")
    else:
        _driver.served_average(est, engine)
    del store.events[key]
    if ttl is not None:
        _prune(store, model.progress.t, ttl, est.max_pending)


def _as_event(est, event):
    """The remembered row as learn_one takes it."""
    values, indices = event[0], event[1]
    if indices is None:
        return values.copy()
    import scipy.sparse as sp  # a sparse event exists: SciPy is imported already

    n = values.shape[0]
    return sp.csr_matrix((values.copy(), indices.copy(), np.array([0, n], dtype=np.intc)),
                         shape=(1, est.n_features_in_))


def n_pending(est, model):
    """The events waiting for a label (the expired ones not counted)."""
    store = model.__dict__.get("pending")
    if store is None:
        return 0
    n = len(store.events)
    ttl = est.pending_ttl
    if ttl is not None and n:
        t = model.progress.t
        for event in store.events.values():
            if t - event[3] <= ttl:
                break
            n -= 1
    return n


# -- persistence: arrays, no pickle ------------------------------------------------

def _encode_key(key):
    # a JSON value tagged with its type, so that the key comes back equal and
    # of the same type; NumPy scalars as the Python scalars they equal
    if isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, bool):
        return ["B", key]
    if isinstance(key, int):
        return ["i", str(key)]
    if isinstance(key, float):
        return ["f", key.hex()]
    if isinstance(key, str):
        return ["s", key]
    if isinstance(key, bytes):
        return ["b", key.hex()]
    if isinstance(key, tuple):
        return ["t", [_encode_key(k) for k in key]]
    raise TypeError(f"cannot save a pending event's key of type {type(key).__name__}: "
                    "keys are saved when they are str, int, float, bytes, or tuples of those")


def _decode_key(value):
    tag, v = value
    if tag == "B":
        return bool(v)
    if tag == "i":
        return int(v)
    if tag == "f":
        return float.fromhex(v)
    if tag == "s":
        return str(v)
    if tag == "b":
        return bytes.fromhex(v)
    if tag == "t":
        return tuple(_decode_key(k) for k in v)
    raise ValueError(f"unknown key tag {tag!r} in the model file")


def save_arrays(est):
    """The pending events as named arrays (none when there are none)."""
    model = est._model
    store = model.__dict__.get("pending")
    if store is None or not store.events:
        return {}
    _sync_classes(est, store)
    keys, nnz, values, indices, served, ts = [], [], [], [], [], []
    for key, (v, ind, s, t) in store.events.items():
        keys.append(_encode_key(key))
        nnz.append(-1 if ind is None else v.shape[0])
        values.append(v)
        if ind is not None:
            indices.append(ind)
        served.append(s)
        ts.append(t)
    dtype = model.weight_blocks.dtype
    return {
        "pending.keys": np.frombuffer(json.dumps(keys).encode("utf-8"), dtype=np.uint8),
        "pending.nnz": np.asarray(nnz, dtype=np.int64),
        "pending.values": np.concatenate(values).astype(dtype, copy=False),
        "pending.indices": (np.concatenate(indices) if indices
                            else np.zeros(0, dtype=np.intc)).astype(np.intc, copy=False),
        "pending.served": np.asarray(served, dtype=np.float64),
        "pending.t": np.asarray(ts, dtype=np.float64),
    }


def load_arrays(est, arrays):
    """Put back the pending events ``save_arrays`` wrote (if any)."""
    if "pending.keys" not in arrays:
        return
    model = est._model
    keys = [_decode_key(k) for k in json.loads(arrays["pending.keys"].tobytes().decode("utf-8"))]
    nnz = arrays["pending.nnz"]
    values = np.ascontiguousarray(arrays["pending.values"], dtype=model.weight_blocks.dtype)
    indices = np.ascontiguousarray(arrays["pending.indices"], dtype=np.intc)
    served = np.ascontiguousarray(arrays["pending.served"], dtype=np.float64)
    ts = arrays["pending.t"]
    d = model.n_features
    if not (len(keys) == nnz.shape[0] == served.shape[0] == ts.shape[0]):
        raise ValueError("the model file's pending events are inconsistent")
    store = _store(est, model)
    vo = io = 0
    for i, key in enumerate(keys):
        n = int(nnz[i])
        if n < 0:
            v, ind = values[vo:vo + d].copy(), None
            vo += d
        else:
            v, ind = values[vo:vo + n].copy(), indices[io:io + n].copy()
            vo += n
            io += n
        if v.shape[0] != (d if n < 0 else n) or (ind is not None and ind.shape[0] != n):
            raise ValueError("the model file's pending events are inconsistent")
        store.events[key] = (v, ind, served[i].copy(), float(ts[i]))
    if vo != values.shape[0] or io != indices.shape[0]:
        raise ValueError("the model file's pending events are inconsistent")


class PendingLabels:
    """``learn_label`` and ``n_pending_`` of both estimators (delayed labels)."""

    def learn_label(self, key, y, sample_weight=1.0):
        """Learn from the event remembered under ``key``, now that its label came.

        ``predict_one(x, key=key)`` (or ``predict_proba_one``) remembered the
        event: the row as the model read it and the decision values it
        served. This makes one update from that row with label ``y``, at the
        current weights, exactly as ``learn_one`` of the row; the
        progressive loss (and a ``drift_detector``'s input) is measured at
        the decision values served then, not at the current ones. The event
        is no longer pending afterwards.

        Parameters
        ----------
        key : hashable
            The key given to ``predict_one``.
        y : object
            The event's label (classifiers: one of ``classes_``) or target.
        sample_weight : float, default=1.0
            The event's weight.

        Returns
        -------
        self
            The estimator.

        Raises
        ------
        KeyError
            If no event is pending under ``key`` (never remembered, already
            learned, dropped by ``max_pending`` or expired after
            ``pending_ttl``); the model is unchanged.
        TypeError
            If ``key`` is not hashable.
        ValueError
            If ``y`` or ``sample_weight`` is invalid (checked before any
            change).

        Notes
        -----
        The pending events belong to the model: ``streamlr.save`` keeps
        them, a failed call leaves them as they were, ``clone`` starts
        without any, and ``fit`` (or the first ``partial_fit``, which makes
        the model) starts a new model without any. The served value is the
        one ``predict_one`` computed (the averaged model's with ``average``,
        the race's with ``learning_rate="auto"``); a ``ReduceOnPlateau``
        schedule's streaming window observes its loss too. With
        ``new_classes="add"``, classes added while an event waits served 0
        for it (their rows were zero; the split binary row serves the
        negated value to the old negative class), and a label that adds a
        class is learned as ``learn_one`` learns it (its loss at the
        current weights).

        Examples
        --------
        >>> import numpy as np
        >>> from streamlr import SGDClassifier
        >>> model = SGDClassifier(loss="log_loss").partial_fit(
        ...     np.eye(2), [0, 1], classes=[0, 1])
        >>> label = model.predict_one(np.array([1.0, 0.0]), key="payment-17")
        >>> model.n_pending_
        1
        >>> model = model.learn_label("payment-17", 0)
        >>> model.n_pending_
        0
        """
        learn_label(self, key, y, sample_weight)
        return self

    @property
    def n_pending_(self):
        """The events waiting for their label (delayed labels).

        Remembered by ``predict_one(x, key=...)`` and not yet learned by
        ``learn_label``, dropped by ``max_pending`` or expired after
        ``pending_ttl``.
        """
        return n_pending(self, self._fitted_model("n_pending_"))
