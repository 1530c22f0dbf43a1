"""PyTorch Lightning run roots: the folders its standard loggers write side by side, and
ModelCheckpoint's `.ckpt` files.

    <root>/lightning_logs/version_N/metrics.csv (+ hparams.yaml)   CSVLogger
    <root>/lightning_logs/version_N/events.out.tfevents.*          TensorBoardLogger
    <root>/mlruns/<experiment>/<run>/  or  <root>/mlflow.db            MLFlowLogger
    .../checkpoints/epoch=E-step=S.ckpt                            ModelCheckpoint

Claimed when a run root or `lightning_logs/` holds loggers of two or more kinds, or `.ckpt`
files beside one. The newest version of each kind (older versions are earlier runs, named in
the notes) is read by its own importer (csv, tensorboard, mlflow) and the most complete one
(the most logged points; ties: CSV, TensorBoard, MLflow) becomes the run;
`run.extra["source_notes"]` lists them all and says which was read.

Image grids logged at step = epoch (the tutorial's pattern) and the `.ckpt` files are
placed at the end of their epoch on the metrics' step axis (`epochsteps`; each logger's
reader does so for its own folder too). When the run read has no images, those of another
logger of the same run are used. Checkpoints are listed as Checkpoint(kind="lightning")
with the epoch and optimizer step in `meta`. fid-sweep reads them with
torch.load(weights_only=True) and rebuilds G from the generator spec in `gananalyze.yaml`
at the run root (`generator: {target, kwargs, state_dict_prefix}`; importing the target
follows the consent rules).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import GanAnalyzeError
from ..files.bounded import TooCostly, load_yaml
from ..files.runfiles import checked, keep_inside
from ..naming.roles import MAP_FILE
from ..run import Run
from . import epochsteps, mlflow, mlflow_db, table, tensorboard

NAME = "lightning"
MAX_LOGGERS = 8
_VERSION_RE = re.compile(r"^version_(\d+)$")
_READERS = {"csv": table, "tensorboard": tensorboard, "mlflow": mlflow}
_PREFER = ("csv", "tensorboard", "mlflow")


def loggers(path: Path) -> list[tuple[str, Path]]:
    """(format, folder) of every logger under a run root or `lightning_logs/` folder."""
    path = Path(path)
    if not path.is_dir():
        return []
    logs = path if path.name == "lightning_logs" else path / "lightning_logs"
    out: list[tuple[str, Path]] = []
    if logs.is_dir():
        versions = [v for v in keep_inside(path, sorted(logs.iterdir())) if v.is_dir()]
        versions = [v for v in versions if _VERSION_RE.match(v.name)]
        versions.sort(key=lambda v: int(_VERSION_RE.match(v.name).group(1)))
        for v in versions:
            if (v / "metrics.csv").is_file():
                out.append(("csv", v))
            elif next(iter(v.glob("events.out.tfevents.*")), None) is not None:
                out.append(("tensorboard", v))
    if (path / "mlruns").is_dir():
        out.append(("mlflow", path / "mlruns"))
    elif mlflow_db.find_db(path) is not None:  # MLflow 3's database store beside the script
        out.append(("mlflow", path))
    return out[:MAX_LOGGERS]


def checkpoint_files(path: Path) -> list[Path]:
    """`.ckpt` files of ModelCheckpoint under the root (its loggers' folders included)."""
    patterns = (
        "checkpoints/*.ckpt",
        "*/checkpoints/*.ckpt",
        "lightning_logs/*/checkpoints/*.ckpt",
        "mlruns/*/*/checkpoints/*.ckpt",
    )
    return epochsteps.checkpoint_files(path, patterns)


def newest_per_kind(found: list[tuple[str, Path]]) -> list[tuple[str, Path]]:
    """One folder per logger kind: the newest version (versions of one logger are
    successive runs, as the csv importer reads them; loggers of different kinds are the
    same run written twice)."""
    out: dict[str, Path] = {}
    for kind, folder in found:
        out[kind] = folder  # `loggers` lists versions oldest first
    return list(out.items())


def detect(path: Path) -> bool:
    found = loggers(path)
    kinds = {k for k, _ in found}
    return len(kinds) >= 2 or (len(kinds) == 1 and bool(checkpoint_files(path)))


def _points(run: Run) -> int:
    return int(sum(run.counts.values()))


def generator_spec(path: Path, warnings: list[str]) -> dict | None:
    """The `generator:` entry of `gananalyze.yaml` at the run root (the usual generator spec:
    target, kwargs, plus `state_dict_prefix`), which fid-sweep needs to rebuild G."""
    p = checked(path, path / MAP_FILE, warnings)
    if p is None or p.stat().st_size > 1 << 20:
        return None
    import yaml

    try:
        doc = load_yaml(p.read_text(errors="replace"), p)
    except TooCostly as e:
        warnings.append(f"{e}; its generator entry is not read")
        return None
    except yaml.YAMLError as e:
        warnings.append(f"{p}: not readable as plain YAML ({str(e).splitlines()[0]})")
        return None
    spec = doc.get("generator") if isinstance(doc, dict) else None
    return spec if isinstance(spec, dict) and isinstance(spec.get("target"), str) else None


def load(path: Path) -> Run:
    path = Path(path)
    every = loggers(path)
    found = newest_per_kind(every)
    if not found:
        raise GanAnalyzeError(f"{path}: no Lightning logger folders (lightning_logs/, mlruns/)")
    runs: list[tuple[int, int, str, Path, Run]] = []
    failed: list[str] = []
    for fmt, folder in found:
        try:
            r = _READERS[fmt].load(folder)
        except GanAnalyzeError as e:
            failed.append(f"{folder.relative_to(path)} ({fmt}): {str(e).splitlines()[0]}")
            continue
        runs.append((-_points(r), _PREFER.index(fmt), fmt, folder, r))
    if not runs:
        raise GanAnalyzeError(f"{path}: no Lightning logger could be read: {'; '.join(failed)}")
    runs.sort(key=lambda x: (x[0], x[1]))
    _, _, fmt, folder, run = runs[0]
    listed = ", ".join(f"{f.relative_to(path)} ({k}, {-p:,} points)" for p, _, k, f, _ in runs)
    notes = [
        f"{len(found)} Lightning logger(s) found: {listed}",
        f"read {folder.relative_to(path)} ({fmt}): the most logged points",
    ]
    notes += [f"not readable: {x}" for x in failed]
    older = [f for f in every if f not in found]
    if older:
        notes.append(
            "older versions left out (earlier runs): "
            + ", ".join(str(f.relative_to(path)) for _, f in older[:6])
        )
    run.path = path
    run.extra.setdefault("source_notes", [])
    run.extra["source_notes"] = notes + run.extra["source_notes"]
    run.extra["lightning"] = {
        "loggers": [{"format": k, "folder": str(f), "points": -p} for p, _, k, f, _ in runs],
        "read": str(folder),
    }
    if not run.samples:  # images from another logger of the same run (TensorBoard's)
        donor = next((r for *_, r in runs[1:] if r.samples), None)
        if donor is not None:
            run.samples = donor.samples
            run.extra["source_notes"].append(
                f"image grids from {Path(donor.path).relative_to(path)} ({donor.format})"
            )
    note = epochsteps.place_epoch_images(run, run.warnings)
    if note:
        run.extra["source_notes"].append(note)
    ckpts = epochsteps.place_checkpoints(run, checkpoint_files(path), run.warnings)
    if ckpts:
        run.checkpoints = sorted(run.checkpoints + ckpts, key=lambda c: c.step)
    ckpts = [c for c in run.checkpoints if c.kind == "lightning"]
    if ckpts:
        run.generator = run.generator or generator_spec(path, run.warnings)
        how = (
            "fid-sweep rebuilds G from gananalyze.yaml's generator spec"
            if run.generator
            else "to sweep them, name the generator in gananalyze.yaml: generator: {target: "
            "'module:Class', kwargs: {...}, state_dict_prefix: 'generator.'}"
        )
        run.extra["source_notes"].append(
            f"{len(ckpts)} Lightning checkpoint(s) (.ckpt), placed at the last logged step "
            f"of their epoch; {how}"
        )
    return run
