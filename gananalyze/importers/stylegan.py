"""StyleGAN2-ADA / StyleGAN3 (PyTorch) run directories.

Files read
  stats.jsonl            one JSON object per tick; each statistic is
                         {num, mean, std}. The mean becomes a metric column
                         with the original name (`Loss/G/loss`), the std a
                         column `<name>/std` (only when some std is non-zero).
  metric-*.jsonl         one object per evaluated snapshot ->
                         `Run.sample_metrics` (fid50k_full -> fid, kid50k_full
                         -> kid, pr50k3_full_precision -> precision, ...; the
                         original key is kept in `metric_name`).
  training_options.json  -> `Run.config`; the loss is StyleGAN's
                         non-saturating logistic loss, i.e. "bce".
  log.txt                kept as `run.extra["log_tail"]` (last lines, for the report).
  network-snapshot-*.pkl -> Checkpoint(kind="pickle"). These are pickles that
                         need StyleGAN's source code to load; they are never
                         unpickled here. `gananalyze import` lists them in
                         the native run, and `gananalyze fid-sweep DEST
                         --trust-pickles` evaluates them.

Step axis: the tick index (`Progress/tick`, else the line number); unit "tick". `epoch`
is left empty; kimg per tick (`Progress/kimg`) stays a column and is exposed
as `run.extra["kimg"]`. A snapshot `network-snapshot-000400.pkl` (kimg 400) is
placed at the tick whose kimg, rounded down, equals 400 (else the nearest).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..files.bounded import loads_json
from ..files.runfiles import checked, glob_inside
from ..run import Checkpoint, Run
from ..runio.labels import run_classes
from ._common import (
    Damaged,
    finish,
    note_damaged,
    pivot_wide,
    pivoted_run,
    read_jsonl_objects,
    warn_limit,
)

NAME = "stylegan"
_SNAP_RE = re.compile(r"network-snapshot-(\d+)\.pkl$")

# StyleGAN metric names -> gananalyze sample-metric columns
METRIC_MAP = {
    "fid50k_full": "fid",
    "fid50k": "fid",
    "fid10k": "fid",
    "fid10k_full": "fid",
    "fid2k": "fid",
    "kid50k_full": "kid",
    "kid50k": "kid",
    "is50k": "is",
    "is50k_std": "is_std",
    "pr50k3_full_precision": "precision",
    "pr50k3_full_recall": "recall",
    "pr50k3_precision": "precision",
    "pr50k3_recall": "recall",
    "ppl2_wend": "ppl",
    "ppl_zfull": "ppl",
    "ppl_wfull": "ppl",
    "ppl_zend": "ppl",
    "ppl_wend": "ppl",
    "eqt50k_int": "eqt_int",
    "eqt50k_frac": "eqt_frac",
    "eqr50k": "eqr",
}
FEATURES = {
    "fid": "inception",
    "kid": "inception",
    "is": "inception",
    "is_std": "inception",
    "precision": "vgg16",
    "recall": "vgg16",
}


STATS_HEAD = 1 << 20  # bytes of stats.jsonl read to see its first record


def _stats_record(path: Path) -> bool:
    """Whether the first line of `path` is a StyleGAN2-ADA/3 stats record: a JSON object
    whose `Progress/...` or `Loss/...` keys hold {"num", "mean", ...} (a stats.jsonl
    alone, without the files that usually sit beside it)."""
    try:
        with open(path, "rb") as f:
            line = f.readline(STATS_HEAD)
        rec = loads_json(line, path)
    except (OSError, ValueError):
        return False
    return isinstance(rec, dict) and any(
        isinstance(k, str)
        and k.startswith(("Progress/", "Loss/"))
        and isinstance(v, dict)
        and "mean" in v
        for k, v in rec.items()
    )


def detect(path: Path) -> bool:
    path = Path(path)
    if path.is_file():
        return path.name == "stats.jsonl"
    stats = path / "stats.jsonl"
    return (
        path.is_dir()
        and stats.is_file()
        and (
            (path / "training_options.json").is_file()
            or any(path.glob("metric-*.jsonl"))
            or (path / "log.txt").is_file()
            or any(path.glob("network-snapshot-*.pkl"))
            or _stats_record(stats)
        )
    )


def _number(v: object, what: str, wrong: list[str]) -> float:
    """A stat's mean/std as a float; a value of the wrong type (a string, a list)
    is not logged, and said once in `wrong`."""
    if v is None:
        return np.nan
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    wrong.append(f"{what} is {type(v).__name__} {str(v)[:30]!r}, not a number; left out")
    return np.nan


def read_stats(
    p: Path, warnings: list[str], damaged: Damaged | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """(steps, columns, wall times) from stats.jsonl: mean per stat, std as `<name>/std`."""
    rows = read_jsonl_objects(p, warnings, damaged)
    names: dict[str, None] = {}
    for _, r in rows:
        names.update(dict.fromkeys(k for k, v in r.items() if isinstance(v, dict)))
    n = len(rows)
    means = {k: np.full(n, np.nan) for k in names}
    stds = {k: np.full(n, np.nan) for k in names}
    wall = np.full(n, np.nan)
    wrong: list[str] = []
    for i, (line_no, r) in enumerate(rows):
        for k, v in r.items():
            if isinstance(v, dict):
                means[k][i] = _number(v.get("mean"), f"{p}:{line_no}: {k} mean", wrong)
                stds[k][i] = _number(v.get("std"), f"{p}:{line_no}: {k} std", wrong)
            elif k == "timestamp" and isinstance(v, (int, float)):
                wall[i] = float(v)
    warn_limit(warnings, wrong, "values that are not numbers")
    if "Progress/tick" in means and not np.isnan(means["Progress/tick"]).any():
        steps = np.rint(means["Progress/tick"]).astype(np.int64)
    else:
        steps = np.arange(n, dtype=np.int64)
    cols: dict[str, np.ndarray] = {}
    for k in names:
        cols[k] = means[k]
        s = stds[k]
        if np.nanmax(np.abs(s), initial=0.0) > 0:
            cols[f"{k}/std"] = s
    return steps, cols, (wall if not np.isnan(wall).all() else None)


def read_metrics(
    path: Path, kimg: pd.Series, warnings: list[str], damaged: Damaged | None = None
) -> pd.DataFrame:
    """metric-*.jsonl files -> sample-metrics rows at the tick of each snapshot."""
    rows: dict[tuple[int, str], dict] = {}
    for p in glob_inside(path, path, "metric-*.jsonl", warnings):
        for line_no, obj in read_jsonl_objects(p, warnings, damaged):
            results = obj.get("results")
            snap = str(obj.get("snapshot_pkl", ""))
            m = _SNAP_RE.search(snap)
            if not isinstance(results, dict) or m is None:
                warnings.append(f"{p}:{line_no}: no results/snapshot_pkl, line skipped")
                continue
            snap_kimg = int(m.group(1))
            step = tick_for_kimg(kimg, snap_kimg)
            for key, val in results.items():
                col = METRIC_MAP.get(key, key)
                feat = FEATURES.get(col, "stylegan")
                row = rows.setdefault(
                    (step, feat),
                    {"step": step, "features": feat, "kimg": float(snap_kimg), "snapshot": snap},
                )
                try:
                    row[col] = float(val)
                except (TypeError, ValueError):
                    warnings.append(f"{p}:{line_no}: {key} is not a number ({val!r}), skipped")
                row.setdefault("metric_name", key)
                ts = obj.get("timestamp")
                if isinstance(ts, (int, float)) and not isinstance(ts, bool):
                    row["timestamp"] = float(ts)
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(list(rows.values()))
    df["step"] = df["step"].astype("int64")
    return df.sort_values(["step", "features"]).reset_index(drop=True)


def tick_for_kimg(kimg: pd.Series, snap_kimg: int) -> int:
    """The tick whose kimg (rounded down) is `snap_kimg`, else the nearest; -1 without kimg."""
    if kimg is None or not len(kimg):
        return int(snap_kimg)
    floor = np.floor(kimg.to_numpy() + 1e-6)
    hit = np.flatnonzero(floor == snap_kimg)
    if len(hit):
        return int(kimg.index[hit[0]])
    return int(kimg.index[int(np.argmin(np.abs(kimg.to_numpy() - snap_kimg)))])


def tick_frame(
    steps: np.ndarray,
    cols: dict[str, np.ndarray],
    logged: dict[str, np.ndarray] | None,
    wall: np.ndarray | list | None,
) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame, int, int]:
    """pivot_wide of StyleGAN tick rows, with the wall time of each tick's last row."""
    frame, counts, nonfinite, dup_steps, replaced = pivot_wide(steps, cols, logged)
    if wall is not None:
        last = pd.Series(wall, index=steps).groupby(level=0).last()
        frame.insert(1, "wall_time", last.reindex(frame["step"]).to_numpy())
    return frame, counts, nonfinite, dup_steps, replaced


def kimg_series(frame: pd.DataFrame, column: str) -> pd.Series:
    """The kimg of each tick (index: the step), empty when `column` was not logged."""
    if column not in frame.columns:
        return pd.Series([], dtype=float)
    return pd.Series(frame[column].to_numpy(), index=frame["step"].to_numpy())


def stylegan_run(
    path: Path,
    fmt: str,
    pivoted: tuple,
    kimg: pd.Series,
    sample_metrics: pd.DataFrame,
    warnings: list[str],
    name: str | None = None,
    **more,
) -> Run:
    """A Run of the StyleGAN family (stats.jsonl or log.txt; `pivoted` as pivoted_run takes
    it; named for its folder unless `name` says otherwise): trained with the non-saturating
    logistic loss (bce); the kimg of each tick kept in run.extra."""
    run = pivoted_run(
        path,
        name or path.name,
        fmt,
        pivoted,
        warnings,
        loss="bce",
        sample_metrics=sample_metrics,
        **more,
    )
    run.extra["kimg"] = kimg
    return run


def load(path: Path) -> Run:
    """Read a StyleGAN2-ADA / StyleGAN3 run directory (see the module docstring)."""
    path = Path(path)
    if path.is_file():
        path = path.parent
    stats = path / "stats.jsonl"
    warnings: list[str] = []
    damaged: Damaged = []
    if not stats.is_file():
        raise GanAnalyzeError(
            f"{path}: no stats.jsonl; not a StyleGAN2-ADA/StyleGAN3 run directory"
        )
    if checked(path, stats) is None:
        raise GanAnalyzeError(
            f"{stats}: not read: it is a link that resolves outside the run folder"
        )
    steps, cols, wall = read_stats(stats, warnings, damaged)
    logged = {
        k: np.ones(len(steps), bool) if k.endswith("/std") else ~np.isnan(v)
        for k, v in cols.items()
    }
    frame, counts, nonfinite, dup_steps, replaced = tick_frame(steps, cols, logged, wall)
    if dup_steps:
        warnings.append(
            f"{stats}: {dup_steps} tick(s) appear more than once; the later line was kept "
            f"({replaced} value(s) replaced)"
        )
    kimg = kimg_series(frame, "Progress/kimg")
    config: dict = {}
    opts = checked(path, path / "training_options.json", warnings)
    if opts is not None:
        try:
            config = loads_json(opts.read_bytes())
            if not isinstance(config, dict):
                raise ValueError("not an object")
        except ValueError as e:
            warnings.append(f"{opts}: not valid JSON ({e}); config unknown")
            note_damaged(damaged, opts, f"not valid JSON ({e})")
            config = {}
    sm = read_metrics(path, kimg, warnings, damaged)
    ckpts = []
    for p in glob_inside(path, path, "network-snapshot-*.pkl", warnings):
        m = _SNAP_RE.search(p.name)
        if m:
            ckpts.append(
                Checkpoint(
                    step=tick_for_kimg(kimg, int(m.group(1))),
                    path=p,
                    kind="pickle",
                    meta={
                        "kimg": int(m.group(1)),
                        "needs": "--trust-pickles and the StyleGAN source code",
                    },
                )
            )
    pivoted = (frame, counts, nonfinite, dup_steps)
    run = stylegan_run(
        path, NAME, pivoted, kimg, sm, warnings, config=config, checkpoints=ckpts, damaged=damaged
    )
    run.classes = run_classes(None, config)  # a conditional G: c_dim > 0, cond
    run.step_unit = "tick"
    run.extra["loss_detail"] = (
        "StyleGAN2 non-saturating logistic loss (softplus), with R1 and path-length regularisation"
    )
    if len(sm):
        run.extra["sample_metrics_file"] = ", ".join(
            str(p) for p in glob_inside(path, path, "metric-*.jsonl")
        )
    log = checked(path, path / "log.txt", warnings)
    if log is not None:
        run.extra["log_tail"] = log.read_text(errors="replace").splitlines()[-20:]
    if not len(frame):
        warnings.append(f"{stats}: no readable ticks")
    return finish(run, file=str(stats))
