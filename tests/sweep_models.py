"""Small models and runs for the fid-sweep tests (importable from subprocesses too).

`TinyFeatures` is a fixed random feature network (16-d features, 5 logits)
saved as TorchScript, so the tests do not depend on the shipped digits network
or on Inception weights. `make_run` writes a native run whose generator is
gananalyze.digits:Generator, with one checkpoint per step (different weights).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F


class TinyFeatures(torch.nn.Module):
    """Images (N, C, H, W) in [0, 1] -> grey 8x8 -> tanh(linear) features (16) and logits (5)."""

    def __init__(self, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w = torch.nn.Parameter(torch.randn(64, 16, generator=g) / 4)
        self.b = torch.nn.Parameter(torch.randn(16, generator=g))
        self.v = torch.nn.Parameter(torch.randn(16, 5, generator=g))
        self.dims = 16
        self.has_logits = True

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.interpolate(x.mean(1, keepdim=True), size=(8, 8), mode="area").flatten(1)
        f = torch.tanh(x @ self.w + self.b)
        return f, f @ self.v


def save_tiny_features(path: Path, seed: int = 0) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(TinyFeatures(seed)), str(path))
    return Path(path)


def make_run(
    path: Path,
    steps: tuple[int, ...] = (0, 100, 200, 300),
    latent_dim: int = 8,
    noise_seed: int = 3,
) -> Path:
    """A native run with a digits MLP generator checkpoint at each step."""
    from gananalyze import RunLog, generator_spec
    from gananalyze.digits import Generator

    spec = generator_spec(
        "gananalyze.digits:Generator",
        {"latent_dim": latent_dim, "hidden": 32},
        latent_shape=(latent_dim,),
        noise_seed=noise_seed,
    )
    with RunLog(path, generator=spec) as log:
        for i, step in enumerate(steps):
            torch.manual_seed(100 + i)
            G = Generator(latent_dim=latent_dim, hidden=32)
            with (
                torch.no_grad()
            ):  # later checkpoints: larger output weights, more spread-out samples
                G.net[-2].weight.mul_(1 + i)
            log.scalars(step, G_loss=1.0 + i)
            log.checkpoint(step, G)
    return Path(path)
