"""KID, IS, precision/recall, density/coverage: parity with torch-fidelity, hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gananalyze.errors import GanAnalyzeError
from gananalyze.metrics import registry
from gananalyze.metrics import samplemetrics as sm
from gananalyze.metrics.fid import feature_stats, frechet_distance
from gananalyze.naming.aliases import higher_is_better


def _pair(n_real=300, n_fake=250, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    real = torch.randn(n_real, d, generator=g, dtype=torch.float64)
    fake = torch.randn(n_fake, d, generator=g, dtype=torch.float64) * 1.3 + 0.2
    return real, fake


def test_kid_matches_torch_fidelity():
    from torch_fidelity.metric_kid import kid_features_to_metric

    real, fake = _pair()
    mean, std = sm.kid(real, fake, num_subsets=15, subset_size=100)
    # torch-fidelity's convention: input 1 is generated, input 2 real.
    ref = kid_features_to_metric(fake, real, kid_subsets=15, kid_subset_size=100, verbose=False)
    assert mean > 0.01
    assert mean == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-10)
    assert std == pytest.approx(ref["kernel_inception_distance_std"], rel=1e-8)


def test_kid_clips_subset_size_and_is_near_zero_for_same_distribution():
    from torch_fidelity.metric_kid import kid_features_to_metric

    real, fake = _pair(n_real=120, n_fake=80)
    mean, _ = sm.kid(real.numpy(), fake.numpy(), num_subsets=5)  # subset 1000 -> 80
    ref = kid_features_to_metric(fake, real, kid_subsets=5, kid_subset_size=80, verbose=False)
    assert mean == pytest.approx(ref["kernel_inception_distance_mean"], rel=1e-10)
    g = torch.Generator().manual_seed(9)
    a, b = torch.randn(2, 1000, 16, generator=g, dtype=torch.float64)
    same, same_std = sm.kid(a, b, num_subsets=10, subset_size=500)
    assert abs(same) < 0.05 * mean and abs(same) < 3 * same_std


def test_inception_score_matches_torch_fidelity_and_hand_values():
    from torch_fidelity.metric_isc import isc_features_to_metric

    logits = torch.randn(500, 30, generator=torch.Generator().manual_seed(1)) * 3
    mean, std = sm.inception_score(logits)
    ref = isc_features_to_metric(logits)
    assert mean == pytest.approx(ref["inception_score_mean"], rel=1e-12)
    assert std == pytest.approx(ref["inception_score_std"], rel=1e-9)
    # Uninformative logits: IS = 1. Confident, evenly spread over C classes: IS = C.
    assert sm.inception_score(np.zeros((100, 7)))[0] == pytest.approx(1.0)
    confident = np.full((100, 5), -50.0)
    confident[np.arange(100), np.arange(100) % 5] = 50.0
    assert sm.inception_score(confident, shuffle=False)[0] == pytest.approx(5.0, rel=1e-9)


@pytest.mark.parametrize("chunk", [1024, 37])
def test_precision_recall_matches_torch_fidelity(chunk):
    from torch_fidelity.metric_prc import prc_features_to_metric

    real, fake = _pair(seed=2)
    real, fake = real.float(), fake.float()
    p, r = sm.precision_recall(real, fake, chunk=chunk)
    ref = prc_features_to_metric(
        fake, real, prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False, verbose=False
    )
    assert 0.05 < p < 0.95 and 0.05 < r < 1
    assert p == pytest.approx(ref["precision"], abs=1e-6)
    assert r == pytest.approx(ref["recall"], abs=1e-6)


def _line(xs):
    return np.array([[x, 0.0] for x in xs], dtype=np.float64)


def test_density_coverage_and_pr_by_hand():
    # Real points on a line at 0, 1, 3, 7; with k=1 their ball radii are 1, 1, 2, 4.
    real = _line([0, 1, 3, 7])
    fake = _line([0.5, 5, 10, 20])
    # density: 0.5 lies in the balls of 0 and 1; 5 only in 7's (|5-3| = 2 is not < 2);
    # 10 in 7's; 20 in none -> (2 + 1 + 1 + 0) / (k=1 * 4) = 1.0.
    # coverage: 0 and 1 have 0.5 inside, 3 has nothing strictly within 2, 7 has 5 -> 3/4.
    d, c = sm.density_coverage(real, fake, k=1, dtype=torch.float64)
    assert d == pytest.approx(1.0)
    assert c == pytest.approx(0.75)
    # precision (<=): 0.5, 5 (distance 2 <= 2), 10 are on the real manifold, 20 is not -> 3/4.
    # recall: fake radii (k=1) are 4.5, 4.5, 5, 10; every real point is within one -> 1.
    p, r = sm.precision_recall(real, fake, k=1, dtype=torch.float64)
    assert p == pytest.approx(0.75)
    assert r == pytest.approx(1.0)
    # k=2: real radii 3, 2, 3, 6 (second neighbours) -> densities 2 (0.5 in 0,1,3 -> 3), ...
    d2, c2 = sm.density_coverage(real, fake, k=2, dtype=torch.float64)
    # 0.5: in balls of 0 (0.5<3), 1 (0.5<2), 3 (2.5<3) -> 3; 5: 3 (2<3), 7 (2<6) -> 2;
    # 10: 7 (3<6) -> 1; 20: 0. density = 6 / (2 * 4) = 0.75; coverage: all four -> 1.
    assert d2 == pytest.approx(0.75)
    assert c2 == pytest.approx(1.0)


def test_density_coverage_same_distribution_expectation():
    g = torch.Generator().manual_seed(3)
    real = torch.randn(1500, 8, generator=g)
    fake = torch.randn(1500, 8, generator=g)
    d, c = sm.density_coverage(real, fake, k=5, chunk=500)
    assert d == pytest.approx(1.0, abs=0.08)
    assert c == pytest.approx(1 - 0.5**5, abs=0.02)
    # A shifted fake distribution loses both.
    d_bad, c_bad = sm.density_coverage(real, fake + 3.0, k=5, chunk=500)
    assert d_bad < 0.2 and c_bad < 0.3


def test_prdc_one_pass_equals_separate_calls():
    real, fake = _pair(seed=4)
    both = sm.prdc(real, fake, chunk=64)
    assert (both["precision"], both["recall"]) == sm.precision_recall(real, fake)
    assert both["density"] == pytest.approx(sm.density_coverage(real, fake)[0], rel=1e-12)
    assert both["coverage"] == sm.density_coverage(real, fake)[1]


def test_registry_and_compute_metrics():
    real, fake = _pair(seed=5)
    logits = torch.randn(len(fake), 10, generator=torch.Generator().manual_seed(0))
    vals = registry.compute_metrics("fid,kid,is,pr,dc", real, fake, logits)
    plain = [m for m in registry.REGISTRY if m.needs != "labels"]  # labels: conditional G's
    assert set(vals) == {c for m in plain for c in m.columns}
    for m in plain:
        single = m.fn(real, fake, logits)
        assert tuple(single) == m.columns
        for k, v in single.items():
            assert v == pytest.approx(vals[k], rel=1e-9)
    assert vals["fid"] == pytest.approx(
        frechet_distance(*feature_stats(real), *feature_stats(fake))
    )
    # Real statistics alone are enough for FID.
    only = registry.compute_metrics(["fid"], None, fake, real_stats=feature_stats(real))
    assert only["fid"] == pytest.approx(vals["fid"], rel=1e-12)
    with pytest.raises(GanAnalyzeError, match="needs real features"):
        registry.compute_metrics("kid", None, fake, real_stats=feature_stats(real))
    with pytest.raises(GanAnalyzeError, match="logits"):
        registry.compute_metrics("is", real, fake, None)
    with pytest.raises(GanAnalyzeError, match="unknown metric"):
        registry.parse_metrics("fid,bogus")
    assert registry.parse_metrics(" FID, kid,fid ") == ["fid", "kid"]


def test_dimension_mismatch_is_a_user_error():
    with pytest.raises(GanAnalyzeError, match="dims"):
        sm.kid(np.ones((10, 3)), np.ones((10, 4)))
    with pytest.raises(GanAnalyzeError, match="more than 3 samples"):
        sm.precision_recall(np.random.rand(3, 2), np.random.rand(10, 2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    real, fake = _pair(n_real=800, n_fake=700, d=64, seed=6)
    cpu = sm.prdc(real, fake, chunk=128)
    gpu = sm.prdc(real, fake, chunk=128, device="cuda")
    for k in cpu:
        assert gpu[k] == pytest.approx(cpu[k], abs=2e-3)
    assert sm.kid(real, fake, num_subsets=5, subset_size=500, device="cuda")[0] == pytest.approx(
        sm.kid(real, fake, num_subsets=5, subset_size=500)[0], rel=1e-9
    )


def test_registry_entries_agree_with_the_naming_home():
    """One entry per metric; its direction is the one every page and rule reads by name."""
    assert [m.name for m in registry.REGISTRY] == ["fid", "kid", "is", "pr", "dc", "cfid", "cacc"]
    for m in registry.REGISTRY:
        assert m.ranks_by in m.value_columns
        for c in m.value_columns:
            assert higher_is_better(c) is m.higher_is_better, c
            assert registry.column_higher_is_better(c) is m.higher_is_better
    assert registry.SELECT_METRICS == (
        "fid",
        "kid",
        "is",
        "precision",
        "recall",
        "density",
        "coverage",
        "cfid",
        "cfid_worst",
        "cond_acc",
        "class_coverage",
    )
    assert registry.selected_column("pr") == "precision"
    assert registry.selected_column("dc") == "coverage"
    assert registry.selected_column("recall") == "recall"
    with pytest.raises(GanAnalyzeError, match="cannot select by 'loss'; choose from fid, kid"):
        registry.selected_column("loss")
    assert registry.stored_columns(["pr", "fid"]) == ["precision", "recall", "fid", "fid_std"]
