"""The truth lab's labelling rule (lab/truth.py) and the scoreboard's bookkeeping
(lab/score.py), on samples built here: what each truth class means, without training."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lab import data, score, truth  # noqa: E402

RING = data.ring8()
RNG = np.random.default_rng(0)
N = 500


def on_modes(modes: list[int], n: int = N) -> np.ndarray:
    k = RNG.choice(modes, n)
    return (RING.centres[k] + RNG.normal(0, 0.1, (n, 2))).astype(np.float32)


def d_eval(n: int, auc: float = 0.6, real: float = 0.55, fake: float = 0.45) -> list[dict]:
    # D's outputs move a little per checkpoint (a D that trains)
    return [
        {
            "real": real + 1e-3 * i,
            "fake": fake,
            "acc": auc,
            "auc": auc,
            "real_std": 0.1,
            "fake_std": 0.1,
        }
        for i in range(n)
    ]


def unspread(n: int = N) -> np.ndarray:
    return RNG.normal(0, 0.05, (n, 2)).astype(np.float32)


def lab(samples: list[np.ndarray], ev: list[dict] | None = None, loss: str = "bce_ns_mean"):
    return truth.label(RING, loss, samples, ev or d_eval(len(samples)), False)[0]


ALL = list(range(8))


def test_a_g_covering_every_mode_is_healthy():
    assert lab([unspread()] * 3 + [on_modes(ALL)] * 8) == "healthy"


def test_realistic_samples_of_two_modes_are_a_collapse():
    assert lab([unspread()] * 3 + [on_modes([0, 1])] * 8) == "collapse"


def test_a_g_that_has_not_spread_yet_is_poor_not_a_collapse():
    # few modes reached, samples not on the data, coverage never reached: still learning
    assert lab([unspread()] * 11) == "poor"


def test_coverage_lost_after_good_training_is_a_late_collapse():
    assert lab([unspread()] * 3 + [on_modes(ALL)] * 5 + [on_modes([3])] * 3) == "late_collapse"


def test_lost_coverage_is_a_collapse_even_when_the_end_samples_are_off_the_data():
    off = on_modes([2]) * 1.3  # off every mode, and two modes or fewer covered
    s = [unspread()] + [on_modes(ALL)] * 2 + [on_modes([0, 1])] * 7 + [off]
    assert lab(s) == "collapse"


def test_hopping_between_mode_sets_is_mode_hopping():
    s = [unspread()] * 7 + [on_modes(m) for m in ([0, 1], [2, 3], [4, 5], [6, 7])]
    assert lab(s) == "mode_hopping"


def test_a_d_that_separates_everything_wins():
    s = [unspread()] * 11
    assert lab(s, d_eval(11, auc=0.995)) == "d_wins"


def test_a_frozen_d_is_clamped_and_non_finite_samples_diverge():
    frozen = [dict(e, real=0.5) for e in d_eval(11)]
    assert lab([on_modes(ALL)] * 11, frozen) == "clamped"
    bad = on_modes(ALL)
    bad[0, 0] = np.nan
    assert lab([on_modes(ALL)] * 10 + [bad]) == "divergence"


def test_scores_name_coverage_precision_and_spread():
    s = truth.checkpoint_scores(RING, on_modes([0, 1]))
    assert s["covered"] == [0, 1]
    assert s["coverage"] == 0.25
    assert s["precision"] > 0.95
    assert s["few"] and not s["good"]


def test_abstaining_is_neither_right_nor_wrong():
    assert score.outcome("collapse", "healthy") == "wrong"
    assert score.outcome("collapse", "no problems found") == "abstained"
    assert score.outcome("collapse", "collapse") == "right"
    assert score.outcome("healthy", "d_wins") == "wrong"
    assert score.outcome("poor", "other") == "right"


def test_a_collapse_needs_samples_in_the_log_to_be_seen():
    assert not score.has_evidence("collapse", "losses")
    assert not score.has_evidence("collapse", "d_outputs")
    assert score.has_evidence("collapse", "samples")
    assert score.has_evidence("d_wins", "losses")


def test_a_d_separating_exactly_is_d_winning_not_constant():
    # D says exactly 1.0 to every real row and 0.0 to every sample: no spread within either,
    # but it separates them (auc 1), so it is not "constant over inputs"
    sep = [{"real": 1.0, "fake": 0.0, "acc": 1.0, "auc": 1.0, "real_std": 0.0, "fake_std": 0.0}]
    assert lab([unspread()] * 11, d_eval(1) + sep * 10, loss="bce_sat_sum") == "d_wins"
    # the same value on real and fake with no spread is a dead D
    dead = [{"real": 0.7, "fake": 0.7, "acc": 0.5, "auc": 0.5, "real_std": 0.0, "fake_std": 0.0}]
    assert lab([unspread()] * 11, d_eval(1) + dead * 10, loss="hinge") == "clamped"


def test_a_cached_run_is_relabelled_by_the_current_rule():
    sep = {"real": 1.0, "fake": 0.0, "acc": 1.0, "auc": 1.0, "real_std": 0.0, "fake_std": 0.0}
    ev = d_eval(1) + [sep] * 10  # D untrained at the first checkpoint, then separating
    cls, sc = truth.label(RING, "bce_sat_sum", [unspread()] * 11, ev, False)
    meta = {
        "spec": {"data": "ring8", "loss": "bce_sat_sum"},
        "scores": sc,
        "d_eval": ev,
        "diverged_at": None,
        "truth": "clamped",  # what the build wrote before the fix
    }
    assert score.truth_of(meta) == cls == "d_wins"
