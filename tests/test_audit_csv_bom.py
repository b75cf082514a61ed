"""Audit: a CSV file that starts with a UTF-8 byte order mark (as spreadsheet
programs write "CSV UTF-8") has the same header as without it: the mark is
not part of the first column's name (pandas reads it so too)."""

import io

import numpy as np

from streamlr.cli import main
from streamlr.io import read_csv

DATA = b"y,a,b\n1,2,3\n0,4,5\n"


def _read(data):
    stream = read_csv(io.BytesIO(data), target="y", hash_bits=6)
    chunks = list(stream)
    return stream.columns, chunks


def test_bom_is_not_part_of_the_header():
    cols, chunks = _read(b"\xef\xbb\xbf" + DATA)
    ref_cols, ref = _read(DATA)
    assert cols == ref_cols == ["y", "a", "b"]
    (X, y, w), = chunks
    (Xr, yr, wr), = ref
    np.testing.assert_array_equal(y, yr)
    np.testing.assert_array_equal(X.toarray(), Xr.toarray())


def test_cli_trains_a_csv_with_a_bom(tmp_path, capsys):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + DATA + b"1,2,3\n0,4,5\n" * 20)
    assert main(["train", str(path), "--target", "y", "--quiet"]) == 0
