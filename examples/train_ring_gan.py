"""Train a small GAN on the ring of 8 Gaussians and log it with gananalyze's RunLog.

Writes OUT/ring-collapse (a native run whose fixed-noise samples are 2-D points,
stored as vectors) and OUT/ring-real.csv (2,000 real points: the --real table).
From step 1,600 D's learning rate is 0 and G's 10x larger (a schedule mistake),
so the generator chases the frozen D's favourite region and collapses onto a few
of the 8 modes, which the vector_collapse rule and the report's scatters show.
CPU only, about a minute on one thread.

    python examples/train_ring_gan.py --out sample_runs
    gananalyze fid-sweep sample_runs/ring-collapse --real sample_runs/ring-real.csv \\
        --metrics fid,pr,dc --num-samples 1000
    gananalyze report sample_runs/ring-collapse --real sample_runs/ring-real.csv
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gananalyze import RunLog, generator_spec  # noqa: E402
from gananalyze.toyring import Discriminator, Generator, ring_points  # noqa: E402

CFG = {
    "seed": 0,
    "steps": 3000,
    "batch_size": 256,
    "latent_dim": 4,
    "hidden": 128,
    "g_lr": 1e-3,
    "d_lr": 1e-3,
    "g_steps": 1,
    # from this step on D's learning rate is 0 and G's 10x larger (a schedule mistake): G
    # chases whatever the frozen D scores highest and collapses onto a few of the 8 modes
    "break_at": 1600,
    "betas": [0.5, 0.999],
    "every": 200,
    "n_fixed_noise": 512,
    "noise_seed": 1234,
}


def train(out: Path, cfg: dict = CFG) -> Path:
    torch.manual_seed(cfg["seed"])
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    real_table = out / "ring-real.csv"
    pd.DataFrame(ring_points(2_000, seed=99), columns=["x", "y"]).to_csv(
        real_table, index=False, float_format="%.5f"
    )
    data = torch.from_numpy(ring_points(50_000, seed=cfg["seed"]))
    rng = np.random.default_rng(cfg["seed"])
    gkw = {"latent_dim": cfg["latent_dim"], "hidden": cfg["hidden"], "layers": 2}
    G, D = Generator(**gkw), Discriminator(hidden=cfg["hidden"], layers=2)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg["g_lr"], betas=tuple(cfg["betas"]))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg["d_lr"], betas=tuple(cfg["betas"]))
    gen = torch.Generator().manual_seed(cfg["noise_seed"])
    z_fixed = torch.randn(cfg["n_fixed_noise"], cfg["latent_dim"], generator=gen)
    spec = generator_spec(
        "gananalyze.toyring:Generator",
        gkw,
        latent_shape=(cfg["latent_dim"],),
        noise_seed=cfg["noise_seed"],
        output_range=(-3.0, 3.0),
    )
    path = out / "ring-collapse"
    if path.exists():
        shutil.rmtree(path)
    config = {
        **cfg,
        "dataset": "ring of 8 Gaussians, radius 2, std 0.05 (gananalyze.toyring)",
        "real_table": "ring-real.csv",
    }
    bs = cfg["batch_size"]
    with RunLog(path, loss="bce", config=config, generator=spec, name="ring-collapse") as log:
        for step in range(cfg["steps"] + 1):
            if step % cfg["every"] == 0:
                with torch.no_grad():
                    log.samples(step, G(z_fixed), columns=["x", "y"])
                log.checkpoint(step, G)
            if step == cfg["steps"]:
                break
            if step == cfg["break_at"]:
                for group in opt_d.param_groups:
                    group["lr"] = 0.0
                for group in opt_g.param_groups:
                    group["lr"] = cfg["g_lr"] * 10
            real = data[torch.from_numpy(rng.integers(0, len(data), bs))]
            with torch.no_grad():
                fake = G(torch.randn(bs, cfg["latent_dim"]))
            opt_d.zero_grad(set_to_none=True)
            lr_, lf_ = D(real), D(fake)
            d_loss = F.binary_cross_entropy_with_logits(
                lr_, torch.ones_like(lr_)
            ) + F.binary_cross_entropy_with_logits(lf_, torch.zeros_like(lf_))
            d_loss.backward()
            opt_d.step()
            for _ in range(cfg["g_steps"]):
                opt_g.zero_grad(set_to_none=True)
                g_loss = F.softplus(-D(G(torch.randn(bs, cfg["latent_dim"])))).mean()
                g_loss.backward()
                opt_g.step()
            log.scalars(step + 1, G_loss=g_loss.item(), D_loss=d_loss.item())
            log.discriminator(step + 1, lr_.detach(), lf_.detach(), logits=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("sample_runs"))
    print(train(ap.parse_args().out))


if __name__ == "__main__":
    main()
