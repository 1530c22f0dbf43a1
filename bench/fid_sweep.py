"""Benchmark (b): `gananalyze fid-sweep` against the PNG-folder + `python -m pytorch_fid` route.

    uv run --frozen python bench/fid_sweep.py                          # CPU: 200 samples x 3
    checkpoints
    uv run --frozen python bench/fid_sweep.py --device cuda --num-samples 10000 --checkpoints 5

The run: a sample-run-like digits GAN generator (gananalyze.digits:Generator,
8x8 greyscale, tanh output) with --checkpoints checkpoints. Real data: the
first --num-real scikit-learn digits written once as PNGs (both routes read
the same folder).

Routes, on the same checkpoints and the same samples (noise from
gananalyze.metrics.generate.Noise, so both routes see identical images):
  png+pytorch_fid  what users do today: per checkpoint, generate, save one PNG
                   per sample with torchvision's save_image, then run
                   `python -m pytorch_fid FAKE_DIR REAL_DIR` (real statistics
                   recomputed by every call, as that command does)
  png+stats        the same, with the real statistics saved once beforehand
                   (`python -m pytorch_fid --save-stats`, not timed): a tuned user
  fid-sweep        `python -m gananalyze fid-sweep RUN --real REAL_DIR --force`
                   in a fresh process, real-data features already cached
End to end: process start-up, imports, model loading, generation, PNG I/O and
Inception included. Median of --repeats.

Inception weights: this machine is offline, so (unless --inception-weights
points to the real pt_inception-2015-12-05-6726825d.pth) a RANDOMLY
INITIALISED FID-Inception state dict of pytorch-fid's architecture is written
into a temporary TORCH_HOME used by both routes. Timings are then real (same
network, same work), but the FID values are not meaningful FIDs: they only
show that both routes give the same number. Targets: >= 3x end to end
(CPU, small sample count), and on one H100 >= 3,000 samples/s through
generation and Inception (reported from the sweep's per-checkpoint time).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
INCEPTION_FILENAME = "pt_inception-2015-12-05-6726825d.pth"


def _setup(work: Path, n_ckpt: int, num_real: int, weights: str | None) -> dict:
    import numpy as np
    import torch
    from PIL import Image

    from gananalyze import RunLog, generator_spec
    from gananalyze.digits import Generator
    from gananalyze.metrics.features import random_fid_inception_weights
    from gananalyze.metrics.realdata import load_real

    torch_home = work / "torch_home"
    wfile = torch_home / "hub" / "checkpoints" / INCEPTION_FILENAME
    wfile.parent.mkdir(parents=True, exist_ok=True)
    if weights:
        shutil.copyfile(weights, wfile)
        random = False
    else:
        random_fid_inception_weights(wfile, seed=0)
        random = True
    spec = generator_spec(
        "gananalyze.digits:Generator",
        {"latent_dim": 16, "hidden": 128},
        latent_shape=(16,),
        noise_seed=1,
    )
    run = work / "run"
    with RunLog(run, generator=spec) as log:
        for i in range(n_ckpt):
            torch.manual_seed(i)
            G = Generator(latent_dim=16, hidden=128)
            with torch.no_grad():
                G.net[-2].weight.mul_(1 + i)
            log.scalars(i * 1000, G_loss=1.0)
            log.checkpoint(i * 1000, G)
    real = load_real("sklearn-digits").load(0, num_real)
    real_dir = work / "real"
    real_dir.mkdir()
    for i, x in enumerate(real):
        Image.fromarray((x[0] * 255 + 0.5).astype(np.uint8), "L").save(real_dir / f"{i:05d}.png")
    return {
        "run": run,
        "real_dir": real_dir,
        "torch_home": torch_home,
        "random_weights": random,
        "steps": [i * 1000 for i in range(n_ckpt)],
    }


def _env(torch_home: Path, threads: int | None) -> dict:
    env = {**os.environ, "TORCH_HOME": str(torch_home), "PYTHONPATH": str(ROOT)}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def _pytorch_fid(args: list[str], env: dict, device: str, batch: int) -> float | None:
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytorch_fid",
            "--device",
            device,
            "--batch-size",
            str(batch),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        raise SystemExit(f"pytorch_fid failed:\n{p.stderr[-3000:]}")
    m = re.search(r"FID:\s+([-+0-9.eE]+|nan)", p.stdout)
    return float(m.group(1)) if m else None


def png_route(
    s: dict, num: int, device: str, batch: int, env: dict, stats: Path | None
) -> tuple[float, dict[int, float]]:
    """Generate, dump PNGs, run pytorch_fid, per checkpoint. Returns (seconds, {step: fid})."""
    import torch
    from torchvision.utils import save_image

    from gananalyze.metrics.checkpoints import build_generator
    from gananalyze.metrics.generate import Noise
    from gananalyze.runio.store import load_native

    t0 = time.perf_counter()
    run = load_native(s["run"])
    noise = Noise(run.generator["noise_seed"], run.generator["latent_shape"])
    fids = {}
    for ck in run.checkpoints:
        out = Path(s["run"]).parent / f"png-{ck.step}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        G = build_generator(run, ck).to(device)
        with torch.no_grad():
            for a in range(0, num, batch):
                x = G(noise.get(a, min(a + batch, num)).to(device)).cpu()
                for i, img in enumerate(x):
                    save_image(img, out / f"{a + i:06d}.png", normalize=True, value_range=(-1, 1))
        fids[ck.step] = _pytorch_fid([str(out), str(stats or s["real_dir"])], env, device, 50)
    return time.perf_counter() - t0, fids


def sweep_route(
    s: dict, num: int, device: str, batch: int | None, env: dict
) -> tuple[float, dict[int, float], float]:
    """`python -m gananalyze fid-sweep` in a fresh process. Returns
    (seconds, {step: fid}, samples/s).
    """
    cmd = [
        sys.executable,
        "-m",
        "gananalyze",
        "fid-sweep",
        str(s["run"]),
        "--real",
        str(s["real_dir"]),
        "--features",
        "inception",
        "--num-samples",
        str(num),
        "--device",
        device,
        "--force",
        "--json",
        "--cache-dir",
        str(Path(s["run"]).parent / "cache"),
    ]
    if batch:
        cmd += ["--batch-size", str(batch)]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"fid-sweep failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
    res = json.loads(p.stdout[p.stdout.index("{") :])["results"]
    secs = sum(r["seconds_features"] for r in res)
    return dt, {r["step"]: r["fid"] for r in res}, num * len(res) / secs


def bench_sweep(
    num_samples: int = 200,
    checkpoints: int = 3,
    num_real: int | None = None,
    device: str = "cpu",
    repeats: int = 1,
    batch_size: int | None = None,
    threads: int | None = None,
    inception_weights: str | None = None,
    work: str | None = None,
    stats_route: bool = True,
) -> dict:
    """Run the comparison and print medians; returns the figures."""
    num_real = num_real or min(num_samples, 1797)
    tmp = Path(work) if work else Path(tempfile.mkdtemp(prefix="gananalyze-bench-fid-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        s = _setup(tmp, checkpoints, num_real, inception_weights)
        env = _env(s["torch_home"], threads)
        gen_batch = batch_size or (500 if device.startswith("cuda") else 100)
        # warm-up, not timed: the real-data feature cache for fid-sweep, real statistics for
        # png+stats
        sweep_route(s, 20, device, batch_size, env)
        stats = tmp / "real_stats.npz"
        if stats_route:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytorch_fid",
                    "--device",
                    device,
                    "--save-stats",
                    str(s["real_dir"]),
                    str(stats),
                ],
                env=env,
                check=True,
                capture_output=True,
            )
        times: dict[str, list[float]] = {"png+pytorch_fid": [], "png+stats": [], "fid-sweep": []}
        rates = []
        fids: dict[str, dict[int, float]] = {}
        for _ in range(repeats):
            dt, fids["fid-sweep"], rate = sweep_route(s, num_samples, device, batch_size, env)
            times["fid-sweep"].append(dt)
            rates.append(rate)
            dt, fids["png+pytorch_fid"] = png_route(s, num_samples, device, gen_batch, env, None)
            times["png+pytorch_fid"].append(dt)
            if stats_route:
                dt, fids["png+stats"] = png_route(s, num_samples, device, gen_batch, env, stats)
                times["png+stats"].append(dt)
        med = {k: statistics.median(v) for k, v in times.items() if v}
        label = (
            "RANDOM-WEIGHTS Inception (timing only; FID values not meaningful)"
            if s["random_weights"]
            else "real FID Inception weights"
        )
        print(
            f"fid-sweep vs PNG + pytorch_fid: {checkpoints} checkpoints x "
            f"{num_samples} samples, {num_real} real images, device "
            f"{device}, {label}, median of {repeats}"
        )
        for k, v in med.items():
            print(f"  {k:<16} {v:9.1f} s   ({v / checkpoints:7.1f} s per checkpoint)")
        print(
            f"  speed-up vs png+pytorch_fid: {med['png+pytorch_fid'] / med['fid-sweep']:.1f}x"
            + (
                f"   vs png+stats: {med['png+stats'] / med['fid-sweep']:.1f}x"
                if "png+stats" in med
                else ""
            )
        )
        print(
            "  fid-sweep throughput through generation + Inception: "
            f"{statistics.median(rates):,.1f} samples/s"
        )
        worst = 0.0
        print("  step     fid-sweep FID   pytorch_fid FID   rel. diff")
        for step in s["steps"]:
            a, b = fids["fid-sweep"][step], fids["png+pytorch_fid"][step]
            rel = abs(a - b) / max(abs(b), 1e-12)
            worst = max(worst, rel)
            print(f"  {step:>5} {a:17.6f} {b:17.6f} {rel:11.2e}")
        return {
            "median_s": med,
            "speedup": med["png+pytorch_fid"] / med["fid-sweep"],
            "samples_per_s": statistics.median(rates),
            "max_rel_diff": worst,
            "device": device,
            "random_weights": s["random_weights"],
        }
    finally:
        if not work:
            shutil.rmtree(tmp, ignore_errors=True)


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--num-samples", type=int, default=200)
    p.add_argument("--checkpoints", type=int, default=3)
    p.add_argument(
        "--num-real",
        type=int,
        default=None,
        help="real images (default: = --num-samples, at most 1797)",
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument(
        "--batch-size", type=int, default=None, help="fid-sweep batch size (default: its own)"
    )
    p.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS for the subprocesses")
    p.add_argument(
        "--inception-weights",
        default=None,
        help="the real pt_inception-2015-12-05-6726825d.pth (default: random weights)",
    )
    p.add_argument("--work", default=None, help="keep the inputs in this folder")
    p.add_argument("--no-stats-route", action="store_true", help="skip the png+stats variant")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_args(ap)
    a = ap.parse_args()
    bench_sweep(
        a.num_samples,
        a.checkpoints,
        a.num_real,
        a.device,
        a.repeats,
        a.batch_size,
        a.threads,
        a.inception_weights,
        a.work,
        not a.no_stats_route,
    )
