"""Sample-quality metrics computed from feature vectors (and classifier logits).

Owns KID, Inception Score, precision/recall, density/coverage and the functions
that the sample-metric registry (gananalyze.metrics.registry) runs; FID's formula
lives in gananalyze.metrics.fid.

Conventions (chosen so numbers agree with the reference implementations):
- KID: unbiased MMD² with the polynomial kernel k(x, y) = (γ xᵀy + c)^degree,
  γ = 1/D, c = 1, degree 3, averaged over `num_subsets` random subsets of
  `subset_size` (torch-fidelity and StyleGAN defaults: 100 x 1000). The subsets
  are drawn exactly as torch-fidelity draws them (NumPy RandomState(seed),
  generated subset first), so with the same seed the values are the same; std is
  the population std over subsets. subset_size is clipped to the smaller set.
- Inception Score: exp(E_x KL(p(y|x) ‖ p(y))) over `splits` splits of the
  logits' softmax, mean and std over splits; samples are shuffled with
  RandomState(seed) first, as torch-fidelity does.
- Precision/recall (Kynkäänniemi et al. 2019): a sample is inside a set's
  manifold when its distance to some member is <= that member's distance to
  its k-th nearest neighbour (k = 3; `<=` as torch-fidelity).
- Density/coverage (Naeem et al. 2020, k = 5): density = (1 / kM) Σ_fake
  #{real balls containing it}; coverage = fraction of real samples whose ball
  contains at least one fake sample; strict `<` as in the paper's code. For two
  samples of the same distribution density ≈ 1 and coverage ≈ 1 - (1/2)^k.

Distances are computed in blocks of `chunk` rows with torch (any device), so
10k x 10k x 2048 never materialises a full distance matrix: memory is
O(chunk x N). One pass over the real-fake blocks serves all four manifold
metrics when `prdc` is called.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import GanAnalyzeError
from .fid import feature_stats, fid_few_samples, frechet_distance

DEFAULT_SEED = 2020  # torch-fidelity's default rng_seed


def _as_tensor(x, device, dtype=torch.float32) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        t = torch.from_numpy(np.ascontiguousarray(np.asarray(x)))
    if t.ndim != 2:
        raise GanAnalyzeError(f"features must be 2-D (samples, dims), got shape {tuple(t.shape)}")
    return t.to(device=device, dtype=dtype)


def _check_pair(real: torch.Tensor, fake: torch.Tensor) -> None:
    if real.shape[1] != fake.shape[1]:
        raise GanAnalyzeError(
            f"real features have {real.shape[1]} dims, fake features {fake.shape[1]} "
            "(computed with different extractors?)"
        )


# --------------------------------------------------------------------------- KID


def _mmd2_unbiased(k_xx: torch.Tensor, k_xy: torch.Tensor, k_yy: torch.Tensor) -> float:
    m = k_xx.shape[0]
    s_xx = k_xx.sum() - k_xx.diagonal().sum()
    s_yy = k_yy.sum() - k_yy.diagonal().sum()
    return float((s_xx + s_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kid(
    real_feats,
    fake_feats,
    num_subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    seed: int = DEFAULT_SEED,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float64,
) -> tuple[float, float]:
    """Kernel Inception Distance: (mean, std) of unbiased MMD² over random subsets.

    Computed in float64 by default (`dtype`); on a GPU float32 is faster and
    agrees to ~1e-4 relative.
    """
    real = _as_tensor(real_feats, device, dtype)
    fake = _as_tensor(fake_feats, device, dtype)
    _check_pair(real, fake)
    n_r, n_f = real.shape[0], fake.shape[0]
    m = min(int(subset_size), n_r, n_f)
    if m < 2:
        raise GanAnalyzeError(
            f"KID needs at least 2 samples per set, got {n_r} real and {n_f} fake"
        )
    g = 1.0 / real.shape[1] if gamma is None else float(gamma)
    rng = np.random.RandomState(seed)
    mmds = np.zeros(int(num_subsets))
    for i in range(int(num_subsets)):
        # Same draw order as torch-fidelity's kid_features_to_metric(generated, real).
        idx_f = torch.from_numpy(rng.choice(n_f, m, replace=False)).to(fake.device)
        idx_r = torch.from_numpy(rng.choice(n_r, m, replace=False)).to(real.device)
        x, y = fake[idx_f], real[idx_r]
        k_xx = (x @ x.T * g + coef0) ** degree
        k_yy = (y @ y.T * g + coef0) ** degree
        k_xy = (x @ y.T * g + coef0) ** degree
        mmds[i] = _mmd2_unbiased(k_xx, k_xy, k_yy)
    return float(mmds.mean()), float(mmds.std())


# ------------------------------------------------------------------ Inception Score


def inception_score(
    logits, splits: int = 10, shuffle: bool = True, seed: int = DEFAULT_SEED
) -> tuple[float, float]:
    """Inception Score (mean, std over splits) from class logits (N, C), in float64.

    For Inception these are pytorch-fid's 1008-way logits as the original IS code
    and torch-fidelity take them (pool3 @ fc.weight, no bias; see features.py).
    Any classifier's logits work (the digits extractor gives an IS-like score
    with at most 10).
    """
    lg = _as_tensor(logits, "cpu", torch.float64)
    n = lg.shape[0]
    if n < splits:
        raise GanAnalyzeError(
            f"Inception Score needs at least {splits} samples (one per split), got {n}"
        )
    if shuffle:
        lg = lg[torch.from_numpy(np.random.RandomState(seed).permutation(n))]
    p = lg.softmax(dim=1)
    log_p = lg.log_softmax(dim=1)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        pc, lpc = p[lo:hi], log_p[lo:hi]
        q = pc.mean(dim=0, keepdim=True)
        kl = (pc * (lpc - q.log())).sum(dim=1).mean()
        scores.append(float(kl.exp()))
    return float(np.mean(scores)), float(np.std(scores))


# ------------------------------------------------- k-NN manifold metrics (PR, DC)


def _kth_nn_radii(x: torch.Tensor, ks: list[int], chunk: int) -> dict[int, torch.Tensor]:
    """Distance of each row of x to its k-th nearest other row, for each k in ks.

    The row itself (distance 0) counts as the 0-th neighbour, as in both papers' code.
    """
    kmax = max(ks)
    if x.shape[0] <= kmax:
        raise GanAnalyzeError(
            f"k-NN metrics with k={kmax} need more than {kmax} samples, got {x.shape[0]}"
        )
    parts: dict[int, list[torch.Tensor]] = {k: [] for k in ks}
    for lo in range(0, x.shape[0], chunk):
        d = torch.cdist(x[lo : lo + chunk], x)
        vals = d.topk(kmax + 1, dim=1, largest=False).values  # sorted ascending
        for k in ks:
            parts[k].append(vals[:, k])
    return {k: torch.cat(v) for k, v in parts.items()}


def prdc(
    real_feats,
    fake_feats,
    k_pr: int | None = 3,
    k_dc: int | None = 5,
    chunk: int = 1024,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> dict[str, float]:
    """Precision/recall (k_pr) and density/coverage (k_dc) in one pass over the distances.

    Pass k_pr=None or k_dc=None to skip that pair. Returns a dict with the keys
    "precision", "recall", "density", "coverage" (those requested).
    """
    if k_pr is None and k_dc is None:
        return {}
    real = _as_tensor(real_feats, device, dtype)
    fake = _as_tensor(fake_feats, device, dtype)
    _check_pair(real, fake)
    ks_real = [k for k in (k_pr, k_dc) if k is not None]
    r_real = _kth_nn_radii(real, sorted(set(ks_real)), chunk)
    r_fake = _kth_nn_radii(fake, [k_pr], chunk)[k_pr] if k_pr is not None else None

    n_r, n_f = real.shape[0], fake.shape[0]
    dev = real.device
    fake_in_real = torch.zeros(n_f, dtype=torch.bool, device=dev)  # precision
    real_in_fake = torch.zeros(n_r, dtype=torch.bool, device=dev)  # recall
    density_count = torch.zeros((), dtype=torch.float64, device=dev)
    real_covered = torch.zeros(n_r, dtype=torch.bool, device=dev)  # coverage
    for lo in range(0, n_r, chunk):
        hi = min(lo + chunk, n_r)
        for flo in range(0, n_f, chunk):
            fhi = min(flo + chunk, n_f)
            d = torch.cdist(real[lo:hi], fake[flo:fhi])  # (real block, fake block)
            if k_pr is not None:
                fake_in_real[flo:fhi] |= (d <= r_real[k_pr][lo:hi, None]).any(dim=0)
                real_in_fake[lo:hi] |= (d <= r_fake[None, flo:fhi]).any(dim=1)
            if k_dc is not None:
                inside = d < r_real[k_dc][lo:hi, None]
                density_count += inside.sum(dtype=torch.float64)
                real_covered[lo:hi] |= inside.any(dim=1)
    out: dict[str, float] = {}
    if k_pr is not None:
        out["precision"] = float(fake_in_real.double().mean())
        out["recall"] = float(real_in_fake.double().mean())
    if k_dc is not None:
        out["density"] = float(density_count / (k_dc * n_f))
        out["coverage"] = float(real_covered.double().mean())
    return out


def precision_recall(real, fake, k: int = 3, **kw) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019): (precision, recall)."""
    r = prdc(real, fake, k_pr=k, k_dc=None, **kw)
    return r["precision"], r["recall"]


def density_coverage(real, fake, k: int = 5, **kw) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020): (density, coverage)."""
    r = prdc(real, fake, k_pr=None, k_dc=k, **kw)
    return r["density"], r["coverage"]


# ------------------------------------------------------------------- the metric functions
# (registered, with what they need and store, in gananalyze.metrics.registry)


def need(x, what: str, metric: str):
    if x is None:
        raise GanAnalyzeError(f"metric {metric!r} needs {what}")
    return x


def fid_metric(
    real, fake, fake_logits=None, *, real_stats=None, device="cpu", **_kw
) -> dict[str, float]:
    """FID of `fake` against the real statistics, and fid_std, its split-half uncertainty.

    fid_std = |FID(first half) - FID(second half)| / 2: the two halves' FIDs differ by
    about sqrt(2) x the spread of a FID on n/2 samples, which is about sqrt(2) x the
    spread on n, so half the difference is of the order of the n-sample FID's own
    standard deviation (a one-pair estimate: the rules pool it over evaluations).
    NaN with fewer than 4 samples.
    """
    if real_stats is None:
        real_stats = feature_stats(need(real, "real features or statistics", "fid"))
    n = int(fake.shape[0])
    halves = (fake[: n // 2], fake[n // 2 :]) if n >= 4 else ()
    out = {"fid": _fid_one(fake, real_stats, device)}
    parts = [_fid_one(h, real_stats, device) for h in halves]
    out["fid_std"] = abs(parts[0] - parts[1]) / 2.0 if parts else float("nan")
    return out


def _fid_one(fake, real_stats, device) -> float:
    if 2 <= fake.shape[0] < fake.shape[1]:
        # fewer samples than dimensions: an n x n problem suffices

        def host(a):
            return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)

        return fid_few_samples(host(fake), *(host(s) for s in real_stats))
    # On a GPU the linear algebra runs there (float64); on CPU NumPy/SciPy's LAPACK.
    la_device = None if torch.device(device).type == "cpu" else device
    return frechet_distance(*real_stats, *feature_stats(fake), device=la_device)


def kid_metric(real, fake, fake_logits=None, *, device="cpu", **_kw) -> dict[str, float]:
    mean, std = kid(need(real, "real features (not only statistics)", "kid"), fake, device=device)
    return {"kid": mean, "kid_std": std}


def is_metric(real, fake, fake_logits=None, **_kw) -> dict[str, float]:
    mean, std = inception_score(need(fake_logits, "an extractor with logits", "is"))
    return {"is": mean, "is_std": std}


def pr_metric(real, fake, fake_logits=None, *, device="cpu", **_kw) -> dict[str, float]:
    return prdc(
        need(real, "real features (not only statistics)", "pr"), fake, 3, None, device=device
    )


def dc_metric(real, fake, fake_logits=None, *, device="cpu", **_kw) -> dict[str, float]:
    return prdc(
        need(real, "real features (not only statistics)", "dc"), fake, None, 5, device=device
    )
