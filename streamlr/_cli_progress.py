"""The progress table ``streamlr train`` prints while it learns, as Vowpal Wabbit does."""
import sys

from ._cli_options import _out


class _Progress:
    """Vowpal Wabbit's progress table: at 1, 2, 4, ... samples, the
    progressive loss over all samples so far and since the last line, and
    the rate; a tqdm bar on a terminal when tqdm is installed."""

    def __init__(self, loss, quiet=False):
        self.loss, self.quiet = loss, quiet
        self.next, self.last_n, self.last_sum = 1, 0, 0.0
        self.bar = None
        self.started = False

    def start(self):
        """The header (and the bar), once the data is open."""
        self.started = True
        if self.quiet:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            tqdm = None
        if tqdm is not None:  # disable=None: only on a terminal
            self.bar = tqdm(unit=" samples", disable=None, file=sys.stderr, leave=False)
        self.write(f"{'average':>10} {'since':>10} {'example':>12} {'current':>10}")
        self.write(f"{'loss':>10} {'last':>10} {'counter':>12} {'lr':>10}"
                   f"   ({self.loss}, progressive)")

    def write(self, line):
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line)
        else:
            _out(line)

    def line(self, model, n):
        total = model.progressive_loss_ * n
        since = (total - self.last_sum) / (n - self.last_n) if n > self.last_n else float("nan")
        if not self.quiet:
            self.write(f"{model.progressive_loss_:>10.6f} {since:>10.6f} {n:>12} "
                       f"{model.lr_:>10.4g}")
        self.last_n, self.last_sum = n, total

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _learn(model, chunk, y, kwargs, progress, seen):
    """partial_fit a chunk, cut at the sample counts where a line is due."""
    if not progress.started:
        progress.start()
    w = chunk.weights if (chunk.weights != 1.0).any() else None
    lo, n = 0, len(chunk)
    while lo < n:
        hi = min(n, lo + progress.next - seen)
        model.partial_fit(chunk.X[lo:hi], y[lo:hi],
                          sample_weight=None if w is None else w[lo:hi], **kwargs)
        seen += hi - lo
        if progress.bar is not None:
            progress.bar.update(hi - lo)
        if seen == progress.next:
            progress.line(model, seen)
            progress.next *= 2
        lo = hi
    return seen

