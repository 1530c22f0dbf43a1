"""Seeded mutation of real run files: truncation, bit flips, garbage, deep nesting
and huge fields. Loading and `info`/`check` must never raise an uncaught
exception (exit 0, or 1 with a one-line message), and every part the mutation
did not touch must still load."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REAL_RUNS

from gananalyze import RunLog
from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.loader import load_run

N_MUTATIONS = 250
FILES_PER_REAL_RUN = (
    "stats.jsonl",
    "training_options.json",
    "metric-fid50k_full.jsonl",
    "loss_log.txt",
    "train_opt.txt",
)


def _mutate(data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    kind = ("truncate", "bitflip", "garbage", "nest", "huge")[int(rng.integers(5))]
    n = len(data)
    at = int(rng.integers(0, max(n, 1)))
    if kind == "truncate":
        return kind, data[:at]
    if kind == "bitflip":
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            if b:
                i = int(rng.integers(len(b)))
                b[i] ^= 1 << int(rng.integers(8))
        return kind, bytes(b)
    if kind == "garbage":
        return kind, data[:at] + rng.bytes(int(rng.integers(1, 200))) + data[at:]
    if kind == "nest":
        deep = b"[" * 5000 + b"{" * 100
        return kind, data[:at] + deep + data[at:]
    line = b'{"Loss/G/loss": {"num": 1, "mean": 1' + b"9" * 400 + b"}}\n"
    return kind, data[:at] + line + b"x" * int(rng.integers(1, 1 << 16)) + data[at:]


def _native_run(d: Path) -> Path:
    with RunLog(d, config={"lr": 2e-4}, flush_rows=40) as log:
        for s in range(120):
            log.scalars(s, G_loss=1.0 + s / 100, D_loss=0.5, D_x=0.6, D_G_z_before=0.4)
        log.samples(119, np.zeros((4, 1, 4, 4)))
    return d


def _tensorboard_run(d: Path) -> Path:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(d))
    for s in range(150):
        w.add_scalar("G_loss", 1.0 + s / 100, s)
        w.add_scalar("D_loss", 0.5, s)
    w.close()
    return d


def _sources(tmp_path: Path) -> list[tuple[Path, list[Path]]]:
    """(run folder, files to mutate) for each source run."""
    native = _native_run(tmp_path / "src" / "native")
    out = [(native, sorted(p for p in native.rglob("*") if p.is_file()))]
    tb = _tensorboard_run(tmp_path / "src" / "tb")
    out.append((tb, sorted(tb.glob("events.out.tfevents.*"))))
    if REAL_RUNS.is_dir():
        for name in (
            "stylegan2-ada-phytoplankton",
            "pix2pix-custom-restart",
            "cyclegan-horse2zebra",
        ):
            src = REAL_RUNS / name
            if src.is_dir():
                dst = tmp_path / "src" / name
                shutil.copytree(src, dst)
                files = sorted(p for p in dst.rglob("*") if p.name in FILES_PER_REAL_RUN)
                if files:
                    out.append((dst, files))
        tbreal = REAL_RUNS / "realesrgan-sobel-anime-tb"
        files = sorted(p for p in tbreal.rglob("events.out.tfevents.*") if p.stat().st_size > 100)
        if files:
            dst = tmp_path / "src" / "realesrgan"
            dst.mkdir()
            shutil.copy(files[0], dst / files[0].name)
            out.append((dst, [dst / files[0].name]))
    return out


def _check_cli(runner: CliRunner, args: list[str], what: str) -> None:
    res = runner.invoke(main, args)
    assert res.exit_code in (0, 1, 3), (what, res.exit_code, res.output[-500:])
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        what,
        repr(res.exception),
    )
    assert "Traceback" not in res.output, what
    if res.exit_code == 3 and args[0] == "info":
        assert len(res.output.strip().splitlines()) == 1, (what, res.output)


def test_mutated_runs_never_crash_and_intact_parts_still_load(tmp_path):
    rng = np.random.default_rng(12)
    sources = _sources(tmp_path)
    runner = CliRunner()
    kinds: dict[str, int] = {}
    work = tmp_path / "work"
    for k in range(N_MUTATIONS):
        src, files = sources[k % len(sources)]
        target = files[int(rng.integers(len(files)))]
        run = work / f"m{k}" / src.name
        shutil.copytree(src, run, symlinks=True)
        mutated = run / target.relative_to(src)
        kind, data = _mutate(target.read_bytes(), rng)
        kinds[kind] = kinds.get(kind, 0) + 1
        mutated.write_bytes(data)
        what = f"#{k} {kind} {mutated.relative_to(work)}"
        try:
            r = load_run(run)
        except GanAnalyzeError as e:
            assert "\n" not in str(e), what
            r = None
        if r is not None and mutated.suffix == ".parquet" and "scalars" in mutated.parts:
            # every other scalars part still loads in full
            intact = [p for p in (src / "scalars").iterdir() if p.name != mutated.name]
            want = set()
            for p in intact:
                want |= set(load_run_part_steps(p))
            assert want <= set(r.steps.tolist()), what
        _check_cli(runner, ["info", str(run)], what)
        if k % 3 == 0:
            _check_cli(runner, ["check", str(run)], what)
        shutil.rmtree(work / f"m{k}")
    assert set(kinds) == {"truncate", "bitflip", "garbage", "nest", "huge"}


def load_run_part_steps(p: Path) -> list[int]:
    import pyarrow.parquet as pq

    return pq.read_table(p, columns=["step"]).column("step").to_pylist()
