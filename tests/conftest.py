"""Shared fixtures: small synthetic runs written with the real logging API."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_RUNS = SHARED / "real_runs"
SAMPLE_RUNS = Path(__file__).resolve().parents[1] / "sample_runs"


def real_run(name: str) -> Path:
    """Path of a run in ../shared/real_runs, or skip the test when it is absent."""
    p = REAL_RUNS / name
    if not p.exists():
        pytest.skip(f"{p} not available (../shared is absent)")
    return p


def write_synthetic_run(
    path: Path,
    steps: int = 200,
    loss: str = "bce",
    seed: int = 0,
    d_x: float | np.ndarray = 0.5,
    d_gz: float | np.ndarray = 0.5,
    g_loss: float | np.ndarray | None = None,
    d_loss: float | np.ndarray | None = None,
    noise: float = 0.02,
    extra: dict | None = None,
    config: dict | None = None,
) -> Path:
    """A native run with the standard metrics; each curve a constant or an array over steps."""
    from gananalyze import RunLog

    rng = np.random.default_rng(seed)

    def arr(v, default):
        v = default if v is None else v
        a = np.broadcast_to(np.asarray(v, dtype=float), (steps,)).copy()
        return a + rng.normal(0, noise, steps)

    dx = np.clip(arr(d_x, 0.5), 1e-4, 1 - 1e-4)
    dg = np.clip(arr(d_gz, 0.5), 1e-4, 1 - 1e-4)
    gl = arr(g_loss, -np.log(dg))
    dl = arr(d_loss, -np.log(dx) - np.log(1 - dg))
    with RunLog(
        path, loss=loss, config=config or {"lr": 2e-4, "seed": seed}, flush_rows=10_000
    ) as log:
        for i in range(steps):
            vals = {
                "G_loss": gl[i],
                "D_loss": dl[i],
                "D_x": dx[i],
                "D_G_z_before": dg[i],
                "D_G_z_after": dg[i],
            }
            for k, v in (extra or {}).items():
                vals[k] = float(np.asarray(v)[i]) if np.ndim(v) else float(v)
            log.scalars(i, epoch=i // 50, **vals)
    return path


DIGITS_KW = {"latent_dim": 4, "hidden": 8, "layers": 1}


def write_digits_run(path: Path, nan_last: bool = False, spec: dict | None = None) -> Path:
    """A native run with two small digits checkpoints (steps 0 and 59); `nan_last` fills the
    last one's weights with NaN; `spec` replaces entries of run.json's generator spec."""
    import json

    import torch

    from gananalyze import RunLog, generator_spec
    from gananalyze.digits import Generator

    torch.manual_seed(0)
    G = Generator(**DIGITS_KW)
    base = generator_spec("gananalyze.digits:Generator", DIGITS_KW, latent_shape=(4,))
    with RunLog(path, loss="bce", generator=base, flush_rows=1000) as log:
        for i in range(60):
            log.scalars(i, G_loss=1.0, D_loss=1.3, D_x=0.5, D_G_z_before=0.5)
        log.checkpoint(0, G)
        if nan_last:
            with torch.no_grad():
                for p in G.parameters():
                    p.fill_(float("nan"))
        log.checkpoint(59, G)
    if spec is not None:
        meta = json.loads((path / "run.json").read_text())
        meta["generator"] = {**base, **spec}
        (path / "run.json").write_text(json.dumps(meta))
    return path


@pytest.fixture(autouse=True)
def _own_config_home(tmp_path_factory, monkeypatch):
    """`gananalyze allow` keeps its list under XDG_CONFIG_HOME: never the user's own."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def synthetic_run(tmp_path):
    """Factory: synthetic_run(name, **kwargs) -> path of a new native run."""

    def make(name: str = "run", **kwargs) -> Path:
        return write_synthetic_run(tmp_path / name, **kwargs)

    return make


# Hostile inputs several tests build (issue 23): a YAML "billion laughs" (aliases
# expanding 10^9-fold; `x: *a8` uses the top one) and a PNG that is only a header.
LAUGHS = "".join(
    [
        'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n',
        *(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 9)),
    ]
)


def png_header(w: int, h: int) -> bytes:
    """A valid PNG header for a w x h grey image, with a token of pixel data: what a
    reader sees before it decodes (the size), at a few hundred bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (w + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="session")
def interaction_sweep(tmp_path_factory):
    """(folder, Comparison) of sweepgen.write_interaction_sweep with 3 seeds: lr x batch
    size where batch 128 rescues lr 1.8e-3 (36 runs, 40 steps)."""
    from sweepgen import write_interaction_sweep

    from gananalyze.analysis import comparison, runset

    root = tmp_path_factory.mktemp("interaction")
    write_interaction_sweep(root, 3)
    runs, warnings, diags = runset.load_and_diagnose([str(root / "*")])
    return root, comparison.compare_runs(runs, warnings=warnings, diagnoses=diags)
