"""fid-sweep: generation, resume, batch-size/OOM invariance, errors, CLI and torchrun parity."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from sweep_models import make_run, save_tiny_features

from gananalyze.errors import GanAnalyzeError
from gananalyze.metrics.generate import Noise, to_unit
from gananalyze.metrics.sweep import select_checkpoints, sweep
from gananalyze.runio import store

TESTS = Path(__file__).resolve().parent
VALUES = [
    "fid",
    "fid_std",
    "kid",
    "kid_std",
    "is",
    "is_std",
    "precision",
    "recall",
    "density",
    "coverage",
]


@pytest.fixture
def setup(tmp_path):
    run = make_run(tmp_path / "run")
    feats = save_tiny_features(tmp_path / "feat.pt")
    return run, f"torchscript:{feats}", tmp_path / "cache"


def _parts(run: Path) -> list[str]:
    d = run / store.METRICS_DIR
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def test_sweep_writes_resumes_and_forces(setup):
    run, feats, cache = setup
    df = sweep(
        run,
        "sklearn-digits",
        features=feats,
        metrics="fid,is,pr,dc",
        num_samples=200,
        batch_size=64,
        device="cpu",
        cache_dir=cache,
    )
    assert list(df["step"]) == [0, 100, 200, 300]
    assert (df["source"] == "computed").all() and df["error"].isna().all()
    assert np.isfinite(
        df[[c for c in VALUES if not c.startswith("kid")]].to_numpy(dtype=float)
    ).all()
    assert (df["fid"] > 0).all() and df["fid"].nunique() == 4
    assert (df["num_samples"] == 200).all() and df["quantized"].all()
    assert df["features"].iloc[0] == "torchscript:feat.pt"
    assert len(df["real"].iloc[0]) == 12
    # written to the run, one part per checkpoint, visible to the loader
    assert len(_parts(run)) == 4
    sm = store.load_native(run).sample_metrics
    assert list(sm["step"]) == [0, 100, 200, 300]
    np.testing.assert_array_equal(sm["fid"].to_numpy(), df["fid"].to_numpy())
    # the real-data cache was written (atomically: no temporary files left)
    assert len(list(cache.glob("real-*.npz"))) == 1 and not list(cache.glob("*.tmp"))

    again = sweep(
        run,
        "sklearn-digits",
        features=feats,
        metrics="fid,pr",
        num_samples=200,
        batch_size=64,
        device="cpu",
        cache_dir=cache,
    )
    assert (again["source"] == "stored").all()
    assert len(_parts(run)) == 4  # nothing recomputed, nothing written
    np.testing.assert_array_equal(again["fid"].to_numpy(), df["fid"].to_numpy())

    # a different sample count is a different result: recomputed
    other = sweep(
        run,
        "sklearn-digits",
        features=feats,
        num_samples=150,
        batch_size=64,
        device="cpu",
        cache_dir=cache,
        steps=[100],
    )
    assert list(other["source"]) == ["computed"] and other["fid"].iloc[0] != df["fid"].iloc[1]

    forced = sweep(
        run,
        "sklearn-digits",
        features=feats,
        metrics="fid,dc",
        num_samples=200,
        batch_size=64,
        device="cpu",
        cache_dir=cache,
        force=True,
    )
    assert (forced["source"] == "computed").all()
    np.testing.assert_array_equal(
        forced[["fid", "density", "coverage"]].to_numpy(),
        df[["fid", "density", "coverage"]].to_numpy(),
    )


def test_interrupted_sweep_resumes_where_it_stopped(setup, monkeypatch):
    run, feats, cache = setup
    import gananalyze.metrics.sweep as sw

    real_eval = sw._evaluate
    calls = []

    def dying(run_, ckpt, *a, **k):
        if ckpt.step == 200:
            raise KeyboardInterrupt
        calls.append(ckpt.step)
        return real_eval(run_, ckpt, *a, **k)

    monkeypatch.setattr(sw, "_evaluate", dying)
    with pytest.raises(KeyboardInterrupt):
        sweep(run, "sklearn-digits", features=feats, num_samples=100, device="cpu", cache_dir=cache)
    assert calls == [0, 100] and len(_parts(run)) == 2
    calls.clear()
    monkeypatch.setattr(
        sw, "_evaluate", lambda *a, **k: (calls.append(a[1].step), real_eval(*a, **k))[1]
    )
    df = sweep(
        run, "sklearn-digits", features=feats, num_samples=100, device="cpu", cache_dir=cache
    )
    assert calls == [200, 300]
    assert list(df["source"]) == ["stored", "stored", "computed", "computed"]


# Batched convolutions and matrix products are not bit-identical across batch sizes
# on every CPU: BLAS and oneDNN pick a different blocking per batch shape, so the
# features move in the last bits (1e-9 relative seen on one 2-core machine). The
# promise is "batch size never changes the numbers beyond float noise": FID within
# 1e-6 relative. Precision/recall count samples inside k-NN radii; a 1e-9 shift can
# only flip a sample lying within 1e-9 of a radius, so at most one sample of n may move.
def assert_same_up_to_batching(a, b, n):
    np.testing.assert_allclose(a["fid"].to_numpy(), b["fid"].to_numpy(), rtol=1e-6)
    for col in ("precision", "recall"):
        if col in a and col in b:
            np.testing.assert_allclose(
                a[col].to_numpy(), b[col].to_numpy(), rtol=0, atol=1.0 / n + 1e-12
            )


def test_batch_size_and_oom_halving_change_nothing_beyond_float_noise(setup, monkeypatch):
    run, feats, cache = setup
    kw = dict(
        features=feats, metrics="fid,pr", num_samples=150, device="cpu", cache_dir=cache, force=True
    )
    a = sweep(run, "sklearn-digits", batch_size=150, **kw)
    b = sweep(run, "sklearn-digits", batch_size=7, **kw)
    assert_same_up_to_batching(a, b, n=150)

    from gananalyze.digits import Generator

    forward = Generator.forward
    seen = []

    def oom_above_16(self, z):
        seen.append(z.shape[0])
        if z.shape[0] > 16:
            raise torch.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 20.00 GiB (injected)"
            )
        return forward(self, z)

    monkeypatch.setattr(Generator, "forward", oom_above_16)
    c = sweep(run, "sklearn-digits", batch_size=64, **kw)
    assert c.attrs["batch_size"] == 16  # 64 -> 32 -> 16, kept for the rest of the sweep
    assert seen[:3] == [64, 32, 16] and max(seen[3:]) == 16
    assert c["error"].isna().all()
    assert_same_up_to_batching(a, c, n=150)


def test_oom_at_batch_size_one_is_a_clear_error(setup, monkeypatch):
    run, feats, cache = setup
    from gananalyze.digits import Generator

    monkeypatch.setattr(
        Generator,
        "forward",
        lambda self, z: (_ for _ in ()).throw(torch.OutOfMemoryError("CUDA out of memory")),
    )
    with pytest.raises(GanAnalyzeError, match="out of memory .* batch size 1"):
        sweep(
            run,
            "sklearn-digits",
            features=feats,
            num_samples=20,
            batch_size=4,
            device="cpu",
            cache_dir=cache,
        )


def test_bad_checkpoint_is_reported_and_the_sweep_goes_on(setup):
    run, feats, cache = setup
    bad = run / "checkpoints" / "step-000000150.pt"
    bad.write_bytes(b"not a checkpoint at all")
    df = sweep(
        run, "sklearn-digits", features=feats, num_samples=100, device="cpu", cache_dir=cache
    )
    assert list(df["step"]) == [0, 100, 150, 200, 300]
    err = df.set_index("step")["error"]
    assert str(bad) in err[150] and "cannot be loaded" in err[150]
    assert err.drop(150).isna().all() and df.set_index("step")["fid"].drop(150).notna().all()
    assert 150 not in set(store.load_native(run).sample_metrics["step"])  # failures are not stored
    # the CLI prints the table and exits 1 naming the file
    res = CliRunner().invoke(
        _main(),
        [
            "fid-sweep",
            str(run),
            "--real",
            "sklearn-digits",
            "--features",
            feats,
            "--num-samples",
            "100",
            "--device",
            "cpu",
            "--cache-dir",
            str(cache),
        ],
    )
    assert res.exit_code == 3
    assert "1 of 5 checkpoint(s) could not be evaluated" in res.output and str(bad) in res.output


def test_nan_generator_is_an_error_for_that_checkpoint(setup):
    run, feats, cache = setup
    import gananalyze.metrics.checkpoints as ck

    state = ck.load_checkpoint(run / "checkpoints" / "step-000000200.pt")
    state["generator"]["net.4.weight"][:] = float("nan")
    torch.save(state, run / "checkpoints" / "step-000000200.pt")
    df = sweep(
        run, "sklearn-digits", features=feats, num_samples=50, device="cpu", cache_dir=cache
    ).set_index("step")
    assert "NaN/Inf" in df.loc[200, "error"] and "step-000000200.pt" in df.loc[200, "error"]
    assert df["error"].drop(200).isna().all()


def test_missing_inception_weights_is_a_clear_error(setup, tmp_path):
    run, _, cache = setup
    missing = tmp_path / "nowhere" / "pt_inception.pth"
    with pytest.raises(GanAnalyzeError, match="pt_inception"):
        sweep(
            run,
            "sklearn-digits",
            features="inception",
            inception_weights=missing,
            num_samples=20,
            device="cpu",
            cache_dir=cache,
        )
    res = CliRunner().invoke(
        _main(),
        [
            "fid-sweep",
            str(run),
            "--real",
            "sklearn-digits",
            "--inception-weights",
            str(missing),
            "--device",
            "cpu",
        ],
    )
    assert (
        res.exit_code == 3
        and "Error:" in res.output
        and str(missing) in res.output
        and "Traceback" not in res.output
    )


def test_statistics_file_gives_the_same_fid_and_refuses_other_metrics(setup, tmp_path):
    run, feats, cache = setup
    from sklearn.datasets import load_digits

    from gananalyze.metrics.fid import feature_stats

    imgs = np.round(load_digits().images * (255 / 16)).astype(np.uint8)  # (N, 8, 8) uint8
    np.save(tmp_path / "real.npy", imgs)
    f, _ = torch.jit.load(feats.split(":", 1)[1])(
        torch.from_numpy(imgs[:, None].astype(np.float32) / 255.0)
    )
    mu, sigma = feature_stats(f.detach())
    np.savez(tmp_path / "stats.npz", mu=mu, sigma=sigma)
    a = sweep(
        run, tmp_path / "real.npy", features=feats, num_samples=100, device="cpu", cache_dir=cache
    )
    b = sweep(
        run,
        tmp_path / "stats.npz",
        features=feats,
        metrics="fid,is",
        num_samples=100,
        device="cpu",
        cache_dir=cache,
    )
    np.testing.assert_allclose(b["fid"].to_numpy(), a["fid"].to_numpy(), rtol=1e-9)
    assert b["is"].notna().all()
    with pytest.raises(GanAnalyzeError, match=r"stats.npz: holds only FID statistics.*kid"):
        sweep(
            run,
            tmp_path / "stats.npz",
            features=feats,
            metrics="fid,kid",
            num_samples=100,
            device="cpu",
            cache_dir=cache,
        )


def test_kid_columns(setup):
    run, feats, cache = setup
    df = sweep(
        run,
        "sklearn-digits",
        features=feats,
        metrics="kid",
        num_samples=60,
        device="cpu",
        cache_dir=cache,
        steps=[0, 300],
    )
    assert df["kid"].notna().all() and (df["kid_std"] >= 0).all() and "fid" not in df.columns
    assert df["kid"].iloc[1] != df["kid"].iloc[0]


def test_inception_score_alone_needs_no_real_data_but_fid_does(setup):
    run, feats, cache = setup
    df = sweep(
        run, None, features=feats, metrics="is", num_samples=50, device="cpu", steps=[0, 300]
    )
    assert list(df["step"]) == [0, 300] and df["is"].between(1, 5).all()
    with pytest.raises(GanAnalyzeError, match="need real data"):
        sweep(run, None, features=feats, metrics="fid", num_samples=50, device="cpu")


def test_quantize_matches_png_round_trip_and_no_quantize_differs(setup):
    from PIL import Image
    from torchvision.transforms.functional import to_tensor
    from torchvision.utils import save_image

    x = torch.rand(3, 3, 11, 13) * 2.4 - 1.2  # a generator's tanh-ish output, partly out of range
    q = to_unit(x, (-1, 1), quantize=True)
    for i in range(len(x)):
        buf = io.BytesIO()
        save_image(x[i], buf, format="png", normalize=True, value_range=(-1, 1))
        back = to_tensor(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        assert torch.equal(back, q[i])
    raw = to_unit(x, (-1, 1), quantize=False)
    assert 0 < (raw - q).abs().max() <= 0.5 / 255 + 1e-7

    run, feats, cache = setup
    a = sweep(
        run,
        "sklearn-digits",
        features=feats,
        num_samples=100,
        device="cpu",
        cache_dir=cache,
        steps=[100],
    )
    b = sweep(
        run,
        "sklearn-digits",
        features=feats,
        num_samples=100,
        device="cpu",
        cache_dir=cache,
        steps=[100],
        quantize=False,
    )
    assert b["source"].iloc[0] == "computed" and not b["quantized"].iloc[0]
    assert a["fid"].iloc[0] != b["fid"].iloc[0]
    assert abs(a["fid"].iloc[0] - b["fid"].iloc[0]) < 0.05 * a["fid"].iloc[0]


def test_noise_depends_only_on_the_sample_index():
    n = Noise(7, (4,), chunk=5)
    whole = n.get(0, 23)
    pieces = torch.cat(
        [Noise(7, (4,), chunk=5).get(a, b) for a, b in ((0, 3), (3, 11), (11, 12), (12, 23))]
    )
    assert torch.equal(whole, pieces)
    assert torch.equal(Noise(7, (4,), chunk=5).get(9, 13), whole[9:13])
    assert not torch.equal(Noise(8, (4,), chunk=5).get(0, 23), whole)
    assert whole.shape == (23, 4) and abs(float(whole.mean())) < 0.5


def test_checkpoint_selection(setup):
    run, _, _ = setup
    r = store.load_native(run)
    assert [c.step for c in select_checkpoints(r, every=2)] == [0, 200]
    assert [c.step for c in select_checkpoints(r, steps=[300, 100])] == [100, 300]
    with pytest.raises(GanAnalyzeError, match="no checkpoint at step"):
        select_checkpoints(r, steps=[150])


def _main():
    from gananalyze.cli import main

    return main


def test_cli_prints_table_best_and_json(setup):
    run, feats, cache = setup
    args = [
        "fid-sweep",
        str(run),
        "--real",
        "sklearn-digits",
        "--features",
        feats,
        "--metrics",
        "fid,pr",
        "--num-samples",
        "100",
        "--device",
        "cpu",
        "--cache-dir",
        str(cache),
    ]
    res = CliRunner().invoke(_main(), args)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    header = next(
        line
        for line in lines
        if line.split()[:5] == ["step", "fid", "fid_std", "precision", "recall"]
    )
    assert lines.index(header) < len(lines) - 4
    # the run's one recommendation, word for word what `check` prints
    check = CliRunner().invoke(_main(), ["check", str(run)])
    keep = next(line for line in check.output.splitlines() if line.startswith("keep:"))
    assert keep.split(None, 1)[1] in res.output.replace("\n", " ")
    res = CliRunner().invoke(_main(), [*args, "--json", "--steps", "0,300"])
    assert res.exit_code == 0, res.output
    import json

    out = json.loads(res.output[res.output.index("{") :])
    assert [r["step"] for r in out["results"]] == [0, 300] and all(
        r["source"] == "stored" for r in out["results"]
    )
    assert out["recommendation"]["metric"] == "fid"
    res = CliRunner().invoke(_main(), [*args, "--select", "loss"])
    assert res.exit_code == 2 and "--select" in res.output


@pytest.mark.slow
def test_torchrun_two_processes_give_identical_numbers(setup, tmp_path):
    run, feats, cache = setup
    import shutil

    run2 = tmp_path / "run2"
    shutil.copytree(run, run2)
    kw = dict(
        features=feats,
        metrics="fid,is,pr,dc",
        num_samples=120,
        batch_size=32,
        device="cpu",
        cache_dir=cache,
    )
    single = sweep(run, "sklearn-digits", **kw)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(torch.get_num_threads()),
        "PYTHONPATH": os.pathsep.join([str(TESTS.parent), os.environ.get("PYTHONPATH", "")]),
    }
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "gananalyze",
        "fid-sweep",
        str(run2),
        "--real",
        "sklearn-digits",
        "--features",
        feats,
        "--metrics",
        "fid,is,pr,dc",
        "--num-samples",
        "120",
        "--batch-size",
        "32",
        "--device",
        "cpu",
        "--cache-dir",
        str(tmp_path / "cache2"),
    ]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("keep: ") == 1  # only rank 0 prints
    multi = store.load_native(run2).sample_metrics
    assert list(multi["step"]) == [0, 100, 200, 300]
    cols = [c for c in VALUES if not c.startswith("kid")]
    np.testing.assert_array_equal(
        multi[cols].to_numpy(dtype=float), single[cols].to_numpy(dtype=float)
    )


def test_fid_few_samples_equals_the_full_formula():
    from gananalyze.metrics.fid import feature_stats, fid_few_samples, frechet_distance

    rng = np.random.default_rng(0)
    real = np.abs(rng.normal(size=(300, 40)) @ rng.normal(size=(40, 40)))
    fake = np.abs(rng.normal(size=(25, 40)) @ rng.normal(size=(40, 40))) + 0.3
    mu, sigma = feature_stats(real)
    want = frechet_distance(*feature_stats(fake), mu, sigma)
    # the full form takes sqrt of D - n + 1 rounding-level eigenvalues (~1e-13 -> ~3e-7 each); the
    # low-rank form has none, so they agree to ~1e-9 relative (the parity target is 1e-6)
    assert fid_few_samples(fake, mu, sigma) == pytest.approx(want, rel=1e-7)
