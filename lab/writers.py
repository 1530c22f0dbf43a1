"""Writes a trained lab run in one of six logging styles, logging what such trainers really
log:

  runlog       gananalyze.RunLog: losses, D outputs (critic scores for WGAN and hinge),
               gradient norms, fixed-noise samples at every checkpoint (vectors as .npy,
               digits as image grids)
  tensorboard  SummaryWriter event files, tag names drawn from four common sets (three log
               D(x) and D(G(z)) for BCE runs); digit runs add `make_grid` image grids of 100
               fixed-noise samples at every checkpoint
  lightning    lightning_logs/version_0/metrics.csv (CSVLogger, + hparams.yaml naming the
               loss; the step counts optimizer steps, G and D; every other seed of a BCE run
               logs d_x/d_g_z too); digit runs add version_1, a TensorBoardLogger with the
               tutorial's `add_image("generated_images", make_grid(...), current_epoch)`
  keras        a CSVLogger-style log.csv, one row per "epoch" (a logged point): losses only
  stdout       the PyTorch DCGAN example's lines `[e/E][b/B]\tLoss_D: ...\tLoss_G: ...\t
               D(x): ...\tD(G(z)): a / b` for BCE runs (losses only otherwise), output.txt
  textlog      a research-library log: a long preamble (config, both networks), then
               `[time] Step: s Progress: p% Gen_loss: g Dis_loss: d` lines: losses only

`evidence(spec)` says what a style's log holds for a run: "samples" (sample vectors or
grids), "d_outputs" (D's outputs, no samples) or "losses" (losses only); the scoreboard
sorts runs by it, since a collapse cannot be seen in a log of losses alone.

Only the RunLog style records the loss type (as RunLog asks for it) and the Lightning
style (hparams.yaml); the others leave it to be inferred, as such logs do.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

RUNLOG_LOSS = {
    "lsgan": "lsgan",
    "hinge": "hinge",
    "wgan_clip": "wasserstein",
    "wgan_gp": "wasserstein",
}
TB_TAGS = (
    ("Loss/D", "Loss/G", "D(x)", "D(G(z))"),
    ("loss_d", "loss_g", "d_real", "d_fake"),
    ("train/discriminator_loss", "train/generator_loss", "train/D_x", "train/D_G_z"),
    ("D_loss", "G_loss", None, None),
)


EVIDENCE_LEVELS = ("losses", "d_outputs", "samples")


def _tb_tags(sp) -> tuple:
    return TB_TAGS[sp.seed % len(TB_TAGS)]


def _lightning_d(sp) -> bool:
    """Lightning runs that log D's outputs too: every other seed of the BCE runs."""
    return sp.loss.startswith("bce") and (sp.seed // 2) % 2 == 0


def evidence(sp) -> str:
    """What the run's log holds (EVIDENCE_LEVELS, the most informative one)."""
    if sp.style == "runlog" or (sp.style in ("tensorboard", "lightning") and sp.data == "digits"):
        return "samples"
    bce = sp.loss.startswith("bce")
    if (
        (sp.style == "tensorboard" and bce and _tb_tags(sp)[2])
        or (sp.style == "lightning" and _lightning_d(sp))
        or (sp.style == "stdout" and bce)
    ):
        return "d_outputs"
    return "losses"


def _logged_steps(n: int, every: int) -> np.ndarray:
    s = np.arange(every, n + 1, every)
    if len(s) == 0 or s[-1] != n:
        s = np.r_[s, n]  # the last step is logged when the job ends
    return s


def _rows(meta: dict, z) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    h = {k[2:]: z[k] for k in z.files if k.startswith("h_")}
    n = len(h["D_loss"])
    steps = _logged_steps(n, meta["spec"]["every"])
    return steps, {k: v[steps - 1] for k, v in h.items()}


def _fmt(v: float, spec: str = ".6g") -> str:
    return "nan" if not np.isfinite(v) else format(float(v), spec)


def _digit_images(x: np.ndarray, clip: bool = True) -> np.ndarray:
    """The first 100 digit samples as (N, 1, 8, 8) images; clipped to [-1, 1] as
    torchvision's make_grid draws them, or raw (RunLog clips when it draws, and records
    what it clipped, as for a user's G)."""
    x = x[:100].astype(np.float32)
    return (np.clip(x, -1, 1) if clip else x).reshape(-1, 1, 8, 8)


def write_run(sp, meta: dict, z, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    steps, v = _rows(meta, z)
    {
        "runlog": _runlog,
        "tensorboard": _tensorboard,
        "lightning": _lightning,
        "keras": _keras,
        "stdout": _stdout,
        "textlog": _textlog,
    }[sp.style](sp, meta, z, steps, v, out)


def _runlog(sp, meta, z, steps, v, out: Path) -> None:
    from gananalyze import RunLog

    loss = RUNLOG_LOSS.get(sp.loss, "bce")
    cfg = {"gan_loss": sp.loss, "lr_g": meta["settings"]["lr_g"], "lr_d": meta["settings"]["lr_d"]}
    if sp.loss.startswith("bce"):
        cfg["d_loss_reduction"] = "sum" if sp.loss.endswith("sum") else "mean"
    critic = sp.loss in ("lsgan", "hinge", "wgan_clip", "wgan_gp")  # raw scores, not probabilities
    with RunLog(out, loss=loss, config=cfg, flush_rows=100000) as log:
        for i, s in enumerate(steps):
            log.scalars(
                int(s),
                G_loss=v["G_loss"][i],
                D_loss=v["D_loss"][i],
                G_grad_norm=v["G_grad"][i],
                D_grad_norm=v["D_grad"][i],
            )
            if sp.loss.startswith("bce"):
                log.discriminator(int(s), np.array([v["D_real"][i]]), np.array([v["D_fake"][i]]))
            elif critic:
                log.discriminator(
                    int(s), np.array([v["D_real"][i]]), np.array([v["D_fake"][i]]), critic=True
                )
        log_samples(log, sp.data, z)


def log_samples(log, data: str, z) -> None:
    """The run's fixed-noise samples at every checkpoint, logged to RunLog `log` as a user
    would: digits as image grids, the rest as vectors (500 rows)."""
    for s, x in zip(z["ckpt_steps"], z["samples"], strict=False):
        # non-finite samples are logged as a user's RunLog would (vectors keep NaN/Inf,
        # a grid records their share); the TensorBoard and Lightning grids skip them.
        # The cache holds float16: an Inf there is a value past 65,504 that the user's
        # float32 samples held as a finite number, so it is logged as the largest float16
        x = np.where(np.isinf(x), np.sign(x) * np.finfo(np.float16).max, x)
        if data == "digits":
            log.samples(int(s), _digit_images(x, clip=False), nrow=10, value_range=(-1.0, 1.0))
        else:
            log.samples(int(s), x[:500].astype(np.float32), kind="vectors")


def _tensorboard(sp, meta, z, steps, v, out: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    d_tag, g_tag, x_tag, gz_tag = _tb_tags(sp)
    w = SummaryWriter(str(out / "tb"))
    try:
        for i, s in enumerate(steps):
            w.add_scalar(d_tag, v["D_loss"][i], int(s))
            w.add_scalar(g_tag, v["G_loss"][i], int(s))
            if x_tag and sp.loss.startswith("bce"):
                w.add_scalar(x_tag, v["D_real"][i], int(s))
                w.add_scalar(gz_tag, v["D_fake"][i], int(s))
        if sp.data == "digits":
            for s, x in zip(z["ckpt_steps"], z["samples"], strict=False):
                if np.isfinite(x).all():
                    w.add_image("samples", _grid(x), int(s))
    finally:
        w.close()


def _grid(x: np.ndarray):
    import torch
    from torchvision.utils import make_grid

    return make_grid(
        torch.from_numpy(_digit_images(x)), nrow=10, padding=2, normalize=True, value_range=(-1, 1)
    )


def _lightning(sp, meta, z, steps, v, out: Path) -> None:
    d = out / "lightning_logs" / "version_0"
    d.mkdir(parents=True, exist_ok=True)
    per_epoch = 50
    with_d = _lightning_d(sp)
    head = "d_loss_step,epoch,g_loss_step,step" + (",d_x,d_g_z" if with_d else "")
    lines = [head]
    for i, s in enumerate(steps):
        row = f"{_fmt(v['D_loss'][i])},{(int(s) - 1) // per_epoch},{_fmt(v['G_loss'][i])},"
        row += f"{2 * int(s) - 1}"
        if with_d:
            row += f",{_fmt(v['D_real'][i])},{_fmt(v['D_fake'][i])}"
        lines.append(row)
    (d / "metrics.csv").write_text("\n".join(lines) + "\n")
    st = meta["settings"]
    hp = f"gan_loss: {sp.loss}\nlr: {st['lr_g']}\nbatch_size: {st['batch']}\n"
    (d / "hparams.yaml").write_text(hp)
    if sp.data != "digits":
        return
    from torch.utils.tensorboard import SummaryWriter

    tb = out / "lightning_logs" / "version_1"  # a TensorBoardLogger beside the CSVLogger
    w = SummaryWriter(str(tb))
    try:
        for i, s in enumerate(steps):
            w.add_scalar("d_loss_step", v["D_loss"][i], 2 * int(s) - 1)
            w.add_scalar("g_loss_step", v["G_loss"][i], 2 * int(s) - 1)
        for s, x in zip(z["ckpt_steps"], z["samples"], strict=False):
            if np.isfinite(x).all():  # the tutorial logs the grid at step = current_epoch
                w.add_image("generated_images", _grid(x), (int(s) - 1) // per_epoch)
    finally:
        w.close()
    (tb / "hparams.yaml").write_text(hp)


def _keras(sp, meta, z, steps, v, out: Path) -> None:
    cols = ["epoch", "d_loss", "g_loss"]
    lines = [",".join(cols)]
    for i in range(len(steps)):
        lines.append(f"{i},{_fmt(v['D_loss'][i])},{_fmt(v['G_loss'][i])}")
    (out / "log.csv").write_text("\n".join(lines) + "\n")


def _stdout(sp, meta, z, steps, v, out: Path) -> None:
    per_epoch = 100
    n_ep = (int(steps[-1]) - 1) // per_epoch + 1
    lines = []
    for i, s in enumerate(steps):
        e, b = (int(s) - 1) // per_epoch, (int(s) - 1) % per_epoch
        line = (
            f"[{e}/{n_ep}][{b}/{per_epoch}]\tLoss_D: {_fmt(v['D_loss'][i], '.4f')}"
            f"\tLoss_G: {_fmt(v['G_loss'][i], '.4f')}"
        )
        if sp.loss.startswith("bce"):
            line += (
                f"\tD(x): {_fmt(v['D_real'][i], '.4f')}\tD(G(z)): "
                f"{_fmt(v['D_fake'][i], '.4f')} / {_fmt(v['D_fake'][i], '.4f')}"
            )
        lines.append(line)
    (out / "output.txt").write_text("\n".join(lines) + "\n")


def _net(name: str, dims: list[int]) -> list[str]:
    out = [f"{name}(", "  (main): Sequential("]
    for j in range(len(dims) - 1):
        out.append(
            f"    ({2 * j}): Linear(in_features={dims[j]}, out_features={dims[j + 1]}, bias=True)"
        )
        if j < len(dims) - 2:
            out.append(f"    ({2 * j + 1}): LeakyReLU(negative_slope=0.2)")
    return out + ["  )", ")"]


def _textlog(sp, meta, z, steps, v, out: Path) -> None:
    st = meta["settings"]
    t0 = dt.datetime(2026, 1, 1, 12, 0, 0)
    lines = ["Loading configuration from configs/experiment.yaml", "Configuration:"]
    cfg = {
        "dataset": sp.data,
        "batch_size": st["batch"],
        "z_dim": st["z_dim"],
        "lr_g": st["lr_g"],
        "lr_d": st["lr_d"],
        "n_dis": st["d_steps"],
        "total_steps": sp.steps,
    }
    lines += [f"  {k}: {json.dumps(val)}" for k, val in cfg.items()]
    dim = z["samples"].shape[-1]
    for rep in range(12):  # summaries repeated per device and module, as such logs are long
        lines += _net("Generator", [st["z_dim"], st["hid_g"], st["hid_g"], dim])
        lines += _net("Discriminator", [dim, st["hid_d"], st["hid_d"], 1])
        lines.append(f"Module summary {rep}: parameters counted")
    lines.append("Start training")
    for i, s in enumerate(steps):
        t = (t0 + dt.timedelta(seconds=int(s) // 5)).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(
            f"[{t}] Step: {int(s)} Progress: {100 * int(s) / sp.steps:.1f}% "
            f"Gen_loss: {_fmt(v['G_loss'][i])} Dis_loss: {_fmt(v['D_loss'][i])}"
        )
    (out / "log.txt").write_text("\n".join(lines) + "\n")
