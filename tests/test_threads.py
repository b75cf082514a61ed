"""Threads: predictions during training, estimators learning in parallel.

What is guaranteed
------------------
* Reading while one thread trains. ``predict``, ``decision_function`` and
  ``predict_proba`` may be called from any number of threads while one
  thread calls ``partial_fit`` on the same estimator. They never crash or
  raise, and they return finite values of the right shape (as long as the
  training itself stays finite). A prediction made during a ``partial_fit``
  call sees some model between the one before the call and the one after
  it, possibly partially updated: the kernel updates the weight arrays in
  place, row by row, without a lock, so a reader may see the first rows of
  the chunk learned and not the rest, and it reads the scalar state (the
  intercept, plain SGD's weight scale, the averaging coefficients) as of the
  start of the call (or of the last block of rows the kernel handed back).
  Such a mixture is not always a convex combination of the two models; when
  a consistent model matters, do not predict during a call (or lock).
  Readers never change what the writer learns: the final model is bitwise
  the one a lone writer trains.
* A ``partial_fit`` call that fails (bad labels, NaN in X, divergence)
  undoes itself without ever leaving the estimator unfitted: a concurrent
  prediction sees the model before or during the failed call, never an error.
* Not guaranteed: two threads calling ``partial_fit`` on the same estimator
  at once (the updates race); use one writer per estimator.
* Several estimators, one thread each. The per-sample loop runs without the
  GIL and touches only its own estimator's arrays, so estimators trained in
  different threads at the same time really run in parallel and end bitwise
  equal to the same estimators trained one after another.
"""
import contextlib
import os
import sys
import threading

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

import streamlr
from streamlr import SGDClassifier, SGDRegressor
from streamlr.schedules import CosineWarmRestarts, Warmup

D_SPARSE = 2**18
NNZ = 20
D_DENSE = 50


def _cpus():
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _schedule():
    return Warmup(CosineWarmRestarts(0.01, 5000, 2), 500)


def _stream(kind, n, seed, n_classes=2):
    """(X, y) chunks' source: ``n`` rows of dense or CSR data, fixed seed."""
    rng = np.random.default_rng(seed)
    if kind == "csr":
        indices = rng.integers(0, D_SPARSE, size=n * NNZ, dtype=np.int32)
        data = rng.standard_normal(n * NNZ) / np.sqrt(NNZ)
        indptr = np.arange(0, n * NNZ + 1, NNZ, dtype=np.int32)
        X = sp.csr_matrix((data, indices, indptr), shape=(n, D_SPARSE))
        d = D_SPARSE
    else:
        X = rng.standard_normal((n, D_DENSE)) / np.sqrt(D_DENSE)
        d = D_DENSE
    W = rng.standard_normal((n_classes if n_classes > 2 else 1, d))
    score = np.asarray(X @ W.T) + 0.3 * rng.standard_normal((n, W.shape[0]))
    if n_classes > 2:
        y = score.argmax(axis=1)
    else:
        y = (score[:, 0] > 0).astype(np.int64)
    return X, y


def _chunks(n, seed, max_size=400):
    """Seeded random chunk boundaries covering range(n)."""
    rng = np.random.default_rng(seed)
    bounds, lo = [], 0
    while lo < n:
        hi = min(n, lo + int(rng.integers(1, max_size + 1)))
        bounds.append((lo, hi))
        lo = hi
    return bounds


# -- (a) predictions from several threads while one thread trains -------------

READ_CASES = {
    "dense-sgd-binary": lambda: SGDClassifier(loss="log_loss", shuffle=False),
    "dense-adam-avg-3class": lambda: SGDClassifier(
        loss="modified_huber", optimizer="adam", learning_rate=_schedule(),
        average=50, shuffle=False),
    "csr-adam-binary": lambda: SGDClassifier(
        loss="log_loss", optimizer="adam", learning_rate=_schedule(), shuffle=False),
    "csr-sgd-l1-avg-3class": lambda: SGDClassifier(
        loss="log_loss", penalty="elasticnet", average=True, shuffle=False),
}


def _check_outputs(est, Xq, n_classes):
    n = Xq.shape[0]
    scores = est.decision_function(Xq)
    assert scores.shape == ((n,) if n_classes == 2 else (n, n_classes))
    assert np.all(np.isfinite(scores))
    pred = est.predict(Xq)
    assert pred.shape == (n,)
    assert np.isin(pred, est.classes_).all()
    proba = est.predict_proba(Xq)
    assert proba.shape == (n, n_classes)
    assert np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@pytest.fixture
def fast_switching():
    """Switch threads every 10 us instead of 5 ms: far more interleavings of
    the Python-level code of partial_fit and the readers."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


@pytest.mark.parametrize("case", sorted(READ_CASES))
def test_predict_while_partial_fit(case, fast_switching):
    kind = case.split("-")[0]
    n_classes = 3 if case.endswith("3class") else 2
    classes = np.arange(n_classes)
    X, y = _stream(kind, 12_000, seed=1, n_classes=n_classes)
    Xq = X[:64]
    bounds = _chunks(X.shape[0], seed=2)
    est = READ_CASES[case]()
    twin = READ_CASES[case]()
    for e in (est, twin):
        e.partial_fit(X[:100], y[:100], classes=classes)

    errors, reads = [], []
    done = threading.Event()
    start = threading.Barrier(4)

    def writer():
        try:
            start.wait()
            for lo, hi in bounds:
                est.partial_fit(X[lo:hi], y[lo:hi])
        except BaseException as exc:  # reported below
            errors.append(("writer", exc))
        finally:
            done.set()

    def reader(i):
        count = 0
        try:
            start.wait()
            while not done.is_set() or count < 3:
                _check_outputs(est, Xq, n_classes)
                count += 1
        except BaseException as exc:
            errors.append((f"reader {i}", exc))
            done.set()
        reads.append(count)

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors
    assert len(reads) == 3 and min(reads) >= 3

    # the readers did not disturb the writer: the lone-writer model, bitwise
    for lo, hi in bounds:
        twin.partial_fit(X[lo:hi], y[lo:hi])
    assert_array_equal(est.coef_, twin.coef_)
    assert_array_equal(est.intercept_, twin.intercept_)
    assert est.t_ == twin.t_
    assert_array_equal(est.lr_history_, twin.lr_history_)
    _check_outputs(est, Xq, n_classes)


def test_predict_while_partial_fit_fails(fast_switching):
    sys.setswitchinterval(1e-6)
    X, y = _stream("dense", 2_000, seed=3)
    bad = y.copy()
    bad[0] = 7  # outside classes: the call raises ValueError and undoes itself
    est = SGDClassifier(loss="log_loss", shuffle=False)
    est.partial_fit(X, y, classes=np.array([0, 1]))
    errors = []
    done = threading.Event()

    def writer():
        try:
            for i in range(2000):
                with contextlib.suppress(ValueError):
                    est.partial_fit(X[:50], (bad if i % 2 else y)[:50])
        finally:
            done.set()

    def reader():
        while not done.is_set():
            try:
                est.predict(X[:10])
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader)
                                                   for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, f"{len(errors)} failed reads, e.g. {errors[0]!r}"


# -- (b) several estimators learning in parallel ---------------------------------

PARALLEL_CASES = [
    ("dense", lambda: SGDClassifier(loss="log_loss", shuffle=False)),
    ("dense", lambda: SGDClassifier(loss="hinge", optimizer="adam",
                                    learning_rate=_schedule(), average=True, shuffle=False)),
    ("csr", lambda: SGDClassifier(loss="log_loss", penalty="l1", shuffle=False)),
    ("csr", lambda: SGDClassifier(loss="log_loss", optimizer="adam",
                                  learning_rate=_schedule(), shuffle=False)),
    ("dense", lambda: SGDRegressor(optimizer="rmsprop", learning_rate="constant",
                                   eta0=1e-3, shuffle=False)),
    ("csr", lambda: SGDRegressor(penalty="elasticnet", average=10, shuffle=False)),
]


def _train_all(jobs):
    """Train each (estimator, X, y, bounds) job; returns the estimators."""
    for est, X, y, bounds in jobs:
        for lo, hi in bounds:
            kwargs = {"classes": np.array([0, 1])} if isinstance(est, SGDClassifier) else {}
            est.partial_fit(X[lo:hi], y[lo:hi], **kwargs)
    return [job[0] for job in jobs]


def _jobs(seed_offset=0):
    jobs = []
    for i, (kind, make) in enumerate(PARALLEL_CASES):
        X, y = _stream(kind, 20_000, seed=10 + i)
        if isinstance(make(), SGDRegressor):
            y = y.astype(np.float64) - 0.5
        jobs.append((make(), X, y, _chunks(X.shape[0], seed=20 + i + seed_offset, max_size=3000)))
    return jobs


def _assert_same(a, b):
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.intercept_, b.intercept_)
    assert a.t_ == b.t_
    assert_array_equal(a.lr_history_, b.lr_history_)
    sa, sb = a.optimizer_state_, b.optimizer_state_
    assert sa.keys() == sb.keys()
    for name in sa:
        assert_array_equal(sa[name], sb[name], err_msg=name)


def test_parallel_estimators_match_sequential():
    sequential = _train_all(_jobs())
    for _ in range(2):  # twice: different interleavings
        jobs = _jobs()
        errors = []
        start = threading.Barrier(len(jobs))

        def run(job, start, errors):
            try:
                start.wait()
                _train_all([job])
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(job, start, errors)) for job in jobs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        for seq, par in zip(sequential, [job[0] for job in jobs], strict=True):
            _assert_same(seq, par)


def test_same_data_many_threads_identical_models():
    """Four copies of one estimator, fed the same (shared, read-only) chunks
    from four threads at once, end bitwise equal."""
    X, y = _stream("csr", 20_000, seed=5)
    bounds = _chunks(X.shape[0], seed=6, max_size=2000)
    models = [SGDClassifier(loss="log_loss", optimizer="adam", learning_rate=_schedule(),
                            shuffle=False) for _ in range(4)]
    errors = []

    def run(est):
        try:
            _train_all([(est, X, y, bounds)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for m in models[1:]:
        _assert_same(models[0], m)


# -- (c) the kernel releases the GIL ------------------------------------------

def test_the_kernel_releases_the_gil():
    """While a partial_fit call is inside its compiled pass, another Python
    thread runs: it reads the model half-way through the pass, with some rows
    of the chunk learned and not the rest. A kernel that held the GIL would
    never let it: compiled code does not yield the GIL by itself, and before
    and after the pass the weights are as before and after the call. (The
    chunk is one pass block and there is no intercept, so no state changes
    between kernel calls either.) No timing or count depends on the machine:
    the thread only has to run once during one of up to 50 passes, each of a
    few hundred thousand weight updates. Whether two threads also run faster
    than one depends on free cores: bench/bench_threads.py measures it."""
    rng = np.random.default_rng(0)
    n, d = 1_000, 1_000
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    y = (X[:, 0] > 0).astype(int)
    probe = X[:1]
    est = SGDClassifier(optimizer="adam", learning_rate="constant", eta0=1e-3,
                        fit_intercept=False, shuffle=False)
    est.partial_fit(X[:100], y[:100], classes=[0, 1])
    call = [None]           # the index of the partial_fit call under way, or None
    seen = []               # (call index, decision value read during that call)
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            k = call[0]
            value = est.decision_function(probe)[0]
            if k is not None and call[0] == k:   # read wholly during call k
                seen.append((k, value))

    watcher = threading.Thread(target=watch)
    watcher.start()
    midway = []
    try:
        for k in range(50):
            before = est.decision_function(probe)[0]
            call[0] = k
            est.partial_fit(X, y)
            call[0] = None
            after = est.decision_function(probe)[0]
            midway = [v for j, v in seen if j == k and v != before and v != after]
            if midway:
                break
    finally:
        stop.set()
        watcher.join()
    assert midway, f"no read of the model during a pass ({len(seen)} reads during calls)"


# ---------------------------------------------------------------------------
# n_jobs: one-vs-rest problems in threads
# ---------------------------------------------------------------------------

def _ovr_data(n=400, d=12, n_classes=4, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X[:, :n_classes] + 0.3 * rng.standard_normal((n, n_classes))).argmax(axis=1)
    return X, y


@pytest.mark.parametrize("params", [
    dict(),
    dict(optimizer="adam", learning_rate="constant", eta0=0.01, average=20),
    dict(loss="log_loss", early_stopping=True, n_iter_no_change=2, random_state=0),
    dict(learning_rate="adaptive", eta0=0.1, shuffle=True, random_state=5),
    dict(optimizer="adagrad", learning_rate=streamlr.schedules.ReduceOnPlateau(0.1, patience=0, window=50)),
    dict(gtol=1e-3, max_iter=20),
])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_n_jobs_gives_bitwise_the_sequential_model(params, sparse):
    X, y = _ovr_data()
    X = sp.csr_matrix(X) if sparse else X
    models = []
    params = {"max_iter": 15, "tol": 1e-4, "random_state": 0, **params}
    for n_jobs in (None, 1, 2, -1):
        m = SGDClassifier(n_jobs=n_jobs, **params).fit(X, y)
        if not m.early_stopping:
            m.partial_fit(X[:150], y[:150])   # too large a chunk for the single-event path
        models.append(m)
    for m in models[1:]:
        np.testing.assert_array_equal(m.coef_, models[0].coef_)
        np.testing.assert_array_equal(m.intercept_, models[0].intercept_)
        assert m.n_iter_ == models[0].n_iter_ and m.t_ == models[0].t_
        assert m.lr_ == models[0].lr_
        np.testing.assert_array_equal(m.lr_history_, models[0].lr_history_)
        assert m.progressive_loss_ == models[0].progressive_loss_


def test_n_jobs_divergence_in_one_problem_undoes_the_call():
    X, y = _ovr_data()
    m = SGDClassifier(n_jobs=2, shuffle=False, learning_rate="constant", eta0=0.01).fit(X, y)
    before = (m.coef_.copy(), m.intercept_.copy(), m.t_)
    X_bad = X.copy()
    X_bad[7:9] = 1e200   # the second of these rows overflows the prediction
    with pytest.raises(streamlr.DivergenceError):
        m.partial_fit(X_bad[:100], y[:100])
    np.testing.assert_array_equal(before[0], m.coef_)
    np.testing.assert_array_equal(before[1], m.intercept_)
    assert before[2] == m.t_


@pytest.mark.parametrize("bad", [0, 1.5, "2", True])
def test_n_jobs_is_validated(bad):
    X, y = _ovr_data()
    with pytest.raises(ValueError, match="n_jobs"):
        SGDClassifier(n_jobs=bad).fit(X, y)


def test_predict_one_while_large_events_learn_without_the_gil(fast_switching):
    """Events large enough to release the GIL (here 5 classes x 20,000
    features x Adam's 3 slots) learn in one thread while others call
    predict_one / predict_proba_one: no crash, finite answers, and the model
    is bitwise the one a lone writer trains."""
    rng = np.random.default_rng(1)
    d, n = 20_000, 40
    X = rng.standard_normal((n, d))
    y = rng.integers(0, 5, n)

    def make():
        return SGDClassifier(loss="log_loss", optimizer="adam", eta0=1e-3, shuffle=False)

    writer = make().partial_fit(X[:2], y[:2], classes=np.arange(5))
    alone = make().partial_fit(X[:2], y[:2], classes=np.arange(5))
    for i in range(2, n):
        alone.learn_one(X[i], y[i])
    stop = threading.Event()
    errors = []

    def reader():
        try:
            while not stop.is_set():
                label = writer.predict_one(X[0])
                proba = writer.predict_proba_one(X[1])
                assert label in range(5) and np.isfinite(list(proba.values())).all()
        except Exception as e:   # noqa: BLE001 - reported below
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for i in range(2, n):
            writer.learn_one(X[i], y[i])
    finally:
        stop.set()
        for t in readers:
            t.join()
    assert not errors, errors[0]
    assert_array_equal(writer.coef_, alone.coef_)
