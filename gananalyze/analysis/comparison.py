"""The comparison of several runs as a plain result: `compare_runs` -> `Comparison`.

Ranking metric: `metric` (default "fid") is read through analysis.evaluations
(sample metrics through the alias table, so StyleGAN's `fid50k_full` is an FID, else
the scalars). Lower is better unless `aliases.higher_is_better` says otherwise. Rows
are ranked by the best value; runs without it come last, in the order given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..naming.aliases import higher_is_better, label
from ..run import Run
from .alignment import step_label
from .configs import Group, aggregate, config_diff, group_runs
from .evaluations import best_of, metric_series, ranking_value, rules_metric
from .sweepview import outcome_of


def plain_records(df: pd.DataFrame) -> list[dict[str, Any]]:
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
    # (value, step) of the best evaluation of `metric`, per run name and per group label:
    # the markers the metric's chart draws (the group's: of the mean over its runs)
    best_points: dict[str, tuple[float, int]] = field(default_factory=dict)
    # the G loss each run logs ("saturating", "non-saturating", or its loss type), and the
    # note the G-loss chart carries when the runs mix saturating and non-saturating losses
    g_loss_forms: dict[str, str] = field(default_factory=dict)
    g_loss_note: str = ""

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

        rows = [{k: clean(v) for k, v in rec.items()} for rec in plain_records(self.table)]
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
                {k: clean(v) for k, v in rec.items()} for rec in plain_records(self.group_table)
            ]
        out["warnings"] = list(self.warnings)
        out["notes"] = list(self.notes)
        return out


def diagnose_runs(
    runs: Sequence[Run], metric: str = "fid", thresholds: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The rule checks' Diagnosis of each run, by run name."""
    from . import analyze

    m = rules_metric(metric)
    return {r.name: analyze(r, rules_config=thresholds, metric=m)[1] for r in runs}


def wall_span(run: Run) -> tuple[float | None, float | None]:
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
    series: dict[str, tuple[pd.Series, str | None]] | None = None,
) -> pd.DataFrame:
    """One row per run, ranked by the best value of `metric` (runs without it last).

    Columns: rank, run, path, format, steps (last logged step), step_unit (what the step
    counts: alignment.step_label), rows, wall_time_s,
    s_per_step, <metric>_final, <metric>_final_step, <metric>_best,
    <metric>_best_step, verdict, worst (highest finding severity), status
    (Diagnosis.status), outcome (analysis.sweepview.outcome_of: one word), findings
    (names of the warning and error rules; info findings are in the JSON and
    the HTML), group (when grouped), then `config.<key>` for each config key
    whose value differs between the runs. `series`: metric_series of each run by
    name, when the caller has them.
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
        s = series[r.name][0] if series is not None else metric_series(r, metric)[0]
        best = ranking_value(r, metric, higher, s)
        ok = np.isfinite(s.to_numpy())
        fin_v, fin_step = s.to_numpy()[ok], s.index.to_numpy()[ok]
        summ = r.extra.get("summary")  # a thinned run (runset.thin_run): facts of the full data
        if summ is not None:
            wall, per, last, nrows = (
                summ["wall_time_s"], summ["s_per_step"], summ["last_step"], summ["rows"]
            )
        else:
            wall, per = wall_span(r)
            steps = r.scalars["step"]
            last = int(steps.iloc[-1]) if len(steps) else None
            nrows = int(len(steps))
        d = diagnoses.get(r.name)
        row: dict[str, Any] = {
            "run": r.name,
            "path": r.url or str(r.path),
            "format": r.format,
            "steps": last,
            "step_unit": step_label(r),
            "rows": nrows,
            "wall_time_s": wall,
            "s_per_step": per,
            f"{metric}_final": float(fin_v[-1]) if len(fin_v) else None,
            f"{metric}_final_step": int(fin_step[-1]) if len(fin_v) else None,
            f"{metric}_best": best[0] if best else None,
            f"{metric}_best_step": best[1] if best else None,
            "verdict": getattr(d, "verdict", None),
            "recommendation": (
                d.recommendation.text if d is not None and d.recommendation is not None else None
            ),
            "worst": d.worst() if d is not None else None,
            "status": d.status if d is not None else "not_judged",
            "outcome": outcome_of(d),
            "findings": ", ".join(dict.fromkeys(f.rule for f in d.findings if f.severity != "info"))
            if d is not None
            else "",
        }
        if groups is not None:
            row["group"] = group_of.get(r.name, r.name)
        for k in diff.columns:
            row[f"config.{k}"] = diff.at[r.name, k]
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


def group_table(
    groups: list[Group],
    metric: str,
    higher: bool,
    series: dict[str, tuple[pd.Series, str | None]] | None = None,
) -> pd.DataFrame:
    """One row per group: label, n, and the mean/min/max/std of its runs' best `metric`.

    `series`: metric_series of each run by name, when the caller has them.
    """
    rows = []
    for g in groups:
        bests = [
            b[0]
            for b in (
                ranking_value(r, metric, higher, series[r.name][0] if series else None)
                for r in g.runs
            )
            if b
        ]
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


def thinned_metric_series(run: Run, metric: str) -> tuple[pd.Series, str | None]:
    """metric_series of the run, taken from its summary when it was thinned for `metric`."""
    summ = run.extra.get("summary")
    if summ is not None and summ["metric"] == metric:
        return summ["series"]
    return metric_series(run, metric)


def _best_points(
    runs: Sequence[Run],
    groups: list[Group] | None,
    series: dict[str, tuple[pd.Series, str | None]],
    higher: bool,
) -> dict[str, tuple[float, int]]:
    """Each run's best evaluation, and each group's best point of the mean of its runs
    (on the steps they all logged), by run name and group label."""
    out: dict[str, tuple[float, int]] = {}
    for r in runs:
        b = best_of(series[r.name][0], higher) if len(series[r.name][0]) else None
        if b is not None:
            out[r.name] = b
    for g in groups or []:
        got = [series[r.name][0] for r in g.runs if len(series[r.name][0])]
        agg = aggregate([s.astype(np.float64) for s in got]) if got else None
        if agg is not None and len(agg):
            b = best_of(pd.Series(agg["mean"].to_numpy(), index=agg["step"].to_numpy()), higher)
            if b is not None:
                out[g.label] = b
    return out


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
    series = {r.name: thinned_metric_series(r, metric) for r in runs}  # read once per run
    table = compare_table(
        runs, metric, diagnoses=diagnoses, higher=higher, diff=diff, groups=groups, series=series
    )
    comp = Comparison(runs, metric, higher, diagnoses, table, diff, groups)
    comp.warnings = list(warnings)
    if groups is not None:
        comp.group_table = group_table(groups, metric, higher, series)
        for g in groups:
            comp.warnings.extend(g.warnings)
    comp.best_points = _best_points(runs, groups, series, higher)
    if rules_metric(metric) != metric:
        comp.notes.append(
            f"{label(metric)} is a training signal, not a sample metric: runs are ranked by "
            f"its level at the end (median of the last 10% of logged points, "
            f"{'higher' if higher else 'lower'} first); the rule checks judge samples by FID"
        )
    missing = [r.name for r in runs if series[r.name][1] is None]
    if missing and len(missing) < len(runs):
        comp.notes.append(f"{label(metric)} is missing for {', '.join(missing)}; ranked last")
    elif missing:
        comp.notes.append(
            f"no run has {label(metric)}; rows are in the order given (compute it with "
            "`gananalyze fid-sweep`)"
        )
    by_features: dict[str, list[str]] = {}
    for r in runs:
        s = series[r.name][0]
        if len(s) and s.attrs.get("features"):
            by_features.setdefault(s.attrs["features"], []).append(r.name)
    if len(by_features) > 1:
        parts = "; ".join(f"{f}: {', '.join(names)}" for f, names in by_features.items())
        comp.notes.append(
            f"{label(metric)} was computed with different feature networks ({parts}); "
            "values are only comparable within one network, so the ranking across them "
            "means little"
        )
    comp.g_loss_forms = {r.name: g_loss_form(r, diagnoses.get(r.name)) for r in runs}
    comp.g_loss_note = mixed_g_loss_note(comp.g_loss_forms)
    return comp


def g_loss_form(run: Run, diagnosis: Any) -> str:
    """The G loss `run` logs: for a BCE run "saturating" (log(1 - D(G(z))), below zero at
    equilibrium) or "non-saturating" (-log D(G(z))), else its loss type ("" unknown).

    The loss type is the rules' (the diagnosis' equilibrium); a BCE run is saturating when
    its equilibrium G loss is negative (config g_loss) or, undeclared, when more than 90%
    of its logged G loss is below zero (as rules.balance.g_saturating reads it).
    """
    eq = (getattr(diagnosis, "context", None) or {}).get("equilibrium") or {}
    loss = str(eq.get("loss") or run.loss or "")
    if loss != "bce":
        return loss
    if eq.get("G_loss") is not None and float(eq["G_loss"]) < 0:
        return "saturating"
    col = run.column("G_loss")
    if col is not None:
        g = run.scalars[col].to_numpy(dtype=np.float64)
        g = g[np.isfinite(g)]
        if g.size and (g < 0).mean() > 0.9:
            return "saturating"
    return "non-saturating"


def mixed_g_loss_note(forms: dict[str, str]) -> str:
    """A note for the G-loss chart when saturating and non-saturating runs share its axis."""
    sat = [n for n, f in forms.items() if f == "saturating"]
    ns = [n for n, f in forms.items() if f == "non-saturating"]
    if not sat or not ns:
        return ""
    return (
        f"G loss mixes two conventions on one axis: saturating log(1 - D(G(z))) "
        f"(below zero; {', '.join(sat)}) and non-saturating -log D(G(z)) (above zero; "
        f"{', '.join(ns)}); at equilibrium they sit at -0.693 and +0.693, so compare the "
        "runs within a convention, not across"
    )
