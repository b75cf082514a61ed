"""Audit: ``streamlr train --model-out`` into a directory that does not exist
(or onto a directory) is refused before the data are learned, not after the
whole run (whose model was then lost), with a message naming the path."""

import pytest

from streamlr.cli import main


def _data(tmp_path):
    path = tmp_path / "d.vw"
    path.write_text("".join(f"{1 if i % 3 else -1} |a x{i % 7}:1 y:{i % 5}\n" for i in range(200)))
    return path


@pytest.mark.parametrize("where", ["missing_dir", "a_dir"])
def test_bad_model_out_is_refused_before_training(tmp_path, capsys, where):
    data = _data(tmp_path)
    out = tmp_path / "nodir" / "m.slr" if where == "missing_dir" else tmp_path
    with pytest.raises(SystemExit) as exc:
        main(["train", str(data), "--quiet", "--model-out", str(out)])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert "finished run" not in captured.out
    assert "--model-out" in captured.err and str(out) in captured.err


def test_model_out_in_an_existing_directory_still_works(tmp_path):
    data = _data(tmp_path)
    assert main(["train", str(data), "--quiet", "--model-out", str(tmp_path / "m.slr")]) == 0
    assert (tmp_path / "m.slr").exists()
