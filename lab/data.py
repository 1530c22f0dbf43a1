"""The lab's datasets, all generated or bundled, fixed by seed: a ring of 8 and a 3x3 grid
of Gaussians (2-D mixtures, sigma 0.1), scikit-learn's 8x8 digits scaled to [-1, 1], and a small
5-column table with known correlations and shapes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RING_RADIUS, MIX_STD = 2.0, 0.1


@dataclass
class Dataset:
    name: str
    kind: str  # "mixture" | "digits" | "table"
    x: np.ndarray  # (N, D) float32, what G learns to produce
    centres: np.ndarray | None = None  # mixture modes
    columns: tuple[str, ...] = ()


def _mixture(name: str, centres: np.ndarray, n: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(centres), n)
    x = centres[k] + rng.normal(0, MIX_STD, (n, 2))
    return Dataset(name, "mixture", x.astype(np.float32), centres.astype(np.float32), ("x", "y"))


def ring8(n: int = 4000, seed: int = 0) -> Dataset:
    a = np.arange(8) * 2 * np.pi / 8
    return _mixture("ring8", RING_RADIUS * np.c_[np.cos(a), np.sin(a)], n, seed)


def grid9(n: int = 4000, seed: int = 0) -> Dataset:
    g = np.array([(i, j) for i in (-2.0, 0.0, 2.0) for j in (-2.0, 0.0, 2.0)])
    return _mixture("grid9", g, n, seed)


def digits() -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.data / 16.0) * 2 - 1
    return Dataset("digits", "digits", x.astype(np.float32))


def digit_labels() -> np.ndarray:
    from sklearn.datasets import load_digits

    return load_digits().target


def table(n: int = 2000, seed: int = 0) -> Dataset:
    """Five columns: a normal, a correlated normal, a skewed (log-normal), a bimodal and an
    anti-correlated one; standardised."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, n)
    b = 0.8 * a + 0.6 * rng.normal(0, 1, n)
    c = np.exp(0.6 * rng.normal(0, 1, n))
    d = np.where(rng.random(n) < 0.4, -1.5, 1.5) + 0.3 * rng.normal(0, 1, n)
    e = -0.7 * b + 0.5 * rng.normal(0, 1, n)
    x = np.c_[a, b, c, d, e]
    x = (x - x.mean(0)) / x.std(0)
    return Dataset("table", "table", x.astype(np.float32), None, ("a", "b", "c", "d", "e"))


def load(name: str) -> Dataset:
    return {"ring8": ring8, "grid9": grid9, "digits": digits, "table": table}[name]()
