"""importers/splitfiles.py: a folder of one-metric files (d_loss.txt, g_loss.txt), one
report per line, named only by the file."""

from __future__ import annotations

import numpy as np
import pytest

from gananalyze.errors import GanAnalyzeError
from gananalyze.importers import splitfiles
from gananalyze.loader import detect_format, load_run


def _files(folder, **files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("".join(f"{ln}\n" for ln in lines))
    return folder


def test_one_file_per_loss_is_read_by_line_with_the_file_naming_the_metric(tmp_path):
    d = [f"{0.69 - 0.001 * i:.4f} {0.5 + 0.001 * i:.3f}" for i in range(30)]  # Keras: loss, acc
    g = [f"{0.70 + 0.01 * i:.4f}" for i in range(30)]
    run = load_run(_files(tmp_path / "r", **{"d_loss.txt": d, "g_loss.txt": g}))
    assert detect_format(tmp_path / "r") == "split-files" and run.format == "split-files"
    assert list(run.scalars["step"]) == list(range(30)) and run.step_unit == "row"
    assert (run.column("D_loss"), run.column("G_loss")) == ("d_loss", "g_loss")
    assert run.scalars["d_loss_col2"].iloc[-1] == pytest.approx(0.529)
    assert run.extra["files"] == ["d_loss.txt", "g_loss.txt"]


def test_a_written_nan_is_kept_a_bad_line_named_and_uneven_files_aligned(tmp_path):
    d = ["0.7", "0.6", "nan", "oops", "0.5"]
    g = ["0.7", "0.8", "0.9", "1.0", "1.1", "1.2"]
    run = load_run(_files(tmp_path / "r", **{"d_loss.txt": d, "g_loss.txt": g}))
    assert len(run.nonfinite) == 1 and int(run.nonfinite["step"].iloc[0]) == 2
    assert run.damaged == [(str(tmp_path / "r" / "d_loss.txt:4"), "not numbers, skipped")]
    assert np.isnan(run.scalars["d_loss"].iloc[5]) and run.scalars["g_loss"].iloc[5] == 1.2
    assert any("different numbers of lines (d_loss.txt 5, g_loss.txt 6)" in w for w in run.warnings)


def test_what_is_not_a_folder_of_loss_files(tmp_path):
    # one file only; files without a role in their names; text that is not numbers
    assert not splitfiles.detect(_files(tmp_path / "a", **{"d_loss.txt": ["0.7"] * 5}))
    assert not splitfiles.detect(
        _files(tmp_path / "b", **{"values.txt": ["1"] * 5, "other.txt": ["2"] * 5})
    )
    assert not splitfiles.detect(
        _files(tmp_path / "c", **{"d_loss.txt": ["loss 0.7"] * 5, "g_loss.txt": ["0.7"] * 5})
    )
    with pytest.raises(GanAnalyzeError, match="no folder of one-metric files"):
        splitfiles.load(tmp_path / "a")


def test_a_file_over_the_size_limit_is_named_not_read(tmp_path, monkeypatch):
    files = {"d_loss.txt": ["0.7"] * 50, "g_loss.txt": ["0.7"] * 5, "D_x.txt": ["0.5"]}
    folder = _files(tmp_path / "r", **files)
    monkeypatch.setattr(splitfiles, "MAX_BYTES", 100)
    run = splitfiles.load(folder)
    assert "d_loss" not in run.scalars.columns and "g_loss" in run.scalars.columns
    assert any(w.startswith(f"{folder / 'd_loss.txt'}: over ") for w in run.warnings)
