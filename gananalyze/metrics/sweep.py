"""`fid-sweep`: sample metrics (FID, KID, IS, PR, DC) for every checkpoint of a run.

For each native checkpoint the generator is rebuilt from run.json's spec
(gananalyze.metrics.checkpoints.build_generator, weights_only=True); for a StyleGAN
run imported with `gananalyze import`, the network-snapshot-*.pkl files that
run.json lists are unpickled, only with consent (gananalyze.consent) (G_ema, called as
G(z, zero labels, truncation_psi=1, noise_mode='const'), output in [-1, 1]).
Results go to the native run, never into the trainer's directory. `num_samples`
samples are generated from the run's fixed noise seed in batches under
torch.inference_mode(), mapped from the generator's output range to [0, 1]
and fed straight to the feature extractor (no PNG round trip). The real data's
features come from gananalyze.metrics.realdata (cached on disk).

Exactness and determinism:
- The noise of sample i depends only on (noise_seed, i): it is drawn in fixed
  chunks of generate.NOISE_CHUNK samples, chunk j from its own torch.Generator seeded
  from (noise_seed, j). Batch size, OOM halving and distributed rank never
  change which noise a sample gets.
- With quantize=True (the default) samples are rounded to 8 bits exactly as
  torchvision's save_image + PIL + pytorch-fid's ToTensor do, so the numbers
  equal those of "save PNGs, run python -m pytorch_fid" on the same samples.
- Under torchrun, whole checkpoints are spread over ranks; each is computed by
  exactly the code a single process runs, so the numbers are identical.

Results are appended to the run (store.append_sample_metrics) as each
checkpoint finishes; a second sweep with the same features, real data, sample
count and quantization skips checkpoints that already have the requested
metrics (`force=True` recomputes). A checkpoint that cannot be evaluated (bad
file, weights that do not fit, NaN samples) is reported in the `error`
column and the sweep goes on.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .. import consent
from ..errors import GanAnalyzeError
from ..files.datatable import is_table_file
from ..remote import is_url
from ..run import Checkpoint, Run
from ..runio import store
from ..runio.labels import read_condition
from .batching import Batcher, OutOfMemory, default_batch_size, is_oom
from .checkpoints import build_generator, load_stylegan_pickle, pickle_refusal
from .distributed import init_distributed
from .generate import Noise, as_images, conditioned, fake_labels, stylegan_sampler, to_unit
from .ledger import append, error_text, is_done, ledger_frame, read, stored_rows
from .realdata import RealData, load_real, real_features
from .registry import (
    CONDITIONAL_METRICS,
    METRICS,
    compute_metrics,
    parse_metrics,
    stored_columns,
)
from .vectorsweep import vector_sweep  # rows, not images (docs: vectors)

# ---------------------------------------------------------------- selection


def select_checkpoints(
    run: Run, every: int = 1, steps: Sequence[int] | None = None
) -> list[Checkpoint]:
    """The checkpoints to evaluate: every Nth, or exactly `steps`.

    Native checkpoints, plus the trainer pickles an imported run lists in
    run.json (whether they may be loaded is decided later, by trust_pickles).
    """
    ckpts = sorted(
        [c for c in run.checkpoints if c.kind in ("native", "lightning")]
        + store.pickled_checkpoints(run),
        key=lambda c: c.step,
    )
    if not ckpts:
        other = (
            f" ({len(run.checkpoints)} {run.checkpoints[0].kind} checkpoint(s) cannot "
            "be loaded safely)"
            if run.checkpoints
            else ""
        )
        raise GanAnalyzeError(f"{run.path}: the run has no native checkpoints to evaluate{other}")
    if steps:
        by_step = {c.step: c for c in ckpts}
        missing = [s for s in steps if s not in by_step]
        if missing:
            raise GanAnalyzeError(
                f"{run.path}: no checkpoint at step(s) {', '.join(map(str, missing))}; checkpoints "
                f"exist at {', '.join(str(c.step) for c in ckpts[:12])}"
                f"{' ...' if len(ckpts) > 12 else ''}"
            )
        return [by_step[s] for s in sorted(set(steps))]
    if every < 1:
        raise GanAnalyzeError(f"--every must be at least 1, not {every}")
    return ckpts[::every]


# ---------------------------------------------------------------- the sweep


def resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise GanAnalyzeError(f"unknown device {device!r} (use cpu, cuda or cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GanAnalyzeError(f"device {device!r} requested but CUDA is not available")
    return dev


def url_refusal(url: str) -> str:
    """Why fid-sweep does not run on a run on object storage, and what to do instead."""
    return (
        f"{url}: fid-sweep appends its results to the run, and a run on object storage is "
        f"read-only here; copy it first (checkpoints included): `gananalyze import {url} "
        f"DEST`, then `gananalyze fid-sweep DEST ...`"
    )


def sweep(
    run_path: str | os.PathLike | Run,
    real: str | os.PathLike | RealData | None,
    features: str | None = "inception",
    metrics: Sequence[str] | str = ("fid",),
    num_samples: int = 10_000,
    batch_size: int | None = None,
    device: str | torch.device | None = None,
    every: int = 1,
    steps: Sequence[int] | None = None,
    quantize: bool = True,
    force: bool = False,
    cache_dir: str | os.PathLike | None = None,
    inception_weights: str | os.PathLike | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    trust_pickles: bool = False,
    trust_code: bool = False,
    label_column: str | None = None,
) -> pd.DataFrame:
    """Evaluate sample metrics for the run's checkpoints; returns one row per selected step.

    Columns: step, features, features_key, num_samples, quantized, real (short
    content hash of the real data), the metric values, seconds (evaluation time)
    and seconds_features (generation + feature extraction only; both NaN for
    stored rows), source ("computed" or "stored") and error (None, or why
    the checkpoint could not be evaluated). New rows are appended to the run as
    each checkpoint finishes. `progress(event)` is called after each checkpoint
    (event: done, total, step, row) on rank 0. Under torchrun, checkpoints are
    split over ranks, rank 0 writes; every rank returns the same frame.

    A run on object storage (a URL) is refused (`url_refusal`): the results would land in a
    temporary local copy.

    StyleGAN snapshots (listed in an imported run's run.json) are unpickled, and
    a generator spec naming code other than gananalyze's own is imported, only
    with consent (`trust_code=True`, its old name `trust_pickles=True`, or a stored
    `gananalyze allow RUN`: see gananalyze.consent); otherwise the sweep stops
    before loading anything. A StyleGAN run directory itself is refused: import it first
    (`gananalyze import SRC DEST`), so the results have a native run to go to.

    label_column: for a real table, the column holding each row's class (a conditional
    G's per-class metrics; vectorsweep); refused for images, whose classes come from
    the data (a folder per class, a .npz 'labels' array, sklearn-digits).
    """
    from ..loader import load_run
    from .features import get_extractor

    url = run_path.url if isinstance(run_path, Run) else str(run_path)
    if url and is_url(url):
        raise GanAnalyzeError(url_refusal(url.rstrip("/")))
    names = parse_metrics(metrics)
    if not names:
        raise GanAnalyzeError("no metrics requested")
    if num_samples < 2:
        raise GanAnalyzeError(f"--num-samples must be at least 2, not {num_samples}")
    dev = resolve_device(device)
    run = run_path if isinstance(run_path, Run) else load_run(run_path)
    if run.format != "native":
        if any(c.kind == "pickle" for c in run.checkpoints):
            raise GanAnalyzeError(
                f"{run.path}: fid-sweep writes its results into a native gananalyze run and "
                f"leaves the {run.format} run directory untouched; "
                f"import it first: `gananalyze import {run.path} DEST`, then `gananalyze fid-sweep "
                "DEST --trust-code ...` "
                f"(its {sum(c.kind == 'pickle' for c in run.checkpoints)} snapshot(s) are "
                "Python pickles)"
            )
        raise GanAnalyzeError(
            f"{run.path}: fid-sweep needs a native gananalyze run with checkpoints and "
            f"a generator spec; this is a {run.format} run"
        )
    spec = run.generator or {}
    cond = read_condition(spec)
    classes = int(cond["classes"]) if cond else None
    trust_pickles = consent.granted(run, trust_pickles or trust_code)
    chosen = select_checkpoints(run, every, steps)
    first_pickle = next((c for c in chosen if c.kind == "pickle"), None)
    if first_pickle is not None:
        if not trust_pickles:
            raise GanAnalyzeError(pickle_refusal(first_pickle.path, run.path))
        G0 = load_stylegan_pickle(
            first_pickle.path, trust=True
        )  # fails early, once, when the StyleGAN source is missing
        classes = int(getattr(G0, "c_dim", 0) or 0) or None  # a conditional StyleGAN
        del G0
    asked_cond = [n for n in names if n in CONDITIONAL_METRICS]
    if asked_cond and classes is None:
        raise GanAnalyzeError(
            f"{run.path}: metric(s) {', '.join(asked_cond)} need a conditional generator "
            "(generator_spec(..., classes=K) in run.json, or a StyleGAN snapshot with c_dim > 0)"
        )
    if any(c.kind == "native" for c in chosen):
        # fails early, once, when the spec or its module is wrong (or not consented to)
        build_generator(run, trust=trust_pickles)
    needs_real = [n for n in names if METRICS[n].needs != "logits"]
    if needs_real and real is None:
        raise GanAnalyzeError(f"metric(s) {', '.join(needs_real)} need real data (--real)")
    if features == "raw" or is_table_file(real if not isinstance(real, RealData) else None):
        if "is" in names:
            raise GanAnalyzeError("Inception Score needs class logits; rows have none")
        if real is None or not is_table_file(real):
            raise GanAnalyzeError("--features raw needs a real table (--real .csv/.parquet/.npy)")
        feats = "raw" if features in (None, "inception") else features
        return vector_sweep(
            run,
            str(real),
            names,
            chosen,
            feats,
            num_samples,
            dev,
            force,
            progress,
            label_column,
            trust=trust_pickles,
        )
    if label_column is not None:
        raise GanAnalyzeError(
            "--label-column names the class column of a real table (.csv/.parquet/.npy); "
            "labelled images come as a folder per class, a .npz with a 'labels' array, or "
            "sklearn-digits"
        )
    features = features or "inception"

    dist, dev = init_distributed(dev)
    try:
        extractor = get_extractor(features, device=str(dev), inception_weights=inception_weights)
        if "is" in names and not extractor.has_logits:
            raise GanAnalyzeError(
                f"Inception Score needs class logits, and the '{extractor.name}' features have none"
            )
        batcher = Batcher(batch_size or default_batch_size(dev), dev)

        def embed(
            load: Callable[[int, int], Any], n: int, float_source: bool = False
        ) -> tuple[np.ndarray, np.ndarray | None]:
            def one(a: int, b: int):
                x = torch.from_numpy(np.asarray(load(a, b))).to(dev)
                if quantize and float_source:
                    x = to_unit(x, (0.0, 1.0), True)
                f, lg = extractor(x)
                return f.detach().float().cpu(), None if lg is None else lg.detach().float().cpu()

            with torch.inference_mode():
                outs = batcher.run(n, one)
            feats = torch.cat([o[0] for o in outs]).numpy()
            logits = None if outs[0][1] is None else torch.cat([o[1] for o in outs]).numpy()
            return feats, logits

        # ---- real data: rank 0 loads (or computes and caches), everyone receives it
        payload: Any = None
        if dist.rank == 0:
            try:
                payload = ("ok", *_real_side(real, extractor, embed, names, quantize, cache_dir))
            except GanAnalyzeError as e:
                payload = ("error", str(e))
        payload = dist.broadcast(payload)
        if payload[0] == "error":
            raise GanAnalyzeError(payload[1])
        _, real_feats, real_stats, real_short, real_labels = payload
        if real_labels is None and asked_cond:
            raise GanAnalyzeError(
                f"metric(s) {', '.join(asked_cond)} need labelled real data: a folder with one "
                "subfolder per class, a .npz with a 'labels' array beside the images, or "
                "sklearn-digits"
            )
        if classes is not None and real_labels is not None and real_feats is not None:
            # a conditional G with labelled real data always gets its per-class metrics
            names = names + [n for n in CONDITIONAL_METRICS if n not in names]
        labels = (
            (real_labels, fake_labels(0, num_samples, classes).numpy(), classes)
            if any(n in CONDITIONAL_METRICS for n in names)
            else None
        )

        label = (
            extractor.name
            if extractor.name != "torchscript"
            else f"torchscript:{Path(features.partition(':')[2] or features).name}"
        )
        ident = {
            "features": label,
            "features_key": str(extractor.key),
            "num_samples": int(num_samples),
            "quantized": bool(quantize),
            "real": real_short,
        }
        want_cols = stored_columns(names)
        existing = read(run.path) if dist.rank == 0 else None
        todo_steps = [
            c.step for c in chosen if force or not is_done(existing, c.step, ident, want_cols)
        ]
        stored = stored_rows(existing, [c.step for c in chosen], todo_steps, ident["features_key"])
        todo_steps, stored = dist.broadcast((todo_steps, stored))
        by_step = {c.step: c for c in chosen}
        todo = [by_step[s] for s in todo_steps]

        noise = Noise(spec.get("noise_seed", 0), spec.get("latent_shape", [100]))
        out_range = spec.get("output_range", [-1.0, 1.0])
        rows: list[dict[str, Any]] = []
        done = 0
        if progress is not None and dist.rank == 0:
            progress({"done": 0, "total": len(todo), "step": None, "row": None})
        for r0 in range(0, len(todo), dist.world):
            mine = todo[r0 + dist.rank] if r0 + dist.rank < len(todo) else None
            row = None
            if mine is not None:
                feats = (embed, names, real_feats, real_stats, ident)
                row = _evaluate(
                    run,
                    mine,
                    noise,
                    out_range,
                    num_samples,
                    quantize,
                    *feats,
                    dev,
                    trust_pickles,
                    classes,
                    labels,
                )
            for got in dist.gather(row):
                if got is None:
                    continue
                rows.append(got)
                done += 1
                if dist.rank == 0:
                    if got.get("error") is None:
                        append(run.path, got)
                    if progress is not None:
                        progress(
                            {"done": done, "total": len(todo), "step": got["step"], "row": got}
                        )
    finally:
        dist.close()

    return ledger_frame(
        stored + rows,
        want_cols,
        metrics=names,
        batch_size=batcher.size,
        device=str(dev),
        world_size=dist.world,
    )


def _real_side(real, extractor, embed, names, quantize, cache_dir):
    """(real features or None, (mu, sigma) or None, short hash, labels or None) for the
    requested metrics."""
    if real is None:
        return None, None, "", None
    rd = real if isinstance(real, RealData) else load_real(real)
    if rd.kind == "stats":
        bad = [n for n in names if METRICS[n].needs == "features"]
        if bad:
            raise GanAnalyzeError(
                f"{rd.source}: holds only FID statistics (mu, sigma); {', '.join(bad)} need "
                "real images (a folder, .npy/.npz array or sklearn-digits)"
            )
        rf = real_features(rd, extractor, lambda load, n: None, cache_dir)
        return None, (rf.mu, rf.sigma), rd.short, None
    float_source = rd.prep.endswith(":float")
    if quantize and float_source:
        rd = dataclasses.replace(rd, prep=rd.prep + "+q8")
    rf = real_features(rd, extractor, lambda load, n: embed(load, n, float_source)[0], cache_dir)
    return rf.features, (rf.mu, rf.sigma), rd.short, rd.labels


def _evaluate(
    run: Run,
    ckpt: Checkpoint,
    noise: Noise,
    out_range,
    n: int,
    quantize: bool,
    embed,
    names,
    real_feats,
    real_stats,
    ident,
    dev,
    trust_pickles: bool = False,
    classes: int | None = None,
    labels=None,
) -> dict[str, Any]:
    """One checkpoint's row; per-checkpoint failures land in row["error"].

    classes: a conditional G's class count (sample i is asked for class i % classes);
    labels: (real labels, fake labels, classes) for the per-class metrics.
    """
    t0 = time.perf_counter()
    row: dict[str, Any] = {"step": int(ckpt.step), **ident}
    try:
        if ckpt.kind == "pickle":
            G, z_dim, _ = stylegan_sampler(Path(ckpt.path), dev, trust_pickles)
            out_range = (-1.0, 1.0)  # StyleGAN's convention
            if noise.shape != (z_dim,):
                noise = Noise(noise.seed, (z_dim,), noise.chunk)
        else:
            G = conditioned(
                build_generator(run, ckpt, trust=trust_pickles).to(dev),
                read_condition(run.generator),
            )
        bad = [0]

        def generate(a: int, b: int) -> torch.Tensor:
            y = fake_labels(a, b, classes).to(dev) if classes else None
            x = as_images(G(noise.get(a, b).to(dev), y), ckpt.path)
            finite = torch.isfinite(x)
            if not bool(finite.all()):
                bad[0] += int((~finite).sum())
            return to_unit(x, out_range, quantize)

        t1 = time.perf_counter()
        feats, logits = embed(generate, n)
        row["seconds_features"] = time.perf_counter() - t1
        if bad[0]:
            raise GanAnalyzeError(
                f"{ckpt.path}: the generator produced {bad[0]} NaN/Inf pixel values (a diverged "
                "checkpoint)"
            )
        row.update(
            compute_metrics(
                names,
                real_feats,
                feats,
                logits,
                real_stats=real_stats,
                device=dev,
                labels=labels,
            )
        )
        row["error"] = None
    except OutOfMemory:
        raise
    except Exception as e:  # a checkpoint that fails: report it, keep sweeping
        if is_oom(e):
            raise
        row["error"] = error_text(e, ckpt.path)
    row["seconds"] = time.perf_counter() - t0
    row["source"] = "computed"
    return row
