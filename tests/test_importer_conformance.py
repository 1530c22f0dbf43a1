"""One conformance check run over every importer in the registry (the way scikit-learn's
check_estimator runs over every estimator). For each format, a small run of that format
written here must:
- be detected as that format (no importer earlier in the order claims it, and the
  format's own `detect` does not claim the runs of formats that come after it);
- load into a Run with sorted, unique steps;
- turn damaged input (a garbage line, a cut-off end) into warnings, not a crash;
- survive seeded fuzz mutations with a Run or one clear GanAnalyzeError, never an
  unexpected exception;
- open files only inside the run folder (a link leading out of it is never followed).
"""

from __future__ import annotations

import builtins
import io
import json
from pathlib import Path

import numpy as np
import pytest
from test_fuzz_runs import _mutate
from test_importers import write_event_file
from test_importers_formats import write_mlflow

from gananalyze.errors import GanAnalyzeError
from gananalyze.importers import REGISTRY
from gananalyze.loader import detect_format, load_run

N_FUZZ = 6


def _stylegan(d: Path) -> Path:
    rows = [
        {
            "Loss/G/loss": {"num": 8, "mean": 1.0 + t, "std": 0.5},
            "Loss/D/loss": {"num": 8, "mean": 0.5, "std": 0.0},
            "Progress/tick": {"num": 1, "mean": float(t), "std": 0.0},
            "Progress/kimg": {"num": 1, "mean": 4.0 * t, "std": 0.0},
            "timestamp": 1000.0 + 60 * t,
        }
        for t in range(6)
    ]
    (d / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "training_options.json").write_text(json.dumps({"batch_size": 8}))
    return d / "stats.jsonl"


def _stylegan_log(d: Path) -> Path:
    (d / "log.txt").write_text(
        "".join(
            f"tick {t}     kimg {4.0 * t:.1f}     time {t}m 05s     sec/tick 52.{t}  gpumem 4.9\n"
            for t in range(6)
        )
    )
    return d / "log.txt"


def _cyclegan(d: Path) -> Path:
    (d / "loss_log.txt").write_text(
        "================ Training Loss (Sun Mar  1 10:00:00 2020) ================\n"
        + "".join(
            f"(epoch: {e}, iters: {i}, time: 0.120, data: 0.002) D_A: 0.25 G_A: 0.{e}{i // 100} "
            f"cycle_A: 1.5 D_B: 0.25 G_B: 0.5 cycle_B: 1.25\n"
            for e in (1, 2)
            for i in (100, 200, 300)
        )
    )
    return d / "loss_log.txt"


def _tensorboard(d: Path) -> Path:
    pts = [(s, tag, 1.0 + s / 10, 1000.0 + s) for s in range(8) for tag in ("G_loss", "D_loss")]
    return write_event_file(d / "events.out.tfevents.1.host", pts)


def _chainer(d: Path) -> Path:
    rows = [
        {"epoch": k // 2, "iteration": 100 * k, "gen/loss": 1.0, "dis/loss": 0.5}
        for k in range(1, 7)
    ]
    (d / "log").write_text(json.dumps(rows, indent=4))
    return d / "log"


def _mlflow(d: Path) -> Path:
    run = write_mlflow(d)
    return run / "metrics" / "loss" / "G"


def _lightning(d: Path) -> Path:
    v0, v1 = d / "lightning_logs" / "version_0", d / "lightning_logs" / "version_1"
    (v0 / "checkpoints").mkdir(parents=True)
    (v0 / "metrics.csv").write_text(
        "epoch,step,g_loss_step,d_loss_step,g_loss_epoch\n"
        + "".join(f"{s // 3},{s},1.{s},0.5,\n" for s in range(6))
        + "0,2,,,1.1\n1,5,,,1.4\n"
    )
    (v0 / "checkpoints" / "epoch=1-step=12.ckpt").write_bytes(b"not loaded")
    write_event_file(
        v1 / "events.out.tfevents.1.host", [(s, "g_loss", 1.0, 1.0 + s) for s in (0, 1)]
    )
    return v0 / "metrics.csv"


def _table(header: str, rows: list[str], name: str = "metrics.csv"):
    def write(d: Path) -> Path:
        (d / name).write_text(header + "\n" + "\n".join(rows) + "\n")
        return d / name

    return write


def _textlog(d: Path) -> Path:
    (d / "train.log").write_text(
        "Generator(\n  (0): Conv2d(3, 64, kernel_size=(4, 4))\n)\n"
        + "".join(
            f"[{e}/3][{b}/50]\tLoss_D: 0.{e}{b:02d}\tLoss_G: 1.{b:02d}\n"
            for e in range(3)
            for b in (0, 25)
        )
    )
    return d / "train.log"


def _vits_log(d: Path) -> Path:
    pre = "2023-02-18 17:41:42,594\t32k\tINFO\t"
    (d / "train.log").write_text(
        "".join(
            f"{pre}Train Epoch: {s + 1} [0%]\n"
            f"{pre}[2.4, 2.{s}, 5.5, 20.{s}, 1.0, {200 * s}, 1e-4]\n"
            for s in range(6)
        )
    )
    return d / "train.log"


def _coqui_log(d: Path) -> Path:
    (d / "trainer_0_log.txt").write_text(
        "".join(
            f"\n > EPOCH: {s}/10\n\n   --> STEP: 5/10 -- GLOBAL_STEP: {10 * s + 5}\n"
            f"     | > loss_disc: 2.{s}  (2.5)\n     | > loss_gen: 1.{s}  (1.5)\n"
            for s in range(6)
        )
    )
    return d / "trainer_0_log.txt"


def _split_files(d: Path) -> Path:
    (d / "g_loss.txt").write_text("".join(f"1.{s}\n" for s in range(6)))
    (d / "d_loss.txt").write_text("".join(f"0.5{s} 0.{s}\n" for s in range(6)))
    return d / "d_loss.txt"


def _edgeconnect(d: Path) -> Path:
    (d / "checkpoints").mkdir()
    rows = [f"1 {10 * k} 0.6{k} 0.7{k} 1.2 0.{k} 0.{k}" for k in range(1, 7)]
    (d / "checkpoints" / "log_edge.dat").write_text("\n".join(rows) + "\n")
    return d / "checkpoints" / "log_edge.dat"


FIXTURES = {
    "stylegan": _stylegan,
    "stylegan-log": _stylegan_log,
    "cyclegan": _cyclegan,
    "lightning": _lightning,
    "tensorboard": _tensorboard,
    "chainer": _chainer,
    "edgeconnect": _edgeconnect,
    "mlflow": _mlflow,
    "wandb": _table(
        "_step,_runtime,_timestamp,G_loss,D_loss",
        [f"{s},{s * 2},{1e9 + s},1.{s},0.5" for s in range(6)],
        "history.csv",
    ),
    "ctgan": _table(
        "Epoch,Generator Loss,Discriminator Loss",
        [f"{e},1.{e},-0.{e}" for e in range(6)],
        "loss.csv",
    ),
    "epoch-iter": _table(
        "epoch,iter,g_loss,d_loss",
        [f"{e},{i},1.{i},0.5" for e in range(3) for i in (0, 5)],
        "log.csv",
    ),
    "keras": _table("epoch,loss,d_loss", [f"{e},1.{e},0.5" for e in range(6)], "training.log.csv"),
    "coqui-log": _coqui_log,
    "vits-log": _vits_log,
    "textlog": _textlog,
    "split-files": _split_files,
    "csv-rows": _table("G,D", [f"1.{k},0.5" for k in range(6)], "losses.csv"),
    "csv": _table("step,G_loss,D_loss", [f"{10 * s},1.{s},0.5" for s in range(6)]),
}
ORDER = list(REGISTRY)


def _make(tmp_path: Path, fmt: str) -> tuple[Path, Path]:
    d = tmp_path / fmt
    d.mkdir(parents=True)
    return d, FIXTURES[fmt](d)


def test_every_registered_importer_has_a_fixture():
    assert set(FIXTURES) == set(REGISTRY)


def test_detects_its_own_run_and_not_later_formats(tmp_path):
    runs = {f: _make(tmp_path, f)[0] for f in ORDER}
    assert {f: detect_format(runs[f]) for f in ORDER} == {f: f for f in ORDER}
    steals = {
        f: g for i, f in enumerate(ORDER) for g in ORDER[i + 1 :] if REGISTRY[f].detect(runs[g])
    }
    assert steals == {}


@pytest.mark.parametrize("fmt", ORDER)
def test_loads_sorted_unique_steps_opening_only_files_inside(tmp_path, fmt, monkeypatch):
    run, _ = _make(tmp_path, fmt)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text("step,SECRET\n1,1.0\n")
    (run / "zz_link.csv").symlink_to(secret)
    opened: list[Path] = []
    real_open = builtins.open

    def spy(file, *a, **k):
        if isinstance(file, (str, Path)):
            opened.append(Path(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    r = load_run(run, format=fmt)
    monkeypatch.undo()
    steps = r.steps.to_numpy() if hasattr(r.steps, "to_numpy") else np.asarray(r.steps)
    assert r.format == fmt or (fmt == "lightning" and r.extra["lightning"]["read"])
    assert len(steps) > 1
    assert np.all(np.diff(steps) > 0)
    assert "SECRET" not in r.metrics
    root = run.resolve()
    strays = [
        p for p in opened if not p.resolve().is_relative_to(root) and p.is_relative_to(tmp_path)
    ]
    assert strays == []


@pytest.mark.parametrize("fmt", ORDER)
def test_damaged_input_becomes_warnings(tmp_path, fmt):
    run, main = _make(tmp_path, fmt)
    data = main.read_bytes()
    cut = data.rstrip(b"\n")
    main.write_bytes(cut[: len(cut) - 3] + b"\n\x00\xff garbage {[ 1.0e\n" + cut[-40:])
    try:
        r = load_run(run, format=fmt)
    except GanAnalyzeError as e:  # allowed only as one clear line
        assert "\n" not in str(e)
        return
    assert r.warnings or len(r.damaged), f"{fmt}: damage went unnoticed"


@pytest.mark.parametrize("fmt", ORDER)
def test_fuzz_mutations_give_no_unexpected_error(tmp_path, fmt):
    rng = np.random.default_rng(ORDER.index(fmt))
    for k in range(N_FUZZ):
        run, main = _make(tmp_path / str(k), fmt)
        kind, data = _mutate(main.read_bytes(), rng)
        main.write_bytes(data)
        try:
            load_run(run)
        except GanAnalyzeError as e:
            assert "\n" not in str(e), (fmt, kind)
