"""A long stream of partial_fit calls does not make the process grow.

A scaled-down bench/soak.py: a seeded stream (generated chunk by chunk, never
kept) goes through ``partial_fit`` in chunks of random sizes and then one row
at a time. After a warm-up (the first tenth of both kinds of calls) three
signals must stay flat up to the end:

* the resident set size (VmRSS), within a few MiB: the coarse signal, what
  a user sees; the allocator's free pages are handed back (malloc_trim, when
  glibc has it) before each reading so that only live memory counts;
* the number of objects the garbage collector tracks: at most one per
  ``lr_history_`` row added (plus a little slack for the interpreter);
* the memory traced by ``tracemalloc`` (Python objects and NumPy buffers):
  less than 1 MiB plus 200 bytes per call (``lr_history_`` keeps one
  (t, lr, progressive loss) row per call, about 150 bytes as Python objects).

Linux only for the RSS signal (it reads /proc/self/status).
"""
import ctypes
import ctypes.util
import gc
import os
import sys
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
RSS_BOUND_MIB = 8.0
TRACED_BOUND = 2**20
TRACED_PER_CALL = 200
OBJECTS_SLACK = 100

D_SPARSE = 2**20
NNZ = 40
D_DENSE = 100


def _rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    pytest.skip("no VmRSS in /proc/self/status")


def _libc_trim():
    """glibc's malloc_trim, or a no-op elsewhere."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return lambda: None
    trim.argtypes = [ctypes.c_size_t]
    return lambda: trim(0)


_trim = _libc_trim()


def _settle():
    gc.collect()
    _trim()


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
    _settle()
    return dict(rss=_rss_mib(), objects=len(gc.get_objects()), rows=est.lr_history_.shape[0])


def _make(optimizer):
    if optimizer == "sgd":
        return SGDClassifier(loss="log_loss", shuffle=False)
    return SGDClassifier(loss="log_loss", optimizer="adam", shuffle=False,
                         learning_rate=Warmup(CosineWarmRestarts(0.01, 100000, 2), 10000))


@pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.exists("/proc/self/status"),
                    reason="reads VmRSS from /proc")
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

    # RSS and gc objects over the whole stream, after a warm-up of a tenth of it
    warm_chunked = int(n_chunked * WARMUP_FRACTION)
    warm_single = int(N_SINGLE * WARMUP_FRACTION)
    _feed_chunks(est, stream, sizes, warm_chunked)
    _feed_single(est, stream, warm_single)
    before = _measure(est)
    calls = _feed_chunks(est, stream, sizes, n_chunked - warm_chunked)
    calls += _feed_single(est, stream, N_SINGLE - warm_single)
    after = _measure(est)

    # tracemalloc (it slows every allocation down: a shorter window). It
    # traces only what is allocated after start, so what is still traced at
    # the end is what the window left behind.
    tracemalloc.start()
    try:
        traced_start = tracemalloc.get_traced_memory()[0]
        traced_calls = _feed_chunks(est, stream, sizes, n_chunked // 10)
        traced_calls += _feed_single(est, stream, N_SINGLE // 10)
        _settle()
        traced = tracemalloc.get_traced_memory()[0] - traced_start
    finally:
        tracemalloc.stop()

    rows_added = after["rows"] - before["rows"]
    assert rows_added == calls  # lr_history_: one row per call, by design
    report = (f"{data}/{optimizer}: {calls} calls after warm-up; RSS "
              f"{before['rss']:.1f} -> {after['rss']:.1f} MiB, gc objects "
              f"{before['objects']} -> {after['objects']}; {traced} bytes still traced "
              f"after {traced_calls} calls")
    assert after["rss"] - before["rss"] < RSS_BOUND_MIB, report
    assert after["objects"] - before["objects"] <= rows_added + OBJECTS_SLACK, report
    assert traced < TRACED_BOUND + TRACED_PER_CALL * traced_calls, report
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
        _settle()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(30):
            est.predict(Xq)
            est.predict_proba(Xq)
            est.decision_function(Xq)
        _settle()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024, (before, after)
