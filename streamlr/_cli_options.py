"""What the subcommands of the command line share: labels, options, the estimator, the data.

``Labels`` turns the labels of data chunks into targets; ``_add_data_options``
and ``_add_model_options`` declare the options of ``train`` and ``lr-find``;
``_estimator`` builds the estimator those options describe; ``_data_source``
tells a data file's (or standard input's) format.
"""
import argparse
import math

import numpy as np

from . import _io_readers as _readers
from . import schedules as _sched
from ._cli_spec import (
    CLASSIFICATION_LOSSES,
    OPTIMIZERS,
    REGRESSION_LOSSES,
    SCHEDULES,
    UsageError,
    _build,
    parse_optimizer,
    parse_schedule,
)
from ._csr import CSRRows
from .io import FORMATS, DataFormat, guess_format
from .linear_model import _headless

# ``streamlr train`` learns through the headless learner (the estimators'
# core without scikit-learn, ``linear_model/_headless.py``) when it serves
# the options; False: always through the estimator (the tests compare both)
HEADLESS = True

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


def _distinct(values):
    """``np.unique`` of a 1-D array (sorted distinct values), without
    ``np.unique``'s import of ``numpy.ma`` (30 ms of ``streamlr train``'s start)."""
    a = np.sort(values, kind="stable")
    if a.size < 2:
        return a
    return a[np.concatenate(([True], a[1:] != a[:-1]))]


class Labels:
    """Turn the label text of data files into targets.

    Regression: finite numbers. Classification: the classes given, else those
    of the first chunk; then any other label is a bad line. A label is an
    int, else a float, else the text itself.

    Parameters
    ----------
    regression : bool
        Whether the targets are numbers (regression) or classes.
    classes : list of str, optional
        The text of every class label (``--classes``); default those of the
        first chunk converted.

    Attributes
    ----------
    regression : bool
        Whether the targets are numbers.
    classes : ndarray or None
        The sorted class labels once known (classification).

    Examples
    --------
    >>> from streamlr.cli import Labels
    >>> labels = Labels(regression=False)
    >>> labels.convert(["1", "-1", "1"])
    array([ 1, -1,  1])
    >>> labels.classes
    array([-1,  1])
    """

    def __init__(self, regression, classes=None):
        self.regression = regression
        self.classes = None
        if classes is not None:
            self.set_classes([_label_value(c) for c in classes])

    def set_classes(self, values):
        """Set the classes to the distinct ``values``.

        Parameters
        ----------
        values : list or ndarray
            Label values (numbers or text), at least two distinct ones.

        Raises
        ------
        ValueError
            If the values mix numbers and text, or hold a single class.
        """
        numeric = isinstance(values, np.ndarray) and values.dtype.kind in "iuf"
        kinds = {False} if numeric else {isinstance(v, str) for v in values}
        if len(kinds) > 1:
            raise ValueError(f"the labels mix numbers and text: {sorted(map(str, values))[:10]}")
        classes = _distinct(np.asarray(values))
        if len(classes) < 2:
            raise ValueError(f"only one class ({classes[0]!r}) among the first labels; "
                             "pass all the classes with --classes")
        self.classes = classes
        self._known = set(classes.tolist())

    def check(self, text):
        """Check that a label can be learned (a reader's ``parse_label``).

        Parameters
        ----------
        text : str
            The label's text.

        Raises
        ------
        ValueError
            For a regression label that is not a finite number, or a class
            label outside the known classes.
        """
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
        """Convert the label texts of a chunk into targets.

        The first chunk of a classification sets the classes when they
        were not given.

        Parameters
        ----------
        texts : list of str
            The labels' text.

        Returns
        -------
        ndarray of shape (len(texts),)
            float64 targets (regression) or the class labels.

        Raises
        ------
        ValueError
            When the first chunk sets the classes and its labels mix numbers
            and text or hold a single class.
        """
        if self.regression:
            return np.array([float(t) for t in texts], dtype=np.float64)
        values = [_label_value(t) for t in texts]
        if self.classes is None:
            self.set_classes(values)
        return np.asarray(values, dtype=self.classes.dtype)

    def targets(self, chunk):
        """The targets of a chunk's rows, and the rows to learn.

        Rows without a label (Vowpal Wabbit's unlabeled lines) are left out
        and counted; rows whose label cannot be learned (a class outside the
        known classes, a regression label that is not a number) are left out
        and returned as bad lines. Numeric labels are converted without a
        Python loop; the first chunk of a classification sets the classes
        when they were not given.

        Parameters
        ----------
        chunk : streamlr.io.Chunk
            Rows from ``streamlr.io``'s readers (``y``: numbers, or an object
            array of label texts).

        Returns
        -------
        keep : ndarray of int or None
            The rows to learn; None: all of them.
        y : ndarray
            The targets of those rows.
        bad : list of tuple of (int, str)
            (line number, reason) of each row left out for its label.
        n_unlabeled : int
            Rows left out because they have no label.
        """
        y = chunk.y
        if y.dtype == object:
            return self._text_targets(chunk)
        missing = np.isnan(y)
        n_unlabeled = int(missing.sum())
        if self.regression:
            ok = ~missing
            values = y
        else:
            if self.classes is None:
                seen = y[~missing]
                if not seen.size:  # no labeled row yet
                    return np.empty(0, dtype=np.intp), seen, [], n_unlabeled
                integral = seen.size and np.all(seen == np.round(seen))
                self.set_classes(seen.astype(np.int64) if integral else seen)
            ok = np.isin(y, self.classes) if self.classes.dtype.kind in "iuf" else np.zeros(
                len(y), dtype=bool)
            values = y
            if self.classes.dtype.kind in "iuf":
                # unlabeled rows (NaN) are left out below: cast them as 0
                values = np.where(missing, 0, y).astype(self.classes.dtype)
        bad = []
        wrong = ~ok & ~missing
        if wrong.any():
            labels, lines = chunk.labels, chunk.lines
            for i in np.flatnonzero(wrong).tolist():
                try:
                    self.check(labels[i])
                    reason = f"label {labels[i]!r} cannot be learned"
                except ValueError as exc:
                    reason = str(exc)
                bad.append((int(lines[i]), reason))
        if ok.all():
            return None, values, bad, n_unlabeled
        keep = np.flatnonzero(ok)
        return keep, values[keep], bad, n_unlabeled

    def _text_targets(self, chunk):
        keep, bad, texts = [], [], list(chunk.y)
        for i, (text, line) in enumerate(zip(texts, chunk.lines.tolist(), strict=True)):
            try:
                self.check(text)
            except ValueError as exc:
                bad.append((line, str(exc)))
            else:
                keep.append(i)
        values = self.convert([texts[i] for i in keep])
        if self.classes is not None and not self.regression:
            ok = [i for i, v in zip(keep, values.tolist(), strict=True) if v in self._known]
            if len(ok) < len(keep):  # the first chunk set the classes: later rows check them
                for i in sorted(set(keep) - set(ok)):
                    bad.append((int(chunk.lines[i]), f"label {texts[i]!r} is not one of the "
                                f"classes {self.classes.tolist()}; pass them all with --classes"))
                keep = ok
                values = self.convert([texts[i] for i in keep])
        if len(keep) == len(texts):
            return None, values, bad, 0
        return np.asarray(keep, dtype=np.intp), values, bad, 0


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
        g.add_argument("-q", "--quadratic", action="append", default=[], metavar="AB",
                       help="VW: cross the namespaces starting with letters A and B (as VW's "
                       "-q; repeatable)")
        g.add_argument("--cubic", action="append", default=[], metavar="ABC",
                       help="VW: cross three namespaces (as VW's --cubic; repeatable)")
    g.add_argument("--chunk-size", type=_positive_int, default=65536, metavar="ROWS",
                   help="rows per chunk read and per partial_fit / predict call (default "
                   "65536; the model does not depend on it)")
    g.add_argument("--skip-bad-lines", action="store_true",
                   help="count and skip lines that cannot be read instead of stopping")


def _and(names):
    """``"a, b and c"``."""
    return " and ".join(filter(None, (", ".join(names[:-1]), names[-1])))


def _add_model_options(p):
    g = p.add_argument_group("model")
    g.add_argument("--loss", default="log_loss", metavar="LOSS",
                   choices=tuple(dict.fromkeys(CLASSIFICATION_LOSSES + REGRESSION_LOSSES)),
                   help=f"{', '.join(CLASSIFICATION_LOSSES)} (default log_loss); "
                   f"{_and(REGRESSION_LOSSES)} train a regressor unless --task classification")
    g.add_argument("--power", type=float, default=1.5, metavar="P",
                   help="the Tweedie power of --loss tweedie (default 1.5)")
    g.add_argument("--quantile", type=float, default=0.5, metavar="Q",
                   help="the quantile of --loss quantile (default 0.5)")
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


def _model_params(args):
    """(regression, the estimator's parameters) the model options describe."""
    regression = (args.task == "regression"
                  or (args.task == "auto" and args.loss in REGRESSION_LOSSES))
    if regression and args.loss not in REGRESSION_LOSSES:
        raise UsageError(f"--loss {args.loss} is a classification loss; a regressor takes "
                         f"one of {', '.join(REGRESSION_LOSSES)}")
    defaults = _headless.REGRESSOR_DEFAULTS if regression else _headless.CLASSIFIER_DEFAULTS
    lr = args.lr if args.lr is not None else defaults["eta0"]
    params = dict(loss=args.loss, penalty=None if args.penalty == "none" else args.penalty,
                  alpha=args.alpha, l1_ratio=args.l1_ratio, shuffle=False,
                  random_state=args.seed, optimizer=parse_optimizer(args.optimizer), eta0=lr)
    if regression:
        params.update(power=args.power, quantile=args.quantile)
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
    return regression, params


def _estimator(args, headless=False):
    """(model, Labels) of the model options: the estimator, or with
    ``headless`` the headless learner when it serves them (``streamlr
    train``; it imports neither scikit-learn nor SciPy)."""
    regression, params = _model_params(args)
    if headless and HEADLESS and _headless.supports(params):
        est = (_headless.HeadlessRegressor if regression else _headless.HeadlessClassifier)(
            **params)
    else:
        from .linear_model import SGDClassifier, SGDRegressor

        est = (SGDRegressor if regression else SGDClassifier)(**params)
    try:
        est._validate_params()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return est, Labels(regression, args.classes)


def _select_rows(X, keep):
    """The rows ``keep`` of a chunk's X (CSR rows or a SciPy matrix)."""
    return X.take(keep) if type(X) is CSRRows else X[keep]


def _data_format(args, fmt_name):
    inter = [*getattr(args, "quadratic", []), *getattr(args, "cubic", [])]
    for q in getattr(args, "quadratic", []):
        if len(q) != 2:
            raise UsageError(f"-q takes two namespace letters, got {q!r}")
    for c in getattr(args, "cubic", []):
        if len(c) != 3:
            raise UsageError(f"--cubic takes three namespace letters, got {c!r}")
    try:
        return DataFormat(fmt_name, target=args.target, hash_bits=args.hash_bits,
                          n_features=args.n_features, categorical=args.categorical,
                          ignore=args.ignore, weight=args.weight, delimiter=args.delimiter,
                          interactions=inter)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _data_source(path, fmt_name):
    """(what to read, format name) of a data file or ``-``; the format guessed
    from the name, else from the first line, when not given."""
    if fmt_name is None:
        fmt_name = guess_format(path)
    source = path
    if fmt_name is None:
        first, source = _readers.peek_first_line(path)
        fmt_name = guess_format(path, first)
    if fmt_name is None:
        raise UsageError(f"cannot tell the format of {path}; pass --format "
                         f"({', '.join(FORMATS)})")
    return source, fmt_name


def _source_name(path):
    return "<stdin>" if path == "-" else path


def _out(*args, **kwargs):
    print(*args, **kwargs, flush=True)
