"""Generating samples: the fixed noise, G's outputs as images in [0, 1] (the sweep's
and the t-SNE's: `sample_images`).

Sample i's latent depends only on (seed, i), so any batch size, any number of
processes and any resumed sweep draw exactly the same samples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..errors import GanAnalyzeError
from ..run import Checkpoint, Run
from ..runio.labels import read_condition
from ..textfmt import fmt_pct
from .checkpoints import build_generator, load_stylegan_pickle

NOISE_CHUNK = 1024


class Noise:
    """The fixed noise of a sweep: sample i's latent depends only on (seed, i)."""

    def __init__(self, seed: int, latent_shape: Sequence[int], chunk: int = NOISE_CHUNK):
        self.seed = int(seed)
        self.shape = tuple(int(s) for s in latent_shape)
        self.chunk = int(chunk)
        self._cache: dict[int, torch.Tensor] = {}

    def _chunk(self, j: int) -> torch.Tensor:
        if j not in self._cache:
            if len(self._cache) > 4:
                self._cache.clear()
            s = (
                int.from_bytes(
                    hashlib.sha256(f"gananalyze-noise:{self.seed}:{j}".encode()).digest()[:8],
                    "little",
                )
                >> 1
            )
            g = torch.Generator().manual_seed(s)
            self._cache[j] = torch.randn((self.chunk, *self.shape), generator=g)
        return self._cache[j]

    def get(self, start: int, stop: int) -> torch.Tensor:
        """Latents of samples start..stop-1, float32 on CPU."""
        parts = []
        i = start
        while i < stop:
            j, off = divmod(i, self.chunk)
            take = min(stop - i, self.chunk - off)
            parts.append(self._chunk(j)[off : off + take])
            i += take
        return torch.cat(parts) if len(parts) > 1 else parts[0].clone()


def to_unit(
    x: torch.Tensor, output_range: Sequence[float] = (-1.0, 1.0), quantize: bool = True
) -> torch.Tensor:
    """Generator output -> float32 images in [0, 1], optionally rounded to 8 bits.

    The operations are those of torchvision's save_image(normalize=True,
    value_range=output_range) followed by reading the PNG with PIL and
    to_tensor: clamp, shift, divide, x*255+0.5 truncated to uint8, /255. So a
    quantized sample equals, bit for bit, the same sample after a PNG round trip.
    """
    lo, hi = float(output_range[0]), float(output_range[1])
    x = x.float()
    if (lo, hi) != (0.0, 1.0):
        x = x.clamp(lo, hi).sub(lo).div(max(hi - lo, 1e-5))
    else:
        x = x.clamp(0.0, 1.0)
    if quantize:
        x = x.mul(255).add(0.5).clamp(0, 255).floor().div(255)
    return x


def fake_labels(start: int, stop: int, classes: int) -> torch.Tensor:
    """The class asked of samples start..stop-1 of a conditional sweep: sample i is class
    i % classes, so every class gets its share whatever the batching."""
    return torch.arange(start, stop, dtype=torch.int64) % int(classes)


def conditioned(G: Callable[..., Any], condition: dict[str, Any] | None) -> Callable[..., Any]:
    """(z, labels) -> G's output, passing the labels as the spec's condition says
    (runio.labels: int or one-hot, keyword or the positional argument after z); an
    unconditional G (condition None) is called with z alone."""
    if condition is None:
        return lambda z, y=None: G(z)
    k, arg = int(condition["classes"]), condition["argument"]

    def call(z: torch.Tensor, y: torch.Tensor) -> Any:
        y = y.to(z.device)
        lab = torch.nn.functional.one_hot(y, k).float() if condition["encoding"] == "onehot" else y
        return G(z, **{arg: lab}) if isinstance(arg, str) else G(z, lab)

    return call


def sample_images(
    run: Run, checkpoint: Checkpoint, n: int, seed: int = 0, trust: bool = False
) -> torch.Tensor:
    """n samples of G at a native `checkpoint` from the fixed noise of `seed`, as float32
    (n, C, H, W) in [0, 1] on CPU (not quantized); G is rebuilt from run.json's spec.

    Raises GanAnalyzeError when G's output is not finite (NaN weights, say).
    """
    spec = run.generator or {}
    cond = read_condition(spec)
    G = conditioned(build_generator(run, checkpoint, trust=trust), cond)
    y = fake_labels(0, n, cond["classes"]) if cond else None
    with torch.inference_mode():
        z = Noise(seed, spec.get("latent_shape", [100])).get(0, n)
        x = as_images(G(z, y), checkpoint.path)
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        raise GanAnalyzeError(
            f"{checkpoint.path}: the generator at step {checkpoint.step} produced NaN/Inf "
            f"samples ({fmt_pct(float((~finite).float().mean()))} of values; are its weights "
            "NaN?)"
        )
    return to_unit(x, spec.get("output_range", [-1.0, 1.0]), quantize=False)


def as_images(out: Any, ckpt: Path) -> torch.Tensor:
    if isinstance(out, (tuple, list)):
        out = out[0]
    if isinstance(out, dict):
        out = next(iter(out.values()))
    if not isinstance(out, torch.Tensor):
        raise GanAnalyzeError(
            f"{ckpt}: the generator returned {type(out).__name__}, not an image tensor"
        )
    if out.ndim == 3:
        out = out[:, None]
    if out.ndim != 4:
        raise GanAnalyzeError(
            f"{ckpt}: the generator returned shape {tuple(out.shape)}; expected images (N, C, H, W)"
        )
    return out


def stylegan_sampler(
    path: Path, dev: torch.device, trust: bool
) -> tuple[Callable[[torch.Tensor], Any], int]:
    """((z, labels) -> images in [-1, 1], z_dim, c_dim) for a StyleGAN snapshot: no
    truncation, constant noise; a conditional G (c_dim > 0) gets the labels one-hot (zero
    vectors when labels is None).
    """
    G = load_stylegan_pickle(path, trust).to(dev)
    c_dim = int(getattr(G, "c_dim", 0) or 0)

    def sample(z: torch.Tensor, y: torch.Tensor | None = None) -> Any:
        if y is not None and c_dim:
            c = torch.nn.functional.one_hot(y.to(z.device), c_dim).float()
        else:
            c = torch.zeros((z.shape[0], c_dim), device=z.device)
        return G(z, c, truncation_psi=1, noise_mode="const")

    return sample, int(G.z_dim), c_dim
