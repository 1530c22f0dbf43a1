"""Consent: nothing a run names (generator code, pickles) is imported without the user's yes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_digits_run

from gananalyze import consent, load_run
from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.metrics.checkpoints import build_generator


def _run(path: Path, spec: dict) -> Path:
    """A native run with two digits checkpoints whose run.json names `spec`."""
    return write_digits_run(path, spec={"real_data": "sklearn-digits", **spec})


def _module(where: Path, name: str, marker: Path) -> None:
    """A module that writes `marker` when imported and provides a working Generator."""
    where.mkdir(parents=True, exist_ok=True)
    (where / f"{name}.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"
        "from gananalyze.digits import Generator\n"
    )


@pytest.fixture
def clean_imports():
    before = set(sys.modules), list(sys.path)
    yield
    for m in set(sys.modules) - before[0]:
        if m.startswith("evil_") or m.startswith("benign_"):
            del sys.modules[m]
    sys.path[:] = before[1]


def _hostile_runs(tmp_path: Path, marker: Path) -> list[Path]:
    system = _run(
        tmp_path / "system", {"target": "os:system", "kwargs": {"command": f"touch {marker}"}}
    )
    inside = _run(tmp_path / "inside", {"target": "evil_in:Generator", "pythonpath": ["."]})
    _module(inside, "evil_in", marker)
    up = _run(tmp_path / "up", {"target": "evil_up:Generator", "pythonpath": ["../outside"]})
    _module(tmp_path / "outside", "evil_up", marker)
    return [system, inside, up]


def test_hostile_runs_run_nothing_without_consent(tmp_path, clean_imports):
    marker = tmp_path / "MARKER"
    for run in _hostile_runs(tmp_path, marker):
        out = tmp_path / f"{run.name}.html"
        res = CliRunner().invoke(main, ["report", str(run), "-o", str(out)])
        assert res.exit_code == 0, res.output
        assert out.is_file()
        line = f"{run}: the t-SNE skipped: run.json names generator code "
        assert line in res.output
        # a pythonpath outside the run is named in the hint: the command works as printed
        hint = f" --code-path {(tmp_path / 'outside').resolve()}" if run.name == "up" else ""
        assert f"allow it once with `gananalyze allow {run}{hint}` or pass --trust-code" in (
            res.output
        )
        assert "t-SNE skipped" in out.read_text()
        res = CliRunner().invoke(
            main,
            [
                "fid-sweep",
                str(run),
                *"--real sklearn-digits --features digits --num-samples 20".split(),
            ],
        )
        assert res.exit_code == 3
        assert f"{run}: loading the generator skipped" in res.output
        with pytest.raises(GanAnalyzeError, match="gananalyze allow"):
            build_generator(load_run(run))
        assert not marker.exists(), run.name


def test_a_flag_or_a_stored_allow_is_consent_and_the_allow_lapses(tmp_path, clean_imports):
    marker = tmp_path / "MARKER"
    run = _run(tmp_path / "benign", {"target": "benign_a:Generator", "pythonpath": ["."]})
    _module(run, "benign_a", marker)
    r = load_run(run)
    assert consent.needs(r) == ["generator code 'benign_a:Generator' with pythonpath ['.']"]
    build_generator(r, r.checkpoints[-1], trust=True)
    assert marker.read_text() == "imported"
    marker.unlink()
    del sys.modules["benign_a"]

    res = CliRunner().invoke(main, ["allow", str(run)])
    assert res.output == (
        f"{run}: allowed to load generator code 'benign_a:Generator' with pythonpath ['.'] "
        f"(until it changes; `gananalyze allow --revoke {run}` takes it back)\n"
    )
    stored = json.loads(consent.store_path().read_text())  # conftest: a tmp XDG_CONFIG_HOME
    assert list(stored["runs"]) == [str(run.resolve())]
    build_generator(load_run(run), trust=False)
    assert marker.exists()
    marker.unlink()
    del sys.modules["benign_a"]

    # the code inside the run changes: the allow lapses
    (run / "benign_a.py").write_text((run / "benign_a.py").read_text() + "# changed\n")
    with pytest.raises(GanAnalyzeError, match=r"an earlier allow lapsed"):
        build_generator(load_run(run))
    # so does a changed spec
    consent.allow(load_run(run))
    assert consent.is_allowed(load_run(run))
    meta = json.loads((run / "run.json").read_text())
    meta["generator"]["kwargs"]["hidden"] = 9
    (run / "run.json").write_text(json.dumps(meta))
    assert not consent.is_allowed(load_run(run))
    assert not marker.exists()
    res = CliRunner().invoke(main, ["allow", "--revoke", str(run)])
    assert res.output == f"{run}: allow taken back\n"


def test_report_with_trust_code_imports_a_benign_generator(tmp_path, clean_imports):
    marker = tmp_path / "MARKER"
    run = _run(tmp_path / "benign", {"target": "benign_b:Generator", "pythonpath": ["."]})
    _module(run, "benign_b", marker)
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(run), "-o", str(out), "--trust-code"])
    assert res.exit_code == 0, res.output
    assert marker.exists()
    assert 'id="chart-tsne"' in out.read_text()


def test_builtin_generators_need_no_consent_and_old_flag_still_works(tmp_path):
    run = _run(tmp_path / "digits", {})
    r = load_run(run)
    assert consent.needs(r) == [] and consent.granted(r)
    build_generator(r, r.checkpoints[0])
    res = CliRunner().invoke(main, ["allow", str(run)])
    assert res.output == f"{run}: names no code or pickles to load; nothing to allow\n"
    res = CliRunner().invoke(main, ["fid-sweep", "--help"])
    assert "--trust-code, --trust-pickles" in res.output


def test_what_gananalyze_writes_into_the_run_keeps_the_allow(tmp_path, clean_imports):
    # pythonpath ["."] (the run itself, as docs/logging.md shows): fid-sweep's parquet parts,
    # the t-SNE cache and run.json's other fields are gananalyze's, never code
    marker = tmp_path / "MARKER"
    run = _run(tmp_path / "benign", {"target": "benign_c:Generator", "pythonpath": ["."]})
    _module(run, "benign_c", marker)
    consent.allow(load_run(run))
    (run / "metrics").mkdir(exist_ok=True)
    (run / "metrics" / "part-0.parquet").write_bytes(b"PAR1 not code")
    (run / "metrics" / "tsne-abc.npz").write_bytes(b"arrays")
    meta = json.loads((run / "run.json").read_text())
    meta["sessions"] = [{"started": "now"}]
    (run / "run.json").write_text(json.dumps(meta))
    assert consent.is_allowed(load_run(run))
    (run / "notes.txt").write_text("any other file under the pythonpath still counts\n")
    assert not consent.is_allowed(load_run(run))


def test_the_refusal_names_the_code_path_an_allow_needs(tmp_path, clean_imports):
    # the model's folder beside the runs (the usual layout): the hint must be a command that
    # works, so it names that folder with --code-path
    code = tmp_path / "project"
    run = _run(tmp_path / "runs" / "r", {"target": "benign_d:Generator", "pythonpath": [str(code)]})
    _module(code, "benign_d", tmp_path / "MARKER")
    msg = consent.refusal(load_run(run), "loading the generator")
    assert msg.endswith(
        f"allow it once with `gananalyze allow {run} --code-path {code.resolve()}` or pass "
        "--trust-code"
    )
    consent.allow(load_run(run), [str(code)])  # that command's allow holds
    assert consent.is_allowed(load_run(run))
