"""Seeded mutation of real run files: truncation, bit flips, garbage, deep nesting
and huge fields; and hostile mutations by file kind: YAML alias bombs, deep
YAML/JSON, wrong-typed JSON fields, damaged .npy, long fields, pixel bombs.
Loading and `info`/`check` must never raise an uncaught exception (exit 0, or 1
with a one-line message), and every part the mutation did not touch must still
load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import LAUGHS, REAL_RUNS, png_header

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


# ---------------------------------------------------------------- hostile mutations by kind

N_HOSTILE = 48


def _wrong_type(data: bytes, rng: np.random.Generator) -> bytes:
    """One JSON value (in a document or a JSON line) replaced by one of another type."""
    import json

    odd = ["x", [1, [2]], {"mean": "x"}, None, True, -1e308, "=cmd|x"]
    lines = data.decode("utf-8", "replace").splitlines()
    i = int(rng.integers(len(lines))) if lines else 0
    try:
        obj = json.loads(lines[i] if len(lines) > 1 else data)
    except (ValueError, IndexError):
        return data + b'{"x": "y"}'

    def swap(o):
        if isinstance(o, dict) and o:
            k = list(o)[int(rng.integers(len(o)))]
            if isinstance(o[k], (dict, list)) and o[k] and rng.random() < 0.6:
                swap(o[k])
            else:
                o[k] = odd[int(rng.integers(len(odd)))]
        elif isinstance(o, list) and o:
            j = int(rng.integers(len(o)))
            o[j] = odd[int(rng.integers(len(odd)))]
        return o

    new = json.dumps(swap(obj))
    if len(lines) > 1:
        lines[i] = new
        return ("\n".join(lines) + "\n").encode()
    return new.encode()


def _damaged_npy(data: bytes, rng: np.random.Generator) -> bytes:
    how = int(rng.integers(3))
    if how == 0:
        return data.replace(b"'shape': (", b"'shape': (640000000000, ")
    if how == 1:
        return data.replace(b"'<f4'", b"'|O' ")
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }"
    hdr += b" " * (1_000_000 - len(hdr) - 1) + b"\n"
    return b"\x93NUMPY\x02\x00" + len(hdr).to_bytes(4, "little") + hdr


def _hostile(path: Path, data: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
    """A mutation that fits the file's kind."""
    suffix = path.suffix.lower()
    if suffix == ".yaml":
        if rng.random() < 0.5:
            return "alias bomb", (LAUGHS + "run_name: *a8\nx: *a8\n").encode()
        return "deep yaml", b"a: " + b"[" * 20000 + b"]" * 20000 + b"\n"
    if suffix in (".json", ".jsonl"):
        if rng.random() < 0.6:
            return "wrong-typed json", _wrong_type(data, rng)
        return "deep json", data + b"[" * 50000 + b"]" * 50000 + b"\n"
    if suffix == ".npy":
        return "damaged npy", _damaged_npy(data, rng)
    if suffix == ".png":
        side = (9000, 40000)[int(rng.integers(2))]
        return "pixel bomb", png_header(side, side)
    at = data.find(b"\n") + 1 if rng.random() < 0.5 else len(data)  # header line or body
    field = b'"' + b"x" * (1 << 20) + b'"'
    return "long field", data[:at] + field + b"," + data[at:]


def _hostile_sources(tmp_path: Path) -> list[tuple[Path, list[Path]]]:
    native = tmp_path / "src" / "native"
    with RunLog(native, config={"lr": 2e-4}, flush_rows=40) as log:
        for s in range(60):
            log.scalars(s, G_loss=1.0 + s / 100, D_loss=0.5, D_x=0.6, D_G_z_before=0.4)
        log.samples(58, np.zeros((16, 3), dtype=np.float32))
        log.samples(59, np.zeros((4, 1, 4, 4)))
    table = tmp_path / "src" / "lightning" / "version_0"
    table.mkdir(parents=True)
    (table / "metrics.csv").write_text(
        "step,g_loss,d_loss\n" + "".join(f"{s},{1 + s / 100},0.5\n" for s in range(60))
    )
    (table / "hparams.yaml").write_text("lr: 0.0002\nbatch_size: 64\n")
    mlflow = tmp_path / "src" / "mlflow"
    (mlflow / "metrics").mkdir(parents=True)
    points = "".join(f"1700000000000 {s} {s}\n" for s in range(30))
    (mlflow / "metrics" / "G_loss").write_text(points)
    (mlflow / "meta.yaml").write_text("run_name: quiet-fox\n")
    stylegan = tmp_path / "src" / "stylegan"
    stylegan.mkdir(parents=True)
    options = {"batch_size": 32, "G_kwargs": {"z_dim": 512}}
    (stylegan / "training_options.json").write_text(json.dumps(options))
    rec = {"Progress/kimg": {"num": 1, "mean": 0.0}, "Loss/G/loss": {"num": 1, "mean": 1.0}}
    lines = []
    for k in range(20):
        rec["Progress/kimg"]["mean"] = float(k)
        lines.append(json.dumps(rec))
    (stylegan / "stats.jsonl").write_text("\n".join(lines) + "\n")
    wandb = tmp_path / "src" / "wandb"
    wandb.mkdir()
    rows = [{"_step": s, "_runtime": s, "loss": 1.0} for s in range(20)]
    (wandb / "history.json").write_text(json.dumps(rows))
    pick = {".yaml", ".json", ".jsonl", ".npy", ".png", ".csv"}
    out = []
    for run in (native, table, mlflow, stylegan, wandb):
        files = sorted(p for p in run.rglob("*") if p.is_file() and p.suffix in pick)
        out.append((run, files))
    return out


def test_hostile_mutations_by_kind_are_skipped_with_a_warning(tmp_path):
    rng = np.random.default_rng(23)
    sources = _hostile_sources(tmp_path)
    runner = CliRunner()
    kinds: dict[str, int] = {}
    work = tmp_path / "work"
    for k in range(N_HOSTILE):
        src, files = sources[k % len(sources)]
        target = files[(k // len(sources)) % len(files)]
        run = work / f"h{k}" / src.name
        shutil.copytree(src, run)
        mutated = run / target.relative_to(src)
        kind, data = _hostile(mutated, mutated.read_bytes(), rng)
        kinds[kind] = kinds.get(kind, 0) + 1
        mutated.write_bytes(data)
        what = f"#{k} {kind} {mutated.relative_to(work)}"
        _check_cli(runner, ["info", str(run)], what)
        if kind in ("pixel bomb", "damaged npy") or k % 4 == 0:
            _check_cli(runner, ["check", str(run)], what)
        if kind in ("alias bomb", "deep yaml", "damaged npy"):
            res = runner.invoke(main, ["info", str(run)])
            assert mutated.name in res.output, (what, res.output[-300:])
        shutil.rmtree(work / f"h{k}")
    assert set(kinds) == {
        "alias bomb",
        "deep yaml",
        "wrong-typed json",
        "deep json",
        "damaged npy",
        "pixel bomb",
        "long field",
    }, kinds
