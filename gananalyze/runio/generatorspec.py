"""The `generator` entry of run.json: how a later process (fid-sweep, the report's t-SNE)
rebuilds G and calls it, conditional or not. Training code builds it with
`generator_spec(...)` and hands it to `RunLog(..., generator=spec)`; consent.py decides
whether it may ever run (docs/consent.md)."""

from __future__ import annotations

from typing import Any

from ..errors import GanAnalyzeError
from .labels import condition_spec


def generator_spec(
    target: str,
    kwargs: dict[str, Any] | None = None,
    latent_shape: tuple[int, ...] | list[int] = (100,),
    noise_seed: int = 0,
    output_range: tuple[float, float] = (-1.0, 1.0),
    pythonpath: list[str] | None = None,
    classes: int | None = None,
    label_encoding: str = "int",
    label_argument: str | int = 1,
) -> dict[str, Any]:
    """The `generator` entry of run.json: how a later process rebuilds G.

    target is "package.module:callable" returning an nn.Module when called with
    **kwargs; latent_shape is the shape of one noise vector; output_range the
    range of G's output pixels (mapped to [0, 1] for metrics).

    A conditional G: classes is the class count K; label_encoding "int" (class
    numbers) or "onehot" ((N, K) floats); label_argument the keyword G takes the label
    by, or its position (1: G(z, y)). fid-sweep then generates sample i as class i % K.
    """
    if ":" not in target:
        raise GanAnalyzeError(
            f"generator target {target!r} must look like 'package.module:callable'"
        )
    spec = {
        "target": target,
        "kwargs": dict(kwargs or {}),
        "latent_shape": [int(s) for s in latent_shape],
        "noise_seed": int(noise_seed),
        "output_range": [float(output_range[0]), float(output_range[1])],
    }
    if pythonpath:
        spec["pythonpath"] = list(pythonpath)
    if classes is not None:
        spec["condition"] = condition_spec(classes, label_encoding, label_argument)
    return spec
