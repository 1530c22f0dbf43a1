"""The committed fixture subset: a stratified sample of the lab's test half, copied with
its truth labels into tests/data/lab/, so CI re-checks the current rules on real lab runs
in seconds (tests/test_lab_accuracy.py) without training anything.

    python -m lab.fixtures [--per-class 4]

Picks, per truth class, up to --per-class runs of the test half, spreading them over the
logging styles and loss types, folders under 150 kB first (deterministic: then by id).
Writes LABELS.json with each run's spec, truth class, evidence level and the verdict of the
current rules at publication (the figures the test holds the rules to).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path

from .score import RUNS, TRAIN, judge_folder, row_of
from .specs import half_of

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "tests" / "data" / "lab"


MAX_BYTES = 150_000  # folders above this are picked only when a class has no smaller one


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def pick(per_class: int) -> list[dict]:
    by_class = defaultdict(list)
    for p in sorted(TRAIN.glob("*.json")):
        m = json.loads(p.read_text())
        if half_of(int(m["spec"]["seed"])) == "test" and (RUNS / m["id"] / ".done").is_file():
            by_class[m["truth"]].append(m)
    chosen = []
    for cls in sorted(by_class):
        seen_style, seen_loss, out = set(), set(), []
        pool = sorted(by_class[cls], key=lambda m: (_size(RUNS / m["id"]) > MAX_BYTES, m["id"]))
        for m in pool:  # first pass: a new style and a new loss each time
            sp = m["spec"]
            if (
                len(out) < per_class
                and sp["style"] not in seen_style
                and sp["loss"] not in seen_loss
            ):
                out.append(m)
                seen_style.add(sp["style"])
                seen_loss.add(sp["loss"])
        for m in pool:
            if len(out) < per_class and m not in out and m["spec"]["style"] not in seen_style:
                out.append(m)
                seen_style.add(m["spec"]["style"])
        chosen += out
    return chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="copy a stratified fixture subset of the lab")
    ap.add_argument("--per-class", type=int, default=4)
    a = ap.parse_args(argv)
    chosen = pick(a.per_class)
    if DEST.exists():
        shutil.rmtree(DEST)
    (DEST / "runs").mkdir(parents=True)
    labels = {}
    for m in chosen:
        src = RUNS / m["id"]
        shutil.copytree(src, DEST / "runs" / m["id"], ignore=shutil.ignore_patterns(".done"))
        pred, verdict = judge_folder(DEST / "runs" / m["id"])
        row = row_of(m["id"], m["spec"], m["truth"], pred, verdict)
        sp = m["spec"]
        labels[m["id"]] = {
            "spec": sp,
            "truth": m["truth"],
            "evidence": row["evidence"],
            "predicted_at_publish": pred,
            "outcome_at_publish": row["outcome"],
            "right_at_publish": row["right"],
        }
    right = sum(v["right_at_publish"] for v in labels.values())
    out = {
        "published": dt.date.today().isoformat(),
        "note": "truth classes from lab/truth.py; predicted_at_publish from lab/score.py",
        "right_at_publish": right,
        "n": len(labels),
        "runs": labels,
    }
    (DEST / "LABELS.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"{len(labels)} fixture runs in {DEST}; {right} right with the current rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
