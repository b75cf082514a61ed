"""The compiled readers behind ``streamlr.io``: byte sources, the chunk loop,
``read_vw``, ``read_libsvm`` and ``read_csv``.

A source yields bytes (a file, standard input, a binary file object, or
lines of text for the older ``Reader``), gunzipped on the fly when the data
starts with gzip's magic bytes. The loop hands a buffer of complete lines to
the compiled parser (``streamlr/_kernels/_readers.pyx``), which fills the
chunk's arrays without the GIL; the rest of a line cut by the end of a read
waits at the front of the buffer for the next one.
"""
import io
import os
import sys
import zlib

import numpy as np

from ._csr import CSRRows
from ._kernels import _hashing
from ._kernels import _readers as _r

BLOCK = 1 << 20  # bytes per read
_GZIP_MAGIC = b"\x1f\x8b"


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


class Chunk:
    """Rows of a data file, as a reader yields them.

    ``len(chunk)`` is its number of rows.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_rows, n_features)
        The features, float64.
    labels : list of (str or None) or None
        The label text of each row, None where a line has none. None: the
        texts are decoded from ``label_text`` when first asked for.
    weights : ndarray of shape (n_rows,)
        The sample weight of each row, float64.
    lines : ndarray of shape (n_rows,)
        The 1-based line number of each row.
    y : ndarray of shape (n_rows,), optional
        The labels as numbers (NaN where a row has none or its label is not
        a number).
    label_text : tuple of (ndarray, ndarray), optional
        The labels' UTF-8 text: row ``i``'s is ``text[offsets[i]:offsets[i + 1]]``
        of ``(offsets, text)``.
    """

    __slots__ = ("X", "_labels", "weights", "lines", "y", "_text")

    def __init__(self, X, labels, weights, lines, y=None, label_text=None):
        self.X, self._labels, self.weights, self.lines = X, labels, weights, lines
        self.y, self._text = y, label_text

    @property
    def labels(self):
        """The label text of each row (None where a row has none)."""
        if self._labels is None and self._text is not None:
            off, text = self._text
            raw = text.tobytes()
            self._labels = [raw[a:b].decode("utf-8", "replace") if b > a else None
                            for a, b in zip(off[:-1].tolist(), off[1:].tolist(), strict=True)]
        return self._labels

    def __len__(self):
        return self.X.shape[0]


# -- byte sources ------------------------------------------------------------------------

class _Source:
    """``readinto`` over a path, ``-``, a binary file object or text lines, gunzipping
    data that starts with gzip's magic bytes (several members in a row too)."""

    def __init__(self, source):
        self.file = None      # opened here: closed by close()
        self.lines = None
        if isinstance(source, str | os.PathLike):
            path = os.fspath(source)
            if path == "-":
                self.raw, self.name = sys.stdin.buffer, "<stdin>"
            else:
                if os.path.isdir(path):
                    raise IsADirectoryError(f"{path} is a directory, not a data file")
                if not os.path.exists(path):
                    raise FileNotFoundError(f"no such file: {path}")
                self.raw = self.file = open(path, "rb")  # noqa: SIM115 (closed by close())
                self.name = path
        elif hasattr(source, "read"):
            if isinstance(source, io.TextIOBase):
                if not hasattr(source, "buffer"):
                    raise TypeError("a text stream without its binary buffer: pass a binary "
                                    "file object (open(path, 'rb'), sys.stdin.buffer)")
                source = source.buffer
            self.raw = source
            name = getattr(source, "name", None)
            self.name = name if isinstance(name, str) else "<stream>"
        else:
            raise TypeError("source must be a path, '-' (standard input) or a binary file "
                            f"object, got {type(source).__name__}")
        self.mode = None          # "raw" or "gzip", known after the first read
        self.inflate = None
        self.zin = b""            # compressed bytes not yet inflated
        self.zout = b""           # inflated bytes not yet handed out

    @classmethod
    def from_lines(cls, lines, name):
        self = cls.__new__(cls)
        self.file, self.raw, self.name, self.mode = None, None, name, "lines"
        self.lines, self.zout = iter(lines), b""
        return self

    def close(self):
        if self.file is not None:
            self.file.close()

    def _raw_into(self, mv):
        # readinto1: what one read of the stream gives (a pipe's data as it
        # arrives, rather than waiting for the whole buffer)
        if hasattr(self.raw, "readinto1"):
            return self.raw.readinto1(mv) or 0
        if hasattr(self.raw, "readinto"):
            n = self.raw.readinto(mv)
            return n or 0
        data = self.raw.read(len(mv))
        mv[:len(data)] = data
        return len(data)

    def _pending(self, mv):
        k = min(len(mv), len(self.zout))
        mv[:k] = self.zout[:k]
        self.zout = self.zout[k:]
        return k

    def readinto(self, mv):
        """Fill ``mv`` with the next bytes; 0 at the end of the data."""
        if self.mode == "raw":
            return self._raw_into(mv)
        if self.mode is None:
            n = self._raw_into(mv)
            if n < 2 or bytes(mv[:2]) != _GZIP_MAGIC:
                self.mode = "raw"
                return n
            self.mode, self.zin = "gzip", bytes(mv[:n])
            self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.mode == "lines":
            return self._lines_into(mv)
        while True:
            if self.zout:
                return self._pending(mv)
            if self.inflate.eof:
                rest = self.inflate.unused_data or self._read_raw()
                if not rest:
                    return 0
                self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the next member
                self.zin = rest
            if not self.zin:
                self.zin = self._read_raw()
                if not self.zin:
                    raise EOFError(f"{self.name}: the gzip data ends before its end marker")
            try:
                self.zout = self.inflate.decompress(self.zin, len(mv))
            except zlib.error as exc:   # an OSError naming the file, as gzip's BadGzipFile
                raise OSError(f"{self.name}: corrupt gzip data ({exc})") from None
            self.zin = self.inflate.unconsumed_tail

    def _read_raw(self):
        if hasattr(self.raw, "read1"):
            return self.raw.read1(BLOCK)
        return self.raw.read(BLOCK)

    def _lines_into(self, mv):
        if self.zout:
            return self._pending(mv)
        parts, size = [], 0
        for line in self.lines:
            data = line.encode("utf-8", "replace") if isinstance(line, str) else bytes(line)
            if not data.endswith(b"\n"):
                data += b"\n"
            parts.append(data)
            size += len(data)
            if size >= len(mv):
                break
        self.zout = b"".join(parts)
        return self._pending(mv)


class _Replay(io.RawIOBase):
    """A binary stream that gives ``prefix`` first, then the rest of ``raw``."""

    def __init__(self, prefix, raw, name):
        super().__init__()
        self.prefix, self.raw, self.name = prefix, raw, name

    def readable(self):
        return True

    def readinto(self, mv):
        if self.prefix:
            k = min(len(mv), len(self.prefix))
            mv[:k] = self.prefix[:k]
            self.prefix = self.prefix[k:]
            return k
        if hasattr(self.raw, "readinto1"):
            return self.raw.readinto1(mv) or 0
        if hasattr(self.raw, "readinto"):
            return self.raw.readinto(mv) or 0
        data = self.raw.read(len(mv))
        mv[:len(data)] = data
        return len(data)


def peek_first_line(source):
    """The first line of a data source (gunzipped), and the source to read it
    all from: the same path, or standard input with its first bytes put back.

    Parameters
    ----------
    source : str or os.PathLike
        A path, or ``-`` for standard input.

    Returns
    -------
    first_line : str
        The first line (without its newline), as UTF-8 text.
    source : str, os.PathLike or file object
        What to read the whole data from.
    """
    src = _Source(source)  # the errors of a missing file, a directory
    try:
        raw = src.raw
        head = b""
        while len(head) < 1 << 16:  # until the first newline (a pipe may give less)
            part = raw.read1(1 << 16) if hasattr(raw, "read1") else raw.read(1 << 16)
            head += part
            if not part or b"\n" in (head if head[:2] != _GZIP_MAGIC else b"") or (
                    head[:2] == _GZIP_MAGIC and len(head) >= 1 << 12):
                break
    finally:
        src.close()
    text = head
    if head[:2] == _GZIP_MAGIC:
        try:
            text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 1 << 16)
        except zlib.error:
            text = b""
    first = text.split(b"\n", 1)[0].decode("utf-8", "replace")
    if src.file is None:  # standard input: its first bytes go back in front
        return first, _Replay(head, raw, src.name)
    return first, source


# -- the chunk loop ----------------------------------------------------------------------

def _reason(code, tok, num, col, width, columns):
    text = tok.decode("utf-8", "replace")
    name = columns[col] if columns and 0 <= col < len(columns) else ""
    return _r.REASONS[code].format(tok=text, num=num, col=name, width=width,
                                   n_cols=len(columns or ()))


def _raw_chunks(parser, src, stream):
    """The chunks' arrays, as ``Parser.take`` gives them, until the end of the
    data; a bad line stops the loop (the rows of its chunk are not yielded)."""
    buf = bytearray(BLOCK + 1)
    start = end = 0
    eof = False
    header_done = parser.fmt != _r.CSV
    try:
        while True:
            if not header_done:
                if eof and end == start:
                    return  # no header: no rows
                got = parser.csv_header(buf, start, end, eof) if end > start or eof else None
                if got is not None:
                    stream._header(parser, got[0])
                    start, header_done = got[1], True
                    continue
                if eof:
                    return
                pos, status = start, _r.NEED_DATA
            else:
                pos, status = parser.parse(buf, start, end, eof)
            start = pos
            if status == _r.CHUNK_FULL:
                yield parser.take()
                continue
            if status == _r.BAD_LINE:
                line, code, tok, num, col = parser.error()
                raise BadLineError(src.name, line, _reason(code, tok, num, col, parser.width,
                                                           stream.columns))
            if status == _r.NO_MEMORY:
                raise MemoryError(f"{src.name}: out of memory while reading line {parser.line}")
            if status == _r.DONE:
                if parser.rows:
                    yield parser.take()
                return
            # the buffer ends within a line: keep its start, read more after it
            if start:
                buf[:end - start] = buf[start:end]
                end -= start
                start = 0
            if end + BLOCK // 2 >= len(buf):
                buf.extend(bytes(len(buf)))  # a line longer than the buffer
            with memoryview(buf) as mv:
                n = src.readinto(mv[end:len(buf) - 1])
            if n == 0:
                eof = True
            end += n
            buf[end] = 0  # the parser may read one byte past the data
    finally:
        stream.bad_lines = parser.bad_lines
        first = parser.error(first=True)
        if first is not None:
            line, code, tok, num, col = first
            stream.first_bad = (line, _reason(code, tok, num, col, parser.width, stream.columns))
        stream.lines = parser.line


class ChunkStream:
    """The chunks of a data source, as ``read_vw``, ``read_libsvm`` and ``read_csv`` return them.

    Iterate over it (once) for ``(X, y, sample_weight)`` triples; the
    source (a file opened here) is closed at the end of the data, at an
    error, or by :meth:`close`. Built by the ``read_*`` functions rather than
    directly.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        What to read (see :func:`read_vw`).
    parser : streamlr._kernels._readers.Parser
        The compiled parser of the format.
    as_triples : bool, default=True
        Yield ``(X, y, sample_weight)``; False: :class:`Chunk` objects (with
        line numbers and label texts).
    csv_spec : CsvSpec, optional
        CSV: what the columns are.
    ramp : bool, default=False
        Start with chunks of 4096 rows, doubling up to the parser's size (a
        reader ahead of a learner then hands its first rows over early).
    cross : tuple of (tuple of bytes, int), optional
        ``(interactions, hash_bits)`` of a VW parser made with
        ``cross_later=True``: the chunks' ``X`` are then
        ``streamlr._crossed.CrossedRows``, crossed by the learning loop.
    scipy : bool, default=True
        X as a ``scipy.sparse.csr_matrix``; False: as
        ``streamlr._csr.CSRRows`` (the same arrays, without importing SciPy:
        the command line's training path).

    Attributes
    ----------
    name : str
        The source's name for messages (its path, ``<stdin>``).
    rows : int
        Rows yielded so far.
    lines : int
        Lines read so far.
    bad_lines : int
        Lines skipped (with ``skip_bad_lines=True``).
    first_bad : tuple of (int, str) or None
        (line number, reason) of the first skipped line.
    columns : list of str or None
        CSV: the header's column names, once read.
    """

    def __init__(self, source, parser, *, as_triples=True, csv_spec=None, ramp=False,
                 cross=None, scipy=True):
        self._src = source if isinstance(source, _Source) else _Source(source)
        # ramp: the first chunks small (4096 rows, doubling), so that a reader
        # ahead of a learner hands over its first rows early
        self._full = parser.chunk_rows
        if ramp:
            parser.chunk_rows = min(parser.chunk_rows, 4096)
        self.name = self._src.name
        self._parser = parser
        self._triples = as_triples
        self._csv = csv_spec
        # (interactions, bits) of a parser that leaves its rows un-crossed:
        # chunks then hold CrossedRows, crossed by the learning loop
        self._cross = cross
        self._scipy = scipy
        self.rows = self.lines = self.bad_lines = 0
        self.first_bad = None
        self.columns = None
        self._it = None

    def _header(self, parser, fields):
        self.columns = [f.decode("utf-8", "replace").strip() for f in fields]
        if self.columns and self.columns[0].startswith("\ufeff"):
            # a UTF-8 byte order mark ("CSV UTF-8" of spreadsheets) starts the file
            self.columns[0] = self.columns[0][1:].strip()
        roles, prefixes = self._csv.roles(self.columns, self.name)
        hashes = [_hashing.murmur3(c.encode("utf-8"), 0) & parser.width - 1
                  for c in self.columns]
        parser.set_csv_columns(roles, hashes, prefixes)

    def __iter__(self):
        return self

    def __next__(self):
        if self._it is None:
            self._it = self._chunks()
        return next(self._it)

    def _chunks(self):
        csr = CSRRows
        if self._scipy:
            from scipy.sparse import csr_matrix

            def csr(data, indices, indptr, shape):
                return csr_matrix((data, indices, indptr), shape=shape)

        try:
            for parts in _raw_chunks(self._parser, self._src, self):
                self._parser.chunk_rows = min(2 * self._parser.chunk_rows, self._full)
                indptr, indices, data, y, w, lines, loff, ltext, text_label = parts[:9]
                X = csr(data, indices, indptr, (len(y), self._parser.width))
                if len(parts) > 9:
                    from ._crossed import CrossedRows

                    X = CrossedRows(X, parts[9], self._cross[0], True, self._cross[1])
                self.rows += len(y)
                chunk = Chunk(X, None, w, lines, y, (loff, ltext))
                if self._triples:
                    yield X, self._labels(chunk, text_label), w
                else:
                    chunk.y = self._labels(chunk, text_label)
                    yield chunk
        finally:
            self._src.close()

    def close(self):
        """Stop reading and close the source (a file opened here)."""
        if self._it is not None:
            self._it.close()
        self._src.close()

    @staticmethod
    def _labels(chunk, text_label):
        if text_label.any():  # CSV labels that are not numbers: their text
            return np.array(chunk.labels, dtype=object)
        return chunk.y


# -- the public readers ------------------------------------------------------------------

def _check_chunk_rows(chunk_rows):
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")


def _check_bits(hash_bits):
    if isinstance(hash_bits, bool) or not isinstance(hash_bits, int) or not 1 <= hash_bits <= 31:
        raise ValueError(f"hash_bits must be an integer in [1, 31], got {hash_bits!r}")


def vw_interactions(interactions):
    """VW's namespace crosses as the parser takes them (bytes, in VW's order).

    Crosses equal up to the order of their letters are one cross, written as
    the smallest of them (``["ui", "iu"]`` crosses as ``"iu"``); a cross with
    a repeated namespace has its letters sorted (``"uiu"`` crosses as
    ``"iuu"``), as Vowpal Wabbit 9 does both.
    """
    if isinstance(interactions, str | bytes):
        interactions = [interactions]
    kept = {}
    for inter in interactions:
        raw = inter.encode("utf-8") if isinstance(inter, str) else bytes(inter)
        if len(raw) not in (2, 3):
            raise ValueError(f"an interaction crosses 2 or 3 namespaces (by the first "
                             f"letter of their names), got {inter!r}")
        if b":" in raw:
            raise ValueError(f"wildcard interactions ({inter!r}) are not supported")
        key = bytes(sorted(raw))
        kept[key] = min(kept.get(key, raw), raw)
    return [key if len(set(key)) < len(key) else raw for key, raw in kept.items()]


def vw_parser(hash_bits=18, interactions=(), chunk_rows=65536, skip_bad_lines=False,
              cross_later=False):
    _check_bits(hash_bits)
    _check_chunk_rows(chunk_rows)
    return _r.Parser(_r.VW, 1 << hash_bits, chunk_rows, bool(skip_bad_lines),
                     vw_interactions(interactions), cross_later=cross_later)


def libsvm_parser(n_features, chunk_rows=65536, skip_bad_lines=False):
    if isinstance(n_features, bool) or not isinstance(n_features, int) or not (
            1 <= n_features <= 1 << 31):
        raise ValueError(f"n_features must be an integer in [1, 2**31], got {n_features!r}")
    _check_chunk_rows(chunk_rows)
    return _r.Parser(_r.LIBSVM, n_features, chunk_rows, bool(skip_bad_lines))


class CsvSpec:
    """What the CSV columns are: the target, the weight, categorical and
    ignored columns by name (checked against the header when it is read)."""

    def __init__(self, target=None, weight=None, categorical=(), ignore=(),
                 require_target=True):
        self.target, self.weight = target, weight
        self.categorical, self.ignore = tuple(categorical), tuple(ignore)
        self.require_target = require_target

    def roles(self, header, name):
        if self.target is None and self.require_target:
            raise ValueError(f"{name}: CSV data needs the name of its label column "
                             f"(--target); the columns are {header}")
        named = [c for c in (self.target, self.weight) if c is not None]
        for col in named + list(self.categorical) + list(self.ignore):
            if col not in header and (col != self.target or self.require_target):
                raise ValueError(f"{name}: no column {col!r} in the header; "
                                 f"the columns are {header}")
        roles, prefixes = [], []
        for col in header:
            if col == self.target:
                role = _r.TARGET
            elif col == self.weight:
                role = _r.WEIGHT
            elif col in self.ignore:
                role = _r.IGNORE
            elif col in self.categorical:
                role = _r.CATEGORICAL
            else:
                role = _r.FEATURE
            roles.append(role)
            prefixes.append(col.encode("utf-8") + b"=")
        return roles, prefixes


def csv_parser(hash_bits=18, delimiter=",", chunk_rows=65536, skip_bad_lines=False):
    _check_bits(hash_bits)
    _check_chunk_rows(chunk_rows)
    if not isinstance(delimiter, str) or len(delimiter) != 1 or ord(delimiter) > 127 or (
            delimiter in "\"\r\n"):
        raise ValueError(f"delimiter must be one ASCII character other than a quote or a "
                         f"newline, got {delimiter!r}")
    return _r.Parser(_r.CSV, 1 << hash_bits, chunk_rows, bool(skip_bad_lines),
                     delimiter=ord(delimiter))


def read_vw(source, hash_bits=18, interactions=(), chunk_rows=65536, *, skip_bad_lines=False):
    """Read Vowpal Wabbit text in chunks, as Vowpal Wabbit 9 reads it.

    Each line ``label [importance] ['tag]|namespace[:scale] feature[:value]
    ... |other ...`` is one row: its features hashed by VW's own rules
    (:func:`streamlr.hashing.hash_feature`) into ``2 ** hash_bits`` columns,
    its label and its importance weight; numbers are read as VW reads them
    (single precision, its own decimal parsing), so that every index, value,
    label and weight equals VW's. The parsing runs in compiled code without
    the GIL.

    * ``name:value`` is feature ``name`` with that value times the
      namespace's ``scale``; ``name`` alone has value 1; ``name:text``
      (a value that is not a number) is VW's string feature: value 1, index
      ``hash(text, seed=hash(name, namespace))``; ``:value`` (no name) is
      VW's anonymous feature (the namespace hash plus its position).
    * Zero values are dropped; repeated indices within a row are kept as
      separate entries (a model sums them). VW's constant feature is not a
      column (a model's intercept plays its part).
    * An unlabeled line (``|f a b``, or ``'tag |f a``) is a row with label
      NaN, for prediction. The last token before ``|`` is a tag when it
      starts with ``'`` or touches the ``|``. Blank lines are skipped; a line
      whose features are all zero is still a row.
    * ``interactions`` are VW's ``-q``/``--cubic`` crosses, made here at read
      time: each crossed feature of the namespaces whose names start with
      the given letters is added as a column, with VW's hash of crossed
      features and the product of the values.
    * Where VW would print a warning and go on (a malformed feature, a NaN
      value, a label that is not a number) the line is a bad line:
      :class:`BadLineError` names the file, the line and the reason (the
      rows of its chunk are not yielded); no part of a bad line is ever a
      row.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        A path (``-`` for standard input) or an open binary stream
        (``sys.stdin.buffer``, a socket file); gzip data (any name) is
        gunzipped.
    hash_bits : int, default=18
        Columns: ``2 ** hash_bits``, from 1 to 31.
    interactions : sequence of str, default=()
        Namespace crosses such as ``["ui", "uic"]``: pairs and triples of
        namespace letters (VW's ``-q ui --cubic uic``).
    chunk_rows : int, default=65536
        Rows per chunk, at most (a chunk also ends once it holds 2**23
        values, as wide crossed rows can).
    skip_bad_lines : bool, default=False
        Count and skip bad lines (``bad_lines`` and ``first_bad`` of the
        returned stream) instead of raising.

    Returns
    -------
    ChunkStream
        An iterator of ``(X, y, sample_weight)``: ``X`` a CSR matrix
        (float64 values, int32 indices), ``y`` float64 labels (NaN where a
        line has none), ``sample_weight`` float64 importance weights.

    Raises
    ------
    ValueError
        For a bad ``hash_bits``, ``chunk_rows`` or interaction.
    FileNotFoundError
        If ``source`` names no file.
    BadLineError
        While iterating, at a line that cannot be read (unless
        ``skip_bad_lines``).

    Examples
    --------
    >>> import io
    >>> from streamlr.io import read_vw
    >>> data = io.BytesIO(b"1 2 'id7|u a:0.5 b |i:2 c\\n-1 |u a\\n|u b\\n")
    >>> [(X.shape, y.tolist(), w.tolist()) for X, y, w in read_vw(data, hash_bits=10)]
    [((3, 1024), [1.0, -1.0, nan], [2.0, 1.0, 1.0])]
    """
    return ChunkStream(source, vw_parser(hash_bits, interactions, chunk_rows, skip_bad_lines))


def read_libsvm(source, n_features=1 << 18, chunk_rows=65536, *, skip_bad_lines=False):
    """Read libsvm/svmlight text in chunks.

    ``label [qid:q] index:value ...`` with ``# comments``; an index is the
    column itself (zero-based, as ``load_svmlight_file(zero_based=True)``),
    below ``n_features``; ``qid`` is ignored; zero values are dropped. The
    parsing runs in compiled code without the GIL.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        A path (``-`` for standard input) or an open binary stream; gzip data
        is gunzipped.
    n_features : int, default=2**18
        Number of columns; an index at or above it is a bad line.
    chunk_rows : int, default=65536
        Rows per chunk, at most.
    skip_bad_lines : bool, default=False
        Count and skip bad lines instead of raising.

    Returns
    -------
    ChunkStream
        An iterator of ``(X, y, sample_weight)`` (weights all 1).

    Raises
    ------
    ValueError
        For a bad ``n_features`` or ``chunk_rows``.
    BadLineError
        While iterating, at a line that cannot be read (unless
        ``skip_bad_lines``).

    Examples
    --------
    >>> import io
    >>> from streamlr.io import read_libsvm
    >>> data = io.BytesIO(b"1 0:0.5 3:2 # first\\n0 qid:2 1:1\\n")
    >>> [(X.toarray().tolist(), y.tolist()) for X, y, w in read_libsvm(data, 4)]
    [([[0.5, 0.0, 0.0, 2.0], [0.0, 1.0, 0.0, 0.0]], [1.0, 0.0])]
    """
    return ChunkStream(source, libsvm_parser(n_features, chunk_rows, skip_bad_lines))


def read_csv(source, target=None, *, weight=None, categorical=(), ignore=(), hash_bits=18,
             delimiter=",", chunk_rows=65536, skip_bad_lines=False):
    """Read CSV with a header row in chunks, its columns hashed.

    Every column but ``target``, ``weight`` and ``ignore`` is a feature
    hashed into ``2 ** hash_bits`` columns (MurmurHash3 of its name, as
    :class:`streamlr.io.DataFormat` describes): a number ``x`` in column
    ``c`` is feature ``hash(c)`` with value ``x``; other text ``v`` (and any
    value of a ``categorical`` column) is feature ``hash("c=v")`` with value
    1; empty cells and ``nan`` are missing. Quoted fields (RFC 4180, with
    ``""`` for a quote, newlines inside quotes) are read as Python's ``csv``
    module reads them; cells are stripped of ASCII whitespace. The parsing
    runs in compiled code without the GIL.

    Parameters
    ----------
    source : str, os.PathLike or binary file object
        A path (``-`` for standard input) or an open binary stream; gzip data
        is gunzipped.
    target : str, optional
        The label column; None: no labels (``y`` all NaN).
    weight : str, optional
        A sample-weight column.
    categorical : sequence of str, default=()
        Columns hashed as categories even when their values are numbers.
    ignore : sequence of str, default=()
        Columns to drop.
    hash_bits : int, default=18
        Columns of X: ``2 ** hash_bits``, from 1 to 31.
    delimiter : str, default=","
        The field separator, one ASCII character.
    chunk_rows : int, default=65536
        Rows per chunk, at most.
    skip_bad_lines : bool, default=False
        Count and skip bad lines (a record with another number of fields than
        the header, an infinite value) instead of raising.

    Returns
    -------
    ChunkStream
        An iterator of ``(X, y, sample_weight)``: ``y`` float64 when every
        label of the chunk is a number, else an object array of the labels'
        text.

    Raises
    ------
    ValueError
        For a bad setting; while iterating, when a named column is not in
        the header.
    BadLineError
        While iterating, at a record that cannot be read (unless
        ``skip_bad_lines``).

    Examples
    --------
    >>> import io
    >>> from streamlr.hashing import murmurhash3_32
    >>> from streamlr.io import read_csv
    >>> data = io.BytesIO(b"amount,city,label\\n2.5,Paris,1\\n,Rome,0\\n")
    >>> (X, y, w), = read_csv(data, target="label", hash_bits=8)
    >>> X[0, murmurhash3_32("amount") % 256], X[1, murmurhash3_32("city=Rome") % 256]
    (np.float64(2.5), np.float64(1.0))
    >>> y.tolist()
    [1.0, 0.0]
    """
    spec = CsvSpec(target, weight, categorical, ignore, require_target=False)
    return ChunkStream(source, csv_parser(hash_bits, delimiter, chunk_rows, skip_bad_lines),
                       csv_spec=spec)
