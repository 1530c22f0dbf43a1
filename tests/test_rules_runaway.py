"""Divergences whose losses stay finite (issue 22), each built in its exact shape:

- rules/runaway.py: D ranks G's samples above the data (a D that no longer follows G: its
  outputs saturated on the fakes only, or losses saying so under every convention);
- rules/stability.py: a loss that explodes early, judged against the run's first bin and
  the largest equilibrium of any convention, not a 20% median that has exploded already;
- rules/short.py: a loss exploding in a log too short for the trend rules, judged when every
  row from the explosion on agrees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gananalyze import RunLog
from gananalyze.analysis.rules import diagnose
from gananalyze.loader import load_run


def _divergence(d) -> list:
    return [f for f in d.findings if f.rule == "divergence"]


def _csv(path, d_loss, g_loss):
    path.mkdir()
    pd.DataFrame({"step": np.arange(len(d_loss)), "d_loss": d_loss, "g_loss": g_loss}).to_csv(
        path / "metrics.csv", index=False
    )
    return path


def _runaway_outputs(path, d_loss_hi: float, n=300):
    """A BCE run (summed) whose D stops following G at 30%: D(G(z)) saturates at 0.9999,
    D(x) stays near 0.5, the D loss climbs to d_loss_hi and the G loss falls to ~1e-4."""
    rng = np.random.default_rng(3)
    with RunLog(path, loss="bce", flush_rows=10_000) as log:
        for i in range(n):
            k = min(1.0, max(0.0, (i / n - 0.2) * 10))
            log.scalars(
                i,
                D_loss=d_loss_hi if d_loss_hi < 1.39 else 1.39 + (d_loss_hi - 1.39) * k,
                G_loss=0.69 * (1e-4 / 0.69) ** k,
                D_x=0.5 + 0.01 * rng.normal(),
                D_G_z_before=0.5 + 0.4999 * k,
            )
    return load_run(path)


def test_d_saturated_on_the_fakes_only_is_a_divergence(tmp_path):
    d = diagnose(_runaway_outputs(tmp_path / "r", 9.3))
    (f,) = [f for f in _divergence(d) if f.title == "G's samples run away from the data"]
    assert f.severity == "error"
    assert 90 <= f.start_step <= 100
    assert f.message.startswith(
        f"D ranks G's samples above the real data from step {f.start_step} to the end"
    )
    assert "D(G(z)) 1 (saturated, >= 0.999) while D(x) 0.5" in f.message
    assert "D loss 9.3 (6.71x its BCE equilibrium 1.39: worse than chance)" in f.message
    assert f.numbers["D_x"] == 0.5 or abs(f.numbers["D_x"] - 0.5) < 0.01
    assert d.findings[0].rule == "divergence"  # it leads the verdict


def test_a_g_loss_printed_as_zero_says_d_of_g_is_one_to_the_printed_digits(tmp_path):
    # carpedm20's DCGAN printed g_loss 0.00000000 beside a D loss far above chance: D(G(z))
    # is 1 as far as the log can tell, not "1 - 0"
    n = 300
    rng = np.random.default_rng(4)
    k = np.clip((np.arange(n) / n - 0.2) * 10, 0, 1)
    g = np.where(k >= 1, 0.0, 0.69 * (1 - k))
    run = load_run(_csv(tmp_path / "r", 1.39 + (9.3 - 1.39) * k + 0.02 * rng.normal(size=n), g))
    (f,) = [f for f in _divergence(diagnose(run)) if "run away" in f.title]
    assert "G loss 0 (D(G(z)) = 1 to the printed digits, as -log D(G(z)))" in f.message


def test_outputs_contradicted_by_the_d_loss_are_not_a_runaway(tmp_path):
    # the same outputs, but a D loss at the averaged equilibrium: the signals disagree
    d = diagnose(_runaway_outputs(tmp_path / "r", 0.7))
    assert not [f for f in _divergence(d) if "run away" in f.title]


def test_losses_saying_so_under_every_convention_are_a_divergence(tmp_path):
    # loss type unknown: D loss 1.39 -> 9.3 (4.65x hinge summed's 2, the largest
    # equilibrium), G loss 0.69 -> 4e-4 (D(G(z)) = 1 - 4e-4 as -log D(G(z)))
    n = 300
    rng = np.random.default_rng(4)
    k = np.clip((np.arange(n) / n - 0.2) * 10, 0, 1)
    run = load_run(
        _csv(
            tmp_path / "r",
            1.39 + (9.3 - 1.39) * k + 0.02 * rng.normal(size=n),
            0.69 * (4e-4 / 0.69) ** k,
        )
    )
    d = diagnose(run)
    (f,) = [f for f in _divergence(d) if "run away" in f.title]
    assert f.severity == "error"
    assert "D loss 9.3 (4.65x the largest equilibrium of every convention consistent" in f.message
    assert "2 for hinge summed: worse than chance under each)" in f.message
    assert "G loss 4.00e-04 (D(G(z)) = 1 - 4.00e-04 as -log D(G(z)), >= 0.999)" in f.message
    assert f.numbers["conventions"] == [
        "BCE averaged",
        "BCE summed",
        "LSGAN averaged",
        "LSGAN summed",
        "hinge averaged",
        "hinge summed",
    ]


def test_saturating_g_loss_at_the_clamp_rules_out_lsgan(tmp_path):
    # saturating BCE: G loss log(1 - D(G(z))) pinned at BCELoss's clamp -100, D loss 50.35
    # (averaged: (ln 2 + 100) / 2): D(x) 0.5, D(G(z)) 1. A negative G loss is no LSGAN one
    n = 200
    k = np.clip((np.arange(n) / n - 0.2) * 10, 0, 1)
    d_loss = np.where(k >= 1, 50.3466, 0.69 + 49.66 * k)
    g_loss = np.where(k >= 1, -100.0, -0.69 - 99.31 * k)
    d = diagnose(load_run(_csv(tmp_path / "r", d_loss, g_loss)))
    (f,) = [f for f in _divergence(d) if "run away" in f.title]
    # the early D loss near ln 2 says the terms are averaged
    assert f.numbers["conventions"] == ["BCE averaged", "hinge averaged"]
    assert (
        "G loss -100 (D(G(z)) = 1 - e^-100 as log(1 - D(G(z))), >= 0.999; as hinge's "
        "-D(G(z)), a score of 100 on the fakes, past the margin 1)" in f.message
    )


def test_d_loss_pinned_at_a_clamp_of_both_terms_is_not_a_runaway(tmp_path):
    # D loss exactly 100 (0 + 100: D(x) = 1 and D(G(z)) = 1, saturated alike), G loss 0
    n = 200
    d = diagnose(load_run(_csv(tmp_path / "r", np.full(n, 100.0), np.zeros(n))))
    assert not [f for f in _divergence(d) if "run away" in f.title]
    assert "d_clamped" in {f.rule for f in d.findings}


def test_d_loss_at_an_epsilon_cap_beside_a_g_loss_at_0_is_not_a_runaway(tmp_path):
    # PyTorch-StudioGAN issue #112's 5 prints: Dis_loss 13.82 (-ln 1e-6, an epsilon-guarded
    # fake term with the real term 0) and Gen_loss -0.0 in every row: D says 1.0 to both
    d = diagnose(load_run(_csv(tmp_path / "r", np.full(5, 13.8155), np.full(5, -0.0))))
    assert not [f for f in _divergence(d) if "run away" in f.title]
    assert d.verdict == "Discriminator dead from step 0 (error)."
    # a D loss above the cap (the real term no longer 0: D(x) below 1) is still read as one
    moving = 13.8155 + np.array([1.0, 1.3, 0.8, 1.4, 1.1])
    d = diagnose(load_run(_csv(tmp_path / "m", moving, np.full(5, 1e-5))))
    assert [f for f in _divergence(d) if "run away" in f.title]


def test_loss_exploding_early_is_judged_against_the_first_bin(tmp_path):
    # a hinge-like D loss growing from 1.5 to 3.5e5 between steps 20 and 60 (its
    # median over the first 20% is already ~1e5, so 100x that would never be reached)
    n = 400
    t = np.arange(n)
    d_loss = 1.5 + 3.5e5 * np.clip((t - 20) / 40, 0, 1) ** 2
    d = diagnose(load_run(_csv(tmp_path / "r", d_loss, -d_loss)))
    f = next(f for f in _divergence(d) if f.title.startswith("D loss"))
    assert f.severity == "error"
    assert f.numbers["early_scale"] == 2.0
    assert "(the largest D-loss equilibrium of any convention, above its first bin's" in f.message


def test_healthy_bce_losses_are_no_divergence(tmp_path):
    n = 400
    rng = np.random.default_rng(5)
    d = diagnose(
        load_run(
            _csv(
                tmp_path / "r",
                1.3 + 0.1 * rng.normal(size=n),
                0.8 + 0.1 * rng.normal(size=n),
            )
        )
    )
    assert not _divergence(d)


def test_short_log_explosion_is_judged_when_every_row_from_it_agrees(tmp_path):
    # 10 rows (a Keras-style log of one row per epoch): the D loss 2.13 -> 1.7e8 from row 6
    d_loss = [2.13, 2.2, 2.5, 3.0, 40.0, 2.0e3, 9.0e4, 2.0e6, 4.0e7, 1.7e8]
    g_loss = [-0.18, -0.3, -0.5, -1.0, -38.0, -1.9e3, -8.8e4, -1.9e6, -3.9e7, -1.66e8]
    d = diagnose(load_run(_csv(tmp_path / "r", np.array(d_loss), np.array(g_loss))))
    f = next(f for f in _divergence(d) if f.title == "D loss exploded (short log)")
    assert f.severity == "error"
    assert f.message == (
        "|D loss| rose from 2.13 at step 0 to 1.70e+08 at step 9: each of the last 5 of the 10 "
        "rows is above 100x its scale 2.13 (its first row). Judged from 10 points, under the "
        "20 the trend rules need, because every row from step 5 on agrees, the last included."
    )
    assert f.numbers["exploded_points"] == 5 and f.start_step == 5


def test_short_log_that_comes_back_is_not_an_explosion(tmp_path):
    d_loss = [2.13, 2.2, 2.5, 3.0, 4e3, 2.0e4, 9.0e4, 2.0, 2.1, 2.2]
    d = diagnose(load_run(_csv(tmp_path / "r", np.array(d_loss), -np.array(d_loss))))
    assert not [f for f in _divergence(d) if "short log" in f.title]


def _short_outputs(path, d_g_z: list[float]):
    with RunLog(path, loss="bce", config={"d_loss_reduction": "mean"}, flush_rows=100) as log:
        for i, g in enumerate(d_g_z):
            log.scalars(100 * i, D_loss=6.0, G_loss=1e-4, D_x=0.5, D_G_z_before=g)
    return load_run(path)


def test_short_log_where_every_row_ranks_the_fakes_above_the_data(tmp_path):
    d = diagnose(_short_outputs(tmp_path / "r", [0.9999] * 10))
    (f,) = [f for f in _divergence(d) if "run away" in f.title]
    assert f.severity == "error"
    assert "D(G(z)) 1 (saturated, >= 0.999) while D(x) 0.5" in f.message
    assert "D loss 6 (8.66x its BCE equilibrium 0.693: worse than chance)" in f.message
    assert f.message.endswith(
        "Judged from 10 points, under the 20 the trend rules need, because every row agrees "
        "(10 of 10)."
    )


def test_short_log_whose_last_row_disagrees_is_no_runaway(tmp_path):
    d = diagnose(_short_outputs(tmp_path / "r", [0.9999] * 9 + [0.6]))
    assert not [f for f in _divergence(d) if "run away" in f.title]


def test_short_log_runaway_from_a_row_on_to_the_last_is_judged(tmp_path):
    # 12 rows: 4 ordinary, then D(G(z)) saturated in each of the last 8 (the event, to the end)
    d = diagnose(_short_outputs(tmp_path / "r", [0.6] * 4 + [0.9999] * 8))
    (f,) = [f for f in _divergence(d) if "run away" in f.title]
    assert f.start_step == 400 and f.severity == "error"
    assert f.message.endswith(
        "Judged from 12 points, under the 20 the trend rules need, because every row from step "
        "400 on agrees, the last included (8 of 12)."
    )
    # fewer than half the rows (5 of 12 at the end): not judged
    d = diagnose(_short_outputs(tmp_path / "s", [0.6] * 7 + [0.9999] * 5))
    assert not [f for f in _divergence(d) if "run away" in f.title]


# -- a D loss far above every equilibrium from the first logged row (rules/stability.py)


def _stdout_far(path, d_loss, d_x=0.48, d_gz=0.62, g_loss=39.0, n=60, seed=0):
    """A DCGAN-style print whose D blew up before its first line: D's outputs saturate per
    sample, so the batch means sit mid-range while the BCE terms sit near their clamp."""
    rng = np.random.default_rng(seed)
    path.mkdir()
    lines = []
    for i in range(n):
        d = d_loss(i, rng)
        lines.append(
            f"[{i // 4}/15][{(i % 4) * 25 + 24}/100]\tLoss_D: {d:.4f}\tLoss_G: "
            f"{g_loss + rng.normal(0, 3):.4f}\tD(x): {d_x + rng.normal(0, 0.03):.4f}\t"
            f"D(G(z)): {d_gz:.4f} / {d_gz:.4f}"
        )
    (path / "output.txt").write_text("\n".join(lines) + "\n")
    return path


def test_a_d_loss_far_above_every_equilibrium_from_the_start_is_a_divergence(tmp_path):
    run = _stdout_far(tmp_path / "r", lambda i, rng: 114 + rng.normal(0, 10))
    d = diagnose(load_run(run))
    (f,) = _divergence(d)
    assert f.severity == "error" and f.title == "D loss far above every equilibrium"
    head = f"D loss median {f.numbers['median']:.3g} from step 24 to 1499 (the end), "
    assert f.message.startswith(head)
    assert (
        "the largest D-loss equilibrium of the loss conventions consistent with the run "
        "(BCE summed 1.39, LSGAN summed 0.5, hinge summed 2)" in f.message
    )
    assert f.numbers["ratio"] == pytest.approx(f.numbers["median"] / 2)
    # D(G(z)) 0.62 is a mean of saturated outputs: not "the generator fools D"
    assert "g_overpowering" not in {x.rule for x in d.findings if x.severity != "info"}


def test_a_d_loss_pinned_at_the_clamp_or_frozen_is_a_stopped_d_not_this(tmp_path):
    pinned = _stdout_far(tmp_path / "p", lambda i, rng: 100.0, d_x=1.0, d_gz=1.0, g_loss=0.0)
    assert not [f for f in _divergence(diagnose(load_run(pinned))) if "far above" in f.title]
    frozen = _stdout_far(tmp_path / "f", lambda i, rng: 60.5 + 1e-4 * rng.normal())
    assert not [f for f in _divergence(diagnose(load_run(frozen))) if "far above" in f.title]


def test_a_d_loss_well_below_the_line_is_not_far_out(tmp_path):
    run = _stdout_far(tmp_path / "r", lambda i, rng: 30 + rng.normal(0, 3))  # 15x: under 25x
    assert not [f for f in _divergence(diagnose(load_run(run))) if "far above" in f.title]


def _critic_log(tmp_path, d_loss, g_loss):
    return diagnose(load_run(_csv(tmp_path / "r", d_loss, g_loss)))


def test_g_climbing_a_fixed_critic_is_a_divergence(tmp_path):
    # a frozen clipped critic (the lab's shape): G's score on the fakes rises from 0.01 to
    # 0.4 while D's score on the real data stays put, so D loss + G loss = -E[D(x)] (+ noise);
    # no D(G(z)) any convention reads as saturated, so only the sum tells
    rng = np.random.default_rng(4)
    n = 200
    fake_score = 0.01 + 0.39 * np.linspace(0, 1, n) ** 2 + 0.002 * rng.standard_normal(n)
    real_score = -0.01 + 0.002 * rng.standard_normal(n)
    diag = _critic_log(tmp_path, fake_score - real_score, -fake_score)
    f = next(f for f in diag.findings if f.rule == "divergence")
    assert f.title == "G's samples climb a critic that no longer learns" and f.severity == "error"
    s = fake_score - real_score - fake_score
    assert f.numbers["loss_sum"] == pytest.approx(float(np.median(s)))
    lo, hi = np.percentile(s, [10, 90])
    assert f.numbers["loss_sum_spread"] == pytest.approx(hi - lo)
    assert f.numbers["G_loss_fall"] == pytest.approx(
        float(np.median(-fake_score[:50])) - float(np.median(-fake_score[-50:]))
    )
    assert "D's verdict on the data did not change while its score for G's samples rose" in (
        f.message
    )
    assert diag.verdict.startswith("G's samples climb a critic that no longer learns from step 0")


def test_a_critic_that_learns_or_a_g_loss_that_rises_is_not_a_climb(tmp_path):
    rng = np.random.default_rng(5)
    n = 200
    fake_score = 5.0 + 7.0 * np.linspace(0, 1, n) + 0.02 * rng.standard_normal(n)
    # the critic learns: its score on the data rises with the fakes' (the sum moves too)
    real_score = 0.8 * fake_score + 0.05 * rng.standard_normal(n)
    diag = _critic_log(tmp_path, fake_score - real_score, -fake_score)
    assert not any(f.title.startswith("G's samples climb") for f in diag.findings)
    # the G loss rises (D rejects the fakes more): no climb, whatever the sum does
    (tmp_path / "up").mkdir()
    real = -5.0 + 0.05 * rng.standard_normal(n)
    diag = _critic_log(tmp_path / "up", -fake_score - real, fake_score)
    assert not any(f.title.startswith("G's samples climb") for f in diag.findings)


def test_a_short_log_climb_is_judged_from_8_rows_and_a_still_g_loss_is_none(tmp_path):
    # 10 rows of a frozen critic (a run logged every 100 steps): judged, and it says so
    fake = np.array([0.01, 0.02, 0.04, 0.07, 0.11, 0.16, 0.22, 0.29, 0.37, 0.46])
    real = -0.01 + 0.001 * np.sin(np.arange(10))
    diag = _critic_log(tmp_path, fake - real, -fake)
    f = next(f for f in diag.findings if f.title.startswith("G's samples climb"))
    assert f.numbers["points"] == 10 and "(10 points)" in f.message
    # the sum exact but the G loss moving by 0.01% of its size: a constant D, not a climb
    (tmp_path / "still").mkdir()
    g = -5.0 - 1e-4 * np.linspace(0, 1, 30)
    diag = _critic_log(tmp_path / "still", 1.0 - g, g)
    assert not any(f.title.startswith("G's samples climb") for f in diag.findings)


def test_a_g_converging_under_an_anchored_critic_is_no_climb(tmp_path):
    # ProGAN-style WGAN-GP: the drift penalty keeps E[D(x)] near 0, the gradient penalty near
    # 0.3, and the fakes' score rises from -5 towards the data's and levels off (G improving):
    # D loss + G loss stays put while the G loss falls by 4.8, but the fall is over early
    rng = np.random.default_rng(9)
    n = 400
    fake = -5.0 * np.exp(-np.arange(n) / 60) - 0.2 + 0.01 * rng.standard_normal(n)
    real = 0.0 + 0.005 * rng.standard_normal(n)
    diag = _critic_log(tmp_path, fake - real + 0.3, -fake)
    assert not any(f.title.startswith("G's samples climb") for f in diag.findings)


def test_a_g_loss_beyond_any_d_output_is_a_divergence(tmp_path):
    # a user's BCE-with-logits trainer at learning rate 1.0: from its first epochs the D loss
    # prints 0.000 and the G loss 9682.996, constant (D's logit on G's samples about -9683:
    # its weights blew up, the samples saturated into one image). It was "D overpowers"
    n = 150
    d = diagnose(load_run(_csv(tmp_path / "r", np.zeros(n), np.full(n, 9682.996))))
    (f,) = _divergence(d)
    assert (f.severity, f.title, f.start_step, f.end_step) == (
        "error",
        "G loss beyond what any D output gives",
        0,
        149,
    )
    assert f.numbers == {"G_loss": 9682.996, "D_loss": 0.0}
    assert d.verdict.startswith("G loss beyond what any D output gives from step 0 (error)")
    # a G loss of 150 beside a D loss at chance is not one: a G total with other terms in it
    rng = np.random.default_rng(0)
    d2 = diagnose(
        load_run(_csv(tmp_path / "t", 1.386 + 0.05 * rng.standard_normal(n), np.full(n, 150.0)))
    )
    assert not _divergence(d2)
    # D winning with an ordinary G loss (-log D(G(z)) of 8-10) stays D winning
    d3 = diagnose(load_run(_csv(tmp_path / "w", np.full(n, 0.007), np.linspace(9.97, 8.24, n))))
    assert not _divergence(d3) and "d_overpowering" in {x.rule for x in d3.findings}
