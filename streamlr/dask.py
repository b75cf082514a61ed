"""Scaling out with Dask (the optional extra ``streamlr[dask]``).

Two ways to use a Dask cluster:

* **dask-ml's wrappers.** streamlr's estimators have ``partial_fit`` and
  ``score`` and pickle cleanly, so ``dask_ml.wrappers.Incremental`` trains
  one on the blocks of a Dask array, and
  ``dask_ml.model_selection.IncrementalSearchCV`` / ``HyperbandSearchCV``
  search learning rates, optimizers and schedules over the cluster. With
  dask 2025.3 or later, dask-ml 2025.1.0's searches need
  :func:`search_compat` (see there).
* **Data-parallel training**, :func:`fit_parallel`: iterative parameter
  mixing (McDonald, Hall and Mann 2010). In each round, every split of the
  data (a run of consecutive blocks) trains its own copy of the same model
  with ``partial_fit`` on a worker; the driver then averages the copies'
  weights, intercepts and optimizer state into the model of the next round.

Nothing here imports dask until a function is called.
"""
import copy
import numbers
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.base import clone, is_classifier

from .linear_model import _params


def _dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:
        raise ImportError("streamlr.dask needs dask: pip install 'streamlr[dask]'") from exc
    return dask, da


@contextmanager
def search_compat(client=None):
    """Let dask-ml 2025.1.0's incremental searches run on dask 2025.3 or later.

    This is for ``IncrementalSearchCV`` / ``HyperbandSearchCV`` and their
    relatives. Those searches call the top-level ``dask.persist`` inside a coroutine on
    the client's event loop. Since dask 2025.3 (dask/dask#11790),
    ``dask.base.get_scheduler`` refuses a client in that asynchronous state
    ("Attempting to use an asynchronous Client in a synchronous context of
    `dask.compute`", dask/dask-ml#1016) unless the configuration key
    ``admin.async-client-fallback`` names another scheduler. This context
    names the client's own ``get``, so ``dask.persist`` hands the work to
    ``client.persist`` — which returns futures without blocking, as the
    searches expect — and silences the fallback's warning. With older dask it
    changes nothing that matters.

    Parameters
    ----------
    client : distributed.Client, optional
        The client the searches run on; default the active one
        (``distributed.default_client()``).

    Yields
    ------
    distributed.Client
        The client.

    Raises
    ------
    ImportError
        If dask is not installed.

    Examples
    --------
    >>> with search_compat(client):                      # doctest: +SKIP
    ...     search.fit(X, y, classes=[0, 1])
    """
    dask, _ = _dask()
    if client is None:
        from distributed import default_client

        client = default_client()
    with dask.config.set({"admin.async-client-fallback": client.get}), \
            warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Distributed Client detected but Client "
                                "instance is asynchronous", category=UserWarning)
        yield client


def _check(estimator, rounds):
    from .linear_model._base import BaseSGD as _BaseSGD

    if not isinstance(estimator, _BaseSGD):
        raise TypeError(f"fit_parallel needs a streamlr estimator, got {type(estimator).__name__}")
    if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
        raise ValueError(f"rounds must be a positive integer, got {rounds!r}")
    if estimator.average:
        raise ValueError("fit_parallel does not mix averaged models (average="
                         f"{estimator.average!r}); average the result's coef_ yourself or "
                         "train with average=False")
    if _params.racing(estimator):
        raise ValueError("fit_parallel does not mix rate races (learning_rate='auto' or "
                         "optimizer='auto'): their copies' shares are not averages; pick "
                         "a rate and an optimizer, or train one model")


def _blocks(X, y, da):
    """Row blocks of X (all its columns in one block) and y, as delayed objects."""
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise TypeError(f"X must be a 2-D dask array, got {type(X).__name__}")
    if not isinstance(y, da.Array) or y.ndim != 1:
        raise TypeError(f"y must be a 1-D dask array, got {type(y).__name__}")
    if not (np.isnan(X.shape[0]) or np.isnan(y.shape[0])) and X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y have different numbers of samples: {X.shape[0]} and "
                         f"{y.shape[0]}")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if y.chunks[0] != X.chunks[0]:
        y = y.rechunk((X.chunks[0],))
    return list(X.to_delayed()[:, 0]), list(y.to_delayed())


def _default_splits(n_blocks):
    """The number of workers of the active distributed client (else the
    number of threads of the local scheduler), at most one per block."""
    try:
        from distributed import default_client

        n = len(default_client().scheduler_info()["workers"])
    except (ImportError, ValueError):
        import os

        n = os.cpu_count() or 1
    return max(1, min(n, n_blocks))


def _train_copy(model, X_blocks, y_blocks, fit_kwargs):
    """One split of a round: a copy of the round's model, trained on its blocks in order."""
    model = copy.deepcopy(model)
    for Xb, yb in zip(X_blocks, y_blocks, strict=True):
        if Xb.shape[0]:
            model.partial_fit(Xb, yb, **fit_kwargs)
    return model


def _counter(models, base, get, origin):
    """A counter of the mixed model: its value at the start of the round
    (``origin`` for a model not yet fitted) plus every copy's progress."""
    start = np.asarray(get(base), dtype=np.float64) if base is not None else origin
    return start + np.sum([np.asarray(get(m), dtype=np.float64) - start for m in models], axis=0)


def mix(models, base=None):
    """Average copies of one model trained from the same start ``base``.

    The result has the mean of the copies' ``coef_``, ``intercept_`` and
    ``optimizer_state_`` (each slot as the dense rule would hold it now, so
    lazily decayed coordinates are caught up first), and counts every
    sample any copy learned: ``t_`` and the progressive loss add up the
    copies' progress since ``base`` (None: the copies started unfitted), so a
    schedule of the mixed model continues at the total number of updates.
    An update rule's own scalars (`streamlr.optim.Optimizer.scalar_state`)
    mix as the rule says (``mix_scalar_state``): ``Prodigy`` averages ``d``,
    ``d_max`` and ``d_numerator``, counts ``k`` as ``t`` and sums the
    averaged ``|s|`` again.
    A stateful schedule (``ReduceOnPlateau``) keeps the first copy's state.
    The copies are not changed.

    Parameters
    ----------
    models : iterable of SGDClassifier or SGDRegressor
        Fitted copies of one model (same shape and optimizer), all trained
        from ``base``.
    base : SGDClassifier or SGDRegressor, optional
        The model the copies started from; None when they started unfitted.

    Returns
    -------
    SGDClassifier or SGDRegressor
        A new model, the average of the copies.

    Raises
    ------
    ValueError
        If ``models`` is empty, the models differ in shape or optimizer, or
        a model races rates or has a drift detector.
    """
    from .linear_model._state import SLOTS

    models = list(models)
    if not models:
        raise ValueError("mix needs at least one model")
    out = copy.deepcopy(models[0])
    st = out._model
    states = [m._model for m in models]
    shapes = {s.w.shape for s in states}
    if len(shapes) > 1 or any(s.optimizer_key != st.optimizer_key for s in states):
        raise ValueError(f"the models differ in shape or optimizer: {sorted(shapes)}")
    if any(s.copies > 1 for s in states):
        raise ValueError("mix does not average rate races (learning_rate='auto' or "
                         "optimizer='auto'): their copies' shares are not averages")
    if any(getattr(m, "drift_detector", None) is not None or s.drift_state.size
           or s.scalars[:, SLOTS["clock0"]].any() for m, s in zip(models, states, strict=True)):
        raise ValueError("mix does not average models with a drift detector: their "
                         "detectors and restarted clocks are not averages")
    slots = SLOTS

    coef = np.mean([np.asarray(m.coef_, dtype=np.float64) for m in models], axis=0)
    intercept = np.mean([np.asarray(m.intercept_, dtype=np.float64) for m in models], axis=0)
    opt_states = [s.optimizer_state() for s in states]
    out.coef_ = coef.astype(st.w.dtype)
    out.intercept_ = intercept
    st.intercept_block[:, 0] = st.scalars[:, slots["intercept"]]
    for name in ("l1_u", "sq_norm", "l1_norm", "mu_product"):
        st.scalars[:, slots[name]] = np.mean([s.scalars[:, slots[name]] for s in states], axis=0)
    if st.l1_received.size:
        st.l1_received[...] = np.mean([s.l1_received for s in states], axis=0)
    base_state = None if base is None else base._model
    for name, origin in (("t", 1.0), ("loss_sum", 0.0), ("n_seen", 0.0)):
        st.scalars[:, slots[name]] = _counter(states, base_state,
                                              lambda s, i=slots[name]: s.scalars[:, i], origin)
    for i, name in enumerate(st.optimizer_key[2]):
        st.slot(i)[...] = np.mean([s[name] for s in opt_states], axis=0)
        st.intercept_block[:, 1 + i] = np.mean([s[name + "_intercept"] for s in opt_states],
                                               axis=0)
    if st.rule_scalars:
        # the rule's own scalars (Prodigy's d): mixed as the rule says
        from .optim import resolve

        cols = {name: slots["rule"] + i for i, name in enumerate(st.rule_scalars)}

        def scalars(s):
            return {name: s.scalars[:, c].copy() for name, c in cols.items()}

        mixed = {}
        for i, name in enumerate(st.optimizer_key[2]):
            mixed[name] = st.slot(i)
            mixed[name + "_intercept"] = st.intercept_block[:, 1 + i]
        values = resolve(models[0].optimizer).mix_scalar_state(
            [scalars(s) for s in states], None if base_state is None else scalars(base_state), mixed)
        for name, c in cols.items():
            st.scalars[:, c] = values[name]
    if st.last_update.size:  # every coordinate is caught up to now
        st.last_update[...] = (st.scalars[:, [slots["t"]]] - 1.0).astype(np.int64)
    progress = st.progress
    t = float(_counter(states, base_state, lambda s: s.progress.t, 1.0))
    lr = float(np.mean([s.progress.lr for s in states]))
    if base_state is not None:  # the path of the rounds
        progress.restore(base_state.progress.copy().snapshot())
    else:
        progress.restore(type(progress)().snapshot())
    progress.t, progress.lr = t, lr
    progress.n_iter = states[0].progress.n_iter
    progress.record(t - 1.0, lr, out.progressive_loss_)
    st.engine = None
    return out


def fit_parallel(estimator, X, y, *, rounds=1, classes=None, n_splits=None):
    """Train ``estimator`` on a Dask cluster by iterative parameter mixing.

    The rows of ``X`` are cut into ``n_splits`` runs of consecutive blocks.
    Each round, every run trains a copy of the current model (the same for
    all) with ``partial_fit`` over its blocks, as one Dask task, so one
    worker streams through its own part of the data; the driver averages the
    copies (:func:`mix`: weights, intercepts, optimizer state; the update
    counter ``t_`` adds up, so schedules see the total number of samples)
    and starts the next round from the average. One round is one pass over
    the data.

    The tasks run on whatever Dask scheduler is active (a ``distributed``
    client, else the local threads: the kernels release the GIL).

    Parameters
    ----------
    estimator : SGDClassifier or SGDRegressor
        A streamlr estimator with ``average=False``; fitted (training
        continues) or not.
    X : dask.array.Array of shape (n_samples, n_features)
        The rows, a 2-D dask array.
    y : dask.array.Array of shape (n_samples,)
        Their labels or targets, a 1-D dask array (rechunked to X's row
        blocks).
    rounds : int, default=1
        Number of passes (mixing steps).
    classes : array-like, optional
        All the classes (classifiers); default ``da.unique(y)``.
    n_splits : int, optional
        Copies per round; default the number of workers of the active
        ``distributed`` client (else of CPUs), at most the number of
        blocks. ``n_splits=1`` is plain sequential ``partial_fit`` over the
        blocks, run on one worker.

    Returns
    -------
    SGDClassifier or SGDRegressor
        ``estimator``, trained in place (as ``fit`` does). Its
        ``lr_history_`` has one row per round.

    Raises
    ------
    ImportError
        If dask is not installed.
    TypeError
        If ``estimator`` is not a streamlr estimator, or ``X``/``y`` are not
        2-D/1-D dask arrays.
    ValueError
        For ``average=True``, a bad ``rounds`` or ``n_splits``, or ``X`` and
        ``y`` of different lengths.

    Examples
    --------
    >>> import dask.array as da                          # doctest: +SKIP
    >>> from streamlr import SGDClassifier
    >>> from streamlr.dask import fit_parallel
    >>> X = da.random.normal(size=(100_000, 20), chunks=(10_000, 20))  # doctest: +SKIP
    >>> y = (X[:, 0] > 0).astype(int)                    # doctest: +SKIP
    >>> model = fit_parallel(SGDClassifier(loss="log_loss"), X, y, rounds=3,
    ...                      classes=[0, 1])             # doctest: +SKIP
    """
    dask, da = _dask()
    _check(estimator, rounds)
    X_blocks, y_blocks = _blocks(X, y, da)
    if n_splits is None:
        n_splits = _default_splits(len(X_blocks))
    if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) or n_splits < 1:
        raise ValueError(f"n_splits must be a positive integer, got {n_splits!r}")
    if n_splits > len(X_blocks):
        raise ValueError(f"n_splits={n_splits} exceeds the {len(X_blocks)} row blocks of X; "
                         "rechunk X into smaller blocks")
    fitted = "_model" in estimator.__dict__
    fit_kwargs = {}
    if is_classifier(estimator):
        if classes is None:
            classes = estimator.classes_ if fitted else da.unique(y).compute()
            if fitted and getattr(estimator, "new_classes", "error") == "add":
                # every copy adds the stream's new classes up front: the same shape
                classes = np.union1d(classes, da.unique(y).compute())
        fit_kwargs["classes"] = np.asarray(classes)
    groups = np.array_split(np.arange(len(X_blocks)), n_splits)
    model = copy.deepcopy(estimator) if fitted else clone(estimator)
    base = model if fitted else None
    for _ in range(rounds):
        start = dask.delayed(model, traverse=False)
        tasks = [dask.delayed(_train_copy, pure=False)(
            start, [X_blocks[i] for i in g], [y_blocks[i] for i in g], fit_kwargs)
            for g in groups]
        copies = dask.compute(*tasks)
        model = mix(copies, base)
        base = model
    estimator.__dict__.update(model.__dict__)
    return estimator


__all__ = ["fit_parallel", "mix", "search_compat"]
