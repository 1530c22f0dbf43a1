"""save_run / import_run: any Run -> native run directory, read back identically."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_importers import write_stylegan, write_tb

from gananalyze.errors import GanAnalyzeError
from gananalyze.loader import import_run, load_run
from gananalyze.runio.convert import save_run


def test_tensorboard_roundtrip_keeps_scalars_images_histograms(tmp_path):
    write_tb(tmp_path / "tb")
    src = load_run(tmp_path / "tb")
    save_run(src, tmp_path / "native", part_rows=7)
    r = load_run(tmp_path / "native")
    assert (
        r.format == "native"
        and len(list((tmp_path / "native" / "scalars").glob("part-*.parquet"))) == 3
    )
    pd.testing.assert_series_equal(r.series("G_loss"), src.series("G_loss"))
    assert r.counts == src.counts
    assert [s.step for s in r.samples] == [5] and r.samples[0].read_bytes() == src.samples[0].png
    assert (
        json.loads((tmp_path / "native" / "samples" / "index.jsonl").read_text().splitlines()[0])[
            "tag"
        ]
        == "samples"
    )
    pd.testing.assert_frame_equal(
        r.histograms[src.histograms.columns].reset_index(drop=True),
        src.histograms,
        check_dtype=False,
    )
    meta = json.loads((tmp_path / "native" / "run.json").read_text())
    assert meta["source"]["format"] == "tensorboard"


def test_stylegan_import_lists_pickles_and_keeps_sample_metrics(tmp_path):
    src, out = import_run(write_stylegan(tmp_path / "sg"), tmp_path / "out")
    meta = json.loads((out / "run.json").read_text())
    (p,) = meta["source"]["pickled_checkpoints"]
    assert p["step"] == 2 and p["kimg"] == 8 and p["path"].endswith("network-snapshot-000008.pkl")
    assert not (out / "checkpoints").exists()  # pickles are never copied
    r = load_run(out)
    assert r.loss == "bce" and r.config["batch_size"] == 8
    assert r.sample_metrics["step"].tolist() == [0, 2] and r.sample_metrics["fid"].tolist() == [
        400.0,
        50.0,
    ]
    assert r.scalars["wall_time"].tolist() == src.scalars["wall_time"].tolist()


def test_logged_nan_survives_and_unlogged_stays_missing(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("step,loss,fid\n0,1.0,\n1,nan,30\n2,2.0,\n")
    save_run(load_run(f), tmp_path / "n")
    r = load_run(tmp_path / "n")
    assert r.counts == {"loss": 3, "fid": 1}
    assert r.nonfinite["step"].tolist() == [1] and np.isnan(r.nonfinite["value"].iloc[0])
    assert [(fl.metric, fl.step) for fl in r.flags] == [("loss", 1)]


def test_refuses_non_empty_destination(tmp_path):
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "x").write_text("keep me")
    (tmp_path / "t.csv").write_text("step,loss\n0,1\n")
    with pytest.raises(GanAnalyzeError, match="not empty"):
        import_run(tmp_path / "t.csv", tmp_path / "dest")
    assert (tmp_path / "dest" / "x").read_text() == "keep me"
