"""The result types of the rule checks: `Finding` and `Diagnosis`.

Kept apart from rules.py so that the report, `check` and `compare` can read
findings without importing every rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}
STATUSES = ("problems", "healthy", "no_problems_found", "not_judged")


# Rules whose info finding says the run is healthy (the rest say only "no problem found").
HEALTHY_RULES = {"healthy_equilibrium", "vector_collapse"}


def status_of(findings: list[Finding]) -> str:
    """The kind of answer a list of findings gives (see Diagnosis.status).

    A "no_problems" finding (diagnose adds it when the evidence falls short of "healthy",
    e.g. healthy losses but no samples compared with the real data) overrides the healthy
    findings beside it: the run is "no_problems_found", on every page alike.
    """
    rules = {f.rule for f in findings}
    if any(f.severity != "info" for f in findings):
        return "problems"
    if "no_problems" in rules:
        return "no_problems_found"
    if rules & HEALTHY_RULES:
        return "healthy"
    if "no_data" in rules:
        return "not_judged"
    return "no_problems_found"


@dataclass
class Finding:
    """One diagnosis, with the evidence that triggered it.

    rule: registry name (e.g. "d_overpowering"); severity: info/warning/error;
    title: short headline; message: one-line explanation with the numbers;
    action: what to do about it; start_step/end_step: the step range it covers
    (None when it is not about a range); numbers: the values that triggered it;
    metrics: the metric names whose charts show it (the report links to them).
    """

    rule: str
    severity: str
    title: str
    message: str
    action: str = ""
    start_step: int | None = None
    end_step: int | None = None
    numbers: dict[str, Any] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Diagnosis:
    """Everything the rules said about one run.

    verdict: one short sentence for the top of the report ("healthy", "D
    overpowers G from step 1200", ...); skipped: (rule, reason) for rules that
    could not run ("not enough data: needs D_x"); status: what kind of answer the
    verdict is, one of STATUSES: "problems" (a warning or error was found),
    "healthy" (the core evidence was there and showed none), "no_problems_found"
    (the checks that could run found nothing, but too few ran to call it
    healthy) or "not_judged" (no rule had the data it needs). Pages colour by it:
    only "healthy" is green; the last two look neutral. recommendation: the one
    checkpoint to keep and where to stop (analysis.recommendation), or None when there
    is nothing to choose; every page prints its text.
    """

    run_name: str
    verdict: str
    findings: list[Finding] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    thresholds: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    status: str = ""
    recommendation: Any = None  # analysis.recommendation.Recommendation | None
    # series the rules computed that pages show (e.g. "diversity"); not part of to_dict
    evidence: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.status:
            self.status = status_of(self.findings)

    def worst(self) -> str | None:
        """The highest severity among the findings, or None."""
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=SEVERITY_RANK.__getitem__)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_name,
            "verdict": self.verdict,
            "worst": self.worst(),
            "status": self.status,
            "recommendation": (
                self.recommendation.to_dict() if self.recommendation is not None else None
            ),
            "findings": [f.to_dict() for f in self.findings],
            "skipped": [{"rule": r, "reason": why} for r, why in self.skipped],
            "context": self.context,
        }

    def to_frame(self) -> Any:
        """The findings as a pandas DataFrame, one row per finding, most severe first.

        Columns: rule, severity, title, start_step, end_step (nullable integers), message,
        action, numbers (the dict of values that triggered the finding) and metrics.
        """
        import pandas as pd

        rows = sorted(self.findings, key=lambda f: -SEVERITY_RANK.get(f.severity, 0))
        frame = pd.DataFrame([f.to_dict() for f in rows], columns=FRAME_COLUMNS)
        for col in ("start_step", "end_step"):
            frame[col] = frame[col].astype("Int64")
        return frame


FRAME_COLUMNS = [
    "rule",
    "severity",
    "title",
    "start_step",
    "end_step",
    "message",
    "action",
    "numbers",
    "metrics",
]
