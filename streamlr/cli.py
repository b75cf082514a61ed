"""The ``streamlr`` command line: train, predict, lr-find, demo.

``streamlr train DATA`` learns a CSV, libsvm or Vowpal Wabbit file (or ``-``,
standard input) chunk by chunk with ``partial_fit``, printing Vowpal Wabbit's
progress table (progressive loss at 1, 2, 4, 8, ... samples); ``streamlr
predict DATA --model FILE`` streams predictions; ``streamlr lr-find DATA``
runs the learning-rate range test; ``streamlr demo`` learns a built-in
drifting stream of card payments with three optimizers.

Exit status: 0 on success, 1 when the run fails (a missing or malformed file,
a missing column, divergence), 2 for a usage error (an unknown option or
option value), as argparse does.

Layout: this module holds the entry point (``main``, the console script
``streamlr``); ``_cli_parser`` declares the parser, ``_cli_commands`` runs the
subcommands, ``_cli_progress`` prints the training progress table,
``_cli_options`` holds what the subcommands share (labels, options, the
estimator, data files) and ``_cli_spec`` parses ``name:key=value`` values.
``train`` learns through ``linear_model._headless`` (the estimators'
training core without scikit-learn): its imports are NumPy, the compiled
kernels and the standard library.
"""
import contextlib
import sys

import numpy as np

from ._cli_commands import cmd_demo, cmd_lr_find, cmd_predict, cmd_train
from ._cli_options import Labels, _estimator  # noqa: F401 (_estimator: used by the tests)
from ._cli_parser import build_parser
from ._cli_spec import (
    CLASSIFICATION_LOSSES,
    OPTIMIZERS,
    REGRESSION_LOSSES,
    SCHEDULES,
    UsageError,
    parse_optimizer,
    parse_schedule,
    parse_spec,
)
from .exceptions import DivergenceError
from .io import BadLineError

__all__ = ["main", "run", "build_parser", "synthetic_stream", "parse_spec", "parse_schedule",
           "parse_optimizer", "Labels", "UsageError", "SCHEDULES", "OPTIMIZERS",
           "CLASSIFICATION_LOSSES", "REGRESSION_LOSSES", "cmd_train", "cmd_predict",
           "cmd_lr_find", "cmd_demo"]


def synthetic_stream(n_samples, n_features, seed=0):
    """Draw a seeded binary classification stream: y ~ Bernoulli(sigmoid(X w*)).

    Parameters
    ----------
    n_samples : int
        Number of rows.
    n_features : int
        Number of columns; ``w*`` and the rows are standard normal.
    seed : int, default=0
        Seed of the generator.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The rows.
    y : ndarray of shape (n_samples,)
        The labels, 0 or 1.

    Examples
    --------
    >>> from streamlr.cli import synthetic_stream
    >>> X, y = synthetic_stream(1000, 20)
    >>> X.shape, sorted(set(y.tolist()))
    ((1000, 20), [0, 1])
    """
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=n_features)
    X = rng.normal(size=(n_samples, n_features))
    p = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = (rng.random(n_samples) < p).astype(int)
    return X, y


# options whose value is a comma-separated list of labels, which may begin
# with a minus sign (Vowpal Wabbit's -1,1): argparse would read "-1,1" as an
# option, so "--classes -1,1" becomes "--classes=-1,1" (a value that begins
# with a minus sign and a digit or a point)
_LABEL_LISTS = ("--classes",)


def _joined_label_lists(argv):
    out = list(argv)
    i = 0
    while i < len(out) - 1:
        nxt = out[i + 1]
        if out[i] in _LABEL_LISTS and len(nxt) > 1 and nxt[0] == "-" and (nxt[1].isdigit()
                                                                          or nxt[1] == "."):
            out[i:i + 2] = [f"{out[i]}={out[i + 1]}"]
        i += 1
    return out


def main(argv=None):
    """Run the ``streamlr`` command line (the console script).

    Parameters
    ----------
    argv : list of str, optional
        The arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when the run fails (the message on
        standard error), 130 when interrupted. Usage errors exit with
        status 2 (``SystemExit``), as argparse does.
    """
    parser = build_parser()
    args = parser.parse_args(_joined_label_lists(sys.argv[1:] if argv is None else argv))
    prog = f"streamlr {args.command}"
    try:
        return args.func(args)
    except UsageError as exc:
        args.subparser.error(str(exc))  # exits with status 2
    except (BadLineError, DivergenceError, OSError, ValueError, EOFError) as exc:
        if isinstance(exc, BrokenPipeError):
            return _broken_pipe()
        hint = ""
        if isinstance(exc, BadLineError):
            hint = " (--skip-bad-lines skips such lines)"
        elif isinstance(exc, DivergenceError):
            hint = " (try a lower --lr)"
        print(f"{prog}: error: {exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130


def run(argv=None):
    """Run the command line as the ``streamlr`` program and end the process.

    ``main``, then standard output and error are flushed and the process
    ends at once with its exit status, skipping the interpreter's teardown
    of the modules it imported (scikit-learn, SciPy; 0.3 to 0.7 s on the
    development machine, as long as a run of 200,000 rows). The console
    script and ``python -m streamlr`` call this; Python code calls ``main``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments; default ``sys.argv[1:]``.
    """
    import os

    try:
        status = main(argv)
    except SystemExit as exc:  # usage errors, --help, --version
        status = exc.code
    if status is None:
        status = 0
    elif not isinstance(status, int):
        print(status, file=sys.stderr)
        status = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            stream.flush()
    os._exit(status)


def _broken_pipe():
    """The reader of standard output went away (``| head``): stop quietly."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    run()
