"""analysis/recommendation.py: one checkpoint to keep and one step to stop, printed alike by
check, check --json, report, compare and fid-sweep (issue 22, item 4), in the shapes the
issue names: a page that recommended 2500, 1750 and "500 or earlier"; "keep step 3000
(FID 947)" for a run D won from step 31; "keep the checkpoint before the collapse" in a run
without checkpoints."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_RUNS

from gananalyze.analysis import analyze
from gananalyze.analysis.findings import Finding
from gananalyze.analysis.recommendation import recommend, stop_point
from gananalyze.cli import main
from gananalyze.loader import load_run
from gananalyze.runio import store
from gananalyze.runio.runlog import RunLog


def cli(*args):
    return CliRunner().invoke(main, [*map(str, args)])


def _keep_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("keep:"))[10:]


def test_stop_point_directions():
    fid = np.array([50.0, 20.0, 10.1, 10.0, 30.0])
    assert stop_point(fid, higher=False) == (3, 2)  # 10.1 is within 2% of 10.0
    assert stop_point(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), higher=True) == (4, 4)
    assert stop_point(fid, higher=False, tolerance=0.0) == (3, 3)


def test_mode_collapse_page_names_one_checkpoint_not_three():
    """The page that said 2500 ("most diverse"), 1750 (over-training) and "500 or earlier"
    (FID jump) now says one thing, and check --json and compare say the same."""
    res = cli("check", SAMPLE_RUNS / "mode-collapse")
    actions = [line for line in res.output.splitlines() if line.strip().startswith("->")]
    assert not [a for a in actions if re.search(r"\bkeep\b|or earlier|most diverse", a, re.I)]
    keep = _keep_line(res.output)
    assert keep == (
        "No checkpoint to keep: every one saved after the first step lies in or after mode "
        "collapse (from step 250); restart with the changes above (the best FID, 686 at step "
        "1750, lies inside it)."
    )
    d = json.loads(cli("check", SAMPLE_RUNS / "mode-collapse", "--json").output)
    rec = d["recommendation"]
    assert rec["text"] == keep
    assert (rec["keep_step"], rec["before_step"], rec["best_step"]) == (None, 250, 1750)
    comp = cli("compare", SAMPLE_RUNS / "mode-collapse", SAMPLE_RUNS / "healthy")
    assert f"    keep: {keep}" in comp.output


def test_a_run_d_won_from_step_31_keeps_no_checkpoint_inside_the_error():
    """d-overpowers: D wins from step 31; its best FID (947) is at step 3000, inside it."""
    _, diag = analyze(SAMPLE_RUNS / "d-overpowers")
    rec = diag.recommendation
    assert rec.keep_step is None and rec.before_step == 31
    assert (rec.best_step, round(rec.best_value)) == (3000, 947)
    assert "Keep" not in rec.text and "discriminator overpowers the generator" in rec.text
    assert not [f for f in diag.findings if "Keep" in f.action or "keep the" in f.action]


def _d_wins_run(path, win_from: int, fid: dict[int, float], checkpoints: list[int]):
    with RunLog(path, name=path.name) as log:
        for s in range(0, 400):
            late = s >= win_from
            log.scalars(
                s,
                D_x=0.999 if late else 0.55 + 0.02 * np.sin(s),
                D_G_z_before=0.001 if late else 0.45 + 0.02 * np.cos(s),
                D_loss=0.002 if late else 1.3,
                G_loss=7.0 if late else 0.8,
            )
    if fid:
        store.append_sample_metrics(
            path, pd.DataFrame({"step": list(fid), "fid": list(fid.values())})
        )
    (path / store.CKPT_DIR).mkdir(exist_ok=True)
    for c in checkpoints:
        (path / store.CKPT_DIR / f"step-{c:09d}.pt").write_bytes(b"")
    return path


def test_the_policy_keeps_the_best_checkpoint_before_the_first_error(tmp_path):
    """FID keeps falling after D wins (from step 200): the checkpoint kept is the best one
    before it (step 150), never the lower FID at 350, and every page prints that one."""
    p = _d_wins_run(
        tmp_path / "dwins",
        200,
        {0: 400.0, 50: 200.0, 100: 120.0, 150: 110.0, 250: 90.0, 350: 80.0},
        [0, 50, 100, 150, 250, 350],
    )
    run, diag = analyze(load_run(p))
    errs = [f for f in diag.findings if f.severity == "error"]
    assert errs and min(f.start_step for f in errs) <= 200
    rec = diag.recommendation
    assert (rec.keep_step, rec.checkpoint, rec.value) == (150, "step-000000150.pt", 110.0)
    assert (rec.best_step, rec.best_value, rec.stop_step) == (350, 80.0, 150)
    assert rec.text.startswith("Keep checkpoint step-000000150.pt (step 150, FID 110), the best")
    assert _keep_line(cli("check", p).output) == rec.text
    assert json.loads(cli("check", p, "--json").output)["recommendation"]["keep_step"] == 150
    out = tmp_path / "r.html"
    assert cli("report", p, "-o", out).exit_code in (0, 1)
    html = out.read_text()
    assert "Recommendation:</b> " + rec.text.replace("'", "&#39;") in html


def test_a_run_without_checkpoints_is_never_told_to_keep_one(tmp_path):
    """Exact duplicates in a synthetic table, a run that saved no checkpoint."""
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.normal(0, 1, 600), "b": rng.normal(5, 2, 600)})
    real.to_csv(tmp_path / "real.csv", index=False)
    syn = real.sample(500, random_state=1).reset_index(drop=True)
    syn.iloc[:450] = syn.iloc[0].to_numpy()
    syn.to_csv(tmp_path / "syn.csv", index=False)
    with RunLog(tmp_path / "tab") as log:
        for s in range(0, 300, 10):
            log.scalars(s, G_loss=1.0, D_loss=1.0)
    res = cli(
        "check",
        tmp_path / "tab",
        "--samples",
        tmp_path / "syn.csv",
        "--real",
        tmp_path / "real.csv",
    )
    assert res.exit_code == 1 and "vector_collapse" in res.output
    assert "checkpoint" not in res.output.lower()
    assert "keep:" not in res.output


def test_no_evaluations_keeps_the_last_checkpoint_before_the_error(tmp_path):
    p = _d_wins_run(tmp_path / "noeval", 200, {}, [0, 100, 150, 300])
    run = load_run(p)
    err = Finding(
        "d_overpowering", "error", "Discriminator overpowers the generator", "m", start_step=200
    )
    rec = recommend(run, [err])
    assert (rec.keep_step, rec.metric) == (150, None)
    assert rec.text == (
        "Keep checkpoint step-000000150.pt (step 150), the last before discriminator overpowers "
        "the generator (from step 200); no sample metric ranks the checkpoints; resume from it "
        "with the changes above."
    )
    assert recommend(run, []) is None  # nothing to choose between


@pytest.mark.parametrize("higher", [False, True])
def test_still_improving_and_direction(tmp_path, higher):
    col = "precision" if higher else "fid"
    vals = [0.2, 0.4, 0.6, 0.8] if higher else [80.0, 60.0, 40.0, 20.0]
    p = _d_wins_run(tmp_path / col, 10_000, {}, [0, 100, 200, 300])
    store.append_sample_metrics(p, pd.DataFrame({"step": [0, 100, 200, 300], col: vals}))
    rec = recommend(load_run(p), [], metric=col)
    assert (rec.keep_step, rec.still_improving, rec.stop_step) == (300, True, 300)
    assert rec.text.endswith("was still improving at the last evaluation: train longer.")


def test_a_window_of_a_long_log_shows_no_untrained_weights(tmp_path):
    # StudioGAN re-evaluates its best checkpoint (step 170000) after training: in the last
    # window of its log that row comes first. It is a trained checkpoint, not the initial
    # weights: over_training and the keep line name the same best evaluation.
    with RunLog(tmp_path / "w", name="w") as log:
        for s in range(185_400, 200_001, 100):
            log.scalars(s, D_loss=0.27, G_loss=3.5)
    fid = {170_000: 3.81, 190_000: 3.93, 200_000: 3.89}
    store.append_sample_metrics(
        tmp_path / "w", pd.DataFrame({"step": list(fid), "fid": list(fid.values())})
    )
    run, diag = analyze(load_run(tmp_path / "w"))
    ot = next(f for f in diag.findings if f.rule == "over_training")
    assert ot.numbers["best_step"] == 170_000 == diag.recommendation.best_step
    assert ot.message.startswith("Best FID 3.81 at step 170000 of 3 evaluations")
    # a run that starts at step 0 still shows its untrained weights, never the best
    with RunLog(tmp_path / "z", name="z") as log:
        for s in range(0, 401, 100):
            log.scalars(s, D_loss=1.3, G_loss=0.8)
    store.append_sample_metrics(
        tmp_path / "z", pd.DataFrame({"step": [0, 200, 400], "fid": [3.0, 90.0, 120.0]})
    )
    run, diag = analyze(load_run(tmp_path / "z"))
    ot = next(f for f in diag.findings if f.rule == "over_training")
    assert ot.numbers["best_step"] == 200
