"""Rules that weigh all the evidence (issue 22): each failure class built in its exact shape.

- the D loss is read even when D's outputs are logged (rules/balance.py);
- a conclusion that holds under every loss convention consistent with the data is an error;
- a dead D (outputs saturated alike, a loss pinned at a clamp) gets its own finding and is
  never "generator fools the discriminator";
- short logs are judged when every row agrees, and say how many points;
- tabular verdicts: duplicated rows, a shuffled column, rows copied from the real table;
  `check --samples S --real R` with no training run.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from gananalyze import RunLog
from gananalyze.analysis.rules import diagnose
from gananalyze.cli import main
from gananalyze.loader import load_run


def fired(d) -> dict:
    return {f.rule: f for f in d.findings if f.severity != "info"}


def test_d_loss_read_even_when_d_outputs_are_logged(tmp_path):
    # D(x) ~0.9 / D(G(z)) ~0.1 (short of 0.95 / 0.05) while the D loss falls 1.23 -> 0.026,
    # the G loss rises 1.0 -> 6.7 and G's gradient shrinks 140x
    n = 400
    t = np.linspace(0, 1, n)
    rng = np.random.default_rng(0)
    with RunLog(tmp_path / "r", loss="bce", flush_rows=10_000) as log:
        for i in range(n):
            k = min(1.0, max(0.0, (t[i] - 0.25) * 4))
            log.scalars(
                i,
                D_loss=1.23 * (0.026 / 1.23) ** k * (1 + 0.05 * rng.normal()),
                G_loss=1.0 + 5.7 * k + 0.1 * rng.normal(),
                G_grad_norm=1.4 / (1 + 139 * k),
                D_x=0.6 + 0.3 * k,
                D_G_z_before=0.4 - 0.3 * k,
            )
    d = diagnose(load_run(tmp_path / "r"))
    f = fired(d)["d_overpowering"]
    assert f.severity == "error"
    assert 100 <= f.start_step <= 220
    assert "D(x) 0.9 and D(G(z)) 0.1; D loss 0.0259 (equilibrium 0.693)" in f.message
    assert f.numbers["G_grad_shrink"] > 50


def test_d_winning_under_every_convention_is_an_error(tmp_path):
    # loss type unknown (a plain CSV): D loss 3.7e-4 the whole run, G loss 3.7 -> 8.3
    n = 300
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "step": np.arange(n),
            "d_loss": 3.7e-4 * (1 + 0.1 * rng.normal(size=n)),
            "g_loss": np.linspace(3.7, 8.3, n) + 0.05 * rng.normal(size=n),
        }
    )
    (tmp_path / "r").mkdir()
    df.to_csv(tmp_path / "r" / "metrics.csv", index=False)
    d = diagnose(load_run(tmp_path / "r"))
    f = fired(d)["d_overpowering"]
    assert f.severity == "error"
    assert "BCE averaged" in f.message and "hinge summed" in f.message
    assert f.numbers["conventions"] == [
        "BCE averaged",
        "BCE summed",
        "hinge averaged",
        "hinge summed",
    ]


def test_d_loss_depending_on_the_convention_says_so(tmp_path):
    # D loss 0.09: D winning under summed BCE (< 0.104) but not averaged (0.052); no G loss
    n = 300
    df = pd.DataFrame({"step": np.arange(n), "d_loss": 0.09 + 0.002 * np.sin(np.arange(n))})
    (tmp_path / "r").mkdir()
    df.to_csv(tmp_path / "r" / "metrics.csv", index=False)
    f = fired(diagnose(load_run(tmp_path / "r")))["d_overpowering"]
    assert f.severity == "warning"
    assert "it depends on that convention" in f.message


def _loss_csv(path, d_loss, g_loss, n=300):
    rng = np.random.default_rng(1)
    path.mkdir()
    pd.DataFrame(
        {
            "epoch": np.arange(n),
            "d_loss": np.abs(d_loss + 0.1 * d_loss * rng.standard_normal(n)),
            "g_loss": g_loss + 0.02 * abs(g_loss) * rng.standard_normal(n),
        }
    ).to_csv(path / "log.csv", index=False)
    return load_run(path)


def test_a_d_loss_near_0_whose_g_loss_fits_no_winning_d_is_not_d_winning(tmp_path):
    # a clipped Wasserstein critic logged without its loss type: D loss 4e-5 with a G loss
    # of +0.01 (or -0.01): under BCE, LSGAN or hinge a D that wins makes the G loss large,
    # or (saturating BCE) no larger in size than the D loss itself
    for name, g in (("pos", 0.0107), ("neg", -0.0096)):
        d = diagnose(_loss_csv(tmp_path / name, 4e-5, g))
        assert "d_overpowering" not in fired(d), (name, d.verdict)
    # the same D loss with a G loss that a winning D gives (-log D(G(z)) at 5) is D winning
    d = diagnose(_loss_csv(tmp_path / "ns", 4e-5, 5.0))
    assert "d_overpowering" in fired(d)


def _clamped_run(path, d_loss, g_loss, d_out, n=200):
    with RunLog(path, loss="bce", flush_rows=10_000) as log:
        for i in range(n):
            log.scalars(i, D_loss=d_loss, G_loss=g_loss, D_x=d_out, D_G_z_before=d_out)
    return load_run(path)


def test_dead_d_saying_one_to_everything_is_clamped_not_fooled(tmp_path):
    # BCELoss averaged: D(x) = D(G(z)) = 1.0, D loss pinned at 50, G loss 0
    d = diagnose(_clamped_run(tmp_path / "r", 50.0, 0.0, 1.0))
    f = fired(d)
    assert set(f) == {"d_clamped"}
    c = f["d_clamped"]
    assert c.severity == "error"
    assert "D says 1.0 to real and fake alike at the last 200 of 200 points" in c.message
    assert "pinned at exactly 50" in c.message
    assert "log clamp (-100) on one of two averaged terms" in c.message
    assert d.status == "problems"


def test_d_loss_pinned_at_100_without_d_outputs(tmp_path):
    # summed BCELoss clamp, no D outputs: "from 50 to 50" drew no flag before
    with RunLog(tmp_path / "r", loss="bce", flush_rows=10_000) as log:
        for i in range(150):
            log.scalars(i, D_loss=100.0, G_loss=0.0)
    c = fired(diagnose(load_run(tmp_path / "r")))["d_clamped"]
    assert "pinned at exactly 100 for the last 150 of 150 points" in c.message
    assert "72.1x its equilibrium 1.39" in c.message


def test_training_losses_are_never_called_clamped(tmp_path):
    rng = np.random.default_rng(3)
    with RunLog(tmp_path / "r", loss="bce", flush_rows=10_000) as log:
        for i in range(200):
            log.scalars(i, D_loss=1.3 + 0.05 * rng.normal(), G_loss=0.8 + 0.05 * rng.normal())
    assert "d_clamped" not in {f.rule for f in diagnose(load_run(tmp_path / "r")).findings}


def test_short_log_where_every_row_agrees_is_judged(tmp_path):
    # 8 rows: D(x) = 1.0000, D(G(z)) = 0.0000, G loss 57
    lines = [
        f"[0/1][{i}/8]\tLoss_D: 0.0000\tLoss_G: 57.{i}\tD(x): 1.0000\tD(G(z)): 0.0000 / 0.0000"
        for i in range(8)
    ]
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "output.txt").write_text("\n".join(lines) + "\n")
    d = diagnose(load_run(tmp_path / "r"))
    f = fired(d)["d_overpowering"]
    assert f.severity == "error"
    assert "in every one of the 8 rows" in f.message
    assert "Judged from 8 points, under the 20 the trend rules need" in f.message
    assert "d_overpowering" not in dict(d.skipped)


def test_short_log_that_disagrees_is_not_judged(tmp_path):
    lines = [
        f"[0/1][{i}/8]\tLoss_D: 1.3\tLoss_G: 0.7\tD(x): {0.5 + 0.06 * i:.2f}\tD(G(z)): 0.4 / 0.4"
        for i in range(8)
    ]
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "output.txt").write_text("\n".join(lines) + "\n")
    assert "d_overpowering" not in fired(diagnose(load_run(tmp_path / "r")))


def _tb_rows(path, rows):
    """D loss, G loss, D(x), D(G(z)) per row, as a Keras-style CSV of 8 logged points."""
    path.mkdir()
    pd.DataFrame(rows, columns=["epoch", "d_loss", "g_loss", "d_real", "d_fake"]).to_csv(
        path / "log.csv", index=False
    )
    return load_run(path)


# 8 points of a D that wins (the lab's d_strong TensorBoard shape): one row (the 7th) where
# D(G(z)) jumps to 0.185 and the D loss to 1.16; in the last D(x) is 0.91 but the losses
# (D loss 0.119, G loss 13.5) still say D wins
_D_WINS_8 = [
    [0, 7.1e-05, 10.47, 0.99997, 4.4e-05],
    [1, 6.9e-04, 7.51, 0.99999, 6.8e-04],
    [2, 7.0e-05, 10.46, 0.99999, 6.6e-05],
    [3, 4.1e-05, 11.59, 0.99999, 3.0e-05],
    [4, 4.2e-05, 13.22, 0.99998, 2.5e-05],
    [5, 2.1e-05, 14.92, 0.99998, 4.0e-06],
    [6, 1.159, 10.02, 1.0, 0.185],
    [7, 0.119, 13.54, 0.9105, 2.3e-05],
]


def test_short_log_with_one_dissenting_row_reads_every_signal(tmp_path):
    d = diagnose(_tb_rows(tmp_path / "r", _D_WINS_8))
    f = fired(d)["d_overpowering"]
    assert f.severity == "warning"
    assert f.message.startswith(
        "D wins in all logged rows but one: D(x) at least 1 and D(G(z)) at most 6.80e-04 in 6 "
        "of the 8 rows, and D wins by its losses in 1 more (7 of 8). Judged from 8 points"
    )
    assert f.numbers["agreeing"] == 7 and f.numbers["points"] == 8


def test_short_log_whose_last_row_disagrees_is_not_judged(tmp_path):
    rows = [r[:] for r in _D_WINS_8]
    rows[6], rows[7] = rows[7], rows[6]  # the last row is now the dissenting one
    rows[6][0], rows[7][0] = 6, 7
    assert "d_overpowering" not in fired(diagnose(_tb_rows(tmp_path / "r", rows)))


def test_short_log_where_d_takes_over_after_the_start_up_is_judged_from_then(tmp_path):
    # a DCGAN log pasted into an issue (its samples "have always been noise"): 2 start-up
    # prints, then D(x) 0.97-1.0 and D(G(z)) 0.0000 in the last 6 of 8: D winning is an event
    # judged from the row it starts, as G fooling D and a runaway are (a warning)
    rows = [[0, 1.80, 2.1, 0.61, 0.36], [1, 7.53, 0.01, 0.99, 0.996]]
    rows += [[i, 0.25 - 0.02 * i, 56.7 + 0.2 * i, 0.973 + 0.003 * i, 0.0] for i in range(2, 8)]
    f = fired(diagnose(_tb_rows(tmp_path / "r", rows)))["d_overpowering"]
    assert (f.severity, f.start_step, f.end_step) == ("warning", 2, 7)
    assert f.message.startswith(
        "D wins in every row from step 2 on (the last 6 of 8): D(x) at least 0.979 and "
        "D(G(z)) at most 0 in every one of the 6 rows. Judged from 8 points, under the 20 "
        "the trend rules need, because every row from step 2 on agrees, the last included."
    )
    assert (f.numbers["from_row"], f.numbers["points"], f.numbers["agreeing"]) == (2, 8, 6)
    # D winning only in the last 3 of 8 rows (under half the log): not judged
    late = [r[:] for r in rows]
    for r in late[2:5]:
        r[1:] = [1.3, 0.7, 0.6, 0.4]
    assert "d_overpowering" not in fired(diagnose(_tb_rows(tmp_path / "s", late)))


def _tables(tmp_path, n=800, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    real = pd.DataFrame(
        {"a": a, "b": 0.9 * a + 0.3 * rng.normal(size=n), "c": rng.exponential(size=n)}
    )
    real.to_csv(tmp_path / "real.csv", index=False)
    b = rng.normal(size=n)
    good = pd.DataFrame(
        {"a": b, "b": 0.9 * b + 0.3 * rng.normal(size=n), "c": rng.exponential(size=n)}
    )
    return real, good


def _check_tables(tmp_path, syn: pd.DataFrame) -> dict:
    syn.to_csv(tmp_path / "syn.csv", index=False)
    r = CliRunner().invoke(
        main,
        [
            "check",
            "--samples",
            str(tmp_path / "syn.csv"),
            "--real",
            str(tmp_path / "real.csv"),
            "--json",
        ],
    )
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    return json.loads(r.output)


def test_check_samples_real_without_a_run_passes_a_good_table(tmp_path):
    real, good = _tables(tmp_path)
    d = _check_tables(tmp_path, good)
    f = {x["rule"]: x for x in d["findings"]}
    assert f["tabular_fidelity"]["severity"] == "info"
    assert d["status"] == "healthy"


def test_duplicated_rows_and_a_shuffled_column_are_an_error(tmp_path):
    real, good = _tables(tmp_path)
    half = good.iloc[:400].copy()
    half["b"] = np.random.default_rng(5).permutation(half["b"].to_numpy())
    syn = pd.concat([half, half], ignore_index=True)
    d = _check_tables(tmp_path, syn)
    f = {x["rule"]: x for x in d["findings"]}["tabular_fidelity"]
    assert f["severity"] == "error"
    assert "50% of the synthetic rows repeat another synthetic row" in f["message"]
    assert "the correlation of a and b differs by" in f["message"]
    assert d["status"] == "problems"


def test_rows_copied_from_the_real_table_are_an_error(tmp_path):
    real, good = _tables(tmp_path)
    syn = pd.concat([good.iloc[:600], real.iloc[:200]], ignore_index=True)
    d = _check_tables(tmp_path, syn)
    f = {x["rule"]: x for x in d["findings"]}["tabular_fidelity"]
    assert f["severity"] == "error"
    assert "are exact copies of real rows" in f["message"]
    assert f["numbers"]["exact_copies"] == 0.25


def _normal_table(r: list[list[float]], n: int, seed: int, shift_c: float = 0.0) -> pd.DataFrame:
    x = np.random.default_rng(seed).multivariate_normal([0.0, 0.0, shift_c], r, size=n)
    return pd.DataFrame(x, columns=["a", "b", "c"])


R_REAL = [[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_one_column_a_little_off_in_a_table_right_on_average_is_info(tmp_path):
    # the table is judged as a whole (SDMetrics' averaged scores): c shifted by half its
    # spread (KS about 0.2) while a and b match is said, with its number, and not flagged
    _normal_table(R_REAL, 2000, 0).to_csv(tmp_path / "real.csv", index=False)
    d = _check_tables(tmp_path, _normal_table(R_REAL, 800, 1, shift_c=0.5))
    f = {x["rule"]: x for x in d["findings"]}["tabular_fidelity"]
    assert (
        f["severity"] == "info" and f["title"] == "Synthetic table matches the real one on average"
    )
    assert f["numbers"]["failing_columns"] == 1 and f["numbers"]["mean_column_distance"] < 0.15
    assert "1 of 3 columns differ in shape (c 0.2" in f["message"]
    assert f["message"].startswith("In the synthetic table (800 rows against 2000 real): mean ")


def test_every_pair_a_little_off_is_a_table_whose_trends_differ(tmp_path):
    # no pair past its own limit (0.3), every pair 0.2 off: the mean over pairs is past 0.15
    _normal_table(R_REAL, 2000, 0).to_csv(tmp_path / "real.csv", index=False)
    r_syn = [[1.0, 0.3, 0.2], [0.3, 1.0, 0.2], [0.2, 0.2, 1.0]]
    d = _check_tables(tmp_path, _normal_table(r_syn, 2000, 1))
    f = {x["rule"]: x for x in d["findings"]}["tabular_fidelity"]
    assert f["severity"] == "warning", f["message"]
    assert f["numbers"]["max_corr_diff"] < 0.3 and f["numbers"]["mean_corr_diff"] > 0.15
    assert f["message"].endswith("mean correlation difference 0.196 (limit 0.15).")
