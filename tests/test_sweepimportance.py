"""Two-way key effects and seed-pooled settings on a generated lr x batch x seed sweep
where batch 128 rescues lr 1.8e-3 (sweepgen.write_interaction_sweep)."""

from __future__ import annotations

import numpy as np
import pytest
from sweepgen import BATCHES, INTERACTION_LRS, fate

from gananalyze.analysis import sweepimportance, sweepview

SEEDS = 3  # conftest.interaction_sweep


@pytest.fixture(scope="module")
def view(interaction_sweep):
    return sweepview.sweep_view(interaction_sweep[1])


def test_batch_matters_only_with_lr(view):
    lr, batch, seed = view.keys
    assert (lr.key, batch.key, seed.key) == ("lr", "batch_size", "seed")
    # one-way: batch size explains about nothing (failure 0.0087, metric clipped at 0)
    assert batch.failure_eps2 == pytest.approx(0.00871, abs=1e-4)
    assert batch.metric_eps2 == 0.0
    # two-way: once lr is known it decides a quarter of the failures:
    # eps2(lr x batch) = 1 (every cell pure) minus eps2(lr) = 0.7407 -> 0.2593
    assert batch.failure_with == pytest.approx(1 - lr.failure_eps2)
    assert batch.failure_with == pytest.approx(0.25926, abs=1e-4)
    assert batch.failure_partner == "lr" and batch.metric_partner == "lr"
    assert batch.metric_with > 0.1
    assert lr.failure_eps2 == pytest.approx(0.74074, abs=1e-4)
    assert lr.failure_with > lr.failure_eps2  # with batch known, lr decides every run
    # the seed adds nothing, one-way or two-way
    assert seed.seed and seed.failure_eps2 == 0.0 and seed.failure_with == 0.0
    assert seed.metric_with == 0.0


def test_settings_pool_the_seeds(view):
    assert view.setting_keys == ["lr", "batch_size"]
    assert len(view.settings) == len(INTERACTION_LRS) * len(BATCHES)
    assert view.seeds_per_setting == SEEDS
    by = {(s.values["lr"], s.values["batch_size"]): s for s in view.settings}
    assert set(by) == {(lr, b) for lr in ("5e-05", "1e-04", "2e-04", "5e-04", "0.0018", "0.01")
                       for b in ("64", "128")}
    assert by["0.0018", "64"].counts == {"D overpowers G": SEEDS}
    assert by["0.0018", "128"].counts == {"healthy": SEEDS}  # the rescue
    assert by["0.0018", "128"].failure_rate == 0.0 and by["0.0018", "64"].failure_rate == 1.0
    for (lr, b), s in by.items():
        assert len(s.runs) == SEEDS and all(f"-b{b}-" in r for r in s.runs)
        assert s.metric_lo <= s.metric_mean <= s.metric_hi and s.n_metric == SEEDS
        want = fate(float(lr), int(b))
        assert set(s.counts) == {want}
    means = [s.metric_mean for s in view.settings]
    assert means == sorted(means)  # FID: lower is better, best setting first
    assert view.settings[0].values == {"lr": "2e-04", "batch_size": "64"}


def test_two_way_by_hand():
    # y = a XOR b: neither key alone explains anything, the pair explains all
    a = np.array([0, 0, 1, 1] * 3)
    b = np.array([0, 1, 0, 1] * 3)
    y = (a ^ b).astype(float)
    assert sweepimportance.eps_squared(y, a) == 0.0
    (wa, pa), (wb, pb) = sweepimportance.two_way(y, np.column_stack([a, b]))
    assert (wa, pa, wb, pb) == (1.0, 1, 1.0, 0)
    # one key: its own eps2; a missing value (-1) leaves the run out
    y = np.array([0.0, 0, 1, 1, 5])
    ((w, p),) = sweepimportance.two_way(y, np.array([[0], [0], [1], [1], [-1]]))
    assert (w, p) == (1.0, None)
