"""rules/stalled.py: a D that blew up into a clamp during training (a divergence, with the
dead D it left) against one pinned at the clamp from its first logged point (a dead D only,
as in tests/test_failure_shapes.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gananalyze.analysis.rules import diagnose
from gananalyze.loader import load_run


def _run(tmp_path, d_loss: np.ndarray, g_loss: np.ndarray):
    df = pd.DataFrame({"step": np.arange(len(d_loss)) * 10, "d_loss": d_loss, "g_loss": g_loss})
    (tmp_path / "r").mkdir()
    df.to_csv(tmp_path / "r" / "metrics.csv", index=False)
    return diagnose(load_run(tmp_path / "r"))


def test_a_d_loss_that_trained_then_jumped_to_the_clamp_is_a_divergence(tmp_path):
    rng = np.random.default_rng(0)
    # 120 rows of ordinary summed-BCE training, then pinned at 100 for the last 80 rows
    d = np.r_[1.3 + 0.05 * rng.standard_normal(120), np.full(80, 100.0)]
    g = np.r_[0.9 + 0.05 * rng.standard_normal(120), np.zeros(80)]
    diag = _run(tmp_path, d, g)
    rules = [(f.severity, f.rule) for f in diag.findings if f.severity != "info"]
    assert ("error", "divergence") in rules and ("error", "d_clamped") in rules
    f = next(f for f in diag.findings if f.rule == "divergence")
    assert f.title == "D loss blew up into a clamp"
    assert f.start_step == 1200 and f.end_step == 1990
    assert f.numbers["pinned_points"] == 80 and f.numbers["points_before"] == 120
    assert f.numbers["D_loss_before"] == pytest.approx(float(np.median(d[:120])))
    assert f.message.startswith(
        f"D loss trained at {f.numbers['D_loss_before']:.3g} (median of 120 point(s) from step "
        "0 to 1190), then is pinned at exactly 100 from step 1200 to the end (80 of 200 "
        "points; BCELoss's log clamp (-100) on one term"
    )
    assert diag.verdict.startswith("D loss blew up into a clamp from step 1200 (error)")


def test_one_ordinary_first_point_is_enough_and_none_is_a_dead_d_only(tmp_path):
    # the first logged point (the untrained nets) at 0.69, pinned at 50 from the next on
    d = np.r_[0.69, np.full(99, 50.0)]
    diag = _run(tmp_path, d, np.zeros(100))
    assert {f.rule for f in diag.findings if f.severity == "error"} == {"divergence", "d_clamped"}
    # pinned from the first point: how it got there is not in the log
    (tmp_path / "x").mkdir()
    diag = _run(tmp_path / "x", np.full(100, 50.0), np.zeros(100))
    assert [f.rule for f in diag.findings if f.severity != "info"] == ["d_clamped"]


def test_a_short_pinned_tail_or_a_value_that_is_no_clamp_is_not_a_blow_up(tmp_path):
    rng = np.random.default_rng(1)
    base = 1.3 + 0.05 * rng.standard_normal(200)
    # pinned at 100 for the last 4 points only (under the 5 points and 10% of the run)
    d = np.r_[base[:196], np.full(4, 100.0)]
    diag = _run(tmp_path, d, np.full(200, 0.9))
    assert "divergence" not in {f.rule for f in diag.findings if f.title.endswith("clamp")}
    # pinned at 37.5, no known clamp
    (tmp_path / "b").mkdir()
    d = np.r_[base[:100], np.full(100, 37.5)]
    diag = _run(tmp_path / "b", d, np.full(200, 0.9))
    assert not any(f.title == "D loss blew up into a clamp" for f in diag.findings)


def _frozen_d_log(rng, n=300, g_noise=2e-5, d_noise=4e-3):
    """A frozen D's log (summed BCE): G stuck where D's score no longer changes, so the G
    loss keeps only float noise; the D loss still varies with the real batches."""
    return 1.41 + d_noise * rng.standard_normal(n), -0.7079 + g_noise * rng.standard_normal(n)


def test_a_still_g_loss_is_a_d_that_stopped_learning(tmp_path):
    d, g = _frozen_d_log(np.random.default_rng(2))
    diag = _run(tmp_path, d, g)
    assert [(f.severity, f.rule) for f in diag.findings if f.severity != "info"] == [
        ("warning", "d_stalled")
    ]
    f = diag.findings[0]
    assert f.title == "Discriminator stopped learning (G loss still)"
    assert f.start_step == 0 and f.end_step == 2990
    assert f.numbers["relative_step"] == pytest.approx(
        float(np.median(np.abs(np.diff(g)))) / abs(float(np.median(g)))
    )
    assert f.numbers["relative_step"] < 1e-4
    assert "(under 1.00e-04), while D loss changes by" in f.message
    assert f.message.startswith("G loss still at -0.708 from step 0 to the end (100% of the run")


def test_a_noisy_g_loss_or_a_rounded_print_is_not_still(tmp_path):
    rng = np.random.default_rng(3)
    # a healthy G loss: batch noise of 2% of its level
    d, g = _frozen_d_log(rng, g_noise=0.015)
    assert "d_stalled" not in {f.rule for f in _run(tmp_path, d, g).findings}
    # the frozen D's G loss printed with 4 decimals ("%.4f"): -0.7079 at every point, which
    # a resolution of 1e-4 cannot tell from a G loss that moves by 1e-4
    (tmp_path / "p").mkdir()
    d, g = _frozen_d_log(rng)
    diag = _run(tmp_path / "p", np.round(d, 4), np.round(g, 4))
    assert "d_stalled" not in {f.rule for f in diag.findings}


def test_a_g_loss_repeated_between_g_steps_is_not_still(tmp_path):
    # a WGAN loop logging at every critic step: the G loss is that of the last G step, so
    # 4 of 5 points repeat it exactly; between G steps it moves by 2% of its level
    rng = np.random.default_rng(6)
    g_steps = -0.5 + 0.01 * rng.standard_normal(60)
    g = np.repeat(g_steps, 5)
    d = 0.2 + 0.01 * rng.standard_normal(300)
    assert "d_stalled" not in {f.rule for f in _run(tmp_path, d, g).findings}


def test_running_means_logged_at_every_step_are_not_a_stalled_d(tmp_path):
    # an epoch's AverageMeter logged at every step (300 steps per epoch): late in the epoch
    # each new batch moves the mean by about noise / k, for G and D alike
    rng = np.random.default_rng(7)

    def running(level, noise):
        x = level + noise * rng.standard_normal(1200)
        return np.concatenate([np.cumsum(e) / np.arange(1, 301) for e in x.reshape(4, 300)])

    diag = _run(tmp_path, running(1.3, 0.001), running(-0.7, 0.0005))
    assert "d_stalled" not in {f.rule for f in diag.findings}
    # the same G loss beside a D loss that still moves with its real batches: a frozen D
    (tmp_path / "frozen").mkdir()
    d = 1.3 + 0.004 * rng.standard_normal(1200)
    diag = _run(tmp_path / "frozen", d, running(-0.7, 0.0005))
    assert "d_stalled" in {f.rule for f in diag.findings}


def test_a_d_loss_flat_near_zero_is_d_winning_not_a_stalled_d(tmp_path):
    # D loss flat at 1e-4 (under 7.5% of LSGAN's averaged equilibrium 0.25, the smallest of
    # any convention) while the G loss climbs from 9 to 14: D wins outright
    rng = np.random.default_rng(8)
    d = 1e-4 * (1 + 0.001 * rng.standard_normal(300))
    g = np.linspace(9, 14, 300) + 0.05 * rng.standard_normal(300)
    rules = {f.rule for f in _run(tmp_path, d, g).findings if f.severity != "info"}
    assert "d_stalled" not in rules and "d_overpowering" in rules
    # the same flat D loss at 0.3, above that line, beside D(x) standing still: a stalled D
    (tmp_path / "b").mkdir()
    dx = 0.7 + 0.001 * rng.standard_normal(300)
    df = pd.DataFrame({"step": np.arange(300) * 10, "d_loss": d * 3000, "g_loss": g, "D_x": dx})
    df.to_csv(tmp_path / "b" / "metrics.csv", index=False)
    rules = {f.rule for f in diagnose(load_run(tmp_path / "b")).findings if f.severity != "info"}
    assert "d_stalled" in rules
    # ... and without D's outputs, a flat D loss alone says nothing of D's weights: a frozen
    # D's loss moves as G moves its samples, and running means are flat wherever training
    # settles (a healthy hinge run logged as a running mean drew this)
    (tmp_path / "c").mkdir()
    rules = {f.rule for f in _run(tmp_path / "c", d * 3000, g).findings if f.severity != "info"}
    assert "d_stalled" not in rules


def test_a_d_loss_constant_to_its_last_digit_is_a_dead_d_a_rounded_print_is_not(tmp_path):
    # hinge: D's output 5 for every input (a frozen D with a large bias): the D loss is
    # 6.00146 at every point while the G loss moves; no clamp value, but no batch noise either
    rng = np.random.default_rng(10)
    d = np.r_[1.9 + 0.05 * rng.standard_normal(20), np.full(180, 6.00146)]
    g = -5.0 + 0.3 * rng.standard_normal(200)
    diag = _run(tmp_path, d, g)
    f = next(f for f in diag.findings if f.rule == "d_clamped")
    assert "D loss pinned at exactly 6.00146 for the last 180 of 200 points" in f.message
    assert "D gives every input the same output" in f.message
    assert f.action.startswith("Check that D still depends on its input")
    # a D loss printed with 2 decimals ("0.69" at every point) is no evidence of that
    (tmp_path / "p").mkdir()
    diag = _run(tmp_path / "p", np.full(200, 0.69), g)
    assert "d_clamped" not in {f.rule for f in diag.findings}


def test_a_flat_d_loss_creeping_on_a_clamp_value_names_the_clamp(tmp_path):
    # averaged BCE with log(x + 1e-10): D's loss creeps 11.5159 -> 11.5130, just above the
    # floor -log(1e-10) / 2 = 11.5129, while the G loss climbs (the zoo's genrisk run)
    d = np.linspace(11.5159, 11.5130, 300)
    g = np.linspace(1.2, 5.2, 300)
    f = next(f for f in _run(tmp_path, d, g).findings if f.rule == "d_stalled")
    assert f.message.endswith(
        "That is the value of -log(1e-10) averaged over two terms: D's loss sits on that "
        "floor, where no gradient flows."
    )


def test_a_config_that_sets_d_learning_rate_to_zero_is_a_d_that_never_updates(tmp_path):
    from gananalyze import RunLog

    rng = np.random.default_rng(2)
    for name, lr in (("zero", 0.0), ("live", 4e-4)):
        with RunLog(tmp_path / name, loss="bce", config={"lr_D": lr, "lr_G": 1e-4}) as log:
            for i in range(100):
                log.scalars(i, D_loss=1.2 + 0.05 * rng.standard_normal(), G_loss=0.9)
    f = next(x for x in diagnose(load_run(tmp_path / "zero")).findings if x.rule == "d_stalled")
    assert f.title == "Discriminator's learning rate is 0"
    assert f.message.startswith("The config sets lr_D = 0.0: with a learning rate of 0")
    live = diagnose(load_run(tmp_path / "live")).findings
    assert "Discriminator's learning rate is 0" not in {x.title for x in live}


def test_a_still_g_loss_with_a_config_d_learning_rate_of_zero_names_both(tmp_path):
    d, g = _frozen_d_log(np.random.default_rng(2))
    (tmp_path / "r").mkdir()
    df = pd.DataFrame({"step": np.arange(len(d)) * 10, "d_loss": d, "g_loss": g})
    df.to_csv(tmp_path / "r" / "metrics.csv", index=False)
    (tmp_path / "r" / "hparams.yaml").write_text("lr_d: 0.0\n")
    [f] = [x for x in diagnose(load_run(tmp_path / "r")).findings if x.rule == "d_stalled"]
    assert f.title == "Discriminator stopped learning (G loss still)"
    assert f.message.endswith("The config sets lr_d = 0, which would explain it.")


def test_a_flat_d_loss_is_a_stopped_d_only_while_d_x_stands_still(tmp_path):
    # D loss flat at 1.0 (0.2% batch noise) while G's loss climbs 1.1 -> 5: a stopped D when
    # D's logged mean score on the real data keeps its level (a frozen D, the real data the
    # same at every step); not when that score drifts 0.2 -> 0.6, twenty times its batch
    # noise: D's weights move, holding the gap as G moves (a hinge D in its linear range)
    rng = np.random.default_rng(2)
    n = 300
    d = 1.0 + 0.002 * rng.standard_normal(n)
    g = np.linspace(1.1, 5.0, n) + 0.02 * rng.standard_normal(n)
    for name, dx, stopped in (
        ("still", 0.4 + 0.004 * rng.standard_normal(n), True),
        ("moving", np.linspace(0.2, 0.6, n) + 0.004 * rng.standard_normal(n), False),
    ):
        (tmp_path / name).mkdir()
        df = pd.DataFrame({"step": np.arange(n), "d_loss": d, "g_loss": g, "D_x": dx})
        df.to_csv(tmp_path / name / "metrics.csv", index=False)
        fired = [
            f.title for f in diagnose(load_run(tmp_path / name)).findings if f.rule == "d_stalled"
        ]
        assert ("Discriminator stopped learning (loss flat)" in fired) is stopped, (name, fired)


def test_a_flat_critic_loss_beside_a_moving_g_loss_is_a_critic_holding_its_gap(tmp_path):
    # WGAN-GP's D loss is minus the critic's gap: flat at -1.99 (0.2% noise, as a log of
    # averaged prints is) while the G loss moves 0.09 -> -0.015. A frozen critic's loss would
    # move as G moves its samples over the fixed landscape; a flat one is a critic re-fitting
    # to hold its gap. The same numbers under BCE (no Wasserstein sign) stay a stopped D
    rng = np.random.default_rng(4)
    n = 300
    d = -1.99 + 0.004 * rng.standard_normal(n)
    g = np.linspace(0.09, -0.015, n) + 0.002 * rng.standard_normal(n)
    for name, loss, stopped in (("wgan", "wgan_gp", False), ("bce", "bce_ns_mean", True)):
        (tmp_path / name).mkdir()
        bce = name == "bce"
        df = pd.DataFrame({"step": np.arange(n), "d_loss": d + 2.99 if bce else d})
        df["g_loss"] = np.linspace(1.1, 2.5, n) if bce else g
        df["D_x"] = 0.6 + 0.001 * rng.standard_normal(n)  # D(x) standing still
        df.to_csv(tmp_path / name / "metrics.csv", index=False)
        (tmp_path / name / "hparams.yaml").write_text(f"gan_loss: {loss}\n")
        fired = [
            f.title for f in diagnose(load_run(tmp_path / name)).findings if f.rule == "d_stalled"
        ]
        assert ("Discriminator stopped learning (loss flat)" in fired) is stopped, (name, fired)


def _hinge_terms_run(tmp_path, real: np.ndarray, fake: np.ndarray, g: np.ndarray):
    df = pd.DataFrame(
        {
            "step": np.arange(len(real)) * 20,
            "d_loss": real + fake,
            "g_loss": g,
            "d_real": real,
            "d_fake": fake,
        }
    )
    (tmp_path / "h").mkdir()
    df.to_csv(tmp_path / "h" / "metrics.csv", index=False)
    return diagnose(load_run(tmp_path / "h"))


def test_a_frozen_hinge_d_whose_real_term_stands_still_stopped_learning(tmp_path):
    # d_loss = d_real + d_fake, the hinge terms relu(1 - D(x)) and relu(1 + D(G(z))) of a D
    # whose learning rate is 0: its real term stands still (the real data do not change), the
    # fake term barely moves, G's loss climbs a fixed landscape. d_real 1.08 is no D(x)
    # above 1 (no implausible value) and the flat D loss says a stopped D
    rng = np.random.default_rng(0)
    n = 150
    real = 1.08 + 0.001 * rng.standard_normal(n)
    fake = 0.98 + 0.001 * rng.standard_normal(n)
    g = np.linspace(0.05, 0.02, n) + 0.002 * rng.standard_normal(n)
    diag = _hinge_terms_run(tmp_path, real, fake, g)
    rules = sorted(f.rule for f in diag.findings if f.severity != "info")
    assert rules == ["d_stalled"]
    f = diag.findings[0]
    assert f.title == "Discriminator stopped learning (loss flat)"
    assert (f.start_step, f.end_step) == (0, 2980)
    assert f.numbers["D_loss"] == pytest.approx(2.06, abs=0.002)


def test_a_hinge_d_whose_real_term_moves_has_not_stopped(tmp_path):
    # the same flat D loss, but the real term moves from 1.2 to 0.9 (and the fake term the
    # other way): D's weights move as it holds its gap
    rng = np.random.default_rng(1)
    n = 150
    real = np.linspace(1.2, 0.9, n) + 0.001 * rng.standard_normal(n)
    fake = 2.06 - real + 0.001 * rng.standard_normal(n)
    g = np.linspace(0.05, 0.02, n) + 0.002 * rng.standard_normal(n)
    diag = _hinge_terms_run(tmp_path, real, fake, g)
    assert [f.rule for f in diag.findings if f.severity != "info"] == []
