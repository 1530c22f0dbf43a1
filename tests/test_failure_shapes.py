"""Failure classes of issue 22 that had no test in their exact shape: a D loss pinned at 50
with no D outputs ("D loss went from 50 to 50", 72x the averaged BCE equilibrium); the
`healthy` sample run, whose recall stays <= 0.03; and `check --samples S --real R` with no
training run, on a real table (scikit-learn's breast cancer data) against synthetic copies
of it: a Gaussian-copula sample (good), jittered real rows, half its rows duplicated with a
column shuffled, and a quarter of its rows copied from the real table.
The other classes are built in tests/test_rules_evidence.py, test_rules_samples_evidence.py,
test_recommendation.py and test_one_recommendation.py.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_RUNS

from gananalyze.analysis import analyze
from gananalyze.analysis.rules import diagnose
from gananalyze.cli import main
from gananalyze.loader import load_run


@pytest.mark.parametrize("d_outputs", [False, True])
def test_d_loss_from_50_to_50_is_a_dead_d_at_72x_the_averaged_equilibrium(tmp_path, d_outputs):
    # a plain CSV (loss type unknown): D loss 50 (BCELoss's -100 clamp on one of two averaged
    # terms) and G loss 0 for 300 rows; with D outputs, D says 1.0 to real and fake alike
    df = pd.DataFrame({"step": np.arange(0, 3000, 10), "d_loss": 50.0, "g_loss": 0.0})
    if d_outputs:
        df["d_real"], df["d_fake"] = 1.0, 1.0
    (tmp_path / "r").mkdir()
    df.to_csv(tmp_path / "r" / "metrics.csv", index=False)
    d = diagnose(load_run(tmp_path / "r"))
    assert [(f.severity, f.rule) for f in d.findings if f.severity != "info"] == [
        ("error", "d_clamped")
    ]
    f = d.findings[0]
    assert (
        "D loss pinned at exactly 50 for the last 300 of 300 points, 72.1x its equilibrium "
        "0.693 under averaged BCE (BCELoss's log clamp (-100) on one of two averaged terms); "
        "G loss pinned at 0." in f.message
    )
    assert ("saturated, not fooled" in f.message) is d_outputs
    assert d.status == "problems" and d.verdict == "Discriminator dead from step 0 (error)."
    assert d.recommendation is None  # no checkpoints, no evaluations: nothing to keep


def test_the_healthy_sample_run_with_recall_at_most_0_03_is_not_called_healthy():
    _, d = analyze(SAMPLE_RUNS / "healthy")
    assert d.status == "problems"
    assert d.verdict == "Samples never came near the real data from step 0 (warning)."
    f = next(f for f in d.findings if f.rule == "sample_quality")
    assert (f.numbers["best_recall"], f.numbers["evaluations"]) == (
        pytest.approx(0.0306, abs=1e-4),
        11,
    )


# --- a synthetic table checked alone, against a real table ------------------------------


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """The breast cancer table's 30 numeric columns (569 rows) and four synthetic tables."""
    from scipy.stats import norm
    from sklearn.datasets import load_breast_cancer

    d = tmp_path_factory.mktemp("tables")
    real = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    real.to_csv(d / "real.csv", index=False)
    rng = np.random.default_rng(0)
    x = real.to_numpy(dtype=np.float64)
    n = len(x)
    # Gaussian copula: normal scores' correlation, marginals from the real quantiles
    z = norm.ppf((np.argsort(np.argsort(x, axis=0), axis=0) + 0.5) / n)
    u = norm.cdf(rng.multivariate_normal(np.zeros(x.shape[1]), np.corrcoef(z.T), size=n))
    copula = pd.DataFrame(
        np.column_stack([np.quantile(x[:, j], u[:, j]) for j in range(x.shape[1])]),
        columns=real.columns,
    )
    # real rows resampled and jittered by 10% of each column's spread: near-copies
    idx = rng.integers(0, n, n)
    noise = 0.1 * x.std(axis=0, ddof=1) * rng.normal(size=x.shape)
    jitter = pd.DataFrame(x[idx] + noise, columns=real.columns)
    half = copula.iloc[: n // 2].copy()
    half["mean radius"] = rng.permutation(half["mean radius"].to_numpy())
    out = {
        "copula": copula,
        "jitter": jitter,
        "duplicated": pd.concat([half, half], ignore_index=True),
        "copied": pd.concat([copula.iloc[: 3 * n // 4], real.iloc[: n - 3 * n // 4]]),
    }
    for name, df in out.items():
        df.to_csv(d / f"{name}.csv", index=False)
    return d


def _check(d, name: str, *extra: str):
    res = CliRunner().invoke(
        main, ["check", "--samples", str(d / f"{name}.csv"), "--real", str(d / "real.csv"), *extra]
    )
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res


def test_a_good_synthetic_table_alone_is_healthy(tables):
    res = _check(tables, "copula")
    assert res.exit_code == 0
    lines = res.output.splitlines()
    assert lines[:3] == [
        "run:      copula.csv",
        "status:   healthy",
        "verdict:  Healthy: no problems found; the vector samples at 1 checkpoint(s) show no "
        "collapse (coverage of the real rows 0.866 at step 0; 0% near-copies).",
    ]  # no loss line, no recommendation: there was no training run
    d = json.loads(_check(tables, "copula", "--json").output)
    tab = next(f for f in d["findings"] if f["rule"] == "tabular_fidelity")
    assert tab["severity"] == "info"
    assert tab["message"] == (
        "In the synthetic table (569 rows against 569 real): every column's shape within its "
        "limit, largest correlation difference 0.199, 0% duplicated rows, 2% of rows closer "
        "to a real record, for the data's spacing there, than real rows are to each other "
        "(about 5% expected)."
    )
    assert "equilibrium" not in d["context"] and d["recommendation"] is None


COPIED = ("Synthetic rows copied from the real table", "Drop rows copied from the training")
REPEATED = ("Synthetic rows repeat each other", "Deduplicate the synthetic rows (a G repeating")


@pytest.mark.parametrize(
    "name, says, title_advice",
    [
        (
            "jitter",
            "52% of the synthetic rows lie closer to a real record, for the data's spacing "
            "there, than 95% of real rows do to each other (expected about 5%), 0% are exact "
            "copies of real rows.",
            COPIED,
        ),
        (
            "duplicated",
            "50% of the synthetic rows repeat another synthetic row (the real table: 0%)",
            REPEATED,
        ),
        ("copied", "25% are exact copies of real rows.", COPIED),
    ],
)
def test_a_bad_synthetic_table_alone_is_an_error(tables, name, says, title_advice):
    res = _check(tables, name, "--json")
    assert res.exit_code == 1
    d = json.loads(res.output)
    tab = next(f for f in d["findings"] if f["rule"] == "tabular_fidelity")
    assert tab["severity"] == "error" and says in tab["message"]
    # the title and the advice name what failed (a table with no copies is told nothing of them)
    assert tab["title"] == title_advice[0] and tab["action"].startswith(title_advice[1])
    assert d["status"] == "problems" and d["recommendation"] is None
    if name == "duplicated":
        assert "the correlation of mean radius and mean perimeter differs by" in tab["message"]


def test_rows_bunched_where_the_data_is_dense_are_no_copies():
    # an undertrained G: its rows sit near the mean, close to real records there, but no
    # closer than real rows are to their own neighbours in that dense region
    from gananalyze.analysis.rules.tabular import copy_check

    rng = np.random.default_rng(0)
    real = rng.normal(size=(1000, 3))
    for scale in (0.1, 0.2, 0.3):  # the share raw distances gave: 0.023, 0.084, 0.117
        bunched = scale * rng.normal(size=(1000, 3))
        assert copy_check(real, bunched)["copied_share"] < 0.07  # about the 5% of real rows
    copied = real[rng.integers(0, 1000, 1000)] + 0.01 * rng.normal(size=(1000, 3))
    assert copy_check(real, copied)["copied_share"] > 0.4
