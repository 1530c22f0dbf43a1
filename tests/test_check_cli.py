"""`gananalyze check`: terminal output, JSON, exit codes, --rules-config."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from gananalyze.cli import main


def run_cli(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)])


def d_overpowers(synthetic_run, name="dover"):
    n = 200
    dx = np.r_[np.full(100, 0.5), np.full(100, 0.99)]
    dg = np.r_[np.full(100, 0.5), np.full(100, 0.01)]
    return synthetic_run(name, steps=n, d_x=dx, d_gz=dg, noise=0.005)


def g_overpowers(synthetic_run):
    return synthetic_run("gover", steps=200, d_gz=np.r_[np.full(120, 0.5), np.full(80, 0.8)])


def test_healthy_run_exits_zero_and_says_so(synthetic_run):
    r = run_cli(synthetic_run("ok"))
    assert r.exit_code == 0, r.output
    assert "verdict:  No problems found, D(x) 0." in r.output
    assert "status:   no problems found\n" in r.output  # no samples: not called healthy
    assert "not called healthy: no samples or sample metrics" in r.output
    assert "INFO     healthy_equilibrium  steps 150-199: Healthy equilibrium" in r.output
    assert (
        "skipped:" in r.output
        and "vanishing_gradients: not enough data: needs G_grad_norm" in r.output
    )
    assert run_cli(synthetic_run("ok2"), "--fail-on", "warning").exit_code == 0


def test_error_finding_exits_one_and_prints_range_message_action(synthetic_run):
    r = run_cli(d_overpowers(synthetic_run))
    assert r.exit_code == 1
    assert (
        "ERROR    d_overpowering  steps 100-199: Discriminator overpowers the generator" in r.output
    )
    assert "D wins from step 100 to the end (50% of the run): D(x) 0.99" in r.output
    assert "-> Weaken D or strengthen G" in r.output
    assert "loss:     bce (real and fake D terms summed; equilibrium D loss 1.39)" in r.output


def test_fail_on_levels(synthetic_run):
    p = g_overpowers(synthetic_run)
    assert run_cli(p).exit_code == 0  # only a warning; default --fail-on error
    r = run_cli(p, "--fail-on", "warning")
    assert r.exit_code == 1
    assert "WARNING  g_overpowering  steps 120-199" in r.output


def test_json_output(synthetic_run):
    r = run_cli(d_overpowers(synthetic_run), "--json")
    assert r.exit_code == 1
    d = json.loads(r.output)
    assert d["run"] == "dover" and d["worst"] == "error"
    f = [f for f in d["findings"] if f["rule"] == "d_overpowering"][0]
    assert (f["severity"], f["start_step"], f["end_step"]) == ("error", 100, 199)
    assert f["numbers"]["D_x"] > 0.98
    assert {
        "rule": "over_training",
        "reason": "not enough data: needs fid at >= 3 evaluations",
    } in d["skipped"]
    assert d["context"]["equilibrium"]["D_loss"] == 2 * np.log(2)
    assert d["verdict"].startswith("Discriminator overpowers the generator from step 100")


def test_rules_config_changes_outcome_and_bad_config_is_error(synthetic_run, tmp_path):
    p = g_overpowers(synthetic_run)
    cfg = tmp_path / "t.json"
    cfg.write_text(json.dumps({"g_over_dgz_min": 0.9}))
    r = run_cli(p, "--fail-on", "warning", "--rules-config", cfg)
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("g_over_dgz_minimum: 0.9\n")
    r = run_cli(p, "--rules-config", bad)
    assert r.exit_code == 3
    assert r.output.startswith(f"Error: {bad}: unknown threshold(s) 'g_over_dgz_minimum'")
    assert "Traceback" not in r.output


def test_usage_errors_exit_two(synthetic_run):
    p = synthetic_run("ok")
    assert run_cli(p, "--fail-on", "info").exit_code == 2
    assert run_cli(p, "--bogus").exit_code == 2
    assert run_cli().exit_code == 2


def test_missing_run_is_a_plain_error(tmp_path):
    r = run_cli(tmp_path / "nope")
    assert r.exit_code == 3
    assert r.output.strip() == f"Error: {tmp_path / 'nope'}: no such file or directory"


def test_format_option_is_passed_through(synthetic_run):
    p = synthetic_run("ok")
    assert run_cli(p, "--format", "native").exit_code == 0
    r = run_cli(p, "--format", "nonsense")
    assert r.exit_code == 3 and "unknown format 'nonsense'" in r.output
