"""MLflow's file store: `mlruns/<experiment id>/<run id>/` with
    metrics/<key>   one line per value: `<timestamp ms> <value> <step>`
                    (old stores: `<timestamp ms> <value>`, step 0); a key with `/`
                    is stored as nested folders (`metrics/loss/G` is `loss/G`)
    params/<name>   one value per file -> `run.config` (numbers parsed)
    meta.yaml       the run's name (`run_name`) when present
Point gananalyze at a run folder, or at an experiment / `mlruns` folder (or the folder
holding `mlruns/`) with exactly one run. MLflow's database store (`mlflow.db`, which MLflow
3 uses by default) is read by `mlflow_db`: point at the file or the folder holding it.
Unit "iteration" (MLflow's step is whatever the code passed). Images logged with
`mlflow.log_image(image, key=, step=)` are the run's samples (`mlflowimages`): the file
store's `<run>/artifacts/images/`, the database store's `mlruns/<experiment>/<run>/artifacts/`
beside `mlflow.db` (MLflow 3's default artifact root).
The wall time is the latest timestamp at each step, in seconds. Lightning's MLFlowLogger
keeps ModelCheckpoint's `.ckpt` files in the run folder's `checkpoints/`: placed by epoch
(`epochsteps`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..files.bounded import TooCostly, load_yaml
from ..files.runfiles import checked, keep_inside
from ..run import Run
from ..runio.parts import INT64_MAX, INT64_MIN
from . import epochsteps, mlflow_db, mlflowimages
from ._common import finish, located, pivot_points, pivoted_run, warn_limit

NAME = "mlflow"
PARAM_BYTES = 64 << 10  # the most of one parameter file read into the config


def _is_run(p: Path) -> bool:
    return p.is_dir() and (p / "metrics").is_dir() and (p / "meta.yaml").is_file()


def find_run(path: Path) -> Path | None:
    path = Path(path)
    if not path.is_dir():
        return None
    if _is_run(path):
        return path
    runs = [p for p in sorted(path.glob("*/metrics")) if _is_run(p.parent)]
    runs = runs or [p for p in sorted(path.glob("*/*/metrics")) if _is_run(p.parent)]
    # a run root (Lightning's MLFlowLogger beside the script): ./mlruns/<experiment>/<run>
    runs = runs or [p for p in sorted(path.glob("mlruns/*/*/metrics")) if _is_run(p.parent)]
    runs = keep_inside(path, [p.parent for p in runs])
    if len(runs) > 1:
        names = ", ".join(str(p.relative_to(path)) for p in runs[:6])
        raise GanAnalyzeError(f"{path}: {len(runs)} MLflow runs ({names}); point at one run folder")
    return runs[0] if runs else None


def detect(path: Path) -> bool:
    try:
        return find_run(path) is not None or mlflow_db.find_db(path) is not None
    except GanAnalyzeError:
        return True


def _load_db(path: Path, db: Path) -> Run:
    """A run of MLflow's database store (`mlflow_db`)."""
    r = mlflow_db.read_db(db)
    warnings: list[str] = []
    if r.bad:
        warnings.append(
            f"{db}: {r.bad:,} metric row(s) of run {r.uuid} whose value, step or time is not a "
            "number were left out"
        )
    frame, counts, nonfinite, dup_steps, replaced = pivot_points(
        r.steps, r.ids, r.values, r.keys, wall=r.walls
    )
    if dup_steps:
        warnings.append(
            f"{db}: {dup_steps} step(s) logged more than once; the later value was "
            f"kept ({replaced} value(s) replaced)"
        )
    config = {k: _number(v) for k, v in r.params.items()}
    from .table import loss_from_config

    name = f"{r.name} ({r.uuid[:8]})" if r.name else r.uuid
    run = pivoted_run(
        path,
        name,
        NAME,
        (frame, counts, nonfinite, dup_steps),
        warnings,
        loss=loss_from_config(config),
        config=config,
    )
    run.step_unit = "iteration"
    run.extra["source_notes"] = [f"{db.name}: MLflow database, run {r.uuid}"] + (
        [f"{len(r.others)} older run(s) left out: {', '.join(r.others[:6])}"] if r.others else []
    )
    # Lightning's MLFlowLogger keeps ModelCheckpoint's files in <save_dir>/<exp>/<run>/
    for save_dir in (db.parent / "mlruns", db.parent):
        epochsteps.attach_checkpoints(run, save_dir / r.experiment / r.uuid)
        mlflowimages.attach(run, save_dir / r.experiment / r.uuid / "artifacts")
    return finish(run, file=str(db))


def _number(s: str):
    try:
        f = float(s)
    except ValueError:
        return s
    return int(f) if f.is_integer() and "." not in s and "e" not in s.lower() else f


def load(path: Path) -> Run:
    path = Path(path)
    if find_run(path) is None and (db := mlflow_db.find_db(path)) is not None:
        return _load_db(path, db)
    run_dir = located(path, find_run, "no MLflow run (a folder with metrics/ and meta.yaml)")
    warnings: list[str] = []
    bad: list[str] = []
    mdir = run_dir / "metrics"
    files = [p for p in keep_inside(run_dir, sorted(mdir.rglob("*")), warnings) if p.is_file()]
    names, steps, ids, values, walls = [], [], [], [], []
    for j, f in enumerate(files):
        names.append(f.relative_to(mdir).as_posix())
        for i, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                ts, val = float(parts[0]), float(parts[1])
                st = int(parts[2]) if len(parts) > 2 else 0
            except (ValueError, IndexError):
                bad.append(f"{f}:{i}: not '<timestamp> <value> <step>', line skipped")
                continue
            if not INT64_MIN <= st <= INT64_MAX:
                bad.append(f"{f}:{i}: step {parts[2][:30]} does not fit 64 bits, line skipped")
                continue
            steps.append(st)
            ids.append(j)
            values.append(val)
            walls.append(ts / 1000.0)
    warn_limit(warnings, bad, "unreadable lines")
    frame, counts, nonfinite, dup_steps, replaced = pivot_points(
        np.asarray(steps, np.int64),
        np.asarray(ids, np.int64),
        np.asarray(values, float),
        names,
        wall=np.asarray(walls, float),
    )
    config: dict = {}
    pdir = run_dir / "params"
    if pdir.is_dir():
        for p in keep_inside(run_dir, sorted(pdir.rglob("*")), warnings):
            if p.is_file():
                with open(p, "rb") as fh:  # MLflow keeps a param to 6,000 characters
                    raw = fh.read(PARAM_BYTES + 1)
                if len(raw) > PARAM_BYTES:
                    warnings.append(
                        f"{p}: a parameter over {PARAM_BYTES >> 10} KiB (MLflow keeps 6,000 "
                        "characters); left out of the config"
                    )
                    continue
                value = raw.decode("utf-8", errors="replace").strip()
                config[p.relative_to(pdir).as_posix()] = _number(value)
    name = run_dir.name
    meta = checked(run_dir, run_dir / "meta.yaml", warnings)
    import yaml

    try:
        m = load_yaml(meta.read_text(errors="replace"), meta) if meta else None
        if isinstance(m, dict) and isinstance(m.get("run_name"), (str, int, float)):
            name = f"{m['run_name']} ({run_dir.name[:8]})"
    except TooCostly as e:
        warnings.append(str(e))
    except (OSError, ValueError, yaml.YAMLError) as e:
        warnings.append(f"{meta}: not readable ({str(e).splitlines()[0]})")
    if dup_steps:
        warnings.append(
            f"{mdir}: {dup_steps} step(s) logged more than once; the later value was "
            f"kept ({replaced} value(s) replaced)"
        )
    from .table import loss_from_config

    pivoted = (frame, counts, nonfinite, dup_steps)
    run = pivoted_run(
        path, name, NAME, pivoted, warnings, loss=loss_from_config(config), config=config
    )
    run.step_unit = "iteration"
    epochsteps.attach_checkpoints(run, run_dir)  # Lightning's MLFlowLogger saves them there
    mlflowimages.attach(run, run_dir / "artifacts")  # mlflow.log_image(..., key=, step=)
    return finish(run, file=str(mdir))
