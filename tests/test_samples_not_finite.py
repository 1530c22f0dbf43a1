"""G's samples going NaN/Inf while the logged losses stay finite: RunLog keeps the fact
(vectors as logged, an image grid's share in its index line), the store reads it back,
the divergence rule reports it (rules/stability.py: samples_not_finite), and the collapse
checks leave those checkpoints out instead of reading NaN spreads or black tiles."""

from __future__ import annotations

import json

import numpy as np

import gananalyze as ga
from gananalyze.analysis import analyze
from gananalyze.analysis.diversity import sample_diversity
from gananalyze.loader import load_run


def _write(path, kind: str, bad_from: int | None, bad_to: int | None = None):
    rng = np.random.default_rng(0)
    with ga.RunLog(path, loss="bce") as log:
        for s in range(1000):
            log.scalars(
                s,
                G_loss=0.9 + 0.05 * rng.standard_normal(),
                D_loss=1.3 + 0.05 * rng.standard_normal(),
            )
            if s % 100:
                continue
            bad = bad_from is not None and s >= bad_from and (bad_to is None or s <= bad_to)
            if kind == "vectors":
                x = rng.standard_normal((200, 2)).astype(np.float32)
                if bad:
                    x[:100] = np.nan  # half the rows
                log.samples(s, x, kind="vectors")
            else:
                x = rng.uniform(-1, 1, (16, 1, 8, 8)).astype(np.float32)
                if bad:
                    x[:] = np.inf
                log.samples(s, x, nrow=4)
    return path


def _divergence(path):
    _, d = analyze(path)
    return [f for f in d.findings if f.rule == "divergence"], d


def test_vector_samples_going_nan_are_a_divergence_to_the_end(tmp_path):
    (f,), d = _divergence(_write(tmp_path / "r", "vectors", 600))
    assert d.status == "problems" and f.severity == "error"
    assert f.title == "G's samples are not finite (NaN/Inf)"
    assert f.message == (
        "G's fixed-noise samples hold NaN/Inf values at 4 of 10 checkpoints, from step 600 "
        "(50% of the values) to the last, step 900 (50%)."
    )
    assert (f.start_step, f.end_step) == (600, 900)
    # the collapse check reads only the finite checkpoints: no "spread nan"
    assert "nan" not in " ".join(x.message for x in d.findings)


def test_a_stretch_that_recovers_is_a_warning(tmp_path):
    (f,), _ = _divergence(_write(tmp_path / "r", "vectors", 300, 400))
    assert f.severity == "warning"
    assert f.message.endswith("; the last checkpoint's (step 900) are finite again.")
    assert f.numbers["checkpoints_nonfinite"] == 2


def test_image_grids_record_their_share_and_are_left_out_of_diversity(tmp_path):
    path = _write(tmp_path / "r", "images", 800)
    lines = [json.loads(x) for x in (path / "samples" / "index.jsonl").read_text().splitlines()]
    assert [x.get("nonfinite", 0) for x in lines] == [0] * 8 + [1.0, 1.0]
    run = load_run(path)
    assert [g.nonfinite for g in run.samples][-3:] == [0.0, 1.0, 1.0]
    assert sample_diversity(run)["step"].tolist() == list(range(0, 800, 100))
    (f,), _ = _divergence(path)
    assert f.severity == "error" and f.start_step == 800
    assert "at 2 of 10 checkpoints, from step 800 (100% of the values)" in f.message


def test_finite_samples_raise_nothing(tmp_path):
    assert _divergence(_write(tmp_path / "r", "vectors", None))[0] == []


def test_a_hand_written_share_that_is_not_a_number_is_a_damaged_line(tmp_path):
    path = _write(tmp_path / "r", "images", None)
    idx = path / "samples" / "index.jsonl"
    lines = idx.read_text().splitlines()
    rec = json.loads(lines[0])
    rec["nonfinite"] = "lots"
    idx.write_text("\n".join([json.dumps(rec), *lines[1:]]) + "\n")
    run = load_run(path)
    assert all(g.nonfinite == 0.0 for g in run.samples)
    assert any("index.jsonl" in w for w in run.warnings), run.warnings
