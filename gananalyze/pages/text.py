"""Terminal text: what `check`, `info`, `compare` and `fid-sweep` print (and
`compare --csv`, whose cells are made safe to open in a spreadsheet).

Each renderer takes the plain result of an analysis (a Diagnosis, a Run summary, a
Comparison, a sweep frame) and returns text; cli.py only echoes it. Numbers go
through gananalyze.textfmt, like the HTML pages.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..analysis.comparison import Comparison, plain_records
from ..analysis.findings import Diagnosis
from ..analysis.recommendation import Recommendation
from ..naming.aliases import label
from ..run import Run
from ..textfmt import fmt_cfg, fmt_duration, fmt_fixed, fmt_sig, fmt_table
from .status import SEVERITY_TERMINAL_COLORS, look_of
from .status import look as status_look
from .terminal import term_safe, terminal_text


def check_text(diag: Diagnosis, color: bool = False) -> str:
    """The diagnosis as plain terminal text: verdict, one block per finding, skipped rules."""
    import click

    lines = [f"run:      {term_safe(diag.run_name, keep_newlines=False)}"]
    eq = diag.context.get("equilibrium") if diag.context else None
    if eq:
        red = "summed" if eq["reduction"] == "sum" else "averaged"
        at = (
            f"equilibrium D loss {fmt_sig(eq['D_loss'])}"
            if eq["D_loss"] is not None
            else "no equilibrium value"
        )
        if eq["loss"] == "wasserstein":  # a critic's score gap: no terms to sum or average
            lines.append("loss:     wasserstein (critic loss E[D(G(z))] - E[D(x)]; no equilibrium)")
        elif eq["loss"] == "began":  # autoencoder losses balanced by k_t
            lines.append("loss:     began (autoencoder losses balanced by k_t; no equilibrium)")
        else:
            per = (
                f"; per discriminator: the logged losses add up {eq['summed']}"
                if eq.get("summed", 1) > 1
                else ""
            )
            if eq.get("summed_over") == "batch":
                per = f"; per sample: the logged losses add up a batch of {eq['summed']}"
            lines.append(f"loss:     {eq['loss']} (real and fake D terms {red}; {at}{per})")
    for g in (diag.context or {}).get("gans", []):
        cols = ", ".join(f"{k} = {v}" for k, v in g["columns"].items())
        lines.append(f"{'GAN ' + g['tag'] + ':' if g['tag'] else 'read as:':<9} {cols}")
    lk = status_look(diag)
    lines.append(f"status:   {lk.label}")
    lines.append(f"verdict:  {diag.verdict}")
    if diag.recommendation is not None:
        lines.append(f"keep:     {diag.recommendation.text}")
    lines.append("")
    for f in diag.findings:
        tag = f"{f.severity.upper():<7}"
        if f.start_step is None:
            span = ""
        elif f.end_step is None or f.end_step == f.start_step:
            span = f"  step {f.start_step}"
        else:
            span = f"  steps {f.start_step}-{f.end_step}"
        lines.append(f"{tag}  {f.rule}{span}: {f.title}")
        lines.append(f"         {f.message}")
        if f.action:
            lines.append(f"         -> {f.action}")
    if diag.skipped:
        lines.append("")
        lines.append("skipped:")
        for name, why in diag.skipped:
            lines.append(f"  {name}: {why}")
    text = term_safe("\n".join(lines))  # colour only after escaping what the run named
    if not color:
        return text
    out = []
    for line in text.split("\n"):
        tag = line[:7].strip().lower()
        if tag in SEVERITY_TERMINAL_COLORS and line[7:9] == "  ":
            line = click.style(line[:7], fg=SEVERITY_TERMINAL_COLORS[tag], bold=True) + line[7:]
        elif line == f"status:   {lk.label}":
            line = "status:   " + click.style(lk.label, fg=lk.terminal_color, bold=True)
        out.append(line)
    return "\n".join(out)


def best_text(rec: dict[str, Any], m: str, pattern: str) -> str:
    """A ranking row's best value of metric `m` and its step, e.g. "198.2 @4500", or "-"."""
    if rec[f"{m}_best"] is None or pd.isna(rec[f"{m}_best"]):
        return "-"
    return pattern.format(v=fmt_table(rec[f"{m}_best"]), s=int(rec[f"{m}_best_step"]))


def rank_cells(rec: dict[str, Any]) -> list[str]:
    """The first cells of a ranking row: rank, run, format."""
    return [str(rec["rank"]), rec["run"], rec["format"]]


def _steps_cell(rec: dict[str, Any]) -> str:
    """The last step, with the unit the run counts in when it says one (`99 epoch`)."""
    unit = rec.get("step_unit") or "step"
    cell = fmt_table(rec["steps"])
    return cell if unit == "step" or rec["steps"] is None else f"{cell} {unit}"


def _ranking_lines(comp: Comparison, records: list[dict[str, Any]]) -> list[str]:
    """The ranking's header and one aligned row per record (columns fit to those rows)."""
    m = comp.metric
    lab = label(m)
    grouped = "group" in comp.table.columns
    headers = [
        "#",
        "run",
        "format",
        "steps",
        "wall",
        "s/step",
        f"best {lab} @step",
        f"final {lab}",
        "status",
        "problems found",
    ]
    if grouped:
        headers.insert(2, "group")
    lines_rows = []
    for rec in records:
        row = [
            *rank_cells(rec),
            _steps_cell(rec),
            fmt_duration(rec["wall_time_s"]),
            fmt_table(rec["s_per_step"], 3),
            best_text(rec, m, "{v} @{s}"),
            fmt_table(rec[f"{m}_final"]),
            look_of(rec.get("status"), rec["worst"]).label,
            rec["findings"] or "-",
        ]
        if grouped:
            row.insert(2, str(rec["group"]))
        lines_rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in lines_rows)) for i, h in enumerate(headers)]
    widths = [min(w, 48) for w in widths]

    def fit(s: str, w: int) -> str:
        return s if len(s) <= w else s[: w - 3] + "..."

    out = ["  ".join(fit(h, w).ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for r in lines_rows:
        out.append("  ".join(fit(c, w).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return out


# `compare` prints a summary instead of the whole table above this many runs (--all: all).
SUMMARY_ABOVE = 20
SUMMARY_FEW = 5  # the summary's best and worst rows


@terminal_text
def compare_summary(comp: Comparison, few: int = SUMMARY_FEW) -> str:
    """The ranking of many runs in a screenful: how many ended in each outcome, the best
    and the worst `few` rows of the table, and the comparison's notes."""
    records = plain_records(comp.table)
    order = "higher" if comp.higher_is_better else "lower"
    out = [
        f"{len(records)} runs, ranked by best {label(comp.metric)} ({order} is better); "
        f"the best {few} and the worst {few} (every run: --all, --json or --csv)"
    ]
    outcomes: dict[str, int] = {}
    for rec in records:
        lk = look_of(rec.get("status"), rec["worst"]).label
        outcomes[lk] = outcomes.get(lk, 0) + 1
    counted = sorted(outcomes.items(), key=lambda kv: -kv[1])
    out.append("outcomes: " + ", ".join(f"{n} {lk}" for lk, n in counted))
    out.append("")
    shown = records[:few] + records[-few:] if len(records) > 2 * few else records
    lines = _ranking_lines(comp, shown)
    out += lines[: few + 1] + (["..."] if len(records) > 2 * few else []) + lines[few + 1 :]
    out += [f"note: {n}" for n in comp.notes]
    return "\n".join(out)


@terminal_text
def format_table(comp: Comparison, max_config_keys: int = 6) -> str:
    """The ranking as aligned plain text (what `gananalyze compare` prints)."""
    m = comp.metric
    t = comp.table
    lab = label(m)
    cfg_cols = [c for c in t.columns if c.startswith("config.")]
    out = _ranking_lines(comp, plain_records(t))
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
            else f"config keys that differ ({len(cfg_cols)}): "
            f"{', '.join(c[len('config.') :] for c in shown)}"
            f"{more}"
        )
        for rec in plain_records(t):
            vals = ", ".join(f"{c[len('config.') :]}={fmt_cfg(rec[c])}" for c in shown)
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
        for rec in plain_records(gt):
            mean = rec[f"{m}_best_mean"]
            spread = (
                f" (min {fmt_table(rec[f'{m}_best_min'])}, max {fmt_table(rec[f'{m}_best_max'])})"
                if rec["n"] > 1 and mean is not None and not pd.isna(mean)
                else ""
            )
            out.append(f"  {rec['group']}  n={rec['n']}  mean {fmt_table(mean)}{spread}")
    out.append("")
    out.append(
        "verdicts (warnings and errors of the rule checks; all findings in --json and the HTML):"
    )
    for rec in plain_records(t):
        d = comp.diagnoses.get(rec["run"])
        out.append(f"  {rec['run']}: {getattr(d, 'verdict', None) or 'not checked'}")
        if rec.get("recommendation"):
            out.append(f"    keep: {rec['recommendation']}")
        for f in d.findings if d is not None else []:
            if f.severity != "info":
                out.append(f"    [{f.severity}] {f.title}: {f.message}")
    for n in comp.notes:
        out.append(f"note: {n}")
    return "\n".join(out)


def _ranges(steps: list[int], limit: int = 6) -> str:
    if not steps:
        return "none"
    if len(steps) <= limit:  # `1 (step 2899)`, never a bare step that reads as a count
        return f"{len(steps)} (step{'s' if len(steps) > 1 else ''} {', '.join(map(str, steps))})"
    return f"{len(steps)} (steps {steps[0]} ... {steps[-1]})"


@terminal_text
def info_text(r: Run, forced: bool = False) -> str:
    """What `gananalyze info` prints: steps, time span, metrics, checkpoints, warnings."""
    s = r.summary()
    out: list[str] = []
    out.append(f"run:         {s['name']}  ({s['path']})")
    how = "forced with --format" if forced else "detected"
    # the loss type is printed once, below, as `check` judges it (declared or assumed)
    out.append(f"format:      {s['format']} ({how})")
    if r.classes is not None:
        count = f"{r.classes} classes" if r.classes else "class count not stated"
        out.append(f"conditional: G takes a class label ({count})")
    got = r.fetched
    if got:  # a URL run: what was fetched to answer, and what stayed on the store
        out.append(
            f"fetched:     {got['bytes']} bytes in {got['objects']} objects; "
            f"{got['left_objects']} checkpoint/pickle objects ({got['left_bytes']} bytes) "
            "left in place"
        )
    if s["rows"]:
        out.append(f"steps:       {s['rows']} logged, {s['first_step']} .. {s['last_step']}")
    else:
        out.append("steps:       none logged")
    out.append(f"time span:   {fmt_duration(s['time_span_s'], missing='unknown')}")
    out += _unit_and_loss_lines(r)
    notes = r.extra.get("source_notes") or []
    if notes:  # what the importer read, left out and why (files, lines, loggers, hints)
        out.append("read from:")
        out += [f"  {n}" for n in notes]
    if s["metrics"]:
        out.append(f"metrics:     {len(s['metrics'])}")
        width = max(len(m) for m in s["metrics"])
        nonfinite = r.nonfinite.groupby("metric").size().to_dict() if len(r.nonfinite) else {}
        for m, n in s["metrics"].items():
            extra = f"  ({nonfinite[m]} NaN/Inf)" if m in nonfinite else ""
            out.append(f"  {m:<{width}}  {n:>9} points{extra}")
    out += _role_lines(r)
    out.append(f"checkpoints: {_ranges(s['checkpoints'])}")
    out.append(f"samples:     {_ranges(s['samples'])}")
    if s.get("vector_samples"):
        out.append(f"vectors:     {_ranges(s['vector_samples'])}")
    if s["histogram_steps"]:
        out.append(f"histograms:  {s['histogram_steps']} steps")
    if s["sample_metrics"]:
        out.append(
            f"sample metrics: {', '.join(s['sample_metrics'])} at {len(r.sample_metrics)} "
            "checkpoints"
        )
    if s["flags"]:
        out.append(f"implausible values: {len(s['flags'])}")
        for f in s["flags"][:20]:
            out.append(f"  {f}")
        if len(s["flags"]) > 20:
            out.append(f"  ... and {len(s['flags']) - 20} more")
    if s["warnings"]:
        out.append(f"warnings:    {len(s['warnings'])}")
        for w in s["warnings"]:
            out.append(f"  {w}")
    return "\n".join(out)


_LOSS_SOURCE = {
    "run": "declared by the run",
    "config": "declared in its config",
    "data": "inferred from the data",
    "assumed": "assumed",
}


def loss_type_text(loss: str, source: str) -> str:
    """How a loss type prints everywhere (info, the report header): `bce (assumed)`."""
    return f"{loss} ({_LOSS_SOURCE.get(source, source)})"


def _unit_and_loss_lines(r: Run) -> list[str]:
    """`info`'s step unit and loss type (the convention `check` judges with)."""
    from ..analysis.rules.conventions import loss_convention

    unit = r.step_unit
    out = [
        f"step unit:   {unit}"
        if unit
        else "step unit:   step (the run does not say what it counts)"
    ]
    note = r.extra.get("step_note")
    if note:
        out[-1] += f" ({note})"
    kinds = sorted(set((r.extra.get("value_kind") or {}).values()))
    if kinds:
        out.append(f"values:      {'; '.join(kinds)}")
    # config hints the loss type line below does not already say (it shows the loss type)
    hints = {h: d for h, d in (r.extra.get("config_hints") or {}).items() if h != "loss"}
    if hints:
        out.append(
            "config says: "
            + "; ".join(f"{h} = {d['value']} (key {d['key']})" for h, d in hints.items())
        )
    eq = loss_convention(r)
    out.append(f"loss type:   {loss_type_text(eq.loss, eq.source)}")
    return out


def _role_lines(r: Run) -> list[str]:
    """`info`'s roles: which column each role reads and how it was found, what no role claimed."""
    from ..naming.roles import run_roles

    res = run_roles(r)
    if not (res.roles or res.ambiguous or res.reserved or res.unclaimed):
        return []
    out = ["roles:"]
    width = max([len(k) for k in (*res.roles, *res.ambiguous)] or [0])
    for role, col in res.roles.items():
        out.append(f"  {role:<{width}}  {col}  ({res.how[role]})")
    for role, cols in res.ambiguous.items():
        out.append(
            f"  {role:<{width}}  ambiguous: {', '.join(cols)} (settle it with --map {role}=COLUMN)"
        )
    if res.reserved:
        out.append(f"  read as a known trainer's loss terms: {', '.join(res.reserved)}")
    if res.unclaimed:
        more = len(res.unclaimed) - 8
        out.append(
            f"  no role: {', '.join(res.unclaimed[:8])}" + (f" and {more} more" if more > 0 else "")
        )
    return out


@terminal_text
def sweep_text(frame: pd.DataFrame, best: Recommendation | None) -> str:
    """What `gananalyze fid-sweep` prints: one row per checkpoint, then the run's one
    recommendation (analysis.recommendation), the same line `check` prints."""
    out: list[str] = []
    cols = [c for c in frame.attrs.get("want_columns", []) if c in frame.columns]
    head = ["step", *cols, ""]
    body = []
    for r in frame.to_dict("records"):
        err = r.get("error")  # None or NaN when the checkpoint was evaluated (NaN is truthy)
        failed = isinstance(err, str) and bool(err)
        note = "error" if failed else ("stored" if r.get("source") == "stored" else "")
        body.append([str(r["step"]), *[fmt_fixed(r.get(c)) for c in cols], note])
    widths = [
        max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)
    ]
    out.append("  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True)).rstrip())
    for b in body:
        out.append("  ".join(x.rjust(w) for x, w in zip(b, widths, strict=True)).rstrip())
    if len(frame):
        first = frame.iloc[0]
        out.append(
            f"features: {first['features']}   samples: {first['num_samples']}   quantized: "
            f"{bool(first['quantized'])}   real: {first['real'] or '-'}"
        )
    if best is not None:
        out.append(f"keep: {best.text}")
    return "\n".join(out)


def sweep_saved_clause(ok: int) -> str:
    """The end of fid-sweep's error line: what happened to the checkpoints that worked."""
    if ok <= 0:
        return "none was evaluated."
    return f"the other {ok} were evaluated and saved in the run."


# OWASP CSV injection: a cell starting with one of these is run as a formula by
# spreadsheets (=HYPERLINK(...), +cmd|...); a leading single quote makes it text.
SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run, prefixed with a single quote; else as is
    (numbers, including negative ones, stay numbers)."""
    if isinstance(value, str) and value.startswith(SPREADSHEET_TRIGGERS):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as CSV with every cell and column name neutralised (spreadsheet_cell)."""
    safe = frame.map(spreadsheet_cell)
    safe.columns = [spreadsheet_cell(str(c)) for c in frame.columns]
    return safe.to_csv(index=False)
