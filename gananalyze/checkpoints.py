"""Loading checkpoints safely and rebuilding the generator from run.json's spec.

Checkpoints are always read with torch.load(weights_only=True): a checkpoint
file never runs code. A trainer's pickles (StyleGAN's network-snapshot-*.pkl)
are only unpickled when the user explicitly trusts them.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from .errors import GanAnalyzeError
from .run import Checkpoint, Run


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, loaded on CPU with weights_only=True."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise GanAnalyzeError(f"{path}: checkpoint not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GanAnalyzeError(f"{path}: checkpoint cannot be loaded safely ({first})") from None
    if not isinstance(obj, dict):
        raise GanAnalyzeError(f"{path}: expected a dict of state_dicts, found {type(obj).__name__}")
    return obj


def generator_state(obj: dict[str, Any], path: str | Path = "checkpoint") -> dict[str, Any]:
    """The generator's state_dict inside a loaded checkpoint (ours, or a bare state_dict)."""
    for key in ("generator", "G", "netG", "G_ema", "state_dict"):
        if key in obj and isinstance(obj[key], dict):
            return obj[key]
    if obj and all(hasattr(v, "shape") for v in obj.values()):
        return obj  # a bare state_dict
    raise GanAnalyzeError(f"{path}: no generator state_dict found (keys: {', '.join(map(str, list(obj)[:8]))})")


def import_target(target: str, pythonpath: list[str] | None = None, base: Path | None = None) -> Any:
    """Import "package.module:callable", optionally adding run-relative paths to sys.path."""
    if ":" not in target:
        raise GanAnalyzeError(f"generator target {target!r} must look like 'package.module:callable'")
    for p in pythonpath or []:
        pp = Path(p)
        if not pp.is_absolute() and base is not None:
            pp = base / pp
        if str(pp) not in sys.path:
            sys.path.insert(0, str(pp))
    mod_name, attr = target.split(":", 1)
    try:
        obj: Any = importlib.import_module(mod_name)
    except Exception as e:
        raise GanAnalyzeError(f"cannot import generator module {mod_name!r} ({type(e).__name__}: {e})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise GanAnalyzeError(f"module {mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def build_generator(run: Run, checkpoint: Checkpoint | str | Path | None = None):
    """An nn.Module built from run.json's generator spec, with the checkpoint's weights loaded."""
    spec = run.generator
    if not spec or "target" not in spec:
        raise GanAnalyzeError(f"{run.path}: run.json has no generator spec ('generator': {{'target': 'module:callable', ...}}); cannot rebuild the generator")
    factory = import_target(spec["target"], spec.get("pythonpath"), Path(run.path))
    try:
        G = factory(**spec.get("kwargs", {}))
    except Exception as e:
        raise GanAnalyzeError(f"{run.path}: building the generator {spec['target']}(**kwargs) failed ({type(e).__name__}: {e})") from None
    if checkpoint is not None:
        if isinstance(checkpoint, Checkpoint):
            if checkpoint.kind != "native":
                raise GanAnalyzeError(f"{checkpoint.path}: a {checkpoint.kind} checkpoint cannot be loaded with weights_only=True")
            cpath = checkpoint.path
        else:
            cpath = Path(checkpoint)
        state = generator_state(load_checkpoint(cpath), cpath)
        try:
            G.load_state_dict(state)
        except Exception as e:
            first = str(e).strip().splitlines()[0]
            raise GanAnalyzeError(f"{cpath}: weights do not fit the generator in run.json ({first})") from None
    G.eval()
    return G
