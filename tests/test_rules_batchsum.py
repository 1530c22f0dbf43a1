"""rules/batchsum.py: D and G losses summed over the batch (BCELoss(reduction="sum"))."""

from __future__ import annotations

import numpy as np

from gananalyze.analysis.rules import diagnose
from gananalyze.analysis.rules.conventions import loss_convention
from gananalyze.loader import load_run


def _summed_run(synthetic_run, name, config, scale=64.0):
    # a conditional GAN on digits near balance: D(x) 0.6, D(G(z)) 0.4, both losses the
    # batch's total, 64 x the per-sample BCE (D: 64 x 1.02 = 65.4; G: 64 x 0.916 = 58.6)
    n = 300
    wave = 0.05 * np.sin(np.arange(n) / 7.0)
    dx, dg = 0.6 + wave, 0.4 - wave
    d_loss = scale * (-np.log(dx) - np.log(1 - dg))
    g_loss = scale * -np.log(dg)
    return load_run(
        synthetic_run(
            name, steps=n, d_x=dx, d_gz=dg, d_loss=d_loss, g_loss=g_loss, noise=0.0, config=config
        )
    )


def test_losses_summed_over_the_batch_are_read_per_sample(synthetic_run):
    run = _summed_run(synthetic_run, "sum", {"batch_size": 64, "loss": "bce_sum"})
    eq = loss_convention(run)
    assert (eq.loss, eq.d_loss, eq.summed, eq.summed_over) == ("bce", 2 * np.log(2), 64, "batch")
    assert eq.to_dict()["summed_over"] == "batch"
    assert eq.notes[0] == (
        "D and G losses read per sample: the logged ones are summed over the batch (config "
        "batch size 64; the D loss is a median 64x -log D(x) - log(1 - D(G(z)))), so they "
        "are divided by 64"
    )
    rules = {f.rule for f in diagnose(run).findings}
    assert "divergence" not in rules and "healthy_equilibrium" in rules
    (f,) = [f for f in diagnose(run).findings if f.rule == "healthy_equilibrium"]
    assert "D loss (D_loss / 64) 1.0" in f.message


def test_without_a_batch_size_the_totals_read_as_far_off(synthetic_run):
    run = _summed_run(synthetic_run, "nob", {"loss": "bce_sum"})
    assert loss_convention(run).summed == 1
    (f,) = [f for f in diagnose(run).findings if f.rule == "divergence"]
    assert f.title == "D loss far above every equilibrium"


def test_per_sample_losses_with_a_batch_size_are_left_as_they_are(synthetic_run):
    run = _summed_run(synthetic_run, "mean", {"batch_size": 64}, scale=1.0)
    eq = loss_convention(run)
    assert (eq.summed, eq.summed_over) == (1, "discriminators")
    assert "summed_over" not in eq.to_dict()
