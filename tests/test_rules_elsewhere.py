"""The failures of issue 15 ("verdicts that hold on runs nobody here wrote"), one test each,
on the case as the issue describes it: implausible FIDs, FID noise, LSGAN D dominance read
from the G loss, signed (WGAN-style) losses, healthy on too little evidence, severity at
the end of the run, and advice that fits the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gananalyze.analysis.evaluations import best_checkpoint
from gananalyze.analysis.rules import diagnose
from gananalyze.analysis.rules.conventions import loss_convention
from gananalyze.loader import load_run
from gananalyze.runio import store


def _fids(path: Path, fids: list[float], std: list[float] | None = None, every: int = 40):
    rows = pd.DataFrame(
        {"step": [i * every for i in range(len(fids))], "features": "inception", "fid": fids}
    )
    if std is not None:
        rows["fid_std"] = std
    store.append_sample_metrics(path, rows)
    return path


def _rules(d, severity_min: str = "warning") -> set[str]:
    keep = ("warning", "error") if severity_min == "warning" else ("info", "warning", "error")
    return {f.rule for f in d.findings if f.severity in keep}


def _csv(path: Path, **cols) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    n = len(next(iter(cols.values())))
    pd.DataFrame({"step": np.arange(n), **cols}).to_csv(path / "log.csv", index=False)
    return path


# ------------------------------------------------------------- 1. implausible values


def test_implausible_fids_pick_no_checkpoint_and_fire_no_jump(synthetic_run):
    """StyleGAN2-ADA run whose FIDs are -3.1e68, 8.2e51, 4.3e53 ...: flagged, never judged."""
    fids = [1.18e57, 8.2e51, 4.3e53, -3.10e68, -2.7e57, 7.9e64, 2.9e53, -1.9e50]
    p = _fids(synthetic_run("sg", steps=320), fids)
    run = load_run(p)
    d = diagnose(run)
    assert "over_training" not in {f.rule for f in d.findings}
    assert not [f for f in d.findings if "jumped" in f.title]
    reason = dict(d.skipped)["over_training"]
    assert reason == (
        "not enough data: needs fid at >= 3 evaluations (8 implausible evaluation(s) left out)"
    )
    assert best_checkpoint(run) is None
    imp = next(f for f in d.findings if f.rule == "implausible_values")
    assert "never pick a checkpoint" in imp.action


def test_one_implausible_fid_among_good_ones_is_left_out(synthetic_run):
    p = _fids(synthetic_run("sg2", steps=200), [80.0, 60.0, -3.1e68, 50.0, 45.0])
    run = load_run(p)
    assert best_checkpoint(run)["value"] == 45.0
    ot = next(f for f in diagnose(run).findings if f.rule == "over_training")
    assert ot.numbers["best_value"] == 45.0
    assert ot.message.endswith("1 implausible evaluation(s) were left out.")


# ------------------------------------------------------------- 2. noise


FIDS_2D = [2.1e-3, 1.2e-3, 9.3e-4, 1.6e-3, 1.3e-3, 1.5e-3]


def test_fid_changes_within_the_sweeps_noise_are_not_findings(synthetic_run):
    """2-D run: FID 9.3e-4 -> 1.6e-3 with a split-half noise of 4e-4: no jump, no
    over-training."""
    p = _fids(synthetic_run("n", steps=240), FIDS_2D, std=[4e-4] * len(FIDS_2D))
    d = diagnose(load_run(p))
    assert _rules(d) == set()
    ot = next(f for f in d.findings if f.rule == "over_training")
    assert ot.severity == "info"
    assert "within the evaluations' noise" in ot.message and "fid_std (split-half)" in ot.message


def test_the_same_fid_change_beyond_a_small_noise_is_a_jump(synthetic_run):
    p = _fids(synthetic_run("n2", steps=240), FIDS_2D, std=[1e-5] * len(FIDS_2D))
    d = diagnose(load_run(p))
    jump = next(f for f in d.findings if "jumped" in f.title)
    assert (jump.start_step, jump.end_step) == (80, 120)
    assert "over_training" in _rules(d)


# ------------------------------------------------------------- 4. implied D(G(z))


def _cyclegan(path: Path, d_loss: np.ndarray, g_loss: np.ndarray) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    lines = ["================ Training Loss (Mon Jan  1 00:00:00 2024) ================\n"]
    for i, (dl, gl) in enumerate(zip(d_loss, g_loss, strict=True)):
        lines.append(
            f"(epoch: {i // 10 + 1}, iters: {(i % 10 + 1) * 100}, time: 0.100, data: 0.010) "
            f"D_A: {dl:.3f} G_A: {gl:.3f} cycle_A: 1.000 idt_A: 0.500 "
            f"D_B: {dl:.3f} G_B: {gl:.3f} cycle_B: 1.000 idt_B: 0.500 \n"
        )
    (path / "loss_log.txt").write_text("".join(lines))
    return path


def test_lsgan_d_dominance_is_read_from_what_the_g_loss_implies(tmp_path):
    """CycleGAN (LSGAN): D_A, D_B 0.2 -> 0.04-0.1 late while G_A 0.43 -> 0.87."""
    rng = np.random.default_rng(0)
    n = 400
    late = np.arange(n) >= 240
    d = np.where(late, 0.07, 0.2) + rng.uniform(-0.03, 0.03, n)
    g = np.where(late, 0.87, 0.43) + rng.uniform(-0.04, 0.04, n)
    run = load_run(_cyclegan(tmp_path / "cg", d, g))
    diag = diagnose(run)
    f = next(f for f in diag.findings if f.rule == "d_overpowering")
    assert (
        f.end_step == int(run.scalars["step"].iloc[-1]) and f.severity == "error"
    )  # the format's default, still there
    assert "implied by the G loss under LSGAN (D(G(z)) - 1)^2" in f.message
    assert f.numbers["D_G_z_implied"] == pytest.approx(1 - np.sqrt(0.87), abs=0.01)
    assert diag.status == "problems"


def _combogan(path: Path, d_loss: np.ndarray, g_loss: np.ndarray) -> Path:
    """A ComboGAN loss_log.txt: one D, G and Cyc value per domain (3 domains)."""
    path.mkdir(parents=True, exist_ok=True)
    lines = ["================ Training Loss (Mon Jan  1 00:00:00 2024) ================\n"]
    for i, (dl, gl) in enumerate(zip(d_loss, g_loss, strict=True)):
        lines.append(
            f"(epoch: {i // 10 + 1}, iters: {(i % 10 + 1) * 100}, time: 0.100) "
            f"D: {dl:.3f}, {dl:.3f}, {dl:.3f} | G: {gl:.3f}, {gl:.3f}, {gl:.3f} | "
            "Cyc: 0.050, 0.050, 0.050 |\n"
        )
    (path / "loss_log.txt").write_text("".join(lines))
    return path


def test_combogan_gets_the_lsgan_default_and_a_halved_d_loss(tmp_path):
    """ComboGAN (LSGAN, D = 0.5 (real + fake)): D at 0.06-0.09 with G at 0.11-0.14 is no
    D dominance, as it would be against the BCE equilibrium 1.39."""
    rng = np.random.default_rng(3)
    n = 200
    d = np.linspace(0.09, 0.06, n) + rng.uniform(-0.01, 0.01, n)
    g = 0.125 + rng.uniform(-0.015, 0.015, n)
    run = load_run(_combogan(tmp_path / "combo", d, g))
    eq = loss_convention(run)
    assert (eq.loss, eq.source, eq.reduction, eq.d_loss) == ("lsgan", "assumed", "mean", 0.25)
    assert "no gan_mode in train_opt.txt: assumed lsgan (ComboGAN's default for this model)" in (
        eq.notes
    )
    assert "d_overpowering" not in _rules(diagnose(run))


# ------------------------------------------------------------- 6. evidence and loss type


def test_signed_losses_are_not_judged_against_the_bce_equilibrium(tmp_path):
    """CTGAN-style signed losses: the loss type is inferred, no BCE 'D overpowers'."""
    rng = np.random.default_rng(1)
    n = 300
    p = _csv(
        tmp_path / "ctgan",
        G_loss=rng.normal(0.5, 1.0, n),
        D_loss=rng.normal(-0.3, 0.4, n),
    )
    d = diagnose(load_run(p))
    assert d.context["equilibrium"]["loss"] == "wasserstein"
    assert d.context["equilibrium"]["source"] == "data"
    assert any("loss type inferred" in n for n in d.context["equilibrium"]["notes"])
    assert "d_overpowering" not in {f.rule for f in d.findings}


def test_losses_near_bce_equilibrium_with_an_unknown_loss_are_not_called_healthy(tmp_path):
    rng = np.random.default_rng(2)
    n = 300
    p = _csv(
        tmp_path / "unk",
        G_loss=0.69 + rng.normal(0, 0.02, n),
        D_loss=1.386 + rng.normal(0, 0.02, n),
    )
    d = diagnose(load_run(p))
    assert d.status == "no_problems_found"
    assert d.verdict.startswith("No problems found by the ")
    nf = next(f for f in d.findings if f.rule == "no_problems")
    assert "loss type is unknown (BCE assumed)" in nf.message


def test_the_same_losses_under_a_declared_loss_are_healthy(synthetic_run):
    d = diagnose(load_run(synthetic_run("h", steps=300, loss="bce")))
    assert any(f.rule == "healthy_equilibrium" for f in d.findings)
    assert d.status == "no_problems_found"  # healthy losses, but no samples (issue 22)
    fid = {"fid": np.linspace(80.0, 20.0, 300)}  # samples judged against the data
    d = diagnose(load_run(synthetic_run("hf", steps=300, loss="bce", extra=fid)))
    assert d.status == "healthy"


def test_assumed_convention_never_makes_an_error(tmp_path):
    n = 300
    # D loss 0.09 without a G loss: D winning under summed BCE (< 0.104), not averaged (0.052)
    p = _csv(tmp_path / "dw", D_loss=np.full(n, 0.09))
    f = next(f for f in diagnose(load_run(p)).findings if f.rule == "d_overpowering")
    assert f.severity == "warning"
    assert f.message.endswith(
        "Judged against the BCE equilibrium (loss type unknown: assumed; it depends on that "
        "convention)."
    )
    assert "no checkpoints were saved" in f.action
    assert "the G loss is already the non-saturating -log D(G(z))" in f.action


# ------------------------------------------------------------- 8. severity at the end


def test_a_d_that_still_wins_at_the_last_step_is_an_error_to_the_end(synthetic_run):
    """D(x) 0.97/D(G(z)) 0.03 early, easing to 0.92/0.07 at the end (1 of 8 modes)."""
    n = 810
    t = np.arange(n)
    dx = np.where(t < 500, 0.97, 0.92)
    dg = np.where(t < 500, 0.03, 0.07)
    p = synthetic_run("end", steps=n, d_x=dx, d_gz=dg, noise=0.005)
    f = next(f for f in diagnose(load_run(p)).findings if f.rule == "d_overpowering")
    assert (f.severity, f.end_step) == ("error", n - 1)


# ------------------------------------------------------------- damaged data (issue 12)


def _run_with_grids(path: Path, corrupt: int | None) -> Path:
    from gananalyze import RunLog

    rng = np.random.default_rng(3)
    with RunLog(path, loss="bce") as log:
        for i in range(200):
            e = 0.01 * rng.standard_normal(2)  # batch noise: a loss constant to the digit is dead
            log.scalars(i, G_loss=0.69 + e[0], D_loss=1.386 + e[1], D_x=0.5, D_G_z_before=0.5)
            if i % 40 == 0:
                log.samples(i, rng.uniform(-1, 1, (16, 1, 8, 8)), nrow=4)
    if corrupt is not None:
        pngs = sorted(path.rglob("*.png"))
        pngs[corrupt].write_bytes(pngs[corrupt].read_bytes()[:40])  # cut off
    return path


def test_damaged_lines_are_counted_under_their_file(tmp_path):
    # 3 unreadable lines of one log: "3 damaged piece(s) of data in 1 file(s)", each named by
    # its line (they were counted as 3 files)
    d = tmp_path / "cg"
    d.mkdir()
    good = "".join(
        f"(epoch: 1, iters: {i}, time: 0.1, data: 0.1) D_A: 0.3 G_A: 0.4\n" for i in range(1, 30)
    )
    (d / "loss_log.txt").write_text(good + "garbage one\ngarbage two\ngarbage three\n")
    f = next(x for x in diagnose(load_run(d)).findings if x.rule == "damaged_data")
    assert f.message.startswith(
        f"3 damaged piece(s) of data in 1 file(s) were skipped: {d / 'loss_log.txt'}: line 30: "
        "unreadable line skipped (and 2 more)."
    )


def test_a_damaged_sample_png_is_skipped_and_named_not_fatal(tmp_path):
    import json

    from click.testing import CliRunner

    from gananalyze.cli import main

    p = _run_with_grids(tmp_path / "dmg", corrupt=2)
    res = CliRunner().invoke(main, ["check", str(p), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output[res.output.index("{") :])
    dmg = [f for f in out["findings"] if f["rule"] == "damaged_data"]
    assert len(dmg) == 1 and dmg[0]["severity"] == "warning"
    assert dmg[0]["message"].startswith("1 damaged piece(s) of data in 1 file(s) were skipped: ")
    assert "unreadable sample image at step 80" in dmg[0]["message"]
    assert out["status"] == "problems"
    text = CliRunner().invoke(main, ["check", str(p)]).output
    assert "Damaged data skipped" in text and "unreadable sample image at step 80" in text


def test_damaged_lines_of_a_log_are_a_finding(tmp_path):
    rng = np.random.default_rng(4)
    n = 60
    d = 0.25 + rng.uniform(-0.02, 0.02, n)
    p = _cyclegan(tmp_path / "cut", d, 0.25 + rng.uniform(-0.02, 0.02, n))
    with (p / "loss_log.txt").open("a") as fh:
        fh.write("(epoch: 9, iters: 100, time: 0.100, data: 0.010) D_A: 0.2 G_A: 0.\x00\x00\n")
    run = load_run(p)
    assert run.damaged
    f = next(f for f in diagnose(run).findings if f.rule == "damaged_data")
    assert f.numbers["files"] == [str(p / "loss_log.txt")]  # its lines, under their file


# ------------------------------------------------------------- issue 11 messages


def test_one_premade_grid_per_image_is_named_in_the_collapse_skip_reason(tmp_path):
    from gananalyze import RunLog

    rng = np.random.default_rng(5)
    p = tmp_path / "grid"
    with RunLog(p, loss="bce") as log:
        for i in range(100):
            log.scalars(i, G_loss=0.69, D_loss=1.386)
            if i % 25 == 0:
                log.samples(i, rng.uniform(-1, 1, (1, 3, 32, 32)))
    reason = dict(diagnose(load_run(p)).skipped)["mode_collapse"]
    assert "the 4 sample image(s) hold one sample each" in reason
    assert "pass the batch (N, C, H, W) to RunLog.samples" in reason


# ------------------------------------------------------------- 3. recall / coverage


def _pr(path: Path, recall: list[float], precision: list[float], every: int = 40) -> Path:
    rows = pd.DataFrame(
        {
            "step": [i * every for i in range(len(recall))],
            "features": "raw",
            "precision": precision,
            "recall": recall,
        }
    )
    store.append_sample_metrics(path, rows)
    return path


def test_collapse_at_equilibrium_is_read_from_recall(synthetic_run):
    """8 Gaussians, 1 of 8 modes covered, D at 0.5/0.5: recall <= 0.13, precision fair."""
    p = _pr(
        synthetic_run("c8", steps=200),
        recall=[0.02, 0.10, 0.13, 0.12, 0.11],
        precision=[0.05, 0.85, 0.90, 0.92, 0.91],
    )
    d = diagnose(load_run(p))
    f = next(f for f in d.findings if f.rule == "mode_collapse")
    assert (f.severity, f.start_step, f.end_step) == ("error", 40, 160)
    assert f.title == "Mode collapse (low recall, fair precision)"
    assert f.numbers["recall"] == 0.11 and f.numbers["best_recall"] == 0.13
    assert d.status == "problems" and "healthy_equilibrium" not in {x.rule for x in d.findings}


def test_high_recall_run_is_not_a_collapse(synthetic_run):
    p = _pr(
        synthetic_run("ok8", steps=200),
        recall=[0.02, 0.60, 0.90, 0.97, 0.98],
        precision=[0.05, 0.70, 0.90, 0.95, 0.96],
    )
    d = diagnose(load_run(p))
    assert "mode_collapse" not in {f.rule for f in d.findings}


# ------------------------------------------------------------- 5. a D that stopped learning


def test_d_loss_pinned_at_a_clamp_while_g_climbs_is_a_stalled_d(tmp_path):
    """D loss pinned at 11.5 for the whole run (log(sigmoid + 1e-10)); G climbs 1.1 -> 5.2."""
    rng = np.random.default_rng(6)
    n = 400
    p = _csv(
        tmp_path / "clamp",
        G_loss=np.linspace(1.1, 5.2, n) + rng.normal(0, 0.1, n),
        D_loss=np.full(n, 11.5129),
    )
    d = diagnose(load_run(p))
    f = next(f for f in d.findings if f.rule == "d_stalled")
    assert (f.severity, f.start_step, f.end_step) == ("warning", 0, n - 1)
    assert f.message.startswith("D loss flat at 11.5 (within 0.5%) from step 0 to the end (100%")
    assert d.status == "problems"


def test_a_noisy_d_at_equilibrium_is_not_stalled(tmp_path):
    rng = np.random.default_rng(7)
    n = 400
    p = _csv(
        tmp_path / "noisy",
        G_loss=np.linspace(0.9, 1.4, n) + rng.normal(0, 0.05, n),
        D_loss=1.386 + rng.normal(0, 0.05, n),
    )
    assert "d_stalled" not in {f.rule for f in diagnose(load_run(p)).findings}


# ------------------------------------------------------------- WGAN: the critic path


def _wgan(path: Path, gap: np.ndarray, config: dict | None = None) -> Path:
    from gananalyze import RunLog

    rng = np.random.default_rng(8)
    with RunLog(path, loss="wasserstein", config=config or {}) as log:
        for i, g in enumerate(gap):
            real = rng.normal(g / 2, 0.1, 16)
            fake = rng.normal(-g / 2, 0.1, 16)
            log.discriminator(i, real, fake, critic=True)
            log.scalars(i, G_loss=g / 2 + rng.normal(0, 0.05), D_loss=-g + rng.normal(0, 0.05))
    return path


def test_runlog_critic_stores_scores_and_gap_not_probabilities(tmp_path):
    run = load_run(_wgan(tmp_path / "w", np.full(30, 4.0)))
    cols = set(run.scalars.columns)
    assert {"critic_real", "critic_fake", "critic_gap"} <= cols
    assert not cols & {"D_x", "D_G_z_before", "D_acc", "D_tp"}
    assert run.series("critic_gap").median() == pytest.approx(4.0, abs=0.1)


def test_critic_values_growing_without_bound_are_divergence(tmp_path):
    n = 300
    d = diagnose(load_run(_wgan(tmp_path / "grow", np.geomspace(1.0, 60.0, n))))
    f = next(f for f in d.findings if f.title == "Critic values grow without bound")
    assert (f.rule, f.severity, f.end_step) == ("divergence", "error", n - 1)
    assert "critic_gap" in f.message


def test_a_vanishing_critic_gap_under_clipping_is_a_warning(tmp_path):
    n = 300
    gap = np.r_[np.full(100, 5.0), np.linspace(5.0, 0.05, 100), np.full(100, 0.05)]
    d = diagnose(load_run(_wgan(tmp_path / "clip", gap, config={"clip_value": 0.01})))
    f = next(f for f in d.findings if f.rule == "wgan_critic")
    assert f.severity == "warning" and f.end_step == n - 1
    assert "weights clipped at 0.01" in f.message
    healthy = diagnose(load_run(_wgan(tmp_path / "ok", np.full(n, 5.0), {"clip_value": 0.01})))
    assert "wgan_critic" not in {x.rule for x in healthy.findings}


def test_a_critic_gap_g_never_closes_is_the_critic_winning(tmp_path):
    # the lab's WGAN-GP "D too strong" shape: the gap 2.0 -> 1.75 over the run, from losses
    # alone (no critic scores logged)
    n = 300
    rng = np.random.default_rng(11)
    gap = np.linspace(2.0, 1.75, n)
    (tmp_path / "held").mkdir()
    pd.DataFrame(
        {
            "step": np.arange(n),
            "critic_loss": -gap + rng.normal(0, 0.03, n),
            "generator_loss": np.linspace(0.28, -0.25, n) + rng.normal(0, 0.03, n),
        }
    ).to_csv(tmp_path / "held" / "metrics.csv", index=False)
    d = diagnose(load_run(tmp_path / "held"))
    (f,) = [x for x in d.findings if x.rule == "d_overpowering"]
    assert f.severity == "warning" and f.end_step == n - 1
    assert f.title == "The critic keeps G's samples apart from the data"
    assert f.numbers["held"] == pytest.approx(1.78 / 2.0, abs=0.03)
    assert "judged against its own peak" in f.message
    # the same log resumed at step 1000: it may begin after the critic's best, not judged
    (tmp_path / "resumed").mkdir()
    pd.read_csv(tmp_path / "held" / "metrics.csv").assign(step=np.arange(n) + 1000).to_csv(
        tmp_path / "resumed" / "metrics.csv", index=False
    )
    resumed = diagnose(load_run(tmp_path / "resumed"))
    assert "d_overpowering" not in {x.rule for x in resumed.findings}
    # a gap that rises while the critic learns and then closes many-fold: G learning
    close = np.r_[np.linspace(1.0, 3.0, n // 5), np.geomspace(3.0, 0.4, n - n // 5)]
    ok = diagnose(load_run(_wgan(tmp_path / "ok", close)))
    assert "d_overpowering" not in {x.rule for x in ok.findings}
    # a gap of noise around 1e-5 (a clipped critic's last printed digit) holds nothing
    noise = np.abs(rng.normal(1e-5, 1e-5, n))
    quiet = diagnose(load_run(_wgan(tmp_path / "quiet", noise)))
    assert "d_overpowering" not in {x.rule for x in quiet.findings}
    # a gap that peaked late (at 60% of the log: a WGAN-GP read soon after its critic's best,
    # as a healthy StarGAN's is at a quarter and a half of its run) holds nothing yet ...
    late = np.r_[np.linspace(0.5, 2.0, 3 * n // 5), np.linspace(2.0, 1.8, n - 3 * n // 5)]
    early = diagnose(load_run(_wgan(tmp_path / "late", late)))
    assert "d_overpowering" not in {x.rule for x in early.findings}
    # ... and the same gap that peaked at 20% and held is the critic winning
    held = np.r_[np.linspace(0.5, 2.0, n // 5), np.linspace(2.0, 1.8, n - n // 5)]
    won = diagnose(load_run(_wgan(tmp_path / "held_early", held)))
    assert "d_overpowering" in {x.rule for x in won.findings}
    # a gap negative over the run's start (the critic ranked fakes above data) is no win
    flip = np.r_[np.full(n // 5, -2.0), np.full(n - n // 5, 2.0)]
    mixed = diagnose(load_run(_wgan(tmp_path / "flip", flip)))
    assert "d_overpowering" not in {x.rule for x in mixed.findings}


# ------------------------------------------------------------- 7. wild from the first step


def test_losses_wild_from_the_first_epoch_are_seen(tmp_path):
    """CTGAN at lr 0.1: signs flip nearly every epoch, median |G| ~69, spikes to 3e4."""
    rng = np.random.default_rng(9)
    n = 300
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    g = sign * np.abs(rng.normal(69, 30, n))
    g[[3, 50, 120, 200, 260]] = [3e4, -2e4, 2.5e4, -1.5e4, 3e4]
    d = -sign * np.abs(rng.normal(20, 10, n))
    diag = diagnose(load_run(_csv(tmp_path / "wild", G_loss=g, D_loss=d)))
    f = next(f for f in diag.findings if f.title == "G loss wild throughout")
    assert (f.rule, f.severity, f.start_step, f.end_step) == ("oscillation", "warning", 0, n - 1)
    assert f.numbers["spikes"] == 5 and f.numbers["sign_flip_share"] > 0.9
    assert diag.status == "problems"


def test_a_wgan_generator_loss_swinging_across_zero_is_not_wild(tmp_path):
    rng = np.random.default_rng(10)
    n = 300
    g = rng.normal(5, 20, n)
    g[5] = 100.5  # caogang/wgan-gp: -27.6 .. +100.5 early, small mean later
    d = -np.abs(rng.normal(7, 2, n))
    diag = diagnose(load_run(_csv(tmp_path / "wg", G_loss=g, D_loss=d)))
    assert not [f for f in diag.findings if "wild" in f.title]


def test_rules_about_another_kind_of_run_are_not_listed_as_skipped(tmp_path, synthetic_run):
    """wgan_critic on a BCE run, vector_collapse without vector samples: not 'skipped' (that
    list is for missing data), kept with their reasons in context['not_this_kind']."""
    d = diagnose(load_run(synthetic_run("bce")))
    assert not {"wgan_critic", "vector_collapse"} & {r for r, _ in d.skipped}
    assert {x["rule"]: x["reason"] for x in d.context["not_this_kind"]} == {
        "vector_collapse": "not this kind of run: no vector samples (rows, sequences or points)",
        "tabular_fidelity": "not this kind of run: no vector samples (rows)",
        "d_clamped": "not this kind of run: D's loss is not pinned and its outputs are not "
        "saturated",
        "short_log_balance": "not this kind of run: not a short log (5 to min_points - 1 rows "
        "of D loss or D outputs)",
        "wgan_critic": "not this kind of run: not a WGAN run (needs critic_gap or a Wasserstein "
        "D loss)",
        "sample_quality": "not this kind of run: no recall or coverage evaluations",
        **{
            r: "not this kind of run: the generator takes no class label"
            for r in ("conditional_collapse", "class_dropping", "class_mode_collapse")
        },
    }
    # a WGAN run with too few points is skipped for lack of data, not 'another kind'
    short = diagnose(load_run(_wgan(tmp_path / "short", np.full(10, 4.0))))
    assert dict(short.skipped)["wgan_critic"] == (
        "not enough data: needs critic_gap or a Wasserstein D loss (>= 20 points)"
    )
    assert "not_this_kind" not in short.context or all(
        x["rule"] != "wgan_critic" for x in short.context["not_this_kind"]
    )


# ------------------------------------------------------------- 3. mode hopping across grids


def _hopping(path: Path, modes: list[int], spread: float = 0.004) -> Path:
    """A RunLog run at equilibrium with 16-sample grids every 50 steps: the first grid diverse
    noise (an untrained G), then each grid near-copies of one of four 8x8 patterns (a bright
    quadrant), `modes[k]` naming the pattern of grid k + 1. spread > 0.1 makes every sample
    its own noise around the pattern (a diverse grid)."""
    from gananalyze import RunLog

    rng = np.random.default_rng(5)
    protos = np.full((4, 8, 8), -0.8)
    for q, (r, c) in enumerate([(0, 0), (0, 4), (4, 0), (4, 4)]):
        protos[q, r : r + 4, c : c + 4] = 0.8
    with RunLog(path, loss="bce") as log:
        for i in range(50 * len(modes) + 1):
            log.discriminator(i, np.full(8, 0.5) + rng.normal(0, 0.01, 8), np.full(8, 0.5))
            log.scalars(i, G_loss=0.69 + rng.normal(0, 0.01), D_loss=1.39 + rng.normal(0, 0.01))
        log.samples(0, rng.uniform(-1, 1, (16, 1, 8, 8)), nrow=4)
        for k, m in enumerate(modes):
            imgs = protos[m][None, None] + rng.normal(0, spread, (16, 1, 8, 8))
            log.samples(50 * (k + 1), np.clip(imgs, -1, 1), nrow=4)
    return path


def test_near_copies_whose_content_moves_between_checkpoints_are_mode_hopping(tmp_path):
    d = diagnose(load_run(_hopping(tmp_path / "hop", [0, 1, 2, 3, 1, 2])))
    f = next(f for f in d.findings if f.title == "Mode hopping across checkpoints")
    assert (f.rule, f.severity, f.start_step, f.end_step) == ("mode_collapse", "error", 50, 300)
    assert (f.numbers["hops"], f.numbers["grid_pairs"]) == (5, 5)
    assert f.numbers["median_near_duplicates"] == 1.0
    assert f.numbers["median_shift"] == pytest.approx(0.8 * np.sqrt(0.5), abs=0.02)
    assert f.message.startswith("Samples hop between modes: 5 of 5 pairs of consecutive grids")
    assert d.status == "problems"


def test_one_mode_for_good_or_diverse_moving_grids_are_no_hopping(tmp_path):
    stuck = diagnose(load_run(_hopping(tmp_path / "stuck", [2, 2, 2, 2, 2, 2])))
    assert "Mode hopping across checkpoints" not in {f.title for f in stuck.findings}
    assert "mode_collapse" in _rules(stuck)  # near-copies: the diversity criteria see it
    diverse = diagnose(load_run(_hopping(tmp_path / "div", [0, 1, 2, 3, 1, 2], spread=0.5)))
    assert "Mode hopping across checkpoints" not in {f.title for f in diverse.findings}
    # two hops, then the same mode to the end: a warning that ends at the last hop
    once = diagnose(load_run(_hopping(tmp_path / "once", [0, 1, 2, 2, 2, 2])))
    f = next(f for f in once.findings if f.title == "Mode hopping across checkpoints")
    assert (f.severity, f.start_step, f.end_step, f.numbers["hops"]) == ("warning", 50, 150, 2)


def test_critic_scores_under_a_wasserstein_loss_are_not_impossible_probabilities(tmp_path):
    """d_real / d_fake of a WGAN-GP (scores 5-14) are no 'probability outside [0, 1]' finding
    once the signed D loss shows the loss type; under BCE the same columns are."""
    rng = np.random.default_rng(9)
    n = 100
    real, fake = 10 + rng.normal(0, 1, n), 5 + rng.normal(0, 1, n)
    wgan = diagnose(
        load_run(_csv(tmp_path / "w", D_loss=fake - real, G_loss=-fake, d_real=real, d_fake=fake))
    )
    assert wgan.context["equilibrium"]["loss"] == "wasserstein"
    assert "implausible_values" not in _rules(wgan)
    bce = diagnose(
        load_run(
            _csv(
                tmp_path / "b",
                D_loss=1.3 + rng.normal(0, 0.02, n),
                G_loss=0.7 + rng.normal(0, 0.02, n),
                d_real=real,
                d_fake=fake,
            )
        )
    )
    f = next(f for f in bce.findings if f.rule == "implausible_values")
    assert "a probability must lie in [0, 1]" in f.message


def test_a_config_naming_summed_discriminators_divides_the_losses(synthetic_run):
    # pix2pixHD-style: LSGAN losses summed over 2 scales' discriminators. D at chance on each
    # scores 0.5 (terms summed), so the logged D loss is 1.0 and G's 0.5; read against one
    # D they are 2x its equilibrium. `summed_discriminators: 2` in the config divides them
    n = 300
    rng = np.random.default_rng(0)
    dl = 1.0 + 0.02 * rng.standard_normal(n)
    gl = 0.5 + 0.02 * rng.standard_normal(n)
    cfg = {"summed_discriminators": 2}
    run = load_run(synthetic_run("k", steps=n, loss="lsgan", d_loss=dl, g_loss=gl, config=cfg))
    eq = loss_convention(run)
    assert (eq.loss, eq.d_loss, eq.summed) == ("lsgan", 0.5, 2)
    assert eq.notes[0] == (
        "D and G losses read per discriminator: the logged ones add up 2 discriminators' "
        "losses (config summed_discriminators), so they are divided by 2"
    )
    (f,) = [f for f in diagnose(run).findings if f.rule == "healthy_equilibrium"]
    assert "D loss (D_loss / 2) 0.5" in f.message
    # the same losses without the key: one D's 0.5, and the D loss reads as never at chance
    plain = load_run(synthetic_run("p", steps=n, loss="lsgan", d_loss=dl, g_loss=gl))
    assert "d_stalled" in {f.rule for f in diagnose(plain).findings}
