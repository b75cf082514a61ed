"""The progress table ``streamlr train`` prints while it learns, as Vowpal Wabbit
does, and the reading of the data ahead of the learning in a second thread."""
import contextlib
import math
import queue
import sys
import threading

import numpy as np

from ._cli_options import _out
from ._csr import CSRRows


class _Progress:
    """Vowpal Wabbit's progress table: at 1, 2, 4, ... samples, the
    progressive loss over all samples so far and since the last line, the
    summed sample weight, the label, prediction and number of features of
    the sample just learned (its prediction made before learning it), and
    the rate; a tqdm bar on a terminal when tqdm is installed."""

    def __init__(self, loss, quiet=False):
        self.loss, self.quiet = loss, quiet
        self.next, self.last_n, self.last_sum = 1, 0, 0.0
        self.weight = 0.0
        self.bar = None
        self.started = False

    def start(self):
        """The header (and the bar), once the data is open."""
        self.started = True
        if self.quiet:
            return
        tqdm = None
        if sys.stderr.isatty():  # a bar only on a terminal (tqdm's import is not free)
            with contextlib.suppress(ImportError):
                from tqdm import tqdm
        if tqdm is not None:
            self.bar = tqdm(unit=" samples", disable=None, file=sys.stderr, leave=False)
        self.write(f"{'average':>10} {'since':>10} {'example':>12} {'example':>12} "
                   f"{'current':>10} {'current':>10} {'current':>8} {'current':>10}")
        self.write(f"{'loss':>10} {'last':>10} {'counter':>12} {'weight':>12} "
                   f"{'label':>10} {'predict':>10} {'features':>8} {'lr':>10}"
                   f"   ({self.loss}, progressive)")

    def write(self, line):
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line)
        else:
            _out(line)

    def line(self, model, n, label=math.nan, predict=math.nan, features=0):
        total = model.progressive_loss_ * n
        since = (total - self.last_sum) / (n - self.last_n) if n > self.last_n else float("nan")
        if not self.quiet:
            current = (f"{label:>10.4f} {predict:>10.4f} {features:>8}" if not math.isnan(label)
                       else f"{'':>10} {'':>10} {'':>8}")
            self.write(f"{model.progressive_loss_:>10.6f} {since:>10.6f} {n:>12} "
                       f"{self.weight:>12.1f} {current} {model.lr_:>10.4g}")
        self.last_n, self.last_sum = n, total

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _prediction(model, x):
    """The model's prediction for one row before it learns it (0 before any)."""
    if "_model" not in model.__dict__:
        return 0.0
    if hasattr(model, "decision_function"):
        d = model.decision_function(x)
        return float(d[0]) if d.ndim == 1 else float(np.argmax(d[0]))
    return float(model.predict(x)[0])


def _row_range(X, lo, hi):
    """Rows lo:hi of a CSR matrix, sharing its values and indices (no copy)."""
    if type(X) is CSRRows:
        return X.rows(lo, hi)
    if lo == 0 and hi == X.shape[0]:
        return X
    if hasattr(X, "materialize"):   # CrossedRows (interactions crossed by the loop)
        return X[lo:hi]
    import scipy.sparse as sp  # X is a SciPy matrix: SciPy is imported

    a, b = X.indptr[lo], X.indptr[hi]
    return sp.csr_matrix((X.data[a:b], X.indices[a:b], X.indptr[lo:hi + 1] - a),
                         shape=(hi - lo, X.shape[1]))


def _learn(model, X, y, w, kwargs, progress, seen):
    """partial_fit rows, cut at the sample counts where a line is due."""
    if not progress.started:
        progress.start()
    lo, n = 0, len(y)
    while lo < n:
        hi = min(n, lo + progress.next - seen)
        due = seen + hi - lo == progress.next
        cut = hi - 1 if due else hi
        # partial_fit refuses a call whose weights are all zero: then the rows
        # are learned in one call and the prediction is taken after it
        whole = w is not None and due and not (w[lo:cut].any() and w[cut:hi].any())
        if whole:
            model.partial_fit(_row_range(X, lo, hi), y[lo:hi], sample_weight=w[lo:hi],
                              **kwargs)
        elif cut > lo:
            model.partial_fit(_row_range(X, lo, cut), y[lo:cut],
                              sample_weight=None if w is None else w[lo:cut], **kwargs)
        if due:
            x = _row_range(X, cut, hi)
            predict = math.nan if progress.quiet else _prediction(model, x)
            if not whole:
                model.partial_fit(x, y[cut:hi], sample_weight=None if w is None else w[cut:hi],
                                  **kwargs)
        progress.weight += float(hi - lo) if w is None else float(w[lo:hi].sum())
        seen += hi - lo
        if progress.bar is not None:
            progress.bar.update(hi - lo)
        if due:
            label = float(y[cut]) if y.dtype.kind in "iuf" else math.nan
            # VW's count of the example's features: its crosses included
            progress.line(model, seen, label, predict,
                          x.row_nnz(0) if hasattr(x, "row_nnz") else int(x.nnz))
            progress.next *= 2
        lo = hi
    return seen


_END = object()


class _Failed:
    def __init__(self, exc):
        self.exc = exc


def read_ahead(stream, depth=2):
    """The chunks of ``stream``, read (and parsed, without the GIL) in a second
    thread while the caller learns the previous ones; at most ``depth`` wait.
    An error of the reader is raised here, in the caller's thread."""
    chunks = queue.Queue(depth)
    stop = threading.Event()

    def work():
        try:
            for chunk in stream:
                while not stop.is_set():
                    try:
                        chunks.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            chunks.put(_END)
        except BaseException as exc:  # handed to the caller's thread
            chunks.put(_Failed(exc))
        finally:
            stream.close()

    thread = threading.Thread(target=work, name="streamlr-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                chunks.get(timeout=0.05)
        thread.join()
