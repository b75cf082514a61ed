"""The subcommands of the command line: ``train``, ``predict``, ``lr-find``, ``demo``.

Each ``cmd_*`` function takes the parsed arguments and returns the exit
status; a bad option value raises ``UsageError``, a failed run an
``OSError``, ``ValueError`` or one of their subclasses (``streamlr.cli.main``
turns them into exit statuses and messages).
"""
import contextlib
import os
import sys
import time

import numpy as np

from ._cli_options import _data_format, _data_source, _estimator, _out, _select_rows, _source_name
from ._cli_progress import _learn, _Progress, read_ahead
from ._cli_spec import _PROBA_LOSSES, UsageError
from ._crossed import CrossedRows
from ._csr import CSRRows
from .io import BadLineError, DataFormat, open_stream


class _BadLabels:
    """Rows left out for their labels: counted with --skip-bad-lines, else the
    first stops the run."""

    def __init__(self, name, skip):
        self.name, self.skip = name, skip
        self.count, self.first, self.unlabeled = 0, None, 0

    def add(self, bad, unlabeled):
        self.unlabeled += unlabeled
        if not bad:
            return
        if not self.skip:
            raise BadLineError(self.name, *bad[0])
        self.count += len(bad)
        self.first = min(self.first, bad[0]) if self.first else bad[0]


def _rows(chunk, labels, bad, dtype=None):
    """(X, y, sample_weight or None) of the rows of a chunk to learn; X's
    values rounded to ``dtype`` (None: as read, float64)."""
    keep, y, wrong, unlabeled = labels.targets(chunk)
    bad.add(wrong, unlabeled)
    X, w = chunk.X, chunk.weights
    if keep is not None:
        X, w = _select_rows(X, keep), w[keep]
    if dtype is not None:
        X = _as_dtype(X, dtype)
    return X, y, (w if (w != 1.0).any() else None)


def _as_dtype(X, dtype):
    """CSR rows ``X`` (CSRRows, a SciPy matrix, or CrossedRows over either)
    with their values rounded to ``dtype``: the same structure, the entries
    kept as read (no duplicates summed, no sorting). Crossed rows keep the
    values as read for their products, as dict events in a float32 model."""
    if isinstance(X, CrossedRows):
        return CrossedRows(_as_dtype(X.X, dtype), X.ns, X.interactions, X.single, X.bits,
                           src=X.X.data if X.src is None else X.src)
    data = X.data.astype(dtype)
    if type(X) is CSRRows:
        return CSRRows(data, X.indices, X.indptr, X.shape)
    return type(X)((data, X.indices, X.indptr), shape=X.shape)


# -- train -------------------------------------------------------------------------------

def cmd_train(args):
    """Run ``streamlr train``: learn a data file chunk by chunk, print the progress table.

    The summary (samples, average progressive loss, last rate, time, bad
    lines) follows the table; ``--model-out`` saves the model with the data
    settings, for ``streamlr predict``.

    The rows are learned by the headless learner (the estimators' training
    core; ``streamlr/linear_model/_headless.py``), which imports neither
    scikit-learn nor SciPy: the same calls and model, bitwise, as the
    estimator's ``partial_fit``; ``--model-out`` hands the model to the
    estimator to save it (scikit-learn is imported then). The estimator
    learns instead for options the headless learner does not serve
    (``_headless.supports``).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status, 0.

    Raises
    ------
    UsageError
        For a bad option value (``--passes`` over standard input, ...).
    ValueError
        For data that cannot be learned (no rows, a bad line, divergence).
    """
    if args.passes > 1 and args.data == "-":
        raise UsageError("--passes > 1 needs a file: standard input cannot be read twice "
                         "(save it to a file first)")
    if args.model_out:   # refused now rather than after the whole run
        out_dir = os.path.dirname(os.path.abspath(args.model_out))
        if os.path.isdir(args.model_out) or not os.path.isdir(out_dir):
            raise UsageError(f"--model-out {args.model_out}: "
                             + ("is a directory" if os.path.isdir(args.model_out)
                                else f"no directory {out_dir}"))
    model, labels = _estimator(args, headless=True)
    headless = hasattr(model, "to_estimator")
    dtype = np.float32 if getattr(args, "dtype", "float64") == "float32" else None
    start = time.perf_counter()
    progress = _Progress(args.loss, args.quiet)
    name = _source_name(args.data)
    seen, read_bad, first_bad, fmt = 0, 0, None, None
    bad = _BadLabels(name, args.skip_bad_lines)
    kwargs = {}
    try:
        for _ in range(args.passes):
            source, fmt_name = _data_source(args.data, args.format)
            fmt = _data_format(args, fmt_name)
            stream = open_stream(source, fmt, args.chunk_size, args.skip_bad_lines, ramp=True,
                                 scipy=not headless)
            for chunk in read_ahead(stream):
                X, y, w = _rows(chunk, labels, bad, dtype)
                if not len(y):
                    continue
                if not labels.regression:
                    kwargs = {"classes": labels.classes}
                seen = _learn(model, X, y, w, kwargs, progress, seen)
            read_bad += stream.bad_lines
            firsts = [f for f in (first_bad, stream.first_bad) if f is not None]
            first_bad = min(firsts) if firsts else None
            if seen == 0:
                raise ValueError(f"{name}: no data rows")
    finally:
        progress.close()
    if seen and progress.last_n != seen:
        progress.line(model, seen)
    bad_total = read_bad + bad.count
    if bad.first is not None:
        first_bad = min(first_bad, bad.first) if first_bad else bad.first
    elapsed = time.perf_counter() - start
    _out("")
    _out(f"finished run: {fmt.format} data, {fmt.width} features")
    _out(f"number of samples = {seen}  ({args.passes} pass{'es' if args.passes > 1 else ''})")
    _out(f"average loss      = {model.progressive_loss_:.6g}  ({args.loss}, progressive"
         f"{'; later passes see the data again' if args.passes > 1 else ''})")
    _out(f"last learning rate = {model.lr_:.4g}")
    _out(f"time = {elapsed:.2f} s ({seen / max(elapsed, 1e-9):,.0f} samples/s)")
    if bad.unlabeled:
        _out(f"unlabeled rows    = {bad.unlabeled}  (predicted by 'streamlr predict', not "
             "learned)")
    if bad_total:
        line, reason = first_bad
        _out(f"bad lines skipped = {bad_total}  (first: line {line}: {reason})")
    if args.model_out:
        from .persistence import save

        save(model.to_estimator() if headless else model, args.model_out,
             metadata={"reader": fmt.to_dict(), "command": "streamlr train"})
        _out(f"model written to {args.model_out}")
    return 0


# -- predict ---------------------------------------------------------------------------

def cmd_predict(args):
    """Run ``streamlr predict``: stream the predictions of a saved model, one line per row.

    The data are read as the model's training data were (the settings saved
    with it); labels, probabilities (``--proba``) or decision values
    (``--raw``) go to ``--output`` or standard output.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status, 0.

    Raises
    ------
    UsageError
        For an option the model cannot serve (``--proba`` without
        probabilities, another ``--format``).
    ValueError
        For a model file without data settings or that does not fit them.
    """
    from .persistence import load, load_metadata

    model = load(args.model)
    reader_settings = load_metadata(args.model).get("reader")
    if reader_settings is None:
        raise ValueError(f"{args.model} holds no data settings (it was not written by "
                         "streamlr train); train it with the command line")
    fmt = DataFormat.from_dict(reader_settings)
    if args.format is not None and args.format != fmt.format:
        raise UsageError(f"the model was trained on {fmt.format} data, not {args.format}")
    if not hasattr(model, "n_features_in_"):
        raise ValueError(f"{args.model}: the model was never trained")
    if model.n_features_in_ != fmt.width:
        raise ValueError(f"{args.model}: the model has {model.n_features_in_} features, its "
                         f"data settings {fmt.width}")
    if args.proba and not hasattr(model, "predict_proba"):
        raise UsageError(f"--proba needs a classifier with loss {' or '.join(_PROBA_LOSSES)}; "
                         f"the model has loss={model.loss!r}")
    if args.raw and not hasattr(model, "decision_function"):
        raise UsageError("--raw needs a classifier; a regressor's prediction is its raw score")
    n = 0
    source, _ = _data_source(args.data, fmt.format)
    stream = open_stream(source, fmt, args.chunk_size, args.skip_bad_lines,
                         require_target=False, ramp=True)
    with (open(args.output, "w", encoding="utf-8") if args.output
          else contextlib.nullcontext(sys.stdout)) as out:
        for chunk in read_ahead(stream):
            out.write(_format_predictions(model, chunk.X, args))
            n += len(chunk)
        out.flush()
    msg = f"{n} predictions written to {args.output or 'standard output'}"
    if stream.bad_lines:
        line, reason = stream.first_bad
        msg += f"; bad lines skipped = {stream.bad_lines} (first: line {line}: {reason})"
    print(msg, file=sys.stderr)
    return 0


def _format_predictions(model, X, args):
    if args.proba:
        p = model.predict_proba(X)
        p = p[:, 1:] if p.shape[1] == 2 else p
        return "".join(",".join(f"{v:.9g}" for v in row) + "\n" for row in p)
    if args.raw:
        d = model.decision_function(X)
        d = d.reshape(len(d), -1)
        return "".join(",".join(f"{v:.9g}" for v in row) + "\n" for row in d)
    pred = model.predict(X)
    if pred.dtype.kind == "f":
        return "".join(f"{v:.9g}\n" for v in pred)
    return "".join(f"{v}\n" for v in pred)


# -- lr-find ----------------------------------------------------------------------------

def cmd_lr_find(args):
    """Run ``streamlr lr-find``: the range test on the first ``--samples`` rows.

    Prints the suggested rate and writes the plot (unless ``--no-plot`` or
    without matplotlib).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status, 0.

    Raises
    ------
    UsageError
        For a bad option value.
    ValueError
        For fewer than two data rows.
    """
    import scipy.sparse as sp

    from .lr_finder import lr_find

    model, labels = _estimator(args)
    chunks, ys, n = [], [], 0
    source, fmt_name = _data_source(args.data, args.format)
    fmt = _data_format(args, fmt_name)
    stream = open_stream(source, fmt, min(args.chunk_size, args.samples), args.skip_bad_lines)
    bad = _BadLabels(_source_name(args.data), args.skip_bad_lines)
    try:
        for chunk in stream:
            X, y, _ = _rows(chunk, labels, bad)
            chunks.append(X.materialize() if hasattr(X, "materialize") else X)
            ys.append(y)
            n += len(y)
            if n >= args.samples:
                break
    finally:
        stream.close()
    if n < 2:
        raise ValueError(f"{_source_name(args.data)}: {n} data rows; the range test needs more")
    X, y = sp.vstack(chunks, format="csr")[: args.samples], np.concatenate(ys)[: args.samples]
    result = lr_find(model, X, y, start_lr=args.start_lr, end_lr=args.end_lr,
                     num_steps=min(args.num_steps, len(y)),
                     classes=None if labels.regression else labels.classes)
    _out(f"range test on {len(y)} samples: {len(result.lrs)} rates from "
         f"{result.lrs[0]:.3g} to {result.lrs[-1]:.3g}"
         f"{' (stopped: the loss exploded)' if result.stopped_early else ''}")
    i = int(np.argmin(result.losses))
    _out(f"lowest smoothed loss {result.losses[i]:.6f} at lr {result.lrs[i]:.3g}")
    _out(f"suggested learning rate: {result.suggestion:.3g}")
    from ._plotting import have_matplotlib

    if args.no_plot:
        pass
    elif have_matplotlib():
        from .plotting import plot_lr_find

        plot_lr_find(result, path=args.plot)
        _out(f"plot written to {os.path.abspath(args.plot)}")
    else:
        _out("plot skipped: matplotlib is not installed (pip install 'streamlr[plot]')")
    return 0


# -- demo --------------------------------------------------------------------------------

def cmd_demo(args):
    """Run ``streamlr demo``: three optimizers on the built-in drifting fraud stream.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status, 0.

    Raises
    ------
    UsageError
        If ``--window`` exceeds ``--samples``.
    """
    from . import demo

    if args.window > args.samples:
        raise UsageError(f"--window ({args.window}) exceeds --samples ({args.samples})")
    demo.run(n_events=args.samples, window=args.window, chunk_size=args.chunk_size,
             seed=args.seed, out=None if args.no_plot else args.out, stream=_out,
             data_out=args.csv)
    return 0

