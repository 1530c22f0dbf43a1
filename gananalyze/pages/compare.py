"""`compare`: several runs side by side: ranking table, config diff, seed groups, HTML page.

What this module owns, and the choices it makes where there was one to make:

- **Loading** (`load_runs`): paths and globs (expanded here too, so quoted globs
  work; only directories count). One missing or unreadable run is an error
  naming it, or with `skip_bad` a warning and the rest are compared. Runs with
  the same name get their path as the display name so that rows, colours and
  legends stay distinct.
- **Ranking metric**: `metric` (default "fid") is read from `run.sample_metrics`
  (through the alias table, so StyleGAN's `fid50k_full` is an FID), else from the
  scalars. Lower is better unless `aliases.higher_is_better` says otherwise. Rows are
  ranked by the best value; runs without it come last, in the order given.
- **Config diff** (`config_diff`): nested config flattened with dotted keys
  (`G_opt_kwargs.lr`); a key is listed when its value differs between runs or is
  missing from some of them; lists compare by value.
- **Alignment** (`x_mapper`): `step`, `epoch`, `time` (seconds since the run's
  first logged row) or `images` (images seen: the `Progress/kimg` column x 1000
  when a StyleGAN run has it, else step x the batch size from the config keys
  `batch_size`/`batch`/`batchSize`). Every run is drawn on its own logged points:
  nothing is resampled. Epoch, time and kimg are known only at logged rows; a
  sample-metric step between two rows gets its x by linear interpolation of that
  run's own (monotonic) x column, never its value. A run without the chosen x
  is left out of the charts with a note saying why.
- **Groups** (`group_runs`, `aggregate`): `group_by` is a config key (`lr`, or a
  dotted key; a bare name also matches a unique last segment such as
  `G_opt_kwargs.lr`) or `re:PATTERN` matched against run names (the first
  capture group, else the whole match, is the label). A group's curve is the
  mean over its runs and a band: min/max, or mean +- the sample standard
  deviation (ddof=1) with `band="std"`. **Aggregation uses only the steps every
  run of the group logged (the intersection)**: a mean over a changing set of
  runs would jump where a run stops, and a union would need resampling. How
  many steps were dropped is said in a note. A group's x at a shared step is
  the mean of its runs' x there (they differ with --x time). Runs in a group that differ in
  more than seed-like keys (`SEED_KEYS`) produce a warning.
- **Metric names**: columns are matched across formats through the one table
  `gananalyze.aliases.ALIASES` (e.g. StyleGAN's `Loss/G/loss` is `G_loss`). A
  metric present in some runs only is drawn for those, with a note naming the
  others. D(x) and D(G(z)) get their own side-by-side panel; counters and x-axis
  columns (`NOT_CHARTED`) and StyleGAN's `<stat>/std` companions are not drawn;
  beyond `MAX_METRIC_CHARTS` charts the rest are named in a note.
- **Parallelism**: loading and the rule checks run per run in forked worker
  processes when there is enough data (`load_and_diagnose`); charts are drawn
  from per-bin envelopes/means (`gananalyze.plots`), never from every point.
"""

from __future__ import annotations

import glob
import io
import json
import math
import multiprocessing
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..aliases import ALIASES, canonical, higher_is_better, label
from ..analysis.evaluations import best_of, metric_series
from ..errors import GanAnalyzeError
from ..run import Run
from ..textfmt import flatten_config, fmt_duration

X_CHOICES = ("step", "epoch", "time", "images")
BANDS = ("minmax", "std")
BATCH_KEYS = ("batch_size", "batch", "batchSize")
KIMG_COLUMNS = ("Progress/kimg", "kimg")
# Config keys (last dotted segment, lower case) that only pick a random seed.
SEED_KEYS = {
    "seed",
    "random_seed",
    "manual_seed",
    "rng_seed",
    "random_state",
    "noise_seed",
    "seeds",
}
# Metrics where a larger value is better (everything else: lower is better).
# Canonical metrics drawn in the D(x) / D(G(z)) panel instead of the overlay grid.
D_PANEL = ("D_x", "D_G_z_before", "D_G_z_after")
MAX_METRIC_CHARTS = 16
# Columns that are counters or x axes, not training metrics: never drawn as curves.
NOT_CHARTED = {
    "Progress/tick",
    "Progress/kimg",
    "kimg",
    "Timing/total_sec",
    "Timing/total_hours",
    "Timing/total_days",
}
PLOT_BINS = 600
SAMPLE_MAX_PX = 384


# ---------------------------------------------------------------- loading


def _expand(paths_or_globs: Iterable[str | Path]) -> list[tuple[str, list[Path]]]:
    """Each argument with the paths it stands for (a glob: its matching directories, sorted)."""
    out = []
    for arg in paths_or_globs:
        s = str(arg)
        if glob.has_magic(s):
            out.append((s, [Path(p) for p in sorted(glob.glob(s)) if Path(p).is_dir()]))
        else:
            out.append((s, [Path(s)]))
    return out


def load_runs(
    paths_or_globs: Iterable[str | Path],
    skip_bad: bool = False,
    format: str | None = None,
    jobs: int | None = None,
) -> tuple[list[Run], list[str]]:
    """Load every run named by `paths_or_globs`; returns (runs, warnings).

    A path that is missing or that no format can read raises GanAnalyzeError
    naming it; with skip_bad it becomes a warning and the others are loaded. A
    glob that matches no directory is treated the same way. The same directory
    named twice is loaded once. At least one run must remain. `jobs`: worker
    processes (None: automatic, see `load_and_diagnose`).
    """
    runs, warnings, _ = load_and_diagnose(
        paths_or_globs, skip_bad=skip_bad, format=format, diagnose=False, jobs=jobs
    )
    return runs, warnings


PARALLEL_MIN_BYTES = 24 << 20  # below this much run data, worker processes cost more than they save


def _load_one(
    args: tuple[Path, str | None, bool, str, dict[str, Any] | None],
) -> tuple[str, Any, Any]:
    """Load (and diagnose) one run: ("ok", run, diagnosis) or ("bad", message, None)."""
    from ..loader import load_run

    path, format, diagnose, metric, thresholds = args
    try:
        run = load_run(path, format=format)
    except GanAnalyzeError as e:
        return "bad", str(e) if str(path) in str(e) else f"{path}: {e}", None
    except (OSError, ValueError) as e:  # a file that broke the reader in an unplanned way
        return "bad", f"{path}: unreadable run ({type(e).__name__}: {e})", None
    diag = None
    if diagnose:
        from ..analysis.rules import diagnose as run_rules

        diag = run_rules(run, thresholds=thresholds, select_metric=metric)
    return "ok", run, diag


def _data_bytes(paths: Sequence[Path]) -> int:
    total = 0
    for p in paths:
        for d in (p / "scalars", p):
            try:
                with os.scandir(d) as it:
                    total += sum(e.stat().st_size for e in it if e.is_file())
            except OSError:
                pass
    return total


def _auto_jobs(paths: Sequence[Path]) -> int:
    """Worker processes for loading: 1 for small comparisons or without fork, else up to the cores."""
    if (
        len(paths) < 4
        or "fork" not in multiprocessing.get_all_start_methods()
        or sys.platform != "linux"
    ):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    if cores < 2 or _data_bytes(paths) < PARALLEL_MIN_BYTES:
        return 1
    return min(cores, len(paths), 8)


def load_and_diagnose(
    paths_or_globs: Iterable[str | Path],
    skip_bad: bool = False,
    format: str | None = None,
    diagnose: bool = True,
    metric: str = "fid",
    thresholds: dict[str, Any] | None = None,
    jobs: int | None = None,
) -> tuple[list[Run], list[str], dict[str, Any]]:
    """`load_runs` plus the rule checks of each run: (runs, warnings, diagnoses by run name).

    Loading and diagnosing are independent per run, so with `jobs` > 1 they run
    in that many forked worker processes (each returns its Run and Diagnosis).
    jobs=None picks 1 for small comparisons (under PARALLEL_MIN_BYTES of data or
    fewer than 4 runs, where starting workers costs more than it saves) and the
    number of usable cores otherwise.
    """
    from ..loader import detect_format

    warnings: list[str] = []
    seen: set[Path] = set()
    todo: list[Path] = []

    def bad(msg: str) -> None:
        if not skip_bad:
            raise GanAnalyzeError(msg + " (use --skip-bad to compare the others)")
        warnings.append(msg + "; skipped")

    for arg, paths in _expand(paths_or_globs):
        if not paths:
            bad(f"{arg}: the pattern matches no run directory")
            continue
        for p in paths:
            if p.is_file() and detect_format(p) is None:
                # a shell glob (runs/*) also hands over README.md and friends
                warnings.append(f"{p}: a file that is not a run; skipped")
                continue
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                todo.append(p)
    if jobs is None:
        jobs = _auto_jobs(todo)
    tasks = [(p, format, diagnose, metric, thresholds) for p in todo]
    if jobs > 1 and len(tasks) > 1:
        import concurrent.futures as cf

        with cf.ProcessPoolExecutor(
            max_workers=min(jobs, len(tasks)), mp_context=multiprocessing.get_context("fork")
        ) as pool:
            results = list(pool.map(_load_one, tasks))
    else:
        results = []
        for t in tasks:  # serially: stop at the first bad run unless skip_bad
            res = _load_one(t)
            if res[0] == "bad" and not skip_bad:
                bad(res[1])
            results.append(res)
    runs: list[Run] = []
    diags: list[Any] = []
    for status, obj, diag in results:
        if status == "bad":
            bad(obj)
            continue
        runs.append(obj)
        diags.append(diag)
    if not runs:
        raise GanAnalyzeError(
            "no run left to compare" + (": " + "; ".join(warnings) if warnings else "")
        )
    _unique_names(runs)
    diagnoses = {}
    for r, d in zip(runs, diags, strict=True):
        if d is not None:
            d.run_name = r.name
            diagnoses[r.name] = d
    return runs, warnings, diagnoses


def _unique_names(runs: list[Run]) -> None:
    """Give runs that share a name their path as name (rows and legends must differ)."""
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.name] = counts.get(r.name, 0) + 1
    used: set[str] = set()
    for r in runs:
        if counts[r.name] > 1:
            name = str(r.path)
            i = 2
            while name in used:
                name, i = f"{r.path} #{i}", i + 1
            r.name = name
        used.add(r.name)


# ---------------------------------------------------------------- configs


def _norm(v: Any) -> Any:
    """A hashable, comparable form of a config value (lists/dicts by JSON value)."""
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, sort_keys=True, default=str)
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return v


def _display(v: Any) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, default=str)
    return v


_MISSING = object()


def _differing_keys(
    flat: list[dict[str, Any]], ignore: Callable[[str], bool] | None = None
) -> list[str]:
    keys: dict[str, None] = {}
    for f in flat:
        keys.update(dict.fromkeys(f))
    out = []
    for k in keys:
        if ignore is not None and ignore(k):
            continue
        vals = {_norm(f[k]) if k in f else _MISSING for f in flat}
        if len(vals) > 1:
            out.append(k)
    return out


def config_diff(runs: Sequence[Run]) -> pd.DataFrame:
    """The config keys whose values differ between runs: one row per run (index: run name).

    Columns are the dotted keys, in order of first appearance; a key missing from
    a run counts as different and shows as None. Lists/dicts show as JSON.
    """
    flat = [flatten_config(r.config) for r in runs]
    keys = _differing_keys(flat)
    data = {k: [_display(f[k]) if k in f else None for f in flat] for k in keys}
    return pd.DataFrame(data, index=pd.Index([r.name for r in runs], name="run"), columns=keys)


def is_seed_key(key: str) -> bool:
    """Whether a dotted config key only chooses a random seed."""
    last = key.rsplit(".", 1)[-1].lower()
    return last in SEED_KEYS or last.endswith("_seed")


def batch_size(run: Run) -> int | None:
    """The batch size from the run's config (keys batch_size/batch/batchSize, top level first)."""
    flat = flatten_config(run.config)
    for key in BATCH_KEYS:
        if key in flat:
            cands = [flat[key]]
        else:
            cands = [v for k, v in flat.items() if k.rsplit(".", 1)[-1] == key]
        for v in cands:
            try:
                b = int(v)
            except (TypeError, ValueError):
                continue
            if b > 0 and b == v:
                return b
    return None


# ---------------------------------------------------------------- groups


@dataclass
class Group:
    """Runs aggregated together (same value of the group-by key)."""

    label: str
    runs: list[Run]
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.runs)


def _config_value(run: Run, key: str) -> tuple[bool, Any]:
    flat = flatten_config(run.config)
    if key in flat:
        return True, flat[key]
    hits = [k for k in flat if k.rsplit(".", 1)[-1] == key]
    if len(hits) == 1:
        return True, flat[hits[0]]
    if len(hits) > 1 and len({_norm(flat[h]) for h in hits}) == 1:
        return True, flat[hits[0]]
    return False, None


def group_runs(runs: Sequence[Run], group_by: str) -> list[Group]:
    """Split runs into groups by a config key or a name pattern (`re:PATTERN`).

    Groups keep the order in which their first run appears. A run whose name
    does not match the pattern, or whose config lacks the key, forms its own
    group (with a warning). Each group warns when its runs differ in keys other
    than seed-like ones (then they are not just repeats with another seed).
    """
    if not group_by:
        raise GanAnalyzeError("--group-by needs a config key or re:PATTERN")
    labels: list[str] = []
    notes: dict[str, list[str]] = {}
    if group_by.startswith("re:"):
        try:
            pat = re.compile(group_by[3:])
        except re.error as e:
            raise GanAnalyzeError(
                f"--group-by {group_by!r}: not a valid regular expression ({e})"
            ) from None
        for r in runs:
            m = pat.search(r.name)
            if m is None:
                labels.append(r.name)
                notes.setdefault(r.name, []).append(
                    f"run {r.name} does not match {group_by[3:]!r}; it forms its own group"
                )
            else:
                labels.append(
                    next((g for g in m.groups() if g is not None), m.group(0))
                    if m.groups()
                    else m.group(0)
                )
    else:
        for r in runs:
            found, v = _config_value(r, group_by)
            if found:
                labels.append(f"{group_by}={_display(v)}")
            else:
                labels.append(r.name)
                notes.setdefault(r.name, []).append(
                    f"run {r.name} has no config key {group_by!r}; it forms its own group"
                )
    groups: dict[str, Group] = {}
    for r, lab in zip(runs, labels, strict=True):
        groups.setdefault(lab, Group(lab, [])).runs.append(r)
    for g in groups.values():
        g.warnings.extend(notes.get(g.label, []))
        if g.n > 1:
            flat = [flatten_config(r.config) for r in g.runs]
            other = _differing_keys(flat, ignore=lambda k: is_seed_key(k) or k == group_by)
            if other:
                g.warnings.append(
                    f"group {g.label}: its runs differ in more than the seed ({', '.join(other[:6])}{', ...' if len(other) > 6 else ''}); the band mixes those settings"
                )
    return list(groups.values())


def aggregate(series: Sequence[pd.Series], band: str = "minmax") -> pd.DataFrame:
    """Mean and band over runs, on the steps every series logged (intersection).

    series: one float Series per run, indexed by step (sorted, unique). Returns
    columns step, mean, lo, hi, n. band "minmax": lo/hi are the min and max over
    runs; "std": mean -+ the sample standard deviation (ddof=1; 0 for one run).
    Non-finite values are ignored per step (n counts the finite ones).
    """
    if band not in BANDS:
        raise GanAnalyzeError(f"unknown band {band!r}; choose one of {', '.join(BANDS)}")
    empty = pd.DataFrame(
        {
            "step": pd.Series([], dtype="int64"),
            **{c: pd.Series([], dtype="float64") for c in ("mean", "lo", "hi")},
            "n": pd.Series([], dtype="int64"),
        }
    )
    if not series:
        return empty
    steps = np.asarray(series[0].index, dtype=np.int64)
    for s in series[1:]:
        steps = np.intersect1d(steps, np.asarray(s.index, dtype=np.int64), assume_unique=True)
    if len(steps) == 0:
        return empty
    mat = np.empty((len(series), len(steps)))
    for i, s in enumerate(series):
        idx = np.asarray(s.index, dtype=np.int64)
        mat[i] = s.to_numpy(dtype=np.float64)[np.searchsorted(idx, steps)]
    mat[~np.isfinite(mat)] = np.nan
    n = np.sum(~np.isnan(mat), axis=0)
    with np.errstate(all="ignore"):
        import warnings as _w

        with _w.catch_warnings():
            _w.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(mat, axis=0)
            if band == "minmax":
                lo, hi = np.nanmin(mat, axis=0), np.nanmax(mat, axis=0)
            else:
                sd = np.where(n > 1, np.nanstd(mat, axis=0, ddof=1), 0.0)
                lo, hi = mean - sd, mean + sd
    return pd.DataFrame({"step": steps, "mean": mean, "lo": lo, "hi": hi, "n": n.astype(np.int64)})


# ---------------------------------------------------------------- metrics


# ---------------------------------------------------------------- alignment


def _time_unit(seconds: float) -> tuple[float, str]:
    if seconds >= 3 * 3600:
        return 3600.0, "h"
    if seconds >= 180:
        return 60.0, "min"
    return 1.0, "s"


def _interp_mapper(
    known_steps: np.ndarray, known_x: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    def f(steps: np.ndarray) -> np.ndarray:
        steps = np.asarray(steps, dtype=np.float64)
        if len(known_steps) == 0:
            return np.full(len(steps), np.nan)
        return np.interp(steps, known_steps, known_x, left=np.nan, right=np.nan)

    return f


def x_mapper(run: Run, x: str) -> tuple[Callable[[np.ndarray], np.ndarray] | None, str]:
    """A function step -> x for `run`, and a description; (None, reason) when unavailable.

    See the module docstring for what each x means. The mapper returns NaN for
    steps outside the range where x is known.
    """
    if x not in X_CHOICES:
        raise GanAnalyzeError(f"unknown x axis {x!r}; choose one of {', '.join(X_CHOICES)}")
    sc = run.scalars
    steps = sc["step"].to_numpy(dtype=np.float64)
    if x == "step":
        return (lambda s: np.asarray(s, dtype=np.float64)), "step"

    def from_column(
        col: str, offset: bool = False, scale: float = 1.0
    ) -> Callable[[np.ndarray], np.ndarray] | None:
        if col not in sc.columns:
            return None
        v = sc[col].to_numpy(dtype=np.float64)
        ok = np.isfinite(v)
        if not ok.any():
            return None
        ks, kx = steps[ok], v[ok] * scale
        if offset:
            kx = kx - kx[0]
        if np.any(np.diff(kx) < 0):  # restarts: a monotonic x is needed to interpolate
            kx = np.maximum.accumulate(kx)
        return _interp_mapper(ks, kx)

    if x == "epoch":
        f = from_column("epoch")
        return (f, "epoch") if f else (None, "no epoch column")
    if x == "time":
        f = from_column("wall_time", offset=True)
        return (f, "wall time") if f else (None, "no wall-time column")
    # images
    for col in KIMG_COLUMNS:
        f = from_column(col, scale=1000.0)
        if f is not None:
            return f, f"{col} x 1000"
    b = batch_size(run)
    if b is not None:
        return (lambda s: np.asarray(s, dtype=np.float64) * b), f"step x batch size {b}"
    return None, "no batch size in its config (batch_size/batch/batchSize) and no kimg column"


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with plain Python values; missing values (NaN, pandas NA) become None."""
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, np.integer):
                v = int(v)
            elif isinstance(v, np.floating):
                v = float(v)
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                v = None
            clean[k] = v
        out.append(clean)
    return out


# ---------------------------------------------------------------- the comparison


@dataclass
class Comparison:
    """Everything `compare` computed, shared by the terminal table and the HTML page."""

    runs: list[Run]
    metric: str
    higher_is_better: bool
    diagnoses: dict[str, Any]
    table: pd.DataFrame
    config_diff: pd.DataFrame
    groups: list[Group] | None = None
    group_table: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json."""

        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (np.floating,)):
                return clean(float(v))
            return v

        rows = [{k: clean(v) for k, v in rec.items()} for rec in _records(self.table)]
        for rec in rows:
            d = self.diagnoses.get(rec["run"])
            rec["findings"] = [f.to_dict() for f in d.findings] if d is not None else []
            rec["config"] = {
                k[len("config.") :]: rec.pop(k) for k in [k for k in rec if k.startswith("config.")]
            }
        out: dict[str, Any] = {
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "runs": rows,
            "config_diff_keys": list(self.config_diff.columns),
        }
        if self.group_table is not None:
            out["groups"] = [
                {k: clean(v) for k, v in rec.items()} for rec in _records(self.group_table)
            ]
        out["warnings"] = list(self.warnings)
        out["notes"] = list(self.notes)
        return out


def diagnose_runs(
    runs: Sequence[Run], metric: str = "fid", thresholds: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The rule checks' Diagnosis of each run, by run name."""
    from ..analysis.rules import diagnose

    return {r.name: diagnose(r, thresholds=thresholds, select_metric=metric) for r in runs}


def _span(run: Run) -> tuple[float | None, float | None]:
    """(wall time in seconds, seconds per step) from the run's wall_time column."""
    sc = run.scalars
    if "wall_time" not in sc.columns or len(sc) < 2:
        return None, None
    wt = sc["wall_time"].to_numpy(dtype=np.float64)
    ok = np.isfinite(wt)
    if ok.sum() < 2:
        return None, None
    st = sc["step"].to_numpy()[ok]
    w = wt[ok]
    span = float(w.max() - w.min())
    dsteps = float(st.max() - st.min())
    return span, (span / dsteps if dsteps > 0 else None)


def compare_table(
    runs: Sequence[Run],
    metric: str = "fid",
    diagnoses: dict[str, Any] | None = None,
    higher: bool | None = None,
    diff: pd.DataFrame | None = None,
    groups: list[Group] | None = None,
    thresholds: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per run, ranked by the best value of `metric` (runs without it last).

    Columns: rank, run, path, format, steps (last logged step), rows, wall_time_s,
    s_per_step, <metric>_final, <metric>_final_step, <metric>_best,
    <metric>_best_step, verdict, worst (highest finding severity), findings
    (names of the warning and error rules; info findings are in the JSON and
    the HTML), group (when grouped), then `config.<key>` for each config key
    whose value differs between the runs.
    """
    runs = list(runs)
    if higher is None:
        higher = higher_is_better(metric)
    if diagnoses is None:
        diagnoses = diagnose_runs(runs, metric, thresholds)
    if diff is None:
        diff = config_diff(runs)
    group_of = {r.name: g.label for g in groups or [] for r in g.runs}
    rows = []
    for r in runs:
        s, _ = metric_series(r, metric)
        best = best_of(s, higher)
        fin = s[np.isfinite(s.to_numpy())]
        wall, per = _span(r)
        d = diagnoses.get(r.name)
        steps = r.scalars["step"]
        row: dict[str, Any] = {
            "run": r.name,
            "path": str(r.path),
            "format": r.format,
            "steps": int(steps.iloc[-1]) if len(steps) else None,
            "rows": int(len(steps)),
            "wall_time_s": wall,
            "s_per_step": per,
            f"{metric}_final": float(fin.iloc[-1]) if len(fin) else None,
            f"{metric}_final_step": int(fin.index[-1]) if len(fin) else None,
            f"{metric}_best": best[0] if best else None,
            f"{metric}_best_step": best[1] if best else None,
            "verdict": getattr(d, "verdict", None),
            "worst": d.worst() if d is not None else None,
            "findings": ", ".join(dict.fromkeys(f.rule for f in d.findings if f.severity != "info"))
            if d is not None
            else "",
        }
        if groups is not None:
            row["group"] = group_of.get(r.name, r.name)
        for k in diff.columns:
            row[f"config.{k}"] = diff.loc[r.name, k]
        rows.append(row)
    df = pd.DataFrame(rows)
    for c in ("steps", f"{metric}_final_step", f"{metric}_best_step"):
        df[c] = df[c].astype("Int64")  # integers with missing values
    key = df[f"{metric}_best"].astype("float64")
    order = np.lexsort(
        (
            np.arange(len(df)),
            -key.fillna(-np.inf).to_numpy() if higher else key.fillna(np.inf).to_numpy(),
        )
    )
    df = df.iloc[order].reset_index(drop=True)
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df


def group_table(groups: list[Group], metric: str, higher: bool) -> pd.DataFrame:
    """One row per group: label, n, and the mean/min/max/std of its runs' best `metric`."""
    rows = []
    for g in groups:
        bests = [b[0] for b in (best_of(metric_series(r, metric)[0], higher) for r in g.runs) if b]
        arr = np.asarray(bests, dtype=np.float64)
        rows.append(
            {
                "group": g.label,
                "n": g.n,
                "runs": ", ".join(r.name for r in g.runs),
                f"{metric}_best_mean": float(arr.mean()) if len(arr) else None,
                f"{metric}_best_min": float(arr.min()) if len(arr) else None,
                f"{metric}_best_max": float(arr.max()) if len(arr) else None,
                f"{metric}_best_std": float(arr.std(ddof=1)) if len(arr) > 1 else None,
                f"{metric}_runs_with_value": int(len(arr)),
            }
        )
    df = pd.DataFrame(rows)
    key = df[f"{metric}_best_mean"].astype("float64")
    order = np.lexsort(
        (
            np.arange(len(df)),
            -key.fillna(-np.inf).to_numpy() if higher else key.fillna(np.inf).to_numpy(),
        )
    )
    return df.iloc[order].reset_index(drop=True)


def compare_runs(
    runs: Sequence[Run],
    metric: str = "fid",
    group_by: str | None = None,
    higher: bool | None = None,
    thresholds: dict[str, Any] | None = None,
    warnings: Sequence[str] = (),
    diagnoses: dict[str, Any] | None = None,
) -> Comparison:
    """Rule checks, config diff, ranking table and groups for `runs` (computed once).

    `diagnoses` (by run name, e.g. from load_and_diagnose) skips the rule checks
    for the runs it covers.
    """
    runs = list(runs)
    if higher is None:
        higher = higher_is_better(metric)
    diagnoses = dict(diagnoses or {})
    todo = [r for r in runs if r.name not in diagnoses]
    if todo:
        diagnoses.update(diagnose_runs(todo, metric, thresholds))
    diff = config_diff(runs)
    groups = group_runs(runs, group_by) if group_by else None
    table = compare_table(
        runs, metric, diagnoses=diagnoses, higher=higher, diff=diff, groups=groups
    )
    comp = Comparison(
        runs=runs,
        metric=metric,
        higher_is_better=higher,
        diagnoses=diagnoses,
        table=table,
        config_diff=diff,
        groups=groups,
        warnings=list(warnings),
    )
    if groups is not None:
        comp.group_table = group_table(groups, metric, higher)
        for g in groups:
            comp.warnings.extend(g.warnings)
    missing = [r.name for r in runs if metric_series(r, metric)[1] is None]
    if missing and len(missing) < len(runs):
        comp.notes.append(f"{label(metric)} is missing for {', '.join(missing)}; ranked last")
    elif missing:
        comp.notes.append(
            f"no run has {label(metric)}; rows are in the order given (compute it with `gananalyze fid-sweep`)"
        )
    by_features: dict[str, list[str]] = {}
    for r in runs:
        s, _ = metric_series(r, metric)
        if len(s) and s.attrs.get("features"):
            by_features.setdefault(s.attrs["features"], []).append(r.name)
    if len(by_features) > 1:
        parts = "; ".join(f"{f}: {', '.join(names)}" for f, names in by_features.items())
        comp.notes.append(
            f"{label(metric)} was computed with different feature networks ({parts}); values are only comparable within one network, so the ranking across them means little"
        )
    return comp


# ---------------------------------------------------------------- terminal


def _fmt_num(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    v = float(v)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def format_table(comp: Comparison, max_config_keys: int = 6) -> str:
    """The ranking as aligned plain text (what `gananalyze compare` prints)."""
    m = comp.metric
    t = comp.table
    lab = label(m)
    headers = [
        "#",
        "run",
        "format",
        "steps",
        "wall",
        "s/step",
        f"best {lab} @step",
        f"final {lab}",
        "worst",
        "problems found",
    ]
    if "group" in t.columns:
        headers.insert(2, "group")
    cfg_cols = [c for c in t.columns if c.startswith("config.")]
    lines_rows = []
    for rec in _records(t):
        best = (
            "-"
            if rec[f"{m}_best"] is None or pd.isna(rec[f"{m}_best"])
            else f"{_fmt_num(rec[f'{m}_best'])} @{int(rec[f'{m}_best_step'])}"
        )
        row = [
            str(rec["rank"]),
            rec["run"],
            rec["format"],
            _fmt_num(rec["steps"]),
            fmt_duration(rec["wall_time_s"]),
            _fmt_num(rec["s_per_step"], 3),
            best,
            _fmt_num(rec[f"{m}_final"]),
            _status(rec["worst"]),
            rec["findings"] or "-",
        ]
        if "group" in t.columns:
            row.insert(2, str(rec["group"]))
        lines_rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in lines_rows)) for i, h in enumerate(headers)]
    widths = [min(w, 48) for w in widths]

    def fit(s: str, w: int) -> str:
        return s if len(s) <= w else s[: w - 3] + "..."

    out = ["  ".join(fit(h, w).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for r in lines_rows:
        out.append("  ".join(fit(c, w).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if cfg_cols:
        out.append("")
        shown = cfg_cols[:max_config_keys]
        more = (
            f" (+{len(cfg_cols) - len(shown)} more keys: see --json or the HTML report)"
            if len(cfg_cols) > len(shown)
            else ""
        )
        out.append(
            f"config keys that differ: {', '.join(c[len('config.') :] for c in cfg_cols)}"
            if not more
            else f"config keys that differ ({len(cfg_cols)}): {', '.join(c[len('config.') :] for c in shown)}{more}"
        )
        for rec in _records(t):
            vals = ", ".join(f"{c[len('config.') :]}={_fmt_cfg(rec[c])}" for c in shown)
            out.append(f"  {rec['run']}: {vals}")
    else:
        out.append("")
        out.append(
            "config: no key differs between the runs"
            if len(t) > 1
            else "config: one run, nothing to diff"
        )
    if comp.group_table is not None:
        gt = comp.group_table
        out.append("")
        out.append(f"groups ({len(gt)}): best {lab} over the runs of each group")
        for rec in _records(gt):
            mean = rec[f"{m}_best_mean"]
            spread = (
                f" (min {_fmt_num(rec[f'{m}_best_min'])}, max {_fmt_num(rec[f'{m}_best_max'])})"
                if rec["n"] > 1 and mean is not None and not pd.isna(mean)
                else ""
            )
            out.append(f"  {rec['group']}  n={rec['n']}  mean {_fmt_num(mean)}{spread}")
    out.append("")
    out.append(
        "verdicts (warnings and errors of the rule checks; all findings in --json and the HTML):"
    )
    for rec in _records(t):
        d = comp.diagnoses.get(rec["run"])
        out.append(f"  {rec['run']}: {getattr(d, 'verdict', None) or 'not checked'}")
        for f in d.findings if d is not None else []:
            if f.severity != "info":
                out.append(f"    [{f.severity}] {f.title}: {f.message}")
    for n in comp.notes:
        out.append(f"note: {n}")
    return "\n".join(out)


def _status(worst: str | None) -> str:
    """ "ok" when the rule checks found nothing worse than info, else the worst severity."""
    return worst if worst in ("warning", "error") else "ok"


def _fmt_cfg(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "(not set)"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# ---------------------------------------------------------------- HTML


def palette(n: int) -> list[str]:
    """n distinct hex colours, one per run (or group), the same in every chart.

    Up to 10: seaborn's "colorblind" palette (gananalyze.plots.PALETTE, shared
    with the single-run report); more: seaborn's "hls" palette (evenly spaced
    hues, l=0.6, s=0.65), computed here so seaborn need not be imported.
    """
    import colorsys

    from .plots import PALETTE

    if n <= len(PALETTE):
        return list(PALETTE[:n])
    hues = (np.linspace(0, 1, n + 1)[:-1] + 0.01) % 1
    return [_hex(colorsys.hls_to_rgb(h, 0.6, 0.65)) for h in hues]


def _hex(c: Sequence[float]) -> str:
    return "#" + "".join(f"{int(round(255 * v)):02x}" for v in c[:3])


def _smooth(y: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's EMA (gananalyze.smoothing) over a run's own logged points."""
    if weight <= 0 or len(y) < 3:
        return y
    from ..analysis.smoothing import tensorboard_ema

    return tensorboard_ema(y, weight)


def _sample_uri(run: Run, best_step: int | None) -> tuple[str | None, int | None]:
    """The run's sample grid nearest its best step (else its last) as a data URI, and its step.

    Large images are shrunk to SAMPLE_MAX_PX so that twenty runs stay a light page.
    """
    if not run.samples:
        return None, None
    if best_step is not None:
        grid = min(run.samples, key=lambda g: (abs(g.step - best_step), -g.step))
    else:
        grid = run.samples[-1]
    try:
        data = grid.read_bytes()
        from PIL import Image

        img = Image.open(io.BytesIO(data))
        if max(img.size) > SAMPLE_MAX_PX or img.format not in ("PNG", "JPEG"):
            img = img.convert("RGB")
            img.thumbnail((SAMPLE_MAX_PX, SAMPLE_MAX_PX))
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            data, mime = buf.getvalue(), "image/png"
        else:
            mime = "image/png" if img.format == "PNG" else "image/jpeg"
    except Exception:  # missing or not an image PIL can read: leave it out, say so in the page
        return None, None
    from .plots import png_data_uri

    return png_data_uri(data, mime), grid.step


@dataclass
class _Line:
    """One thing to draw: a run's (or a group's) series, already on the chosen x."""

    label: str
    color: str
    x: np.ndarray
    y: np.ndarray  # the line (smoothed, or the group mean)
    raw: np.ndarray | None = None  # raw values for a faint min/max envelope
    lo: np.ndarray | None = None  # group band
    hi: np.ndarray | None = None
    markers: bool = False
    best: tuple[float, float] | None = None  # (x, y) of the best point


def _finite_xy(x: np.ndarray, *ys: np.ndarray | None) -> np.ndarray:
    ok = np.isfinite(x)
    for y in ys:
        if y is not None:
            ok &= np.isfinite(y)
    return ok


def _draw(
    ax: Any, lines: Sequence[_Line], bins: int = PLOT_BINS, logy: bool = False
) -> list[np.ndarray]:
    """Draw lines (group bands, raw envelopes, the line, best-point stars); returns what was drawn."""
    from .plots import bin_mean, envelope

    drawn: list[np.ndarray] = []
    for ln in lines:
        ok = _finite_xy(ln.x, ln.y, ln.lo, ln.hi)
        if logy:
            ok &= ln.y > 0
        x, y = ln.x[ok], ln.y[ok]
        if not len(x):
            continue
        if ln.lo is not None and ln.hi is not None:
            lo, hi = ln.lo[ok], ln.hi[ok]
            if logy:
                lo = np.where(lo > 0, lo, np.nan)
            bx, blo, _, _ = envelope(x, lo, bins)
            bx2, _, bhi, _ = envelope(x, hi, bins)
            if len(bx) == len(bx2) and len(bx) > 1:
                ax.fill_between(bx, blo, bhi, color=ln.color, alpha=0.22, linewidth=0)
                drawn += [blo, bhi]
        elif ln.raw is not None:
            raw = ln.raw[ok]
            if logy:
                raw = np.where(raw > 0, raw, np.nan)
            bx, blo, bhi, _ = envelope(x, raw, bins)
            if len(bx) > 1 and not np.array_equal(blo, bhi):
                ax.fill_between(bx, blo, bhi, color=ln.color, alpha=0.15, linewidth=0)
                drawn += [blo, bhi]
        if ln.markers:
            ax.plot(x, y, color=ln.color, linewidth=1.2, marker="o", markersize=3, label=ln.label)
            drawn.append(y)
        else:
            mx, my = _break_gaps(*bin_mean(x, y, bins))
            ax.plot(mx, my, color=ln.color, linewidth=1.4, label=ln.label)
            drawn.append(my)
        if ln.best is not None and np.isfinite(ln.best[0]):
            ax.scatter(
                [ln.best[0]],
                [ln.best[1]],
                marker="*",
                s=150,
                color=ln.color,
                edgecolors="#222222",
                linewidths=0.8,
                zorder=5,
            )
    if logy:
        ax.set_yscale("log")
    return drawn


def _break_gaps(
    x: np.ndarray, y: np.ndarray, factor: float = 20.0
) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN where the x gap is `factor` times the typical one, so gaps in logging stay gaps."""
    if len(x) < 3:
        return x, y
    dx = np.diff(x)
    typical = np.median(dx)
    cut = np.flatnonzero(dx > factor * typical) if typical > 0 else np.array([], dtype=int)
    if not len(cut):
        return x, y
    return np.insert(x, cut + 1, np.nan), np.insert(y.astype(np.float64), cut + 1, np.nan)


def _want_log(lines: Sequence[_Line]) -> bool:
    vals = [ln.y[np.isfinite(ln.y)] for ln in lines]
    vals = [v for v in vals if len(v)]
    if not vals:
        return False
    v = np.concatenate(vals)
    return bool(v.min() > 0 and v.max() / v.min() > 50)


def _figure(
    panels: Sequence[tuple[str, Sequence[_Line]]],
    xlabel: str,
    ylim: tuple[float, float] | None = None,
    logy: bool | None = None,
    legend: bool = True,
    width: float = 6.6,
    height: float = 2.7,
    star_note: bool = False,
) -> str:
    """One row of panels (title, lines) as a PNG data URI."""
    from .plots import _fmt_step, fig_to_data_uri, finite_range, new_figure, styled

    with styled():
        fig, axes = new_figure(
            1,
            len(panels),
            width=width * len(panels) if len(panels) > 1 else width,
            height=height,
            sharey=len(panels) > 1,
        )
        for ax, (title, lines) in zip(axes[0], panels, strict=True):
            lg = _want_log(lines) if logy is None else logy
            drawn = _draw(ax, lines, logy=lg)
            if ylim is not None:
                ax.set_ylim(*ylim)
            elif not lg:
                rng = finite_range(*drawn)
                if rng:
                    ax.set_ylim(*rng)
            ax.set_title(title, loc="left")
            ax.set_xlabel(xlabel)
            ax.xaxis.set_major_formatter(_fmt_step)
        ax = axes[0][-1]
        if legend and ax.get_legend_handles_labels()[0]:
            handles, labels = ax.get_legend_handles_labels()
            if star_note:
                from matplotlib.lines import Line2D

                handles.append(
                    Line2D([], [], marker="*", color="#222222", linestyle="", markersize=9)
                )
                labels.append("best")
            ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return fig_to_data_uri(fig)


def _fmt_int(n: int) -> str:
    return f"{n:,}"


class _Plotter:
    """Builds the per-run (or per-group) lines for one comparison on one x axis."""

    def __init__(self, comp: Comparison, x: str, band: str, smoothing: float):
        self.comp, self.x, self.band, self.smoothing = comp, x, band, smoothing
        self.notes: list[str] = []
        self._gap_notes: set[tuple[str, int, int]] = set()
        self.mappers: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
        for r in comp.runs:
            f, desc = x_mapper(r, x)
            if f is None:
                self.notes.append(
                    f"{r.name} is not on the charts: --x {x} is unavailable for it ({desc})"
                )
            else:
                self.mappers[r.name] = f
        self.scale, unit = 1.0, ""
        if x == "time":
            top = 0.0
            for r in comp.runs:
                if r.name in self.mappers and len(r.scalars):
                    v = self.mappers[r.name](r.scalars["step"].to_numpy()[-1:])
                    if np.isfinite(v).all():
                        top = max(top, float(v[0]))
            self.scale, unit = _time_unit(top)
        self.xlabel = {
            "step": "step",
            "epoch": "epoch",
            "time": f"wall time ({unit})",
            "images": "images seen",
        }[x]
        if comp.groups:
            self.units = [
                (g.label + f" (n={g.n})", [r for r in g.runs if r.name in self.mappers])
                for g in comp.groups
            ]
        else:
            self.units = [(r.name, [r]) for r in comp.runs if r.name in self.mappers]
        names = [g.label for g in comp.groups] if comp.groups else [r.name for r in comp.runs]
        cols = palette(len(names))
        self.color = dict(zip(names, cols, strict=True))
        if comp.groups:
            self.unit_color = {
                lab: self.color[g.label]
                for (lab, _), g in zip(self.units, comp.groups, strict=True)
            }
            self.run_color = {r.name: self.color[g.label] for g in comp.groups for r in g.runs}
        else:
            self.unit_color = {r.name: self.color[r.name] for r in comp.runs}
            self.run_color = dict(self.unit_color)

    def xs(self, run: Run, steps: np.ndarray) -> np.ndarray:
        return self.mappers[run.name](steps) / self.scale

    def lines(
        self,
        get: Callable[[Run], pd.Series],
        smooth: bool = True,
        markers: bool = False,
        best: bool = False,
        what: str = "",
    ) -> tuple[list[_Line], list[str]]:
        """Lines for one metric: one per run, or mean + band per group; notes about gaps."""
        higher = self.comp.higher_is_better
        out: list[_Line] = []
        notes: list[str] = []
        raw_band = not self.comp.groups and len(self.units) <= 3
        for lab, runs in self.units:
            color = self.unit_color[lab]
            series = []
            for r in runs:
                s = get(r)
                if len(s):
                    series.append((r, s))
            if not series:
                continue
            if not self.comp.groups:
                r, s = series[0]
                y = s.to_numpy(dtype=np.float64)
                sm = _smooth(y, self.smoothing) if smooth else y
                xs = self.xs(r, s.index.to_numpy())
                b = None
                if best:
                    bb = best_of(s, higher)
                    if bb is not None:
                        b = (float(self.xs(r, np.array([bb[1]]))[0]), bb[0])
                out.append(
                    _Line(
                        lab,
                        color,
                        xs,
                        sm,
                        raw=y if (raw_band and smooth) else None,
                        markers=markers,
                        best=b,
                    )
                )
                continue
            sm_series = [
                pd.Series(
                    _smooth(s.to_numpy(dtype=np.float64), self.smoothing)
                    if smooth
                    else s.to_numpy(dtype=np.float64),
                    index=s.index,
                )
                for _, s in series
            ]
            agg = aggregate(sm_series, self.band)
            longest = max(len(s) for _, s in series)
            if len(series) < len(runs):
                notes.append(
                    f"{lab}: {what} logged by {len(series)} of its {len(runs)} runs; the mean uses those"
                )
            if len(agg) == 0:
                notes.append(
                    f"{lab}: its runs share no logged step for {what}; no mean drawn (compare them without --group-by)"
                )
                continue
            if len(agg) < longest:  # said once per group and count, not once per chart
                note = f"{lab}: means and bands use only the steps all {len(series)} runs logged ({_fmt_int(len(agg))} for {what}; the longest run logged {_fmt_int(longest)})"
                key = (lab, len(agg), longest)
                if key not in self._gap_notes:
                    self._gap_notes.add(key)
                    self.notes.append(note)
            st = agg["step"].to_numpy()
            xs = np.mean([self.xs(r, st) for r, _ in series], axis=0)
            b = None
            if best:
                bb = best_of(pd.Series(agg["mean"].to_numpy(), index=st), higher)
                if bb is not None:
                    b = (float(xs[np.searchsorted(st, bb[1])]), bb[0])
            out.append(
                _Line(
                    lab,
                    color,
                    xs,
                    agg["mean"].to_numpy(),
                    lo=agg["lo"].to_numpy(),
                    hi=agg["hi"].to_numpy(),
                    markers=markers,
                    best=b,
                )
            )
        return out, notes


def _metric_keys(runs: Sequence[Run]) -> list[tuple[str, list[str]]]:
    """(canonical metric, runs that have it) for every metric of any run, canonical ones first."""
    have: dict[str, list[str]] = {}
    for r in runs:
        cols = set(r.metrics)
        for col in r.metrics:
            key = canonical(col)
            if r.counts.get(col, 1) == 0 or col in NOT_CHARTED:
                continue
            if (
                col.endswith("/std") and col[: -len("/std")] in cols
            ):  # spread of another column (StyleGAN stats)
                continue
            lst = have.setdefault(key, [])
            if r.name not in lst:
                lst.append(r.name)
    order = list(ALIASES)
    return sorted(
        have.items(),
        key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), -len(kv[1]), kv[0]),
    )


def _missing_note(what: str, have: Sequence[str], runs: Sequence[Run]) -> str | None:
    missing = [r.name for r in runs if r.name not in have]
    if not missing:
        return None
    return f"{what}: shown for {len(have)} of {len(runs)} runs; not logged by {', '.join(missing)}"


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, (float, np.floating)):
        return _fmt_num(float(v))
    return str(v)


def build_context(
    comp: Comparison,
    x: str = "step",
    band: str = "minmax",
    smoothing: float = 0.6,
    max_metric_charts: int = MAX_METRIC_CHARTS,
) -> dict[str, Any]:
    """Everything templates/compare.html shows (charts as data URIs), as plain data."""
    import datetime as _dt

    if band not in BANDS:
        raise GanAnalyzeError(f"unknown band {band!r}; choose one of {', '.join(BANDS)}")
    runs = comp.runs
    m = comp.metric
    mlab = label(m)
    pl = _Plotter(comp, x, band, smoothing)
    t = comp.table
    grouped = comp.groups is not None

    # ranking table
    headers = [
        "#",
        "run",
        "format",
        "last step",
        "wall time",
        "s/step",
        f"best {mlab} (step)",
        f"final {mlab}",
        "verdict",
        "findings",
    ]
    if grouped:
        headers.insert(2, "group")
    rows = []
    for rec in _records(t):
        best = (
            "-"
            if rec[f"{m}_best"] is None or pd.isna(rec[f"{m}_best"])
            else f"{_fmt_num(rec[f'{m}_best'])} ({int(rec[f'{m}_best_step'])})"
        )
        cells = [
            str(rec["rank"]),
            rec["run"],
            rec["format"],
            _cell(rec["steps"]),
            fmt_duration(rec["wall_time_s"]),
            _cell(rec["s_per_step"]),
            best,
            _cell(rec[f"{m}_final"]),
            rec["verdict"] or "-",
            rec["findings"] or "none",
        ]
        if grouped:
            cells.insert(2, rec["group"])
        rows.append(
            {
                "cells": cells,
                "color": pl.run_color.get(rec["run"], "#999999"),
                "worst": _status(rec["worst"]),
            }
        )
    first = t.iloc[0] if len(t) else None
    if first is not None and first[f"{m}_best"] is not None and not pd.isna(first[f"{m}_best"]):
        better = "highest" if comp.higher_is_better else "lowest"
        ranking_sentence = f"Runs ranked by their best {mlab} ({better} is better): {first['run']} leads with {_fmt_num(first[f'{m}_best'])} at step {int(first[f'{m}_best_step'])}."
    else:
        ranking_sentence = f"No run has {mlab}, so the runs are listed in the order given; the verdict column is from the rule checks."

    # groups
    group_rows = None
    if comp.group_table is not None:
        group_rows = []
        for rec in _records(comp.group_table):
            group_rows.append(
                {
                    "color": pl.color.get(rec["group"], "#999999"),
                    "cells": [
                        rec["group"],
                        str(rec["n"]),
                        _cell(rec[f"{m}_best_mean"]),
                        _cell(rec[f"{m}_best_min"]),
                        _cell(rec[f"{m}_best_max"]),
                        _cell(rec[f"{m}_best_std"]),
                        rec["runs"],
                    ],
                }
            )

    # FID (or the chosen metric) with each run's best point
    fid_lines, fid_notes = pl.lines(
        lambda r: metric_series(r, m)[0], smooth=False, markers=True, best=True, what=mlab
    )
    have_m = [r.name for r in runs if metric_series(r, m)[1] is not None]
    metric_chart = None
    if fid_lines:
        metric_chart = {
            "uri": _figure(
                [(mlab, fid_lines)], pl.xlabel, star_note=True, legend=len(fid_lines) <= 12
            ),
            "notes": [n for n in [_missing_note(mlab, have_m, runs), *fid_notes] if n],
        }

    # D(x) and D(G(z)) side by side
    d_chart = None
    d_panels = []
    d_notes: list[str] = []
    for key in ("D_x", "D_G_z_before"):
        lines, notes = pl.lines(lambda r, k=key: r.series(k), what=label(key))
        have = [r.name for r in runs if r.has(key)]
        if have:
            d_panels.append((label(key), lines))
            d_notes += [n for n in [_missing_note(label(key), have, runs), *notes] if n]
    if d_panels:
        d_chart = {
            "uri": _figure(
                d_panels,
                pl.xlabel,
                ylim=(-0.02, 1.02),
                logy=False,
                legend=len(pl.units) <= 12,
                width=4.6,
            ),
            "notes": d_notes,
        }

    # every other metric, overlaid
    keys = [
        (k, have)
        for k, have in _metric_keys(runs)
        if k not in D_PANEL and k not in ("D_tp", "D_fp", "D_fn", "D_tn")
    ]
    omitted = keys[max_metric_charts:]
    charts = []
    for key, have in keys[:max_metric_charts]:
        lines, notes = pl.lines(lambda r, k=key: r.series(k), what=label(key))
        if not lines:
            continue
        charts.append(
            {
                "title": label(key),
                "uri": _figure([(label(key), lines)], pl.xlabel, legend=len(lines) <= 12),
                "notes": [n for n in [_missing_note(label(key), have, runs), *notes] if n],
            }
        )
    metric_notes = []
    if omitted:
        metric_notes.append(
            f"{len(omitted)} more metrics not drawn: {', '.join(k for k, _ in omitted[:12])}{', ...' if len(omitted) > 12 else ''}"
        )

    # samples: the grid nearest each run's best checkpoint, else the last
    samples = []
    for rec in _records(t):
        r = next(rr for rr in runs if rr.name == rec["run"])
        bstep = rec[f"{m}_best_step"]
        bstep = None if bstep is None or pd.isna(bstep) else int(bstep)
        uri, step = _sample_uri(r, bstep)
        samples.append(
            {
                "run": r.name,
                "color": pl.run_color.get(r.name),
                "uri": uri,
                "step": step,
                "which": (
                    f"nearest the best {mlab} (step {bstep})" if bstep is not None else "last"
                )
                if uri
                else None,
            }
        )

    # config diff: keys as rows, runs as columns (in ranking order)
    diff = comp.config_diff
    order = list(t["run"])
    config_rows = [
        {"key": k, "values": [_cfg_cell(diff.loc[name, k]) for name in order]} for k in diff.columns
    ]

    # findings per run
    findings = []
    for name in order:
        d = comp.diagnoses.get(name)
        findings.append(
            {
                "run": name,
                "color": pl.run_color.get(name),
                "verdict": getattr(d, "verdict", None) or "not checked",
                "worst": _status(d.worst() if d is not None else None),
                "findings": [
                    {
                        "severity": f.severity,
                        "title": f.title,
                        "message": f.message,
                        "action": f.action,
                        "steps": _steps_text(f.start_step, f.end_step),
                    }
                    for f in (d.findings if d is not None else [])
                ],
            }
        )

    n_find = sum(1 for f in findings if f["worst"] != "ok")
    summary = (
        f"{len(runs)} runs compared on {pl.xlabel}"
        + (f" in {len(comp.groups)} groups" if grouped else "")
        + f"; the rule checks found warnings or errors in {n_find} of them."
    )
    legend = [
        {
            "name": (g.label + f" (n={g.n})") if grouped else g,
            "color": pl.color[g.label if grouped else g],
        }
        for g in (comp.groups if grouped else [r.name for r in runs])
    ]
    return {
        "title": f"gananalyze compare: {len(runs)} runs",
        "generated": _dt.datetime.now().isoformat(timespec="seconds"),
        "summary": summary,
        "metric": mlab,
        "x": x,
        "xlabel": pl.xlabel,
        "band": band,
        "smoothing": smoothing,
        "grouped": grouped,
        "legend": legend,
        "warnings": list(comp.warnings),
        "notes": [*comp.notes, *pl.notes],
        "ranking_sentence": ranking_sentence,
        "headers": headers,
        "rows": rows,
        "group_rows": group_rows,
        "metric_chart": metric_chart,
        "d_chart": d_chart,
        "charts": charts,
        "metric_notes": metric_notes,
        "samples": samples,
        "config_runs": order,
        "config_rows": config_rows,
        "findings": findings,
    }


def _cfg_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "(not set)"
    return _fmt_cfg(v)


def _steps_text(start: int | None, end: int | None) -> str:
    if start is None:
        return ""
    if end is None or end == start:
        return f"step {start}"
    return f"steps {start}-{end}"


def render_html(context: dict[str, Any]) -> str:
    """templates/compare.html rendered (gananalyze.html: autoescaped, strict)."""
    from .html import render

    return render("compare.html", **context)


def render_compare(
    runs: Sequence[Run],
    out_path: str | Path,
    x: str = "step",
    group_by: str | None = None,
    band: str = "minmax",
    metric: str = "fid",
    smoothing: float = 0.6,
    comparison: Comparison | None = None,
    thresholds: dict[str, Any] | None = None,
) -> Path:
    """Write the self-contained HTML comparison page to `out_path`; returns its path.

    Pass `comparison` (from compare_runs) to reuse rule checks already run.
    """
    from ..store import atomic_write_bytes

    if comparison is None:
        comparison = compare_runs(runs, metric=metric, group_by=group_by, thresholds=thresholds)
    html = render_html(build_context(comparison, x=x, band=band, smoothing=smoothing))
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, html.encode("utf-8"))
    return out
