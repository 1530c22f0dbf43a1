"""The ring of 8 Gaussians: the 2-D toy domain of the vector sample run.

`ring_points(n, seed)` draws n points from 8 Gaussians (std `MODE_STD`) evenly
spaced on a circle of radius `RADIUS` (the mixture used since Metz et al.'s
unrolled GAN paper to show mode collapse). `Generator` and `Discriminator` are
small MLPs built from plain keyword arguments only, so a run.json generator spec
``{"target": "gananalyze.toyring:Generator", "kwargs": {...}}`` rebuilds G in a
fresh process (stored runs name this module: keep its path).

The conditional ring: the label is the mode (`ring_points(..., labels=True)` returns
each point's mode); `ConditionalGenerator` G(z, y) and `ConditionalDiscriminator`
D(x, y) see it (spec: generator_spec("gananalyze.toyring:ConditionalGenerator", kwargs,
classes=8)).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MODES = 8
RADIUS = 2.0
MODE_STD = 0.05


def ring_points(
    n: int, seed: int = 0, modes: list[int] | None = None, labels: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """n points (float32, (n, 2)) from the ring's Gaussians (all 8, or only `modes`);
    with labels=True, (points, the mode of each point as int64)."""
    rng = np.random.default_rng(seed)
    k = rng.choice(list(range(MODES)) if modes is None else list(modes), n)
    angle = 2 * np.pi * k / MODES
    centre = np.c_[RADIUS * np.cos(angle), RADIUS * np.sin(angle)]
    x = (centre + rng.normal(0, MODE_STD, (n, 2))).astype(np.float32)
    return (x, k.astype(np.int64)) if labels else x


class Generator(nn.Module):
    """MLP generator: z (latent_dim,) -> a point (2,) (linear output)."""

    def __init__(self, latent_dim: int = 2, hidden: int = 128, layers: int = 2):
        super().__init__()
        mods: list[nn.Module] = []
        width = int(latent_dim)
        for _ in range(int(layers)):
            mods += [nn.Linear(width, int(hidden)), nn.ReLU()]
            width = int(hidden)
        mods.append(nn.Linear(width, 2))
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1))


class Discriminator(nn.Module):
    """MLP discriminator: a point (2,) -> one logit (real is positive)."""

    def __init__(self, hidden: int = 128, layers: int = 2):
        super().__init__()
        mods: list[nn.Module] = []
        width = 2
        for _ in range(int(layers)):
            mods += [nn.Linear(width, int(hidden)), nn.LeakyReLU(0.2)]
            width = int(hidden)
        mods.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).reshape(-1)


class ConditionalGenerator(Generator):
    """G(z, y): the mode y (a LongTensor of 0..classes-1) is embedded (`embed`) and
    concatenated to z."""

    def __init__(
        self,
        latent_dim: int = 2,
        hidden: int = 128,
        layers: int = 2,
        classes: int = MODES,
        embed_dim: int = 8,
    ):
        super().__init__(int(latent_dim) + int(embed_dim), hidden, layers)
        self.embed = nn.Embedding(int(classes), int(embed_dim))

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return super().forward(torch.cat([z.reshape(z.shape[0], -1), self.embed(y.long())], 1))


class ConditionalDiscriminator(Discriminator):
    """D(x, y): the point and its one-hot mode."""

    def __init__(self, hidden: int = 128, layers: int = 2, classes: int = MODES):
        super().__init__(hidden, layers)
        self.classes = int(classes)
        first = self.net[0]
        self.net[0] = nn.Linear(first.in_features + self.classes, first.out_features)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        onehot = nn.functional.one_hot(y.long(), self.classes).float()
        return self.net(torch.cat([x, onehot], 1)).reshape(-1)
