"""Loss conventions: the loss type, the D loss's reduction and the equilibrium values.

BCE (D loss 2 ln 2 summed, ln 2 averaged), hinge, LSGAN, Wasserstein and BEGAN (no
equilibrium value); read from the run, its config, or inferred from the data.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...naming.aliases import config_hints
from ...naming.roles import gan_views
from ...run import Run
from ...textfmt import fmt_dec, fmt_pct, fmt_sig
from .context import RuleContext, joined
from .outputfit import lsgan_from_outputs, scores_from_outputs
from .thresholds import DEFAULT_THRESHOLDS, validate_thresholds

LN2 = math.log(2.0)
_CYCLE = re.compile(r"cyc(le)?_\w+", re.IGNORECASE)  # a cycle-consistency loss column
_DOMAIN = re.compile(r"D_\d+")  # ComboGAN: one D per domain, numbered


@dataclass
class Equilibrium:
    """What the losses should look like at equilibrium for this run's loss type."""

    loss: str  # bce | hinge | lsgan | wasserstein | began
    reduction: str  # sum | mean
    source: str  # where loss/reduction came from: "run", "config", "data", "assumed"
    d_loss: float | None
    g_loss: float | None
    notes: list[str] = field(default_factory=list)
    summed: int = 1  # discriminators the logged losses add up (the rules divide by it)
    summed_over: str = "discriminators"  # or "batch": the losses are a batch's total

    def to_dict(self) -> dict[str, Any]:
        out = {
            "loss": self.loss,
            "reduction": self.reduction,
            "source": self.source,
            "D_loss": self.d_loss,
            "G_loss": self.g_loss,
            "notes": list(self.notes),
        }
        if self.summed > 1:  # said only where it applies (the JSON of other runs unchanged)
            out["summed"] = self.summed
            if self.summed_over != "discriminators":
                out["summed_over"] = self.summed_over
            for k, v in (("D_loss", self.d_loss), ("G_loss", self.g_loss)):
                if v is not None:  # where the losses as logged (K discriminators') balance
                    out[f"{k}_logged"] = v * self.summed
        return out


_LOSS_NAMES = {
    "bce": "bce",
    "gan": "bce",
    "vanilla": "bce",
    "dcgan": "bce",
    "logistic": "bce",
    "wgan-logistic-ns": "bce",  # MMGeneration's name for StyleGAN's softplus (logistic) loss
    "ns": "bce",
    "nsgan": "bce",  # EdgeConnect's GAN_LOSS
    "non-saturating": "bce",
    "hinge": "hinge",
    "lsgan": "lsgan",
    "ls": "lsgan",
    "wgan": "wasserstein",
    "wgan-gp": "wasserstein",
    "wgangp": "wasserstein",
    "wasserstein": "wasserstein",
    "began": "began",
}
# BEGAN logs its equilibrium controller k_t and its convergence measure M_global beside
# autoencoder losses, which have no equilibrium value
_BEGAN_K = {"kt", "k_t"}
_BEGAN_M = {"measure", "m_global", "convergence", "convergence_measure"}


_LOSS_WORDS = (  # a loss name's words, first that appears wins
    ("began", {"began"}),
    ("wasserstein", {"wgan", "wasserstein", "wgangp"}),
    ("hinge", {"hinge"}),
    ("lsgan", {"lsgan", "ls", "lse", "lsq", "leastsquares"}),
    (
        "bce",
        {
            "bce",
            "gan",
            "vanilla",
            "dcgan",
            "logistic",
            "ns",
            "nonsaturating",
            "sat",
            "saturating",
            "bcewithlogits",
            "minimax",
        },
    ),
)
_REDUCTION_WORDS = {
    "mean": "mean",
    "avg": "mean",
    "average": "mean",
    "averaged": "mean",
    "sum": "sum",
    "summed": "sum",
}


def parse_loss_name(value: object) -> tuple[str | None, str | None]:
    """(loss type, D-loss reduction) a config's loss name states, each None where it does not:
    the whole name when it is a known one ("wgan-gp", "vanilla"), else its words ("bce_ns_mean"
    -> bce, mean; "WGAN_GP" -> wasserstein; "lsgan" -> lsgan)."""
    if not isinstance(value, str) or not value.strip():
        return None, None
    v = value.strip().lower()
    if v in _LOSS_NAMES:
        return _LOSS_NAMES[v], None
    words = [w for w in re.split(r"[^a-z0-9]+", v) if w]
    loss = next((name for name, ws in _LOSS_WORDS if ws & set(words)), None)
    red = next((_REDUCTION_WORDS[w] for w in words if w in _REDUCTION_WORDS), None)
    return (loss, red) if loss is not None else (None, None)


def equilibrium(
    run: Run, thresholds: dict[str, Any] | None = None, ctx: RuleContext | None = None
) -> Equilibrium:
    """The loss type, D-loss reduction and equilibrium loss values of `run`.

    Loss type: run.loss, else config keys loss / gan_mode / gan_type /
    loss_type, else assumed BCE (said in notes). Reduction of the D loss (real
    and fake terms summed or averaged): the threshold `d_loss_reduction` when
    not "auto", else config `d_loss_reduction`, else detected from the data
    (the logged D loss against -log D(x) - log(1 - D(G(z)))), else from the
    D loss's early level (BCE), else "sum".
    """
    th = thresholds or DEFAULT_THRESHOLDS
    ctx = ctx or RuleContext(run, th)
    notes: list[str] = []
    if ctx.summed > 1 and ctx.summed_over == "batch":
        notes.append(
            f"D and G losses read per sample: the logged ones are summed over the batch "
            f"({ctx.summed_source}), so they are divided by {ctx.summed}"
        )
    elif ctx.summed > 1:
        notes.append(
            f"D and G losses read per discriminator: the logged ones add up {ctx.summed} "
            f"discriminators' losses ({ctx.summed_source}), so they are divided by {ctx.summed}"
        )
    loss, source = None, "run"
    if run.loss:
        loss = _LOSS_NAMES.get(str(run.loss).lower(), None)
    named_reduction = None  # a reduction the config's loss name states ("bce_ns_mean")
    if loss is None:
        for key in ("loss", "gan_mode", "gan_type", "loss_type", "gan_loss"):
            parsed = parse_loss_name(run.config.get(key))
            if parsed[0] is not None:
                (loss, named_reduction), source = parsed, "config"
                break
        hint = config_hints(run.config).get("loss")  # any spelling, at any depth
        parsed = parse_loss_name(hint[0]) if hint is not None else (None, None)
        if loss is None and parsed[0] is not None:
            (loss, named_reduction), source = parsed, "config"
    if loss is None:
        names = {str(m).split("/")[-1].lower() for m in run.metrics}
        if names & _BEGAN_K and names & _BEGAN_M:
            loss, source = "began", "data"
            notes.append(
                "loss type inferred: BEGAN (its k_t and convergence measure are logged); its "
                "autoencoder losses have no equilibrium value"
            )
    if loss is None:  # signed D losses are evidence, stronger than a format's default
        neg = _negative_share(ctx.raw("D_loss"), th)
        if neg is not None and neg >= th["signed_loss_share"]:
            loss, source = "wasserstein", "data"
            notes.append(
                f"loss type inferred: Wasserstein-like (the D loss is negative at "
                f"{fmt_pct(neg)} of its points, which BCE, LSGAN and hinge D losses cannot be)"
            )
    if loss is None and run.format == "cyclegan" and not run.config.get("gan_mode"):
        # pytorch-CycleGAN-and-pix2pix's default gan_mode: lsgan, but vanilla for pix2pix.
        # A cycle-consistency loss (cycle_A, Cyc_A in the 2017 layout, Cyc_0.. in ComboGAN's
        # per-domain log) marks the CycleGAN family, all LSGAN by default; pix2pix has none
        cyc = any(_CYCLE.fullmatch(str(m)) for m in run.metrics)
        loss, source = ("lsgan", "assumed") if cyc else ("bce", "assumed")
        tool = "pytorch-CycleGAN-and-pix2pix's"
        if any(_DOMAIN.fullmatch(str(m)) for m in run.metrics):
            tool = "ComboGAN's"
        notes.append(
            f"no gan_mode in train_opt.txt: assumed {loss} ({tool} default for this model)"
        )
    if loss is None:  # D's outputs against its losses: hinge / critic scores, or LSGAN
        fit = scores_from_outputs(ctx, th) or lsgan_from_outputs(ctx, th)
        if fit is not None:
            (loss, note), source = fit, "data"
            notes.append(note)
    if loss is None:
        loss, source = "bce", "assumed"
        notes.append("loss type unknown: assumed BCE")
    reduction = None
    view = ctx.view
    if th["d_loss_reduction"] != "auto":
        reduction = th["d_loss_reduction"]
        notes.append(f"D loss reduction {reduction} (from the thresholds)")
    else:
        v = config_hints(run.config).get("d_loss_reduction", (None,))[0]
        if isinstance(v, str) and v.lower() in ("sum", "mean"):
            reduction = v.lower()
            notes.append(f"D loss reduction {reduction} (from the config)")
        elif named_reduction is not None:
            reduction = named_reduction
            notes.append(f"D loss reduction {reduction} (from the config's loss name)")
        elif view is not None and view.reduction and "D_loss" in view.columns:
            reduction = view.reduction
            notes.append(f"D loss reduction {reduction} ({view.source})")
    if reduction is None and loss == "bce":
        dl = ctx.raw("D_loss")
        dx, dg = ctx.prob("D_x"), ctx.prob("D_G_z")
        if len(dl) >= th["min_points"] and len(dx) and len(dg):
            jl, jx, jg = joined(dl, dx, dg)
            fin = np.isfinite(jl)
            jl, jx, jg = jl[fin], jx[fin], jg[fin]
            if len(jl) >= th["min_points"]:
                expected = -np.log(np.clip(jx, 1e-6, 1 - 1e-6)) - np.log(
                    1 - np.clip(jg, 1e-6, 1 - 1e-6)
                )
                ratio = float(np.median(jl) / max(float(np.median(expected)), 1e-9))
                reduction = "mean" if ratio < 0.7 else "sum"
                notes.append(
                    f"D loss reduction {reduction} (detected: median D loss is "
                    f"{fmt_dec(ratio)}x the summed BCE implied by D(x), D(G(z)))"
                )
        if reduction is None and len(dl) >= th["min_points"]:
            early = float(np.nanmedian(dl.to_numpy()[: max(5, len(dl) // 20)]))
            if math.isfinite(early) and 0.45 <= early <= 0.9:
                reduction = "mean"
                notes.append(
                    f"D loss reduction mean (detected: early D loss {fmt_dec(early)} is near ln 2)"
                )
    if reduction is None:
        reduction = "sum"
        notes.append("D loss reduction assumed sum (real and fake terms added)")
    s = 1.0 if reduction == "sum" else 0.5
    g_kind = str(run.config.get("g_loss", "")).lower()
    if loss == "bce" and g_kind != "saturating":
        neg = _negative_share(ctx.raw("G_loss"), th)
        if neg is not None and neg > 0.9:  # log(1 - D(G(z))) is never positive
            g_kind = "saturating"
            notes.append(
                f"G loss saturating log(1 - D(G(z))) (inferred: negative at {fmt_pct(neg)} of "
                "its points)"
            )
    if loss == "bce":
        d_eq, g_eq = 2 * LN2 * s, (-LN2 if g_kind == "saturating" else LN2)
        w = _g_loss_weight(ctx) if g_kind != "saturating" else None
        if w is not None:
            g_eq *= w
            notes.append(
                f"G loss logged with a weight of about {w:g} (detected: median G loss / -log "
                f"D(G(z))); its equilibrium is scaled to {fmt_sig(g_eq)}"
            )
    elif loss == "hinge":
        d_eq, g_eq = 2.0 * s, 0.0
    elif loss == "lsgan":
        d_eq, g_eq = 0.5 * s, 0.25
    elif loss == "began":
        d_eq, g_eq = None, None
        notes.append("BEGAN loss: no equilibrium value, only trends")
    else:
        d_eq, g_eq = None, None
        notes.append("Wasserstein loss: no equilibrium value, only trends")
    return Equilibrium(loss, reduction, source, d_eq, g_eq, notes, ctx.summed, ctx.summed_over)


SIGN_MIN_POINTS = 5  # a short log's signs are evidence too (the short-log rules read 5 rows)


def _negative_share(s: pd.Series, th: dict[str, Any]) -> float | None:
    """The share of a loss's finite points below zero, or None with fewer than
    SIGN_MIN_POINTS (a sign needs no trend, so a short log's count)."""
    v = s.to_numpy(dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < SIGN_MIN_POINTS:
        return None
    return float((v < 0).mean())


def loss_type_known(eq: Equilibrium | None) -> bool:
    """Whether the loss type was declared, a format's default, or inferred from the data
    (not the BCE fallback for an unknown loss)."""
    return eq is not None and not any(n.startswith("loss type unknown") for n in eq.notes)


def _g_loss_weight(ctx: RuleContext) -> float | None:
    """A loss weight applied to a logged non-saturating BCE G loss, rounded to one significant
    digit, or None.

    Real-ESRGAN logs l_g_gan after its 0.1 weight. Detected as the median of
    G loss / -log D(G(z)) when that is clearly below 1 (< 0.3); D(G(z)) from
    logits makes this an estimate (Jensen), hence the rounding.
    """
    gl, dg = ctx.raw("G_loss"), ctx.prob("D_G_z")
    if len(gl) < ctx.th["min_points"] or len(dg) < ctx.th["min_points"]:
        return None
    g, p = joined(gl, dg)
    fin = np.isfinite(g)
    g, p = g[fin], p[fin]
    if len(g) < ctx.th["min_points"]:
        return None
    implied = -np.log(np.clip(p, 1e-6, 1 - 1e-6))
    ratio = float(np.median(g) / max(float(np.median(implied)), 1e-9))
    if not 0 < ratio < 0.3:
        return None
    return float(f"{ratio:.0g}")


def loss_convention(run: Run, thresholds: dict[str, Any] | None = None) -> Equilibrium:
    """The loss type and D-loss reduction the rules use for `run` (its first GAN view): the
    same `equilibrium` call `check` makes, so `info` and `check` agree."""
    th = validate_thresholds(thresholds or {}, "thresholds")
    view = gan_views(run)[0]
    return equilibrium(run, th, RuleContext(run, th, view=view if view.columns else None))


D_EQUILIBRIA = {  # D loss at equilibrium per (loss, reduction of the real and fake terms)
    ("bce", "sum"): 2 * LN2,
    ("bce", "mean"): LN2,
    ("hinge", "sum"): 2.0,
    ("hinge", "mean"): 1.0,
    ("lsgan", "sum"): 0.5,
    ("lsgan", "mean"): 0.25,
}


def run_d_equilibria(ctx: RuleContext) -> dict[str, float]:
    """consistent_d_equilibria for a run as the rules read it: from the D loss's last quarter
    of bins and the G loss's median; {} without a D loss or for a Wasserstein critic."""
    if not ctx.has("D_loss"):
        return {}
    bd = ctx.bins("D_loss")["med"]
    d_med = float(np.nanmedian(bd[-max(1, len(bd) // 4) :]))
    g_med = float(np.nanmedian(ctx.finite("G_loss"))) if ctx.has("G_loss") else None
    return consistent_d_equilibria(ctx.eq, d_med, g_med)


def consistent_d_equilibria(
    eq: Equilibrium | None, d_loss: float, g_loss: float | None
) -> dict[str, float]:
    """The D-loss equilibrium of every loss convention consistent with the run: the declared
    loss type (both reductions unless the reduction was declared or detected), else BCE,
    hinge and LSGAN, LSGAN ruled out when the G loss is negative (a square cannot be) or when a
    G loss above 2 meets a D loss below 0.1 (its fake term alone, (D(G(z)))^2 with D(G(z)) <= -1,
    would exceed that D loss). Keys name the
    convention ("BCE summed")."""
    if eq is not None and eq.d_loss is None:
        return {}
    if eq is not None and loss_type_known(eq):
        losses = [eq.loss]
    else:
        losses = ["bce", "hinge", "lsgan"]
        if g_loss is not None and (g_loss < 0 or (g_loss > 2 and d_loss < 0.1)):
            losses.remove("lsgan")
    red_known = eq is not None and not any("assumed sum" in n for n in eq.notes)
    reds = [eq.reduction] if red_known and eq is not None else ["sum", "mean"]
    words = {"sum": "summed", "mean": "averaged"}
    return {
        f"{lo.upper() if lo != 'hinge' else 'hinge'} {words[r]}": D_EQUILIBRIA[(lo, r)]
        for lo in losses
        for r in reds
    }


# The G-loss conventions a logged G loss can follow, by loss type: (name, loss type)
G_CONVENTIONS = (
    ("non-saturating BCE -log D(G(z))", "bce"),
    ("saturating BCE log(1 - D(G(z)))", "bce"),
    ("LSGAN (D(G(z)) - 1)^2", "lsgan"),
    ("LSGAN (D(G(z)) - 1)^2 / 2", "lsgan"),
    ("hinge -D(G(z))", "hinge"),
)


def implied_fooling(
    eq: Equilibrium | None, g: np.ndarray, d: np.ndarray, slack: float = 0.9
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per G-loss convention: where it fits the paired G and D losses `g`, `d` (a mask) and
    the mean D(G(z)) the G loss implies under it (NaN for hinge: a raw score).

    A convention fits a point when the G loss can have that sign and the D loss holds at
    least `slack` x half the fake term that G loss implies (the D loss holds the same fake
    term, halved when the terms are averaged; the real term adds to it):
    - non-saturating BCE, G = mean -log p >= 0: mean p >= exp(-G) (Jensen), and the fake
      term mean -log(1 - p) >= -log(1 - exp(-G)) (convex in -log p);
    - saturating BCE, G = mean log(1 - p) <= 0: p ~ 1 - exp(G), the fake term is -G;
    - LSGAN, G = c mean (p - 1)^2 with c 1 or 1/2: mean p >= 1 - sqrt(G / c), the fake term
      c mean p^2 >= c (1 - sqrt(G / c))^2;
    - hinge, G = -mean D(G(z)) (a raw score, no probability): fits when the D loss holds
      (1 - G) / 2; its D(G(z)) is NaN (nothing to say as a probability).
    A conclusion about D(G(z)) holds at a point when some convention fits it and every one
    that fits agrees (`fooled_everywhere`).
    The declared or inferred loss type limits the conventions to its own; an unknown one
    (assumed BCE) leaves all. Wasserstein critics: {}.
    """
    if eq is not None and eq.d_loss is None:
        return {}
    g = np.asarray(g, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    types = {eq.loss} if eq is not None and loss_type_known(eq) else {"bce", "lsgan", "hinge"}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for name, kind in G_CONVENTIONS:
            if kind not in types:
                continue
            if name.startswith("non-saturating"):
                ok = g >= 0
                p = np.exp(-np.maximum(g, 0.0))
                fake = -np.log1p(-np.minimum(p, 1 - 1e-12))
            elif name.startswith("saturating"):
                ok = g <= 0
                p = 1.0 - np.exp(np.minimum(g, 0.0))
                fake = -np.minimum(g, 0.0)
            elif kind == "lsgan":
                c = 0.5 if name.endswith("/ 2") else 1.0
                ok = g >= 0
                p = 1.0 - np.sqrt(np.maximum(g, 0.0) / c)
                fake = c * np.maximum(p, 0.0) ** 2
            else:  # hinge
                ok = g <= 1
                p = np.full_like(g, np.nan)
                fake = 1.0 - g
            out[name] = (ok & np.isfinite(g) & np.isfinite(d) & (d >= slack * 0.5 * fake), p)
    return out


def implied_before(eq: Equilibrium | None, g: float, names: list[str]) -> float:
    """The smallest mean D(G(z)) a G loss `g` implies under the conventions `names` (those a
    fooled stretch fits), whatever the D loss; NaN where none gives a probability (hinge).
    A G loss that already implies a fooled D before the stretch sits at that level from the
    start: a loss on another scale (a weight), not G winning."""
    conv = implied_fooling(eq, np.array([g]), np.array([np.finfo(np.float64).max]))
    ps = [float(conv[n][1][0]) for n in names if n in conv and bool(conv[n][0][0])]
    ps = [p for p in ps if np.isfinite(p)]
    return min(ps) if ps else float("nan")


def fooled_everywhere(
    conv: dict[str, tuple[np.ndarray, np.ndarray]], at_least: float, probabilities: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Per point: whether D(G(z)) >= `at_least` under every convention of `implied_fooling`
    that fits it (and one does), and the smallest such D(G(z)) (NaN where it does not hold).
    With `probabilities`, hinge's raw score is left out where a probability convention fits
    too (the finding then names hinge as the convention it does not hold under)."""
    if not conv:
        return np.zeros(0, bool), np.zeros(0)
    if probabilities and len(conv) > 1:
        conv = {n: v for n, v in conv.items() if not n.startswith("hinge")}
    fits = np.array([f for f, _ in conv.values()])
    ps = np.array([np.where(f, p, np.inf) for f, p in conv.values()])
    with np.errstate(invalid="ignore"):
        low = np.min(ps, axis=0)
        holds = fits.any(axis=0) & np.isfinite(low) & (low >= at_least)
    return holds, np.where(holds, low, np.nan)
