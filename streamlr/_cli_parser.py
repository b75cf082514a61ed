"""The argument parser of the command line: one function per subcommand."""
import argparse

from ._cli_commands import cmd_demo, cmd_lr_find, cmd_predict, cmd_train
from ._cli_options import _add_data_options, _add_model_options, _positive_float, _positive_int
from .io import FORMATS


def build_parser():
    """Build the parser of the ``streamlr`` command line.

    Returns
    -------
    argparse.ArgumentParser
        The parser; each subcommand sets ``func`` (its ``cmd_*`` function)
        and ``subparser`` (its own parser, for usage errors).
    """
    parser = argparse.ArgumentParser(
        prog="streamlr",
        description="Online linear learning from files and pipes, in bounded memory.",
        epilog="Exit status: 0 ok, 1 run-time error (missing/malformed data, divergence), "
               "2 usage error. 'streamlr COMMAND --help' describes each command.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"streamlr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_train(sub)
    _add_predict(sub)
    _add_lr_find(sub)
    _add_demo(sub)
    return parser


def _add_train(sub):
    p = sub.add_parser("train", help="learn a data file or stream with partial_fit",
                       description="Learn a CSV, libsvm or Vowpal Wabbit file (or - for "
                       "standard input) chunk by chunk, printing the progressive loss at "
                       "1, 2, 4, ... samples, as Vowpal Wabbit does.")
    _add_data_options(p)
    _add_model_options(p)
    g = p.add_argument_group("run")
    g.add_argument("--passes", type=_positive_int, default=1, metavar="N",
                   help="passes over the file (default 1; standard input allows one)")
    g.add_argument("--model-out", metavar="FILE", help="save the model (streamlr.save) here")
    g.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="the model's precision (default float64); float32 rounds each "
                   "value read to float32 and keeps the weights and the optimizer's state in "
                   "float32, as Vowpal Wabbit does: half the memory, faster on large models")
    g.add_argument("--quiet", action="store_true", help="print the summary only")
    p.set_defaults(func=cmd_train, subparser=p)


def _add_predict(sub):
    p = sub.add_parser("predict", help="stream predictions of a saved model",
                       description="Read data as the model's training data was read and "
                       "write one prediction per row.")
    g = p.add_argument_group("data")
    g.add_argument("data", metavar="DATA",
                   help="data file or - for standard input (labels, if any, are ignored)")
    g.add_argument("--format", choices=FORMATS,
                   help="must match the training data's, which the model file records")
    g.add_argument("--chunk-size", type=_positive_int, default=1000)
    g.add_argument("--skip-bad-lines", action="store_true",
                   help="skip lines that cannot be read (no output row) and report them")
    g = p.add_argument_group("model and output")
    g.add_argument("--model", required=True, metavar="FILE",
                   help="a model written by streamlr train --model-out")
    g.add_argument("--output", "-o", metavar="FILE", help="write here (default: standard output)")
    kind = g.add_mutually_exclusive_group()
    kind.add_argument("--proba", action="store_true",
                      help="class probabilities (binary: of the second class) instead of labels")
    kind.add_argument("--raw", action="store_true", help="decision_function values")
    p.set_defaults(func=cmd_predict, subparser=p)


def _add_lr_find(sub):
    p = sub.add_parser("lr-find", help="learning-rate range test on the first samples",
                       description="Run the learning-rate range test (streamlr.lr_find) on "
                       "the first --samples rows, print the suggested rate and plot it.")
    _add_data_options(p)
    _add_model_options(p)
    g = p.add_argument_group("range test")
    g.add_argument("--samples", type=_positive_int, default=10_000,
                   help="rows read for the test (default 10000)")
    g.add_argument("--start-lr", type=_positive_float, default=1e-7)
    g.add_argument("--end-lr", type=_positive_float, default=10.0)
    g.add_argument("--num-steps", type=_positive_int, default=100)
    g.add_argument("--plot", default="lr-find.png", metavar="PNG",
                   help="where to save the plot (default lr-find.png; needs matplotlib)")
    g.add_argument("--no-plot", action="store_true", help="do not write the plot")
    p.set_defaults(func=cmd_lr_find, subparser=p)


def _add_demo(sub):
    p = sub.add_parser("demo", help="three optimizers on a built-in drifting fraud stream",
                       description="Learn a seeded synthetic stream of card transactions "
                       "(about 1.5%% fraud, the fraud pattern drifting half way) with plain "
                       "SGD, Adam, and Adam with a cosine-restarts schedule, predicting "
                       "each chunk before learning it; print log loss and ROC AUC per "
                       "window and write a PNG of the curves and rates.")
    p.add_argument("--samples", type=_positive_int, default=200_000,
                   help="events in the stream (default 200000)")
    p.add_argument("--window", type=_positive_int, default=10_000,
                   help="events per reported window (default 10000)")
    p.add_argument("--chunk-size", type=_positive_int, default=100,
                   help="events per predict-then-learn step (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="streamlr-demo.png", metavar="PNG",
                   help="the plot (default streamlr-demo.png; skipped without matplotlib)")
    p.add_argument("--no-plot", action="store_true", help="do not write the plot")
    p.add_argument("--csv", metavar="FILE",
                   help="also write the stream's events to this CSV file (label column "
                   "'fraud'), for train, lr-find and predict")
    p.set_defaults(func=cmd_demo, subparser=p)
