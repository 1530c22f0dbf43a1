"""The truth lab's conditional runs (lab/conditional.py): the labelling rule on samples
built here from the real digits (no training), the predicted classes and the section's
bookkeeping."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lab import conditional, data  # noqa: E402

DIGITS = data.digits().x.astype(np.float64)
LABELS = np.asarray(data.digit_labels(), dtype=np.int64)


def test_real_digits_asked_for_their_own_class_are_healthy():
    cls, facts = conditional.truth(DIGITS, LABELS)
    assert cls == "healthy" and facts["accuracy"] > 0.95 and facts["covered"] == 10
    assert facts["dropped"] == []


def test_digits_that_ignore_the_class_asked_for_are_condition_ignored():
    asked = np.random.default_rng(0).permutation(LABELS)
    cls, facts = conditional.truth(DIGITS, asked)
    assert cls == "condition_ignored" and facts["accuracy"] < 0.2 and facts["covered"] == 10


def test_label_3_drawing_8s_is_class_dropped():
    x = DIGITS.copy()
    eights = DIGITS[LABELS == 8]
    threes = np.flatnonzero(LABELS == 3)
    x[threes] = eights[np.arange(len(threes)) % len(eights)]
    cls, facts = conditional.truth(x, LABELS)
    assert cls == "class_dropped" and facts["dropped"] == [3]
    assert facts["per_label"][3] < 0.05


def _diag(status: str, *fired: tuple[str, str]):
    return SimpleNamespace(
        status=status, findings=[SimpleNamespace(rule=r, severity=s) for r, s in fired]
    )


def test_predicted_class_and_outcome():
    p = conditional.predict
    assert p(_diag("problems", ("conditional_collapse", "error"))) == "condition_ignored"
    assert p(_diag("problems", ("class_dropping", "warning"))) == "class_dropped"
    assert p(_diag("problems", ("mode_collapse", "warning"))) == "other"
    assert p(_diag("healthy", ("class_dropping", "info"))) == "healthy"
    assert p(_diag("no_problems_found", ("implausible_values", "warning"))) == "no problems found"
    o = conditional.outcome
    assert o("healthy", "healthy") == "right" and o("healthy", "other") == "wrong"
    assert o("class_dropped", "no problems found") == "abstained"
    assert o("poor", "condition_ignored") == "right" and o("poor", "healthy") == "wrong"


def test_section_tables_and_split():
    rows = [
        {"truth": "healthy", "intended": "healthy", "pred": "healthy", "outcome": "right"},
        {"truth": "class_dropped", "intended": "healthy", "pred": "class_dropped"},
        {"truth": "condition_ignored", "intended": "condition_ignored", "pred": "healthy"},
    ]
    for r in rows:
        r["outcome"] = conditional.outcome(r["truth"], r["pred"])
    cols, tab = conditional.table(rows)
    assert cols[:6] == ["truth class", "runs", "right", "wrong", "abstained", "accuracy"]
    assert tab[0] == ["healthy", "1", "1", "0", "0", "1/1 (100%)", "healthy 1"]
    assert tab[-1][:6] == ["all", "3", "2", "1", "0", "2/3 (67%)"]
    cols, tab = conditional.intended_table(rows)
    assert cols == ["intended / truth", "healthy", "condition_ignored", "class_dropped", "runs"]
    assert tab == [["healthy", "1", "0", "1", "2"], ["condition_ignored", "0", "1", "0", "1"]]
    halves = {sp.half for sp in conditional.specs() if sp.outcome == "class_dropped"}
    assert halves == {"test", "tune"}


def test_scored_rows_reuse_a_verdict_only_for_the_same_build(tmp_path):
    import json

    from conftest import write_synthetic_run

    sp = conditional.CondSpec(0, "healthy")
    write_synthetic_run(tmp_path / "runs" / sp.id, steps=60)
    meta_p = tmp_path / f"{sp.id}.json"
    meta = {"id": sp.id, "spec": sp.__dict__, "truth": "healthy", "facts": {"accuracy": 0.97}}
    meta_p.write_text(json.dumps(meta))
    cache = tmp_path / "verdicts.json"
    (row,) = conditional.score_rows("all", cache, tmp_path)
    assert row["id"] == sp.id and row["truth"] == "healthy"
    (key,) = json.loads(cache.read_text())
    assert key.startswith(f"{sp.id}@")
    # the cached verdict is reused while the build record is the same ...
    cache.write_text(json.dumps({key: ["class_dropped", "from the cache"]}))
    assert conditional.score_rows("all", cache, tmp_path)[0]["pred"] == "class_dropped"
    # ... and a rebuilt run (another record under the same id) is judged again
    meta_p.write_text(json.dumps({**meta, "facts": {"accuracy": 0.96}}))
    assert conditional.score_rows("all", cache, tmp_path)[0]["pred"] != "class_dropped"
