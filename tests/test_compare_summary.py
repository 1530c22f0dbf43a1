"""`compare` of many runs: a summary (outcome counts, the best and worst few) above
SUMMARY_ABOVE runs, every row with --all; --json and --csv are never summarised."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gananalyze.cli import main
from gananalyze.pages.text import SUMMARY_ABOVE

N_RUNS = 22  # above SUMMARY_ABOVE


def _write_csv_run(path: Path, i: int) -> None:
    """A metrics.csv run: steady losses (NaN from step 250 on in every 7th run), and an FID
    falling from 150 to 30 + 3i, so that run i ranks i + 1."""
    path.mkdir(parents=True)
    rng = np.random.default_rng(i)
    steps = np.arange(0, 400, 10)
    g = 0.7 + rng.normal(0, 0.02, len(steps))
    d = 1.38 + rng.normal(0, 0.02, len(steps))
    if i % 7 == 6:
        g[25:] = d[25:] = np.nan
    fid = np.linspace(150, 30 + 3 * i, len(steps))
    rows = [f"{s},{a:.4f},{b:.4f},{f:.2f}" for s, a, b, f in zip(steps, g, d, fid, strict=True)]
    (path / "metrics.csv").write_text("step,G_loss,D_loss,fid\n" + "\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("many")
    for i in range(N_RUNS):
        _write_csv_run(base / f"run-{i:02d}", i)
    return base


def _compare(many: Path, *flags: str):
    res = CliRunner().invoke(main, ["compare", str(many / "*"), *flags])
    assert res.exit_code == 0, res.output
    return res.stdout


def _row(i: int, status: str = "no problems found", problems: str = "-") -> str:
    rank = f"{i + 1:<2}"
    fid = 30 + 3 * i
    return (
        f"{rank}  run-{i:02d}  csv     390 iteration  -     -       {fid} @390         {fid}"
        f"         {status:<17}  {problems}"
    ).rstrip()


HEADER = (
    "#   run     format  steps          wall  s/step  best FID @step  final FID  status"
    "             problems found"
)


def test_many_runs_print_a_summary(many):
    assert N_RUNS > SUMMARY_ABOVE
    assert _compare(many).splitlines() == [
        "22 runs, ranked by best FID (lower is better); the best 5 and the worst 5 (every "
        "run: --all, --json or --csv)",
        "outcomes: 19 no problems found, 3 error",
        "",
        HEADER,
        *[_row(i) for i in range(5)],
        "...",
        *[_row(i) for i in (17, 18, 19)],
        _row(20, "error", "divergence"),
        _row(21),
    ]


def test_all_prints_every_row_and_verdict(many):
    lines = _compare(many, "--all").splitlines()
    assert lines[: N_RUNS + 1] == [
        HEADER,
        *[_row(i, *(("error", "divergence") if i % 7 == 6 else ())) for i in range(N_RUNS)],
    ]
    heading = (
        "verdicts (warnings and errors of the rule checks; all findings in --json and the HTML):"
    )
    verdicts = lines[lines.index(heading) + 1 :]
    assert [v.split(":")[0] for v in verdicts if v.startswith("  run-")] == [
        f"  run-{i:02d}" for i in range(N_RUNS)
    ]


def test_json_is_never_summarised(many):
    doc = json.loads(_compare(many, "--json"))
    assert [r["run"] for r in doc["runs"]] == [f"run-{i:02d}" for i in range(N_RUNS)]
    assert _compare(many, "--json", "--all") == _compare(many, "--json")
