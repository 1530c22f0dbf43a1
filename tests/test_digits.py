"""The digits toy domain and the three committed sample runs it produced."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gananalyze import load_run
from gananalyze.digits import (
    Discriminator,
    Generator,
    fixed_noise,
    load_digits_images,
    mean_pairwise_distance,
)
from gananalyze.metrics.checkpoints import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RUNS = ROOT / "sample_runs"
NAMES = ("healthy", "mode-collapse", "d-overpowers")


def _runs() -> dict:
    return {n: load_run(SAMPLE_RUNS / n) for n in NAMES}


@pytest.fixture(scope="module")
def runs():
    return _runs()


def _last10(run, col):
    s = run.scalars
    return s.loc[s["step"] > 0.9 * s["step"].max(), col]


def test_digits_images_shape_and_range():
    x = load_digits_images()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    assert load_digits_images(digits=[0]).shape[0] == 178


def test_architectures_shapes():
    torch.manual_seed(0)
    G = Generator(latent_dim=8, hidden=16, layers=1)
    out = G(torch.randn(5, 8))
    assert out.shape == (5, 1, 8, 8)
    assert float(out.detach().abs().max()) <= 1.0
    D = Discriminator(hidden=16, layers=2, dropout=0.3)
    assert D(out).shape == (5,)
    z = fixed_noise(4, 8, seed=3)
    assert torch.equal(z, fixed_noise(4, 8, seed=3)) and not torch.equal(
        z, fixed_noise(4, 8, seed=4)
    )


def test_mean_pairwise_distance():
    a = np.zeros((3, 1, 2, 2))
    assert mean_pairwise_distance(a) == 0.0
    b = np.stack([np.zeros((1, 2, 2)), np.ones((1, 2, 2))])  # distance 2 between the two
    assert mean_pairwise_distance(b) == pytest.approx(2.0)


def test_short_training_is_deterministic(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "train_digits_gan", ROOT / "examples" / "train_digits_gan.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    over = {"steps": 20, "checkpoints": 2, "histogram_every": 10, "g_hidden": 32, "d_hidden": 32}
    a = load_run(mod.train("d-overpowers", tmp_path / "a", over))
    b = load_run(mod.train("d-overpowers", tmp_path / "b", over))
    cols = [c for c in a.scalars.columns if c != "wall_time"]
    assert a.scalars[cols].equals(b.scalars[cols])
    assert [c.step for c in a.checkpoints] == [0, 10, 20]
    assert set(a.histograms["model"]) == {"G", "D"}


@pytest.mark.parametrize("name", NAMES)
def test_sample_run_has_every_record(runs, name):
    run = runs[name]
    assert run.loss == "bce" and not run.warnings
    assert run.generator["target"] == "gananalyze.digits:Generator"
    cfg = run.config
    assert cfg["d_loss_reduction"] == "sum" and cfg["g_loss"] in ("non-saturating", "saturating")
    steps = cfg["steps"]
    s = run.scalars
    assert len(s) == steps + 1 and s["step"].iloc[-1] == steps
    for col in (
        "G_loss",
        "D_loss",
        "G_grad_norm",
        "D_grad_norm",
        "D_x",
        "D_G_z_before",
        "D_G_z_after",
        "D_acc",
    ):
        assert run.counts[col] == steps, col
    ck = [c.step for c in run.checkpoints]
    assert len(ck) >= 10 and ck[0] == 0 and ck[-1] == steps
    assert len(set(np.diff(ck))) == 1  # regular intervals
    assert [g.step for g in run.samples] == ck
    assert run.samples[-1].tiles().shape == (64, 8, 8, 3)
    h = run.histograms
    assert set(h["model"]) == {"G", "D"} and set(h["kind"]) == {"weight", "grad"}
    assert h["step"].nunique() >= 10


def test_sample_runs_size():
    total = sum(p.stat().st_size for p in SAMPLE_RUNS.rglob("*") if p.is_file())
    assert total < 25 * 2**20


def test_healthy_reaches_equilibrium_with_diverse_samples(runs):
    run = runs["healthy"]
    assert 0.3 <= _last10(run, "D_x").mean() <= 0.7
    assert 0.3 <= _last10(run, "D_G_z_before").mean() <= 0.7
    mpd = run.series("fixed_noise_mpd")
    assert mpd.iloc[-1] > 0.7 * run.config["real_data_mpd"]


def test_mode_collapse_samples_lose_diversity(runs):
    run = runs["mode-collapse"]
    real = run.config["real_data_mpd"]
    mpd = run.series("fixed_noise_mpd")
    assert mpd.iloc[-1] < 0.5 * mpd.max() and mpd.iloc[1:].max() < 0.5 * real
    # measured from the PNG grid too (tiles in [0, 1], i.e. half the [-1, 1] scale)
    tiles = run.samples[-1].tiles()[..., 0]
    assert 2 * mean_pairwise_distance(tiles) < 0.2 * real


def test_d_overpowers_wins_and_g_gradients_vanish(runs):
    run = runs["d-overpowers"]
    assert _last10(run, "D_x").mean() > 0.95 and _last10(run, "D_G_z_before").mean() < 0.05
    assert _last10(run, "D_loss").mean() < 0.1
    gn = run.series("G_grad_norm")
    assert gn.iloc[-len(gn) // 10 :].median() < gn.iloc[:20].median() / 100
    gl = run.series("G_loss")  # saturating: log(1 - D(G(z))) climbs from -ln 2 towards 0
    assert gl.iloc[:5].mean() < -0.5 and _last10(run, "G_loss").mean() > -0.01


def test_generator_rebuilt_in_fresh_process_matches(runs, tmp_path):
    run = runs["healthy"]
    ck = run.checkpoints[-1]
    spec = run.generator
    G = Generator(**spec["kwargs"])
    G.load_state_dict(load_checkpoint(ck.path)["generator"])
    G.eval()
    z = fixed_noise(64, spec["latent_shape"][0], spec["noise_seed"])
    with torch.no_grad():
        here = G(z).numpy()
    out = tmp_path / "out.npy"
    code = (
        "import sys, numpy as np, torch\n"
        "from gananalyze import load_run\n"
        "from gananalyze.metrics.checkpoints import build_generator\n"
        "from gananalyze.digits import fixed_noise\n"
        "run = load_run(sys.argv[1]); G = build_generator(run, run.checkpoints[-1])\n"
        "s = run.generator\n"
        "with torch.no_grad(): y = G(fixed_noise(64, s['latent_shape'][0], s['noise_seed']))\n"
        "np.save(sys.argv[2], y.numpy())\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(run.path), str(out)], check=True, cwd=tmp_path, timeout=120
    )
    there = np.load(out)
    np.testing.assert_allclose(there, here, atol=1e-6)
    # and the committed grid is exactly these samples, quantised to 8 bits
    tiles = run.samples[-1].tiles()[..., 0]
    np.testing.assert_allclose(tiles, (here[:, 0] + 1) / 2, atol=1 / 255 + 1e-6)
    assert json.loads((run.path / "run.json").read_text())["generator"] == spec
