"""`make verdicts`: the scoreboard of `gananalyze check`'s verdicts against the lab's truth
and the zoo's labels.

    python -m lab.score [--half test|tune|all] [--markdown FILE] [--json FILE] [--misses]
                        [--package DIR] [--real]

The conditional runs (lab/.cache/cond, lab/conditional.py) are scored as their own
section, with their own truth classes and predicted classes (that module's docstring).

For every cached lab run (lab/.cache/runs, written by `make lab`) it loads the folder the
way `check` does, runs `diagnose` (verdicts are kept in lab/.cache/verdicts/<digest of the
rules' source>.json, so re-scoring unchanged rules is instant and a changed rule re-judges
every run), maps the findings to a predicted class and compares it
with the truth class read from the samples (truth.py; relabelled from the cached scores by
the current rule, `truth_of`). Nothing is retrained, so after a
reader or rule change the scoreboard is one command again; `--package DIR` imports
gananalyze from DIR instead (another branch's checkout, or an export of main's for the
baseline).

`--real` scores the runs whose log holds vector samples (RunLog on the mixtures and the
table) as `check RUN --real data.csv` would, with the lab's dataset as the real rows: a
trainer that logs samples has its data. Both figures are published, with and without.

Predicted class, first that holds (warnings and errors only):
  divergence         the divergence rule fired
  clamped            d_clamped or d_stalled fired
  d_wins             d_overpowering or vanishing_gradients fired
  collapse           mode_collapse, vector_collapse, g_overpowering or over_training fired
  other              another problem finding (oscillation, wgan_critic, ...)
  healthy            no problem finding, and the diagnosis status is "healthy"
  no problems found  no problem finding, but too little evidence to call the run healthy
  not judged         no rule had the data it needs
  not loaded         the folder could not be read

Each run is then right, wrong or abstained:
  right      the predicted class is one the truth class expects (EXPECT: mode_hopping and
             late_collapse expect collapse; poor expects any problem)
  abstained  no verdict either way: "no problems found", "not judged" or "not loaded" (the
             tool said it could not tell, e.g. a collapse in a log of losses only)
  wrong      anything else; on a healthy run, any problem is a false alarm; on a failure,
             "healthy" is a miss.

Evidence: what the run's log holds (lab/writers.py `evidence`): losses only, D's outputs,
or samples. A failure type's evidence (NEEDS) is what could show it at all: a collapse (and
mode hopping, a late collapse) and a healthy verdict need samples; D winning, divergence,
a clamped or stalled D and a poor G show in the losses. The headline figure per failure
type is given on all its runs and on the runs whose log holds its evidence.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path

from . import conditional, verdicts
from .specs import half_of
from .tables import count_table, md_table, pct, tally, text_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RUNS = HERE / ".cache" / "runs"
TRAIN = HERE / ".cache" / "train"

PRED_ORDER = (
    "divergence",
    "clamped",
    "d_wins",
    "collapse",
    "other",
    "healthy",
    "no problems found",
    "not judged",
    "not loaded",
)
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
ABSTAIN = {"no problems found", "not judged", "not loaded"}
TRUTH_ORDER = tuple(EXPECT)
EVIDENCE_ORDER = ("losses", "d_outputs", "samples")
# the evidence a truth class can be seen in at all (a log holding it or more)
NEEDS = {
    "healthy": "samples",
    "d_wins": "losses",
    "collapse": "samples",
    "mode_hopping": "samples",
    "late_collapse": "samples",
    "divergence": "losses",
    "clamped": "losses",
    "poor": "losses",
}
def judge_folder(path: Path, real: Path | None = None) -> tuple[str, str]:
    """(predicted class, verdict line) for one run folder, as `check` reads it (with
    `real`: as `check --real REAL` reads it); lab/verdicts.py says how."""
    return verdicts.judge_folder(path, PRED_RULES, real)


def is_right(truth: str, pred: str) -> bool:
    return pred in EXPECT[truth]


def outcome(truth: str, pred: str) -> str:
    """right, wrong or abstained (see the module docstring)."""
    if is_right(truth, pred):
        return "right"
    return "abstained" if pred in ABSTAIN else "wrong"


def has_evidence(truth: str, evidence: str) -> bool:
    """Whether a log holding `evidence` can show `truth` at all (NEEDS)."""
    return EVIDENCE_ORDER.index(evidence) >= EVIDENCE_ORDER.index(NEEDS[truth])


def run_evidence(spec: dict) -> str:
    from .specs import Spec
    from .writers import evidence

    return evidence(Spec(**spec))


def rules_digest() -> str:
    """A digest of the imported gananalyze's source: the verdict cache's key."""
    import hashlib

    import gananalyze

    h = hashlib.sha256()
    pkg = Path(gananalyze.__file__).resolve().parent
    for p in sorted(pkg.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".yaml", ".json", ".html", ".txt"):
            h.update(str(p.relative_to(pkg)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def real_tables(folder: Path) -> dict[str, Path]:
    """The lab's vector datasets as CSV files in `folder` (columns c0, c1, ...: the order
    RunLog's vector samples are in): the real rows of `--real`."""
    import numpy as np

    from .data import load

    out = {}
    for name in ("ring8", "grid9", "table"):
        x = load(name).x
        p = folder / f"{name}.csv"
        head = ",".join(f"c{i}" for i in range(x.shape[1]))
        np.savetxt(p, x, delimiter=",", header=head, comments="", fmt="%.7g")
        out[name] = p
    return out


def score_lab(
    half: str,
    runs: Path = RUNS,
    train: Path = TRAIN,
    cache: Path | None = None,
    real: dict[str, Path] | None = None,
) -> list[dict]:
    """Rows of the lab's written runs in `half`. With `cache` (a JSON file), verdicts of
    runs already judged by the same rules are reused and new ones added to it. With `real`
    (dataset -> CSV), runs whose log holds vector samples are judged with those real rows
    (their verdicts kept in the cache's "-real" sibling); the other runs' verdicts are the
    same with or without it, and shared."""
    caches = {False: cache}
    if cache is not None:
        caches[True] = cache.with_name(cache.stem + "-real" + cache.suffix)
    seen = {
        k: json.loads(c.read_text()) if c is not None and c.is_file() else {}
        for k, c in caches.items()
    }
    seen.setdefault(True, {})
    rows = []
    for meta_p in sorted(train.glob("*.json")):
        meta = json.loads(meta_p.read_text())
        meta["half"] = half_of(int(meta["spec"]["seed"]))  # the split of lab/specs.py
        if half != "all" and meta["half"] != half:
            continue
        folder = runs / meta["id"]
        if not (folder / ".done").is_file():
            continue
        sp = meta["spec"]
        with_real = real is not None and sp["style"] == "runlog" and sp["data"] in real
        # keyed by what was trained too: a run rebuilt under the same id is judged again
        key = verdicts.cache_key(meta["id"], train / f"{meta['id']}.npz")
        if key not in seen[with_real]:
            seen[with_real][key] = judge_folder(folder, real[sp["data"]] if with_real else None)
            c = caches.get(with_real)
            if c is not None:
                c.parent.mkdir(parents=True, exist_ok=True)
                c.write_text(json.dumps(seen[with_real], indent=0))
        pred, verdict = seen[with_real][key]
        rows.append(row_of(meta["id"], meta["spec"], truth_of(meta), pred, verdict))
    return rows


def truth_of(meta: dict) -> str:
    """A cached run's truth class by the current labelling rule (truth.classify on the
    per-checkpoint scores and D's outputs the build stored), so a fix to the rule relabels
    the lab without retraining; meta["truth"] is the class written at build time."""
    from .specs import _kind
    from .truth import classify

    sp = meta["spec"]
    diverged = meta["diverged_at"] is not None
    return classify(_kind(sp["data"]), sp["loss"], meta["scores"], meta["d_eval"], diverged)


def row_of(rid: str, spec: dict, truth: str, pred: str, verdict: str) -> dict:
    ev = run_evidence(spec)
    return {
        "id": rid,
        "truth": truth,
        "pred": pred,
        "outcome": outcome(truth, pred),
        "right": is_right(truth, pred),
        "evidence": ev,
        "has_evidence": has_evidence(truth, ev),
        "half": half_of(int(spec["seed"])),
        "loss": spec["loss"],
        "style": spec["style"],
        "data": spec["data"],
        "verdict": verdict,
    }


def score_zoo() -> list[dict]:
    sys.path.insert(0, str(ROOT / "tests"))
    import test_zoo  # the zoo's own judge: labels, expected findings, must_not

    rows = []
    for name, lab in test_zoo.LABELS.items():
        res, details = test_zoo.judge(name, lab)
        rows.append(
            {
                "id": name,
                "truth": lab["label"],
                "outcome": res,
                "expected_failure": bool(lab.get("tool_disagrees")),
                "verdict": details[:200],
            }
        )
    return rows


def headline(rows: list[dict]) -> list[list[str]]:
    """Per truth class: runs, right / wrong / abstained, accuracy on all its runs and on
    the runs whose log holds its evidence; then the false alarms and the total."""
    out = []
    for t in TRUTH_ORDER:
        tr = [r for r in rows if r["truth"] == t]
        if not tr:
            continue
        ev = [r for r in tr if r["has_evidence"]]
        out.append([t, *tally(tr), NEEDS[t], pct(sum(r["right"] for r in ev), len(ev))])
    ev = [r for r in rows if r["has_evidence"]]
    out.append(["all", *tally(rows), "", pct(sum(r["right"] for r in ev), len(ev))])
    return out


HEADLINE_COLS = (
    "truth class",
    "runs",
    "right",
    "wrong",
    "abstained",
    "accuracy",
    "evidence needed",
    "accuracy where the log holds it",
)


def false_alarms(rows: list[dict]) -> tuple[int, int]:
    healthy = [r for r in rows if r["truth"] == "healthy"]
    return sum(r["outcome"] == "wrong" for r in healthy), len(healthy)


def breakdown(rows: list[dict], by: str) -> tuple[list[str], list[list[str]]]:
    """right/wrong/abstained per truth class (columns) for each value of `by` (rows)."""
    truths = [t for t in TRUTH_ORDER if any(r["truth"] == t for r in rows)]
    cols = [by] + truths + ["all (r/w/a)", "accuracy"]
    out = []
    order = EVIDENCE_ORDER if by == "evidence" else sorted({r[by] for r in rows})
    for g in order:
        rs = [r for r in rows if r[by] == g]
        if not rs:
            continue
        line = [g]
        for t in truths + [None]:
            tr = [r for r in rs if t is None or r["truth"] == t]
            c = Counter(r["outcome"] for r in tr)
            line.append(f"{c['right']}/{c['wrong']}/{c['abstained']}" if tr else "")
        line.append(pct(sum(r["right"] for r in rs), len(rs)))
        out.append(line)
    return cols, out


def confusion(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    preds = [p for p in PRED_ORDER if any(r["pred"] == p for r in rows)]
    return ["truth / predicted"] + preds, count_table(rows, "truth", TRUTH_ORDER, "pred", preds)


def sections(rows: list[dict]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, columns, rows) of every table of the scoreboard."""
    out = [("Per truth class", list(HEADLINE_COLS), headline(rows))]
    out.append(("Confusion (truth x predicted)", *confusion(rows)))
    for by in ("evidence", "loss", "style", "data"):
        out.append((f"Right/wrong/abstained per {by}", *breakdown(rows, by)))
    for ev in EVIDENCE_ORDER:
        rs = [r for r in rows if r["evidence"] == ev]
        if rs:
            out.append((f"Confusion, logs holding {ev}", *confusion(rs)))
    return out


def report(
    half: str, zoo: bool = True, cache: Path | None = None, real: dict[str, Path] | None = None
) -> tuple[list[str], list[str], dict]:
    """(text lines, markdown lines, data) of the scoreboard."""
    rows = score_lab(half, cache=cache, real=real)
    fa, nh = false_alarms(rows)
    ev = Counter(r["evidence"] for r in rows)
    intro = (
        f"Lab runs ({half} half): {len(rows)}; logs holding losses only "
        f"{ev['losses']}, D outputs {ev['d_outputs']}, samples {ev['samples']}. "
        f"False alarms on healthy runs: {pct(fa, nh)}."
        + (" Vector samples judged with the real rows (--real)." if real else "")
    )
    text, md = [intro], [intro]
    for title, cols, tab in sections(rows):
        text += ["", f"== {title}"] + text_table(cols, tab)
        md += ["", f"#### {title}", ""] + md_table(cols, tab)
    data = {"lab": summary(rows), "rows": rows}
    cond_cache = None if cache is None else cache.with_name(f"{cache.stem}-conditional.json")
    crows = conditional.score_rows(half, cond_cache)
    if crows:
        c = Counter(r["outcome"] for r in crows)
        fa = sum(r["truth"] == "healthy" and r["outcome"] == "wrong" for r in crows)
        nh = sum(r["truth"] == "healthy" for r in crows)
        line = (
            f"Conditional runs ({half} half; lab/conditional.py, swept per class): "
            f"{len(crows)}; right {c['right']}, wrong {c['wrong']}, abstained "
            f"{c['abstained']}; false alarms on healthy runs: {pct(fa, nh)}."
        )
        text += ["", "== Conditional runs", "  " + line]
        md += ["", "#### Conditional runs", "", line]
        for title, (cols, tab) in (
            ("per truth class", conditional.table(crows)),
            ("intended outcome x truth", conditional.intended_table(crows)),
        ):
            text += ["", f"== Conditional runs, {title}"] + text_table(cols, tab)
            md += ["", f"#### Conditional runs, {title}", ""] + md_table(cols, tab)
        data["conditional"] = {"summary": conditional.summary(crows), "rows": crows}
    if zoo:
        zr = score_zoo()
        zc = Counter(r["outcome"] for r in zr)
        xf = [r["id"] for r in zr if r["expected_failure"]]
        line = f"Zoo ({len(zr)} real runs): " + ", ".join(
            f"{k}: {v}" for k, v in sorted(zc.items())
        )
        line += f"; documented expected failures: {', '.join(xf) or 'none'}"
        text += ["", "== zoo", "  " + line] + [
            f"   {r['outcome']:12s} {r['id']} ({r['truth']})" for r in zr
        ]
        md += ["", line]
        data.update({"zoo": dict(zc), "zoo_rows": zr})
    return text, md, data


def summary(rows: list[dict]) -> dict:
    """Per truth class: right / wrong / abstained / n, and on the runs with evidence; the
    false alarms on healthy runs."""
    s = {}
    for t in TRUTH_ORDER + ("all",):
        tr = [r for r in rows if t == "all" or r["truth"] == t]
        if tr:
            c = Counter(r["outcome"] for r in tr)
            ev = [r for r in tr if r["has_evidence"]]
            s[t] = {
                "n": len(tr),
                "right": c["right"],
                "wrong": c["wrong"],
                "abstained": c["abstained"],
                "n_with_evidence": len(ev),
                "right_with_evidence": sum(r["right"] for r in ev),
            }
    fa, nh = false_alarms(rows)
    s["false_alarms_on_healthy"] = {"n_alarms": fa, "n": nh}
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the lab's scoreboard")
    ap.add_argument("--half", default="test", choices=("test", "tune", "all"))
    ap.add_argument("--json", type=Path, default=None, help="write the rows and summary here")
    ap.add_argument("--markdown", type=Path, default=None, help="write the tables as markdown")
    ap.add_argument("--no-zoo", action="store_true", help="the lab only")
    ap.add_argument(
        "--no-cache",
        action="store_true",
        help="judge every run again (by default verdicts are kept in lab/.cache/verdicts, "
        "keyed by a digest of the rules' source, so a rule change re-judges everything)",
    )
    ap.add_argument("--misses", action="store_true", help="list every wrong run with its verdict")
    ap.add_argument(
        "--package",
        type=Path,
        default=None,
        help="import gananalyze from this folder (another checkout, or an export of main's)",
    )
    ap.add_argument(
        "--real",
        action="store_true",
        help="judge runs with vector samples as `check --real` would, the lab's data as real rows",
    )
    a = ap.parse_args(argv)
    if a.package is not None:
        sys.path.insert(0, str(a.package.resolve()))
    if not TRAIN.is_dir():
        print("no lab runs: run `make lab` first", file=sys.stderr)
        return 1
    import tempfile

    import gananalyze

    digest = rules_digest()
    cache = None if a.no_cache else HERE / ".cache" / "verdicts" / f"{digest}.json"
    with tempfile.TemporaryDirectory() as tmp:
        real = real_tables(Path(tmp)) if a.real else None
        text, md, data = report(a.half, zoo=not a.no_zoo, cache=cache, real=real)
    src = Path(gananalyze.__file__).resolve().parent.parent
    print(f"Scoreboard of {dt.date.today().isoformat()} (rules from {src}, digest {digest})")
    print("\n".join(text))
    if a.misses:
        print("\n== wrong runs")
        for r in data["rows"] + data.get("conditional", {}).get("rows", []):
            if r["outcome"] == "wrong":
                print(f"  {r['id']}: truth {r['truth']}, predicted {r['pred']}: {r['verdict']}")
    if a.markdown:
        a.markdown.write_text("\n".join(md) + "\n")
    if a.json:
        a.json.write_text(
            json.dumps(
                {"date": dt.date.today().isoformat(), "half": a.half, **data}, indent=1, default=str
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
