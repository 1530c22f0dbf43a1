"""analysis/report_evidence.py: the report model is computed once, in analysis; pages draw it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SAMPLE_RUNS

from gananalyze.analysis import comparison, diversity, report_evidence
from gananalyze.loader import load_run
from gananalyze.pages.report import build_report_html


def test_diversity_is_computed_once_and_is_the_rules_series(monkeypatch):
    calls = []
    real = diversity.sample_diversity

    def counted(run, *a, **k):
        calls.append(run.name)
        return real(run, *a, **k)

    monkeypatch.setattr(diversity, "sample_diversity", counted)
    run = load_run(SAMPLE_RUNS / "mode-collapse")
    ev = report_evidence.gather(run, tsne=False)
    assert calls == ["mode-collapse"]  # the mode-collapse rule's, reused by the report
    assert ev.diversity["step"].tolist() == ev.diagnosis.evidence["diversity"]["step"].tolist()
    assert ev.real_diversity == pytest.approx(0.377, abs=5e-4)
    html = build_report_html(ev)
    assert len(calls) == 1 and "chart-diversity" in html
    assert ev.recommendation is ev.diagnosis.recommendation
    assert ev.best["step"] == 1750 and ev.tsne is None and ev.vectors is None


def test_end_levels_are_the_mean_of_the_last_tenth():
    run = load_run(SAMPLE_RUNS / "healthy")
    ev = report_evidence.gather(run, tsne=False)
    g = run.scalars[run.column("G_loss")].dropna().to_numpy()
    g = g[np.isfinite(g)]
    assert ev.end_levels["G_loss"] == pytest.approx(float(np.mean(g[-(len(g) // 10) :])))
    assert set(ev.end_levels) == {"G_loss", "D_loss", "D_x", "D_G_z_before"}


def test_compare_best_points_are_the_table_best():
    runs = [load_run(SAMPLE_RUNS / n) for n in ("healthy", "mode-collapse")]
    comp = comparison.compare_runs(runs, "fid")
    for rec in comparison.plain_records(comp.table):
        assert comp.best_points[rec["run"]] == (rec["fid_best"], rec["fid_best_step"])


def test_a_run_that_went_nan_shows_no_level_from_before(tmp_path):
    # finite for 2 steps, then NaN to the end: its last tenth holds no finite value
    from gananalyze import RunLog

    with RunLog(tmp_path / "r", loss="bce") as log:
        for s in range(100):
            g = 3.3 if s < 2 else float("nan")
            log.scalars(s, G_loss=g, D_loss=1.4 if s < 2 else float("nan"))
    run = load_run(tmp_path / "r")
    levels = report_evidence._end_levels(run)
    assert np.isnan(levels["G_loss"]) and np.isnan(levels["D_loss"])
    assert "NaN/Inf only" in build_report_html(run)


def test_a_report_whose_vector_samples_are_all_unreadable(tmp_path):
    # an object-dtype .npy (a pickle) as the only vector samples: the report stopped with
    # IndexError; now it is written, the file named in the warnings
    from gananalyze import RunLog

    r = tmp_path / "r"
    with RunLog(r, loss="bce") as log:
        for s in range(3):
            log.scalars(s, G_loss=1.0, D_loss=1.0)
    (r / "samples").mkdir(exist_ok=True)
    np.save(r / "samples" / "step-000000002.npy", np.array([{"a": 1}], dtype=object))
    (r / "samples" / "vectors.jsonl").write_text(
        '{"step": 2, "file": "step-000000002.npy", "kind": "rows"}\n'
    )
    run = load_run(r)
    ev = report_evidence.gather(run, tsne=False)
    assert ev.vectors is None
    npy = r / "samples" / "step-000000002.npy"
    assert f"{npy}: .npy array of Python objects (loading it unpickles); not read" in run.warnings


def test_losses_read_through_a_trainers_layout_are_drawn_as_the_rules_read_them(tmp_path):
    # a CycleGAN log has no G/D loss role (D_A, G_A, D_B, G_B); pix2pix's D loss is the sum
    # of its D_real and D_fake terms: the report drew neither under "Losses"
    steps = np.arange(0, 400, 10)
    cg = tmp_path / "cg"
    cg.mkdir()
    rows = [f"{s},{0.2 + s / 4000:.4f},{0.5:.4f},{0.21:.4f},{0.6:.4f}" for s in steps]
    (cg / "losses.csv").write_text("step,D_A,G_A,D_B,G_B\n" + "\n".join(rows) + "\n")
    ev = report_evidence.gather(load_run(cg), tsne=False)
    assert [(g.tag, g.canon, g.name) for g in ev.gan_losses] == [
        ("A", "G_loss", "G_A"),
        ("A", "D_loss", "D_A"),
        ("B", "G_loss", "G_B"),
        ("B", "D_loss", "D_B"),
    ]
    assert ev.gan_losses[1].series.iloc[-1] == pytest.approx(0.2 + 390 / 4000)
    html = build_report_html(ev)
    # the charts' titles, as the page's JSON spec holds them
    assert "GAN A: D loss  \\u00b7  column D_A" in html
    assert "GAN B: G loss  \\u00b7  column G_B" in html
    p2p = tmp_path / "p2p"
    p2p.mkdir()
    rows = [f"{s},0.9,12.0,0.35,0.3" for s in steps]
    (p2p / "losses.csv").write_text("step,G_GAN,G_L1,D_real,D_fake\n" + "\n".join(rows) + "\n")
    ev = report_evidence.gather(load_run(p2p), tsne=False)
    (d,) = ev.gan_losses  # G's loss has its own role (G_GAN), drawn as before
    assert (d.canon, d.name, d.columns) == ("D_loss", "D_real+D_fake", ["D_real", "D_fake"])
    assert d.series.iloc[0] == pytest.approx(0.65)
    assert d.equilibrium == pytest.approx(2 * np.log(2), rel=1e-3)  # pix2pix: summed terms
    assert d.loss == "bce"
    assert "D loss  \\u00b7  columns D_real+D_fake" in build_report_html(ev)
