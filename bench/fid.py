"""Benchmarks for the FID sweep (issue 6).

Part (a) `bench_frechet`: the Fréchet distance at d = 2048 (statistics of
random correlated features, N = 5,000 per side by default), ours
(gananalyze.metrics.fid.frechet_distance, symmetric eigenvalue form) against
pytorch-fid's calculate_frechet_distance (scipy.linalg.sqrtm); median time of
several runs, relative difference, speed-up. Target: >= 5x.

Part (b) `bench_sweep`: a sweep over several checkpoints against the
PNG-folder + `python -m pytorch_fid` route (added with the sweep command).

    uv run python bench/fid.py --part a [--repeats 5] [--dims 2048] [--samples 5000]
    uv run python bench/fid.py --part all --json results.json
    uv run python bench/fid.py --part a --blas-threads 1   # shared/loaded machine

Measured (2-core x86_64, no GPU, loaded by other jobs, --blas-threads 1, 3 runs):
pytorch-fid 27.2 s, ours 2.48 s, 11.0x, relative difference 1.7e-14. With the
default thread count on the same loaded machine: 138 s vs 28 s (4.9x); LAPACK's
threaded tridiagonalisation suffers most from oversubscription.

Self-contained; prints medians. Timings on a loaded machine are noisy: run it
alone and quote the device.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _device_line() -> str:
    import torch

    cpu = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}; {gpu}; numpy {np.__version__}"


def _random_stats(n: int, d: int, seed: int, shift: float, scale: float):
    """Mean and covariance of n correlated d-dim features (a realistic, full-rank SPD matrix)."""
    from gananalyze.metrics.fid import feature_stats

    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    x = np.abs(rng.normal(size=(n, d)) @ mix) * scale + shift  # ReLU-like, non-negative
    return feature_stats(x)


def _median_time(fn: Callable[[], float], repeats: int) -> tuple[float, float, list[float]]:
    times, value = [], float("nan")
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value, times


def bench_frechet(dims: int = 2048, samples: int = 5000, repeats: int = 5, **_kw) -> dict:
    """Part (a): our Fréchet distance vs pytorch-fid's at `dims` dimensions."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    from gananalyze.metrics.fid import frechet_distance

    t0 = time.perf_counter()
    s1 = _random_stats(samples, dims, 1, 0.0, 1.0)
    s2 = _random_stats(samples, dims, 2, 0.05, 1.1)
    prep = time.perf_counter() - t0

    def ours() -> float:
        return frechet_distance(*s1, *s2)

    def ref() -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sqrtm's `disp` deprecation
            return float(calculate_frechet_distance(*s1, *s2))

    ours()  # warm-up (BLAS/LAPACK threads, page faults)
    t_ours, v_ours, all_ours = _median_time(ours, repeats)
    t_ref, v_ref, all_ref = _median_time(ref, repeats)
    gpu = None
    import torch

    if torch.cuda.is_available():
        frechet_distance(*s1, *s2, device="cuda")  # warm-up (CUDA context, cuSOLVER)
        t_gpu, v_gpu, _ = _median_time(lambda: frechet_distance(*s1, *s2, device="cuda"), repeats)
        gpu = {
            "median_s": t_gpu,
            "fid": v_gpu,
            "rel_diff": abs(v_gpu - v_ref) / abs(v_ref),
            "speedup": t_ref / t_gpu,
        }
    res = {
        "part": "a",
        "dims": dims,
        "samples": samples,
        "repeats": repeats,
        "fid_ours": v_ours,
        "fid_pytorch_fid": v_ref,
        "rel_diff": abs(v_ours - v_ref) / abs(v_ref),
        "median_s_ours": t_ours,
        "median_s_pytorch_fid": t_ref,
        "speedup": t_ref / t_ours,
        "times_ours": all_ours,
        "times_pytorch_fid": all_ref,
        "stats_prep_s": prep,
        "cuda_float64": gpu,
        "device": _device_line(),
    }
    print(
        f"(a) Fréchet distance, d={dims}, stats of {samples} samples each, median of {repeats} runs"
    )
    print(f"    device: {res['device']}")
    print(f"    pytorch-fid calculate_frechet_distance : {t_ref:8.3f} s   FID {v_ref:.10f}")
    print(f"    gananalyze.fid.frechet_distance        : {t_ours:8.3f} s   FID {v_ours:.10f}")
    if gpu:
        print(
            "    gananalyze.fid (torch, cuda, float64)  : "
            f"{gpu['median_s']:8.3f} s   FID {gpu['fid']:.10f}"
        )
    print(
        f"    relative difference {res['rel_diff']:.2e}   speed-up "
        f"{res['speedup']:.1f}x (target >= 5x)"
    )
    return res


def bench_sweep(extra_args: list[str] | None = None, **_kw) -> dict:
    """Part (b): fid-sweep vs PNG folders + `python -m pytorch_fid` (bench/fid_sweep.py).

    Its options follow on the command line, e.g. `--part b --num-samples 10000 --device cuda`
    (see `python bench/fid_sweep.py --help`); --repeats belongs to part (a) here.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fid_sweep import add_args
    from fid_sweep import bench_sweep as run_b

    ap = argparse.ArgumentParser(prog="bench/fid.py --part b")
    add_args(ap)
    a = ap.parse_args(extra_args or [])
    res = run_b(
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
    return {"part": "b", **res}


# part name -> function(**args) -> result dict.
PARTS: dict[str, Callable[..., dict]] = {"a": bench_frechet, "b": bench_sweep}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description="FID benchmarks: (a) Fréchet distance, (b) sweep vs PNG route."
    )
    ap.add_argument("--part", choices=["a", "b", "all"], default="all")
    ap.add_argument("--repeats", type=int, default=5, help="(a) timed runs per implementation")
    ap.add_argument("--dims", type=int, default=2048, help="(a) feature dimension")
    ap.add_argument("--samples", type=int, default=5000, help="(a) samples behind each covariance")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit BLAS/LAPACK threads (both sides), e.g. 1 on a shared machine",
    )
    args, rest = ap.parse_known_args(argv)
    if args.blas_threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads)
        print(f"BLAS/LAPACK threads limited to {args.blas_threads}")
    parts = sorted(PARTS) if args.part == "all" else [args.part]
    results = []
    for p in parts:
        results.append(
            PARTS[p](
                **{
                    k: v for k, v in vars(args).items() if k not in ("part", "json", "blas_threads")
                },
                extra_args=rest,
            )
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
