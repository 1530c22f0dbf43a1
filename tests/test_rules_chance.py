"""rules/chance.py: a D judged against chance (issue 22), each in its exact shape: a frozen
LSGAN D whose loss is worse than chance from the start (the lab's 0227), and an SN-GAN D
whose loss and G's sit on ln 2 to the fourth decimal (a zoo run), with the shapes that must
not be read so: a D loss falling while above chance, one still climbing, one that turns
worse than chance only mid-run, a converged run whose G loss keeps its batch spread."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gananalyze.analysis.rules import diagnose
from gananalyze.loader import load_run


def _lsgan(tmp_path, name, d_loss, g_loss):
    from gananalyze import RunLog

    with RunLog(tmp_path / name, loss="lsgan") as log:
        for i, (d, g) in enumerate(zip(d_loss, g_loss, strict=True)):
            log.scalars(i * 5, D_loss=float(d), G_loss=float(g))
    return load_run(tmp_path / name)


def test_a_d_worse_than_chance_from_the_start_never_learned(tmp_path):
    # the lab's frozen LSGAN D (0227): its loss 0.71 -> 0.79 and level, the G loss falling to
    # 1e-4 as G settles where the frozen D scores highest; chance is 0.5 (LSGAN, summed)
    rng = np.random.default_rng(5)
    n = 300
    d = np.r_[np.linspace(0.71, 0.79, 30), np.full(n - 30, 0.795)] + rng.normal(0, 0.02, n)
    g = np.geomspace(0.0127, 1e-4, n) * (1 + 0.05 * rng.standard_normal(n))
    f = next(
        x for x in diagnose(_lsgan(tmp_path, "frozen", d, g)).findings if x.rule == "d_stalled"
    )
    assert f.title == "Discriminator never reached chance"
    assert f.start_step == 0 and f.end_step == (n - 1) * 5
    assert f.numbers["chance"] == 0.5
    assert f.numbers["D_loss"] == pytest.approx(0.795, abs=0.005)
    assert "above 1.1x the LSGAN equilibrium with the terms summed, 0.5" in f.message
    # a D loss that falls while above chance (an auxiliary classifier's loss shrinking) learns
    falling = np.linspace(1.2, 0.6, n) + rng.normal(0, 0.004, n)
    assert "d_stalled" not in {
        x.rule for x in diagnose(_lsgan(tmp_path, "falls", falling, g)).findings
    }
    # one still climbing is G running away from a D that does not follow (divergence's)
    climb = np.linspace(0.6, 3.9, n) + rng.normal(0, 0.004, n)
    got = {x.title for x in diagnose(_lsgan(tmp_path, "climb", climb, g)).findings}
    assert "Discriminator never reached chance" not in got
    # worse than chance only from the middle: D learned, then lost (not this finding)
    late = np.r_[np.full(n // 2, 0.2), np.full(n - n // 2, 0.8)] + rng.normal(0, 0.004, n)
    got = {x.title for x in diagnose(_lsgan(tmp_path, "late", late, g)).findings}
    assert "Discriminator never reached chance" not in got


def _csv(tmp_path, name, d_loss, g_loss):
    (tmp_path / name).mkdir()
    pd.DataFrame({"step": np.arange(len(d_loss)) * 500, "d_loss": d_loss, "g_loss": g_loss}).to_csv(
        tmp_path / name / "metrics.csv", index=False
    )
    return load_run(tmp_path / name)


def test_losses_on_ln2_to_the_fourth_decimal_are_a_d_at_indifference(tmp_path):
    rng = np.random.default_rng(6)
    ln2 = math.log(2)
    n = 60
    d = np.r_[ln2 + rng.normal(0, 1e-4, 40), 0.66 + rng.normal(0, 0.01, 20)]
    g = np.r_[ln2 + rng.normal(0, 1e-4, 40), 0.73 + rng.normal(0, 0.01, 20)]
    f = next(x for x in diagnose(_csv(tmp_path, "flat", d, g)).findings if x.rule == "d_stalled")
    assert f.title == "Discriminator at indifference"
    assert f.start_step == 0 and f.end_step == 39 * 500
    assert f.numbers["convention"] == "BCE averaged, non-saturating G"
    assert "within 0.2% of 0.69315 and 0.69315" in f.message
    assert f.message.endswith(
        "G gets no signal from it. The losses alone cannot tell this from a G whose samples "
        "already match the data (a D at the equilibrium scores them alike too; a strong R1 or "
        "gradient penalty holds D there): the samples can."
    )
    # a converged D near chance whose G loss keeps its batch spread (Jensen lifts it) is not
    live = diagnose(
        _csv(tmp_path, "live", ln2 + rng.normal(0, 0.01, n), 0.72 + rng.normal(0, 0.02, n))
    )
    assert "Discriminator at indifference" not in {x.title for x in live.findings}
