"""The published accuracy holds (issue 22): the committed fixture subset of the truth lab
(tests/data/lab: a stratified sample of the lab's test half, written by `python -m
lab.fixtures`, with each run's truth class read from its samples by lab/truth.py) is
re-checked with the current rules. The runs the rules get right may not fall below the
figure published with it (LABELS.json, docs/accuracy.md) minus MARGIN runs, no truth class
may lose more than one run, and healthy runs may not gain a false alarm.

A rule change that costs accuracy fails here; one that gains it raises the figures when
the fixtures are written again (`make lab`, then `python -m lab.fixtures`).
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "tests" / "data" / "lab"
MARGIN = 2  # runs of the whole subset (under 10% of it)

sys.path.insert(0, str(ROOT))
from lab.score import judge_folder, outcome  # noqa: E402

LABELS = json.loads((LAB / "LABELS.json").read_text()) if (LAB / "LABELS.json").is_file() else None


@pytest.fixture(scope="module")
def rescored() -> dict[str, str]:
    if LABELS is None:
        pytest.skip("no lab fixtures (python -m lab.fixtures writes them)")
    runs = LABELS["runs"]
    return {n: outcome(runs[n]["truth"], judge_folder(LAB / "runs" / n)[0]) for n in runs}


def test_fixture_accuracy_not_below_the_published_figure(rescored):
    runs = LABELS["runs"]
    right = sum(o == "right" for o in rescored.values())
    assert right >= LABELS["right_at_publish"] - MARGIN, (
        f"{right}/{len(runs)} right, published {LABELS['right_at_publish']}: "
        + "; ".join(
            f"{n}: truth {runs[n]['truth']}, now {o}"
            for n, o in rescored.items()
            if o != "right" and runs[n]["right_at_publish"]
        )
    )


def test_no_truth_class_loses_more_than_one_run(rescored):
    runs = LABELS["runs"]
    was = Counter(v["truth"] for v in runs.values() if v["right_at_publish"])
    now = Counter(runs[n]["truth"] for n, o in rescored.items() if o == "right")
    for cls, n in was.items():
        assert now[cls] >= n - 1, f"{cls}: {now[cls]} right, published {n}"


def test_healthy_runs_gain_no_false_alarm(rescored):
    runs = LABELS["runs"]
    healthy = [n for n in runs if runs[n]["truth"] == "healthy"]
    now = [n for n in healthy if rescored[n] == "wrong"]
    was = [n for n in healthy if runs[n]["outcome_at_publish"] == "wrong"]
    assert len(now) <= len(was), f"false alarms on healthy runs: {now}"


def test_published_headline_agrees_with_its_tables():
    """docs/accuracy.md's headline and per-class prose are the figures of its tables, so a
    re-scoring cannot update one and leave the other stale."""
    # prose lines joined (table rows stay rows)
    doc = re.sub(r"\n(?![|\n])", " ", (ROOT / "docs" / "accuracy.md").read_text())
    head = re.search(
        r"\*\*Test half \((\d+) runs\): (\d+) right \(\d+%\), (\d+) wrong, (\d+) abstained; "
        r"(\d+) false alarms on (\d+) healthy runs\.\*\*",
        doc,
    )
    assert head, "docs/accuracy.md: the test half's headline is missing"
    runs, right, wrong, abstained, alarms, healthy = map(int, head.groups())
    per_class = doc[doc.index("#### Per truth class") :]
    table = re.search(r"\| all \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", per_class)
    assert table, "docs/accuracy.md: the per truth class table is missing"
    assert tuple(map(int, table.groups())) == (runs, right, wrong, abstained)
    assert f"False alarms on healthy runs: {alarms}/{healthy} " in doc
    prose = doc[head.end() : head.end() + 600]
    for cls, r, w, a in re.findall(r"\| (\w+) \| \d+ \| (\d+) \| (\d+) \| (\d+) \|", per_class)[:6]:
        assert f"{cls} {r}/{w}/{a}" in prose, f"docs/accuracy.md: {cls} is {r}/{w}/{a} in the table"
