"""A NumPy reference of the rate race's serving rule (learning_rate="auto").

Deliberately naive: it takes each copy's decision values (recorded from
standalone single-rate models, one row at a time) and serves the rows one
after another with the documented rule (streamlr/_kernels/race.pxi), in
plain Python.
"""
import numpy as np

RACING, WILD, OUT = 0, 1, 2


class RaceReference:
    """The serving rule of one binary problem with ``copies`` copies."""

    def __init__(self, copies, default_copy, discount, eta, wild):
        self.prior = np.full(copies, -np.log(copies - 1.0))
        self.prior[default_copy] = 0.0
        self.loss = np.zeros(copies)
        self.status = np.zeros(copies, dtype=int)
        self.discount, self.eta, self.wild = discount, eta, wild
        self.served_loss, self.served_n, self.target_abs = 0.0, 0, 0.0
        self.share = (np.arange(copies) == default_copy).astype(float)

    def shares(self, available):
        share = np.zeros(len(self.loss))
        for level in (RACING, WILD):
            chosen = available & (self.status == level)
            if chosen.any():
                break
        else:
            return share
        best = self.loss[chosen].min()
        scale = self.served_loss / self.served_n if self.served_n else 0.0
        z = self.eta / scale if 1e-300 < scale < np.inf else 0.0
        for c in np.flatnonzero(chosen):
            gap = self.loss[c] - best
            share[c] = 0.0 if gap == np.inf else np.exp(self.prior[c] - (z * gap if z and gap else 0))
        return share / share.sum()

    def serve(self, y, margins, loss_fn):
        """Serve one row: ``margins`` (copies,) with NaN for a copy without
        a value. Returns the served decision value."""
        available = np.isfinite(margins) & (self.status != OUT)
        share = self.shares(available)
        lead = margins[int(np.argmax(share))]
        mean_abs = self.target_abs / self.served_n if self.served_n else 1.0
        far = available & (self.status == RACING) & ~(
            np.abs(np.where(available, margins, 0.0) - lead) <= self.wild * (abs(lead) + mean_abs))
        if far.any():
            self.status[far] = WILD
            share = self.shares(available)
        served = float(sum(share[c] * margins[c] for c in np.flatnonzero(share > 0)))
        self.served_loss += loss_fn(y, served)
        self.served_n += 1
        self.target_abs += abs(y)
        for c in np.flatnonzero(available):
            self.loss[c] = self.discount * self.loss[c] + loss_fn(y, margins[c])
        self.share = self.shares(self.status != OUT)
        return served
