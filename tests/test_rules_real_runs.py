"""The rule checks on real runs from other people's trainers (../shared/real_runs).

These runs name their losses differently (pix2pix D_real/D_fake, CycleGAN's two
GANs D_A/G_A and D_B/G_B, Real-ESRGAN's losses/l_d_* and out_d_* logits); the
rules read them through `gan_views`. Each test asserts the diagnosis established
by reading the data, and its docstring says why that diagnosis is right.
Skipped when ../shared is absent.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import real_run

from gananalyze.analysis.rules import diagnose, gan_views
from gananalyze.loader import load_run

LN2 = math.log(2.0)


def _tail(s, frac: float = 0.25) -> float:
    s = s.dropna()
    return float(s.iloc[-max(1, int(len(s) * frac)) :].median())


def _problems(diag):
    return [f for f in diag.findings if f.severity != "info"]


def test_cyclegan_horse2zebra_both_gans_healthy():
    """Both GANs of the CycleGAN run sit near the LSGAN equilibrium: healthy.

    No train_opt.txt, so the loss is pytorch-CycleGAN-and-pix2pix's CycleGAN
    default, LSGAN; D_A = 0.5 (real + fake MSE) is an averaged D loss, so its
    equilibrium is 0.25, as is G_A's. Over the last quarter D_A ~ 0.16 and D_B
    ~ 0.19 (steady from ~0.19 / 0.23 early, never near 0: fewer than 2% of
    lines below 0.05), G_A ~ 0.57 and G_B ~ 0.41: within the factor-3 band, no
    collapse to 0, no blow-up. Each GAN is judged on its own (view A, view B).
    """
    run = load_run(real_run("cyclegan-horse2zebra"))
    cols = list(run.scalars.columns)
    views = gan_views(run)
    assert [v.tag for v in views] == ["A", "B"]
    diag = diagnose(run)
    assert list(run.scalars.columns) == cols  # derived in the rules, nothing renamed or added
    for g in diag.context["gans"]:
        eq = g["equilibrium"]
        assert eq["loss"] == "lsgan" and eq["reduction"] == "mean"
        assert eq["D_loss"] == pytest.approx(0.25) and eq["G_loss"] == pytest.approx(0.25)
    assert not _problems(diag)
    healthy = {f.title: f for f in diag.findings if f.rule == "healthy_equilibrium"}
    assert set(healthy) == {"GAN A: Healthy equilibrium", "GAN B: Healthy equilibrium"}
    a = healthy["GAN A: Healthy equilibrium"]
    assert a.metrics == ["D_A", "G_A"]
    assert a.numbers["D_loss"] == pytest.approx(_tail(run.scalars["D_A"]), abs=0.03)
    assert 0.12 < a.numbers["D_loss"] < 0.22 and 0.4 < a.numbers["G_loss"] < 0.75
    # both GANs' losses are healthy, but no samples were logged (issue 22)
    assert diag.status == "no_problems_found"
    assert diag.verdict.startswith("No problems found, D loss 0.")
    # no FID; no D outputs, but the losses say D is not fooled (g_overpowering ran on them)
    assert "over_training" in {n for n, _ in diag.skipped}
    assert "g_overpowering" not in {n for n, _ in diag.skipped}
    assert "d_overpowering" not in {n for n, _ in diag.skipped}


def test_pix2pix_custom_restart_d_ahead_but_not_overpowering():
    """D is well ahead at the end but not sustained below the overpowering line: no problem found.

    D loss = D_real + D_fake (two unhalved BCE terms, gan_mode vanilla):
    equilibrium 2 ln 2 = 1.386. It falls from ~0.54 (first fifth) to ~0.12 in
    the last quarter (9% of equilibrium; the rule's line is 7.5%, 0.104), and
    only the 70-80% decile dips under it (median 0.092), not sustained. The 325
    lines with D_real = 0.000 are single iterations where D(x) > 0.9995; D_fake
    stays ~0.05-0.2, so D does not reject every fake. G_GAN rises 2.3 -> 4.1
    while the L1 term (x100) keeps driving G. So: no sustained D overpowering
    at the default thresholds; a line twice as loose (15% of equilibrium) does
    flag it, which is how borderline this run is.
    """
    run = load_run(real_run("pix2pix-custom-restart"))
    diag = diagnose(run)
    eq = diag.context["equilibrium"]
    assert eq["loss"] == "bce" and eq["reduction"] == "sum"
    assert eq["D_loss"] == pytest.approx(2 * LN2)
    assert diag.context["gans"][0]["columns"] == {"D_loss": "D_real+D_fake"}
    assert "D_loss" not in run.scalars.columns
    d = run.scalars["D_real"] + run.scalars["D_fake"]
    assert 0.104 < _tail(d) < 0.15
    assert (run.scalars["D_real"] == 0).sum() == 325
    assert not _problems(diag)
    assert [f.rule for f in diag.findings] == ["no_problems"]
    ran = {
        "divergence",
        "d_overpowering",
        "oscillation",
        "implausible_values",
        "healthy_equilibrium",
    }
    assert not ran & {n for n, _ in diag.skipped}
    loose = diagnose(run, {"d_over_loss_frac": 0.15})
    assert [f.rule for f in _problems(loose)] == ["d_overpowering"]


def test_pix2pix_ctmri_d_overpowers_late():
    """D overpowers G over the last third: D loss ~0.03 (2% of 2 ln 2), G_GAN ~1 -> ~6.

    D_real + D_fake deciles fall 1.14, 0.86, 0.50, 0.26, 0.20, 0.11, 0.08,
    0.045, 0.03, 0.018; over the last quarter D_real and D_fake are both ~0.01
    (D(x) ~ 0.99, D(G(z)) ~ 0.01 per term) while G_GAN climbs from 1.25 in the
    first fifth to 5.9 (D(G(z)) ~ e^-5.9 at the G step). That is D winning
    (ganhacks' "D loss to 0"), ongoing at the end: an error.
    """
    run = load_run(real_run("pix2pix-ctmri-modified-log"))
    diag = diagnose(run)
    assert diag.context["equilibrium"]["D_loss"] == pytest.approx(2 * LN2)
    probs = _problems(diag)
    assert [f.rule for f in probs] == ["d_overpowering"]
    f = probs[0]
    assert f.severity == "error"
    last = int(run.scalars["step"].iloc[-1])
    assert f.end_step == last and 0.5 * last < f.start_step < 0.75 * last
    assert f.numbers["D_loss"] < 0.05
    assert f.numbers["G_loss_during"] > 4 * f.numbers["G_loss_before"]
    assert f.metrics == ["D_real+D_fake", "G_GAN"]
    assert diag.verdict.startswith("Discriminator overpowers the generator")


def test_realesrgan_d_ahead_on_reals_no_problem():
    """Real-ESRGAN: D confident on real images, not on fakes; no rule finds a problem.

    D(x) = sigmoid(out_d_real) ~ 0.95 and D(G(z)) = sigmoid(out_d_fake) ~ 0.25
    over the last quarter: D is ahead (not the 0.5/0.5 of a healthy
    equilibrium) but the fake side is far from the 0.05 of D overpowering and
    below the 0.6 of G overpowering. D loss = l_d_real + l_d_fake goes 1.35
    (= 2 ln 2 at the start) -> ~0.89, 0.64x equilibrium. l_g_gan is logged
    after its 0.1 weight: the rules detect the weight (median l_g_gan /
    -log D(G(z)) ~ 0.105) and scale the G-loss equilibrium to 0.1 ln 2.
    """
    run = load_run(real_run("realesrgan-sobel-anime-tb"))
    diag = diagnose(run)
    eq = diag.context["equilibrium"]
    assert eq["reduction"] == "sum" and eq["D_loss"] == pytest.approx(2 * LN2)
    assert eq["G_loss"] == pytest.approx(0.1 * LN2)
    sig = lambda s: 1 / (1 + np.exp(-s))  # noqa: E731
    assert 0.9 < sig(_tail(run.series("out_d_real"))) < 0.97
    assert 0.2 < sig(_tail(run.series("out_d_fake"))) < 0.3
    dl = run.series("losses/l_d_real") + run.series("losses/l_d_fake")
    assert dl.iloc[0] == pytest.approx(2 * LN2, abs=0.05)
    assert 0.7 < _tail(dl) < 1.0
    assert not _problems(diag)
    assert [f.rule for f in diag.findings] == ["no_problems"]
    assert {n for n, _ in diag.skipped} == {"vanishing_gradients", "over_training"}


# ---------------------------------------------------------------- the views on small synthetic
# tables (no ../shared needed)


def _table_run(tmp_path, cols: dict, fmt: str = "cyclegan", loss: str | None = None):
    import pandas as pd

    from gananalyze.run import Run

    n = len(next(iter(cols.values())))
    df = pd.DataFrame(
        {
            "step": np.arange(n, dtype=np.int64) * 100,
            **{k: np.asarray(v, dtype=np.float64) for k, v in cols.items()},
        }
    )
    return Run(path=tmp_path, name="t", format=fmt, loss=loss, scalars=df)


def test_cyclegan_view_flags_only_the_gan_that_fails(tmp_path):
    """GAN B's D loss collapses to ~0 (LSGAN, averaged: 2% of 0.25) while GAN
    A stays at 0.2: only B is flagged.
    """
    n = 200
    rng = np.random.default_rng(0)
    noise = lambda: 0.01 * rng.standard_normal(n)  # noqa: E731
    d_b = np.where(np.arange(n) < 100, 0.2, 0.005) + 0.001 * rng.standard_normal(n)
    run = _table_run(
        tmp_path,
        {
            "D_A": 0.2 + noise(),
            "G_A": 0.3 + noise(),
            "cycle_A": 1 + noise(),
            "D_B": d_b,
            "G_B": np.where(np.arange(n) < 100, 0.3, 0.9) + noise(),
            "cycle_B": 1 + noise(),
        },
    )
    diag = diagnose(run)
    probs = _problems(diag)
    assert [(f.rule, f.title) for f in probs] == [
        ("d_overpowering", "GAN B: Discriminator overpowers the generator")
    ]
    assert probs[0].start_step == 10000 and probs[0].metrics == ["D_B", "G_B"]
    assert diag.verdict.startswith("GAN B: Discriminator overpowers")
    assert not [
        f for f in diag.findings if f.rule == "healthy_equilibrium"
    ]  # A healthy, B not: no "healthy" verdict
    assert [g["equilibrium"]["D_loss"] for g in diag.context["gans"]] == [pytest.approx(0.25)] * 2


def test_derived_d_loss_is_the_sum_where_both_terms_exist(tmp_path):
    """pix2pix: D loss = D_real + D_fake (summed BCE: 2 ln 2 at
    equilibrium); the run's columns are untouched.
    """
    n = 100
    rng = np.random.default_rng(0)  # batch noise: a loss constant to the last digit is a dead D
    real = LN2 + 0.005 * rng.standard_normal(n)
    real[::10] = np.nan  # D_real missing on some rows: no derived point there
    fake = LN2 + 0.005 * rng.standard_normal(n)
    g = LN2 + 0.005 * rng.standard_normal(n)
    run = _table_run(tmp_path, {"G_GAN": g, "D_real": real, "D_fake": fake}, loss="bce")
    diag = diagnose(run)
    assert list(run.scalars.columns) == ["step", "G_GAN", "D_real", "D_fake"]
    assert diag.context["equilibrium"]["reduction"] == "sum"
    h = [f for f in diag.findings if f.rule == "healthy_equilibrium"]
    assert (
        h
        and h[0].numbers["D_loss"] == pytest.approx(2 * LN2, abs=0.01)
        and h[0].metrics == ["D_real+D_fake", "G_GAN"]
    )
    from gananalyze.analysis.rules.context import RuleContext as _Ctx
    from gananalyze.analysis.rules.context import view_series

    s = view_series(run, ("D_real", "D_fake"))
    assert len(s) == 90 and s.name == "D_real+D_fake"
    assert _Ctx(run, diag.thresholds).raw("D_loss").empty  # without the view there is no D loss


def test_a_logged_d_loss_wins_over_the_layouts(tmp_path):
    """A run with a real D loss column is read as is, even if it also logs D_real/D_fake."""
    run = _table_run(
        tmp_path,
        {"D_loss": np.full(50, 1.0), "D_real": np.full(50, 0.5), "D_fake": np.full(50, 0.5)},
        fmt="table",
    )
    assert [v.columns for v in gan_views(run)] == [{}]
    assert "gans" not in diagnose(run).context
