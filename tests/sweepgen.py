"""A generated lr x seed sweep of small native runs, written with RunLog.

Low learning rates train healthily; 2e-3 lets D overpower G; 5e-3 collapses (FID
jumps up late and the samples become one tile repeated); 1e-2 diverges (the losses
end in NaN). Each run logs the standard scalars, an FID curve and two sample grids.

What decides is the effective learning rate lr * 64 / batch size: batch 128 halves it,
so it rescues lr 1.8e-3 (D overpowers G at batch 64) but makes lr 5e-5 train slower
(a worse FID). `write_interaction_sweep` is that lr x batch x seed sweep, where batch
size matters only through lr: its one-way effect is about nil.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LRS = (5e-5, 1e-4, 2e-4, 5e-4, 2e-3, 5e-3, 1e-2)
INTERACTION_LRS = (5e-5, 1e-4, 2e-4, 5e-4, 1.8e-3, 1e-2)
BATCHES = (64, 128)


def fate(lr: float, batch: int = 64) -> str:
    """What the generated run with this learning rate and batch size does."""
    lr = lr * 64 / batch
    if lr >= 1e-2:
        return "diverged"
    if lr >= 5e-3:
        return "collapsed"
    if lr >= 1.5e-3:
        return "D overpowers G"
    return "healthy"


def write_sweep_run(path: Path, lr: float, seed: int, steps: int = 120, grids: bool = True,
                    batch: int = 64):
    import pandas as pd

    from gananalyze import RunLog
    from gananalyze.runio import store

    rng = np.random.default_rng(seed * 1000 + int(lr * 1e6) + batch - 64)
    f = fate(lr, batch)
    t = np.arange(steps) / steps
    if f == "D overpowers G":
        dx = np.clip(0.55 + 0.43 * np.minimum(1, 3 * t), 0, 0.995)
        dg = np.clip(0.45 - 0.44 * np.minimum(1, 3 * t), 0.005, 1)
    else:
        dx = np.full(steps, 0.55)
        dg = np.full(steps, 0.45)
    dx = np.clip(dx + rng.normal(0, 0.02, steps), 1e-3, 1 - 1e-3)
    dg = np.clip(dg + rng.normal(0, 0.02, steps), 1e-3, 1 - 1e-3)
    gl = -np.log(dg)
    dl = -np.log(dx) - np.log(1 - dg)
    if f == "diverged":
        k = int(steps * 0.7)
        gl[k:] = np.nan
        dl[k:] = np.nan
    with RunLog(path, loss="bce", config={"lr": lr, "seed": seed, "batch_size": batch}) as log:
        for i in range(steps):
            log.scalars(
                i, G_loss=gl[i], D_loss=dl[i], D_x=dx[i], D_G_z_before=dg[i], D_G_z_after=dg[i]
            )
        if grids:
            for step in (steps // 2, steps - 1):
                tile = rng.random((1, 8, 8))
                if f == "collapsed" and step == steps - 1:
                    imgs = np.repeat(tile[None], 16, axis=0)
                else:
                    imgs = rng.random((16, 1, 8, 8))
                log.samples(step, imgs * 2 - 1, nrow=4, value_range=(-1, 1))
    fs = np.linspace(steps // 6, steps - 1, 6).astype(int)
    quality = 25 + 40 * abs(np.log10(lr * 64 / batch / 2e-4))
    fid = quality + 150 * np.exp(-fs / (steps / 4)) + rng.normal(0, 2, len(fs))
    if f == "collapsed":
        fid[-2:] *= 3
    store.append_sample_metrics(
        path, pd.DataFrame({"step": fs, "features": "inception", "fid": np.abs(fid)})
    )
    return path


def write_sweep(root: Path, seeds: int, steps: int = 120, grids: bool = True) -> list[Path]:
    """len(LRS) x seeds runs named lr<value>-s<seed> under root."""
    out = []
    for lr in LRS:
        for s in range(seeds):
            out.append(write_sweep_run(root / f"lr{lr:g}-s{s}", lr, s, steps, grids))
    return out


def write_interaction_sweep(root: Path, seeds: int, steps: int = 40) -> list[Path]:
    """INTERACTION_LRS x BATCHES x seeds runs named lr<value>-b<batch>-s<seed> (no grids)."""
    return [
        write_sweep_run(root / f"lr{lr:g}-b{b}-s{s}", lr, s, steps, grids=False, batch=b)
        for lr in INTERACTION_LRS
        for b in BATCHES
        for s in range(seeds)
    ]
