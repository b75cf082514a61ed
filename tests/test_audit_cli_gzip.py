"""Audit: a truncated or corrupt gzip data file is a malformed-data error of
the command line (exit status 1, one line naming the file, no traceback),
and the readers raise an ``OSError``/``EOFError`` naming it, as Python's gzip
module does."""

import gzip

import pytest

from streamlr.cli import main
from streamlr.io import read_vw

LINES = "".join(f"{1 if i % 2 else -1} |a x{i % 50}:1 y:{i % 7}\n" for i in range(20000)).encode()


def _files(tmp_path):
    data = gzip.compress(LINES)
    trunc = tmp_path / "trunc.vw.gz"
    trunc.write_bytes(data[:len(data) // 2])
    corrupt = bytearray(data)
    for i in range(len(data) // 2, len(data) // 2 + 20):
        corrupt[i] ^= 0x5A
    bad = tmp_path / "corrupt.vw.gz"
    bad.write_bytes(bytes(corrupt))
    crc = bytearray(data)
    crc[-6] ^= 1
    badcrc = tmp_path / "crc.vw.gz"
    badcrc.write_bytes(bytes(crc))
    return {"trunc": trunc, "corrupt": bad, "crc": badcrc}


@pytest.mark.parametrize("which", ["trunc", "corrupt", "crc"])
def test_cli_reports_a_bad_gzip_file(tmp_path, capsys, which):
    path = _files(tmp_path)[which]
    assert main(["train", str(path), "--quiet", "--classes=-1,1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("streamlr train: error: ") and path.name in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("which", ["trunc", "corrupt", "crc"])
def test_reader_raises_naming_the_file(tmp_path, which):
    path = _files(tmp_path)[which]
    with pytest.raises((OSError, EOFError), match=path.name):
        for _ in read_vw(str(path), hash_bits=8):
            pass
