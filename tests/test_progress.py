"""Progress on the terminal: the library's progress hooks (report evidence, loading many
runs) and the bar the commands draw on stderr only when stderr is a terminal."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_synthetic_run

from gananalyze.analysis.report_evidence import gather
from gananalyze.analysis.runset import load_and_diagnose
from gananalyze.cli import main
from gananalyze.cli_options import TerminalBar, progress_bar
from gananalyze.loader import load_run


class _Terminal(io.StringIO):
    """A stream that says it is a terminal, as a console's stderr does."""

    def isatty(self) -> bool:
        return True


def _drawn(out: str, *parts: str) -> bool:
    """Whether one frame of the bar (the text between carriage returns) shows every part
    (the bar may put its time estimate between the count and the stage)."""
    return any(all(p in frame for p in parts) for frame in out.split("\r"))


def test_bar_draws_stages_on_a_terminal():
    term = _Terminal()
    bar = TerminalBar("report", term)
    assert bar.active
    bar(0, 2, "reading the run")
    bar.part(1, 1)(0, 2, "rule checks\x1b[2J")  # a library call's first of two stages
    bar.finish_with("drawing the page")
    bar.close()
    out = term.getvalue()
    assert _drawn(out, "report  [", "0/2", "reading the run")
    assert _drawn(out, "1/4", "rule checks\\x1b[2J")  # a name never reaches the terminal raw
    assert _drawn(out, "3/4", "drawing the page")


def test_bar_is_silent_and_hands_out_no_hook_off_a_terminal():
    plain = io.StringIO()
    bar = TerminalBar("report", plain)
    assert not bar.active
    assert bar.part(1, 1) is None  # the library then reports nothing
    bar(0, 2, "reading the run")
    bar.finish_with("drawing the page")
    bar.close()
    assert plain.getvalue() == ""


def test_progress_bar_ends_full_when_the_command_got_through(monkeypatch):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    with progress_bar("compare") as bar:
        bar(1, 3, "run-a")
    assert "3/3" in term.getvalue().split("\r")[-1]


def test_gather_reports_each_stage(tmp_path):
    run = load_run(write_synthetic_run(tmp_path / "r", steps=60))
    calls: list[tuple[int, int, str]] = []
    gather(run, tsne=False, progress=lambda *a: calls.append(a))
    assert calls == [(0, 2, "rule checks"), (1, 2, "sample diversity"), (2, 2, "")]


def test_load_and_diagnose_reports_each_run(tmp_path):
    a = write_synthetic_run(tmp_path / "a", steps=40)
    b = write_synthetic_run(tmp_path / "b", steps=40, seed=1)
    calls: list[tuple[int, int, str]] = []
    load_and_diagnose([a, b], jobs=1, progress=lambda *a: calls.append(a))
    assert calls == [(0, 2, str(a)), (1, 2, str(b)), (2, 2, "")]


def _on_terminal(args: list[str]) -> tuple[int, str, str]:
    """Run the command in a child process with its stderr on a pseudo-terminal (a real
    terminal as far as the process can tell); (exit code, stdout, what reached stderr)."""
    import pty

    env = {**os.environ, "COLUMNS": "120"}
    cmd = [sys.executable, "-m", "gananalyze", *args]

    master, slave = pty.openpty()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=slave, timeout=300, env=env)
    finally:
        os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # the terminal's other end is closed: all is read
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    return p.returncode, p.stdout.decode(), err.decode()


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("progress")
    write_synthetic_run(base / "a", steps=60)
    write_synthetic_run(base / "b", steps=60, seed=1)
    return base


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_report_and_compare_draw_a_bar_on_a_terminal(two_runs, tmp_path):
    code, out, err = _on_terminal(
        ["report", str(two_runs / "a"), "--no-tsne", "-o", str(tmp_path / "a.html")]
    )
    assert code == 0 and out == f"wrote {tmp_path / 'a.html'}\n"
    assert _drawn(err, "report  [", "0/2", "reading the run")
    assert _drawn(err, "1/4", "rule checks") and _drawn(err, "3/4", "drawing the page")
    assert _drawn(err, "4/4")
    code, out, err = _on_terminal(["compare", str(two_runs / "a"), str(two_runs / "b")])
    assert code == 0 and out.startswith("#  run  format")
    assert _drawn(err, "compare  [", "1/2", str(two_runs / "b")) and _drawn(err, "2/2")


def test_report_and_compare_print_no_bar_off_a_terminal(two_runs, tmp_path):
    runner = CliRunner()  # its stderr is no terminal, like a pipe or a CI log
    res = runner.invoke(
        main, ["report", str(two_runs / "a"), "--no-tsne", "-o", str(tmp_path / "a.html")]
    )
    assert (res.exit_code, res.stderr) == (0, "")
    res = runner.invoke(main, ["compare", str(two_runs / "a"), str(two_runs / "b")])
    assert (res.exit_code, res.stderr) == (0, "")
    assert res.stdout.startswith("#  run  format")
