"""How the lab reads `check`'s verdict on a run folder as a predicted class (lab/score.py
for the grid, lab/conditional.py for the conditional runs; each brings its own table of
rule names per class).

The folder is loaded and diagnosed as `check` would (with `real`: as `check --real REAL`
would). Predicted class, first that holds: the first class of `pred_rules` one of whose
rules fired (warning or error); "other" for any other fired rule (the not-training rules
of NOT_TRAINING excepted: they are about the log, not the training); "healthy" for status
healthy; then the abstentions "not judged", "no problems found", and "not loaded" for a
folder `check` cannot read. Verdicts are cached under `cache_key`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

NOT_TRAINING = {"damaged_data", "implausible_values"}


def predict(d, pred_rules: dict[str, set[str]]) -> str:
    """The predicted class of a Diagnosis."""
    fired = {f.rule for f in d.findings if f.severity in ("warning", "error")}
    for cls, rules in pred_rules.items():
        if fired & rules:
            return cls
    if fired - NOT_TRAINING:
        return "other"
    if d.status == "healthy":
        return "healthy"
    if d.status == "not_judged":
        return "not judged"
    return "no problems found"


def cache_key(run_id: str, record: Path) -> str:
    """The key a run's verdict is cached under: its id and a hash of the file its build
    wrote (a run rebuilt under the same id, from another recipe or build, is judged again)."""
    try:
        digest = hashlib.sha256(record.read_bytes()).hexdigest()[:12]
    except OSError:
        digest = "-"
    return f"{run_id}@{digest}"


def judge_folder(
    path: Path, pred_rules: dict[str, set[str]], real: Path | None = None
) -> tuple[str, str]:
    """(predicted class, verdict line) for one run folder."""
    from gananalyze.analysis.rules import diagnose
    from gananalyze.errors import GanAnalyzeError
    from gananalyze.loader import load_run

    try:
        run = load_run(path)
        if real is not None:
            from gananalyze.analysis.vectorstats import attach_tables

            attach_tables(run, real=str(real))
    except GanAnalyzeError as e:
        return "not loaded", str(e).splitlines()[0][:200]
    d = diagnose(run)
    fired = sorted({f.rule for f in d.findings if f.severity in ("warning", "error")})
    return predict(d, pred_rules), f"{d.status}; {fired}; {d.verdict}"[:300]
