"""Rule checks: synthetic runs built to trigger each rule (and healthy ones built not to)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_RUNS, real_run

from gananalyze import RunLog
from gananalyze.analysis.findings import Diagnosis
from gananalyze.analysis.rules import (
    DEFAULT_THRESHOLDS,
    ORDER,
    REGISTRY,
    Rule,
    diagnose,
    equilibrium,
    load_thresholds,
    rule,
    rules_in_order,
)
from gananalyze.errors import GanAnalyzeError
from gananalyze.loader import load_run
from gananalyze.pages.text import check_text
from gananalyze.run import Flag, Run
from gananalyze.runio import store


def problems(d: Diagnosis) -> list:
    return [f for f in d.findings if f.severity != "info"]


def only(d: Diagnosis, rule: str):
    found = [f for f in d.findings if f.rule == rule]
    assert len(found) == 1, [(f.rule, f.severity, f.message) for f in d.findings]
    return found[0]


def step_fn(n: int, at: int, before: float, after: float) -> np.ndarray:
    return np.r_[np.full(at, before), np.full(n - at, after)]


# ---------------------------------------------------------------- healthy runs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_healthy_synthetic_runs_raise_nothing(synthetic_run, seed):
    rng = np.random.default_rng(seed)
    n = 600
    extra = {
        "G_grad_norm": np.abs(1 + rng.normal(0, 0.2, n)),
        "D_grad_norm": np.abs(2 + rng.normal(0, 0.3, n)),
    }
    d = diagnose(load_run(synthetic_run(f"h{seed}", steps=n, seed=seed, noise=0.05, extra=extra)))
    assert problems(d) == []
    h = only(d, "healthy_equilibrium")
    assert h.severity == "info" and h.numbers["D_x"] == pytest.approx(0.5, abs=0.05)
    assert h.end_step == n - 1
    # balanced losses without samples: "no problems found", not "healthy" (issue 22)
    assert d.status == "no_problems_found"
    assert d.verdict.startswith("No problems found, D(x) 0.")
    assert d.verdict.endswith(
        "near equilibrium at the end; not called healthy: no samples or sample metrics were "
        "logged, so mode collapse cannot be ruled out (balanced losses do not show it)."
    )
    assert d.worst() == "info"


def test_healthy_with_d_slightly_ahead_is_still_healthy(synthetic_run):
    # a realistic healthy BCE run: D(x) ~0.68, D(G(z)) ~0.32 (like the StyleGAN2-ADA run)
    d = diagnose(load_run(synthetic_run("h", steps=400, d_x=0.68, d_gz=0.32, noise=0.05)))
    assert problems(d) == []
    assert only(d, "healthy_equilibrium").numbers["D_G_z"] == pytest.approx(0.32, abs=0.05)


def test_no_d_outputs_no_equilibrium_says_no_problems(tmp_path):
    with RunLog(tmp_path / "r", loss="wasserstein") as log:
        for i in range(100):
            # the critic's gap closing many-fold as G learns (a gap that holds is the critic
            # winning: test_rules_elsewhere)
            log.scalars(
                i,
                G_loss=-1.0 + 0.01 * math.sin(i),
                D_loss=-0.5 * math.exp(-i / 20) + 0.01 * math.cos(i),
            )
    d = diagnose(load_run(tmp_path / "r"))
    assert [f.rule for f in d.findings] == ["no_problems"]
    assert d.verdict.startswith("No problems found by the 5 checks that could run")
    assert dict(d.skipped)["g_overpowering"].startswith("not applicable: a wasserstein critic")
    assert dict(d.skipped)["healthy_equilibrium"].startswith("not applicable")
    assert dict(d.skipped)["d_overpowering"].startswith("not applicable: a wasserstein loss")


# ---------------------------------------------------------------- d_overpowering


def test_d_overpowering_sustained_to_the_end_is_an_error(synthetic_run):
    n = 200
    gnorm = step_fn(n, 100, 1.0, 1e-4)
    p = synthetic_run(
        "dover",
        steps=n,
        d_x=step_fn(n, 100, 0.5, 0.99),
        d_gz=step_fn(n, 100, 0.5, 0.01),
        noise=0.005,
        extra={"G_grad_norm": gnorm},
    )
    d = diagnose(load_run(p))
    f = only(d, "d_overpowering")
    assert (f.severity, f.start_step, f.end_step) == ("error", 100, 199)
    assert f.numbers["D_x"] > 0.98 and f.numbers["D_G_z"] < 0.02
    assert f.numbers["G_loss_during"] > 4 > f.numbers["G_loss_before"]
    assert f.numbers["G_grad_shrink"] == pytest.approx(1e4, rel=0.01)
    assert "D_x" in f.metrics and "G_grad_norm" in f.metrics
    v = only(d, "vanishing_gradients")
    assert (v.severity, v.start_step, v.end_step) == ("warning", 100, 199)
    assert d.verdict.startswith("Discriminator overpowers the generator from step 100 (error)")
    assert not any(f.rule == "healthy_equilibrium" for f in d.findings)


def test_d_overpowering_that_recovers_is_a_warning(synthetic_run):
    n = 300
    dx = np.r_[np.full(100, 0.5), np.full(100, 0.99), np.full(100, 0.5)]
    dg = np.r_[np.full(100, 0.5), np.full(100, 0.01), np.full(100, 0.5)]
    f = only(
        diagnose(load_run(synthetic_run("r", steps=n, d_x=dx, d_gz=dg, noise=0.005))),
        "d_overpowering",
    )
    assert (f.severity, f.start_step, f.end_step) == ("warning", 100, 199)


def test_short_d_win_is_not_sustained(synthetic_run):
    n = 400
    dx = np.full(n, 0.5)
    dg = np.full(n, 0.5)
    dx[200:215], dg[200:215] = 0.99, 0.01  # 15 steps = 4% of the run (< sustain_fraction 10%)
    d = diagnose(load_run(synthetic_run("s", steps=n, d_x=dx, d_gz=dg, noise=0.005)))
    assert not any(f.rule == "d_overpowering" for f in d.findings)


def test_d_overpowering_from_d_loss_only(tmp_path):
    with RunLog(tmp_path / "r", loss="bce", config={"d_loss_reduction": "mean"}) as log:
        for i in range(200):
            log.scalars(i, D_loss=0.69 if i < 80 else 0.01, G_loss=0.69 if i < 80 else 6.0)
    d = diagnose(load_run(tmp_path / "r"))
    f = only(d, "d_overpowering")
    assert (f.severity, f.start_step, f.end_step) == ("error", 80, 199)
    assert "equilibrium 0.693" in f.message  # averaged BCE: ln 2


# ---------------------------------------------------------------- g_overpowering


def test_g_overpowering(synthetic_run):
    n = 200
    f = only(
        diagnose(load_run(synthetic_run("g", steps=n, d_gz=step_fn(n, 120, 0.5, 0.8)))),
        "g_overpowering",
    )
    assert (f.severity, f.start_step, f.end_step) == ("warning", 120, 199)
    assert f.numbers["D_G_z"] == pytest.approx(0.8, abs=0.02)
    assert f.numbers["D_loss_during"] > f.numbers["D_loss_early"]


# ---------------------------------------------------------------- divergence / gradients


def test_nan_losses_are_divergence(synthetic_run):
    n = 200
    gl = np.r_[np.full(150, 0.7), np.full(50, np.nan)]
    gl[170] = np.inf
    d = diagnose(load_run(synthetic_run("nan", steps=n, g_loss=gl)))
    f = only(d, "divergence")
    assert (f.severity, f.start_step, f.end_step) == ("error", 150, 199)
    assert f.numbers["per_metric"] == {"G_loss": 50}
    assert d.verdict.startswith("Training diverged from step 150 (error)")
    assert not any(
        f.rule == "implausible_values" for f in d.findings
    )  # the loader's NaN flags are divergence's


def test_gradient_explosion(synthetic_run):
    n = 200
    g = np.r_[np.full(140, 1.0), np.geomspace(10, 1e5, 60)]
    f = only(
        diagnose(load_run(synthetic_run("x", steps=n, extra={"D_grad_norm": g}))), "divergence"
    )
    assert f.severity == "error" and f.end_step == 199
    assert 140 <= f.start_step <= 160
    assert f.metrics == ["D_grad_norm"]


def test_gradient_norms_that_merely_shrink_10x_are_fine(synthetic_run):
    n = 300
    g = np.geomspace(1.0, 0.1, n)
    d = diagnose(load_run(synthetic_run("ok", steps=n, extra={"G_grad_norm": g, "D_grad_norm": g})))
    assert problems(d) == []


def test_vanishing_gradients(synthetic_run):
    n = 200
    f = only(
        diagnose(
            load_run(synthetic_run("v", steps=n, extra={"D_grad_norm": step_fn(n, 60, 1.0, 1e-5)}))
        ),
        "vanishing_gradients",
    )
    assert (f.severity, f.start_step, f.end_step) == ("warning", 60, 199)
    assert f.title == "D's gradients vanished"


# ---------------------------------------------------------------- oscillation


def test_oscillation(synthetic_run):
    n = 200
    g = 0.69 + np.r_[np.zeros(120), 1.5 * np.sin(np.arange(80) * 2.5)]
    f = only(diagnose(load_run(synthetic_run("o", steps=n, g_loss=g))), "oscillation")
    assert (f.severity, f.start_step, f.end_step) == ("warning", 120, 199)
    assert f.numbers["ratio"] > 20
    assert f.metrics == ["G_loss"]


def test_swings_from_the_start_that_die_away_are_settling_not_oscillation(synthetic_run):
    # a damped swing from the warm-up's end (the zoo's converging critic run): not flagged;
    # the same swing starting after a calm stretch, or never dying away, still is
    n = 200
    t = np.arange(n)
    damped = 0.69 + 1.5 * np.sin(t * 2.5) * np.where(t < 50, 1.0, 0.0)
    d = diagnose(load_run(synthetic_run("s", steps=n, g_loss=damped)))
    assert not any(f.rule == "oscillation" for f in d.findings)
    late = 0.69 + 1.5 * np.sin(t * 2.5) * np.where((t >= 60) & (t < 110), 1.0, 0.0)
    f = only(diagnose(load_run(synthetic_run("l", steps=n, g_loss=late))), "oscillation")
    assert (f.start_step, f.end_step) == (60, 109)
    kept = 0.69 + 1.5 * np.sin(t * 2.5)
    d = diagnose(load_run(synthetic_run("k", steps=n, g_loss=kept)))
    assert not any(f.rule == "oscillation" for f in d.findings)  # swinging throughout: its usual


def test_a_g_loss_drop_out_of_the_warm_up_is_not_a_collapse_signal(synthetic_run):
    # 2,000 rows in 200 bins of 10; the first 5% (10 bins, steps 0-99) are warm-up. A G loss
    # dropping 1.5 -> 1.0 from the warm-up's last bin to the next, D(G(z)) swinging in both
    # bins, is the run settling in (the lab's healthy table run 0260, logged 1 row in 4, was
    # "possible mode collapse" at step 80); the same drop in mid-run still fires
    n = 2000
    rng = np.random.default_rng(1)

    def run(name, at):
        g = np.where(np.arange(n) < at, 1.5, 1.0)
        dgz = np.full(n, 0.35)
        dgz[at - 10 : at + 10] += rng.normal(0, 0.15, 20)
        return diagnose(load_run(synthetic_run(name, steps=n, g_loss=g, d_gz=dgz, noise=0.01)))

    assert not any(f.rule == "mode_collapse" for f in run("warm", 100).findings)
    f = only(run("mid", 1000), "mode_collapse")
    assert (f.title, f.start_step) == (
        "Possible mode collapse (G loss drops while D(G(z)) oscillates)",
        1000,
    )


def test_tiny_swings_of_a_vanished_loss_are_not_oscillation(tmp_path):
    rng = np.random.default_rng(0)
    with RunLog(tmp_path / "r", loss="bce") as log:
        for i in range(300):
            amp = 1e-9 if i < 150 else 1e-6  # 1000x more "dispersion", but around a loss of ~0
            log.scalars(i, D_loss=1e-8 + amp * rng.random(), G_loss=0.69 + rng.normal(0, 0.02))
    d = diagnose(load_run(tmp_path / "r"))
    assert not any(f.rule == "oscillation" for f in d.findings)


def test_two_lone_bumps_are_not_oscillation(synthetic_run):
    # a Keras fit() log of epoch means: the G loss steps up for one epoch and back, twice,
    # twelve epochs apart (bins of 5: two bumped bins with a quiet one between). Three
    # bumped bins in a row still are an oscillation
    n = 100
    rng = np.random.default_rng(3)

    def run(name, at):
        g = 2.0 + rng.normal(0, 0.01, n)
        g[at] += 0.5
        return diagnose(load_run(synthetic_run(name, steps=n, g_loss=g, noise=0.0)))

    assert not any(f.rule == "oscillation" for f in run("two", [76, 88]).findings)
    f = only(run("three", [72, 77, 82]), "oscillation")
    assert (f.start_step, f.end_step) == (70, 84)


def test_slow_trend_is_not_oscillation(synthetic_run):
    n = 400
    g = np.linspace(0.7, 3.0, n)  # a trend, not a swing: point-to-point noise stays the same
    d = diagnose(load_run(synthetic_run("t", steps=n, g_loss=g, noise=0.03)))
    assert not any(f.rule == "oscillation" for f in d.findings)


# ---------------------------------------------------------------- mode collapse


def _grid_run(
    path: Path,
    collapse_at: int | None,
    steps: int = 200,
    every: int = 20,
    config: dict | None = None,
    seed: int = 0,
) -> Path:
    rng = np.random.default_rng(seed)
    base = rng.uniform(-1, 1, (16, 1, 8, 8))
    one = rng.uniform(-1, 1, (1, 1, 8, 8))
    with RunLog(path, loss="bce", config=config or {}) as log:
        for i in range(steps):
            log.scalars(i, G_loss=0.69 + rng.normal(0, 0.02), D_loss=1.386 + rng.normal(0, 0.02))
            if i % every == 0 or i == steps - 1:
                if collapse_at is not None and i >= collapse_at:
                    imgs = np.repeat(one, 16, axis=0) + rng.normal(0, 0.01, (16, 1, 8, 8))
                else:
                    imgs = np.clip(base + rng.normal(0, 0.2, base.shape), -1, 1)
                log.samples(i, imgs, nrow=4)
    return path


def test_mode_collapse_from_samples(tmp_path):
    d = diagnose(load_run(_grid_run(tmp_path / "mc", collapse_at=120)))
    f = only(d, "mode_collapse")
    assert (f.severity, f.start_step, f.end_step) == ("error", 120, 199)
    assert f.numbers["diversity_last"] < 0.1 * f.numbers["earlier_peak"]
    assert f.numbers["near_duplicate_pairs_last"] > 0.9
    assert "real_diversity" not in f.numbers
    assert d.verdict.startswith("Mode collapse")


def test_diverse_samples_are_not_collapse(tmp_path):
    d = diagnose(load_run(_grid_run(tmp_path / "ok", collapse_at=None)))
    assert not any(f.rule == "mode_collapse" for f in d.findings)
    assert problems(d) == []


def test_mode_collapse_against_real_digits(tmp_path):
    # digits config -> real diversity from sklearn's digits is the reference
    d = diagnose(
        load_run(_grid_run(tmp_path / "mc", collapse_at=100, config={"dataset": "sklearn-digits"}))
    )
    f = only(d, "mode_collapse")
    assert f.start_step == 100
    assert 0.2 < f.numbers["real_diversity"] < 0.6
    assert f.numbers["diversity_last"] < 0.5 * f.numbers["real_diversity"]


def _amp_grid_run(
    path: Path, amps: list[float], dup_last: int = 0, config: dict | None = None
) -> Path:
    """One 16-sample grid per 20 steps; grid k has samples amps[k] *
    U(-1, 1) (diversity ~0.41 * amp).
    """
    rng = np.random.default_rng(0)
    with RunLog(path, loss="bce", config=config or {}) as log:
        for i in range(20 * len(amps)):
            log.scalars(i, G_loss=0.69 + rng.normal(0, 0.02), D_loss=1.386 + rng.normal(0, 0.02))
            if i % 20 == 0:
                imgs = amps[i // 20] * rng.uniform(-1, 1, (16, 1, 8, 8))
                if dup_last and i // 20 == len(amps) - 1:
                    imgs[:dup_last] = imgs[0]
                log.samples(i, imgs, nrow=4)
    return path


def test_generator_still_learning_is_not_collapse_even_below_real_data(tmp_path):
    # diversity rises 0.04 -> 0.16 (< half of the digits' 0.38) and is still rising: G is learning
    d = diagnose(
        load_run(
            _amp_grid_run(
                tmp_path / "r", [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4], config={"dataset": "digits"}
            )
        )
    )
    assert not any(f.rule == "mode_collapse" for f in d.findings)


def test_run_ending_far_below_real_data_is_collapse(tmp_path):
    # peaks, then settles at a third of real data's diversity (no single 50% fall)
    d = diagnose(
        load_run(
            _amp_grid_run(
                tmp_path / "r",
                [0.1, 0.3, 0.6, 0.55, 0.35, 0.3, 0.3, 0.3],
                config={"dataset": "digits"},
            )
        )
    )
    f = only(d, "mode_collapse")
    assert f.severity == "error" and f.numbers["criteria"] == ["far_below_real_data"]
    assert (
        f.start_step == 80 and f.end_step == 140
    )  # the final stretch below half of real data's diversity
    assert f.title == "Mode collapse (samples far less diverse than the real data)"


def test_near_duplicate_samples_are_collapse(tmp_path):
    # 8 of 16 samples identical: 28 of 120 pairs (23%) ... 10 identical: 45/120 = 38% >= 25%
    d = diagnose(load_run(_amp_grid_run(tmp_path / "r", [1.0] * 6, dup_last=10)))
    f = only(d, "mode_collapse")
    assert f.numbers["criteria"] == ["near_duplicates"]
    assert (f.severity, f.start_step, f.end_step) == ("error", 100, 100)
    assert f.numbers["near_duplicate_pairs_last"] == pytest.approx(45 / 120)


def test_mode_collapse_from_metrics(synthetic_run):
    n = 400
    rng = np.random.default_rng(5)
    g = np.full(n, 2.0)
    g[250:] = 0.3  # a sharp drop of G's loss ...
    dgz = np.full(n, 0.4)
    dgz[240:] = (
        0.4 + 0.35 * np.sign(np.sin(np.arange(160) * 1.7)) + rng.normal(0, 0.01, 160)
    )  # ... while D(G(z)) swings
    d = diagnose(load_run(synthetic_run("mcm", steps=n, g_loss=g, d_gz=dgz, d_x=0.6, noise=0.01)))
    found = [f for f in d.findings if f.rule == "mode_collapse"]
    assert len(found) == 1
    f = found[0]
    assert f.severity == "info" and f.start_step == 250  # a hint: the lab never confirmed it
    assert f.numbers["dgz_dispersion_ratio"] > 3


def _with_fid(path: Path, fids: list[float], every: int = 40) -> Path:
    rows = pd.DataFrame(
        {"step": [i * every for i in range(len(fids))], "features": "inception", "fid": fids}
    )
    store.append_sample_metrics(path, rows)
    return path


def test_fid_jump_is_collapse_and_over_training(synthetic_run):
    p = _with_fid(synthetic_run("fj", steps=200), [300.0, 60.0, 40.0, 95.0, 100.0])
    d = diagnose(load_run(p))
    mc = only(d, "mode_collapse")
    assert (mc.severity, mc.start_step, mc.end_step) == ("warning", 80, 120)
    assert mc.numbers["ratio"] == pytest.approx(95 / 40)
    ot = only(d, "over_training")
    assert (ot.severity, ot.start_step, ot.end_step) == ("warning", 80, 160)
    assert ot.numbers["best_step"] == 80 and ot.numbers["last_worse_by"] == pytest.approx(1.5)


# ---------------------------------------------------------------- over_training


def test_over_training_names_checkpoint_and_stop_step(synthetic_run):
    p = synthetic_run("ot", steps=200)
    _with_fid(p, [250.0, 80.0, 50.0, 45.0, 52.0, 58.0])  # best at step 120, last 29% worse
    (p / store.CKPT_DIR).mkdir(exist_ok=True)
    (p / store.CKPT_DIR / "step-000000120.pt").write_bytes(b"")
    d = diagnose(load_run(p))
    f = only(d, "over_training")
    assert (f.severity, f.start_step, f.end_step) == ("warning", 120, 200)
    assert f.numbers["checkpoint"] == "step-000000120.pt"
    assert f.action == "Stop training earlier, or early-stop on FID: later checkpoints got worse."
    assert d.recommendation.text == (
        "Keep checkpoint step-000000120.pt (step 120, FID 45); stop training there: FID got no "
        "better after it."
    )
    assert f.numbers["last_worse_by"] == pytest.approx(58 / 45 - 1)
    # 6 evaluations, no fid_std: no noise estimate, and the message says the margin alone
    # decided instead of "noise +-0"
    assert f.message == (
        "Best FID 45 at step 120; 2 of the 2 later evaluation(s) are worse by more than the "
        "margin, the last (58 at step 200) by 29% (margin 5%; no noise estimate: under 10 "
        "evaluations for the run's own scatter and no split-half std logged)."
    )


def test_small_late_rise_is_not_over_training(synthetic_run):
    p = _with_fid(synthetic_run("ok", steps=200), [250.0, 80.0, 45.0, 46.0])  # +2.2% < 5% margin
    d = diagnose(load_run(p))
    f = only(d, "over_training")
    assert f.severity == "info" and f.start_step == 80
    assert problems(d) == []


def test_one_worse_last_evaluation_is_noise_not_over_training(synthetic_run):
    # the healthy sample run's shape: best at the second-to-last checkpoint, the last 10% worse
    p = _with_fid(synthetic_run("noisy", steps=200), [900.0, 400.0, 250.0, 198.0, 218.0])
    d = diagnose(load_run(p))
    f = only(d, "over_training")
    assert (f.severity, f.start_step, f.numbers["later_worse"]) == ("info", 120, 1)
    assert "fewer than the 2 that would show a trend" in f.message
    assert problems(d) == []


def test_higher_is_better_metric_selected(synthetic_run):
    p = synthetic_run("pr", steps=200)
    store.append_sample_metrics(
        p,
        pd.DataFrame(
            {"step": [0, 50, 100, 150], "features": "vgg16", "recall": [0.1, 0.6, 0.4, 0.3]}
        ),
    )
    f = only(diagnose(load_run(p), select_metric="recall"), "over_training")
    assert (f.severity, f.start_step, f.numbers["best_value"]) == ("warning", 50, 0.6)


# ---------------------------------------------------------------- implausible values / skipping


def test_implausible_values_from_loader_flags(synthetic_run):
    run = load_run(synthetic_run("f", steps=100))
    run.flags = [
        Flag("metrics.csv", "fid", 40, -3.0, "FID cannot be negative"),
        Flag("metrics.csv", "D_x", 70, 1.5, "a probability above 1"),
    ]
    f = only(diagnose(run), "implausible_values")
    assert (f.severity, f.start_step, f.end_step) == ("warning", 40, 70)
    assert f.numbers["count"] == 2 and "FID cannot be negative" in f.message


def test_empty_run_gets_no_verdict_not_healthy(tmp_path):
    with RunLog(tmp_path / "e", loss="bce"):
        pass
    d = diagnose(load_run(tmp_path / "e"))
    assert [f.rule for f in d.findings] == ["no_data"]
    assert d.verdict == "No verdict: the run has no logged metrics."


def test_too_few_loss_points_asks_to_log_more_often(tmp_path):
    with RunLog(tmp_path / "r", loss="bce") as log:
        for i in range(3):
            log.scalars(i, G_loss=6.0 + i, D_loss=0.01)
    d = diagnose(load_run(tmp_path / "r"))
    (f,) = d.findings
    assert f.rule == "no_data"
    assert f.action == (
        "Log more often: the losses were logged at 3 point(s); the trend rules need 20, and a "
        "shorter log is judged from 5 rows when every row agrees."
    )


def test_a_metric_logged_too_few_times_says_how_many(tmp_path):
    with RunLog(tmp_path / "r", loss="bce") as log:
        for i in range(16):
            log.scalars(i, D_x=0.97, D_G_z_before=0.03, D_loss=0.2, G_loss=4.0)
    skipped = dict(diagnose(load_run(tmp_path / "r")).skipped)
    assert skipped["oscillation"] == (
        "not enough data: needs G_loss (>= 20 points; 16 logged), or D_loss (>= 20 points; "
        "16 logged)"
    )
    assert skipped["healthy_equilibrium"].startswith(
        "not enough data: needs D(x) (D_x or its logits: >= 20 points; 16 logged) and D(G(z)) "
        "(D_G_z_before/after or logits: >= 20 points; 16 logged)"
    )
    assert skipped["vanishing_gradients"] == (
        "not enough data: needs G_grad_norm (>= 20 points), or D_grad_norm (>= 20 points)"
    )  # not logged at all: no count


def test_rules_without_data_are_skipped_with_reason(tmp_path):
    with RunLog(tmp_path / "r", loss="bce") as log:
        for i in range(50):
            log.scalars(i, G_loss=0.7)
    d = diagnose(load_run(tmp_path / "r"))
    skipped = dict(d.skipped)
    assert skipped["g_overpowering"].startswith("not enough data: needs D(G(z))")
    assert skipped["over_training"] == "not enough data: needs fid at >= 3 evaluations"
    assert (
        skipped["vanishing_gradients"]
        == "not enough data: needs G_grad_norm (>= 20 points), or D_grad_norm (>= 20 points)"
    )
    assert "divergence" not in skipped and "oscillation" not in skipped
    text = check_text(d)
    assert "skipped:" in text and "g_overpowering: not enough data" in text


def test_registry_rules_declare_needs():
    names = [r.name for r in rules_in_order()]
    assert names == list(ORDER)
    assert all(
        isinstance(r, Rule) and isinstance(r.needs, list) and r.describe for r in REGISTRY.values()
    )
    assert REGISTRY["over_training"].needs == [("sample_metric",)]
    assert REGISTRY["mode_collapse"].needs == [
        ("samples",),
        ("G_loss", "D_G_z_prob"),
        ("sample_metric",),
        ("sample_recall",),
    ]


def test_registry_refuses_a_duplicate_name():
    with pytest.raises(ValueError, match="a rule named 'oscillation' is already registered"):
        rule("oscillation")(lambda ctx: [])
    assert REGISTRY["oscillation"].fn.__name__ == "oscillation"


# ---------------------------------------------------------------- loss types


def test_equilibrium_per_loss_type(tmp_path):
    def eq(loss, **cfg):
        with RunLog(tmp_path / f"{loss}{len(cfg)}", loss=loss, config=cfg) as log:
            log.scalars(0, G_loss=1.0)
        return equilibrium(load_run(tmp_path / f"{loss}{len(cfg)}"))

    assert eq("bce").d_loss == pytest.approx(2 * math.log(2))
    assert eq("bce", d_loss_reduction="mean").d_loss == pytest.approx(math.log(2))
    assert eq("bce", g_loss="saturating").g_loss == pytest.approx(-math.log(2))
    assert (eq("hinge").d_loss, eq("hinge").g_loss) == (2.0, 0.0)
    assert eq("lsgan").d_loss == 0.5
    w = eq("wasserstein")
    assert w.d_loss is None and w.g_loss is None


def test_a_config_loss_name_is_read_by_its_words(tmp_path):
    from gananalyze.analysis.rules.conventions import parse_loss_name

    assert parse_loss_name("bce_ns_mean") == ("bce", "mean")
    assert parse_loss_name("bce_sat_sum") == ("bce", "sum")
    assert parse_loss_name("WGAN_GP") == ("wasserstein", None)
    assert parse_loss_name("wgan-gp") == ("wasserstein", None)
    assert parse_loss_name("lsgan") == ("lsgan", None)
    # MMGeneration's StyleGAN loss: softplus on D's logits, a logistic (BCE) loss despite `wgan`
    assert parse_loss_name("wgan-logistic-ns") == ("bce", None)
    assert parse_loss_name("perceptual") == (None, None)
    assert parse_loss_name(0.5) == (None, None)
    # a Lightning run's hparams.yaml naming its loss `bce_ns_mean`: BCE, terms averaged
    run = tmp_path / "lit"
    run.mkdir()
    pd.DataFrame({"step": range(30), "d_loss": [1.2] * 30, "g_loss": [0.8] * 30}).to_csv(
        run / "metrics.csv", index=False
    )
    (run / "hparams.yaml").write_text("gan_loss: bce_ns_mean\nlr: 0.001\n")
    e = equilibrium(load_run(run))
    assert (e.loss, e.source, e.reduction) == ("bce", "config", "mean")
    assert "D loss reduction mean (from the config's loss name)" in e.notes


def test_a_negative_bce_g_loss_is_the_saturating_one(tmp_path):
    # log(1 - D(G(z))) is never positive: a BCE G loss negative at over 90% of its points
    # has the saturating equilibrium -ln 2 (the pages draw it there, healthy_equilibrium
    # compares with it); a declared non-saturating one stays
    with RunLog(tmp_path / "sat", loss="bce") as log:
        for i in range(40):
            log.scalars(i, G_loss=-0.6 - 0.001 * i, D_loss=1.3)
    e = equilibrium(load_run(tmp_path / "sat"))
    assert e.g_loss == pytest.approx(-math.log(2))
    assert "G loss saturating log(1 - D(G(z))) (inferred: negative at 100% of its points)" in (
        e.notes
    )
    with RunLog(tmp_path / "ns", loss="bce") as log:
        for i in range(40):
            log.scalars(i, G_loss=0.8, D_loss=1.3)
    assert equilibrium(load_run(tmp_path / "ns")).g_loss == pytest.approx(math.log(2))


def test_began_is_its_own_loss_type_with_no_equilibrium(tmp_path):
    # Chainer's BEGAN example logs loss_dis, loss_gen, kt and measure: autoencoder losses
    # balanced by k_t, which a BCE equilibrium of 1.39 would misjudge
    run = tmp_path / "began"
    run.mkdir()
    (run / "log.csv").write_text(
        "iteration,loss_dis,loss_gen,kt,measure\n"
        + "".join(f"{i * 100},0.11,0.06,0.002,0.09\n" for i in range(1, 40))
    )
    e = equilibrium(load_run(run))
    assert (e.loss, e.source, e.d_loss, e.g_loss) == ("began", "data", None, None)
    d = diagnose(load_run(run))
    assert dict(d.skipped)["d_overpowering"].startswith("not applicable: a began loss")
    assert "healthy_equilibrium" not in {f.rule for f in d.findings}
    from gananalyze.analysis.rules.conventions import parse_loss_name

    assert parse_loss_name("BEGAN") == ("began", None)


def test_reduction_detected_from_data(synthetic_run):
    # D loss logged as the mean of the two BCE terms: half of -log D(x) - log(1 - D(G(z)))
    n = 200
    p = synthetic_run("mean", steps=n, d_loss=math.log(2), config={})
    e = equilibrium(load_run(p))
    assert e.reduction == "mean" and e.d_loss == pytest.approx(math.log(2))
    assert any("detected" in note for note in e.notes)
    p2 = synthetic_run("sum", steps=n, config={})
    assert equilibrium(load_run(p2)).reduction == "sum"


def test_probabilities_from_logits(tmp_path):
    # StyleGAN-style names: D outputs only as logits; sigmoid(4.6) ~ 0.99, sigmoid(-4.6) ~ 0.01
    with RunLog(tmp_path / "r", loss="bce") as log:
        for i in range(200):
            real, fake = (0.0, 0.0) if i < 100 else (4.6, -4.6)
            log.scalars(
                i,
                **{
                    "Loss/scores/real": real,
                    "Loss/scores/fake": fake,
                    "Loss/D/loss": 1.386 if i < 100 else 0.02,
                    "Loss/G/loss": 0.69 if i < 100 else 4.6,
                },
            )
    f = only(diagnose(load_run(tmp_path / "r")), "d_overpowering")
    assert (f.start_step, f.numbers["D_x"]) == (100, pytest.approx(0.99, abs=0.005))
    assert "Loss/scores/real" in f.metrics and "Loss/D/loss" in f.metrics


# ---------------------------------------------------------------- thresholds


def test_thresholds_override_changes_the_outcome(synthetic_run, tmp_path):
    n = 200
    p = synthetic_run("g", steps=n, d_gz=step_fn(n, 120, 0.5, 0.7))
    assert any(f.rule == "g_overpowering" for f in diagnose(load_run(p)).findings)
    cfg = tmp_path / "rules.yaml"
    cfg.write_text("g_over_dgz_min: 0.75\n")
    th = load_thresholds(cfg)
    assert (
        th["g_over_dgz_min"] == 0.75 and th["d_over_dx_min"] == DEFAULT_THRESHOLDS["d_over_dx_min"]
    )
    d = diagnose(load_run(p), thresholds=th)
    assert not any(f.rule == "g_overpowering" for f in d.findings)
    assert d.thresholds["g_over_dgz_min"] == 0.75


def test_load_thresholds_json_nested_and_errors(tmp_path):
    j = tmp_path / "t.json"
    j.write_text(json.dumps({"thresholds": {"sustain_fraction": 0.2, "d_loss_reduction": "mean"}}))
    th = load_thresholds(j)
    assert th["sustain_fraction"] == 0.2 and th["d_loss_reduction"] == "mean"
    bad = tmp_path / "bad.yaml"
    bad.write_text("sustain_fractoin: 0.2\n")
    with pytest.raises(
        GanAnalyzeError, match=r"bad.yaml: unknown threshold\(s\) 'sustain_fractoin'"
    ):
        load_thresholds(bad)
    bad.write_text("osc_z: lots\n")
    with pytest.raises(GanAnalyzeError, match="osc_z must be a number"):
        load_thresholds(bad)
    bad.write_text("max_bins: 2.5\n")
    with pytest.raises(GanAnalyzeError, match="max_bins must be a positive whole number"):
        load_thresholds(bad)
    bad.write_text("d_loss_reduction: median\n")
    with pytest.raises(GanAnalyzeError, match="d_loss_reduction must be one of"):
        load_thresholds(bad)
    bad.write_text("[1, 2\n")
    with pytest.raises(GanAnalyzeError, match="cannot parse"):
        load_thresholds(bad)
    with pytest.raises(GanAnalyzeError, match="no such rules-config file"):
        load_thresholds(tmp_path / "missing.yaml")


def test_every_threshold_is_documented():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "rules.md").read_text()
    for key, value in DEFAULT_THRESHOLDS.items():
        assert f"`{key}`" in doc, key
        assert str(value) in doc, (key, value)


# ---------------------------------------------------------------- speed


def test_diagnose_a_million_steps_under_two_seconds():
    n = 1_000_000
    rng = np.random.default_rng(0)
    dx = np.clip(0.5 + rng.normal(0, 0.05, n), 0, 1)
    dg = np.clip(0.5 + rng.normal(0, 0.05, n), 0, 1)
    sc = pd.DataFrame(
        {
            "step": np.arange(n, dtype=np.int64),
            "G_loss": -np.log(dg),
            "D_loss": -np.log(dx) - np.log(1 - dg),
            "D_x": dx,
            "D_G_z_before": dg,
            "D_G_z_after": dg,
            "G_grad_norm": np.abs(rng.normal(1, 0.1, n)),
            "D_grad_norm": np.abs(rng.normal(1, 0.1, n)),
        }
    )
    run = Run(path=Path("big"), name="big", loss="bce", scalars=sc)
    times = []
    for _ in range(2):
        t0 = time.process_time()  # CPU time: other processes on a shared machine do not count
        d = diagnose(run)
        times.append(time.process_time() - t0)
    assert min(times) < 2.0, times
    assert problems(d) == [] and d.verdict.startswith("No problems found, D(x)")


# ---------------------------------------------------------------- real and sample runs


def test_stylegan2_ada_phytoplankton_diagnosis():
    """What the real StyleGAN2-ADA run should get, and why.

    FID falls from 418 (snapshot 0) to 28.8 at network-snapshot-002800 (tick
    700) and ends at 29.3 at 3000 kimg: the best snapshot is the second-to-last
    one, but the last is only 1.9% worse, inside the 5% margin (and inside the
    noise of an FID50k), so this is NOT over-training: an info finding naming
    the snapshot to keep. D's logits give sigmoid(mean) D(x) ~0.69 and D(G(z))
    ~0.32 over the last quarter with D loss ~0.92 (summed logistic loss,
    equilibrium 1.39) and G loss ~1.2: D slightly ahead, as ADA intends, but
    within the equilibrium band. So: healthy, no warnings.
    """
    d = diagnose(load_run(real_run("stylegan2-ada-phytoplankton")))
    assert problems(d) == []
    ot = only(d, "over_training")
    assert ot.severity == "info"
    assert ot.numbers["best_value"] == pytest.approx(28.787, abs=0.01)
    assert ot.numbers["checkpoint"] == "network-snapshot-002800.pkl"
    assert ot.numbers["last_worse_by"] == pytest.approx(29.339 / 28.787 - 1, abs=1e-3)
    h = only(d, "healthy_equilibrium")
    assert 0.6 < h.numbers["D_x"] < 0.8 and 0.2 < h.numbers["D_G_z"] < 0.4
    assert d.context["equilibrium"]["reduction"] == "sum"
    assert d.verdict.startswith("Healthy")


def sample_run(name: str) -> Path:
    p = SAMPLE_RUNS / name
    if not (p / "run.json").exists():
        pytest.skip(f"{p} not generated yet (make sample-runs)")
    return p


def test_sample_run_healthy():
    """Balanced LRs: D(x) ~0.6, D(G(z)) ~0.4 at the end, D loss ~1.1, but the sweep's recall
    is at most 0.031 at all 11 evaluations: the losses are balanced and the samples reach
    almost none of the real data, so it is not called healthy (issue 22)."""
    d = diagnose(load_run(sample_run("healthy")))
    assert [f.rule for f in problems(d)] == ["sample_quality"]
    assert d.findings[0].numbers["best_recall"] == pytest.approx(0.0306, abs=1e-4)
    assert d.verdict == "Samples never came near the real data from step 0 (warning)."
    assert d.status == "problems"


def test_sample_run_mode_collapse():
    """G at 10x D's LR with 5 G steps: losses sit at equilibrium (D(x) = D(G(z)) = 0.5), only the
    fixed-noise samples show it: diversity ~7% of the real digits', many near-duplicate pairs."""
    d = diagnose(load_run(sample_run("mode-collapse")))
    f = d.findings[0]
    assert (f.rule, f.severity) == ("mode_collapse", "error"), d.verdict
    assert f.numbers["last_vs_real"] < 0.25
    assert d.verdict.startswith("Mode collapse from step")
    assert not any(x.rule == "d_overpowering" for x in d.findings)


def test_sample_run_d_overpowers():
    """D at 10x G's LR with 5 D steps and the saturating G loss: D(x) -> 1, D(G(z)) -> 0 almost at
    once and for the rest of the run; G's and D's gradient norms collapse by ~150x."""
    d = diagnose(load_run(sample_run("d-overpowers")))
    f = only(d, "d_overpowering")
    assert f.severity == "error" and f.numbers["fraction_of_run"] > 0.9
    assert f.start_step < 0.05 * load_run(sample_run("d-overpowers")).steps[-1]
    assert d.verdict.startswith("Discriminator overpowers the generator")
    assert {x.title for x in d.findings if x.rule == "vanishing_gradients"} == {
        "G's gradients vanished",
        "D's gradients vanished",
    }


@pytest.mark.parametrize("trained", ["lsgan", "bce_mean", "bce_sum"])
def test_lsgan_inferred_from_d_outputs_and_d_loss(tmp_path, trained):
    # an undeclared loss; D's sigmoid-free LSGAN outputs 0.7 / 0.3 with a D loss of ~0.1: no
    # BCE logs that (its floor with these outputs is 0.36 averaged), LSGAN's floor is 0.09
    rng = np.random.default_rng(0)
    rows = []
    for i in range(100):
        dx = np.clip(rng.normal(0.7, 0.15, 64), 0.01, 0.99)
        dg = np.clip(rng.normal(0.3, 0.15, 64), 0.01, 0.99)
        if trained == "lsgan":
            d = (np.mean((dx - 1) ** 2) + np.mean(dg**2)) / 2
        else:
            d = np.mean(-np.log(dx)) + np.mean(-np.log(1 - dg))
            d = d / 2 if trained == "bce_mean" else d
        g = np.mean((dg - 1) ** 2) / 2
        rows.append({"step": i, "D_loss": d, "G_loss": g, "D_x": dx.mean(), "D_G_z": dg.mean()})
    pd.DataFrame(rows).to_csv(tmp_path / "metrics.csv", index=False)  # no loss declared
    e = equilibrium(load_run(tmp_path))
    if trained == "lsgan":
        assert (e.loss, e.source) == ("lsgan", "data")
        assert e.notes[0].startswith("loss type inferred: LSGAN (median D loss 0.1")
    else:
        assert (e.loss, e.source) == ("bce", "assumed")


def test_a_g_gradient_that_grew_while_d_wins_is_not_called_smaller(tmp_path):
    with RunLog(tmp_path / "r", loss="bce") as log:
        for i in range(200):
            won = i >= 50
            log.scalars(
                i,
                D_x=0.99 if won else 0.5,
                D_G_z_before=0.01 if won else 0.5,
                D_loss=0.03 if won else 1.386,
                G_loss=4.6 if won else 0.69,
                G_grad_norm=27.4 if i < 50 else 28.9,
            )
    f = only(diagnose(load_run(tmp_path / "r")), "d_overpowering")
    assert "G gradient norm 27.4 -> 28.9 (1.05x larger: G still gets a gradient)" in f.message
