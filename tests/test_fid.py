"""Fréchet distance: parity with pytorch-fid, singular covariances, hand-checkable values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gananalyze.errors import GanAnalyzeError
from gananalyze.metrics.fid import (
    feature_stats,
    fid_from_features,
    frechet_distance,
    trace_sqrt_product,
)


def _features(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)  # correlated features
    return (rng.normal(size=(n, d)) @ mix) * scale + shift


def test_feature_stats_match_numpy_cov_and_accept_tensors():
    x = _features(50, 6, 0)
    mu, sigma = feature_stats(x)
    assert mu.dtype == np.float64 and sigma.shape == (6, 6)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), rtol=1e-13)
    np.testing.assert_allclose(sigma * 49 / 50, np.cov(x, rowvar=False, bias=True), rtol=1e-12)
    mu_t, sigma_t = feature_stats(torch.from_numpy(x.astype(np.float32)))
    np.testing.assert_allclose(mu_t, mu, atol=1e-6)
    np.testing.assert_allclose(sigma_t, sigma, atol=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pytorch-fid's sqrtm(disp=False)
@pytest.mark.parametrize("n,d", [(400, 32), (1000, 256)])
def test_matches_pytorch_fid(n, d):
    from pytorch_fid.fid_score import calculate_frechet_distance

    s1 = feature_stats(_features(n, d, 1))
    s2 = feature_stats(_features(n, d, 2, shift=0.05, scale=1.2))
    ours = frechet_distance(*s1, *s2)
    ref = calculate_frechet_distance(*s1, *s2)
    assert ours > 0.1
    assert abs(ours - ref) <= 1e-6 * abs(ref)


def test_hand_checkable_diagonal_gaussians():
    # Commuting covariances: d^2 = |mu1-mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    a = np.array([1.0, 4.0, 9.0])
    b = np.array([4.0, 1.0, 0.25])
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 2.0])
    expected = 9.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 0.5) ** 2
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)
    assert frechet_distance(mu2, np.diag(b), mu1, np.diag(a)) == pytest.approx(expected, rel=1e-12)


def test_singular_covariances_stay_finite_and_exact():
    # Zero variances make both covariances singular: the eigh fallback must still be exact.
    a = np.array([1.0, 0.0, 9.0, 0.0])
    b = np.array([4.0, 2.0, 0.0, 0.0])
    expected = 1.0 + 2.0 + 9.0
    assert trace_sqrt_product(np.diag(a), np.diag(b)) == pytest.approx(2.0, abs=1e-12)
    assert frechet_distance(np.zeros(4), np.diag(a), np.zeros(4), np.diag(b)) == pytest.approx(
        expected, abs=1e-10
    )


def test_fewer_samples_than_dims():
    d = 64
    x = _features(20, d, 3)  # rank 19 covariance
    y = _features(30, d, 4, shift=0.3)
    mu1, s1 = feature_stats(x)
    assert np.linalg.matrix_rank(s1) < d
    v = fid_from_features(x, y)
    assert np.isfinite(v) and isinstance(v, float) and v > 0
    # Identical singular statistics: distance 0 (up to rounding), never negative garbage.
    assert abs(frechet_distance(mu1, s1, mu1, s1)) < 1e-8 * np.trace(s1)
    # Cross-check the trace term against the eigenvalues of the non-symmetric product.
    mu2, s2 = feature_stats(y)
    lam = np.linalg.eigvals(s1 @ s2).real
    ref = np.sqrt(np.clip(lam, 0, None)).sum()
    assert trace_sqrt_product(s1, s2) == pytest.approx(ref, rel=1e-6)


def test_errors_are_user_errors():
    mu, s = feature_stats(_features(10, 4, 0))
    with pytest.raises(GanAnalyzeError, match="do not match"):
        frechet_distance(mu, s, mu[:3], s[:3, :3])
    bad = s.copy()
    bad[0, 0] = np.nan
    with pytest.raises(GanAnalyzeError, match="NaN"):
        frechet_distance(mu, bad, mu, s)
    with pytest.raises(GanAnalyzeError, match="at least 2"):
        feature_stats(np.ones((1, 4)))


@pytest.mark.parametrize("singular", [False, True])
def test_torch_backend_matches_numpy(singular):
    n = 20 if singular else 300
    s1 = feature_stats(_features(n, 48, 5))
    s2 = feature_stats(_features(n, 48, 6, shift=0.2))
    ref = frechet_distance(*s1, *s2)
    assert frechet_distance(*s1, *s2, device="cpu") == pytest.approx(ref, rel=1e-9)
    if torch.cuda.is_available():
        assert frechet_distance(*s1, *s2, device="cuda") == pytest.approx(ref, rel=1e-9)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_feature_stats_on_gpu_match_numpy():
    x = _features(500, 32, 7)
    mu, s = feature_stats(x)
    mu_g, s_g = feature_stats(torch.from_numpy(x).cuda())
    np.testing.assert_allclose(mu_g, mu, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(s_g, s, rtol=1e-10, atol=1e-13)
