"""Whether a verdict survives the same run logged less often, checked while it trains, or
logged with a weighted G loss: `python -m lab.robust` (`--cut`, `--g-weight`, `--mean-of`,
`--ema`); and what it would be had the trainer also saved its fixed-noise samples
(`--samples`, with `--real` the data's rows too).

The lab draws each run's logging interval from its seed, and the zoo's trainers log at
whatever rate their authors chose; a rule tuned to one rate would change its mind when the
same training is logged at another. Here every run of a lab half (and every zoo run) is
loaded once, judged as `check` judges it, and judged again with its scalar log thinned to
every k-th row (the samples, grids and evaluations are kept: only the loss log is
thinned). The truth of a lab run is its samples', so it does not change.

Printed per thinning: right / wrong / abstained, and the runs whose outcome moved, by
direction. What matters is "right -> wrong" and "abstained -> wrong": a thinner log may
lose a finding (fewer points than a rule needs: right -> abstained), but it should not
turn into a wrong one. The zoo is read by its own judge (tests/test_zoo.py).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections import Counter

from .score import PRED_RULES, ROOT, RUNS, TRAIN, outcome, truth_of
from .specs import half_of


def thinned(run, k: int):
    """`run` with its scalar log cut to every k-th row (first row kept)."""
    out = copy.copy(run)
    out.scalars = run.scalars.iloc[::k].reset_index(drop=True)
    return out


KEEP_AS_IS = ("step", "epoch", "wall_time")


def averaged_columns(sc) -> list[str]:
    """The columns a trainer averages over its batches: every numeric one but the counters,
    the clock and the sample metrics (a FID is computed once per evaluation, not per batch)."""
    from gananalyze.naming.aliases import is_sample_metric

    return [
        c
        for c in sc.columns
        if c not in KEEP_AS_IS and sc[c].dtype.kind in "fiu" and not is_sample_metric(str(c))
    ]


def averaged(run, k: int):
    """`run` logged as trainers that print an average do (Keras' CSVLogger per epoch,
    StyleGAN per tick, an AverageMeter per print): one row per k rows, each value the mean of
    those k rows (NaN if any was: the trainer's average would be), at the block's last step."""
    import numpy as np

    sc = run.scalars
    block = np.arange(len(sc)) // k
    num = averaged_columns(sc)
    means = sc[num].groupby(block).agg(lambda v: v.mean(skipna=False))
    last = sc.groupby(block).last()
    for c in num:
        last[c] = means[c]
    out = copy.copy(run)
    out.scalars = last.reset_index(drop=True)
    out.roles_cache = None
    return out


def smoothed(run, alpha: float):
    """`run` logged as trainers that print a running loss do (fastai's smooth_loss, a meter
    with momentum `alpha`): every value the exponential moving average of the values so far,
    debiased as fastai's is; a NaN stays NaN from there on, as it would in the trainer's
    average."""
    import numpy as np

    sc = run.scalars.copy()
    for c in averaged_columns(sc):
        v = sc[c].to_numpy(np.float64)
        out = np.full(len(v), np.nan)
        m, k, bad = 0.0, 0, False
        for i, x in enumerate(v):
            if np.isnan(x):
                continue  # not logged at this row
            bad = bad or not np.isfinite(x)
            k += 1
            m = alpha * m + (1 - alpha) * x
            out[i] = np.nan if bad else m / (1 - alpha**k)
        sc[c] = out
    out_run = copy.copy(run)
    out_run.scalars = sc
    out_run.roles_cache = None
    return out_run


def with_samples(run, data: str, z, folder):
    """`run` as it would read had its trainer also saved its fixed-noise samples at every
    checkpoint (as the DCGAN example's `fake_samples_epoch_*.png` or a RunLog do): the
    samples of `z` (the build's record: ckpt_steps, samples) of dataset `data`, written by
    RunLog into `folder` and read back, beside the run's own log. A run that logged samples
    is returned as it is."""
    from gananalyze import RunLog
    from gananalyze.loader import load_run

    from .writers import log_samples

    if run.samples or run.vectors:
        return run
    with RunLog(folder) as log:
        log_samples(log, data, z)
    saved = load_run(folder)
    out = copy.copy(run)
    out.samples, out.vectors = saved.samples, saved.vectors
    out.roles_cache = None
    return out


def samples_outcomes(half: str, real: bool = False) -> list[tuple[str, str, list[str]]]:
    """(run id, truth, [outcome as logged, with its fixed-noise samples (`with_samples`),
    and with `real` also with the data's rows as `check --real` reads them]) for the lab's
    written runs; a wrong outcome on a healthy run is "false alarm"."""
    import tempfile
    from pathlib import Path

    import numpy as np

    from gananalyze.analysis.rules import diagnose
    from gananalyze.analysis.vectorstats import attach_tables

    from .score import real_tables
    from .verdicts import predict

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tables = real_tables(Path(tmp)) if real else {}
        for meta, run in lab_runs(half):
            truth = truth_of(meta)
            if run is None:
                rows.append((meta["id"], truth, ["abstained"] * (3 if real else 2)))
                continue
            z = np.load(TRAIN / (meta["id"] + ".npz"))
            logs = [run, with_samples(run, meta["spec"]["data"], z, Path(tmp) / meta["id"])]
            if real:
                r = copy.copy(logs[1])
                if r.vectors and meta["spec"]["data"] in tables:
                    attach_tables(r, real=str(tables[meta["spec"]["data"]]))
                logs.append(r)
            outs = []
            for r in logs:
                o = outcome(truth, predict(diagnose(r), PRED_RULES))
                outs.append("false alarm" if o == "wrong" and truth == "healthy" else o)
            rows.append((meta["id"], truth, outs))
    return rows


def per_class(name: str, rows, heads: list[str], verbose: bool = False) -> list[str]:
    """right/wrong/abstained per truth class for each way of logging (`heads`), and the
    runs that moved to a wrong outcome (with `verbose`: every run that moved)."""
    lines = [f"== {name}: {len(rows)} runs; right/wrong/abstained per truth class"]
    lines.append("  " + " | ".join(["class".ljust(10), *(h.ljust(14) for h in heads)]))
    for cls in sorted({t for _, t, _ in rows}) + ["all"]:
        cells = []
        for i in range(len(heads)):
            c = Counter(o[i] for _, t, o in rows if cls in ("all", t))
            cells.append(f"{c['right']}/{c['wrong'] + c['false alarm']}/{c['abstained']}")
        lines.append("  " + " | ".join([cls.ljust(10), *(x.ljust(14) for x in cells)]))
    for rid, _, o in rows:
        for i in range(1, len(heads)):
            if o[i] != o[0] and (verbose or o[i] in ("wrong", "false alarm")):
                lines.append(f"    {rid}: {heads[0]} {o[0]} -> {heads[i]} {o[i]}")
    return lines


def lab_runs(half: str):
    """(build record, the run loaded as `check` loads it, or None when it does not load)
    for each written lab run of `half`."""
    from gananalyze.errors import GanAnalyzeError
    from gananalyze.loader import load_run

    for meta_p in sorted(TRAIN.glob("*.json")):
        meta = json.loads(meta_p.read_text())
        if half != "all" and half_of(int(meta["spec"]["seed"])) != half:
            continue
        folder = RUNS / meta["id"]
        if not (folder / ".done").is_file():
            continue
        try:
            yield meta, load_run(folder)
        except GanAnalyzeError:
            yield meta, None


def cut(run, step: int):
    """`run` as `check` would have read it at `step`, while it trained: the scalar log,
    non-finite counts, samples, grids, checkpoints and evaluations up to that step."""
    out = copy.copy(run)
    out.scalars = run.scalars[run.scalars["step"] <= step].reset_index(drop=True)
    if "step" in run.nonfinite:
        out.nonfinite = run.nonfinite[run.nonfinite["step"] <= step]
    if "step" in run.sample_metrics:
        out.sample_metrics = run.sample_metrics[run.sample_metrics["step"] <= step]
    out.samples = [s for s in run.samples if s.step <= step]
    out.vectors = [v for v in run.vectors if v.step <= step]
    out.checkpoints = [c for c in run.checkpoints if c.step <= step]
    out.roles_cache = None
    return out


def cut_outcomes(half: str, at: list[int]) -> list[tuple[str, list[str]]]:
    """(run id, [outcome of the whole run, then at each checkpoint index of `at`]) for the
    lab's written runs: the run cut after that checkpoint, judged against the truth its
    samples and D's outputs up to that checkpoint give (truth.classify on them)."""
    from gananalyze.analysis.rules import diagnose

    from .specs import _kind
    from .truth import classify
    from .verdicts import predict

    rows = []
    for meta, run in lab_runs(half):
        if run is None:
            rows.append((meta["id"], ["abstained"] * (len(at) + 1)))
            continue
        outs = [outcome(truth_of(meta), predict(diagnose(run), PRED_RULES))]
        sp, steps = meta["spec"], meta["ckpt_steps"]
        for k in at:
            if k >= len(steps) - 1:  # a run with fewer checkpoints: it ended there
                outs.append(outs[0])
                continue
            step = steps[k]
            gone = meta["diverged_at"] is not None and meta["diverged_at"] <= step
            truth = classify(
                _kind(sp["data"]),
                sp["loss"],
                meta["scores"][: k + 1],
                meta["d_eval"][: k + 1],
                gone,
            )
            pred = predict(diagnose(cut(run, step)), PRED_RULES)
            o = outcome(truth, pred)
            outs.append("false alarm" if o == "wrong" and truth == "healthy" else o)
        rows.append((meta["id"], outs))
    return rows


def weighted(run, w: float):
    """`run` with its G loss logged after a weight `w` (an adversarial loss weight the log
    does not declare), or None without a G loss."""
    from gananalyze.naming.roles import run_roles

    g = run_roles(run).roles.get("G_loss")
    if g is None:
        return None
    out = copy.copy(run)
    out.scalars = run.scalars.copy()
    out.scalars[g] = out.scalars[g] * w
    out.roles_cache = None
    return out


def weight_outcomes(half: str, ws: list[float]) -> list[tuple[str, list[str]]]:
    """(run id, [outcome as logged, then with the G loss x each w]) for the lab's written
    runs that log a G loss; a wrong outcome on a healthy run is "false alarm"."""
    from gananalyze.analysis.rules import diagnose

    from .verdicts import predict

    rows = []
    for meta, run in lab_runs(half):
        if run is None or weighted(run, 1.0) is None:
            continue
        truth = truth_of(meta)
        outs = []
        for w in [1.0, *ws]:
            o = outcome(truth, predict(diagnose(weighted(run, w)), PRED_RULES))
            outs.append("false alarm" if o == "wrong" and truth == "healthy" else o)
        rows.append((meta["id"], outs))
    return rows


def lab_outcomes(half: str, ks: list[int], log=None) -> list[tuple[str, list[str]]]:
    """(run id, [outcome at full rate, then at each k]) for the lab's written runs, each
    logged by `log(run, k)` (`thinned` unless told)."""
    log = log or thinned
    from gananalyze.analysis.rules import diagnose

    from .verdicts import predict

    rows = []
    for meta, run in lab_runs(half):
        if run is None:
            rows.append((meta["id"], ["abstained"] * (len(ks) + 1)))
            continue
        truth = truth_of(meta)
        logs = [run] + [log(run, k) for k in ks]
        outs = [outcome(truth, predict(diagnose(r), PRED_RULES)) for r in logs]
        rows.append((meta["id"], outs))
    return rows


def zoo_outcomes(ks: list[int], log=None) -> list[tuple[str, list[str]]]:
    """(zoo folder, [the zoo judge's outcome at full rate, then at each k]), each run logged
    by `log(run, k)` (`thinned` unless told)."""
    log = log or thinned
    from gananalyze.errors import GanAnalyzeError
    from gananalyze.loader import load_run

    sys.path.insert(0, str(ROOT / "tests"))
    import test_zoo

    rows = []
    for name, lab in test_zoo.LABELS.items():
        try:
            run = load_run(test_zoo.ZOO / name)
        except GanAnalyzeError:
            continue
        logs = [run] + [log(run, k) for k in ks]
        rows.append((name, [test_zoo.judge_run(r, lab)[0] for r in logs]))
    return rows


def summarise(
    name: str,
    rows: list[tuple[str, list[str]]],
    ks: list[int],
    verbose: bool = False,
    each: str = "1 row in",
) -> list[str]:
    """The printed summary; each run that moved to a wrong outcome (with `verbose`: every
    run that moved) on its own line."""
    lines = [f"== {name}: {len(rows)} runs"]
    full = Counter(o[0] for _, o in rows)
    lines.append("  every row:    " + ", ".join(f"{v} {c}" for v, c in sorted(full.items())))
    for i, k in enumerate(ks, start=1):
        now = Counter(o[i] for _, o in rows)
        moved = Counter(f"{o[0]} -> {o[i]}" for _, o in rows if o[i] != o[0])
        lines.append(
            f"  {each} {k}:   "
            + ", ".join(f"{v} {c}" for v, c in sorted(now.items()))
            + (
                "; moved: " + ", ".join(f"{m} {c}" for m, c in sorted(moved.items()))
                if moved
                else "; none moved"
            )
        )
        for rid, o in rows:
            if o[i] != o[0] and (verbose or o[i] in ("wrong", "false alarm")):
                lines.append(f"    {rid}: {o[0]} -> {o[i]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--half", choices=("test", "tune", "all"), default="test")
    ap.add_argument("--every", type=int, nargs="+", default=[2, 4], help="thinning factors")
    ap.add_argument(
        "--mean-of",
        action="store_true",
        help="instead of keeping every k-th row, log the mean of each k rows (an epoch's average)",
    )
    ap.add_argument(
        "--ema",
        type=float,
        nargs="+",
        help="instead of thinning: log each run's running average with these momenta (0.9 0.98)",
    )
    ap.add_argument("--no-zoo", action="store_true")
    ap.add_argument("--no-lab", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every run that moved")
    ap.add_argument(
        "--g-weight",
        type=float,
        nargs="+",
        help="instead of thinning: log each lab run's G loss after these weights",
    )
    ap.add_argument(
        "--cut",
        type=int,
        nargs="+",
        help="instead of thinning: cut each lab run after these checkpoints (0-10)",
    )
    ap.add_argument(
        "--samples",
        action="store_true",
        help="instead of thinning: judge each lab run as if it had saved its fixed-noise samples",
    )
    ap.add_argument("--real", action="store_true", help="with --samples: also with the data's rows")
    a = ap.parse_args(argv)
    out = []
    if a.samples:
        heads = ["as logged", "+ samples"] + (["+ real rows"] if a.real else [])
        rows = samples_outcomes(a.half, a.real)
        out += per_class(f"lab, {a.half} half", rows, heads, a.verbose)
        print("\n".join(out))
        return 0
    if a.g_weight:
        rows = weight_outcomes(a.half, a.g_weight)
        out += summarise(f"lab, {a.half} half", rows, a.g_weight, a.verbose, "G loss x")
        print("\n".join(out))
        return 0
    if a.cut:
        rows = cut_outcomes(a.half, a.cut)
        out += summarise(f"lab, {a.half} half, cut", rows, a.cut, a.verbose, "after checkpoint")
        print("\n".join(out))
        return 0
    log, each = (averaged, "mean of") if a.mean_of else (thinned, "1 row in")
    if a.ema:
        log, each, a.every = smoothed, "running mean, momentum", a.ema
    if not a.no_lab:
        rows = lab_outcomes(a.half, a.every, log)
        out += summarise(f"lab, {a.half} half", rows, a.every, a.verbose, each)
    if not a.no_zoo:
        out += summarise("zoo", zoo_outcomes(a.every, log), a.every, a.verbose, each)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
