"""Terminal text: what `check`, `info`, `compare` and `fid-sweep` print.

Each renderer takes the plain result of an analysis (a Diagnosis, a Run summary, a
Comparison, a sweep frame) and returns text; cli.py only echoes it. Numbers go
through gananalyze.textfmt, like the HTML pages.
"""

from __future__ import annotations

from ..analysis.findings import Diagnosis
from ..textfmt import fmt_sig


def check_text(diag: Diagnosis, color: bool = False) -> str:
    """The diagnosis as plain terminal text: verdict, one block per finding, skipped rules."""
    import click

    styles = {"error": "red", "warning": "yellow", "info": "green"}
    lines = [f"run:      {diag.run_name}"]
    eq = diag.context.get("equilibrium") if diag.context else None
    if eq:
        red = "summed" if eq["reduction"] == "sum" else "averaged"
        at = (
            f"equilibrium D loss {fmt_sig(eq['D_loss'])}"
            if eq["D_loss"] is not None
            else "no equilibrium value"
        )
        lines.append(f"loss:     {eq['loss']} (real and fake D terms {red}; {at})")
    for g in (diag.context or {}).get("gans", []):
        cols = ", ".join(f"{k} = {v}" for k, v in g["columns"].items())
        lines.append(f"{'GAN ' + g['tag'] + ':' if g['tag'] else 'read as:':<9} {cols}")
    lines.append(f"verdict:  {diag.verdict}")
    lines.append("")
    for f in diag.findings:
        sev = f.severity.upper()
        tag = click.style(f"{sev:<7}", fg=styles[f.severity], bold=True) if color else f"{sev:<7}"
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
    return "\n".join(lines)


