"""Train the three sample runs: a small MLP GAN on scikit-learn's 8x8 digits.

    python examples/train_digits_gan.py --out sample_runs            # all three
    python examples/train_digits_gan.py --out /tmp/runs --only healthy
    python examples/train_digits_gan.py --summary sample_runs        # print measured numbers

Each run is logged with gananalyze's own API (RunLog): per-step losses, D
outputs before and after D's update, gradient norms, checkpoints and
fixed-noise sample grids at regular intervals, and weight/gradient histograms.
Everything is seeded and runs on CPU with one thread, so a re-run reproduces the
same numbers. The three configurations differ only in the hyper-parameters in
RUNS below; nothing is edited after training.

Losses (config "g_loss", "d_loss_reduction"):
  D_loss = BCE(D(x), 1) + BCE(D(G(z)), 0), each a batch mean, summed ("sum"):
           2 ln 2 ~ 1.386 at equilibrium.
  G_loss = the loss G actually minimises:
           "non-saturating": -log D(G(z))        (ln 2 ~ 0.693 at equilibrium)
           "saturating":     log(1 - D(G(z)))    (-ln 2 at equilibrium, climbs to 0 when D wins);
           saturating runs also log G_loss_nonsaturating = -log D(G(z)) as a diagnostic.
  D outputs are logged as logits and turned into probabilities by RunLog.discriminator;
  "before" is D(G(z)) on the fake batch of D's last update, "after" the same batch after it.
  Gradient norms: global L2 norm of all parameter gradients of the last update.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without install

from gananalyze import RunLog, generator_spec  # noqa: E402
from gananalyze.digits import (  # noqa: E402
    Discriminator,
    Generator,
    fixed_noise,
    load_digits_images,
    mean_pairwise_distance,
)

BASE = {
    "seed": 0,
    "steps": 3000,
    "batch_size": 64,
    "latent_dim": 16,
    "g_hidden": 128,
    "g_layers": 2,
    "d_hidden": 128,
    "d_layers": 2,
    "d_dropout": 0.0,
    "g_lr": 2e-4,
    "d_lr": 2e-4,
    "betas": [0.5, 0.999],
    "d_steps": 1,  # D updates per iteration
    "g_steps": 1,  # G updates per iteration
    "g_loss": "non-saturating",
    "d_loss_reduction": "sum",
    "label_smoothing": 0.0,  # real label = 1 - label_smoothing
    "checkpoints": 12,  # evenly spaced after step 0 (which is also saved)
    "histogram_every": 100,
    "n_fixed_noise": 64,
    "noise_seed": 1234,
}

# What each run is, and the hyper-parameters that make it so.
RUNS: dict[str, dict] = {
    "healthy": {
        "description": "Equal learning rates, one D and one G step per iteration, non-saturating "
        "G loss, dropout 0.3 in D.",
        "steps": 5000,
        "checkpoints": 10,
        "d_dropout": 0.3,
    },
    "mode-collapse": {
        "description": "G takes 5 steps per D step at 10x D's learning rate: it chases "
        "D's current favourite image and draws the same digit for every "
        "z, hopping from one digit to another as D catches up.",
        "g_lr": 2e-3,
        "g_steps": 5,
    },
    "d-overpowers": {
        "description": "D learns 5x faster than G and takes 2 steps per G step; G minimises "
        "the saturating loss log(1 - D(G(z))), whose gradient vanishes "
        "once D rejects every fake, so G never recovers.",
        "d_lr": 1e-3,
        "d_steps": 2,
        "g_loss": "saturating",
    },
}


def grad_norm(model: torch.nn.Module) -> float:
    """Global L2 norm of the model's current gradients."""
    sq = [p.grad.detach().pow(2).sum() for p in model.parameters() if p.grad is not None]
    return float(torch.stack(sq).sum().sqrt()) if sq else 0.0


def g_objective(logits_fake: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "non-saturating":
        return F.binary_cross_entropy_with_logits(logits_fake, torch.ones_like(logits_fake))
    if kind == "saturating":
        return -F.binary_cross_entropy_with_logits(
            logits_fake, torch.zeros_like(logits_fake)
        )  # mean log(1 - D(G(z)))
    raise ValueError(f"unknown g_loss {kind!r}")


def train(name: str, out: Path, overrides: dict | None = None) -> Path:
    """Train one run and log it to out/name. Returns the run directory."""
    cfg = {**BASE, **RUNS.get(name, {}), **(overrides or {})}
    torch.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    data = torch.from_numpy(load_digits_images())
    n = len(data)
    gkw = {"latent_dim": cfg["latent_dim"], "hidden": cfg["g_hidden"], "layers": cfg["g_layers"]}
    G = Generator(**gkw)
    D = Discriminator(hidden=cfg["d_hidden"], layers=cfg["d_layers"], dropout=cfg["d_dropout"])
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg["g_lr"], betas=tuple(cfg["betas"]))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg["d_lr"], betas=tuple(cfg["betas"]))
    z_fixed = fixed_noise(cfg["n_fixed_noise"], cfg["latent_dim"], cfg["noise_seed"])
    steps, bs = cfg["steps"], cfg["batch_size"]
    ckpt_steps = {int(round(s)) for s in np.linspace(0, steps, cfg["checkpoints"] + 1)}
    real_label = 1.0 - cfg["label_smoothing"]
    spec = generator_spec(
        "gananalyze.digits:Generator",
        gkw,
        latent_shape=(cfg["latent_dim"],),
        noise_seed=cfg["noise_seed"],
        output_range=(-1.0, 1.0),
    )
    path = out / name
    if path.exists():
        shutil.rmtree(path)
    config = {
        **cfg,
        "dataset": "sklearn.datasets.load_digits (1797 images, 8x8, scaled to [-1, 1])",
        "optimizer": "Adam",
        "d_loss_formula": "BCE(D(x), 1) + BCE(D(G(z)), 0), batch means summed; 2 ln 2 = "
        "1.386 at equilibrium",
        "g_loss_formula": {"non-saturating": "-log D(G(z))", "saturating": "log(1 - D(G(z)))"}[
            cfg["g_loss"]
        ],
        "real_data_mpd_note": "mean pairwise L2 distance between 512 real images in [-1, 1]; "
        "fixed_noise_mpd is the same for G(fixed noise)",
        "real_data_mpd": mean_pairwise_distance(
            data[torch.from_numpy(rng.choice(n, 512, replace=False))]
        ),
    }

    def snapshot(step: int, log: RunLog) -> None:
        G.eval()
        with torch.no_grad():
            imgs = G(z_fixed)
        G.train()
        log.checkpoint(step, G, D)  # weights only: optimizer states would triple the size
        log.samples(step, imgs, nrow=8)
        log.scalars(step, fixed_noise_mpd=mean_pairwise_distance(imgs))

    with RunLog(path, loss="bce", config=config, generator=spec, name=name, flush_rows=1000) as log:
        snapshot(0, log)
        for step in range(1, steps + 1):
            # ---- D update(s): real batch and a fake batch of G's current samples
            for _ in range(cfg["d_steps"]):
                real = data[torch.from_numpy(rng.integers(0, n, bs))]
                with torch.no_grad():
                    fake = G(torch.randn(bs, cfg["latent_dim"]))
                opt_d.zero_grad(set_to_none=True)
                lr_, lf_ = D(real), D(fake)
                d_loss = F.binary_cross_entropy_with_logits(
                    lr_, torch.full_like(lr_, real_label)
                ) + F.binary_cross_entropy_with_logits(lf_, torch.zeros_like(lf_))
                d_loss.backward()
                d_gn = grad_norm(D)
                opt_d.step()
            with torch.no_grad():
                lf_after = D(fake)
            if step % cfg["histogram_every"] == 0:
                log.histograms(step, D, "D")
            # ---- G update(s)
            for _ in range(cfg["g_steps"]):
                opt_g.zero_grad(set_to_none=True)
                logits = D(G(torch.randn(bs, cfg["latent_dim"])))
                g_loss = g_objective(logits, cfg["g_loss"])
                g_loss.backward()
                g_gn = grad_norm(G)
                opt_g.step()
            if step % cfg["histogram_every"] == 0:
                log.histograms(step, G, "G")
            extra = {}
            if cfg["g_loss"] != "non-saturating":  # diagnostic only: -log D(G(z)) on G's last batch
                extra["G_loss_nonsaturating"] = F.softplus(-logits.detach()).mean().item()
            log.scalars(
                step,
                epoch=step * bs * cfg["d_steps"] / n,
                G_loss=g_loss.item(),
                D_loss=d_loss.item(),
                G_grad_norm=g_gn,
                D_grad_norm=d_gn,
                **extra,
            )
            log.discriminator(step, lr_.detach(), lf_.detach(), lf_after, logits=True)
            if step in ckpt_steps:
                snapshot(step, log)
    return path


def summarize(path: Path) -> dict:
    """The numbers sample_runs/README.md quotes, read back from a written run."""
    from gananalyze.runio.store import load_native

    run = load_native(Path(path))
    s = run.scalars
    last = s[s["step"] > 0.9 * s["step"].max()]
    first = s[(s["step"] > 0) & (s["step"] <= 0.1 * s["step"].max())]
    mpd = s.dropna(subset=["fixed_noise_mpd"]).set_index("step")["fixed_noise_mpd"]
    return {
        "run": run.name,
        "D_x_last10": float(last["D_x"].mean()),
        "D_G_z_last10": float(last["D_G_z_before"].mean()),
        "D_loss_last10": float(last["D_loss"].mean()),
        "G_loss_first10": float(first["G_loss"].mean()),
        "G_loss_last10": float(last["G_loss"].mean()),
        "G_grad_norm_first10": float(first["G_grad_norm"].median()),
        "G_grad_norm_last10": float(last["G_grad_norm"].median()),
        "mpd_peak": float(mpd.max()),
        "mpd_peak_step": int(mpd.idxmax()),
        "mpd_final": float(mpd.iloc[-1]),
        "real_mpd": float(run.config["real_data_mpd"]),
        "mpd_by_checkpoint": {int(k): round(float(v), 2) for k, v in mpd.items()},
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("sample_runs"))
    ap.add_argument("--only", nargs="*", choices=list(RUNS), help="train only these runs")
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=JSON",
        help="override hyper-parameters (experiments)",
    )
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 keeps runs bit-reproducible)"
    )
    ap.add_argument(
        "--summary",
        type=Path,
        help="print the measured numbers of the runs under this directory and exit",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.summary:
        for name in RUNS:
            if (args.summary / name).exists():
                print(json.dumps(summarize(args.summary / name)))
        return
    overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    for name in args.only or list(RUNS):
        t0 = time.perf_counter()
        path = train(name, args.out, overrides)
        print(f"{name}: {time.perf_counter() - t0:.1f} s -> {path}")
        print(
            "  "
            + json.dumps({k: v for k, v in summarize(path).items() if k != "mpd_by_checkpoint"})
        )


if __name__ == "__main__":
    main()
