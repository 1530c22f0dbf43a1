"""Trains lab runs: tiny MLP generators and discriminators on CPU, many runs at once.

Runs that share a loss type train together, batched over the runs (batched matmuls, one
autograd graph whose per-run losses are independent): each run keeps its own seed, data,
batches, widths (hidden units beyond a run's width are masked to zero, so it trains exactly
as the narrower net), learning rates, optimiser, steps per side and late change of settings. On a
machine where torch's per-call overhead dominates tiny nets, this is what makes 300+ runs
take minutes on one core.

Eight loss types: BCE non-saturating and saturating, each with the real and fake terms
summed or averaged (binary cross-entropy on sigmoid outputs with torch's log clamp at -100,
so a saturated D gives the real clamped values); LSGAN; hinge; WGAN with weight clipping;
WGAN-GP. The outcome a spec asks for is induced by its settings, never written into the
log: what the run became is read afterwards from its samples (truth.py).

Per training step the history holds D and G losses, D's mean output on the real and fake
batch (probabilities for BCE, raw scores otherwise) and both gradient norms; at 11
checkpoints the generator's output on a fixed noise batch and D's outputs on held-out real
rows and on those samples (their means and spreads, D's accuracy at the loss's threshold and
the threshold-free share of real/fake pairs it ranks the right way round, `auc`).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .data import Dataset
from .specs import LOSSES, Settings  # noqa: F401 (LOSSES: re-exported)

N_CHECKPOINTS = 11
N_FIXED = 500
KEYS = ("D_loss", "G_loss", "D_real", "D_fake", "G_grad", "D_grad")


@dataclass
class Trained:
    history: dict[str, np.ndarray]  # per training step
    ckpt_steps: list[int]
    samples: list[np.ndarray]  # fixed-noise generator output per checkpoint
    d_eval: list[dict[str, float]]  # D on held-out real rows / the fixed samples
    settings: dict
    diverged_at: int | None


def checkpoints(steps: int) -> list[int]:
    return sorted(
        {max(1, int(round(steps * i / (N_CHECKPOINTS - 1)))) for i in range(N_CHECKPOINTS)}
    )


def _init_mlp(
    i: int, h: int, o: int, i_pad: int, h_pad: int, o_pad: int, gen: torch.Generator
) -> list:
    """torch.nn.Linear's default init at the run's sizes (i, h, o), zero-padded to
    (i_pad, h_pad, o_pad). Weights are stored (in, out) for batched matmuls."""
    out = []
    for fi, fo, FI, FO in ((i, h, i_pad, h_pad), (h, h, h_pad, h_pad), (h, o, h_pad, o_pad)):
        bound = 1 / math.sqrt(fi)
        w = (torch.rand(fo, fi, generator=gen) * 2 - 1) * bound
        b = (torch.rand(fo, generator=gen) * 2 - 1) * bound
        W, B = torch.zeros(FI, FO), torch.zeros(1, FO)
        W[:fi, :fo], B[0, :fo] = w.T, b
        out += [W, B]
    return out


def _mlp(p: list, m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Batched over runs: x (R, N, in), p[k] (R, ...), m (R, 1, H) hidden-unit masks."""
    h = F.leaky_relu(torch.baddbmm(p[1], x, p[0]), 0.2) * m
    h = F.leaky_relu(torch.baddbmm(p[3], h, p[2]), 0.2) * m
    return torch.baddbmm(p[5], h, p[4])


def _bce(p: torch.Tensor, target: float) -> torch.Tensor:
    """Per-run mean binary cross-entropy with torch's log clamp at -100."""
    t = torch.full_like(p, target)
    return F.binary_cross_entropy(p, t, reduction="none").flatten(1).mean(1)


def _mean(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(1)


def _d_loss(loss: str, pd, md, xr, xf, alpha):
    """Per-run D losses (R,), and D's mean output on real and fake (R,)."""
    sr, sf = _mlp(pd, md, xr), _mlp(pd, md, xf)
    if loss.startswith("bce"):
        pr, pf = torch.sigmoid(sr), torch.sigmoid(sf)
        lr_, lf = _bce(pr, 1.0), _bce(pf, 0.0)
        out = lr_ + lf if loss.endswith("sum") else (lr_ + lf) / 2
        return out, _mean(pr), _mean(pf)
    if loss == "lsgan":
        out = 0.5 * _mean((sr - 1) ** 2) + 0.5 * _mean(sf**2)
    elif loss == "hinge":
        out = _mean(torch.relu(1 - sr)) + _mean(torch.relu(1 + sf))
    else:
        out = _mean(sf) - _mean(sr)
        if loss == "wgan_gp":
            xi = (alpha * xr + (1 - alpha) * xf).requires_grad_(True)
            gi = torch.autograd.grad(_mlp(pd, md, xi).sum(), xi, create_graph=True)[0]
            out = out + 10 * ((gi.norm(dim=-1) - 1) ** 2).mean(1)
    return out, _mean(sr), _mean(sf)


def _g_loss(loss: str, sf: torch.Tensor) -> torch.Tensor:
    if loss.startswith("bce_ns"):
        return _bce(torch.sigmoid(sf), 1.0)
    if loss.startswith("bce_sat"):
        return -_bce(torch.sigmoid(sf), 0.0)  # mean log(1 - D(G(z)))
    if loss == "lsgan":
        return 0.5 * _mean((sf - 1) ** 2)
    return -_mean(sf)


class _Opt:
    """Adam / SGD with momentum / RMSprop over stacked per-run parameters, with per-run
    learning rates and an `active` mask (runs that take no step this inner iteration)."""

    def __init__(self, params: list, kinds: list[str], betas: tuple[float, float]):
        self.m = [torch.zeros_like(v) for v in params]
        self.v = [torch.zeros_like(v) for v in params]
        self.t = torch.zeros(len(kinds))
        self.kinds = set(kinds)
        self.sgd = torch.tensor([k == "sgd" for k in kinds]).view(-1, 1, 1)
        self.betas = betas

    @torch.no_grad()
    def step(self, params: list, lr: torch.Tensor, active: torch.Tensor) -> None:
        b1, b2 = self.betas
        self.t += active.float()
        t = self.t.clamp(min=1).view(-1, 1, 1)
        a = active.view(-1, 1, 1)
        lr = (lr * active.float()).view(-1, 1, 1)
        c1, c2 = 1 - b1**t, 1 - b2**t
        for p, m, v in zip(params, self.m, self.v, strict=False):
            g = p.grad
            if "rmsprop" in self.kinds:
                v.copy_(torch.where(a, 0.99 * v + 0.01 * g * g, v))
                p.sub_(lr * g / (v.sqrt() + 1e-8))
                continue
            m_new = torch.where(self.sgd, 0.9 * m + g, b1 * m + (1 - b1) * g)
            m.copy_(torch.where(a, m_new, m))
            if self.kinds == {"sgd"}:
                p.sub_(lr * m)
                continue
            v.copy_(torch.where(a, b2 * v + (1 - b2) * g * g, v))
            upd = (m / c1) / ((v / c2).sqrt() + 1e-8)
            if "sgd" in self.kinds:
                upd = torch.where(self.sgd, m, upd)
            p.sub_(lr * upd)


def _norm(params: list) -> torch.Tensor:
    return torch.sqrt(sum(p.grad.pow(2).flatten(1).sum(1) for p in params))


def _stack(ps: list[list]) -> list:
    return [torch.stack([p[k] for p in ps]).requires_grad_(True) for k in range(len(ps[0]))]


def _late(st: Settings, steps: int) -> int:
    return int(steps * st.late_at) if st.late_at is not None else 10**9


def train_group(
    dss: list[Dataset], loss: str, runs: list[tuple[int, int, Settings]]
) -> list[Trained]:
    """Train runs (seed, steps, settings) of one loss type together; dss: each run's
    dataset. Narrower data is zero-padded to the widest (G's extra outputs are masked to
    zero and D sees zeros there, so each run trains exactly as on its own data)."""
    R = len(runs)
    dims = [d.x.shape[1] for d in dss]
    DIM = max(dims)
    Z = max(st.z_dim for _, _, st in runs)
    H = max(max(st.hid_g, st.hid_d) for _, _, st in runs)
    B = runs[0][2].batch
    gens = [torch.Generator().manual_seed(seed) for seed, _, _ in runs]
    # the batches' draws (rows, noise, the gradient penalty's mixing) come from a generator
    # seeded by the group itself, so a build from an empty cache trains the same runs
    key = repr((loss, [(seed, steps) for seed, steps, _ in runs])).encode()
    batch_gen = torch.Generator().manual_seed(int(hashlib.sha256(key).hexdigest()[:15], 16))
    pg = _stack(
        [
            _init_mlp(st.z_dim, st.hid_g, d, Z, H, DIM, g)
            for (_, _, st), d, g in zip(runs, dims, gens, strict=False)
        ]
    )
    pd = _stack(
        [
            _init_mlp(d, st.hid_d, 1, DIM, H, 1, g)
            for (_, _, st), d, g in zip(runs, dims, gens, strict=False)
        ]
    )
    with torch.no_grad():
        for r, (_, _, st) in enumerate(runs):
            if st.d_bias:
                pd[5][r] = st.d_bias
                pd[4][r] *= 0.01
    mg = torch.stack([(torch.arange(H) < st.hid_g).float() for _, _, st in runs])[:, None]
    md = torch.stack([(torch.arange(H) < st.hid_d).float() for _, _, st in runs])[:, None]
    zmask = torch.stack([(torch.arange(Z) < st.z_dim).float() for _, _, st in runs])[:, None]
    omask = torch.stack([(torch.arange(DIM) < d).float() for d in dims])[:, None]
    kind = "rmsprop" if loss == "wgan_clip" else None
    kinds = [kind or st.optim for _, _, st in runs]
    betas = (0.5, 0.9) if loss == "wgan_gp" else (0.5, 0.999)
    og, od = _Opt(pg, kinds, betas), _Opt(pd, kinds, betas)
    n = max(len(d.x) for d in dss)
    x_all = torch.zeros(R, n, DIM)
    rngs = [np.random.default_rng(seed) for seed, _, _ in runs]
    held = torch.zeros(R, N_FIXED, DIM)
    n_rows = torch.tensor([len(d.x) for d in dss])
    for r, d in enumerate(dss):
        x_all[r, : len(d.x), : dims[r]] = torch.from_numpy(d.x)
        held[r, :, : dims[r]] = torch.from_numpy(
            d.x[rngs[r].choice(len(d.x), N_FIXED, replace=False)]
        )
    rows = torch.arange(R)[:, None]
    z_fixed = torch.stack([torch.randn(N_FIXED, Z, generator=g) for g in gens]) * zmask
    lengths = [s for _, s, _ in runs]
    late = torch.tensor([_late(st, s) for _, s, st in runs])
    lr_g0 = torch.tensor([st.lr_g for _, _, st in runs])
    lr_d0 = torch.tensor([st.lr_d for _, _, st in runs])
    lx_g = torch.tensor([st.late.get("lr_g_x", 1.0) for _, _, st in runs])
    lx_d = torch.tensor([st.late.get("lr_d_x", 1.0) for _, _, st in runs])
    ds0 = torch.tensor([st.d_steps for _, _, st in runs])
    gs0 = torch.tensor([st.g_steps for _, _, st in runs])
    ds1 = torch.tensor([st.late.get("d_steps", st.d_steps) for _, _, st in runs])
    gs1 = torch.tensor([st.late.get("g_steps", st.g_steps) for _, _, st in runs])
    ck = [set(checkpoints(s)) for s in lengths]
    ck_any = set().union(*ck)
    hist = {k: [] for k in KEYS}
    samples: list[list] = [[] for _ in runs]
    d_eval: list[list] = [[] for _ in runs]
    ck_steps: list[list] = [[] for _ in runs]
    dead = torch.zeros(R, dtype=torch.bool)
    diverged: list[int | None] = [None] * R
    prob = loss.startswith("bce")
    thr = 0.5 if prob or loss == "lsgan" else 0.0
    for step in range(1, max(lengths) + 1):
        after = step >= late
        lr_g = torch.where(after, lr_g0 * lx_g, lr_g0)
        lr_d = torch.where(after, lr_d0 * lx_d, lr_d0)
        n_d, n_g = torch.where(after, ds1, ds0), torch.where(after, gs1, gs0)
        for k in range(int(n_d.max())):
            idx = (torch.rand(R, B, generator=batch_gen) * n_rows[:, None]).long()
            xr = x_all[rows, idx]
            with torch.no_grad():
                xf = _mlp(pg, mg, torch.randn(R, B, Z, generator=batch_gen) * zmask) * omask
            alpha = torch.rand(R, B, 1, generator=batch_gen)
            ld, dr, df = _d_loss(loss, pd, md, xr, xf, alpha)
            for p in pd:
                p.grad = None
            ld.sum().backward()
            if k == 0:
                rec_d = (ld.detach(), dr.detach(), df.detach(), _norm(pd))
            od.step(pd, lr_d, (n_d > k) & ~dead)
            if loss == "wgan_clip":
                with torch.no_grad():
                    for p in pd:
                        p.clamp_(-0.01, 0.01)
        for k in range(int(n_g.max())):
            xf = _mlp(pg, mg, torch.randn(R, B, Z, generator=batch_gen) * zmask) * omask
            lg = _g_loss(loss, _mlp(pd, md, xf))
            for p in pg:
                p.grad = None
            lg.sum().backward()
            if k == 0:
                rec_g = (lg.detach(), _norm(pg))
            og.step(pg, lr_g, (n_g > k) & ~dead)
        for key, v in zip(
            KEYS, (rec_d[0], rec_g[0], rec_d[1], rec_d[2], rec_g[1], rec_d[3]), strict=False
        ):
            hist[key].append(v)
        bad = ~(torch.isfinite(rec_d[0]) & torch.isfinite(rec_g[0])) & ~dead
        any_bad = bool(bad.any())
        if step in ck_any or any_bad:
            with torch.no_grad():
                xs = _mlp(pg, mg, z_fixed) * omask
                er, ef = _mlp(pd, md, held), _mlp(pd, md, xs)
                if prob:
                    er, ef = torch.sigmoid(er), torch.sigmoid(ef)
            for r in range(R):
                if dead[r] or step > lengths[r] or not (step in ck[r] or bad[r]):
                    continue
                acc = 0.5 * float((er[r] > thr).float().mean() + (ef[r] <= thr).float().mean())
                # threshold-free separation (critic scores have no fixed threshold): the
                # share of (real, fake) pairs D ranks the right way round, ties counting half
                a, b = er[r].flatten()[:, None], ef[r].flatten()[None, :]
                auc = float((a > b).float().mean() + 0.5 * (a == b).float().mean())
                ck_steps[r].append(step)
                samples[r].append(xs[r, :, : dims[r]].numpy().astype(np.float32).copy())
                d_eval[r].append(
                    {
                        "real": float(er[r].mean()),
                        "fake": float(ef[r].mean()),
                        "acc": acc,
                        "auc": auc,
                        "real_std": float(er[r].std()),
                        "fake_std": float(ef[r].std()),
                    }
                )
        if any_bad:
            for r in torch.nonzero(bad).flatten().tolist():
                diverged[r] = step
                dead[r] = True
    full = {k: torch.stack(v).numpy().T for k, v in hist.items()}  # (R, steps)
    out = []
    for r, (_, s, st) in enumerate(runs):
        end = s if diverged[r] is None else min(s, diverged[r] + 5)
        h = {k: full[k][r, :end].astype(np.float64).copy() for k in KEYS}
        if diverged[r] is not None:
            for k in KEYS:
                h[k][diverged[r] - 1 :] = np.nan  # a few NaN rows, then the job dies
        out.append(Trained(h, ck_steps[r], samples[r], d_eval[r], asdict(st), diverged[r]))
    return out
