"""rules/context.py: D's outputs logged as BCE logits under a probability's name
(`D/real_score`, `D/fake_score`: the mean of D's raw outputs) are read through a sigmoid;
probabilities and an LSGAN D's outputs are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gananalyze.analysis.rules.context import RuleContext
from gananalyze.analysis.rules.conventions import equilibrium
from gananalyze.analysis.rules.thresholds import DEFAULT_THRESHOLDS
from gananalyze.loader import load_run

N, B = 200, 64
_NOISE = np.random.default_rng(0).standard_normal((2, N, B))
_NOISE -= _NOISE.mean(axis=2, keepdims=True)  # each batch's mean is exactly the logged one


def _run(tmp_path, name, real_mean, fake_mean, d_loss_of):
    """A CSV run logging D's mean outputs as D/real_score, D/fake_score and the D loss that
    `d_loss_of(real_batch, fake_batch)` gives for batches spread 0.3 around those means."""
    r = real_mean[:, None] + 0.3 * _NOISE[0]
    f = fake_mean[:, None] + 0.3 * _NOISE[1]
    frame = pd.DataFrame(
        {
            "step": np.arange(N) * 10,
            "Loss/Discriminator": d_loss_of(r, f),
            "Loss/Generator": np.logaddexp(0, -f).mean(1),
            "D/real_score": r.mean(1),
            "D/fake_score": f.mean(1),
        }
    )
    (tmp_path / name).mkdir()
    frame.to_csv(tmp_path / name / "metrics.csv", index=False)
    return load_run(tmp_path / name)


def _bce_logits(r, f):
    return np.logaddexp(0, -r).mean(1) + np.logaddexp(0, f).mean(1)


def _ctx(run):
    return RuleContext(run, DEFAULT_THRESHOLDS)


def test_logits_near_zero_inside_0_1_are_read_as_logits(tmp_path):
    # a D at chance logging mean logits 0.01-0.03: they lie in [0, 1] as probabilities would,
    # but a BCE D with probabilities that low would log a D loss of 2 or more, not 1.4
    t = np.arange(N)
    run = _run(tmp_path, "chance", 0.02 + 0.01 * np.sin(t), 0.02 + 0.01 * np.cos(t), _bce_logits)
    ctx = _ctx(run)
    assert ctx.outputs_are_logits()
    assert float(ctx.prob("D_x").median()) == pytest.approx(0.505, abs=0.002)
    eq = equilibrium(run, ctx=ctx)
    assert (eq.loss, eq.source, eq.d_loss) == ("bce", "assumed", pytest.approx(1.386, abs=1e-3))


def test_negative_logits_of_a_healthy_d_are_read_through_a_sigmoid(tmp_path):
    run = _run(tmp_path, "healthy", np.full(N, 0.3), np.full(N, -0.3), _bce_logits)
    ctx = _ctx(run)
    assert ctx.outputs_are_logits()
    assert float(ctx.prob("D_G_z").median()) == pytest.approx(1 / (1 + np.exp(0.3)), abs=1e-6)


def test_probabilities_and_lsgan_outputs_are_not_logits(tmp_path):
    def bce_probs(p, q):  # D's sigmoid outputs, the BCE loss of them, terms summed
        p, q = np.clip(p, 1e-6, 1 - 1e-6), np.clip(q, 1e-6, 1 - 1e-6)
        return -np.log(p).mean(1) - np.log(1 - q).mean(1)

    half = _run(tmp_path, "half", np.full(N, 0.5), np.full(N, 0.5), bce_probs)
    assert not _ctx(half).outputs_are_logits()
    assert float(_ctx(half).prob("D_x").median()) == pytest.approx(0.5)

    def ls(r, f):
        return ((1 - r) ** 2).mean(1) + (f**2).mean(1)

    lsgan = _run(tmp_path, "lsgan", np.full(N, 0.95), np.full(N, 0.05), ls)
    assert not _ctx(lsgan).outputs_are_logits()
    assert float(_ctx(lsgan).prob("D_x").median()) == pytest.approx(0.95)
