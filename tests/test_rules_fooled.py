"""G fooling D read from the losses alone (issue 22): conventions.implied_fooling tests the
D(G(z)) a G loss implies under every G-loss convention the paired G and D losses fit;
g_overpowering reads it when D's outputs were not logged; vanishing_gradients leaves G's
gradients vanishing beside a fooled D to it. Each case is built in its exact shape: a D that
stops learning mid-run, G then settling where D scores highest (the lab's late collapse).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gananalyze.analysis.rules import diagnose
from gananalyze.analysis.rules.conventions import (
    Equilibrium,
    fooled_everywhere,
    implied_fooling,
)
from gananalyze.loader import load_run

UNKNOWN = Equilibrium(
    "bce", "sum", "assumed", 2 * np.log(2), 2 * np.log(2), ["loss type unknown: assumed BCE"]
)


def _csv(path, d_loss, g_loss, **more):
    path.mkdir()
    cols = {"step": np.arange(len(d_loss)) * 10, "d_loss": d_loss, "g_loss": g_loss, **more}
    pd.DataFrame(cols).to_csv(path / "metrics.csv", index=False)
    return path


def _late_fooling(n=400, at=0.55, d=(0.19, 0.345), g=(0.2, 0.034), seed=0):
    """D and G losses near their early levels with batch noise, then from `at` of the run G's
    loss falls to g[1] and D's rises to d[1], both near still (a D that stopped learning)."""
    rng = np.random.default_rng(seed)
    late = np.arange(n) >= int(at * n)
    dl = np.where(late, d[1], d[0]) * (1 + np.where(late, 0.003, 0.05) * rng.standard_normal(n))
    gl = np.where(late, g[1], g[0]) * (1 + np.where(late, 0.003, 0.05) * rng.standard_normal(n))
    return dl, gl


def test_the_documented_example_fits_lsgan_alone():
    conv = implied_fooling(UNKNOWN, np.array([0.034]), np.array([0.345]))
    fits = {name for name, (f, _) in conv.items() if f[0]}
    assert fits == {"LSGAN (D(G(z)) - 1)^2", "LSGAN (D(G(z)) - 1)^2 / 2"}
    holds, low = fooled_everywhere(conv, 0.6)
    assert bool(holds[0])
    assert low[0] == pytest.approx(1 - np.sqrt(2 * 0.034))  # 0.739, the 1/2 convention's


def test_a_fitting_hinge_convention_leaves_it_unsaid():
    # G loss -1.13 with D loss 1.1: saturating BCE says D(G(z)) 0.68, but a hinge D loss of
    # (1 + 1.13) / 2 = 1.07 fits too, and a raw score is no probability
    conv = implied_fooling(UNKNOWN, np.array([-1.13]), np.array([1.1]))
    assert bool(conv["hinge -D(G(z))"][0][0])
    assert not fooled_everywhere(conv, 0.6)[0][0]
    # with the D loss at 0.87 hinge no longer fits: saturating BCE alone, D(G(z)) 0.677
    conv = implied_fooling(UNKNOWN, np.array([-1.13]), np.array([0.87]))
    holds, low = fooled_everywhere(conv, 0.6)
    assert bool(holds[0]) and low[0] == pytest.approx(1 - np.exp(-1.13))


def test_declared_loss_type_limits_the_conventions():
    lsgan = Equilibrium("lsgan", "mean", "run", 0.25, 0.25, [])
    assert set(implied_fooling(lsgan, np.array([0.03]), np.array([0.3]))) == {
        "LSGAN (D(G(z)) - 1)^2",
        "LSGAN (D(G(z)) - 1)^2 / 2",
    }
    wgan = Equilibrium("wasserstein", "sum", "run", None, None, [])
    assert implied_fooling(wgan, np.array([0.03]), np.array([0.3])) == {}


def test_late_fooling_from_the_losses_alone(tmp_path):
    dl, gl = _late_fooling()
    d = diagnose(load_run(_csv(tmp_path / "r", dl, gl)))
    (f,) = [x for x in d.findings if x.rule == "g_overpowering"]
    assert f.severity == "warning"
    assert f.message.startswith("D rates fakes as real from step 2200 to the end (45% of the run)")
    assert "as the losses imply (D's outputs were not logged)" in f.message
    assert f.numbers["conventions"] == ["LSGAN (D(G(z)) - 1)^2", "LSGAN (D(G(z)) - 1)^2 / 2"]
    assert f.numbers["D_G_z_implied"] == pytest.approx(1 - np.sqrt(2 * 0.034), abs=0.01)
    assert f.numbers["D_loss_before"] == pytest.approx(0.19, rel=0.03)
    assert f.numbers["D_loss_during"] == pytest.approx(0.345, rel=0.01)


def test_saturating_bce_late_fooling(tmp_path):
    # the lab's 0094 shape: saturating BCE, averaged; G loss -0.6 -> -1.13, D loss 0.6 -> 0.87
    dl, gl = _late_fooling(d=(0.6, 0.87), g=(-0.6, -1.13))
    d = diagnose(load_run(_csv(tmp_path / "r", dl, gl)))
    (f,) = [x for x in d.findings if x.rule == "g_overpowering"]
    assert f.numbers["conventions"] == ["saturating BCE log(1 - D(G(z)))"]
    assert f.numbers["D_G_z_implied"] == pytest.approx(1 - np.exp(-1.13), abs=0.01)


def test_a_small_g_loss_with_a_d_loss_that_did_not_rise_is_not_fooling(tmp_path):
    # a G loss shrunk by a weight (0.1 x -log 0.5) beside a D loss at the BCE equilibrium
    # throughout: it fits LSGAN, but D lost no ground
    rng = np.random.default_rng(1)
    n = 400
    dl = 1.386 * (1 + 0.03 * rng.standard_normal(n))
    gl = 0.069 * (1 + 0.03 * rng.standard_normal(n))
    gl[: n // 3] = 0.2 * (1 + 0.03 * rng.standard_normal(n // 3))
    d = diagnose(load_run(_csv(tmp_path / "r", dl, gl)))
    assert "g_overpowering" not in {x.rule for x in d.findings}


def test_fooled_from_the_first_bin_is_not_judged_from_the_losses(tmp_path):
    dl, gl = _late_fooling(at=0.0)
    d = diagnose(load_run(_csv(tmp_path / "r", dl, gl)))
    assert "g_overpowering" not in {x.rule for x in d.findings}


def test_a_g_loss_at_a_fooled_level_from_the_start_is_a_weight_not_fooling(tmp_path):
    # the lab's healthy LSGAN digits run 0270 with its G loss logged x 0.1 (Real-ESRGAN's
    # adversarial weight): G loss 0.027 -> 0.021 implies D(G(z)) 0.77 -> 0.80 under LSGAN / 2
    # while the D loss rises from its first steps (0.08 -> 0.19) as a healthy D's does. The G
    # loss said "fooled" before the stretch too: no event, a loss on another scale
    dl, gl = _late_fooling(at=0.05, d=(0.083, 0.188), g=(0.0265, 0.0205))
    d = diagnose(load_run(_csv(tmp_path / "r", dl, gl)))
    assert "g_overpowering" not in {x.rule for x in d.findings}
    # the same run at its true scale (G loss x 10) says nothing of fooling either, and the
    # lab's late fooling (D(G(z)) implied 0.37 before, 0.74 during) still fires
    dl2, gl2 = _late_fooling()
    d2 = diagnose(load_run(_csv(tmp_path / "r2", dl2, gl2)))
    assert "g_overpowering" in {x.rule for x in d2.findings}


def test_vanishing_g_gradients_beside_a_fooled_d_are_g_overpowering(tmp_path):
    dl, gl = _late_fooling()
    n = len(dl)
    gg = np.where(np.arange(n) >= int(0.55 * n), 1e-4, 0.2)
    d = diagnose(load_run(_csv(tmp_path / "r", dl, gl, g_grad_norm=gg)))
    rules = {x.rule for x in d.findings if x.severity != "info"}
    assert "g_overpowering" in rules and "vanishing_gradients" not in rules
    # the same gradients beside losses that say nothing of fooling: vanishing_gradients
    dl2, gl2 = _late_fooling(d=(1.2, 1.3), g=(0.8, 0.9))
    d2 = diagnose(load_run(_csv(tmp_path / "r2", dl2, gl2, g_grad_norm=gg)))
    assert "vanishing_gradients" in {x.rule for x in d2.findings}


def test_short_log_fooled_from_the_losses(tmp_path):
    # the lab's 0038 shape: 12 rows of an LSGAN stdout log, D frozen after half of them
    d_loss = [0.11, 0.245, 0.213, 0.188, 0.164, 0.163, 0.327, 0.339, 0.346, 0.345, 0.354, 0.345]
    g_loss = [
        0.259,
        0.145,
        0.153,
        0.178,
        0.211,
        0.214,
        0.0425,
        0.0327,
        0.0367,
        0.0345,
        0.0313,
        0.0338,
    ]
    d = diagnose(load_run(_csv(tmp_path / "r", d_loss, g_loss)))
    (f,) = [x for x in d.findings if x.rule == "g_overpowering"]
    assert f.title == "Generator fools the discriminator (short log)"
    assert f.message.startswith("D rates fakes as real from step 60 to the end: ")
    assert f.message.endswith(
        "of the last 6 of the 12 rows. Judged from 12 points, under the 20 the trend rules "
        "need, because every row from step 60 on agrees, the last included."
    )
    assert f.numbers["D_loss_before"] == pytest.approx(0.176)
    assert f.numbers["D_loss_during"] == pytest.approx(0.345)
    assert f.numbers["D_G_z_implied"] == pytest.approx(1 - np.sqrt(2 * 0.0425))
    # five fooled rows of twelve are under half the log: not judged
    d3 = diagnose(
        load_run(
            _csv(
                tmp_path / "r3", d_loss[:6] + [0.2] + d_loss[-5:], g_loss[:6] + [0.2] + g_loss[-5:]
            )
        )
    )
    assert "g_overpowering" not in {x.rule for x in d3.findings}


def test_short_log_g_loss_at_a_fooled_level_from_the_start_is_not_fooling(tmp_path):
    # the 0038 shape with its G loss logged x 0.1: the rows before the stretch already imply
    # D(G(z)) of 0.81 (LSGAN / 2), so the later rows' "fooled" is the G loss's scale
    d_loss = [0.11, 0.245, 0.213, 0.188, 0.164, 0.163, 0.327, 0.339, 0.346, 0.345, 0.354, 0.345]
    g_loss = [0.0259, 0.0145, 0.0153, 0.0178, 0.0211, 0.0214]
    g_loss += [0.00425, 0.00327, 0.00367, 0.00345, 0.00313, 0.00338]
    d = diagnose(load_run(_csv(tmp_path / "r", d_loss, g_loss)))
    assert "g_overpowering" not in {x.rule for x in d.findings}


def test_short_log_fooled_by_bce_numbers_with_d_worse_than_chance_by_the_fake_term(tmp_path):
    # a TF1 DCGAN notebook whose optimizers trained the wrong variables (zoo): 15 prints, D
    # fooled from the second print; hinge fits these numbers too (its raw score is no
    # probability), and the G loss implies D(G(z)) >= 0.77 under -log D(G(z)) from print 2 on,
    # so the "fooled before" guard would read a weight, but the summed D loss rises to 5.18,
    # worse than chance by the fake term -log(1 - e^-G) alone: a weight leaves D alone
    d_loss = [0.8801, 1.662, 2.3263, 3.0429, 3.3801, 3.7462, 3.9864, 4.184, 4.3356, 4.4865]
    d_loss += [4.6795, 4.9405, 4.8725, 5.1662, 5.1825]
    g_loss = [2.662, 0.2558, 0.1166, 0.0552, 0.0394, 0.0267, 0.0211, 0.0172, 0.015, 0.0126]
    g_loss += [0.0102, 0.0078, 0.0084, 0.0062, 0.0061]
    d = diagnose(load_run(_csv(tmp_path / "r", d_loss, g_loss)))
    (f,) = [x for x in d.findings if x.rule == "g_overpowering"]
    assert (f.start_step, f.end_step) == (30, 140)
    assert "under every probability loss convention these numbers fit" in f.message
    assert "not read as hinge's, whose G loss is D's raw score on the fakes" in f.message
    assert not [c for c in f.numbers["conventions"] if c.startswith("hinge")]
    assert "worse than chance under every convention (above 2)" in f.message
    assert f.numbers["D_G_z_implied"] == pytest.approx(1 - np.sqrt(2 * 0.0552), abs=1e-3)
    # the same G loss beside a D loss at its equilibrium is a G loss logged after a weight
    flat = diagnose(load_run(_csv(tmp_path / "w", [1.39] * 15, g_loss)))
    assert "g_overpowering" not in {x.rule for x in flat.findings}


def test_short_log_saturated_outputs_are_not_a_fooled_d(tmp_path):
    # D says 1.0 to real and fake alike in every row (a clamp): d_clamped's, not G fooling D
    n = 12
    (tmp_path / "r").mkdir()
    pd.DataFrame(
        {
            "step": np.arange(n),
            "d_loss": np.full(n, 50.0),
            "g_loss": np.full(n, -100.0),
            "D_x": np.ones(n),
            "D_G_z": np.ones(n),
        }
    ).to_csv(tmp_path / "r" / "metrics.csv", index=False)
    d = diagnose(load_run(tmp_path / "r"))
    assert "g_overpowering" not in {x.rule for x in d.findings}


def test_a_d_loss_still_climbing_is_no_fooled_d(tmp_path):
    # the lab's 0203 shape (averaged BCE, D frozen from the start): the G loss falls to 1e-3,
    # the D loss climbs 0.9 -> 3.9 and is still climbing at the end: G's samples running away
    # from a D that does not follow, the divergence rule's, not a D that G fools and that sits
    n = 400
    rng = np.random.default_rng(4)
    d = np.r_[np.full(n // 10, 0.7), np.linspace(0.9, 3.9, n - n // 10)]
    d = d * (1 + 0.01 * rng.standard_normal(n))
    g = np.geomspace(0.7, 1.3e-3, n) * (1 + 0.05 * rng.standard_normal(n))
    path = _csv(tmp_path / "r", d, g)
    (path / "hparams.yaml").write_text("gan_loss: bce_ns_mean\n")
    found = diagnose(load_run(path)).findings
    assert "g_overpowering" not in {x.rule for x in found}
