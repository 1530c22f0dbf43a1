"""fid-sweep on StyleGAN snapshots: refused without --trust-pickles, evaluated with it.

A fake "StyleGAN source tree" (a tiny module with a Generator class) is written
to tmp_path; snapshots pickle {'G_ema': G, 'D': None} exactly like StyleGAN's
network-snapshot-*.pkl. The module's import touches a marker file, so the tests
can prove that a refused sweep never unpickled anything.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import pickle
import sys
import uuid
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.loader import import_run, load_run
from gananalyze.metrics.sweep import sweep
from gananalyze.pages.text import info_text
from gananalyze.runio import store

FAKE_NETWORKS = """
from pathlib import Path
import torch

Path(__file__).with_name("imported.marker").touch()


class Generator(torch.nn.Module):
    def __init__(self, seed, z_dim=16, c_dim=0):
        super().__init__()
        self.z_dim, self.c_dim, self.img_resolution, self.img_channels = z_dim, c_dim, 8, 1
        g = torch.Generator().manual_seed(seed)
        self.w = torch.nn.Parameter(torch.randn(z_dim + c_dim, 64, generator=g) / 2)

    def forward(self, z, c, truncation_psi=0.5, noise_mode="random"):
        # how gananalyze must call it; anything else makes the checkpoint's row an error
        assert z.shape[1:] == (self.z_dim,) and c.shape == (z.shape[0], self.c_dim)
        assert (c.sum(1) == 1).all() if self.c_dim else True  # a conditional G: one-hot labels
        assert truncation_psi == 1 and noise_mode == "const"
        return torch.tanh(torch.cat([z, c], 1) @ self.w).view(-1, 1, 8, 8)
"""


def make_stylegan_run(tmp_path: Path, c_dim: int = 0) -> tuple[Path, Path, str]:
    """(StyleGAN run dir, source tree dir, package name); the source is NOT left importable."""
    pkg = f"fakestylegan_{uuid.uuid4().hex[:8]}"
    src = tmp_path / "src"
    (src / pkg).mkdir(parents=True)
    (src / pkg / "__init__.py").write_text("")
    (src / pkg / "networks.py").write_text(FAKE_NETWORKS)
    run = tmp_path / "00000-fake"
    run.mkdir()
    ticks = [
        {
            "Progress/tick": {"num": 1, "mean": float(t), "std": 0.0},
            "Progress/kimg": {"num": 1, "mean": 4.0 * t, "std": 0.0},
            "Loss/G/loss": {"num": 8, "mean": 1.0 + t, "std": 0.1},
            "timestamp": 1000.0 + 60 * t,
        }
        for t in range(3)
    ]
    (run / "stats.jsonl").write_text("".join(json.dumps(t) + "\n" for t in ticks))
    opts = {"batch_size": 8, "kimg_per_tick": 4}
    if c_dim:  # what stylegan2-ada-pytorch's train.py --cond=1 records
        opts["training_set_kwargs"] = {"use_labels": True}
    (run / "training_options.json").write_text(json.dumps(opts))
    sys.path.insert(0, str(src))
    try:
        networks = importlib.import_module(f"{pkg}.networks")
        for seed, kimg in enumerate((0, 4, 8)):
            with open(run / f"network-snapshot-{kimg:06d}.pkl", "wb") as f:
                pickle.dump({"G_ema": networks.Generator(seed, c_dim=c_dim), "D": None}, f)
    finally:
        sys.path.remove(str(src))
        for name in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
            del sys.modules[name]
    (src / pkg / "imported.marker").unlink()
    return run, src, pkg


ARGS = [
    "--features",
    "digits",
    "--real",
    "sklearn-digits",
    "--num-samples",
    "64",
    "--device",
    "cpu",
]


@pytest.fixture
def imported(tmp_path):
    torch.set_num_threads(1)
    run, src, pkg = make_stylegan_run(tmp_path)
    _, dest = import_run(run, tmp_path / "native")
    return run, dest, src, pkg


def test_refused_without_trust_and_nothing_unpickled(imported, tmp_path):
    run, dest, src, pkg = imported
    marker = src / pkg / "imported.marker"
    sys.path.insert(0, str(src))  # even with the source importable, nothing is loaded
    try:
        res = CliRunner().invoke(
            main, ["fid-sweep", str(dest), *ARGS, "--cache-dir", str(tmp_path / "c")]
        )
    finally:
        sys.path.remove(str(src))
    assert res.exit_code == 3
    first = run.resolve() / "network-snapshot-000000.pkl"
    assert (
        f"Error: {first}: StyleGAN snapshot is a Python pickle; loading "
        f"it runs code from the file. If you trust it, allow it with `gananalyze allow "
        f"{dest}` or --trust-code" in res.output
    )
    assert "PYTHONPATH=/path/to/stylegan2-ada-pytorch" in res.output
    assert not marker.exists() and pkg not in sys.modules
    assert not (dest / store.METRICS_DIR).exists()
    # the same consent as for code: an allow, lapsing when a pickle changes
    from gananalyze import consent, load_run

    # the snapshots stay in the trainer's folder, outside the run: named on the command line
    res = CliRunner().invoke(main, ["allow", str(dest)])
    assert res.exit_code == 3
    assert (
        f"{first}: pickle outside the run; an allow covers it only when you name its folder: "
        f"`gananalyze allow {dest} --code-path {first.parent}`" in res.output
    )
    res = CliRunner().invoke(main, ["allow", str(dest), "--code-path", str(run)])
    assert res.exit_code == 0, res.output
    assert consent.granted(load_run(dest))
    os.utime(first, ns=(1, 1))  # the content is what counts, not the mtime
    assert consent.granted(load_run(dest))
    st = first.stat()
    first.write_bytes(first.read_bytes()[:-1] + b"\x00")
    os.utime(first, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert not consent.granted(load_run(dest))


def test_stylegan_dir_itself_is_refused_and_left_untouched(imported, tmp_path):
    run, _, _, _ = imported
    before = sorted(p.name for p in run.iterdir())
    res = CliRunner().invoke(main, ["fid-sweep", str(run), *ARGS, "--trust-pickles"])
    assert res.exit_code == 3
    assert (
        "import it first: `gananalyze import" in res.output
        and "3 snapshot(s) are Python pickles" in res.output
    )
    assert sorted(p.name for p in run.iterdir()) == before


def test_trusted_sweep_gives_finite_fids_per_snapshot(imported, tmp_path, monkeypatch):
    run, dest, src, pkg = imported
    monkeypatch.syspath_prepend(str(src))
    try:
        res = CliRunner().invoke(
            main,
            [
                "fid-sweep",
                str(dest),
                *ARGS,
                "--cache-dir",
                str(tmp_path / "c"),
                "--trust-pickles",
                "--json",
            ],
        )
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        rows = out["results"]
        assert [r["step"] for r in rows] == [0, 1, 2]  # kimg 0, 4, 8 -> ticks 0, 1, 2
        fids = [r["fid"] for r in rows]
        assert all(math.isfinite(f) and f > 0 for f in fids) and len(set(fids)) == 3
        assert all(
            r["error"] is None and r["num_samples"] == 64 and r["features"] == "digits"
            for r in rows
        )
        assert out["recommendation"]["best_step"] in (0, 1, 2)
        # stored in the native run: a second sweep recomputes nothing, with the same numbers
        sm = store.load_native(dest).sample_metrics
        assert sorted(sm.loc[sm["features"] == "digits", "step"]) == [0, 1, 2]
        again = sweep(
            dest,
            "sklearn-digits",
            features="digits",
            num_samples=64,
            device="cpu",
            cache_dir=tmp_path / "c",
            trust_pickles=True,
        )
        assert (again["source"] == "stored").all() and again["fid"].tolist() == pytest.approx(
            fids, rel=1e-9
        )
        # deterministic: recomputing one snapshot gives the same FID (noise seed 0, constant noise)
        one = sweep(
            dest,
            "sklearn-digits",
            features="digits",
            num_samples=64,
            device="cpu",
            cache_dir=tmp_path / "c",
            steps=[1],
            force=True,
            trust_pickles=True,
        )
        assert one["fid"].tolist() == pytest.approx([fids[1]], rel=1e-9)
    finally:
        for name in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
            del sys.modules[name]


def test_class_conditional_generator_is_swept_per_class(tmp_path, monkeypatch):
    """A conditional StyleGAN (c_dim 3, --cond) is marked conditional, and with consent and
    labelled real data it is swept per class: one-hot labels, per-class metrics."""
    torch.set_num_threads(1)
    run, src, pkg = make_stylegan_run(tmp_path, c_dim=3)
    assert load_run(run).classes == 0  # conditional; its count is in the pickles only
    _, dest = import_run(run, tmp_path / "native")
    assert "conditional: G takes a class label (class count not stated)" in info_text(
        load_run(dest)
    )
    monkeypatch.syspath_prepend(str(src))
    try:
        df = sweep(
            dest,
            "sklearn-digits",
            features="digits",
            num_samples=16,
            device="cpu",
            cache_dir=tmp_path / "c",
            steps=[2],
            trust_pickles=True,
        )
        assert df["error"].isna().all() and math.isfinite(df["fid"].iloc[0])
        row = df.iloc[0]
        assert 0 <= row["cond_acc"] <= 1 and math.isfinite(row["cfid"])
        assert len(json.loads(row["per_class"])["acc"]) == 3
        from gananalyze.metrics.checkpoints import load_stylegan_pickle

        G = load_stylegan_pickle(run / "network-snapshot-000008.pkl", trust=True)
        assert G.c_dim == 3 and not G.training
    finally:
        for name in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
            del sys.modules[name]


def test_trusted_but_stylegan_source_missing(imported, tmp_path):
    _, dest, _, pkg = imported
    res = CliRunner().invoke(
        main, ["fid-sweep", str(dest), *ARGS, "--cache-dir", str(tmp_path / "c"), "--trust-pickles"]
    )
    assert res.exit_code == 3
    assert "network-snapshot-000000.pkl: unpickling needs the StyleGAN source code" in res.output
    assert (
        f"module '{pkg}' not found" in res.output
        and "PYTHONPATH=/path/to/stylegan2-ada-pytorch" in res.output
    )
    assert "Traceback" not in res.output
    with pytest.raises(GanAnalyzeError, match="StyleGAN snapshot is a Python pickle"):
        sweep(
            dest,
            "sklearn-digits",
            features="digits",
            num_samples=16,
            device="cpu",
            cache_dir=tmp_path / "c",
        )


def test_import_message_points_at_trusted_sweep(tmp_path):
    run, _, _ = make_stylegan_run(tmp_path)
    res = CliRunner().invoke(main, ["import", str(run), str(tmp_path / "n")])
    assert res.exit_code == 0, res.output
    assert "3 pickled checkpoint(s) listed in run.json" in res.output
    assert f"gananalyze fid-sweep {tmp_path / 'n'} --trust-code" in res.output
    meta = json.loads((tmp_path / "n" / "run.json").read_text())
    assert all(Path(p["path"]).is_absolute() for p in meta["source"]["pickled_checkpoints"])
