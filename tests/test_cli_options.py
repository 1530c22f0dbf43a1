"""The CLI's error bridge: one exit code per meaning, --fail-on none, JSON errors with
--json (usage errors included), and the exit codes documented in --help."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from gananalyze.cli import main
from gananalyze.errors import MissingExtra


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _d_overpowers(synthetic_run):
    dx = np.r_[np.full(100, 0.5), np.full(100, 0.99)]
    dg = np.r_[np.full(100, 0.5), np.full(100, 0.01)]
    return synthetic_run("dover", steps=200, d_x=dx, d_gz=dg, noise=0.005)


def test_findings_exit_one_unless_fail_on_none(synthetic_run):
    run = _d_overpowers(synthetic_run)
    assert cli("check", run).exit_code == 1
    assert cli("check", run, "--fail-on", "warning").exit_code == 1
    res = cli("check", run, "--fail-on", "none", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["worst"] == "error"
    assert cli("check", synthetic_run("ok"), "--fail-on", "warning").exit_code == 0


def test_a_run_that_cannot_be_read_exits_three(tmp_path):
    res = cli("check", tmp_path / "nope")
    assert res.exit_code == 3 and res.stdout == ""
    assert res.stderr == f"Error: {tmp_path / 'nope'}: no such file or directory\n"
    (tmp_path / "empty").mkdir()
    res = cli("info", tmp_path / "empty", "--json")
    assert res.exit_code == 3 and res.stderr == ""
    err = json.loads(res.stdout)["error"]
    assert err["code"] == 3 and err["kind"] == "unreadable"
    assert err["message"].startswith(f"{tmp_path / 'empty'}: not a training run")


def test_json_errors_go_to_stdout_with_the_same_exit_code(tmp_path, synthetic_run):
    res = cli("check", tmp_path / "nope", "--json")
    assert res.exit_code == 3 and res.stderr == ""
    assert json.loads(res.stdout) == {
        "error": {
            "code": 3,
            "kind": "unreadable",
            "message": f"{tmp_path / 'nope'}: no such file or directory",
        }
    }
    # usage errors, caught while parsing, are JSON too
    res = cli("check", tmp_path, "--json", "--fail-on", "sometimes")
    assert res.exit_code == 2
    err = json.loads(res.stdout)["error"]
    assert err["code"] == 2 and err["kind"] == "usage"
    assert err["message"].startswith("Invalid value for '--fail-on': 'sometimes' is not one of")
    res = cli("compare", synthetic_run("a"), tmp_path / "nope", "--json")
    assert res.exit_code == 3 and json.loads(res.stdout)["error"]["kind"] == "unreadable"
    # without --json a usage error is click's usual text on stderr
    res = cli("check", tmp_path, "--fail-on", "sometimes")
    assert res.exit_code == 2 and res.stdout == "" and "Usage: main check" in res.stderr
    # an argument after `--` is not the flag
    res = cli("info", "--", "--json")
    assert res.exit_code == 3 and res.stdout == ""


def test_a_missing_extra_exits_four_naming_it(tmp_path, monkeypatch, synthetic_run):
    def needs_torch(*a, **k):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr("gananalyze.loader.load_run", needs_torch)
    res = cli("info", synthetic_run("r"))
    assert res.exit_code == 4
    assert res.stderr == (
        "Error: info needs torch, which is not installed: pip install 'gananalyze[fid]'\n"
    )

    def raises(*a, **k):
        raise MissingExtra("s3://b/r: reading s3:// URLs needs fsspec, ...", extra="s3")

    monkeypatch.setattr("gananalyze.loader.load_run", raises)
    res = cli("info", "s3://b/r", "--json")
    assert res.exit_code == 4
    assert json.loads(res.stdout)["error"]["kind"] == "missing_extra"
    # an ImportError of a module no extra provides is an unexpected error, not an extra
    monkeypatch.setattr(
        "gananalyze.loader.load_run",
        lambda *a, **k: (_ for _ in ()).throw(ModuleNotFoundError("x", name="notathing")),
    )
    res = cli("info", tmp_path)
    assert res.exit_code == 3 and "unexpected error: ModuleNotFoundError" in res.stderr


def test_help_documents_the_exit_codes():
    top = cli("--help")
    assert top.exit_code == 0
    text = " ".join(top.stdout.split())
    assert (
        "Exit codes: 0 no finding at or above --fail-on; 1 a finding at or above it; 2 usage "
        "error; 3 the run (or another input) cannot be read; 4 a needed extra is not installed"
    ) in text
    check = " ".join(cli("check", "--help").stdout.split())
    assert "1 a finding at or above it; 2 bad command-line usage; 3 the run" in check
    assert "[warning|error|none]" in check
    assert cli("--version").exit_code == 0
