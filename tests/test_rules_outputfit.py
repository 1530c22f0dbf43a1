"""rules/outputfit.py: the loss type D's logged mean outputs imply beside the losses, on
a user's hinge GAN with spectral norm whose log prints D's raw mean scores as D(x) and
D(G(z)) (it was read as LSGAN, its negative scores flagged as impossible probabilities
and its flat D loss of 1.98 as a stopped D)."""

from __future__ import annotations

import numpy as np

from gananalyze.analysis.rules import diagnose
from gananalyze.analysis.rules.conventions import loss_convention
from gananalyze.loader import load_run


def _scores_run(path, dx, dg, d_loss, g_loss):
    path.mkdir()
    n = len(dx)
    lines = [
        f"it={50 * (i + 1)} lossD={d_loss[i]:.3f} lossG={g_loss[i]:.3f} "
        f"D(x)={dx[i]:.2f} D(G(z))={dg[i]:.2f}"
        for i in range(n)
    ]
    (path / "training.log").write_text("\n".join(lines) + "\n")
    return load_run(path)


def test_hinge_is_read_from_raw_scores_and_the_losses(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    gap = 0.02 + 0.01 * rng.standard_normal(n)
    dg = 0.3 * np.sin(np.arange(n) / 9) - 0.05  # D's scores drift, negative at times
    dx = dg + gap
    d_loss = 2.0 - dx + dg  # relu(1 - D(x)) + relu(1 + D(G(z))) while |scores| < 1
    run = _scores_run(tmp_path / "h", dx, dg, d_loss, -dg)
    eq = loss_convention(run)
    assert (eq.loss, eq.source, eq.d_loss) == ("hinge", "data", 2.0)
    assert eq.notes[0].startswith(
        "loss type inferred: hinge (the G loss is minus D's mean score on the fakes, and the "
        "median D loss 1.98 is relu(1 - D(x)) + relu(1 + D(G(z))) on those scores, summed"
    )
    d = diagnose(run)
    # no impossible probabilities, no stopped D: D(x) moves with D(G(z)), holding its gap
    assert not [f.rule for f in d.findings if f.severity != "info"]


def test_a_critic_is_read_from_its_scores_gap(tmp_path):
    rng = np.random.default_rng(1)
    n = 80
    dx = 3.0 + 0.2 * rng.standard_normal(n)
    dg = -1.0 + 0.2 * rng.standard_normal(n)
    run = _scores_run(tmp_path / "w", dx, dg, dg - dx, -dg)
    eq = loss_convention(run)
    assert (eq.loss, eq.source, eq.d_loss) == ("wasserstein", "data", None)


def test_probabilities_with_a_bce_g_loss_are_not_scores(tmp_path):
    n = 80
    dx, dg = np.full(n, 0.6), np.full(n, 0.4)
    d_loss = -np.log(dx) - np.log(1 - dg) + 0.05
    run = _scores_run(tmp_path / "b", dx, dg, d_loss, -np.log(dg) + 0.05)
    assert loss_convention(run).loss == "bce"
