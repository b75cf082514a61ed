"""What the snapshot of a call costs with a drift detector: ``partial_fit``
of 100 sparse rows (2^20 columns, 40 non-zeros each), Adam, a binary
log-loss classifier, with and without ``average`` and a detector (ADWIN,
``on_drift="restart"``). The call snapshots the columns it touches and
takes every column only at its first restart; ``--full`` times the rule
before that (a call with a detector snapshotted every column up front),
by handing the driver no touched columns.

    python bench/bench_drift_snapshot.py [--calls 300] [--full]

Medians over the calls, the four configurations alternating call by call.
"""
import argparse
import time

import numpy as np
import scipy.sparse as sp
from suite_report import cpu_model

from streamlr import SGDClassifier
from streamlr.drift import ADWIN

D, NNZ, ROWS = 1 << 20, 40, 100


def batch(seed):
    rng = np.random.RandomState(seed)
    idx = np.sort(rng.randint(0, D, (ROWS, NNZ)), axis=1)
    X = sp.csr_matrix((rng.rand(ROWS * NNZ), idx.ravel(), np.arange(ROWS + 1) * NNZ),
                      shape=(ROWS, D))
    X.sum_duplicates()
    return X, rng.randint(0, 2, ROWS)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    if args.full:
        from streamlr.linear_model import _driver
        _driver.touched_columns = lambda *a: None
    data = [batch(2 + i) for i in range(10)]
    runs = {}
    for average in (False, True):
        for detector in (False, True):
            clf = SGDClassifier(loss="log_loss", optimizer="adam", learning_rate="constant",
                                eta0=0.01, average=average,
                                drift_detector=ADWIN() if detector else None)
            clf.partial_fit(*batch(1), classes=[0, 1])
            runs[(average, detector)] = (clf, [])
    for i in range(args.calls):
        X, y = data[i % 10]
        for clf, times in runs.values():
            t0 = time.perf_counter()
            clf.partial_fit(X, y)
            times.append(time.perf_counter() - t0)
    print(f"CPU: {cpu_model()}; snapshot rule: {'full' if args.full else 'touched columns'}")
    for (average, detector), (_, times) in runs.items():
        print(f"average={average!s:5} detector={detector!s:5} "
              f"{np.median(times) * 1e3:7.3f} ms per call (median of {len(times)})")


if __name__ == "__main__":
    main()
