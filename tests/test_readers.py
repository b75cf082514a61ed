"""The compiled readers (streamlr.io.read_vw / read_libsvm / read_csv) against
their oracles: Vowpal Wabbit's own parser (pyvw examples, and its --audit
output for -q/--cubic crosses), scikit-learn's load_svmlight_file, NumPy
and Python's csv module."""
import csv
import gzip
import io
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamlr import _io_readers
from streamlr.hashing import hash_feature, murmurhash3_32
from streamlr.io import BadLineError, DataFormat, Reader, read_csv, read_libsvm, read_vw

pyvw = pytest.importorskip("vowpalwabbit")

BITS = 18
MASK = (1 << BITS) - 1
FLT_MAX = float(np.finfo(np.float32).max)


# -- Vowpal Wabbit's own parse ---------------------------------------------------------------

class _VWParse:
    """Rows as pyvw's text parser reads them: (label, weight, sorted (index, value))."""

    def __init__(self):
        self.ws = pyvw.Workspace(f"-b {BITS} --quiet")

    def row(self, line):
        ex = self.ws.example(line)
        feats = []
        for i in range(ex.num_namespaces()):
            ns = ex.get_ns(i)
            if ns.ord_ns == 128:  # VW's constant feature: not a column
                continue
            feats += [(ex.feature(ns, j) & MASK, ex.feature_weight(ns, j))
                      for j in range(ex.num_features_in(ns))]
        label, weight = ex.get_simplelabel_label(), ex.get_simplelabel_weight()
        self.ws.finish_example(ex)
        return (math.nan if label == FLT_MAX else label), weight, sorted(feats)


@pytest.fixture(scope="module")
def vw():
    parse = _VWParse()
    yield parse
    parse.ws.finish()


def rows_of(X, y, w):
    out = []
    for r in range(X.shape[0]):
        s = slice(X.indptr[r], X.indptr[r + 1])
        out.append((y[r], w[r], sorted(zip(X.indices[s].tolist(), X.data[s].tolist(),
                                           strict=True))))
    return out


def read_all(source, **kw):
    """Every row of a VW source; a missing label as None (rows compare with ==)."""
    rows = []
    for X, y, w in read_vw(source, **kw):
        assert X.dtype == np.float64 and X.indices.dtype == np.int32
        rows += [(None if math.isnan(a) else a, b, c) for a, b, c in rows_of(X, y, w)]
    return rows


def same_row(ours, theirs):
    (ly, lw, lf), (vy, vw_, vf) = ours, theirs
    assert (ly is None and math.isnan(vy)) or ly == vy
    assert lw == vw_
    assert lf == vf


# -- generated Vowpal Wabbit lines ---------------------------------------------------------

_name_chars = st.characters(blacklist_characters=" :|\t\r\n\x00", blacklist_categories=("Cs",))
names = st.one_of(st.text(_name_chars, min_size=1, max_size=8),
                  st.text(alphabet="0123456789", min_size=1, max_size=6),
                  st.sampled_from(["a", "b", "price", "x=1", "é", "٣", "\x01q", "-5", "1.5"]))
numbers = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(-1e6, 1e6, allow_nan=False, width=32).map(repr),
    st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: f"{x:.9f}"),
    st.floats(1e-30, 1e30).map(lambda x: f"{x:.4e}"),
    st.sampled_from(["0.1", "-.5", "1.", "+3", "1e-5", "2.5E3", "0x10", "00012",
                     "0.123456789012345678901234567890123456789", "-0", "0"]),
)
labels = st.one_of(st.integers(-3, 3).map(str), st.sampled_from(["0.5", "-1.25", "1e2", "3.3"]))
weights = st.sampled_from(["1", "2", "0.5", "0", "3.25", "1e-2"])
scales = st.sampled_from(["", ":2", ":0.5", ":-1", ":1e-3", ":0"])


@st.composite
def feature(draw):
    kind = draw(st.sampled_from(["bare", "num", "str", "anon", "zero"]))
    if kind == "bare":
        return draw(names)
    if kind == "num":
        return f"{draw(names)}:{draw(numbers)}"
    if kind == "str":
        return f"{draw(names)}:{draw(st.sampled_from(['x', 'Paris', 'é', 'a_b']))}"
    if kind == "anon":
        return f":{draw(numbers)}"
    return f"{draw(names)}:0"


@st.composite
def namespace(draw):
    sep = draw(st.sampled_from([" ", "  ", "\t", " \t"]))
    head = draw(st.one_of(st.just(""), st.sampled_from(["u", "user", "i", "item", "c", "é", "12"])))
    head += draw(scales) if head else ""
    feats = draw(st.lists(feature(), max_size=6))
    return "|" + head + "".join(sep + f for f in feats) + draw(st.sampled_from(["", " "]))


@st.composite
def vw_line(draw):
    parts = []
    if draw(st.booleans()):
        parts.append(draw(labels))
        if draw(st.booleans()):
            parts.append(draw(weights))
    tag = draw(st.sampled_from(["", "'t1", "'", "'id7"]))
    head = " ".join(parts + ([tag] if tag else []))
    glue = draw(st.sampled_from([" ", ""])) if head and not tag else " " if head else ""
    if tag and not parts:
        glue = draw(st.sampled_from([" ", ""]))
    body = "".join(draw(st.lists(namespace(), min_size=1, max_size=3)))
    return head + glue + body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(vw_line(), min_size=1, max_size=30), chunk_rows=st.integers(1, 9))
def test_vw_rows_equal_vw_own_parse(vw, lines, chunk_rows):
    text = "\n".join(lines) + "\n"
    ours = read_all(io.BytesIO(text.encode()), hash_bits=BITS, chunk_rows=chunk_rows)
    assert len(ours) == len(lines)
    for line, row in zip(lines, ours, strict=True):
        same_row(row, vw.row(line))


CORPUS_N = 1500


def make_corpus(seed=0, n=CORPUS_N, namespaces=("u", "i", "c"), default_ns=True):
    """A seeded VW corpus in the common grammar: labels, weights, tags,
    named and default namespaces with scales, string and numeric values."""
    rng = np.random.default_rng(seed)
    lines = []
    for r in range(n):
        head = f"{rng.choice([-1, 1])}"
        if rng.random() < 0.2:
            head += f" {rng.integers(1, 4)}"
        if rng.random() < 0.2:
            head += f" 'r{r}"
        if rng.random() < 0.05:
            head = ""
        body = ""
        for ns in namespaces:
            if rng.random() < 0.15:
                continue
            scale = f":{rng.choice([0.5, 2, 3.25])}" if rng.random() < 0.2 else ""
            feats = []
            for j in range(rng.integers(0, 8)):
                u = rng.random()
                name = f"{ns}{j}_{rng.integers(0, 50)}"
                if u < 0.5:
                    feats.append(name)
                elif u < 0.8:
                    feats.append(f"{name}:{rng.normal():.6g}")
                elif u < 0.9:
                    feats.append(f"{name}:v{rng.integers(0, 5)}")
                else:
                    feats.append(f"{rng.integers(0, 10**6)}:{rng.integers(1, 9)}")
            body += f" |{ns}{scale} " + " ".join(feats)
        if default_ns and rng.random() < 0.1:
            body += " | " + " ".join(f"d{k}" for k in range(rng.integers(1, 4)))
        lines.append(head + body)
    return lines


def test_vw_corpus_file_equals_vw_own_parse(vw, tmp_path):
    lines = make_corpus()
    path = tmp_path / "c.vw"
    path.write_text("\n".join(lines) + "\n")
    ours = read_all(path, hash_bits=BITS, chunk_rows=100)
    theirs = [vw.row(line) for line in lines]
    assert len(ours) == len(theirs) == CORPUS_N
    for a, b in zip(ours, theirs, strict=True):
        same_row(a, b)
    n_feats = sum(len(r[2]) for r in ours)
    assert n_feats > 5 * CORPUS_N  # the corpus is not trivially empty


def _audit(path, *args):
    """Per example, the sorted (index, value) of every feature VW's --audit
    shows (crosses included, the constant excluded)."""
    res = subprocess.run([sys.executable, "-m", "vowpalwabbit", "-d", str(path), "--audit",
                          "-b", str(BITS), "--quiet", "--noconstant", *args],
                         capture_output=True, text=True, check=True, timeout=300)
    rows = []
    for line in res.stdout.splitlines():
        if not line:  # an example without features
            continue
        if not line.startswith("\t"):  # the prediction line starts an example
            rows.append([])
            continue
        for item in line.strip("\t").split("\t"):
            name, index, value, _ = item.rsplit(":", 3)
            if name != "Constant":
                rows[-1].append((int(index), float(value)))
    return [sorted(r) for r in rows]


@pytest.mark.parametrize("interactions", [["ui"], ["ui", "ic"], ["uu"], ["uic"], ["uui"],
                                          ["ui", "iu"], ["iuu", "cc"]])
def test_vw_crosses_equal_vw_audit(tmp_path, interactions):
    lines = [ln for ln in make_corpus(seed=1, n=300, default_ns=False) if "|" in ln]
    lines = [ln for ln in lines if "'" not in ln]  # no tags on the audit's prediction lines
    path = tmp_path / "q.vw"
    path.write_text("\n".join(lines) + "\n")
    args = []
    for inter in interactions:
        args += ["-q" if len(inter) == 2 else "--cubic", inter]
    theirs = _audit(path, *args)
    ours = read_all(path, hash_bits=BITS, interactions=interactions, chunk_rows=64)
    assert len(theirs) == len(ours) == len(lines)
    n_cross = 0
    for (_, _, feats), audit in zip(ours, theirs, strict=True):
        assert [i for i, _ in feats] == [i for i, _ in audit] or sorted(
            i for i, _ in feats) == sorted(i for i, _ in audit)
        ours_v = dict()
        for i, v in feats:
            ours_v.setdefault(i, []).append(v)
        for i, v in audit:
            assert any(math.isclose(v, u, rel_tol=2e-5, abs_tol=1e-6) for u in ours_v[i])
        n_cross += len(feats)
    assert n_cross > 5 * len(lines)


def test_vw_cross_by_hand():
    X, = (X for X, _, _ in read_vw(io.BytesIO(b"1 |u a:2 b |i c:3\n"), hash_bits=BITS,
                                   interactions=["ui", "uu"]))
    hu, hi = (hash_feature(n, ns, bits=32) for n, ns in (("a", "u"), ("c", "i")))
    hb = hash_feature("b", "u", bits=32)
    got = dict(zip(X.indices.tolist(), X.data.tolist(), strict=True))
    assert got[((hu * 16777619) ^ hi) & MASK] == 6.0        # u^a * i^c
    assert got[((hb * 16777619) ^ hi) & MASK] == 3.0
    assert got[((hu * 16777619) ^ hu) & MASK] == 4.0        # uu: i <= j, self-pair included
    assert got[((hu * 16777619) ^ hb) & MASK] == 2.0
    assert ((hb * 16777619) ^ hu) & MASK not in got or hb == hu  # no j < i pair
    assert X.nnz == 3 + 2 + 3


# -- sources, chunks and buffers -----------------------------------------------------------------

def test_sources_give_the_same_rows(tmp_path, monkeypatch):
    lines = make_corpus(seed=2, n=400)
    text = ("\n".join(lines) + "\n").encode()
    plain = tmp_path / "a.vw"
    plain.write_bytes(text)
    gz = tmp_path / "a.data"              # gzip found by its magic bytes, not its name
    gz.write_bytes(gzip.compress(text[:5000]) + gzip.compress(text[5000:]))  # two members
    ref = read_all(plain, chunk_rows=1000)
    assert read_all(gz, chunk_rows=7) == ref
    assert read_all(io.BytesIO(text), chunk_rows=33) == ref
    with open(gz, "rb") as f:
        assert read_all(f) == ref
    assert read_all(str(plain)) == ref

    class _Stdin:
        buffer = io.BytesIO(text)

    monkeypatch.setattr(sys, "stdin", _Stdin)
    assert read_all("-") == ref
    # tiny blocks: lines cut at every place, lines longer than the buffer
    monkeypatch.setattr(_io_readers, "BLOCK", 16)
    assert read_all(io.BytesIO(text), chunk_rows=50) == ref
    assert read_all(gz, chunk_rows=50) == ref


def test_line_endings_bom_blank_lines_and_no_final_newline():
    a = read_all(io.BytesIO(b"1 |f a\n\n   \n-1 |f b:2"))
    b = read_all(io.BytesIO(b"\xef\xbb\xbf1 |f a\r\n\r\n-1 |f b:2\r\n"))
    assert a == b and len(a) == 2
    assert a[1][2] == [(hash_feature("b", "f"), 2.0)]


def test_chunks_are_bounded_and_all_rows_come():
    text = "".join(f"{i % 2} |f a{i}\n" for i in range(1000)).encode()
    stream = read_vw(io.BytesIO(text), chunk_rows=300)
    sizes = [X.shape[0] for X, _, _ in stream]
    assert sizes == [300, 300, 300, 100]
    assert stream.rows == 1000 and stream.lines == 1000


def test_empty_and_all_zero_rows():
    rows = read_all(io.BytesIO(b"1 |f a:0 b:0\n-1 |f\n1\n"))
    assert [r[2] for r in rows] == [[], [], []]
    assert rows[2][0] is None  # "1" alone is a tag in VW's grammar: no label


# -- bad lines --------------------------------------------------------------------------------

@pytest.mark.parametrize("line, reason", [
    ("1 |f a:nan", "value of feature 'a' is not a finite number"),
    ("1 |f a:inf", "value of feature 'a' is not a finite number"),
    ("1 |f a:1x b", "malformed features at 'x b'"),
    ("x |f a", "label 'x' is not a number"),
    ("1 w |f a", "importance weight 'w' is not a number"),
    ("1 -2 |f a", "negative importance weight -2"),
    ("1 2 3 |f a", "a third label token ('3'"),
    ("1 2 3 4 |f a", "4 tokens before '|'"),
    ("1 |:2 a", "needs a name"),
    ("1 |f:x a", "scale of namespace 'f' is not a finite number"),
])
def test_bad_vw_lines_name_the_line_and_reason(line, reason):
    text = f"1 |f ok\n\n{line}\n-1 |f ok\n".encode()
    with pytest.raises(BadLineError, match="line 3: ") as exc:
        read_all(io.BytesIO(text))
    assert reason in str(exc.value)
    assert exc.value.line == 3 and exc.value.source == "<stream>"
    stream = read_vw(io.BytesIO(text), skip_bad_lines=True)
    rows = [r for X, y, w in stream for r in rows_of(X, y, w)]
    assert len(rows) == 2 and stream.bad_lines == 1  # no part of the bad line is a row
    assert stream.first_bad[0] == 3 and reason in stream.first_bad[1]


def test_bad_line_error_names_the_file(tmp_path):
    path = tmp_path / "x.vw"
    path.write_text("1 |f a\n-1 |f a:nan\n")
    with pytest.raises(BadLineError, match=rf"{path}, line 2: "):
        read_all(path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="hash_bits"):
        read_vw(io.BytesIO(b""), hash_bits=32)
    with pytest.raises(ValueError, match="chunk_rows"):
        read_vw(io.BytesIO(b""), chunk_rows=0)
    with pytest.raises(ValueError, match="interaction"):
        read_vw(io.BytesIO(b""), interactions=["uicd"])
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_vw(tmp_path / "nope.vw")
    with pytest.raises(TypeError, match="source"):
        read_vw(42)
    with pytest.raises(ValueError, match="n_features"):
        read_libsvm(io.BytesIO(b""), n_features=0)
    with pytest.raises(ValueError, match="delimiter"):
        read_csv(io.BytesIO(b""), delimiter='"')


# -- libsvm against scikit-learn ------------------------------------------------------------------

def make_svmlight(path, seed, n=400, d=50):
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        for i in range(n):
            cols = np.sort(rng.choice(d, size=rng.integers(0, 8), replace=False))
            vals = rng.normal(size=len(cols)) * 10.0 ** rng.integers(-3, 4, size=len(cols))
            qid = f" qid:{i // 10}" if rng.random() < 0.3 else ""
            feats = " ".join(f"{c}:{float(v)!r}" if rng.random() < 0.5 else f"{c}:{v:.6g}"
                             for c, v in zip(cols, vals, strict=True))
            comment = " # note" if rng.random() < 0.1 else ""
            f.write(f"{rng.choice([0, 1, 2.5, -1])}{qid} {feats}{comment}\n")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_libsvm_equals_load_svmlight_file(tmp_path, seed):
    from sklearn.datasets import load_svmlight_file

    path = tmp_path / "d.svm"
    make_svmlight(path, seed)
    Xs, ys = load_svmlight_file(str(path), n_features=50, zero_based=True)
    chunks = list(read_libsvm(path, n_features=50, chunk_rows=37))
    X = sp.vstack([c[0] for c in chunks]).tocsr()
    y = np.concatenate([c[1] for c in chunks])
    w = np.concatenate([c[2] for c in chunks])
    np.testing.assert_array_equal(X.toarray(), Xs.toarray())
    np.testing.assert_array_equal(y, ys)
    assert (w == 1).all()


def test_libsvm_bad_lines():
    with pytest.raises(BadLineError, match="line 2: feature index 4 is outside"):
        list(read_libsvm(io.BytesIO(b"0 1:1\n1 4:1\n"), n_features=4))
    for text, reason in [(b"1:2 3:4\n", "not a label"), (b"1 3\n", "not index:value"),
                         (b"1 a:2\n", "not a non-negative integer"), (b"1 2:x\n", "not a finite")]:
        with pytest.raises(BadLineError, match=reason):
            list(read_libsvm(io.BytesIO(text), n_features=4))


# -- CSV against NumPy and Python's csv module ------------------------------------------------------

def test_numeric_csv_equals_numpy(tmp_path):
    rng = np.random.default_rng(3)
    names = [f"x{j}" for j in range(12)]
    cols = {murmurhash3_32(n) & ((1 << 20) - 1) for n in names}
    assert len(cols) == len(names)  # no collision at 20 bits
    data = rng.normal(size=(500, 12)) * 10.0 ** rng.integers(-4, 5, size=(500, 12))
    data[rng.random(data.shape) < 0.1] = 0.0
    y = rng.integers(0, 2, size=500)
    path = tmp_path / "d.csv"
    with open(path, "w") as f:
        f.write(",".join(names + ["y"]) + "\n")
        for row, label in zip(data, y, strict=True):
            f.write(",".join(repr(float(v)) for v in row) + f",{label}\n")
    ref = np.genfromtxt(path, delimiter=",", names=True)
    out = list(read_csv(path, target="y", hash_bits=20, chunk_rows=128))
    X = sp.vstack([c[0] for c in out]).tocsr()
    np.testing.assert_array_equal(np.concatenate([c[1] for c in out]), ref["y"])
    for n in names:
        col = X[:, murmurhash3_32(n) & ((1 << 20) - 1)].toarray().ravel()
        np.testing.assert_array_equal(col, ref[n])


# A number as C's strtod reads one (ASCII digits, no '_' separators, NaN
# payloads allowed), which is not quite Python's float().
_C_NUMBER = re.compile(r"[+-]?(((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)|inf(inity)?|nan(\([0-9a-z_]*\))?)",
                       re.IGNORECASE | re.ASCII)


def _csv_reference(text, target, categorical=(), bits=12):
    """Rows by Python's csv module and the documented hashing rules."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader)]
    rows = []
    for cells in reader:
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue
        feats = []
        label = None
        for name, cell in zip(header, cells, strict=True):
            cell = cell.strip()
            if name == target:
                label = cell
                continue
            if not cell:
                continue
            if name not in categorical and _C_NUMBER.fullmatch(cell):
                x = float(cell.split("(")[0])
                if x in (math.inf, -math.inf):
                    raise BadLineError("<stream>", 0, f"infinite value {cell!r}")
                if x == x and x:
                    feats.append((murmurhash3_32(name) & ((1 << bits) - 1), x))
                continue
            feats.append((murmurhash3_32(f"{name}={cell}") & ((1 << bits) - 1), 1.0))
        rows.append((label, sorted(feats)))
    return rows


cells = st.one_of(st.text(st.characters(blacklist_categories=("Cs",),
                                        blacklist_characters="\x00\r"), max_size=8),
                  st.floats(allow_infinity=False).map(repr), st.integers().map(str),
                  st.sampled_from(["", " ", "nan", "1e5", " 2.5 ", '"', 'a,b', "x\ny",
                                   "INF", "-Infinity", "1_0", "nan(7)", "\uff11", ".5E-3"]))


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=12),
       label=st.lists(st.sampled_from(["0", "1", "yes", "2.5"]), min_size=12, max_size=12))
def test_csv_equals_the_csv_module(rows, label):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["a", "b c", "zip", "label"])
    for r, lab in zip(rows, label, strict=False):
        w.writerow([*r, lab])
    text = buf.getvalue()
    fmt = DataFormat("csv", target="label", categorical=["zip"], hash_bits=12)
    try:
        ref = _csv_reference(text, "label", categorical=("zip",))
    except BadLineError:  # an infinite feature value is refused
        with pytest.raises(BadLineError, match="infinite value"):
            list(Reader(io.StringIO(text), fmt, chunk_size=5))
        return
    chunks = list(Reader(io.StringIO(text), fmt, chunk_size=5))
    got = []
    for c in chunks:
        for r in range(len(c)):
            s = slice(c.X.indptr[r], c.X.indptr[r + 1])
            got.append((c.labels[r], sorted(zip(c.X.indices[s].tolist(), c.X.data[s].tolist(),
                                                 strict=True))))
    assert got == ref


def test_csv_quotes_weights_and_errors(tmp_path):
    text = ('zip,amt,city,w,y\n02139,1.5,"Cambridge, MA",2,1\n10001,,nan,0,0\n'
            '"x""y",2,"two\nlines",1,yes\n')
    (X, y, w), = read_csv(io.BytesIO(text.encode()), target="y", weight="w",
                          categorical=["zip"], hash_bits=16)
    assert y.dtype == object and y.tolist() == ["1", "0", "yes"]
    assert w.tolist() == [2.0, 0.0, 1.0]
    m = (1 << 16) - 1
    assert X[0, murmurhash3_32("city=Cambridge, MA") & m] == 1.0
    assert X[2, murmurhash3_32('zip=x"y') & m] == 1.0
    assert X[2, murmurhash3_32("city=two\nlines") & m] == 1.0
    assert X[1].nnz == 1
    stream = read_csv(io.BytesIO(b"a,y\n1,0\n2\n3,1\ninf,0\n"), target="y",
                      skip_bad_lines=True)
    assert sum(X.shape[0] for X, _, _ in stream) == 2 and stream.bad_lines == 2
    assert stream.first_bad == (3, "1 fields, the header has 2")
    with pytest.raises(BadLineError, match="line 5: infinite value 'inf' in column 'a'"):
        list(read_csv(io.BytesIO(b"a,y\n1,0\n2,1\n3,1\ninf,0\n"), target="y"))
    with pytest.raises(BadLineError, match="quoted field is not closed"):
        list(read_csv(io.BytesIO(b'a,y\n"1,0\n'), target="y"))
    with pytest.raises(ValueError, match="no column 'w'"):
        list(read_csv(io.BytesIO(b"a,y\n1,0\n"), target="y", weight="w"))
    assert list(read_csv(io.BytesIO(b""), target="y")) == []


def test_gzip_stdin_pipe(tmp_path):
    """A gzip stream on standard input, in a real pipe (a subprocess)."""
    data = gzip.compress("".join(f"{i % 2} |f a{i} b:{i}\n" for i in range(5000)).encode())
    code = ("import sys; from streamlr.io import read_vw; "
            "print(sum(X.shape[0] for X, y, w in read_vw('-')))")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(
        os.path.abspath(_io_readers.__file__))))
    # cwd outside the checkout: `python -c` puts the working directory first
    # on sys.path, where an unbuilt source tree would shadow the package
    res = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True,
                         env=env, check=True, timeout=120, cwd=tmp_path)
    assert res.stdout.decode().strip() == "5000"


def test_interactions_deduplicated_and_sorted_as_vw():
    # observed on VW 9's --audit: of crosses equal up to order, the smallest is
    # kept; a cross with a repeated letter is sorted
    assert _io_readers.vw_interactions(["ui", "iu"]) == [b"iu"]
    assert _io_readers.vw_interactions(["uc", "ci", "cu"]) == [b"cu", b"ci"]
    assert _io_readers.vw_interactions(["uui", "ui"]) == [b"iuu", b"ui"]
    assert _io_readers.vw_interactions("ui") == [b"ui"]
