"""HTML for showing results inline in a notebook, without restyling the notebook.

The diagnosis is a fragment (templates/inline_diagnosis.html) whose every CSS rule
is scoped to its own root element, `.gananalyze-inline`. The report is a whole page
with global CSS (`*`, `body`, `a`), so it is shown in an isolated frame: an iframe
whose `srcdoc` holds the page, sandboxed: its own scripts run (the interactive charts:
plotly.js and their controller, all inside the page) in an opaque origin, with no access
to the notebook, its cookies or storage (`allow-scripts` without `allow-same-origin`).
"""

from __future__ import annotations

import html

from ..analysis.findings import SEVERITY_RANK, Diagnosis
from .html import render
from .sections import FindingView, finding_numbers, step_range
from .status import look

ROOT_CLASS = "gananalyze-inline"
FRAME_HEIGHT = 720  # px: the report scrolls inside the frame


def diagnosis_html(diag: Diagnosis) -> str:
    """The verdict and the findings as one fragment with CSS scoped to ROOT_CLASS."""
    views = [
        FindingView(
            f.rule, f.severity, f.title, f.message, f.action, step_range(f), finding_numbers(f), []
        )
        for f in sorted(diag.findings, key=lambda f: -SEVERITY_RANK.get(f.severity, 0))
    ]
    status = look(diag)
    return render(
        "inline_diagnosis.html",
        root=ROOT_CLASS,
        run_name=diag.run_name,
        verdict=diag.verdict,
        verdict_class=status.css,
        verdict_label=status.label,
        recommendation=diag.recommendation,
        findings=views,
        skipped=diag.skipped,
    )


def report_frame(page: str, height: int = FRAME_HEIGHT) -> str:
    """A whole HTML page inside an isolated, sandboxed iframe (its CSS stays inside)."""
    return (
        f'<iframe class="{ROOT_CLASS}" sandbox="allow-scripts" '
        f'srcdoc="{html.escape(page, quote=True)}" '
        f'style="width: 100%; height: {int(height)}px; border: 1px solid #d1d9e0; '
        'border-radius: 6px;"></iframe>'
    )
