"""The 8x8 digits toy domain: data and the small GAN used by the sample runs.

scikit-learn ships the UCI handwritten digits (1,797 images, 8x8, 17 grey
levels) inside the package, so nothing is downloaded. `load_digits_images()`
returns them as float32 (N, 1, 8, 8) scaled to [-1, 1], the range of the
generator's tanh output. `Generator` and `Discriminator` are small MLPs; the
generator is built from plain keyword arguments only, so a run.json generator
spec ``{"target": "gananalyze.digits:Generator", "kwargs": {...}}`` rebuilds it
in a fresh process (gananalyze.metrics.checkpoints.build_generator).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

IMAGE_SHAPE = (1, 8, 8)
OUTPUT_RANGE = (-1.0, 1.0)


def load_digits_images(digits: list[int] | tuple[int, ...] | None = None) -> np.ndarray:
    """The scikit-learn digits as float32 (N, 1, 8, 8) in [-1, 1] (0 -> -1, 16 -> +1).

    digits: keep only these classes (all ten by default).
    """
    from sklearn.datasets import load_digits

    ds = load_digits()
    x = ds.images.astype(np.float32) / 8.0 - 1.0
    if digits is not None:
        x = x[np.isin(ds.target, list(digits))]
    return np.ascontiguousarray(x[:, None])


def load_digits_labels() -> np.ndarray:
    """The class label (0-9) of each image, in the order of load_digits_images()."""
    from sklearn.datasets import load_digits

    return load_digits().target.astype(np.int64)


class Generator(nn.Module):
    """MLP generator: z (latent_dim,) -> image (1, 8, 8) in [-1, 1] via tanh.

    hidden: width of each hidden layer; layers: number of hidden layers;
    batchnorm: BatchNorm1d after each hidden linear layer (off by default so that
    train and eval mode give the same samples).
    """

    def __init__(
        self, latent_dim: int = 16, hidden: int = 128, layers: int = 2, batchnorm: bool = False
    ):
        super().__init__()
        self.latent_dim = int(latent_dim)
        mods: list[nn.Module] = []
        width = self.latent_dim
        for _ in range(int(layers)):
            mods.append(nn.Linear(width, int(hidden)))
            if batchnorm:
                mods.append(nn.BatchNorm1d(int(hidden)))
            mods.append(nn.ReLU())
            width = int(hidden)
        mods += [nn.Linear(width, 64), nn.Tanh()]
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], -1)).reshape(z.shape[0], *IMAGE_SHAPE)


class Discriminator(nn.Module):
    """MLP discriminator: image (1, 8, 8) -> one logit (real is positive).

    dropout: dropout after each hidden LeakyReLU (0 disables it).
    """

    def __init__(self, hidden: int = 128, layers: int = 2, dropout: float = 0.0):
        super().__init__()
        mods: list[nn.Module] = []
        width = 64
        for _ in range(int(layers)):
            mods += [nn.Linear(width, int(hidden)), nn.LeakyReLU(0.2)]
            if dropout:
                mods.append(nn.Dropout(float(dropout)))
            width = int(hidden)
        mods.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.reshape(x.shape[0], -1)).reshape(-1)


class ConditionalGenerator(Generator):
    """Class-conditional MLP generator: G(z, y) with y the digit (a LongTensor of 0..classes-1).

    The label is embedded (`embed`, classes x embed_dim) and concatenated to z. Its spec:
    generator_spec("gananalyze.digits:ConditionalGenerator", kwargs, classes=10).
    label_map: a class table applied to y first (label_map[y]); the truth lab's
    class-dropping runs send one label to another class's row with it.
    """

    def __init__(
        self,
        latent_dim: int = 16,
        hidden: int = 128,
        layers: int = 2,
        batchnorm: bool = False,
        classes: int = 10,
        embed_dim: int = 16,
        label_map: list[int] | None = None,
    ):
        super().__init__(latent_dim + int(embed_dim), hidden, layers, batchnorm)
        self.latent_dim = int(latent_dim)
        self.embed = nn.Embedding(int(classes), int(embed_dim))
        table = list(range(int(classes))) if label_map is None else [int(v) for v in label_map]
        self.register_buffer("label_map", torch.tensor(table, dtype=torch.int64), persistent=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = self.label_map[y.long()]
        h = torch.cat([z.reshape(z.shape[0], -1), self.embed(y)], dim=1)
        return super().forward(h)


class ConditionalDiscriminator(Discriminator):
    """Class-conditional MLP discriminator: D(x, y) sees the image and the one-hot label."""

    def __init__(self, hidden: int = 128, layers: int = 2, dropout: float = 0.0, classes: int = 10):
        super().__init__(hidden, layers, dropout)
        self.classes = int(classes)
        first = self.net[0]
        self.net[0] = nn.Linear(first.in_features + self.classes, first.out_features)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = torch.cat(
            [x.reshape(x.shape[0], -1), nn.functional.one_hot(y.long(), self.classes).float()],
            dim=1,
        )
        return self.net(h).reshape(-1)


def fixed_noise(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """The fixed noise batch (n, latent_dim) drawn from N(0, 1) with its own generator seed."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(int(n), int(latent_dim), generator=g)


def mean_pairwise_distance(images: np.ndarray | torch.Tensor) -> float:
    """Mean Euclidean distance between all pairs of images (flattened): sample diversity."""
    x = torch.as_tensor(np.asarray(images), dtype=torch.float64).reshape(len(images), -1)
    n = x.shape[0]
    if n < 2:
        return 0.0
    d = torch.cdist(x, x)
    return float(d.sum() / (n * (n - 1)))
