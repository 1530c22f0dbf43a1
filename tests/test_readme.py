"""Every command the README shows works as shown: each `gananalyze ...` line of its
shell blocks runs (on the sample runs, and the TensorBoard lines on a TensorBoard folder
this test writes with torch's SummaryWriter), the JSON error example prints exactly
what the README says, and its Python block runs."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_RUNS

from gananalyze.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.M | re.S)


def _commands() -> list[list[str]]:
    out = []
    for lang, body in BLOCKS:
        for line in body.replace("\\\n", " ").splitlines():
            line = line.removeprefix("$ ")
            if lang in ("sh", "") and line.startswith("gananalyze "):
                out.append(shlex.split(line, comments=True)[1:])
    return out


COMMANDS = _commands()


def _tensorboard_run(path: Path) -> None:
    """A DCGAN-like run as torch's SummaryWriter writes it: losses and D outputs."""
    from torch.utils.tensorboard import SummaryWriter

    rng = np.random.default_rng(0)
    with SummaryWriter(str(path)) as w:
        for step in range(300):
            dx, dgz = 0.5 + rng.normal(0, 0.02), 0.5 + rng.normal(0, 0.02)
            w.add_scalar("Loss/G", -np.log(dgz), step)
            w.add_scalar("Loss/D", -np.log(dx) - np.log(1 - dgz), step)
            w.add_scalar("D(x)", dx, step)
            w.add_scalar("D(G(z))", dgz, step)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("readme")
    # a copy: fid-sweep appends to the run it sweeps, and the repository's runs stay as committed
    shutil.copytree(SAMPLE_RUNS, d / "sample_runs")
    _tensorboard_run(d / "runs" / "dcgan")
    return d


def test_the_readme_shows_the_commands_it_promises():
    firsts = [c[0] for c in COMMANDS]
    assert {"info", "check", "report", "compare", "import", "fid-sweep"} <= set(firsts)
    tb = [c for c in COMMANDS if "runs/dcgan" in c]
    assert [c[0] for c in tb] == ["info", "check", "report"]
    assert len(README.splitlines()) < 200


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c)[:60] for c in COMMANDS])
def test_each_readme_command_runs(args, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    res = CliRunner().invoke(main, args)
    if "doesnotexist" in args:  # the exit-code example: exactly what the README shows
        shown = README.split("$ gananalyze check doesnotexist --json\n", 1)[1].split("```")[0]
        assert res.exit_code == 3 and res.stdout == shown
        return
    assert res.exit_code in (0, 1), res.output  # 1: check found an error, as documented
    assert "Error" not in res.output
    if args[0] == "info" and "runs/dcgan" in args:
        assert "format:      tensorboard" in res.stdout and "G_loss" in res.stdout
    for i, a in enumerate(args):
        if a == "-o":
            assert (workdir / args[i + 1]).is_file()


def test_the_readme_python_block_runs(workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    (code,) = [body for lang, body in BLOCKS if lang == "python" and "analyze(" in body]
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert ns["diagnosis"].worst() == "error" and len(ns["diagnosis"].to_frame()) == 5


def test_the_docs_folder_is_no_training_run():
    # docs/commands.md shows `gananalyze info docs` failing: the logs the docs quote (indented
    # examples, tables printed with pipes) must not make the folder a run
    from gananalyze.errors import GanAnalyzeError
    from gananalyze.loader import load_run

    with pytest.raises(GanAnalyzeError, match="not a training run: no format recognised"):
        load_run(ROOT / "docs")
