"""Streaming readers for data files: Vowpal Wabbit, libsvm/svmlight, CSV.

``read_vw``, ``read_libsvm`` and ``read_csv`` read a path, standard input
(``-``) or a binary file object, gunzipped when the data is gzip, in chunks
of ``(X, y, sample_weight)``: a CSR matrix, the labels and the weights, so
that a file of any size is learned in bounded memory with ``partial_fit``.
The parsing runs in compiled code without the GIL, over blocks of bytes
(``streamlr/_kernels/_readers.pyx``). ``Reader`` reads lines of text into
:class:`Chunk` objects through the same parsers, as a :class:`DataFormat`
(plain settings, saved next to a model by ``streamlr train`` so that
``streamlr predict`` reads new data into the same features) says.

Feature spaces
--------------
* **Vowpal Wabbit**: ``label [importance] ['tag]|namespace[:scale]
  feature[:value] ... |other ...``, read exactly as Vowpal Wabbit 9 reads
  it: its hashing (:func:`streamlr.hashing.hash_feature`), its number
  parsing, its string and anonymous features, and its ``-q``/``--cubic``
  crosses (``interactions``); see :func:`read_vw`.
* **libsvm/svmlight**: ``label [qid:q] index:value ...`` (``# comments``
  allowed); an index is the column itself, below ``n_features`` (default
  ``2 ** hash_bits``).
* **CSV**: the first row names the columns. ``target`` names the label
  column (and ``weight`` an optional sample-weight column). Every other
  column is hashed (MurmurHash3 of the UTF-8 name, seed 0) into
  ``2 ** hash_bits`` features: a number ``x`` in column ``c`` becomes feature
  ``hash(c)`` with value ``x``; any other text ``v`` (and every value of the
  columns named in ``categorical``) becomes feature ``hash("c=v")`` with value
  1. Empty cells and ``nan`` are missing: no feature. Columns in ``ignore``
  are dropped.

Zero values are dropped. Blank lines are skipped. A line that cannot be read
raises :class:`BadLineError` with the source, its line number and the
reason (the rows of its chunk are not yielded); with ``skip_bad_lines=True``
it is counted (``bad_lines``) and skipped instead. No part of a bad line is
ever a row.
"""
import gzip
import os
import sys

from ._io_readers import (
    BadLineError,
    Chunk,
    ChunkStream,
    CsvSpec,
    _Source,
    csv_parser,
    libsvm_parser,
    read_csv,
    read_libsvm,
    read_vw,
    vw_interactions,
    vw_parser,
)

FORMATS = ("csv", "libsvm", "vw")
_EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".svm": "libsvm", ".libsvm": "libsvm",
               ".svmlight": "libsvm", ".vw": "vw"}


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
    interactions : sequence of str, default=()
        Vowpal Wabbit: namespace crosses made at read time (``-q``/``--cubic``,
        see :func:`read_vw`).

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
                 categorical=(), ignore=(), weight=None, delimiter=",", interactions=()):
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
        if isinstance(interactions, str):
            interactions = [interactions]
        if format != "vw" and interactions:
            raise ValueError("interactions apply to Vowpal Wabbit data only")
        vw_interactions(interactions)  # checks them
        self.format = format
        self.target = target
        self.hash_bits = hash_bits
        self.n_features = n_features
        self.categorical = tuple(categorical)
        self.ignore = tuple(ignore)
        self.weight = weight
        self.delimiter = delimiter
        self.interactions = tuple(interactions)

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
                "delimiter": self.delimiter, "interactions": list(self.interactions)}

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


class Reader:
    """Iterate over lines of text in :class:`Chunk` objects.

    The lines go through the same compiled parsers as :func:`read_vw`,
    :func:`read_libsvm` and :func:`read_csv` (a line without its newline is
    given one); this class serves callers that hold text lines rather than
    a file.

    Parameters
    ----------
    stream : iterable of str
        The lines (an open text file, a list).
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
        line a bad line (as does a line without a label). None: labels are
        not checked.

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
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        self.stream, self.fmt, self.chunk_size, self.name = stream, fmt, chunk_size, name
        self.skip_bad_lines = skip_bad_lines
        self.require_target = require_target
        self.parse_label = parse_label
        self.bad_lines, self.first_bad, self.rows = 0, None, 0
        self._mask = (1 << fmt.hash_bits) - 1

    def _key(self, key):
        """The column of a CSV feature name (``"amount"``, ``"city=Paris"``)."""
        from .hashing import murmurhash3_32

        return murmurhash3_32(key) & self._mask

    def __iter__(self):
        src = _Source.from_lines(self.stream, self.name)
        stream = open_stream(src, self.fmt, self.chunk_size, self.skip_bad_lines,
                             self.require_target)
        label_bad, first_label_bad = 0, None
        try:
            for chunk in stream:
                if self.parse_label is not None:
                    chunk, bad = self._check_labels(chunk)
                    if bad:
                        label_bad += len(bad)
                        first_label_bad = first_label_bad or bad[0]
                    if not len(chunk):
                        continue
                self.rows += len(chunk)
                yield chunk
        finally:
            self.bad_lines = stream.bad_lines + label_bad
            firsts = [b for b in (stream.first_bad, first_label_bad) if b is not None]
            self.first_bad = min(firsts) if firsts else None

    def _check_labels(self, chunk):
        keep, bad = [], []
        for i, (text, line) in enumerate(zip(chunk.labels, chunk.lines.tolist(), strict=True)):
            try:
                if text is None:
                    raise ValueError("no label")
                self.parse_label(text)
            except ValueError as exc:
                if not self.skip_bad_lines:
                    raise BadLineError(self.name, line, str(exc)) from None
                bad.append((line, str(exc)))
            else:
                keep.append(i)
        if not bad:
            return chunk, bad
        labels = [chunk.labels[i] for i in keep]
        y = chunk.y[keep] if chunk.y is not None else None
        return Chunk(chunk.X[keep], labels, chunk.weights[keep], chunk.lines[keep], y), bad


def open_stream(source, fmt, chunk_rows, skip_bad_lines=False, require_target=True,
                ramp=False, scipy=True):
    """A :class:`ChunkStream` of :class:`Chunk` objects reading ``source`` as
    ``fmt`` says (what ``streamlr train`` and ``predict`` read with);
    ``scipy=False``: their rows as ``streamlr._csr.CSRRows``."""
    if fmt.format == "vw":
        # interactions: crossed by the learning loop, row by row (streamlr._crossed)
        parser = vw_parser(fmt.hash_bits, fmt.interactions, chunk_rows, skip_bad_lines,
                           cross_later=bool(fmt.interactions))
        return ChunkStream(source, parser, as_triples=False, ramp=ramp,
                           cross=(tuple(vw_interactions(fmt.interactions)), fmt.hash_bits),
                           scipy=scipy)
    if fmt.format == "libsvm":
        return ChunkStream(source, libsvm_parser(fmt.width, chunk_rows, skip_bad_lines),
                           as_triples=False, ramp=ramp, scipy=scipy)
    spec = CsvSpec(fmt.target, fmt.weight, fmt.categorical, fmt.ignore, require_target)
    parser = csv_parser(fmt.hash_bits, fmt.delimiter, chunk_rows, skip_bad_lines)
    return ChunkStream(source, parser, as_triples=False, csv_spec=spec, ramp=ramp, scipy=scipy)


__all__ = ["DataFormat", "Reader", "Chunk", "BadLineError", "FORMATS", "guess_format",
           "open_text", "read_vw", "read_libsvm", "read_csv", "ChunkStream"]
