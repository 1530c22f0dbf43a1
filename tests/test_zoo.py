"""The labelled zoo: real runs other people committed to public repositories (issue 15).

tests/data/zoo/LABELS.yaml holds, per run folder, a label written from the curves and the
repository BEFORE running `check`, the rules that must fire (`expected_findings`) and the
rules that would be false alarms (`must_not`). Each run is one test:

- it loads, and `diagnose` fires every expected rule and none of the `must_not` ones; a
  run labelled healthy gets no problem finding;
- every run loads (a reader exists for each format; a run that stops loading fails);
- a run where label and tool still disagree keeps its disagreement in LABELS.yaml
  (`tool_disagrees`: why) and is a strict expected failure, so a fix is noticed.

`python tests/test_zoo.py` prints the score (right / false alarm / missed / not loaded).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from gananalyze.analysis.rules import ORDER, diagnose
from gananalyze.errors import GanAnalyzeError
from gananalyze.loader import load_run

ZOO = Path(__file__).resolve().parent / "data" / "zoo"
LABELS: dict[str, dict] = yaml.safe_load((ZOO / "LABELS.yaml").read_text(encoding="utf-8"))


def judge(name: str, lab: dict) -> tuple[str, str]:
    """("right" | "false alarm" | "missed" | "not judged" | "not loaded", details) for one run.

    "not judged": no rule had the data it needs and nothing was expected to fire.
    """
    try:
        run = load_run(ZOO / name)
    except GanAnalyzeError as e:
        return "not loaded", str(e)
    return judge_run(run, lab)


def judge_run(run, lab: dict) -> tuple[str, str]:
    """judge() on a run already loaded (lab/robust.py judges thinned copies of it)."""
    d = diagnose(run)
    fired = {f.rule for f in d.findings if f.severity != "info" or f.rule == "healthy_equilibrium"}
    false = sorted(set(lab.get("must_not") or []) & fired)
    about_training = fired - {"damaged_data"}  # unreadable lines say nothing of the training
    if lab["label"] == "healthy" and about_training - {"healthy_equilibrium"}:
        false = false or sorted(about_training)
    missed = sorted(set(lab.get("expected_findings") or []) - fired)
    details = f"status {d.status}; fired {sorted(fired)}; verdict: {d.verdict}"
    if false:
        return "false alarm", f"{details}; false alarm(s): {false}"
    if missed:
        return "missed", f"{details}; missed: {missed}"
    checks_only = {"divergence", "implausible_values", "damaged_data"}
    judged = set(ORDER) - checks_only - {r for r, _ in d.skipped}
    if d.status == "not_judged" or not judged:
        return "not judged", details  # no false alarm, but no confirmation either
    return "right", details


def _params():
    for name, lab in LABELS.items():
        marks = []
        if lab.get("tool_disagrees"):
            marks.append(pytest.mark.xfail(strict=True, reason=str(lab["tool_disagrees"])))
        yield pytest.param(name, lab, marks=marks, id=name)


def test_every_zoo_folder_is_labelled_and_sourced():
    folders = sorted(p.name for p in ZOO.iterdir() if p.is_dir())
    assert folders == sorted(LABELS)
    for name in folders:
        assert (ZOO / name / "SOURCE.txt").is_file(), name
        lab = LABELS[name]
        assert {"format", "loss", "label", "reason", "expected_findings", "must_not"} <= set(lab)


@pytest.mark.parametrize(("name", "lab"), list(_params()))
def test_zoo_verdict_matches_label(name: str, lab: dict):
    outcome, details = judge(name, lab)
    assert outcome in ("right", "not judged"), f"{name} ({lab['label']}): {outcome}: {details}"


HEALTHY = [
    n for n, lab in LABELS.items() if lab["label"] == "healthy" and not lab.get("tool_disagrees")
]


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_zoo_run_read_while_it_trains(name: str):
    """A healthy run checked while it trained (its log cut at a quarter, half and three
    quarters of its steps) raises no problem about the game: a rule that needs the whole run
    to stay quiet would alarm every user who checks mid-training. A sample metric that got
    worse since its best (over_training) is exempt: at the cut that is what was measured."""
    from lab.robust import cut

    run = load_run(ZOO / name)
    log = run.scalars if len(run.scalars) else run.sample_metrics  # a FID-only log
    steps = log["step"].to_numpy()
    quiet = {"damaged_data", "over_training"}
    for frac in (0.25, 0.5, 0.75):
        at = steps[0] + frac * (steps[-1] - steps[0])
        d = diagnose(cut(run, at))
        loud = [f.rule for f in d.findings if f.severity != "info" and f.rule not in quiet]
        assert not loud, f"{name} cut at step {at:.0f}: {loud}: {d.verdict}"


if __name__ == "__main__":  # the score for the closing note
    score: dict[str, int] = {}
    for name, lab in LABELS.items():
        outcome, details = judge(name, lab)
        score[outcome] = score.get(outcome, 0) + 1
        print(f"{outcome:12s} {name} ({lab['label']}): {details[:160]}")
    print(", ".join(f"{k}: {v}" for k, v in sorted(score.items())), file=sys.stderr)
