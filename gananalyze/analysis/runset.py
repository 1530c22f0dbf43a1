"""Loading several runs for `compare`, in parallel when there is enough data.

Paths and globs (expanded here too, so quoted globs work; only directories count).
One missing or unreadable run is an error naming it, or with `skip_bad` a warning and
the rest are compared. Runs with the same name get their path as the display name so
that rows, colours and legends stay distinct. Loading and the rule checks run per run
in forked worker processes when there is enough data (`load_and_diagnose`).

With many runs (`thin_above`), each worker hands back a thinned Run (`thin_run`): the
facts the comparison table needs taken from the full data (`run.extra["summary"]`),
the loss curves kept at most CURVE_POINTS dense (fewer per run beyond CURVE_BUDGET points
in all: `curve_points`), and nothing else of the scalars, so memory grows with the
summaries, not with the runs' length; what the thinned runs hold in common (the rule
thresholds, an empty NaN/Inf table) is kept once (`_Shared`).
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..importers.tbmerge import writer_runs
from ..run import Run

PARALLEL_MIN_BYTES = 24 << 20  # below this much run data, worker processes cost more than they save


def _expand(paths_or_globs: Iterable[str | Path]) -> list[tuple[str, list[Any]]]:
    """Each argument with the paths it stands for (a glob: its matching directories, sorted).

    URLs (s3://...) stay strings; a URL glob is listed on its store (remote.expand).
    """
    from .. import remote

    out: list[tuple[str, list[Any]]] = []
    for arg in paths_or_globs:
        s = str(arg)
        if remote.is_url(arg):
            out.append((s, remote.expand(s) if glob.has_magic(s) else [s]))
        elif glob.has_magic(s):
            out.append((s, [Path(p) for p in sorted(glob.glob(s)) if Path(p).is_dir()]))
        else:  # a SummaryWriter runs/ folder: each run in it
            out.append((s, writer_runs(Path(s)) or [Path(s)]))
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


PARALLEL_MIN_RUNS = 16  # from this many runs the rule checks alone pay for the workers
CURVE_POINTS = 1000  # a thinned run keeps its loss curves at most this dense
CURVE_BUDGET = 1_000_000  # curve points kept over all runs: fewer per run beyond 1,000 runs
CURVE_MIN_POINTS = 100  # ... but never fewer than this per run
CURVE_ROLES = ("G_loss", "D_loss")  # the curves the sweep page draws besides the metric


def curve_points(n_runs: int) -> int:
    """How many points of each loss curve a thinned run keeps when `n_runs` runs are compared:
    CURVE_POINTS, fewer when that many runs would keep more than CURVE_BUDGET points in all
    (memory grows with the runs' count, not their length), at least CURVE_MIN_POINTS."""
    return max(
        min(CURVE_POINTS, CURVE_BUDGET // max(1, n_runs)), min(CURVE_MIN_POINTS, CURVE_POINTS)
    )


def thin_run(run: Run, metric: str = "fid", points: int | None = None) -> Run:
    """`run` reduced, in place, to what `compare`'s table and the sweep page read.

    run.extra["summary"]: last logged step, rows, wall time and seconds per step (from
    the full scalars) and `metric`'s series (analysis.evaluations.metric_series, whole).
    The scalars keep only `step` and the G and D losses (under those role names, as
    the full run resolves them), every k-th row and the last one (k: at most
    `points` rows remain; None: CURVE_POINTS); histograms and vector samples are dropped.
    Sample grids,
    sample metrics, config and warnings stay.
    """
    from .comparison import wall_span
    from .evaluations import metric_series

    sc = run.scalars
    steps = sc["step"].to_numpy() if "step" in sc.columns else np.zeros(0, np.int64)
    wall, per = wall_span(run)
    run.extra["summary"] = {
        "metric": metric,
        "series": metric_series(run, metric),
        "last_step": int(steps[-1]) if len(steps) else None,
        "rows": int(len(sc)),
        "wall_time_s": wall,
        "s_per_step": per,
    }
    cols = {}
    for role in CURVE_ROLES:
        c = run.column(role) if len(steps) else None
        if c is not None:
            cols[role] = sc[c].to_numpy(dtype=np.float64)
    k = max(1, -(-len(steps) // (points or CURVE_POINTS)))
    keep = np.arange(0, len(steps), k)
    if len(steps) and keep[-1] != len(steps) - 1:
        keep = np.r_[keep, len(steps) - 1]
    run.scalars = pd.DataFrame({"step": steps[keep], **{r: v[keep] for r, v in cols.items()}})
    run.histograms = pd.DataFrame()
    run.vectors = []
    return run


def _load_one(
    args: tuple[
        Path, str | None, bool, str, dict[str, Any] | None, dict[str, str] | None, int | None
    ],
) -> tuple[str, Any, Any]:
    """Load (and diagnose) one run: ("ok", run, diagnosis) or ("bad", message, None).

    With `thin` (the curve points to keep), the run comes back thinned (`thin_run`) after
    its rule checks.
    """
    from ..loader import load_run

    path, format, diagnose, metric, thresholds, roles, thin = args
    try:
        run = load_run(path, format=format, roles=roles)
    except GanAnalyzeError as e:
        return "bad", str(e) if str(path) in str(e) else f"{path}: {e}", None
    except (OSError, ValueError) as e:  # a file that broke the reader in an unplanned way
        return "bad", f"{path}: unreadable run ({type(e).__name__}: {e})", None
    diag = None
    if diagnose:
        from . import analyze
        from .evaluations import rules_metric

        diag = analyze(run, rules_config=thresholds, metric=rules_metric(metric))[1]
    if thin:
        thin_run(run, metric, thin)
    return "ok", run, diag


def _data_bytes(paths: Sequence[Path]) -> int:
    total = 0
    for p in paths:
        if isinstance(p, str):  # a URL: its size is not known before fetching
            continue
        for d in (p / "scalars", p):
            try:
                with os.scandir(d) as it:
                    total += sum(e.stat().st_size for e in it if e.is_file())
            except OSError:
                pass
    return total


def _auto_jobs(paths: Sequence[Path]) -> int:
    """Worker processes for loading: 1 for small comparisons or
    without fork, else up to the cores.
    """
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
    if cores < 2 or (len(paths) < PARALLEL_MIN_RUNS and _data_bytes(paths) < PARALLEL_MIN_BYTES):
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
    roles: dict[str, str] | None = None,
    thin_above: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> tuple[list[Run], list[str], dict[str, Any]]:
    """`load_runs` plus the rule checks of each run: (runs, warnings, diagnoses by run name).

    Loading and diagnosing are independent per run, so with `jobs` > 1 they run
    in that many forked worker processes (each returns its Run and Diagnosis).
    jobs=None picks 1 for small comparisons (fewer than 4 runs, or under
    PARALLEL_MIN_BYTES of data and under PARALLEL_MIN_RUNS runs, where starting
    workers costs more than it saves) and the number of usable cores otherwise.
    roles: `--map` roles for every run (loader.load_run). thin_above: when more runs than
    this are named, each comes back thinned (`thin_run`, after its rule checks, keeping
    `curve_points(runs)` points of each loss curve); None: never. progress: called as
    `progress(done, total, what)` as the runs are read (what: the run, by its path); nothing
    is printed here.
    """
    from ..loader import detect_format

    warnings: list[str] = []
    seen: set[Any] = set()
    todo: list[Any] = []

    def bad(msg: str) -> None:
        if not skip_bad:
            raise GanAnalyzeError(msg + " (use --skip-bad to compare the others)")
        warnings.append(msg + "; skipped")

    for arg, paths in _expand(paths_or_globs):
        if not paths:
            bad(f"{arg}: the pattern matches no run directory")
            continue
        for p in paths:
            if isinstance(p, str):  # a URL
                if p.rstrip("/") not in seen:
                    seen.add(p.rstrip("/"))
                    todo.append(p)
                continue
            if p.is_file() and detect_format(p) is None:
                # a shell glob (runs/*) also hands over README.md and friends
                warnings.append(f"{p}: a file that is not a run; skipped")
                continue
            key = p.resolve()
            if key not in seen:
                seen.add(key)
                todo.append(p)
    auto = jobs is None
    if jobs is None:
        jobs = _auto_jobs(todo)
    if any(isinstance(p, str) for p in todo):
        from .. import remote

        remote.cache_root()  # made before forking, so that workers share (and clean) one
        if auto and sys.platform == "linux" and len(todo) >= 4:
            jobs = max(jobs, 4)  # fetching waits on the network, not the CPU
    thin = curve_points(len(todo)) if thin_above is not None and len(todo) > thin_above else None
    tasks = [(p, format, diagnose, metric, thresholds, roles, thin) for p in todo]
    if jobs > 1 and len(tasks) > 1:
        import concurrent.futures as cf

        with cf.ProcessPoolExecutor(
            max_workers=min(jobs, len(tasks)), mp_context=multiprocessing.get_context("fork")
        ) as pool:
            results = []
            for res in pool.map(_load_one, tasks):  # in order, each as soon as it is read
                results.append(res)
                if progress is not None:
                    progress(len(results), len(tasks), str(todo[len(results) - 1]))
        if any(isinstance(p, str) for p in todo):
            from .. import remote

            for status, obj, _ in results:  # what the workers fetched, counted here too
                if status == "ok" and obj.fetched:
                    remote.note_fetched(obj.fetched)
    else:
        results = []
        for t in tasks:  # serially: stop at the first bad run unless skip_bad
            if progress is not None:
                progress(len(results), len(tasks), str(t[0]))
            res = _load_one(t)
            if res[0] == "bad" and not skip_bad:
                bad(res[1])
            results.append(res)
        if progress is not None:
            progress(len(tasks), len(tasks), "")
    runs: list[Run] = []
    diags: list[Any] = []
    shared = _Shared()
    for status, obj, diag in results:
        if status == "bad":
            bad(obj)
            continue
        runs.append(shared.run(obj) if thin else obj)
        diags.append(shared.diagnosis(diag) if thin else diag)
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


class _Shared:
    """What many thinned runs hold in common, kept once in the parent.

    Each worker's result arrives as its own copy: the same thresholds in every Diagnosis
    (about 8 KB of Python objects a run) and an empty NaN/Inf table in most runs (about 4 KB).
    Equal ones are replaced by the first seen, so memory grows with what differs per run.
    Nothing downstream writes to either (they are read by the rules, pages and --json).
    """

    def __init__(self) -> None:
        self.thresholds: dict[str, Any] | None = None
        self.nonfinite: pd.DataFrame | None = None

    def diagnosis(self, d: Any) -> Any:
        th = getattr(d, "thresholds", None)
        if isinstance(th, dict):
            if self.thresholds is None:
                self.thresholds = th
            elif th == self.thresholds:
                d.thresholds = self.thresholds
        return d

    def run(self, run: Run) -> Run:
        nf = run.nonfinite
        if len(nf) == 0:
            if self.nonfinite is None:
                self.nonfinite = nf
            elif list(nf.columns) == list(self.nonfinite.columns) and nf.dtypes.equals(
                self.nonfinite.dtypes
            ):
                run.nonfinite = self.nonfinite
        return run


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
