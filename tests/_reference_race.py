"""A NumPy reference of the rate race's serving rule (learning_rate="auto").

Deliberately naive: it takes each copy's decision values (recorded from
standalone single-rate models, one row at a time) and serves the rows one
after another with the documented rule (streamlr/_kernels/race.pxi), in
plain Python.
"""
import numpy as np

RACING, WILD, OUT, ASLEEP = 0, 1, 2, 3


class RaceReference:
    """The serving rule of one binary problem with ``copies`` copies."""

    def __init__(self, copies, default_copy, discount, eta, wild, bound=np.inf, first_rows=3,
                 warmup=np.inf, period=1, awake=None):
        self.default = default_copy
        self.loss = np.zeros(copies)
        self.status = np.zeros(copies, dtype=int)
        self.discount, self.eta, self.wild, self.bound = discount, eta, wild, bound
        self.first_rows, self.warmup, self.period = first_rows, warmup, period
        self.awake = copies if awake is None else awake
        self.served_loss, self.served_n, self.count, self.zero_loss = 0.0, 0, 0.0, 0.0
        self.opened = 0     # served_n when the race last (re)opened
        self.share = (np.arange(copies) == default_copy).astype(float)

    def shares(self, available):
        share = np.zeros(len(self.loss))
        learning = available & ((self.status == RACING) | (self.status == WILD))
        eligible = learning & (self.status == RACING)
        if not eligible.any():
            if learning.any():
                share[np.flatnonzero(learning)[np.argmin(self.loss[learning])]] = 1.0
            return share
        if self.served_n - self.opened < self.first_rows and eligible[self.default]:
            share[self.default] = 1.0
            return share
        lead = self.loss[eligible].min()
        if self.count > 0 and 0 < lead < np.inf:
            eta = self.eta / (lead / self.count)
            share[eligible] = np.exp(-eta * (self.loss[eligible] - lead))
            return share / share.sum()
        tied = eligible & (self.loss - lead <= 1e-12 * abs(lead))
        share[self.default if tied[self.default] else int(np.argmax(tied))] = 1.0
        return share

    def serve(self, y, margins, loss_fn, weight=1.0):
        """Serve one row: ``margins`` (copies,) with NaN for a copy without
        a value; ``weight``: the row's weight in the objective. Returns the
        served decision value."""
        available = np.isfinite(margins)
        share = self.shares(available)
        served = float(sum(share[c] * margins[c] for c in np.flatnonzero(share > 0)))
        self._record(loss_fn(y, served), loss_fn(y, 0.0), available,
                     lambda c: loss_fn(y, margins[c]), lambda c: abs(margins[c]), weight)
        return served

    def _record(self, served_loss, zero_loss, available, copy_loss, copy_margin, weight=1.0):
        """After serving a row: the served loss, each available copy's
        discounted loss (``copy_loss(c)``, weighted by the row's ``weight``,
        a negative one counting as 0) and wildness (its unweighted loss
        against the zero model's, its largest margin ``copy_margin(c)``
        against the bound), the race's narrowing, the next shares."""
        weight = weight if weight > 0 else 0.0
        self.served_loss += served_loss
        self.served_n += 1
        self.count = self.discount * self.count + weight
        self.zero_loss = max(self.zero_loss, zero_loss)
        for c in np.flatnonzero(available & (self.status <= WILD)):
            loss_c = copy_loss(c)
            self.loss[c] = self.discount * self.loss[c] + weight * min(loss_c, 1e100)
            if self.status[c] == RACING and (not loss_c <= self.wild * self.zero_loss
                                             or copy_margin(c) > self.bound):
                self.status[c] = WILD
        since = self.served_n - self.opened
        if (self.awake < len(self.loss) and since >= self.warmup
                and (since - self.warmup) % self.period == 0):
            # the race narrows: the best `awake` copies (racing ones first) stay
            learning = np.flatnonzero(self.status <= WILD)
            ranked = sorted(learning, key=lambda c: (self.status[c], self.loss[c]))
            for c in ranked[self.awake:]:
                self.status[c] = ASLEEP
        self.share = self.shares(np.ones(len(self.loss), dtype=bool))

    def reopen(self):
        """A restart on drift re-opens the race: every copy but those out
        races again from no evidence (losses, count and the clock of
        first_rows / warmup / period back to 0)."""
        self.loss[:] = 0.0
        self.status[self.status != OUT] = RACING
        self.count = 0.0
        self.opened = self.served_n
        self.share = self.shares(np.ones(len(self.loss), dtype=bool))


def cross_entropy(margins, label):
    """The softmax's cross-entropy at ``margins`` (K,), by the kernel's
    log-sum-exp (the largest margin first out, the terms summed in order)."""
    import math
    top = max(margins)
    total = 0.0
    for m in margins:
        total += math.exp(m - top)
    return top + math.log(total) - margins[label]


class SoftmaxRaceReference(RaceReference):
    """The serving rule of a race of softmax models (multi_class="multinomial"):
    a copy is a whole K-class model; the race serves the share-weighted mean
    of each class's margins, whose cross-entropy is the served loss; each
    copy's loss is its cross-entropy; a copy whose cross-entropy exceeds
    ``wild`` times the zero model's (log K), or one of whose margins exceeds
    ``bound`` in size, is never served again."""

    def serve(self, label, margins, loss_fn=None, weight=1.0):
        """Serve one row: ``margins`` (copies, K), a row of NaN for a copy
        without values; ``weight``: the row's weight in the objective.
        Returns the served margins (K,)."""
        import math
        available = np.isfinite(margins[:, 0])
        share = self.shares(available)
        K = margins.shape[1]
        served = sum(share[c] * margins[c] for c in np.flatnonzero(share > 0))
        self._record(cross_entropy(served, label), math.log(K), available,
                     lambda c: cross_entropy(margins[c], label),
                     lambda c: np.abs(margins[c]).max(), weight)
        return served
