"""A conditional run's labels (runio/labels.py): the generator spec's condition, labels
logged with the samples (images: one grid row per class; vectors, sequences: in the
index) and read back, and which runs count as conditional."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gananalyze as ga
from gananalyze.errors import GanAnalyzeError
from gananalyze.runio.labels import check_labels, class_rows, condition_spec, run_classes


def test_generator_spec_condition():
    spec = ga.generator_spec("m:G", latent_shape=(4,), classes=10, label_encoding="onehot")
    assert spec["condition"] == {"classes": 10, "encoding": "onehot", "argument": 1}
    assert "condition" not in ga.generator_spec("m:G")
    assert condition_spec(3, argument="labels")["argument"] == "labels"
    for kw, msg in (
        ({"classes": 1}, "classes must be an integer from 2 to 65536, not 1"),
        ({"classes": 10, "encoding": "bits"}, "label encoding must be int or onehot, not 'bits'"),
        (
            {"classes": 10, "argument": 2},
            "label argument must be a keyword name, or 1 for G(z, y), not 2",
        ),
    ):
        with pytest.raises(GanAnalyzeError) as e:
            condition_spec(**kw)
        assert str(e.value) == msg


def test_check_labels():
    assert check_labels(np.eye(3)[[2, 0, 1]], 3, 3).tolist() == [2, 0, 1]  # one-hot rows
    assert check_labels([1.0, 2.0], 2, None).tolist() == [1, 2]
    with pytest.raises(GanAnalyzeError) as e:
        check_labels([0, 1, 2], 4, 10)
    assert str(e.value) == "samples: labels must give one class per sample (4), got shape (3,)"
    with pytest.raises(GanAnalyzeError) as e:
        check_labels([0, 10], 2, 10)
    assert str(e.value) == "samples: labels must lie in 0..9, found 0..10"
    with pytest.raises(GanAnalyzeError) as e:
        check_labels([0.5, 1], 2, 10)
    assert str(e.value) == "samples: labels must be integer class numbers, not float64"


def test_class_rows_unbalanced():
    cells, labels, ncol = class_rows(np.array([2, 0, 2, 2, 0]))
    assert ncol == 3
    assert cells.tolist() == [1, 4, -1, 0, 2, 3]
    assert labels == [0, 0, -1, 2, 2, 2]


def test_labelled_samples_round_trip(tmp_path):
    spec = ga.generator_spec("gananalyze.digits:ConditionalGenerator", classes=3)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (5, 1, 4, 4)).astype(np.float32)
    y = np.array([2, 0, 2, 2, 0])
    with ga.RunLog(tmp_path / "r", generator=spec) as log:
        log.scalars(0, G_loss=1.0)
        log.samples(0, x, labels=y)
        log.samples(1, rng.normal(size=(4, 2)), labels=[0, 1, 2, 0])
        log.samples(2, rng.normal(size=(2, 3, 2)), kind="sequences", labels=[1, 1])
        with pytest.raises(GanAnalyzeError, match=r"labels must lie in 0..2, found 0..3"):
            log.samples(3, x, labels=[0, 1, 2, 3, 0])
    line = json.loads((tmp_path / "r" / "samples" / "index.jsonl").read_text().splitlines()[0])
    assert (line["nrow"], line["ncol"], line["count"]) == (2, 3, 6)
    assert line["labels"] == [0, 0, -1, 2, 2, 2]
    run = ga.load_run(tmp_path / "r")
    assert run.classes == 3 and not run.warnings
    grid = run.samples[0]
    tiles = grid.tiles()
    assert tiles.shape == (5, 4, 4, 3) and grid.sample_labels().tolist() == [0, 0, 2, 2, 2]
    # the first tile is sample 1 (class 0), as written (8-bit grey)
    want = np.round((x[1, 0] + 1) / 2 * 255) / 255
    assert np.abs(tiles[0, :, :, 0] - want).max() < 1e-6
    assert [v.labels for v in run.vectors] == [[0, 1, 2, 0], [1, 1]]


def test_damaged_labels_are_a_warning(tmp_path):
    with ga.RunLog(tmp_path / "r") as log:
        log.scalars(0, G_loss=1.0)
        log.samples(0, np.zeros((4, 1, 4, 4)), labels=[0, 1, 0, 1])
    index = tmp_path / "r" / "samples" / "index.jsonl"
    rec = json.loads(index.read_text())
    rec["labels"] = ["a", 1]
    index.write_text(json.dumps(rec) + "\n")
    run = ga.load_run(tmp_path / "r")
    assert run.samples[0].labels is None and run.samples[0].nrow is None
    assert run.warnings == [f"{index}:1: unreadable line skipped (a field has the wrong type)"]


def test_which_runs_are_conditional():
    assert run_classes({"condition": {"classes": 7}}, {}) == 7
    assert run_classes(None, {"G_kwargs": {"c_dim": 10}}) == 10  # StyleGAN's options
    assert run_classes(None, {"cond": True}) == 0
    assert run_classes(None, {"training_set_kwargs": {"use_labels": True}}) == 0
    assert run_classes(None, {"training_set_kwargs": {"use_labels": False}, "c_dim": 0}) is None
    assert run_classes({"condition": "x"}, {}) is None  # malformed: not conditional, no crash
