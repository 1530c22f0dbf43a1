"""`make verdicts`: the scoreboard of `gananalyze check`'s verdicts against the lab's truth
and the zoo's labels.

    python -m lab.score [--half test|tune|all] [--markdown FILE] [--fixtures DIR]

For every cached lab run (lab/.cache/runs, written by `make lab`) it loads the folder the
way `check` does, runs `diagnose`, maps the findings to a predicted class and compares it
with the truth class read from the samples (truth.py). Nothing is retrained, so after a
reader or rule change the scoreboard is one command again.

Predicted class, first that holds (warnings and errors only):
  divergence  the divergence rule fired
  clamped     d_clamped or d_stalled fired
  d_wins      d_overpowering or vanishing_gradients fired
  collapse    mode_collapse, vector_collapse, g_overpowering or over_training fired
  other       another problem finding (oscillation, wgan_critic, ...)
  healthy     no problem finding, and a rule judged the run
  not judged  no rule had the data it needs
A run is right when its predicted class is the one its truth class expects (mode_hopping
and late_collapse expect collapse; poor expects any problem); a healthy run with a problem
finding is a false alarm.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

from .specs import half_of

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNS = HERE / ".cache" / "runs"
TRAIN = HERE / ".cache" / "train"

PRED_ORDER = ("divergence", "clamped", "d_wins", "collapse", "other", "healthy", "not judged")
PRED_RULES = {
    "divergence": {"divergence"},
    "clamped": {"d_clamped", "d_stalled"},
    "d_wins": {"d_overpowering", "vanishing_gradients"},
    "collapse": {"mode_collapse", "vector_collapse", "g_overpowering", "over_training"},
}
EXPECT = {
    "healthy": {"healthy"},
    "d_wins": {"d_wins"},
    "collapse": {"collapse"},
    "mode_hopping": {"collapse"},
    "late_collapse": {"collapse"},
    "divergence": {"divergence"},
    "clamped": {"clamped"},
    "poor": {"divergence", "clamped", "d_wins", "collapse", "other"},
}
TRUTH_ORDER = tuple(EXPECT)
NOT_TRAINING = {"damaged_data", "implausible_values"}


def predict(d) -> str:
    """The predicted class of a Diagnosis (see the module docstring)."""
    fired = {f.rule for f in d.findings if f.severity in ("warning", "error")}
    for cls, rules in PRED_RULES.items():
        if fired & rules:
            return cls
    if fired - NOT_TRAINING:
        return "other"
    if d.status == "not_judged":
        return "not judged"
    return "healthy"


def judge_folder(path: Path) -> tuple[str, str]:
    """(predicted class, verdict line) for one run folder, as `check` reads it."""
    from gananalyze.analysis.rules import diagnose
    from gananalyze.errors import GanAnalyzeError
    from gananalyze.loader import load_run

    try:
        run = load_run(path)
    except GanAnalyzeError as e:
        return "not loaded", str(e).splitlines()[0][:200]
    d = diagnose(run)
    fired = sorted({f.rule for f in d.findings if f.severity in ("warning", "error")})
    return predict(d), f"{d.status}; {fired}; {d.verdict}"[:300]


def is_right(truth: str, pred: str) -> bool:
    return pred in EXPECT[truth]


def score_lab(half: str) -> list[dict]:
    rows = []
    for meta_p in sorted(TRAIN.glob("*.json")):
        meta = json.loads(meta_p.read_text())
        meta["half"] = half_of(int(meta["spec"]["seed"]))  # the split of lab/specs.py
        if half != "all" and meta["half"] != half:
            continue
        folder = RUNS / meta["id"]
        if not (folder / ".done").is_file():
            continue
        pred, verdict = judge_folder(folder)
        sp = meta["spec"]
        rows.append(
            {
                "id": meta["id"],
                "truth": meta["truth"],
                "pred": pred,
                "right": is_right(meta["truth"], pred),
                "half": meta["half"],
                "loss": sp["loss"],
                "style": sp["style"],
                "data": sp["data"],
                "verdict": verdict,
            }
        )
    return rows


def score_zoo() -> list[dict]:
    sys.path.insert(0, str(ROOT / "tests"))
    import test_zoo  # the zoo's own judge: labels, expected findings, must_not

    rows = []
    for name, lab in test_zoo.LABELS.items():
        outcome, details = test_zoo.judge(name, lab)
        rows.append(
            {
                "id": name,
                "truth": lab["label"],
                "outcome": outcome,
                "expected_failure": bool(lab.get("tool_disagrees")),
                "verdict": details[:200],
            }
        )
    return rows


def confusion(rows: list[dict], by: str | None) -> list[str]:
    """Text tables: truth x predicted counts, per value of `by` (or all)."""
    out = []
    groups = defaultdict(list)
    for r in rows:
        groups[r[by] if by else "all"].append(r)
    preds = [p for p in PRED_ORDER + ("not loaded",) if any(r["pred"] == p for r in rows)]
    for g in sorted(groups):
        rs = groups[g]
        right = sum(r["right"] for r in rs)
        out.append(
            f"\n{by or 'all runs'} = {g}: {right}/{len(rs)} right ({100 * right / len(rs):.0f}%)"
        )
        out.append(
            "  " + "truth / predicted".ljust(18) + "".join(f"{p:>11s}" for p in preds) + "   right"
        )
        for t in TRUTH_ORDER:
            tr = [r for r in rs if r["truth"] == t]
            if not tr:
                continue
            c = Counter(r["pred"] for r in tr)
            ok = sum(r["right"] for r in tr)
            out.append(
                f"  {t:18s}"
                + "".join(f"{c.get(p, 0):>11d}" for p in preds)
                + f"   {ok}/{len(tr)} ({100 * ok / len(tr):.0f}%)"
            )
    return out


def summary(rows: list[dict]) -> dict:
    """Per truth class: right / total; the false-alarm rate on healthy runs."""
    s = {}
    for t in TRUTH_ORDER:
        tr = [r for r in rows if r["truth"] == t]
        if tr:
            s[t] = {"right": sum(r["right"] for r in tr), "n": len(tr)}
    healthy = [r for r in rows if r["truth"] == "healthy"]
    alarms = [r for r in healthy if r["pred"] not in ("healthy", "not judged", "not loaded")]
    s["false_alarms_on_healthy"] = {"n_alarms": len(alarms), "n": len(healthy)}
    s["all"] = {"right": sum(r["right"] for r in rows), "n": len(rows)}
    return s


def report(half: str) -> tuple[list[str], dict]:
    rows = score_lab(half)
    lines = [f"Lab runs ({half} half): {len(rows)}"]
    lines += confusion(rows, None)
    for by in ("loss", "style", "data"):
        lines.append(f"\n== per {by}")
        lines += [
            f"  {g:14s} {sum(r['right'] for r in rs)}/{len(rs)} right"
            for g, rs in sorted(_group(rows, by).items())
        ]
    lines.append("\n== confusion per logging style")
    lines += confusion(rows, "style")
    lines.append("\n== confusion per loss type")
    lines += confusion(rows, "loss")
    zoo = score_zoo()
    zc = Counter(r["outcome"] for r in zoo)
    xf = [r for r in zoo if r["expected_failure"]]
    lines.append(
        f"\n== zoo ({len(zoo)} runs): " + ", ".join(f"{k}: {v}" for k, v in sorted(zc.items()))
    )
    lines.append(f"   documented expected failures: {len(xf)}")
    for r in zoo:
        flag = " (expected failure)" if r["expected_failure"] else ""
        lines.append(f"   {r['outcome']:12s} {r['id']} ({r['truth']}){flag}")
    return lines, {"lab": summary(rows), "zoo": dict(zc), "rows": rows, "zoo_rows": zoo}


def _group(rows, by):
    g = defaultdict(list)
    for r in rows:
        g[r[by]].append(r)
    return g


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the lab's scoreboard")
    ap.add_argument("--half", default="test", choices=("test", "tune", "all"))
    ap.add_argument("--json", type=Path, default=None, help="write the rows and summary here")
    ap.add_argument("--misses", action="store_true", help="list every wrong run with its verdict")
    ap.add_argument(
        "--package",
        type=Path,
        default=None,
        help="import gananalyze from this folder (e.g. an export of main's, for a baseline)",
    )
    a = ap.parse_args(argv)
    if a.package is not None:
        sys.path.insert(0, str(a.package.resolve()))
    if not TRAIN.is_dir():
        print("no lab runs: run `make lab` first", file=sys.stderr)
        return 1
    lines, data = report(a.half)
    print(f"Scoreboard of {dt.date.today().isoformat()}")
    print("\n".join(lines))
    s = data["lab"]
    print("\n== summary (lab " + a.half + " half)")
    for t, v in s.items():
        print(f"  {t:24s} {v}")
    if a.misses:
        print("\n== wrong runs")
        for r in data["rows"]:
            if not r["right"]:
                print(f"  {r['id']}: truth {r['truth']}, predicted {r['pred']}: {r['verdict']}")
    if a.json:
        a.json.write_text(
            json.dumps(
                {"date": dt.date.today().isoformat(), "half": a.half, **data}, indent=1, default=str
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
