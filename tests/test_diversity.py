"""Sample diversity: mean pairwise RMS distance of grid tiles and of real data."""

from __future__ import annotations

import numpy as np
import pytest

from gananalyze import RunLog
from gananalyze.analysis.diversity import (
    pairwise_stats,
    real_dataset,
    real_diversity,
    sample_diversity,
    sample_features,
)
from gananalyze.loader import load_run


def test_pairwise_stats_known_numbers():
    x = np.array([[0.0, 0, 0, 0], [1.0, 1, 1, 1], [0.0, 0, 0, 0]])
    s = pairwise_stats(x)
    # pairs: (0,1) 1.0, (0,2) 0.0, (1,2) 1.0 -> mean 2/3; one near-duplicate pair of three
    assert s["diversity"] == pytest.approx(2 / 3)
    assert s["near_duplicates"] == pytest.approx(1 / 3)
    assert np.isnan(pairwise_stats(x[:1])["diversity"])


def test_sample_features_box_downscale_and_grey():
    img = np.zeros((1, 32, 32, 3), dtype=np.float32)
    img[0, :16, :, :] = 1.0  # top half white
    f = sample_features(img)
    assert f.shape == (1, 256)
    grid = f.reshape(16, 16)
    assert np.allclose(grid[:8], 1.0) and np.allclose(grid[8:], 0.0)
    assert sample_features(np.zeros((2, 8, 8)), side=8).shape == (2, 64)


def test_grid_roundtrip_matches_direct_computation(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.uniform(-1, 1, (9, 1, 8, 8))
    with RunLog(tmp_path / "r", loss="bce") as log:
        log.scalars(0, G_loss=1.0)
        log.samples(0, imgs, nrow=3)
        log.samples(10, np.repeat(imgs[:1], 9, axis=0), nrow=3)
    div = sample_diversity(load_run(tmp_path / "r"))
    assert div["step"].tolist() == [0, 10]
    direct = pairwise_stats(((imgs[:, 0] + 1) / 2).reshape(9, -1))["diversity"]
    assert div["diversity"].iloc[0] == pytest.approx(direct, abs=0.005)  # uint8 PNG quantisation
    assert div["diversity"].iloc[1] == 0.0 and div["near_duplicates"].iloc[1] == 1.0
    assert div["n"].tolist() == [9, 9]


def test_real_digits_diversity(tmp_path):
    with RunLog(
        tmp_path / "a", loss="bce", config={"dataset": "sklearn.datasets.load_digits (8x8)"}
    ) as log:
        log.scalars(0, G_loss=1.0)
    with RunLog(tmp_path / "b", loss="bce", config={"dataset": "cifar10"}) as log:
        log.scalars(0, G_loss=1.0)
    a, b = load_run(tmp_path / "a"), load_run(tmp_path / "b")
    assert real_dataset(a) == "sklearn-digits" and real_dataset(b) is None
    assert real_diversity(b) is None
    v = real_diversity(a)
    assert 0.3 < v < 0.45
    assert real_diversity(a, seed=1) == pytest.approx(
        v, rel=0.03
    )  # does not depend much on the draw
