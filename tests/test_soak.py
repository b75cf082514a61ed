"""A long stream of partial_fit calls does not make the process grow.

A scaled-down bench/soak.py: a seeded stream (generated chunk by chunk, never
kept) goes through ``partial_fit`` in chunks of random sizes and then one row
at a time. After a warm-up (the first tenth of both kinds of calls), three
signals are read over the rest of the stream. Each counts live memory only,
so none depends on what the allocator keeps cached or hands back to the
system (the resident set size does: bench/soak.py reports it, no test
asserts on it). ``lr_history_`` grows by one 24-byte row per call in one
NumPy array whose capacity doubles; that is all a call may leave behind.

* the number of objects the garbage collector tracks: unchanged, up to a
  little slack for the interpreter (a container kept per call fails this);
* the memory traced by ``tracemalloc`` (Python objects and NumPy buffers):
  less than 256 KiB plus 64 bytes per call;
* the bytes the C allocator has handed out and not had back (glibc's
  ``mallinfo2``: in-use heap chunks plus mmapped ones), which also covers
  the kernels' own scratch (plain ``realloc``, unseen by ``tracemalloc``):
  less than 256 KiB plus 64 bytes per call. Where the C library has no
  ``mallinfo2`` this signal is left out.

On this stream (about 1,900 calls) a leak of 200 bytes per call fails the
byte bounds.
"""
import ctypes
import gc
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from streamlr import SGDClassifier
from streamlr.schedules import CosineWarmRestarts, Warmup

N_CHUNKED = 300_000
N_SINGLE = 2_000
MAX_CHUNK = 5000
WARMUP_FRACTION = 0.1
TRACED_BOUND = 256 * 2**10
TRACED_PER_CALL = 64
MALLOC_BOUND = 256 * 2**10
MALLOC_PER_CALL = 64
OBJECTS_SLACK = 100

D_SPARSE = 2**20
NNZ = 40
D_DENSE = 100


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def _malloc_in_use_reader():
    """A function giving the bytes malloc has handed out and not had back
    (glibc >= 2.33), or None where the C library has no ``mallinfo2``."""
    try:
        info = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    info.argtypes = []
    info.restype = _MallInfo2

    def in_use():
        m = info()
        return m.uordblks + m.hblkhd

    return in_use


_malloc_in_use = _malloc_in_use_reader()


class _Stream:
    """Seeded chunks of hashed CSR rows (2**20 features, 40 values per row)
    or dense rows (100 features), with labels from a fixed linear model."""

    def __init__(self, sparse, seed=0):
        self.sparse = sparse
        self.rng = np.random.default_rng(seed)
        self.w = self.rng.standard_normal(D_SPARSE if sparse else D_DENSE)

    def chunk(self, n):
        rng = self.rng
        if self.sparse:
            indices = rng.integers(0, D_SPARSE, size=n * NNZ, dtype=np.int32)
            data = rng.choice(np.array([-1.0, 1.0]), size=n * NNZ) / np.sqrt(NNZ)
            indptr = np.arange(0, n * NNZ + 1, NNZ, dtype=np.int32)
            X = sp.csr_matrix((data, indices, indptr), shape=(n, D_SPARSE))
            score = (data * self.w[indices]).reshape(n, NNZ).sum(axis=1)
        else:
            X = rng.standard_normal((n, D_DENSE)) / np.sqrt(D_DENSE)
            score = X @ self.w
        y = (score + 0.3 * rng.standard_normal(n) > 0).astype(np.int64)
        return X, y


def _feed_chunks(est, stream, sizes, n_samples):
    done = calls = 0
    while done < n_samples:
        n = min(int(sizes.integers(1, MAX_CHUNK + 1)), n_samples - done)
        X, y = stream.chunk(n)
        est.partial_fit(X, y)
        done += n
        calls += 1
    return calls


def _feed_single(est, stream, n_calls):
    done = 0
    while done < n_calls:
        n = min(1000, n_calls - done)
        X, y = stream.chunk(n)
        for i in range(n):
            est.partial_fit(X[i:i + 1], y[i:i + 1])
        done += n
    return n_calls


def _measure(est):
    rows = est.lr_history_.shape[0]
    gc.collect()
    return dict(objects=len(gc.get_objects()), rows=rows,
                malloc=_malloc_in_use() if _malloc_in_use is not None else 0)


def _make(optimizer):
    if optimizer == "sgd":
        return SGDClassifier(loss="log_loss", shuffle=False)
    return SGDClassifier(loss="log_loss", optimizer="adam", shuffle=False,
                         learning_rate=Warmup(CosineWarmRestarts(0.01, 100000, 2), 10000))


@pytest.mark.slow
@pytest.mark.parametrize("data, optimizer", [("dense", "sgd"), ("dense", "adam"),
                                             ("csr", "sgd"), ("csr", "adam")])
def test_stream_memory_stays_flat(data, optimizer):
    sparse = data == "csr"
    # CSR chunks cost more per row (O(nnz) bookkeeping per call): a shorter stream
    n_chunked = N_CHUNKED // 3 if sparse else N_CHUNKED
    stream = _Stream(sparse, seed=1)
    sizes = np.random.default_rng(2)
    est = _make(optimizer)
    X, y = stream.chunk(100)
    est.partial_fit(X, y, classes=np.array([0, 1]))  # allocates the state, once
    del X, y

    warm_chunked = int(n_chunked * WARMUP_FRACTION)
    warm_single = int(N_SINGLE * WARMUP_FRACTION)
    _feed_chunks(est, stream, sizes, warm_chunked)
    _feed_single(est, stream, warm_single)

    # The rest of the stream, one window for the three signals. tracemalloc
    # traces only what is allocated after start, so what it still traces at
    # the end is what the window left behind; it is stopped (its own tables
    # freed) before malloc is read again.
    before = _measure(est)
    tracemalloc.start()
    try:
        calls = _feed_chunks(est, stream, sizes, n_chunked - warm_chunked)
        calls += _feed_single(est, stream, N_SINGLE - warm_single)
        gc.collect()
        traced = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    after = _measure(est)

    assert after["rows"] - before["rows"] == calls  # lr_history_: one row per call, by design
    report = (f"{data}/{optimizer}: {calls} calls after warm-up; gc objects "
              f"{before['objects']} -> {after['objects']}; {traced} bytes still traced; "
              f"malloc in use {before['malloc']} -> {after['malloc']} bytes")
    assert after["objects"] - before["objects"] <= OBJECTS_SLACK, report
    assert traced < TRACED_BOUND + TRACED_PER_CALL * calls, report
    assert after["malloc"] - before["malloc"] < MALLOC_BOUND + MALLOC_PER_CALL * calls, report
    assert np.all(np.isfinite(est.coef_)), report


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_predict_loop_allocates_nothing_lasting(sparse):
    """Predictions between calls (progressive validation) leave nothing behind."""
    stream = _Stream(sparse, seed=3)
    est = _make("adam")
    X, y = stream.chunk(500)
    est.partial_fit(X, y, classes=np.array([0, 1]))
    Xq, _ = stream.chunk(200)
    tracemalloc.start()
    try:
        for _ in range(5):  # warm-up
            est.predict_proba(Xq)
            est.decision_function(Xq)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(30):
            est.predict(Xq)
            est.predict_proba(Xq)
            est.decision_function(Xq)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024, (before, after)
