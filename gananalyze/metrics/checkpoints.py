"""Loading checkpoints safely and rebuilding the generator from run.json's spec.

Checkpoints are always read with torch.load(weights_only=True): a checkpoint
file never runs code. What can run code is gated by gananalyze.consent: the
module run.json's generator spec names is only imported (build_generator), and
a trainer's pickles (StyleGAN's network-snapshot-*.pkl) only unpickled. Lightning `.ckpt`
files are read the same safe way; the spec's `state_dict_prefix` (`generator.`) picks the
generator's weights out of the LightningModule's state_dict
(load_stylegan_pickle), when the user consented (`trust=True`: the CLI's
--trust-code, or a stored `gananalyze allow RUN`); both refuse before anything
is imported or opened.
"""

from __future__ import annotations

import importlib
import pickle
import re
import sys
from pathlib import Path
from typing import Any

from ..errors import GanAnalyzeError
from ..remote import materialized
from ..run import Checkpoint, Run


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's contents, loaded on CPU with weights_only=True."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise GanAnalyzeError(f"{path}: checkpoint not found")
    try:
        with materialized(path):  # a checkpoint left on object storage: fetched for this load
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except GanAnalyzeError:
        raise
    except Exception as e:
        raise GanAnalyzeError(f"{path}: checkpoint cannot be loaded safely: {_why(e)}") from None
    if not isinstance(obj, dict):
        raise GanAnalyzeError(f"{path}: expected a dict of state_dicts, found {type(obj).__name__}")
    return obj


_GLOBAL = re.compile(r"(?:unsupported|Unsupported global:)\s*GLOBAL\s+([\w.]+)")


def _why(e: Exception) -> str:
    """Why torch.load(weights_only=True) refused a file, in gananalyze's words: torch's own
    text advises re-running with weights_only=False, which would run the pickle's code, and
    gananalyze never does that."""
    text = str(e)
    if "Weights only load failed" in text:
        m = _GLOBAL.search(text)
        what = f" ({m.group(1)})" if m else ""
        return (
            f"it holds Python objects beyond tensors and plain containers{what}, which "
            "unpickling could run as code; gananalyze loads weights only, so save the "
            "state_dict: torch.save(G.state_dict(), path)"
        )
    return text.strip().splitlines()[0] if text.strip() else type(e).__name__


def generator_state(obj: dict[str, Any], path: str | Path = "checkpoint") -> dict[str, Any]:
    """The generator's state_dict inside a loaded checkpoint (ours, or a bare state_dict)."""
    for key in ("generator", "G", "netG", "G_ema", "state_dict"):
        if key in obj and isinstance(obj[key], dict):
            return obj[key]
    if obj and all(hasattr(v, "shape") for v in obj.values()):
        return obj  # a bare state_dict
    raise GanAnalyzeError(
        f"{path}: no generator state_dict found (keys: {', '.join(map(str, list(obj)[:8]))})"
    )


_PYCACHE: list[str] = []


def _private_pycache() -> None:
    """Point sys.pycache_prefix at a private temporary folder for the rest of the process,
    so that no bytecode cache beside run code (`__pycache__/*.pyc`, whose header only
    carries a forgeable mtime and size) is ever read: imports compile from source."""
    if not _PYCACHE:
        import atexit
        import shutil
        import tempfile

        d = tempfile.mkdtemp(prefix="gananalyze-pycache-")
        atexit.register(shutil.rmtree, d, True)
        _PYCACHE.append(d)
    sys.pycache_prefix = _PYCACHE[0]


def import_target(
    target: str, pythonpath: list[str] | None = None, base: Path | None = None
) -> Any:
    """Import "package.module:callable", optionally adding run-relative paths to sys.path.

    Bytecode caches are never read (see _private_pycache), and while importing no
    other sys.path entry inside the run `base` (such as the current folder) is searched:
    only the pythonpath entries consent covers.
    """
    if ":" not in target:
        raise GanAnalyzeError(
            f"generator target {target!r} must look like 'package.module:callable'"
        )
    for p in pythonpath or []:
        pp = Path(p)
        if not pp.is_absolute() and base is not None:
            pp = base / pp
        if str(pp) not in sys.path:
            sys.path.insert(0, str(pp))
    _private_pycache()
    importlib.invalidate_caches()
    mod_name, attr = target.split(":", 1)
    kept = list(sys.path)
    if base is not None:
        root = Path(base).resolve()
        own = {str((root / p).resolve()) for p in pythonpath or []}

        def stray(entry: str) -> bool:
            r = Path(entry or ".").resolve()
            return str(r) not in own and (r == root or root in r.parents)

        sys.path[:] = [e for e in sys.path if not stray(e)]
    try:
        obj: Any = importlib.import_module(mod_name)
    except Exception as e:
        raise GanAnalyzeError(
            f"cannot import generator module {mod_name!r} ({type(e).__name__}: {e})"
        ) from None
    finally:
        sys.path[:] = kept + [e for e in sys.path if e not in kept]
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise GanAnalyzeError(f"module {mod_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def build_generator(
    run: Run, checkpoint: Checkpoint | str | Path | None = None, trust: bool = False
):
    """An nn.Module built from run.json's generator spec, with the checkpoint's weights loaded.

    A spec that names code other than gananalyze's own generators is imported only
    with consent (`trust`, or `gananalyze allow RUN`); otherwise GanAnalyzeError.
    """
    from ..consent import require

    spec = run.generator
    if not spec or "target" not in spec:
        raise GanAnalyzeError(
            f"{run.path}: run.json has no generator spec ('generator': {{'target': "
            "'module:callable', "
            f"...}}); cannot rebuild the generator"
        )
    require(run, trust, "loading the generator")
    factory = import_target(spec["target"], spec.get("pythonpath"), Path(run.path))
    if not callable(factory) or isinstance(factory, type(importlib)):
        raise GanAnalyzeError(
            f"{run.path}: generator target {spec['target']!r} is a "
            f"{type(factory).__name__}, not a class or function that builds the generator"
        )
    try:
        G = factory(**spec.get("kwargs", {}))
    except Exception as e:
        raise GanAnalyzeError(
            f"{run.path}: building the generator {spec['target']}(**kwargs) "
            f"failed ({type(e).__name__}: "
            f"{e})"
        ) from None
    if checkpoint is not None:
        if isinstance(checkpoint, Checkpoint):
            if checkpoint.kind not in ("native", "lightning"):
                raise GanAnalyzeError(
                    f"{checkpoint.path}: a {checkpoint.kind} checkpoint cannot be loaded with "
                    "weights_only=True"
                )
            cpath = checkpoint.path
        else:
            cpath = Path(checkpoint)
        state = generator_state(load_checkpoint(cpath), cpath)
        prefix = spec.get("state_dict_prefix")
        if prefix:  # a module holding G and D (LightningModule: `generator.` keys)
            keys = list(state)
            state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            if not state:
                raise GanAnalyzeError(
                    f"{cpath}: no weights start with the state_dict_prefix {prefix!r} "
                    f"(keys: {', '.join(map(str, keys[:6]))})"
                )
        try:
            G.load_state_dict(state)
        except Exception as e:
            first = str(e).strip().splitlines()[0]
            raise GanAnalyzeError(
                f"{cpath}: weights do not fit the generator in run.json ({first})"
            ) from None
    G.eval()
    return G


def pickle_refusal(path: str | Path, run_path: str | Path | None = None) -> str:
    """The message for a StyleGAN pickle that the user has not trusted."""
    allow = f"`gananalyze allow {run_path}` or " if run_path is not None else ""
    return (
        f"{path}: StyleGAN snapshot is a Python pickle; loading it runs code from the file. "
        f"If you trust it, allow it with {allow}--trust-code (the StyleGAN source tree "
        "(dnnlib, torch_utils) must be "
        "importable, e.g. PYTHONPATH=/path/to/stylegan2-ada-pytorch)."
    )


def load_stylegan_pickle(path: str | Path, trust: bool = False):
    """The generator (G_ema) of a StyleGAN2-ADA/StyleGAN3 network-snapshot-*.pkl,
    on CPU, in eval mode.

    Unpickling runs code from the file, so without `trust` this raises before
    the file is opened. Uses StyleGAN's own legacy.load_network_pkl when the
    StyleGAN source tree is importable (it also converts TensorFlow pickles),
    else pickle.load. The classes inside (dnnlib, torch_utils, training.networks)
    come from the StyleGAN source tree, which must be on PYTHONPATH.
    """
    path = Path(path)
    if not trust:
        raise GanAnalyzeError(pickle_refusal(path))
    if not path.is_file():
        raise GanAnalyzeError(
            f"{path}: StyleGAN snapshot not found (was the StyleGAN run directory moved "
            "after `gananalyze import`?)"
        )
    try:
        try:  # StyleGAN's own loader, when its source tree is importable
            from legacy import load_network_pkl
        except ImportError:
            load_network_pkl = None
        with materialized(path), open(path, "rb") as f:
            data = load_network_pkl(f) if load_network_pkl is not None else pickle.load(f)
    except GanAnalyzeError:
        raise
    except ModuleNotFoundError as e:
        raise GanAnalyzeError(
            f"{path}: unpickling needs the StyleGAN source code (module {e.name!r} not found); "
            "put the StyleGAN source tree (dnnlib, torch_utils) on PYTHONPATH, "
            "e.g. PYTHONPATH=/path/to/stylegan2-ada-pytorch"
        ) from None
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "no detail"
        raise GanAnalyzeError(
            f"{path}: cannot unpickle the StyleGAN snapshot ({type(e).__name__}: {first})"
        ) from None
    G = data.get("G_ema") if isinstance(data, dict) else None
    if G is None or not hasattr(G, "z_dim"):
        found = (
            ", ".join(map(str, list(data)[:8])) if isinstance(data, dict) else type(data).__name__
        )
        raise GanAnalyzeError(
            f"{path}: no StyleGAN generator 'G_ema' (with z_dim) in the snapshot (found: {found})"
        )
    return G.eval() if hasattr(G, "eval") else G
