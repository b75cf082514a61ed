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
"""
import argparse
import ast
import contextlib
import itertools
import math
import sys
import time

import numpy as np

from . import _registry
from . import schedules as _sched
from .exceptions import DivergenceError
from .io import FORMATS, BadLineError, DataFormat, Reader, guess_format, open_text
from .linear_model import SGDClassifier, SGDRegressor


class UsageError(Exception):
    """A bad option value found after parsing: exit status 2."""


def synthetic_stream(n_samples, n_features, seed=0):
    """A seeded binary classification stream: y ~ Bernoulli(sigmoid(X w*))."""
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=n_features)
    X = rng.normal(size=(n_samples, n_features))
    p = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = (rng.random(n_samples) < p).astype(int)
    return X, y


# -- "name:key=value,..." option values -----------------------------------------

# the option tables, from the registry (streamlr/_registry.py)
SCHEDULES = {e.cli: e.spec for e in _registry.schedules() if e.cli is not None}


def _optimizer_row(name):
    entry, kwargs = _registry.optimizer_for_string(name)
    return entry.spec, dict(kwargs)


OPTIMIZERS = {name: _optimizer_row(name) for name in _registry.optimizer_strings()}
_SKLEARN_RATES = {e.cli: e.sklearn for e in _registry.schedules()
                  if e.cli is not None and e.sklearn is not None}
CLASSIFICATION_LOSSES = tuple(e.name for e in _registry.losses("classification"))
REGRESSION_LOSSES = tuple(e.name for e in _registry.losses("regression"))
_PROBA_LOSSES = tuple(e.name for e in _registry.losses() if e.probabilities is not None)


def _split_top(text):
    """Split on commas outside brackets."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_spec(text, table, what):
    """``"name"`` or ``"name:key=value,key=value"`` -> (name, kwargs); values
    are Python literals (numbers, booleans, lists, tuples) or bare words."""
    name, _, rest = text.partition(":")
    name = name.strip().lower()
    aliases = {cls.__name__.lower(): key for key, cls in
               ((k, v[0] if isinstance(v, tuple) else v) for k, v in table.items())}
    name = name if name in table else aliases.get(name, name)
    if name not in table:
        raise UsageError(f"unknown {what} {text.partition(':')[0]!r}; expected one of "
                         f"{', '.join(table)}")
    kwargs = {}
    for item in _split_top(rest):
        key, eq, value = item.partition("=")
        if not eq or not key.strip().isidentifier():
            raise UsageError(f"{what} {text!r}: {item!r} is not key=value")
        try:
            kwargs[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            kwargs[key.strip()] = value.strip()
    return name, kwargs


def _build(cls, kwargs, text, what):
    try:
        return cls(**kwargs)
    except TypeError as exc:
        import inspect

        params = [p for p in inspect.signature(cls).parameters]
        raise UsageError(f"{what} {text!r}: {exc}; {cls.__name__} takes "
                         f"{', '.join(params)}") from None
    except ValueError as exc:
        raise UsageError(f"{what} {text!r}: {exc}") from None


def parse_schedule(text, lr):
    """A ``--schedule`` value: scikit-learn's strings as such, else a
    ``streamlr.schedules`` object whose rate (``lr`` or ``lr_max``) defaults
    to ``lr``. ``"cosine:T_max=100000"`` is ``CosineAnnealing(lr, T_max=100000)``."""
    name, kwargs = parse_spec(text, SCHEDULES, "schedule")
    if name in _SKLEARN_RATES and not kwargs:
        return _SKLEARN_RATES[name]
    cls = SCHEDULES[name]
    import inspect

    params = inspect.signature(cls).parameters
    for key in ("lr", "lr_max"):
        if key in params and key not in kwargs:
            kwargs[key] = lr
            break
    return _build(cls, kwargs, text, "schedule")


def parse_optimizer(text):
    """An ``--optimizer`` value: a name (``"adam"``) or a name with parameters
    (``"adam:betas=(0.9,0.99),amsgrad=True"``)."""
    name, kwargs = parse_spec(text, OPTIMIZERS, "optimizer")
    if not kwargs:
        return name
    cls, defaults = OPTIMIZERS[name]
    return _build(cls, {**defaults, **kwargs}, text, "optimizer")


# -- labels ----------------------------------------------------------------------

def _label_value(text):
    """A class label from its text: an int, a float, else the text itself."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        return text
    return int(x) if x.is_integer() else x


class Labels:
    """Label text -> targets. Regression: finite numbers. Classification: the
    classes given, else those of the first chunk; then any other label is a
    bad line."""

    def __init__(self, regression, classes=None):
        self.regression = regression
        self.classes = None
        if classes is not None:
            self.set_classes([_label_value(c) for c in classes])

    def set_classes(self, values):
        kinds = {isinstance(v, str) for v in values}
        if len(kinds) > 1:
            raise ValueError(f"the labels mix numbers and text: {sorted(map(str, values))[:10]}")
        classes = np.unique(np.asarray(values))
        if len(classes) < 2:
            raise ValueError(f"only one class ({classes[0]!r}) among the first labels; "
                             "pass all the classes with --classes")
        self.classes = classes
        self._known = set(classes.tolist())

    def check(self, text):
        """Raise ValueError for a label that cannot be learned."""
        if self.regression:
            try:
                y = float(text)
            except ValueError:
                raise ValueError(f"label {text!r} is not a number") from None
            if not math.isfinite(y):
                raise ValueError(f"label {text!r} is not a finite number")
        elif self.classes is not None and _label_value(text) not in self._known:
            raise ValueError(f"label {text!r} is not one of the classes "
                             f"{self.classes.tolist()}; pass them all with --classes")

    def convert(self, texts):
        if self.regression:
            return np.array([float(t) for t in texts], dtype=np.float64)
        values = [_label_value(t) for t in texts]
        if self.classes is None:
            self.set_classes(values)
        return np.asarray(values, dtype=self.classes.dtype)


# -- options shared by the subcommands ------------------------------------------------

def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} is not positive")
    return v


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (0 < v < math.inf):
        raise argparse.ArgumentTypeError(f"{text} is not a positive finite number")
    return v


def _names(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def _add_data_options(p, training=True):
    g = p.add_argument_group("data")
    g.add_argument("data", metavar="DATA",
                   help="data file (CSV, libsvm/svmlight, Vowpal Wabbit; .gz read as gzip) "
                   "or - for standard input")
    g.add_argument("--format", choices=FORMATS,
                   help="the data format (default: from the file extension .csv/.svm/"
                   ".libsvm/.svmlight/.vw, else guessed from the first line)")
    if training:
        g.add_argument("--target", metavar="COL", help="CSV: the label column (required for CSV)")
        g.add_argument("--weight", metavar="COL", help="CSV: a sample-weight column")
        g.add_argument("--categorical", type=_names, default=[], metavar="COL[,COL...]",
                       help="CSV: columns hashed as categories even when numeric")
        g.add_argument("--ignore", type=_names, default=[], metavar="COL[,COL...]",
                       help="CSV: columns to drop")
        g.add_argument("--delimiter", default=",", metavar="CHAR",
                       help="CSV: field separator (default ,)")
        g.add_argument("--hash-bits", type=_positive_int, default=18, metavar="BITS",
                       help="CSV/VW features are hashed into 2^BITS columns (default 18)")
        g.add_argument("--n-features", type=_positive_int, metavar="N",
                       help="libsvm: the number of columns (default 2^hash-bits)")
    g.add_argument("--chunk-size", type=_positive_int, default=1000, metavar="ROWS",
                   help="rows per partial_fit / predict call (default 1000)")
    g.add_argument("--skip-bad-lines", action="store_true",
                   help="count and skip lines that cannot be read instead of stopping")


def _and(names):
    """``"a, b and c"``."""
    return " and ".join(filter(None, (", ".join(names[:-1]), names[-1])))


def _add_model_options(p):
    g = p.add_argument_group("model")
    g.add_argument("--loss", default="log_loss", choices=CLASSIFICATION_LOSSES, metavar="LOSS",
                   help=f"{', '.join(CLASSIFICATION_LOSSES)} (default log_loss); "
                   f"{_and(REGRESSION_LOSSES)} train a regressor unless --task classification")
    g.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                   help="what to learn (default auto: from the loss)")
    g.add_argument("--optimizer", default="sgd", metavar="NAME[:k=v,...]",
                   help=f"{', '.join(OPTIMIZERS)} (default sgd), with optional parameters, "
                   "e.g. adam:betas=(0.9,0.99)")
    g.add_argument("--lr", type=_positive_float,
                   help="learning rate (eta0); without --schedule it means a constant rate")
    g.add_argument("--schedule", metavar="NAME[:k=v,...]",
                   help=f"{', '.join(SCHEDULES)}, e.g. cosine:T_max=100000 or "
                   "step:step_size=10000,gamma=0.5; the rate defaults to --lr (default: "
                   "scikit-learn's learning_rate of the estimator)")
    g.add_argument("--warmup", type=_positive_int, metavar="STEPS",
                   help="ramp the rate up linearly over the first STEPS updates")
    g.add_argument("--penalty", choices=("l2", "l1", "elasticnet", "none"), default="l2")
    g.add_argument("--alpha", type=float, default=1e-4, metavar="A",
                   help="regularisation (default 1e-4)")
    g.add_argument("--l1-ratio", type=float, default=0.15, metavar="R",
                   help="elasticnet mixing (default 0.15)")
    g.add_argument("--classes", type=_names, metavar="C[,C...]",
                   help="all the class labels (default: those of the first chunk)")
    g.add_argument("--seed", type=int, default=0, metavar="N", help="random_state (default 0)")


def _estimator(args):
    regression = (args.task == "regression"
                  or (args.task == "auto" and args.loss in REGRESSION_LOSSES))
    if regression and args.loss not in REGRESSION_LOSSES:
        raise UsageError(f"--loss {args.loss} is a classification loss; a regressor takes "
                         f"one of {', '.join(REGRESSION_LOSSES)}")
    cls = SGDRegressor if regression else SGDClassifier
    lr = args.lr if args.lr is not None else cls().eta0
    params = dict(loss=args.loss, penalty=None if args.penalty == "none" else args.penalty,
                  alpha=args.alpha, l1_ratio=args.l1_ratio, shuffle=False,
                  random_state=args.seed, optimizer=parse_optimizer(args.optimizer), eta0=lr)
    schedule = None
    if args.schedule is not None:
        schedule = parse_schedule(args.schedule, lr)
    elif args.lr is not None or args.warmup:
        schedule = "constant"
    if args.warmup:
        schedule = _sched.Constant(lr) if schedule == "constant" else schedule
        if isinstance(schedule, str):
            raise UsageError(f"--warmup needs a schedule object, not scikit-learn's "
                             f"{schedule!r} rule")
        schedule = _build(_sched.Warmup, {"schedule": schedule, "warmup_steps": args.warmup},
                          args.schedule or "constant", "schedule")
    if schedule is not None:
        params["learning_rate"] = schedule
    est = cls(**params)
    try:
        est._validate_params()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return est, Labels(regression, args.classes)


def _data_format(args, fmt_name):
    try:
        return DataFormat(fmt_name, target=args.target, hash_bits=args.hash_bits,
                          n_features=args.n_features, categorical=args.categorical,
                          ignore=args.ignore, weight=args.weight, delimiter=args.delimiter)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@contextlib.contextmanager
def _lines(path, fmt_name):
    """(lines, format name) of a data file; the format guessed when not given."""
    with open_text(path) as f:
        lines = f
        if fmt_name is None:
            fmt_name = guess_format(path)
        if fmt_name is None:
            first = f.readline()
            fmt_name = guess_format(path, first)
            lines = itertools.chain([first], f)
        if fmt_name is None:
            raise UsageError(f"cannot tell the format of {path}; pass --format "
                             f"({', '.join(FORMATS)})")
        yield lines, fmt_name


def _source_name(path):
    return "<stdin>" if path == "-" else path


def _out(*args, **kwargs):
    print(*args, **kwargs, flush=True)


# -- train -------------------------------------------------------------------------------

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


def cmd_train(args):
    if args.passes > 1 and args.data == "-":
        raise UsageError("--passes > 1 needs a file: standard input cannot be read twice "
                         "(save it to a file first)")
    model, labels = _estimator(args)
    start = time.perf_counter()
    progress = _Progress(args.loss, args.quiet)
    seen, bad, first_bad, fmt = 0, 0, None, None
    try:
        for _ in range(args.passes):
            with _lines(args.data, args.format) as (lines, fmt_name):
                fmt = _data_format(args, fmt_name)
                reader = Reader(lines, fmt, args.chunk_size, name=_source_name(args.data),
                                skip_bad_lines=args.skip_bad_lines,
                                parse_label=labels.check)
                for chunk in reader:
                    y = labels.convert(chunk.labels)
                    kwargs = {} if labels.regression else {"classes": labels.classes}
                    seen = _learn(model, chunk, y, kwargs, progress, seen)
                bad += reader.bad_lines
                first_bad = first_bad or reader.first_bad
            if seen == 0:
                raise ValueError(f"{_source_name(args.data)}: no data rows")
    finally:
        progress.close()
    if seen and progress.last_n != seen:
        progress.line(model, seen)
    elapsed = time.perf_counter() - start
    _out("")
    _out(f"finished run: {fmt.format} data, {fmt.width} features")
    _out(f"number of samples = {seen}  ({args.passes} pass{'es' if args.passes > 1 else ''})")
    _out(f"average loss      = {model.progressive_loss_:.6g}  ({args.loss}, progressive"
         f"{'; later passes see the data again' if args.passes > 1 else ''})")
    _out(f"last learning rate = {model.lr_:.4g}")
    _out(f"time = {elapsed:.2f} s ({seen / max(elapsed, 1e-9):,.0f} samples/s)")
    if bad:
        line, reason = first_bad
        _out(f"bad lines skipped = {bad}  (first: line {line}: {reason})")
    if args.model_out:
        from .persistence import save

        save(model, args.model_out, metadata={"reader": fmt.to_dict(),
                                              "command": "streamlr train"})
        _out(f"model written to {args.model_out}")
    return 0


# -- predict ---------------------------------------------------------------------------

def cmd_predict(args):
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
    with _lines(args.data, fmt.format) as (lines, _), \
            (open(args.output, "w", encoding="utf-8") if args.output
             else contextlib.nullcontext(sys.stdout)) as out:
        reader = Reader(lines, fmt, args.chunk_size, name=_source_name(args.data),
                        skip_bad_lines=args.skip_bad_lines, require_target=False)
        for chunk in reader:
            out.write(_format_predictions(model, chunk.X, args))
            n += len(chunk)
        out.flush()
    msg = f"{n} predictions written to {args.output or 'standard output'}"
    if reader.bad_lines:
        line, reason = reader.first_bad
        msg += f"; bad lines skipped = {reader.bad_lines} (first: line {line}: {reason})"
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
    import scipy.sparse as sp

    from .lr_finder import lr_find

    model, labels = _estimator(args)
    chunks, ys, n = [], [], 0
    with _lines(args.data, args.format) as (lines, fmt_name):
        fmt = _data_format(args, fmt_name)
        reader = Reader(lines, fmt, min(args.chunk_size, args.samples),
                        name=_source_name(args.data), skip_bad_lines=args.skip_bad_lines,
                        parse_label=labels.check)
        for chunk in reader:
            chunks.append(chunk.X)
            ys.append(labels.convert(chunk.labels))
            n += len(chunk)
            if n >= args.samples:
                break
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
        _out(f"plot written to {args.plot}")
    else:
        _out("plot skipped: matplotlib is not installed (pip install 'streamlr[plot]')")
    return 0


# -- demo --------------------------------------------------------------------------------

def cmd_demo(args):
    from . import demo

    if args.window > args.samples:
        raise UsageError(f"--window ({args.window}) exceeds --samples ({args.samples})")
    demo.run(n_events=args.samples, window=args.window, chunk_size=args.chunk_size,
             seed=args.seed, out=None if args.no_plot else args.out, stream=_out)
    return 0


# -- the parser --------------------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(
        prog="streamlr",
        description="Online linear learning from files and pipes, in bounded memory.",
        epilog="Exit status: 0 ok, 1 run-time error (missing/malformed data, divergence), "
               "2 usage error. 'streamlr COMMAND --help' describes each command.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"streamlr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    g.add_argument("--quiet", action="store_true", help="print the summary only")
    p.set_defaults(func=cmd_train, subparser=p)

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
    p.set_defaults(func=cmd_demo, subparser=p)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"streamlr {args.command}"
    try:
        return args.func(args)
    except UsageError as exc:
        args.subparser.error(str(exc))  # exits with status 2
    except (BadLineError, DivergenceError, OSError, ValueError) as exc:
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
    sys.exit(main())
