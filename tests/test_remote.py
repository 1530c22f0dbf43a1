"""Runs on object storage: every command against a real S3 server on 127.0.0.1 (moto)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_synthetic_run
from s3server import s3_server, upload

from gananalyze import remote
from gananalyze.cli import main


def test_is_url_and_base_name():
    assert remote.is_url("s3://b/run")
    assert remote.is_url("gs://b/x/y/")
    assert not remote.is_url("file:///tmp/run")
    assert not remote.is_url("runs/r1")
    assert not remote.is_url(Path("s3:/b"))
    assert remote.base_name("s3://b/sweep/run-1/") == "run-1"


@pytest.fixture()
def bucket(tmp_path, monkeypatch):
    """Three native runs (one collapsing D) uploaded to s3://sweep/runs/ on a local server."""
    with s3_server(monkeypatch) as endpoint:
        for i, lr in enumerate((1e-4, 2e-4, 4e-3)):
            local = tmp_path / "local" / f"lr{i}"
            collapse = lr > 1e-3
            write_synthetic_run(
                local,
                seed=i,
                d_x=0.99 if collapse else 0.55,
                d_gz=0.01 if collapse else 0.45,
                config={"lr": lr, "seed": i},
            )
            upload(endpoint, local, "sweep", f"runs/lr{i}")
        yield tmp_path


def test_commands_against_a_local_s3_server(bucket):
    cli = CliRunner()
    res = cli.invoke(main, ["info", "s3://sweep/runs/lr0"])
    assert res.exit_code == 0, res.output
    assert "lr0  (s3://sweep/runs/lr0)" in res.output and "200" in res.output
    assert "gananalyze-remote-" not in res.output  # the local copy is not shown

    res = cli.invoke(main, ["check", "s3://sweep/runs/lr2"])
    assert res.exit_code == 1, res.output  # D overpowers G: an error finding
    assert "overpower" in res.output.lower()

    out = bucket / "out" / "r.html"
    res = cli.invoke(main, ["report", "s3://sweep/runs/lr0", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 10_000
    assert "s3://sweep/runs/lr0" in out.read_text()

    page = bucket / "out" / "c.html"
    res = cli.invoke(main, ["compare", "s3://sweep/runs/*", "--json", "-o", str(page)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert sorted(r["run"] for r in data["runs"]) == ["lr0", "lr1", "lr2"]
    assert {r["path"] for r in data["runs"]} == {f"s3://sweep/runs/lr{i}" for i in range(3)}
    assert {r["config"]["lr"] for r in data["runs"]} == {1e-4, 2e-4, 4e-3}
    assert page.is_file()


def test_missing_object_is_one_line(bucket):
    res = CliRunner().invoke(main, ["info", "s3://sweep/runs/nothing-here"])
    assert res.exit_code != 0
    assert res.output.strip() == "Error: s3://sweep/runs/nothing-here: no such file or directory"


def test_url_glob_matching_nothing_is_one_line(bucket):
    res = CliRunner().invoke(main, ["compare", "s3://sweep/other/*"])
    assert res.exit_code != 0
    assert res.output.strip() == (
        "Error: s3://sweep/other/*: the pattern matches no run directory "
        "(use --skip-bad to compare the others)"
    )
