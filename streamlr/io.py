"""Streaming readers for text data files: CSV, libsvm/svmlight, Vowpal Wabbit.

A reader turns lines into chunks of at most ``chunk_size`` rows: a CSR matrix
of features, the rows' labels (as text) and their weights, so that a file of
any size is learned in bounded memory with ``partial_fit``. The whole file is
never held. What a reader does with the columns is fixed by a
:class:`DataFormat` (plain settings, saved next to a model by ``streamlr
train`` so that ``streamlr predict`` reads new data into the same features).

Feature spaces
--------------
* **CSV**: the first row names the columns. ``target`` names the label
  column (and ``weight`` an optional sample-weight column). Every other
  column is hashed (MurmurHash3, as scikit-learn's ``FeatureHasher``) into
  ``2 ** hash_bits`` features: a number ``x`` in column ``c`` becomes feature
  ``hash(c)`` with value ``x``; any other text ``v`` (and every value of the
  columns named in ``categorical``) becomes feature ``hash("c=v")`` with value
  1. Empty cells and ``nan`` are missing: no feature. Columns in ``ignore``
  are dropped.
* **libsvm/svmlight**: ``label [qid:q] index:value ...`` (``# comments``
  allowed); an index is the column itself, below ``n_features`` (default
  ``2 ** hash_bits``).
* **Vowpal Wabbit**: ``label [importance] ['tag]|namespace feature[:value]
  ... |other ...``; feature ``f`` of namespace ``ns`` is hashed as ``ns^f``
  (``f`` alone in the unnamed namespace), times the namespace's scale
  ``|ns:scale``. The importance becomes the sample weight.

Blank lines are skipped. A line that cannot be read raises
:class:`BadLineError` with its line number, unless the reader was built with
``skip_bad_lines=True``: then it is counted (``bad_lines``) and skipped.
"""
import csv
import gzip
import itertools
import math
import os
import sys

import numpy as np
import scipy.sparse as sp

FORMATS = ("csv", "libsvm", "vw")
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".svm": "libsvm", ".libsvm": "libsvm",
               ".svmlight": "libsvm", ".vw": "vw"}


class BadLineError(ValueError):
    """A line of a data file that cannot be read.

    Parameters
    ----------
    source : str
        The name of the data source (a path, ``<stdin>``).
    line : int
        The line's number (1-based).
    reason : str
        Why it cannot be read.

    Attributes
    ----------
    source : str
        The name of the data source.
    line : int
        The line's number (1-based).
    reason : str
        Why it cannot be read.
    """

    def __init__(self, source, line, reason):
        self.source, self.line, self.reason = source, line, reason
        super().__init__(f"{source}, line {line}: {reason}")


def _hash(key, mask):
    from sklearn.utils import murmurhash3_32

    return murmurhash3_32(key, seed=0, positive=True) & mask


class DataFormat:
    """How the lines of a data file become features, labels and weights.

    Parameters
    ----------
    format : {"csv", "libsvm", "vw"}
        The file format.
    target : str, optional
        CSV only: the name of the label column.
    hash_bits : int, default=18
        The feature space has ``2 ** hash_bits`` columns (CSV and VW
        features are hashed into it; libsvm indices must fall inside it);
        from 1 to 31.
    n_features : int, optional
        libsvm only: the number of columns instead of ``2 ** hash_bits``.
    categorical : sequence of str, default=()
        CSV: columns whose values are always hashed as categories.
    ignore : sequence of str, default=()
        CSV: columns to drop (identifiers, leaks).
    weight : str, optional
        CSV: the name of a sample-weight column.
    delimiter : str, default=","
        CSV: the field separator, one character.

    Attributes
    ----------
    width : int
        Number of feature columns.

    Raises
    ------
    ValueError
        For an unknown format, a setting out of range, or a setting that
        does not apply to the format.

    Examples
    --------
    >>> from streamlr.io import DataFormat
    >>> fmt = DataFormat("csv", target="label", hash_bits=10, categorical=["country"])
    >>> fmt.width
    1024
    >>> DataFormat.from_dict(fmt.to_dict()) == fmt
    True
    """

    def __init__(self, format, target=None, hash_bits=18, n_features=None,
                 categorical=(), ignore=(), weight=None, delimiter=","):
        if format not in FORMATS:
            raise ValueError(f"unknown data format {format!r}; expected one of {FORMATS}")
        if not isinstance(hash_bits, int) or not 1 <= hash_bits <= 31:
            raise ValueError(f"hash_bits must be an integer in [1, 31], got {hash_bits!r}")
        if n_features is not None and (not isinstance(n_features, int) or n_features < 1):
            raise ValueError(f"n_features must be a positive integer, got {n_features!r}")
        if format != "csv" and (target is not None or weight is not None or categorical or ignore):
            raise ValueError("target, weight, categorical and ignore apply to CSV files only "
                             f"(the {format} format carries its label on each line)")
        if format != "libsvm" and n_features is not None:
            raise ValueError("n_features applies to libsvm files only (CSV and VW "
                             "features are hashed into 2 ** hash_bits columns)")
        if len(delimiter) != 1:
            raise ValueError(f"delimiter must be one character, got {delimiter!r}")
        self.format = format
        self.target = target
        self.hash_bits = hash_bits
        self.n_features = n_features
        self.categorical = tuple(categorical)
        self.ignore = tuple(ignore)
        self.weight = weight
        self.delimiter = delimiter

    @property
    def width(self):
        """Number of feature columns."""
        return self.n_features if self.n_features is not None else 1 << self.hash_bits

    def to_dict(self):
        """Return the settings as a JSON-serialisable dict.

        Returns
        -------
        dict
            The constructor's arguments by name (lists for sequences);
            :meth:`from_dict` rebuilds the format from it.
        """
        return {"format": self.format, "target": self.target, "hash_bits": self.hash_bits,
                "n_features": self.n_features, "categorical": list(self.categorical),
                "ignore": list(self.ignore), "weight": self.weight,
                "delimiter": self.delimiter}

    @classmethod
    def from_dict(cls, d):
        """Build a format from the dict :meth:`to_dict` made.

        Parameters
        ----------
        d : dict
            The settings by name.

        Returns
        -------
        DataFormat
            The format those settings describe.
        """
        return cls(**d)

    def __repr__(self):
        return f"DataFormat({', '.join(f'{k}={v!r}' for k, v in self.to_dict().items())})"

    def __eq__(self, other):
        return isinstance(other, DataFormat) and self.to_dict() == other.to_dict()


def guess_format(path, first_line=None):
    """Guess the format of a data file from its name, else from its first line.

    The name's extension says it (``.csv``/``.tsv``, ``.svm``/``.libsvm``/
    ``.svmlight``, ``.vw``, optionally followed by ``.gz``); otherwise a
    first line with ``|`` is Vowpal Wabbit, one of ``label index:value ...``
    libsvm, one with commas CSV.

    Parameters
    ----------
    path : str
        The file's name (``-`` for standard input tells nothing).
    first_line : str, optional
        The file's first line, looked at when the name does not tell.

    Returns
    -------
    str or None
        ``"csv"``, ``"libsvm"`` or ``"vw"``; None when neither tells.

    Examples
    --------
    >>> from streamlr.io import guess_format
    >>> guess_format("train.vw.gz")
    'vw'
    >>> guess_format("-", "1 3:0.5 7:1")
    'libsvm'
    >>> guess_format("-") is None
    True
    """
    name = path.removesuffix(".gz")
    ext = os.path.splitext(name)[1].lower()
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    if first_line is None or not first_line.strip():
        return None
    if "|" in first_line:
        return "vw"
    tokens = first_line.split("#", 1)[0].split()
    if len(tokens) >= 2 and all(":" in t for t in tokens[1:]) and ":" not in tokens[0]:
        return "libsvm"
    if "," in first_line:
        return "csv"
    return None


def open_text(path):
    """Open a data file as text, for a ``with`` block.

    Undecodable bytes are replaced rather than raising.

    Parameters
    ----------
    path : str
        The file; ``-`` is standard input (not closed at the end of the
        ``with`` block), and a name ending in ``.gz`` is read gunzipped.

    Returns
    -------
    file object
        A text stream of the file's lines (UTF-8).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist; the message names it.
    IsADirectoryError
        If ``path`` is a directory.
    """
    if path == "-":
        return _Unclosed(sys.stdin)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory, not a data file")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


class _Unclosed:
    """Standard input in a ``with`` block that does not close it."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc):
        return False


class Chunk:
    """Rows of a data file, as a :class:`Reader` yields them.

    ``len(chunk)`` is its number of rows.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_rows, n_features)
        The features, float64.
    labels : list of str or None
        The label text of each row, None where a line has none.
    weights : ndarray of shape (n_rows,)
        The sample weight of each row, float64.
    lines : ndarray of shape (n_rows,)
        The 1-based line number of each row.
    """

    __slots__ = ("X", "labels", "weights", "lines")

    def __init__(self, X, labels, weights, lines):
        self.X, self.labels, self.weights, self.lines = X, labels, weights, lines

    def __len__(self):
        return self.X.shape[0]


class Reader:
    """Iterate over a text stream in :class:`Chunk` objects.

    Parameters
    ----------
    stream : iterable of str
        The lines (an open file, ``sys.stdin``).
    fmt : DataFormat
        How the lines become features, labels and weights.
    chunk_size : int, default=1000
        Rows per chunk (at most).
    name : str, default="<stream>"
        The source's name for error messages.
    skip_bad_lines : bool, default=False
        Count and skip lines that cannot be read instead of raising.
    require_target : bool, default=True
        CSV: whether the target column must be present (training) or may be
        absent (prediction).
    parse_label : callable, optional
        Called on each label's text; a ``ValueError`` it raises makes the
        line a bad line. None: labels are not checked.

    Attributes
    ----------
    bad_lines : int
        Number of lines skipped.
    first_bad : tuple of (int, str) or None
        (line number, reason) of the first skipped line, or None.
    rows : int
        Number of rows read.

    Raises
    ------
    ValueError
        If ``chunk_size`` is not a positive integer.
    BadLineError
        While iterating, for a line that cannot be read (unless
        ``skip_bad_lines``).

    Examples
    --------
    >>> from streamlr.io import DataFormat, Reader
    >>> lines = ["1 |f a b:2", "-1 |f c", "1 |g a"]
    >>> chunks = list(Reader(lines, DataFormat("vw", hash_bits=8), chunk_size=2))
    >>> [len(c) for c in chunks], chunks[0].labels
    ([2, 1], ['1', '-1'])
    """

    def __init__(self, stream, fmt, chunk_size=1000, name="<stream>", skip_bad_lines=False,
                 require_target=True, parse_label=None):
        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        self.stream, self.fmt, self.chunk_size, self.name = stream, fmt, chunk_size, name
        self.skip_bad_lines = skip_bad_lines
        self.require_target = require_target
        self.parse_label = parse_label
        self.bad_lines, self.first_bad, self.rows = 0, None, 0
        self._mask = (1 << fmt.hash_bits) - 1
        self._cache = {}

    # -- shared ---------------------------------------------------------------

    def _bad(self, line, reason):
        if not self.skip_bad_lines:
            raise BadLineError(self.name, line, reason)
        self.bad_lines += 1
        if self.first_bad is None:
            self.first_bad = (line, reason)

    def _key(self, key):
        """Hashed column of a feature name (cached; the cache is bounded)."""
        col = self._cache.get(key)
        if col is None:
            if len(self._cache) >= 1 << 16:
                self._cache.clear()
            col = self._cache[key] = _hash(key, self._mask)
        return col

    def _label(self, text):
        if self.parse_label is not None and text is not None:
            self.parse_label(text)  # raises ValueError on a bad label
        return text

    def __iter__(self):
        rows = {"csv": self._csv_rows, "libsvm": self._libsvm_rows, "vw": self._vw_rows}
        batch = []
        for row in rows[self.fmt.format]():
            batch.append(row)
            if len(batch) == self.chunk_size:
                yield self._chunk(batch)
                batch = []
        if batch:
            yield self._chunk(batch)

    def _chunk(self, batch):
        indptr = np.zeros(len(batch) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(cols) for _, cols, _, _, _ in batch])
        indices = np.fromiter(itertools.chain.from_iterable(r[1] for r in batch),
                              dtype=np.int64, count=indptr[-1])
        data = np.fromiter(itertools.chain.from_iterable(r[2] for r in batch),
                           dtype=np.float64, count=indptr[-1])
        X = sp.csr_matrix((data, indices, indptr), shape=(len(batch), self.fmt.width))
        X.sum_duplicates()  # hash collisions and repeated features add up
        self.rows += len(batch)
        return Chunk(X, [r[0] for r in batch],
                     np.array([r[3] for r in batch], dtype=np.float64),
                     np.array([r[4] for r in batch], dtype=np.int64))

    # -- CSV ------------------------------------------------------------------

    def _csv_rows(self):
        fmt = self.fmt
        reader = csv.reader(self.stream, delimiter=fmt.delimiter)
        header = next(reader, None)
        if header is None:
            return
        header = [h.strip() for h in header]
        if fmt.target is None and self.require_target:
            raise ValueError(f"{self.name}: CSV data needs the name of its label column "
                             f"(--target); the columns are {header}")
        named = [c for c in (fmt.target, fmt.weight) if c is not None]
        named += list(fmt.categorical) + list(fmt.ignore)
        for col in named:
            if col not in header and (col != fmt.target or self.require_target):
                raise ValueError(f"{self.name}: no column {col!r} in the header; "
                                 f"the columns are {header}")
        target = header.index(fmt.target) if fmt.target in header else None
        weight = header.index(fmt.weight) if fmt.weight in header else None
        skip = {target, weight} | {header.index(c) for c in fmt.ignore}
        features = [(j, name, self._key(name), name in fmt.categorical)
                    for j, name in enumerate(header) if j not in skip]
        width = len(header)
        for cells in reader:
            line = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != width:
                self._bad(line, f"{len(cells)} fields, the header has {width}")
                continue
            try:
                row = self._csv_row(cells, features, target, weight)
            except ValueError as exc:
                self._bad(line, str(exc))
                continue
            yield row + (line,)

    def _csv_row(self, cells, features, target, weight):
        label = None
        if target is not None:
            label = cells[target].strip()
            if not label:
                raise ValueError(f"empty label in column {self.fmt.target!r}")
            self._label(label)
        w = 1.0
        if weight is not None:
            w = _number(cells[weight], f"weight column {self.fmt.weight!r}")
            if w < 0:
                raise ValueError(f"negative weight {w} in column {self.fmt.weight!r}")
        cols, vals = [], []
        for j, name, col, categorical in features:
            cell = cells[j].strip()
            if not cell:
                continue
            if not categorical:
                try:
                    x = float(cell)
                except ValueError:
                    pass
                else:
                    if math.isnan(x):
                        continue
                    if math.isinf(x):
                        raise ValueError(f"infinite value {cell!r} in column {name!r}")
                    if x:
                        cols.append(col)
                        vals.append(x)
                    continue
            cols.append(self._key(f"{name}={cell}"))
            vals.append(1.0)
        return label, cols, vals, w

    # -- libsvm ---------------------------------------------------------------

    def _libsvm_rows(self):
        width = self.fmt.width
        for line, text in enumerate(self.stream, 1):
            tokens = text.split("#", 1)[0].split()
            if not tokens:
                continue
            try:
                if ":" in tokens[0]:
                    raise ValueError(f"the line starts with {tokens[0]!r}, not a label")
                label = self._label(tokens[0])
                cols, vals = [], []
                for tok in tokens[1:]:
                    idx, sep, val = tok.partition(":")
                    if idx == "qid":
                        continue
                    if not sep:
                        raise ValueError(f"{tok!r} is not index:value")
                    try:
                        j = int(idx)
                    except ValueError:
                        raise ValueError(f"feature index {idx!r} is not an integer") from None
                    if not 0 <= j < width:
                        raise ValueError(f"feature index {j} is outside the feature space "
                                         f"[0, {width}); raise --n-features")
                    cols.append(j)
                    vals.append(_number(val, f"the value of feature {j}"))
            except ValueError as exc:
                self._bad(line, str(exc))
                continue
            yield label, cols, vals, 1.0, line

    # -- Vowpal Wabbit --------------------------------------------------------

    def _vw_rows(self):
        for line, text in enumerate(self.stream, 1):
            if not text.strip():
                continue
            try:
                row = self._vw_row(text)
            except ValueError as exc:
                self._bad(line, str(exc))
                continue
            yield row + (line,)

    def _vw_row(self, text):
        head, bar, body = text.partition("|")
        if not bar:
            raise ValueError("no '|': a Vowpal Wabbit line is 'label [weight] |namespace features'")
        tokens = head.split()
        if tokens and (tokens[-1].startswith("'") or (head and not head[-1].isspace()
                                                       and len(tokens) >= 2)):
            tokens = tokens[:-1]  # the tag
        if len(tokens) > 2:
            raise ValueError(f"expected 'label [importance]' before '|', got {head.strip()!r}")
        label = self._label(tokens[0]) if tokens else None
        if label is None and self.parse_label is not None:
            raise ValueError("no label")
        w = _number(tokens[1], "the importance weight") if len(tokens) == 2 else 1.0
        if w < 0:
            raise ValueError(f"negative importance weight {w}")
        cols, vals = [], []
        for part in body.split("|"):
            words = part.split()
            if not words:
                continue
            prefix, scale = "", 1.0
            if not part[0].isspace():  # a named namespace
                ns, _, s = words[0].partition(":")
                prefix = ns + "^"
                scale = _number(s, f"the scale of namespace {ns!r}") if s else 1.0
                words = words[1:]
            for word in words:
                name, sep, val = word.rpartition(":")
                if not sep:
                    name, x = val, 1.0
                else:
                    x = _number(val, f"the value of feature {name!r}")
                if x:
                    cols.append(self._key(prefix + name))
                    vals.append(x * scale)
        return label, cols, vals, w


def _number(text, what):
    try:
        x = float(text)
    except ValueError:
        raise ValueError(f"{what} is {text.strip()!r}, not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{what} is {text.strip()!r}, not a finite number")
    return x


__all__ = ["DataFormat", "Reader", "Chunk", "BadLineError", "FORMATS", "guess_format",
           "open_text"]
