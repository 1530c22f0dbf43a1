"""Fréchet distance between two Gaussians fitted to feature sets (the FID formula).

Owns the statistics (`feature_stats`: mean and N-1 covariance in float64, as
pytorch-fid computes them) and the distance itself (`frechet_distance`).

    d² = |mu1 - mu2|² + Tr(S1) + Tr(S2) - 2 Tr sqrt(S1 S2)

pytorch-fid evaluates the last term with `scipy.linalg.sqrtm` of the
non-symmetric product S1 S2: slow (a Schur decomposition of a general matrix),
prone to spurious imaginary parts, and its `disp` argument is gone in SciPy 1.18.
Only the trace is needed, and S1 S2 is similar to the symmetric positive
semi-definite matrix A = Lᵀ S2 L (S1 = L Lᵀ, Cholesky), so

    Tr sqrt(S1 S2) = Σ sqrt(λ_i(A))

needs one Cholesky factorisation, two matrix products and a symmetric eigenvalue
solve (`eigvalsh`). When S1 is singular (fewer samples than dimensions) the
Cholesky factorisation fails and we use the symmetric square root instead,
A = S1^½ S2 S1^½ with S1^½ from `eigh` (eigenvalues clipped at 0). Tiny negative
eigenvalues of A from rounding (below the numerical-rank tolerance
d·eps·λ_max) count as 0, so the result is always finite and real.
"""

from __future__ import annotations

import numpy as np

from ..errors import GanAnalyzeError


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), in float64.

    The covariance is `np.cov(rowvar=False)` (divides by N-1), as pytorch-fid's
    `calculate_activation_statistics`. Accepts a NumPy array or a torch tensor;
    a tensor on a GPU is reduced there (float64), only (D,) + (D, D) come back.
    """
    if hasattr(features, "detach"):  # torch tensor
        if features.device.type != "cpu" and features.ndim == 2 and features.shape[0] >= 2:
            x = features.detach().double()
            mu = x.mean(dim=0)
            xc = x - mu
            sigma = (xc.T @ xc) / (x.shape[0] - 1)
            return mu.cpu().numpy(), sigma.cpu().numpy()
        features = features.detach().cpu().numpy()
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise GanAnalyzeError(f"features must be a 2-D array (samples, dims), got shape {x.shape}")
    if x.shape[0] < 2:
        raise GanAnalyzeError(f"need at least 2 feature vectors for a covariance, got {x.shape[0]}")
    mu = x.mean(axis=0)
    sigma = np.cov(x, rowvar=False)
    return mu, np.atleast_2d(sigma)


def _sum_sqrt_eigs(lam: np.ndarray) -> float:
    """Σ sqrt(λ) over the eigenvalues of a symmetric PSD matrix.

    Eigenvalues at rounding level are zeros of a rank-deficient product (fewer
    samples than dims); their square roots (~1e-8 each) would add up to a
    spurious bias, so they count as 0 (the usual numerical-rank tolerance
    d·eps·λ_max); negative ones are rounding too.
    """
    tol = max(float(lam.max(initial=0.0)), 0.0) * lam.shape[0] * np.finfo(np.float64).eps
    return float(np.sqrt(np.where(lam > tol, lam, 0.0)).sum())


def _trace_sqrt_numpy(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    from scipy.linalg import blas, eigh

    a = None
    # The eigenvalues of S1 S2 and S2 S1 are the same: factor whichever is positive definite.
    for s, t in ((sigma1, sigma2), (sigma2, sigma1)):
        try:
            L = np.linalg.cholesky(s)
        except np.linalg.LinAlgError:
            continue
        # A = Lᵀ T L with two triangular products (half the flops of two GEMMs)
        a = blas.dtrmm(1.0, L, blas.dtrmm(1.0, L, t, side=1, lower=1), side=0, lower=1, trans_a=1)
        break
    if a is None:  # both singular (e.g. fewer samples than dims): symmetric square root
        w, v = np.linalg.eigh(sigma1)
        r = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
        a = r @ sigma2 @ r
    a = 0.5 * (a + a.T)
    return _sum_sqrt_eigs(eigh(a, eigvals_only=True, check_finite=False, driver="evd"))


def _trace_sqrt_torch(sigma1: np.ndarray, sigma2: np.ndarray, device) -> float:
    import torch

    s1 = torch.as_tensor(sigma1, dtype=torch.float64, device=device)
    s2 = torch.as_tensor(sigma2, dtype=torch.float64, device=device)
    a = None
    for s, t in ((s1, s2), (s2, s1)):
        L, info = torch.linalg.cholesky_ex(s)
        if int(info) == 0:
            a = L.T @ t @ L
            break
    if a is None:
        w, v = torch.linalg.eigh(s1)
        r = (v * w.clamp(min=0).sqrt()) @ v.T
        a = r @ s2 @ r
    a = 0.5 * (a + a.T)
    return _sum_sqrt_eigs(torch.linalg.eigvalsh(a).cpu().numpy())


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, device=None) -> float:
    """Tr sqrt(sigma1 @ sigma2) for symmetric PSD matrices, from a symmetric eigenproblem.

    device None: NumPy/SciPy (LAPACK); a torch device ("cuda", "cpu"): torch in float64.
    """
    if device is None:
        return _trace_sqrt_numpy(sigma1, sigma2)
    return _trace_sqrt_torch(sigma1, sigma2, device)


def frechet_distance(mu1, sigma1, mu2, sigma2, device=None) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in float64.

    Same value as pytorch-fid's `calculate_frechet_distance` (to ~1e-12
    relative on well-conditioned inputs) without `scipy.linalg.sqrtm`; finite and
    real for singular covariances as well. device: None computes with
    NumPy/SciPy; a torch device (e.g. "cuda") does the linear algebra there, in float64.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise GanAnalyzeError(
            f"statistics do not match: mu1 {mu1.shape}, sigma1 {sigma1.shape}, "
            f"mu2 {mu2.shape}, sigma2 {sigma2.shape} (different feature extractors?)"
        )
    for name, arr in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.all(np.isfinite(arr)):
            raise GanAnalyzeError(f"{name} contains NaN or Inf (non-finite features?)")
    diff = mu1 - mu2
    tr_covmean = trace_sqrt_product(sigma1, sigma2, device)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def fid_few_samples(fake: np.ndarray, mu_real: np.ndarray, sigma_real: np.ndarray) -> float:
    """FID when the fake set has fewer samples n than dimensions D, in O(n D²) instead of O(D³).

    The fake covariance is S1 = AᵀA with A = (X - mu) / sqrt(n - 1) (n x D), so
    Tr S1 = ‖A‖²_F and the nonzero eigenvalues of S1 S2 are those of the
    symmetric n x n matrix A S2 Aᵀ: Tr sqrt(S1 S2) = Σ sqrt(λ(A S2 Aᵀ)). Same value
    as frechet_distance of the statistics (to rounding), without
    the D x D eigendecomposition that dominates small-sample sweeps.
    """
    x = np.asarray(fake, dtype=np.float64)
    n = x.shape[0]
    mu = x.mean(axis=0)
    a = (x - mu) / np.sqrt(n - 1)
    m = a @ np.asarray(sigma_real, dtype=np.float64) @ a.T
    lam = np.linalg.eigvalsh(0.5 * (m + m.T))
    diff = mu - np.asarray(mu_real, dtype=np.float64)
    return float(
        diff @ diff
        + np.sum(a * a)
        + np.trace(sigma_real)
        - 2.0 * np.sqrt(np.clip(lam, 0.0, None)).sum()
    )


def fid_from_features(real_features, fake_features) -> float:
    """FID between two feature sets (N, D): `frechet_distance` of their `feature_stats`."""
    return frechet_distance(*feature_stats(real_features), *feature_stats(fake_features))
