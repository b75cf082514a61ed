"""``streamlr demo``: three optimizers on a drifting stream of card payments.

The stream is synthetic, seeded and generated on the fly, chunk by chunk: each
event is a card transaction (amount, hour, distance from home, card present,
online, abroad, recent activity, merchant category) and about 1.5% are
fraudulent. Half way through, the fraud changes: large purchases far from
home at night give way to card testing — small online payments in digital
goods and gaming, in bursts. Three logistic models learn it side by side,
prequentially (each chunk is scored before it is learned): plain SGD with
scikit-learn's default ``"optimal"`` rate, Adam with a constant rate, and
Adam with warm restarts of a cosine schedule. Per window the demo prints the
log loss and ROC AUC of each, and it draws the curves and the rates in one PNG.
"""
import contextlib
import os
import time

import numpy as np

from .linear_model import SGDClassifier
from .schedules import CosineWarmRestarts

CATEGORIES = ("grocery", "fuel", "restaurant", "travel", "electronics", "jewelry",
              "digital_goods", "gaming", "pharmacy", "clothing", "utilities", "atm_cash")
FEATURES = ("log_amount", "hour_sin", "hour_cos", "log_distance", "card_present", "online",
            "abroad", "recent_activity") + tuple(f"merchant={c}" for c in CATEGORIES)
_CAT = {c: i for i, c in enumerate(CATEGORIES)}
_CAT_P = np.array([22, 12, 16, 4, 6, 2, 8, 5, 7, 10, 6, 2], dtype=float)
_CAT_P /= _CAT_P.sum()


def _fraud_logit(f, cat, drifted):
    """Log-odds of fraud: before the drift, large night purchases far from
    home or abroad; after, card testing (small online bursts)."""
    amount, hour_sin, _, distance, present, online, abroad, activity = f[:, :8].T
    night = np.clip(-hour_sin, 0.0, None)  # midnight to six
    if not drifted:
        return (-6.0 + 1.3 * amount + 1.4 * night + 0.9 * distance + 1.6 * abroad
                - 0.6 * present + 1.6 * np.isin(cat, [_CAT["electronics"], _CAT["jewelry"]])
                + 1.0 * (cat == _CAT["atm_cash"]))
    return (-7.3 - 1.4 * amount + 2.0 * online + 1.3 * activity
            + 2.0 * np.isin(cat, [_CAT["digital_goods"], _CAT["gaming"]]) - 0.3 * abroad)


def card_stream(n_events=200_000, chunk_size=100, drift_at=0.5, seed=0):
    """Yield ``(X, y)`` chunks of a seeded stream of card transactions.

    ``X`` has the columns ``FEATURES`` (standardised numbers, flags and a
    one-hot merchant category), ``y`` is 1 for fraud. The fraud pattern
    changes after ``drift_at * n_events`` events. Nothing is held beyond
    one chunk.

    Parameters
    ----------
    n_events : int, default=200_000
        Number of transactions in the stream.
    chunk_size : int, default=100
        Transactions per chunk (the last chunk may be shorter).
    drift_at : float, default=0.5
        Where the fraud pattern changes, as a share of ``n_events``.
    seed : int, default=0
        Seed of the generator: the same seed gives the same stream.

    Yields
    ------
    X : ndarray of shape (n_chunk, len(FEATURES))
        The transactions' features.
    y : ndarray of shape (n_chunk,)
        1 for fraud, 0 otherwise.

    Examples
    --------
    >>> from streamlr.demo import FEATURES, card_stream
    >>> X, y = next(card_stream(n_events=1000, chunk_size=250))
    >>> X.shape == (250, len(FEATURES)), y.shape
    (True, (250,))
    """
    rng = np.random.default_rng(seed)
    drift = int(drift_at * n_events)
    for lo in range(0, n_events, chunk_size):
        n = min(chunk_size, n_events - lo)
        cat = rng.choice(len(CATEGORIES), size=n, p=_CAT_P)
        hour = (rng.normal(14.0, 4.5, size=n) + 24.0 * (rng.random(n) < 0.1) * rng.random(n)) % 24
        online = (rng.random(n) < np.where(np.isin(cat, [6, 7]), 0.9, 0.15)).astype(float)
        present = (1.0 - online) * (rng.random(n) < 0.95)
        f = np.empty((n, len(FEATURES)))
        f[:, 0] = (rng.normal(3.4, 1.0, size=n) - 3.4) / 1.0          # log amount, standardised
        f[:, 1] = np.sin(2 * np.pi * hour / 24.0)
        f[:, 2] = np.cos(2 * np.pi * hour / 24.0)
        f[:, 3] = (np.log1p(rng.lognormal(1.5, 1.2, size=n)) - 1.8) / 1.0  # log distance
        f[:, 4] = present
        f[:, 5] = online
        f[:, 6] = (rng.random(n) < 0.05).astype(float)                # abroad
        f[:, 7] = (np.log1p(rng.poisson(0.6, size=n)) - 0.35) / 0.45  # recent activity
        f[:, 8:] = 0.0
        f[np.arange(n), 8 + cat] = 1.0
        ids = lo + np.arange(n)
        logit = np.where(ids < drift, _fraud_logit(f, cat, False), _fraud_logit(f, cat, True))
        y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
        yield f, y


def models(n_events):
    """Build the three contenders of the demo, unfitted.

    Parameters
    ----------
    n_events : int
        Length of the stream; the cosine schedule's period is a seventh of it.

    Returns
    -------
    dict of str to SGDClassifier
        Plain SGD with scikit-learn's default rate, Adam with a constant
        rate, and Adam with a cosine schedule with warm restarts, by name.
    """
    common = {"loss": "log_loss", "shuffle": False}  # scikit-learn's alpha=1e-4
    return {
        "SGD (sklearn default rate)": SGDClassifier(optimizer="sgd", **common),
        "Adam, constant 0.002": SGDClassifier(optimizer="adam", learning_rate="constant",
                                              eta0=0.002, **common),
        "Adam, cosine restarts": SGDClassifier(
            optimizer="adam", learning_rate=CosineWarmRestarts(0.01, T_0=max(1, n_events // 7),
                                                               lr_min=1e-4),
            **common),
    }


def _log_loss(y, p):
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def _auc(y, score):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else float("nan")


def write_csv_chunk(f, X, y, header=False):
    """Write one chunk of :func:`card_stream` as CSV lines.

    The columns are the eight numeric features, the merchant category as
    text (``merchant``) and the label (``fraud``), so that ``streamlr train
    FILE --target fraud`` hashes the category as a one-hot feature.

    Parameters
    ----------
    f : file object
        An open text file.
    X : ndarray of shape (n_chunk, len(FEATURES))
        A chunk's features.
    y : ndarray of shape (n_chunk,)
        A chunk's labels.
    header : bool, default=False
        Write the header line first.

    Examples
    --------
    >>> import io
    >>> from streamlr.demo import card_stream, write_csv_chunk
    >>> f = io.StringIO()
    >>> write_csv_chunk(f, *next(card_stream(n_events=3, chunk_size=3)), header=True)
    >>> f.getvalue().splitlines()[0]
    'log_amount,hour_sin,hour_cos,log_distance,card_present,online,abroad,recent_activity,merchant,fraud'
    >>> len(f.getvalue().splitlines())
    4
    """
    if header:
        f.write(",".join(FEATURES[:8]) + ",merchant,fraud\n")
    merchant = np.asarray(CATEGORIES)[X[:, 8:].argmax(axis=1)]
    f.writelines(",".join(f"{v:.6g}" for v in row) + f",{m},{label}\n"
                 for row, m, label in zip(X[:, :8].tolist(), merchant, y.tolist(), strict=True))


def run(n_events=200_000, window=10_000, chunk_size=100, seed=0, out="streamlr-demo.png",
        stream=print, data_out=None):
    """Run the demo: learn the stream with the three models, print and plot.

    Each chunk is scored by every model before the models learn it; per
    window the log loss and ROC AUC of each are printed.

    Parameters
    ----------
    n_events : int, default=200_000
        Number of transactions in the stream.
    window : int, default=10_000
        Transactions per reported window.
    chunk_size : int, default=100
        Transactions per predict-then-learn step.
    seed : int, default=0
        Seed of the stream.
    out : str or None, default="streamlr-demo.png"
        Where to write the PNG of the curves and rates (skipped, with a
        note, without matplotlib); None skips it.
    stream : callable, default=print
        Called with each line of the report.
    data_out : str or path-like, optional
        Also write the stream's events to this CSV file (see
        :func:`write_csv_chunk`), for ``streamlr train``, ``lr-find`` and
        ``predict`` to read.

    Returns
    -------
    curves : dict of str to dict
        ``{name: {"loss": [...], "auc": [...], "t": [...], "lr": [...]}}``:
        the window losses and AUCs, and the update counts and rates after
        each chunk, of each model.
    ends : list of int
        The number of events at the end of each window.
    """
    contenders = models(n_events)
    curves = {name: {"loss": [], "auc": [], "t": [], "lr": []} for name in contenders}
    ends = []
    names = list(contenders)
    stream(f"streamlr demo: {n_events:,} card transactions, fraud pattern drifts after "
           f"{n_events // 2:,}; predict each chunk of {chunk_size}, then learn it")
    stream(f"per window of {window:,} events: log loss / ROC AUC")
    header = f"{'events':>9} {'fraud':>6}" + "".join(f"  {n[:26]:>26}" for n in names)
    stream(header)
    with open(data_out, "w") if data_out is not None else contextlib.nullcontext() as csv:
        elapsed = _learn(contenders, curves, ends, n_events, window, chunk_size, seed, stream,
                         csv)
    stream(f"\n{'model':<28} {'progressive log loss':>20} {'mean window AUC':>16} "
           f"{'AUC after drift':>16}")
    half = len(ends) // 2
    for name, model in contenders.items():
        auc = np.array(curves[name]["auc"])
        stream(f"{name:<28} {model.progressive_loss_:>20.4f} {np.nanmean(auc):>16.3f} "
               f"{np.nanmean(auc[half:]):>16.3f}")
    stream(f"{3 * n_events:,} events learned in {elapsed:.1f} s")
    if data_out is not None:
        stream(f"events written to {os.path.abspath(data_out)}")
    if out is not None:
        from ._plotting import have_matplotlib

        if have_matplotlib():
            plot(curves, ends, n_events // 2, out)
            stream(f"plot written to {os.path.abspath(out)}")
        else:
            stream("plot skipped: matplotlib is not installed (pip install 'streamlr[plot]')")
    return curves, ends


def _learn(contenders, curves, ends, n_events, window, chunk_size, seed, stream, csv):
    """The prequential loop of :func:`run`; returns the seconds it took (less the CSV's)."""
    names = list(contenders)
    held = {name: ([], []) for name in names}
    frauds = []
    start = time.perf_counter()
    seen, writing = 0, 0.0
    for X, y in card_stream(n_events, chunk_size, seed=seed):
        if csv is not None:
            t0 = time.perf_counter()
            write_csv_chunk(csv, X, y, header=not seen)
            writing += time.perf_counter() - t0
        for name, model in contenders.items():
            if seen:  # nothing to predict with before the first chunk
                held[name][0].append(model.predict_proba(X)[:, 1])
            model.partial_fit(X, y, classes=[0, 1])
            curves[name]["t"].append(model.t_ - 1)
            curves[name]["lr"].append(model.lr_)
        if seen:
            frauds.append(y)
        seen += len(y)
        if seen % window == 0 or seen == n_events:
            ys = np.concatenate(frauds) if frauds else np.zeros(0)
            row = f"{seen:>9,} {ys.mean() if len(ys) else 0:>6.2%}"
            for name in names:
                p = np.concatenate(held[name][0]) if held[name][0] else np.zeros(0)
                loss = _log_loss(ys, p) if len(ys) else float("nan")
                auc = _auc(ys, p) if len(ys) else float("nan")
                curves[name]["loss"].append(loss)
                curves[name]["auc"].append(auc)
                row += f"  {loss:>17.4f} / {auc:6.3f}"
                held[name] = ([], [])
            frauds = []
            ends.append(seen)
            stream(row)
    return time.perf_counter() - start - writing


def plot(curves, ends, drift, path):
    """Plot the loss, AUC and learning rate of each model in one PNG.

    Parameters
    ----------
    curves : dict of str to dict
        The curves :func:`run` returns.
    ends : list of int
        The window ends :func:`run` returns.
    drift : int
        The event at which the fraud pattern changes (a dotted line).
    path : str or path-like
        Where to save the figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not tracked by pyplot).
    """
    from ._plotting import figure

    fig = figure(figsize=(9.0, 9.0))
    ax_loss, ax_auc, ax_lr = fig.subplots(3, 1, sharex=True)
    for name, c in curves.items():
        ax_loss.plot(ends, c["loss"], marker="o", markersize=3, label=name)
        ax_auc.plot(ends, c["auc"], marker="o", markersize=3, label=name)
        ax_lr.plot(c["t"], c["lr"], label=name)
    for ax in (ax_loss, ax_auc, ax_lr):
        ax.axvline(drift, color="grey", linestyle=":", linewidth=1)
    ax_loss.set_ylabel("log loss (window)")
    ax_auc.set_ylabel("ROC AUC (window)")
    ax_lr.set_ylabel("learning rate")
    ax_lr.set_yscale("log")
    ax_lr.set_xlabel("events")
    ax_loss.set_title("streamlr demo: card fraud, pattern drifts half way (dotted line)")
    ax_loss.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return fig


__all__ = ["card_stream", "models", "run", "plot", "write_csv_chunk", "FEATURES", "CATEGORIES"]
