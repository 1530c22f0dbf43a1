"""How a Diagnosis.status looks: the one colour mapping every page and terminal uses.

`Diagnosis.status` (analysis/findings.py) says what kind of answer the rules gave;
this module says how to show it. Only "healthy" is green; "problems" takes the
colour of its worst severity; "no_problems_found" and "not_judged" are neutral
grey, because a run nobody could judge has not passed. Pages use `look(diag)` for
the CSS class and the label; the HTML classes (`ok`, `warning`, `error`,
`neutral`, and the severities `info`, `warning`, `error`) are styled once, in
templates/base.html (`.sev-*`). Also here: the terminal colours of severities and the
colour of each sweep outcome on the charts.
"""

from __future__ import annotations

from dataclasses import dataclass

# status -> (css class, label); "problems" is resolved by the worst severity.
STATUS_LOOKS: dict[str, tuple[str, str]] = {
    "healthy": ("ok", "healthy"),
    "no_problems_found": ("neutral", "no problems found"),
    "not_judged": ("neutral", "not judged"),
}
SEVERITY_LOOKS: dict[str, tuple[str, str]] = {
    "error": ("error", "error"),
    "warning": ("warning", "warning"),
}
# css class -> click colour for the terminal (None: no colour).
TERMINAL_COLORS: dict[str, str | None] = {
    "ok": "green",
    "warning": "yellow",
    "error": "red",
    "neutral": None,
}
# a finding's severity -> click colour of its tag in `check`'s text
SEVERITY_TERMINAL_COLORS: dict[str, str] = {"error": "red", "warning": "yellow", "info": "cyan"}
# One colour per sweep outcome (analysis.sweepview.OUTCOMES) on every chart: failures
# warm, healthy green, and the two answers that are not a pass grey, as their status looks.
OUTCOME_COLORS: dict[str, str] = {
    "diverged": "#7f1d1d",
    "collapsed": "#d62728",
    "D overpowers G": "#ff7f0e",
    "G overpowers D": "#bcbd22",
    "vanishing gradients": "#9467bd",
    "oscillating": "#e377c2",
    "over-trained": "#8c564b",
    "other problems": "#b07aa1",
    "healthy": "#2ca02c",
    "no problems found": "#8c959f",
    "not judged": "#bbbbbb",
}


@dataclass(frozen=True)
class Look:
    """css: the HTML class (ok/warning/error/neutral); label: the words shown with it."""

    css: str
    label: str

    @property
    def terminal_color(self) -> str | None:
        return TERMINAL_COLORS[self.css]


def look_of(status: str | None, worst: str | None = None) -> Look:
    """The look of a status; "problems" looks like its worst severity.

    A missing status (a run that was not checked) is neutral "not checked".
    """
    if status == "problems" or (not status and worst in SEVERITY_LOOKS):
        css, label = SEVERITY_LOOKS.get(worst or "", ("warning", "problems"))
        return Look(css, label)
    if status in STATUS_LOOKS:
        return Look(*STATUS_LOOKS[status])
    return Look("neutral", "not checked")


def look(diag: object | None) -> Look:
    """The look of a Diagnosis (or None for a run that was not checked)."""
    if diag is None:
        return look_of(None)
    worst = diag.worst() if hasattr(diag, "worst") else None
    return look_of(getattr(diag, "status", None), worst)
