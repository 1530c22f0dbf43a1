"""The rule checks: what went wrong (or right) in a run, with the evidence.

`diagnose(run)` runs every rule in `RULES` (a plain list of small functions,
each registered with `@rule(name, needs=...)`) and returns a `Diagnosis`: the
findings (rule, severity, step range, numbers, one-line message, action), the
rules skipped for lack of data ("not enough data: needs D_x") and a one-sentence
verdict. Thresholds come from one table, `DEFAULT_THRESHOLDS` (documented in
docs/rules.md), which a user overrides with a JSON/YAML file (`load_thresholds`,
`gananalyze check --rules-config FILE`).

How the rules look at a curve: the run's logged steps are cut into at most
`max_bins` consecutive bins of equal row count (at least `min_bin_points` rows
each), the same bins for every metric, and each metric is summarised per bin
(median, point-to-point dispersion). Rules compare those bin summaries with
thresholds and ask for a condition to hold over consecutive bins covering
`sustain_fraction` of the run ("sustained"). Everything is vectorised, so a
1,000,000-step run is diagnosed in well under two seconds.

The rules know the loss type (run.loss or the config): equilibrium values
differ between BCE (D loss 2 ln 2 summed, ln 2 averaged), hinge, LSGAN and
Wasserstein (no equilibrium value). D outputs are read as probabilities from
D_x / D_G_z_* or, when only raw scores were logged (StyleGAN2-ADA's
`Loss/scores/real`), as the sigmoid of the mean logit.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..aliases import LABELS, higher_is_better
from ..errors import GanAnalyzeError
from .findings import SEVERITY_RANK, Diagnosis, Finding
from ..run import Run

LN2 = math.log(2.0)

# The one table of thresholds. Every key is documented in docs/rules.md.
DEFAULT_THRESHOLDS: dict[str, Any] = {
    # how curves are summarised
    "max_bins": 200,  # a run is cut into at most this many bins of consecutive steps
    "min_bin_points": 5,  # ... each holding at least this many logged rows
    "min_points": 20,  # a metric with fewer logged points counts as absent
    "sustain_fraction": 0.1,  # "sustained" = over consecutive bins covering this fraction of the run
    "sustain_min_bins": 3,  # ... and at least this many bins
    "baseline_fraction": 0.2,  # "early value" = median over the first 20% of the run
    "warmup_fraction": 0.05,  # the first 5% of the run is warm-up: oscillation ignores it
    "tail_fraction": 0.25,  # "the end of the run" = its last 25%
    # loss conventions
    "d_loss_reduction": "auto",  # "sum" | "mean" | "auto" (config key d_loss_reduction, else the data)
    # d_overpowering
    "d_over_dx_min": 0.95,  # D(x) at least this ...
    "d_over_dgz_max": 0.05,  # ... and D(G(z)) at most this
    "d_over_loss_frac": 0.075,  # or (no D outputs logged) D loss below this fraction of its equilibrium value
    # g_overpowering
    "g_over_dgz_min": 0.6,  # D(G(z)) sustained above this
    # mode_collapse
    "collapse_ratio": 0.5,  # grid diversity below this fraction of its earlier peak
    "collapse_real_ratio": 0.5,  # ... or the run ending below this fraction of the real data's diversity
    "collapse_dup_frac": 0.25,  # ... or this fraction of sample pairs being near-duplicates
    "collapse_g_drop_z": 5.0,  # G loss drop between bins, robust z below -this ...
    "collapse_dgz_osc": 3.0,  # ... while D(G(z))'s dispersion exceeds this multiple of its median
    "collapse_g_drop_min_frac": 0.1,  # ... and the drop is at least this fraction of the G loss's scale
    "collapse_dgz_min_disp": 0.02,  # ... and D(G(z))'s dispersion at least this (probability units)
    "fid_jump_ratio": 1.5,  # a sample metric (FID) worse by this factor than the evaluation before
    # divergence
    "grad_explode_abs": 100.0,  # gradient norm above this ...
    "grad_explode_ratio": 10.0,  # ... and this many times its early value
    "loss_explode_ratio": 100.0,  # |loss| this many times its early scale
    # vanishing_gradients
    "vanish_ratio": 0.01,  # gradient norm below this fraction of its early value
    "vanish_abs": 1e-7,  # ... or below this absolute value
    # oscillation
    "osc_z": 5.0,  # robust z of the log dispersion above this ...
    "osc_ratio": 3.0,  # ... and dispersion this many times its median
    "osc_min_frac": 0.05,  # ... and above this fraction of the loss's scale (|equilibrium|, else its median |value|)
    # over_training
    "overtrain_margin": 0.05,  # the last evaluation worse than the best by more than 5% (relative)
    "overtrain_min_later": 2,  # ... and at least this many evaluations after the best worse by the margin (one bad evaluation is noise)
    "min_evaluations": 3,  # sample-metric evaluations needed
    # healthy_equilibrium
    "eq_prob_tol": 0.2,  # D(x), D(G(z)) within 0.5 +- this at the end of the run
    "eq_loss_factor": 3.0,  # losses within a factor 3 of their equilibrium value (|diff| <= 2 x max(|eq|, 0.5) when eq <= 0)
}

_STRING_KEYS = {"d_loss_reduction": ("auto", "sum", "mean")}
_INT_KEYS = {"max_bins", "min_bin_points", "min_points", "sustain_min_bins", "min_evaluations"}

# Sample metrics for which lower is better; every other one (is, precision, recall, density, coverage) higher.


# --------------------------------------------------------------------------- thresholds
def validate_thresholds(overrides: dict[str, Any], source: str = "thresholds") -> dict[str, Any]:
    """DEFAULT_THRESHOLDS updated with `overrides`, checked: unknown keys or wrong types raise."""
    if not isinstance(overrides, dict):
        raise GanAnalyzeError(f"{source}: expected a mapping of threshold names to values")
    unknown = sorted(set(overrides) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise GanAnalyzeError(
            f"{source}: unknown threshold(s) {', '.join(map(repr, unknown))}; known: {', '.join(DEFAULT_THRESHOLDS)}"
        )
    out = dict(DEFAULT_THRESHOLDS)
    for k, v in overrides.items():
        if k in _STRING_KEYS:
            if v not in _STRING_KEYS[k]:
                raise GanAnalyzeError(
                    f"{source}: {k} must be one of {', '.join(_STRING_KEYS[k])}, not {v!r}"
                )
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise GanAnalyzeError(f"{source}: {k} must be a number, not {v!r}")
        elif k in _INT_KEYS and (v != int(v) or v < 1):
            raise GanAnalyzeError(f"{source}: {k} must be a positive whole number, not {v!r}")
        out[k] = int(v) if k in _INT_KEYS else v
    return out


def load_thresholds(path: str | Path) -> dict[str, Any]:
    """Read threshold overrides from a JSON or YAML file; returns the full, checked table.

    The file is a mapping {threshold name: value} (optionally nested under a
    top-level "thresholds" key). Unknown names are an error, so a typo never
    silently does nothing.
    """
    p = Path(path)
    if not p.is_file():
        raise GanAnalyzeError(f"{p}: no such rules-config file")
    text = p.read_text(encoding="utf-8", errors="replace")
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except (ValueError, ImportError) as e:
        raise GanAnalyzeError(
            f"{p}: cannot parse rules config ({str(e).splitlines()[0]})"
        ) from None
    except Exception as e:  # yaml.YAMLError
        raise GanAnalyzeError(
            f"{p}: cannot parse rules config ({str(e).splitlines()[0]})"
        ) from None
    if data is None:
        data = {}
    if isinstance(data, dict) and set(data) == {"thresholds"}:
        data = data["thresholds"]
    return validate_thresholds(data, str(p))


# --------------------------------------------------------------------------- GAN views
@dataclass
class GanView:
    """How the rules read one GAN of a run whose trainer names its losses differently.

    columns: canonical name -> the run's column, or a tuple of columns whose sum
    is the metric (a D loss logged as its real and fake terms). Derived in the
    rules only; the run's columns are never renamed. tag: "A" / "B" for the two
    GANs of a CycleGAN run (prefixed to the findings' titles), else None.
    reduction: how the D loss combines its real and fake terms ("sum" | "mean").
    """

    tag: str | None
    columns: dict[str, str | tuple[str, ...]]
    reduction: str | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "columns": {k: _src_name(v) for k, v in self.columns.items()},
            "reduction": self.reduction,
            "source": self.source,
        }


# Layouts of other trainers, tried in order when the run has no D loss under a
# canonical name or alias: (columns that must all be present, views).
GAN_LAYOUTS: list[tuple[tuple[str, ...], list[GanView]]] = [
    # pytorch-CycleGAN-and-pix2pix CycleGAN: two GANs; D_A = 0.5 * (real + fake) term, G_A its G loss
    (
        ("D_A", "G_A", "D_B", "G_B"),
        [
            GanView(
                "A",
                {"D_loss": "D_A", "G_loss": "G_A"},
                "mean",
                "CycleGAN: D_A = 0.5 (real + fake), G_A",
            ),
            GanView(
                "B",
                {"D_loss": "D_B", "G_loss": "G_B"},
                "mean",
                "CycleGAN: D_B = 0.5 (real + fake), G_B",
            ),
        ],
    ),
    # pix2pix: D_real and D_fake are the two D terms, logged unhalved (D optimises their average)
    (
        ("D_real", "D_fake"),
        [
            GanView(
                None, {"D_loss": ("D_real", "D_fake")}, "sum", "pix2pix: D loss = D_real + D_fake"
            )
        ],
    ),
    # Real-ESRGAN / BasicSR: losses/l_d_real + losses/l_d_fake (D(x), D(G(z)) come from out_d_* logits via the aliases)
    (
        ("losses/l_d_real", "losses/l_d_fake"),
        [
            GanView(
                None,
                {"D_loss": ("losses/l_d_real", "losses/l_d_fake")},
                "sum",
                "BasicSR: D loss = l_d_real + l_d_fake",
            )
        ],
    ),
]


def _src_name(src: str | tuple[str, ...]) -> str:
    return src if isinstance(src, str) else "+".join(src)


def _view_series(run: Run, src: str | tuple[str, ...]) -> pd.Series:
    """A view column: one of the run's columns, or the sum of several at the steps where all were logged."""
    if isinstance(src, str):
        return run.series(src)
    parts = [run.series(c) for c in src]
    if any(not len(p) for p in parts):
        return pd.Series(
            [], dtype="float64", name=_src_name(src), index=pd.Index([], dtype="int64", name="step")
        )
    j = pd.concat(parts, axis=1, join="inner")
    return j.sum(axis=1, skipna=False).rename(_src_name(src))


def gan_views(run: Run) -> list[GanView]:
    """The GAN(s) the rules judge in `run`: one plain view normally, or those of a matching GAN_LAYOUTS entry.

    A run that has a D loss under a canonical name or alias is read as is.
    """
    cols = set(run.metrics)
    if run.column("D_loss") is None:
        for need, views in GAN_LAYOUTS:
            if all(c in cols for c in need):
                return views
    return [GanView(None, {})]


# --------------------------------------------------------------------------- loss conventions
@dataclass
class Equilibrium:
    """What the losses should look like at equilibrium for this run's loss type."""

    loss: str  # bce | hinge | lsgan | wasserstein
    reduction: str  # sum | mean
    source: str  # where loss/reduction came from: "run", "config", "data", "assumed"
    d_loss: float | None
    g_loss: float | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "reduction": self.reduction,
            "source": self.source,
            "D_loss": self.d_loss,
            "G_loss": self.g_loss,
            "notes": list(self.notes),
        }


_LOSS_NAMES = {
    "bce": "bce",
    "gan": "bce",
    "vanilla": "bce",
    "dcgan": "bce",
    "logistic": "bce",
    "ns": "bce",
    "non-saturating": "bce",
    "hinge": "hinge",
    "lsgan": "lsgan",
    "ls": "lsgan",
    "wgan": "wasserstein",
    "wgan-gp": "wasserstein",
    "wgangp": "wasserstein",
    "wasserstein": "wasserstein",
}


def equilibrium(
    run: Run, thresholds: dict[str, Any] | None = None, ctx: _Ctx | None = None
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
    ctx = ctx or _Ctx(run, th)
    notes: list[str] = []
    loss, source = None, "run"
    if run.loss:
        loss = _LOSS_NAMES.get(str(run.loss).lower(), None)
    if loss is None:
        for key in ("loss", "gan_mode", "gan_type", "loss_type", "gan_loss"):
            v = run.config.get(key)
            if isinstance(v, str) and v.lower() in _LOSS_NAMES:
                loss, source = _LOSS_NAMES[v.lower()], "config"
                break
    if loss is None and run.format == "cyclegan" and not run.config.get("gan_mode"):
        # pytorch-CycleGAN-and-pix2pix's default gan_mode: lsgan, except the pix2pix model's vanilla
        loss, source = ("lsgan", "assumed") if "cycle_A" in run.metrics else ("bce", "assumed")
        notes.append(
            f"no gan_mode in train_opt.txt: assumed {loss} (pytorch-CycleGAN-and-pix2pix's default for this model)"
        )
    if loss is None:
        loss, source = "bce", "assumed"
        notes.append("loss type unknown: assumed BCE")
    reduction = None
    view = ctx.view
    if th["d_loss_reduction"] != "auto":
        reduction = th["d_loss_reduction"]
        notes.append(f"D loss reduction {reduction} (from the thresholds)")
    else:
        v = run.config.get("d_loss_reduction")
        if isinstance(v, str) and v.lower() in ("sum", "mean"):
            reduction = v.lower()
            notes.append(f"D loss reduction {reduction} (from the config)")
        elif view is not None and view.reduction and "D_loss" in view.columns:
            reduction = view.reduction
            notes.append(f"D loss reduction {reduction} ({view.source})")
    if reduction is None and loss == "bce":
        dl = ctx.raw("D_loss")
        dx, dg = ctx.prob("D_x"), ctx.prob("D_G_z")
        if len(dl) >= th["min_points"] and len(dx) and len(dg):
            j = pd.concat(
                [dl.rename("l"), dx.rename("x"), dg.rename("g")], axis=1, join="inner"
            ).dropna()
            j = j[np.isfinite(j["l"])]
            if len(j) >= th["min_points"]:
                expected = -np.log(j["x"].clip(1e-6, 1 - 1e-6)) - np.log(
                    1 - j["g"].clip(1e-6, 1 - 1e-6)
                )
                ratio = float(np.median(j["l"]) / max(float(np.median(expected)), 1e-9))
                reduction = "mean" if ratio < 0.7 else "sum"
                notes.append(
                    f"D loss reduction {reduction} (detected: median D loss is {ratio:.2f}x the summed BCE implied by D(x), D(G(z)))"
                )
        if reduction is None and len(dl) >= th["min_points"]:
            early = float(np.nanmedian(dl.to_numpy()[: max(5, len(dl) // 20)]))
            if math.isfinite(early) and 0.45 <= early <= 0.9:
                reduction = "mean"
                notes.append(
                    f"D loss reduction mean (detected: early D loss {early:.2f} is near ln 2)"
                )
    if reduction is None:
        reduction = "sum"
        notes.append("D loss reduction assumed sum (real and fake terms added)")
    s = 1.0 if reduction == "sum" else 0.5
    g_kind = str(run.config.get("g_loss", "")).lower()
    if loss == "bce":
        d_eq, g_eq = 2 * LN2 * s, (-LN2 if g_kind == "saturating" else LN2)
        w = _g_loss_weight(ctx) if g_kind != "saturating" else None
        if w is not None:
            g_eq *= w
            notes.append(
                f"G loss logged with a weight of about {w:g} (detected: median G loss / -log D(G(z))); its equilibrium is scaled to {g_eq:.3g}"
            )
    elif loss == "hinge":
        d_eq, g_eq = 2.0 * s, 0.0
    elif loss == "lsgan":
        d_eq, g_eq = 0.5 * s, 0.25
    else:
        d_eq, g_eq = None, None
        notes.append("Wasserstein loss: no equilibrium value, only trends")
    return Equilibrium(loss, reduction, source, d_eq, g_eq, notes)


def _g_loss_weight(ctx: _Ctx) -> float | None:
    """A loss weight applied to a logged non-saturating BCE G loss, rounded to one significant digit, or None.

    Real-ESRGAN logs l_g_gan after its 0.1 weight. Detected as the median of
    G loss / -log D(G(z)) when that is clearly below 1 (< 0.3); D(G(z)) from
    logits makes this an estimate (Jensen), hence the rounding.
    """
    gl, dg = ctx.raw("G_loss"), ctx.prob("D_G_z")
    if len(gl) < ctx.th["min_points"] or len(dg) < ctx.th["min_points"]:
        return None
    j = pd.concat([gl.rename("g"), dg.rename("p")], axis=1, join="inner").dropna()
    j = j[np.isfinite(j["g"])]
    if len(j) < ctx.th["min_points"]:
        return None
    implied = -np.log(j["p"].clip(1e-6, 1 - 1e-6))
    ratio = float(np.median(j["g"]) / max(float(np.median(implied)), 1e-9))
    if not 0 < ratio < 0.3:
        return None
    return float(f"{ratio:.0g}")


# --------------------------------------------------------------------------- curve summaries
class _Ctx:
    """What the rules share: the run, thresholds, aligned bins and cached series."""

    def __init__(
        self,
        run: Run,
        thresholds: dict[str, Any],
        select_metric: str = "fid",
        view: GanView | None = None,
    ):
        self.run = run
        self.th = thresholds
        self.select_metric = select_metric
        self.view = view
        self._series: dict[str, pd.Series] = {}
        self._bins: dict[tuple[str, bool], pd.DataFrame] = {}
        self.steps = (
            run.scalars["step"].to_numpy(dtype=np.int64)
            if "step" in run.scalars
            else np.zeros(0, np.int64)
        )
        n = len(self.steps)
        self.nb = (
            int(max(1, min(thresholds["max_bins"], n // max(1, thresholds["min_bin_points"]))))
            if n
            else 0
        )
        if n:
            first_row = (
                np.arange(self.nb) * n + self.nb - 1
            ) // self.nb  # first row r with r*nb//n == b
            self.bin_start = self.steps[first_row]
            self.bin_end = np.r_[self.steps[first_row[1:] - 1], self.steps[-1]]
        else:
            self.bin_start = self.bin_end = np.zeros(0, np.int64)
        self.eq: Equilibrium | None = None
        self.diversity: pd.DataFrame | None = None

    # -- raw series
    def raw(self, name: str) -> pd.Series:
        """A metric's logged points (Inf kept), or an empty series."""
        if name not in self._series:
            src = self.view.columns.get(name) if self.view else None
            self._series[name] = (
                self.run.series(name) if src is None else _view_series(self.run, src)
            )
        return self._series[name]

    def finite(self, name: str) -> pd.Series:
        s = self.raw(name)
        v = s.to_numpy()
        return s if np.isfinite(v).all() else s[np.isfinite(v)]

    def has(self, name: str) -> bool:
        if name == "D_x_prob":
            return len(self.prob("D_x")) >= self.th["min_points"]
        if name == "D_G_z_prob":
            return len(self.prob("D_G_z")) >= self.th["min_points"]
        return len(self.finite(name)) >= self.th["min_points"]

    def prob(self, which: str) -> pd.Series:
        """D's output as a probability: "D_x" or "D_G_z" (before the D update when logged, else after).

        From logged probabilities when they lie in [0, 1], else the sigmoid of
        logged logits (D_x_logit / D_G_z_logit), else empty.
        """
        key = f"__prob_{which}"
        if key in self._series:
            return self._series[key]
        names = ["D_x"] if which == "D_x" else ["D_G_z_before", "D_G_z_after"]
        out = pd.Series([], dtype="float64")
        for nm in names:
            s = self.finite(nm)
            if len(s):
                v = s.to_numpy()
                if v.min() >= -1e-6 and v.max() <= 1 + 1e-6:
                    out = s.clip(0.0, 1.0)
                    break
        if not len(out):
            s = self.finite(which + "_logit")
            if len(s):
                out = 1.0 / (1.0 + np.exp(-s.clip(-60, 60)))
        self._series[key] = out
        return out

    def label(self, name: str) -> str:
        src = self.view.columns.get(name) if self.view else None
        if src is not None:
            return f"{LABELS.get(name, name)} ({_src_name(src)})"
        return LABELS.get(name, name)

    def column(self, name: str) -> str:
        """The run's column name for a canonical metric (for Finding.metrics); "a+b" for a derived sum."""
        src = self.view.columns.get(name) if self.view else None
        if src is not None:
            return _src_name(src)
        if name in ("D_x", "D_G_z"):
            for nm in (
                ["D_x", "D_x_logit"]
                if name == "D_x"
                else ["D_G_z_before", "D_G_z_after", "D_G_z_logit"]
            ):
                c = self.run.column(nm)
                if c is not None:
                    return c
        return self.run.column(name) or name

    # -- bins
    def bins(self, name: str, series: pd.Series | None = None) -> pd.DataFrame:
        """Per-bin summary of a metric on the run's common bins: med, disp, n (NaN where no points)."""
        key = name
        if key in self._bins:
            return self._bins[key]
        s = series if series is not None else self.finite(name)
        nb = self.nb
        med = np.full(nb, np.nan)
        disp = np.full(nb, np.nan)
        cnt = np.zeros(nb, dtype=np.int64)
        if len(s) and nb:
            pos = np.searchsorted(self.steps, s.index.to_numpy())
            b = np.minimum(pos * nb // len(self.steps), nb - 1)
            v = s.to_numpy(dtype=np.float64)
            df = pd.DataFrame({"b": b, "v": v})
            g = df.groupby("b", sort=True)["v"]
            m = g.median()
            med[m.index.to_numpy()] = m.to_numpy()
            c = g.size()
            cnt[c.index.to_numpy()] = c.to_numpy()
            # point-to-point dispersion (trend-free): std of first differences within a bin / sqrt 2
            d = np.diff(v)
            same = b[1:] == b[:-1]
            if same.any():
                dd = pd.DataFrame({"b": b[1:][same], "d": d[same]}).groupby("b")["d"].std()
                disp[dd.index.to_numpy()] = dd.to_numpy() / math.sqrt(2.0)
        out = pd.DataFrame(
            {"start": self.bin_start, "end": self.bin_end, "med": med, "disp": disp, "n": cnt}
        )
        self._bins[key] = out
        return out

    def need_bins(self) -> int:
        return int(
            max(self.th["sustain_min_bins"], math.ceil(self.th["sustain_fraction"] * self.nb))
        )

    def baseline(self, med: np.ndarray) -> float:
        """Median of the bin medians over the first baseline_fraction of the run (NaN-safe)."""
        k = max(1, int(math.ceil(self.th["baseline_fraction"] * len(med))))
        head = med[:k]
        head = head[np.isfinite(head)]
        return float(np.median(head)) if head.size else float("nan")

    def tail(self, med: np.ndarray) -> float:
        k = max(1, int(math.ceil(self.th["tail_fraction"] * len(med))))
        t = med[-k:]
        t = t[np.isfinite(t)]
        return float(np.median(t)) if t.size else float("nan")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (first, last) index pairs of the runs of True in `mask`."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return []
    d = np.diff(np.r_[0, m.astype(np.int8), 0])
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _close_gaps(mask: np.ndarray) -> np.ndarray:
    """Fill single-bin gaps between True bins (one noisy bin does not end a sustained state)."""
    m = np.asarray(mask, dtype=bool).copy()
    if m.size >= 3:
        m[1:-1] |= m[:-2] & m[2:]
    return m


def _pick(mask: np.ndarray, need: int, last_bin: int) -> tuple[int, int, bool] | None:
    """The sustained stretch to report: (first bin, last bin, ongoing at the end) or None.

    A qualifying stretch (>= need bins) that reaches the last bin with data wins
    (the problem is still there); otherwise the longest one.
    """
    runs = [r for r in _runs(_close_gaps(mask)) if r[1] - r[0] + 1 >= need]
    if not runs:
        return None
    for a, b in runs:
        if b >= last_bin:
            return a, b, True
    a, b = max(runs, key=lambda r: r[1] - r[0])
    return a, b, False


def _last_bin(*meds: np.ndarray) -> int:
    ok = np.zeros(len(meds[0]), dtype=bool)
    for m in meds:
        ok |= np.isfinite(m)
    idx = np.flatnonzero(ok)
    return int(idx[-1]) if idx.size else -1


def _robust_center(x: np.ndarray, clip: float = 2.0, rounds: int = 5) -> tuple[float, float]:
    """Median and MAD (x1.4826) of x after clipping its upper tail (robust z > clip) a few times.

    The plain median/MAD breaks down when a problem covers a large part of the
    run (a loss oscillating over 40% of it inflates the MAD); clipping the
    upper tail recovers the spread of the quiet part, which is the baseline.
    """
    v = x[np.isfinite(x)]
    if v.size == 0:
        return float("nan"), float("nan")
    c = float(np.median(v))
    mad = 1.4826 * float(np.median(np.abs(v - c)))
    for _ in range(rounds):
        if not mad > 0:
            break
        keep = (v - c) / mad <= clip
        if keep.all() or keep.sum() < max(3, v.size // 3):
            break
        v = v[keep]
        c = float(np.median(v))
        mad = 1.4826 * float(np.median(np.abs(v - c)))
    return c, mad


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or not np.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.2e}"
    return f"{x:.{digits}g}"


def _pct(frac: float) -> str:
    return f"{100 * frac:.0f}%"


# --------------------------------------------------------------------------- registry
RuleFn = Callable[[_Ctx], list[Finding]]
RULES: list[RuleFn] = []


def rule(
    name: str,
    needs: tuple[str, ...] | list[tuple[str, ...]] = (),
    describe: str = "",
    applies: Callable[[_Ctx], str | None] | None = None,
) -> Callable[[RuleFn], RuleFn]:
    """Register a rule. `needs`: metric names that must all be present, or a
    list of such tuples of which any one suffices. Special names: D_x_prob,
    D_G_z_prob (D outputs as probabilities or logits), samples (sample grids),
    sample_metric (the selected FID-like metric), scalars (any metric).
    `applies(ctx)`: returns a reason ("not applicable: ...") when the rule
    cannot judge this run even though the data is there (e.g. loss type).
    """

    def deco(fn: RuleFn) -> RuleFn:
        fn.rule_name = name  # type: ignore[attr-defined]
        alts = (
            [tuple(needs)] if not needs or isinstance(needs[0], str) else [tuple(a) for a in needs]
        )
        fn.needs = alts  # type: ignore[attr-defined]
        fn.applies = applies  # type: ignore[attr-defined]
        fn.describe = describe or (fn.__doc__ or "").strip().splitlines()[0]  # type: ignore[attr-defined]
        RULES.append(fn)
        return fn

    return deco


def _available(ctx: _Ctx, name: str) -> bool:
    if name == "samples":
        return any(
            g.nrow and g.ncol and g.tile and (g.count or g.nrow * g.ncol) >= 2
            for g in ctx.run.samples
        )
    if name == "sample_metric":
        return len(_sample_metric(ctx)) >= ctx.th["min_evaluations"]
    if name == "scalars":
        return len(ctx.run.metrics) > 0 or len(ctx.run.nonfinite) > 0
    return ctx.has(name)


_NEED_WORDS = {
    "D_x_prob": "D(x) (D_x or its logits)",
    "D_G_z_prob": "D(G(z)) (D_G_z_before/after or logits)",
    "samples": "fixed-noise sample grids with a known layout",
    "sample_metric": "sample metric evaluations",
    "scalars": "any logged metric",
}


def _missing_reason(ctx: _Ctx, alts: list[tuple[str, ...]]) -> str | None:
    if any(all(_available(ctx, n) for n in alt) for alt in alts):
        return None
    parts = []
    for alt in alts:
        miss = [n for n in alt if not _available(ctx, n)]
        words = []
        for n in miss:
            w = _NEED_WORDS.get(n, n)
            if n == "sample_metric":
                w = f"{ctx.select_metric} at >= {ctx.th['min_evaluations']} evaluations"
            elif n not in _NEED_WORDS:
                w = f"{n} (>= {ctx.th['min_points']} points)"
            words.append(w)
        parts.append(" and ".join(words))
    return "not enough data: needs " + ", or ".join(parts)


# --------------------------------------------------------------------------- the rules
@rule("divergence", needs=("scalars",))
def divergence(ctx: _Ctx) -> list[Finding]:
    """Training diverged: NaN/Inf values, exploding gradient norms or losses."""
    out: list[Finding] = []
    th = ctx.th
    nf = ctx.run.nonfinite
    if len(nf):
        per = (
            nf.groupby("metric").agg(n=("step", "size"), first=("step", "min")).sort_values("first")
        )
        first = nf.iloc[0]
        desc = ", ".join(
            f"{m} ({int(r.n)} from step {int(r.first)})" for m, r in per.head(4).iterrows()
        )
        if len(per) > 4:
            desc += f" and {len(per) - 4} more metrics"
        out.append(
            Finding(
                "divergence",
                "error",
                "Training diverged (NaN/Inf)",
                f"{len(nf)} non-finite values: {desc}; first {first['metric']} = {first['value']} at step {int(first['step'])}.",
                "Resume from the last checkpoint before the first NaN with a lower learning rate; add gradient clipping, check for log(0) / division by zero in the losses, or use mixed precision with loss scaling.",
                int(nf["step"].min()),
                int(nf["step"].max()),
                {
                    "nonfinite_values": int(len(nf)),
                    "first_step": int(first["step"]),
                    "first_metric": str(first["metric"]),
                    "per_metric": {str(m): int(r.n) for m, r in per.iterrows()},
                },
                [str(m) for m in per.index],
            )
        )
    for name in ("G_grad_norm", "D_grad_norm"):
        if not ctx.has(name):
            continue
        b = ctx.bins(name)
        med = b["med"].to_numpy()
        base = ctx.baseline(med)
        if not np.isfinite(base):
            continue
        mask = (med > th["grad_explode_abs"]) & (med > th["grad_explode_ratio"] * max(base, 1e-12))
        pick = _pick(mask, 2, _last_bin(med))
        if pick:
            a, z, ongoing = pick
            peak = float(np.nanmax(med[a : z + 1]))
            out.append(
                Finding(
                    "divergence",
                    "error" if ongoing else "warning",
                    f"{ctx.label(name)} exploded",
                    f"{ctx.label(name)} median reached {_fmt(peak)} (early value {_fmt(base)}, {_fmt(peak / max(base, 1e-12))}x) from step {int(b['start'][a])} to {int(b['end'][z])}{' and stays there' if ongoing else ''}.",
                    "Clip gradients (e.g. clip_grad_norm_ at a few times the early norm), lower the learning rate, or add a gradient penalty / spectral normalisation to D.",
                    int(b["start"][a]),
                    int(b["end"][z]),
                    {"peak_median": peak, "early_median": base, "ratio": peak / max(base, 1e-12)},
                    [ctx.column(name)],
                )
            )
    eq = ctx.eq
    for name in ("D_loss", "G_loss"):
        if not ctx.has(name):
            continue
        b = ctx.bins(name)
        med = np.abs(b["med"].to_numpy())
        base = ctx.baseline(med)
        ref = eq.d_loss if (eq and name == "D_loss") else (eq.g_loss if eq else None)
        scale = max(base if np.isfinite(base) else 0.0, abs(ref) if ref else 0.0, 1e-3)
        mask = med > th["loss_explode_ratio"] * scale
        pick = _pick(mask, 2, _last_bin(med))
        if pick:
            a, z, ongoing = pick
            peak = float(np.nanmax(med[a : z + 1]))
            out.append(
                Finding(
                    "divergence",
                    "error" if ongoing else "warning",
                    f"{ctx.label(name)} exploded",
                    f"|{ctx.label(name)}| median reached {_fmt(peak)}, {_fmt(peak / scale)}x its early scale {_fmt(scale)}, from step {int(b['start'][a])} to {int(b['end'][z])}.",
                    "Lower the learning rate or resume from an earlier checkpoint; for Wasserstein critics check the gradient penalty / weight clipping.",
                    int(b["start"][a]),
                    int(b["end"][z]),
                    {"peak_abs_median": peak, "early_scale": scale},
                    [ctx.column(name)],
                )
            )
    return out


def _needs_probs_or_equilibrium(ctx: _Ctx) -> str | None:
    if ctx.has("D_x_prob") and ctx.has("D_G_z_prob"):
        return None
    if ctx.eq is not None and ctx.eq.d_loss is None:
        return f"not applicable: a {ctx.eq.loss} loss has no equilibrium value to compare with; needs D(x) and D(G(z))"
    return None


@rule(
    "d_overpowering",
    needs=[("D_x_prob", "D_G_z_prob"), ("D_loss",)],
    applies=_needs_probs_or_equilibrium,
)
def d_overpowering(ctx: _Ctx) -> list[Finding]:
    """D overpowers G: D(x) near 1 and D(G(z)) near 0 (or D loss near 0), sustained."""
    th = ctx.th
    eq = ctx.eq
    use_probs = ctx.has("D_x_prob") and ctx.has("D_G_z_prob")
    if use_probs:
        bx = ctx.bins("D_x_prob", ctx.prob("D_x"))["med"].to_numpy()
        bg = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))["med"].to_numpy()
        mask = (bx >= th["d_over_dx_min"]) & (bg <= th["d_over_dgz_max"])
        last = _last_bin(bx, bg)
    else:
        if eq is None or eq.d_loss is None:
            return []
        bd = ctx.bins("D_loss")["med"].to_numpy()
        mask = bd <= th["d_over_loss_frac"] * eq.d_loss
        last = _last_bin(bd)
    pick = _pick(mask, ctx.need_bins(), last)
    if not pick:
        return []
    a, z, ongoing = pick
    b0, b1 = ctx.bin_start[a], ctx.bin_end[z]
    nums: dict[str, Any] = {"bins": int(z - a + 1), "fraction_of_run": (z - a + 1) / ctx.nb}
    parts = []
    metrics = []
    if use_probs:
        dx, dg = float(np.nanmedian(bx[a : z + 1])), float(np.nanmedian(bg[a : z + 1]))
        nums.update(D_x=dx, D_G_z=dg)
        parts.append(f"D(x) {_fmt(dx)} and D(G(z)) {_fmt(dg)}")
        metrics += [ctx.column("D_x"), ctx.column("D_G_z")]
    if ctx.has("D_loss"):
        bd = ctx.bins("D_loss")["med"].to_numpy()
        dl = float(np.nanmedian(bd[a : z + 1]))
        nums["D_loss"] = dl
        parts.append(
            f"D loss {_fmt(dl)}"
            + (f" (equilibrium {_fmt(eq.d_loss)})" if eq and eq.d_loss is not None else "")
        )
        metrics.append(ctx.column("D_loss"))
    if ctx.has("G_loss"):
        bgl = ctx.bins("G_loss")["med"].to_numpy()
        before = bgl[:a] if a >= 1 else bgl[:1]
        g_before = ctx.baseline(before) if before.size else float("nan")
        g_in = float(np.nanmedian(bgl[a : z + 1]))
        nums.update(G_loss_before=g_before, G_loss_during=g_in)
        trend = "rose" if g_in > g_before else "fell"
        parts.append(f"G loss {trend} from {_fmt(g_before)} to {_fmt(g_in)}")
        metrics.append(ctx.column("G_loss"))
    if ctx.has("G_grad_norm"):
        bgg = ctx.bins("G_grad_norm")["med"].to_numpy()
        early = ctx.baseline(bgg)
        during = float(np.nanmedian(bgg[a : z + 1]))
        if np.isfinite(early) and early > 0:
            nums.update(
                G_grad_norm_early=early,
                G_grad_norm_during=during,
                G_grad_shrink=early / max(during, 1e-30),
            )
            parts.append(
                f"G gradient norm {_fmt(early)} -> {_fmt(during)} ({_fmt(early / max(during, 1e-30))}x smaller)"
            )
        metrics.append(ctx.column("G_grad_norm"))
    span = f"from step {int(b0)}" + (" to the end" if ongoing else f" to {int(b1)}")
    msg = f"D wins {span} ({_pct(nums['fraction_of_run'])} of the run): " + "; ".join(parts) + "."
    ckpt = _checkpoint_before(ctx.run, int(b0))
    action = "Weaken D or strengthen G: lower D's learning rate (or raise G's, TTUR), fewer D steps per G step, one-sided label smoothing or instance noise, and the non-saturating G loss -log D(G(z))"
    action += (
        f"; resume from the checkpoint at step {ckpt}."
        if ckpt is not None and ckpt > int(ctx.steps[0])
        else "; it started before the first checkpoint, so restart with these changes."
    )
    return [
        Finding(
            "d_overpowering",
            "error" if ongoing else "warning",
            "Discriminator overpowers the generator",
            msg,
            action,
            int(b0),
            int(b1),
            nums,
            metrics,
        )
    ]


@rule("g_overpowering", needs=("D_G_z_prob",))
def g_overpowering(ctx: _Ctx) -> list[Finding]:
    """G fools D: D(G(z)) sustained above 0.5 (D loss rising)."""
    th = ctx.th
    bg = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))["med"].to_numpy()
    pick = _pick(bg > th["g_over_dgz_min"], ctx.need_bins(), _last_bin(bg))
    if not pick:
        return []
    a, z, ongoing = pick
    b0, b1 = ctx.bin_start[a], ctx.bin_end[z]
    dg = float(np.nanmedian(bg[a : z + 1]))
    nums: dict[str, Any] = {"D_G_z": dg, "fraction_of_run": (z - a + 1) / ctx.nb}
    parts = [f"D(G(z)) {_fmt(dg)}"]
    metrics = [ctx.column("D_G_z")]
    if ctx.has("D_x_prob"):
        dx = float(np.nanmedian(ctx.bins("D_x_prob", ctx.prob("D_x"))["med"].to_numpy()[a : z + 1]))
        nums["D_x"] = dx
        parts.append(f"D(x) {_fmt(dx)}")
        metrics.append(ctx.column("D_x"))
    if ctx.has("D_loss"):
        bd = ctx.bins("D_loss")["med"].to_numpy()
        early, during = ctx.baseline(bd), float(np.nanmedian(bd[a : z + 1]))
        nums.update(D_loss_early=early, D_loss_during=during)
        parts.append(
            f"D loss {'rose' if during > early else 'went'} from {_fmt(early)} to {_fmt(during)}"
        )
        metrics.append(ctx.column("D_loss"))
    msg = (
        f"D rates fakes as real from step {int(b0)}"
        + (" to the end" if ongoing else f" to {int(b1)}")
        + f" ({_pct(nums['fraction_of_run'])} of the run): "
        + "; ".join(parts)
        + "."
    )
    return [
        Finding(
            "g_overpowering",
            "warning",
            "Generator fools the discriminator",
            msg,
            "Strengthen D: raise its learning rate or take more D steps per G step, check that D is not crippled (dropout, too small, wrong labels), and look at the samples: G may be exploiting a D blind spot (mode collapse).",
            int(b0),
            int(b1),
            nums,
            metrics,
        )
    ]


def _checkpoint_before(run: Run, step: int) -> int | None:
    c = [ck.step for ck in run.checkpoints if ck.step <= step]
    return max(c) if c else None


def _checkpoint_name(run: Run, step: int) -> str | None:
    """The file name of the checkpoint saved at `step` (from run.checkpoints or the sample metrics' snapshot column)."""
    for ck in run.checkpoints:
        if ck.step == step:
            return Path(ck.path).name
    sm = run.sample_metrics
    for col in ("snapshot", "snapshot_pkl", "checkpoint"):
        if len(sm) and col in sm.columns and "step" in sm.columns:
            hit = sm.loc[sm["step"] == step, col].dropna()
            if len(hit):
                return Path(str(hit.iloc[-1])).name
    return None


@rule("mode_collapse", needs=[("samples",), ("G_loss", "D_G_z_prob"), ("sample_metric",)])
def mode_collapse(ctx: _Ctx) -> list[Finding]:
    """Mode collapse: fixed-noise samples lose their diversity; G loss drops while D(G(z)) oscillates; FID jumps."""
    out: list[Finding] = []
    if _available(ctx, "samples"):
        out += _collapse_from_samples(ctx)
    if ctx.has("G_loss") and ctx.has("D_G_z_prob"):
        out += _collapse_from_metrics(ctx)
    sm = _sample_metric(ctx)
    if len(sm) >= 2 and not higher_is_better(ctx.select_metric):
        out += _fid_jumps(ctx, sm)
    return out


def _collapse_from_samples(ctx: _Ctx) -> list[Finding]:
    from .diversity import real_diversity, sample_diversity

    th = ctx.th
    div = sample_diversity(ctx.run)
    ctx.diversity = div
    if len(div) < 2:
        return []
    real = real_diversity(ctx.run, side=int(div["side"].iloc[0]))
    steps = div["step"].to_numpy()
    d = div["diversity"].to_numpy()
    # The first grid (often the untrained G at step 0) never counts as collapsed, and with
    # 4+ grids it is not a reference either (an untrained G's noise can look very diverse).
    first_ref = 1 if len(d) >= 4 else 0
    ref_d = np.where(np.arange(len(d)) >= first_ref, d, np.nan)
    prev_peak = np.r_[np.nan, np.fmax.accumulate(np.nan_to_num(ref_d, nan=-np.inf))[:-1]]
    prev_peak[~np.isfinite(prev_peak)] = np.nan
    dup = div["near_duplicates"].to_numpy()
    fell = d < th["collapse_ratio"] * prev_peak  # (a) diversity fell far below its earlier peak
    dups = dup >= th["collapse_dup_frac"]  # (b) many samples are near-copies of each other
    # (c) the run ends far below real data's diversity and is not still climbing (a G
    # that is still learning sets a new diversity peak with its last grid)
    low_real = np.zeros(len(d), dtype=bool)
    if real is not None:
        below = d < th["collapse_real_ratio"] * real
        still_rising = len(d) >= 2 and d[-1] >= np.nanmax(d[:-1])
        if below[-1] and not still_rising:
            k = len(d) - 1
            while k - 1 >= 1 and below[k - 1]:
                k -= 1
            low_real[k:] = True
    collapsed = fell | dups | low_real
    collapsed[0] = False
    if not collapsed.any():
        return []
    idx = np.flatnonzero(collapsed)
    ongoing = bool(collapsed[-1])
    i0, i1 = int(idx[0]), int(idx[-1])
    f0 = int(np.flatnonzero(fell)[0]) if fell[1:].any() else i0
    peak_i = int(np.nanargmax(ref_d[:f0])) if np.isfinite(ref_d[:f0]).any() else 0
    nums: dict[str, Any] = {
        "diversity_first_collapsed": float(d[i0]),
        "diversity_last": float(d[-1]),
        "earlier_peak": float(d[peak_i]),
        "earlier_peak_step": int(steps[peak_i]),
        "near_duplicate_pairs_last": float(dup[-1]),
        "grids": int(len(d)),
        "collapsed_grids": int(collapsed.sum()),
        "criteria": [
            c
            for c, m in (
                ("fell_below_earlier_peak", fell),
                ("near_duplicates", dups),
                ("far_below_real_data", low_real),
            )
            if m[1:].any()
        ],
    }
    why = []
    if fell[1:].any():
        why.append(
            f"below {_pct(th['collapse_ratio'])} of its earlier peak {_fmt(d[peak_i])} (step {int(steps[peak_i])})"
        )
    if dups[1:].any():
        why.append(f"up to {_pct(float(np.nanmax(dup[1:])))} near-duplicate sample pairs")
    if real is not None:
        nums["real_diversity"] = real
        nums["last_vs_real"] = float(d[-1] / real)
        if low_real.any():
            why.append(f"ends at {_pct(d[-1] / real)} of the real data's diversity {_fmt(real)}")
    msg = (
        f"Fixed-noise sample diversity (mean pairwise RMS distance) {_fmt(d[i0])} at step {int(steps[i0])}, last {_fmt(d[-1])} at step {int(steps[-1])}: "
        + "; ".join(why)
        + f"; {int(collapsed.sum())} of {len(d)} grids affected."
    )
    best_i = int(np.nanargmax(ref_d)) if np.isfinite(ref_d).any() else 0
    keep = _checkpoint_before(ctx.run, int(steps[best_i])) if ctx.run.checkpoints else None
    action = "G draws few distinct samples: lower G's learning rate or G steps per D step, add minibatch discrimination / minibatch-std, use a loss less prone to collapse (WGAN-GP, hinge with spectral norm) or unrolled D"
    action += f"; the most diverse checkpoint is at step {keep}." if keep is not None else "."
    title = (
        "Mode collapse (samples lost their diversity)"
        if (fell[1:].any() or dups[1:].any())
        else "Mode collapse (samples far less diverse than the real data)"
    )
    return [
        Finding(
            "mode_collapse",
            "error" if ongoing else "warning",
            title,
            msg,
            action,
            int(steps[i0]),
            int(steps[-1]) if ongoing else int(steps[i1]),
            nums,
            ["samples"],
        )
    ]


def _collapse_from_metrics(ctx: _Ctx) -> list[Finding]:
    th = ctx.th
    gl = ctx.bins("G_loss")["med"].to_numpy()
    dgb = ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))
    disp = dgb["disp"].to_numpy()
    if ctx.nb < 8:
        return []
    dG = np.diff(gl)
    ok = np.isfinite(dG)
    if ok.sum() < 5:
        return []
    c = np.median(dG[ok])
    mad = 1.4826 * np.median(np.abs(dG[ok] - c))
    if not mad > 0:
        return []
    z = (dG - c) / mad
    dmed = np.nanmedian(disp)
    if not (np.isfinite(dmed) and dmed > 0):
        return []
    osc = (disp > th["collapse_dgz_osc"] * dmed) & (disp >= th["collapse_dgz_min_disp"])
    osc_near = osc[1:] | osc[:-1]  # oscillation in either bin of the drop
    g_eq = ctx.eq.g_loss if ctx.eq else None
    scale = abs(g_eq) if g_eq else float(np.nanmedian(np.abs(gl)))
    hit = (
        (z < -th["collapse_g_drop_z"]) & (-dG >= th["collapse_g_drop_min_frac"] * scale) & osc_near
    )
    warm = max(1, int(math.ceil(th["warmup_fraction"] * ctx.nb)))
    hit[: max(0, warm - 1)] = False
    if not hit.any():
        return []
    idx = np.flatnonzero(hit) + 1  # bin after the drop
    i0, i1 = int(idx[0]), int(idx[-1])
    drop = float(-np.nanmin(dG[hit]))
    msg = f"G loss dropped sharply ({len(idx)} drop(s), largest {_fmt(drop)} between bins, robust z {_fmt(float(np.nanmin(z[hit])))}) while D(G(z))'s dispersion was {_fmt(float(np.nanmax(disp[idx])))} ({_fmt(float(np.nanmax(disp[idx]) / dmed))}x its median), from step {int(ctx.bin_start[i0])} to {int(ctx.bin_end[i1])}."
    return [
        Finding(
            "mode_collapse",
            "warning",
            "Possible mode collapse (G loss drops while D(G(z)) oscillates)",
            msg,
            "Look at the fixed-noise samples around these steps; if they look alike, lower G's learning rate or add minibatch-std / minibatch discrimination.",
            int(ctx.bin_start[i0]),
            int(ctx.bin_end[i1]),
            {
                "drops": int(len(idx)),
                "largest_drop": drop,
                "dgz_dispersion_ratio": float(np.nanmax(disp[idx]) / dmed),
            },
            [ctx.column("G_loss"), ctx.column("D_G_z")],
        )
    ]


def _sample_metric(ctx: _Ctx) -> pd.Series:
    """The selected sample metric (FID by default) per evaluated step, from run.sample_metrics or the scalars."""
    key = "__sample_metric"
    if key in ctx._series:
        return ctx._series[key]
    name = ctx.select_metric
    sm = ctx.run.sample_metrics
    out = pd.Series([], dtype="float64")
    if len(sm) and name in sm.columns and "step" in sm.columns:
        df = sm[["step", name] + (["features"] if "features" in sm.columns else [])].dropna(
            subset=[name]
        )
        if "features" in df.columns and df["features"].nunique() > 1:
            feats = df["features"].astype(str)
            pick = "inception" if (feats == "inception").any() else feats.iloc[0]
            df = df[feats == pick]
        df = df.drop_duplicates("step", keep="last").sort_values("step")
        out = pd.Series(
            df[name].to_numpy(dtype=np.float64), index=df["step"].to_numpy(dtype=np.int64)
        )
    else:
        s = ctx.finite(name)
        if len(s):
            out = s
    out = out[np.isfinite(out.to_numpy())]
    ctx._series[key] = out
    return out


def _fid_jumps(ctx: _Ctx, sm: pd.Series) -> list[Finding]:
    th = ctx.th
    v = sm.to_numpy()
    st = sm.index.to_numpy()
    if len(v) < 3:
        return []
    ratio = v[1:] / np.maximum(v[:-1], 1e-12)
    best_before = np.fmin.accumulate(v)[:-1]
    hit = (ratio >= th["fid_jump_ratio"]) & (v[1:] > th["fid_jump_ratio"] * best_before)
    hit[0] = (
        hit[0] and len(v) > 3 and False
    )  # the second evaluation after an untrained first one is never a jump
    if not hit.any():
        return []
    i = int(np.flatnonzero(hit)[0]) + 1
    nm = (
        ctx.select_metric.upper()
        if ctx.select_metric.lower() in ("fid", "kid")
        else ctx.select_metric
    )
    recovered = v[-1] < th["fid_jump_ratio"] * best_before[i - 1]
    msg = (
        f"{nm} jumped from {_fmt(v[i - 1])} (step {int(st[i - 1])}) to {_fmt(v[i])} (step {int(st[i])}), {_fmt(v[i] / v[i - 1])}x"
        + (
            f"; it recovered to {_fmt(v[-1])} by step {int(st[-1])}."
            if recovered
            else f"; last {_fmt(v[-1])} at step {int(st[-1])}."
        )
    )
    return [
        Finding(
            "mode_collapse",
            "warning",
            f"{nm} jumped up (samples degraded)",
            msg,
            f"Check the samples at step {int(st[i])} for collapse; keep the checkpoint at step {int(st[i - 1])} or earlier.",
            int(st[i - 1]),
            int(st[i]),
            {
                "before": float(v[i - 1]),
                "after": float(v[i]),
                "ratio": float(v[i] / v[i - 1]),
                "recovered": bool(recovered),
            },
            [ctx.select_metric],
        )
    ]


@rule("vanishing_gradients", needs=[("G_grad_norm",), ("D_grad_norm",)])
def vanishing_gradients(ctx: _Ctx) -> list[Finding]:
    """Gradient norms fall to a tiny fraction of their early value and stay there."""
    th = ctx.th
    out = []
    for name, who in (("G_grad_norm", "G"), ("D_grad_norm", "D")):
        if not ctx.has(name):
            continue
        b = ctx.bins(name)
        med = b["med"].to_numpy()
        base = ctx.baseline(med)
        if not (np.isfinite(base) and base > 0):
            continue
        mask = (med < th["vanish_ratio"] * base) | (med < th["vanish_abs"])
        pick = _pick(mask, ctx.need_bins(), _last_bin(med))
        if not pick:
            continue
        a, z, ongoing = pick
        during = float(np.nanmedian(med[a : z + 1]))
        why = (
            "D rejects every fake and the saturating/non-saturating loss gives G no signal"
            if who == "G"
            else "D stopped learning"
        )
        out.append(
            Finding(
                "vanishing_gradients",
                "warning",
                f"{who}'s gradients vanished",
                f"{ctx.label(name)} median {_fmt(during)} from step {int(b['start'][a])}"
                + (" to the end" if ongoing else f" to {int(b['end'][z])}")
                + f", {_fmt(base / max(during, 1e-30))}x below its early value {_fmt(base)}.",
                f"Likely {why}: use the non-saturating G loss, weaken D (lower LR, label smoothing, noise), or normalise (spectral norm) / add residual connections.",
                int(b["start"][a]),
                int(b["end"][z]),
                {
                    "early_median": base,
                    "median_during": during,
                    "shrink": base / max(during, 1e-30),
                },
                [ctx.column(name)],
            )
        )
    return out


@rule("oscillation", needs=[("G_loss",), ("D_loss",)])
def oscillation(ctx: _Ctx) -> list[Finding]:
    """A loss swings far more than its own usual noise (robust z of its rolling dispersion)."""
    th = ctx.th
    out = []
    warm = max(1, int(math.ceil(th["warmup_fraction"] * ctx.nb)))
    for name in ("D_loss", "G_loss"):
        if not ctx.has(name):
            continue
        disp = ctx.bins(name)["disp"].to_numpy()
        ok = np.isfinite(disp) & (disp > 0)
        if ok.sum() < 8:
            continue
        ld = np.where(ok, np.log(np.where(ok, disp, 1.0)), np.nan)
        c, mad = _robust_center(ld[warm:])
        mad = max(mad, 0.05)  # a perfectly regular series must not make every wiggle infinite z
        z = (ld - c) / mad
        base = float(np.exp(c))
        ref = (
            ctx.eq.d_loss if (ctx.eq and name == "D_loss") else (ctx.eq.g_loss if ctx.eq else None)
        )
        scale = abs(ref) if ref else float(np.nanmedian(np.abs(ctx.bins(name)["med"].to_numpy())))
        floor = (
            th["osc_min_frac"] * scale
        )  # swings of 1e-6 around a loss of 1e-9 are numerical noise
        mask = (z > th["osc_z"]) & (disp > th["osc_ratio"] * base) & (disp > floor)
        mask[:warm] = False
        pick = _pick(mask, th["sustain_min_bins"], _last_bin(disp))
        if not pick:
            continue
        a, zb, ongoing = pick
        peak = float(np.nanmax(disp[a : zb + 1]))
        out.append(
            Finding(
                "oscillation",
                "warning",
                f"{ctx.label(name)} oscillates",
                f"{ctx.label(name)} step-to-step dispersion up to {_fmt(peak)} ({_fmt(peak / base)}x its usual {_fmt(base)}, robust z {_fmt(float(np.nanmax(z[a : zb + 1])))}) from step {int(ctx.bin_start[a])}"
                + (" to the end" if ongoing else f" to {int(ctx.bin_end[zb])}")
                + ".",
                "Lower the learning rates (or Adam beta1 to 0.5/0.0), balance D and G steps, or add a gradient penalty; check the samples for mode hopping.",
                int(ctx.bin_start[a]),
                int(ctx.bin_end[zb]),
                {
                    "peak_dispersion": peak,
                    "usual_dispersion": base,
                    "ratio": peak / base,
                    "max_z": float(np.nanmax(z[a : zb + 1])),
                },
                [ctx.column(name)],
            )
        )
    return out


@rule("over_training", needs=("sample_metric",))
def over_training(ctx: _Ctx) -> list[Finding]:
    """The best checkpoint by FID (or the selected metric) is earlier than the last, which is worse by a margin."""
    th = ctx.th
    sm = _sample_metric(ctx)
    v = sm.to_numpy()
    st = sm.index.to_numpy()
    lower = not higher_is_better(ctx.select_metric)
    i_best = int(np.argmin(v) if lower else np.argmax(v))
    best, last = float(v[i_best]), float(v[-1])
    worse = (last - best) / abs(best) if lower else (best - last) / abs(best)
    if best == 0:
        worse = float("inf") if last != best else 0.0
    nm = (
        ctx.select_metric.upper()
        if ctx.select_metric.lower() in ("fid", "kid")
        else ctx.select_metric
    )
    bstep = int(st[i_best])
    cname = _checkpoint_name(ctx.run, bstep)
    ck = f"checkpoint {cname} (step {bstep})" if cname else f"the checkpoint at step {bstep}"
    nums = {
        "metric": ctx.select_metric,
        "best_step": bstep,
        "best_value": best,
        "last_step": int(st[-1]),
        "last_value": last,
        "last_worse_by": worse,
        "margin": th["overtrain_margin"],
        "evaluations": int(len(v)),
        "checkpoint": cname,
    }
    later = v[i_best + 1 :]
    rel = (later - best) / abs(best) if lower else (best - later) / abs(best)
    n_worse = int((rel > th["overtrain_margin"]).sum()) if best != 0 else int((later != best).sum())
    nums["later_worse"] = n_worse
    if (
        i_best < len(v) - 1
        and worse > th["overtrain_margin"]
        and n_worse >= th["overtrain_min_later"]
    ):
        msg = f"Best {nm} {_fmt(best)} at step {bstep}; {n_worse} of the {len(v) - 1 - i_best} later evaluation(s) are worse by more than the margin, the last ({_fmt(last)} at step {int(st[-1])}) by {_pct(worse)} (margin {_pct(th['overtrain_margin'])})."
        return [
            Finding(
                "over_training",
                "warning",
                "Over-training: the best checkpoint is not the last",
                msg,
                f"Keep {ck}; stop training at about step {bstep} (or early-stop on {nm}).",
                bstep,
                int(st[-1]),
                nums,
                [ctx.select_metric],
            )
        ]
    if i_best == len(v) - 1:
        where = "the last evaluation"
    elif worse > th["overtrain_margin"]:
        where = f"only {n_worse} later evaluation(s) worse by more than {_pct(th['overtrain_margin'])} (the last: {_fmt(last)}, {_pct(worse)} worse), fewer than the {th['overtrain_min_later']} that would show a trend"
    else:
        where = f"the last is within {_pct(th['overtrain_margin'])} ({_fmt(last)}, {_pct(max(worse, 0))} worse)"
    msg = f"Best {nm} {_fmt(best)} at step {bstep} of {len(v)} evaluations; {where}: no over-training."
    return [
        Finding(
            "over_training",
            "info",
            f"Best checkpoint: step {bstep} ({nm} {_fmt(best)})",
            msg,
            f"Keep {ck}."
            + ("" if i_best == len(v) - 1 else " Training longer is unlikely to help much."),
            bstep,
            bstep,
            nums,
            [ctx.select_metric],
        )
    ]


@rule(
    "healthy_equilibrium",
    needs=[("D_x_prob", "D_G_z_prob"), ("D_loss", "G_loss")],
    applies=_needs_probs_or_equilibrium,
)
def healthy_equilibrium(ctx: _Ctx) -> list[Finding]:
    """D(x) and D(G(z)) near 0.5 and the losses near their equilibrium values at the end of the run."""
    th = ctx.th
    eq = ctx.eq
    checks = []
    nums: dict[str, Any] = {}
    metrics = []
    if ctx.has("D_x_prob") and ctx.has("D_G_z_prob"):
        dx = ctx.tail(ctx.bins("D_x_prob", ctx.prob("D_x"))["med"].to_numpy())
        dg = ctx.tail(ctx.bins("D_G_z_prob", ctx.prob("D_G_z"))["med"].to_numpy())
        nums.update(D_x=dx, D_G_z=dg)
        checks.append(abs(dx - 0.5) <= th["eq_prob_tol"] and abs(dg - 0.5) <= th["eq_prob_tol"])
        metrics += [ctx.column("D_x"), ctx.column("D_G_z")]
    if eq is not None and eq.d_loss is not None:
        for name, ref in (("D_loss", eq.d_loss), ("G_loss", eq.g_loss)):
            if ctx.has(name) and ref is not None:
                val = ctx.tail(ctx.bins(name)["med"].to_numpy())
                nums[name] = val
                nums[name + "_equilibrium"] = ref
                f = th["eq_loss_factor"]
                checks.append(
                    ref / f <= val <= ref * f
                    if ref > 0
                    else abs(val - ref) <= (f - 1) * max(abs(ref), 0.5)
                )
                metrics.append(ctx.column(name))
    if not checks or not all(checks):
        return []
    parts = []
    if "D_x" in nums:
        parts.append(
            f"D(x) {_fmt(nums['D_x'])}, D(G(z)) {_fmt(nums['D_G_z'])} (0.5 +- {th['eq_prob_tol']})"
        )
    for name in ("D_loss", "G_loss"):
        if name in nums:
            parts.append(
                f"{ctx.label(name)} {_fmt(nums[name])} (equilibrium {_fmt(nums[name + '_equilibrium'])})"
            )
    k0 = ctx.nb - max(1, int(math.ceil(th["tail_fraction"] * ctx.nb)))
    return [
        Finding(
            "healthy_equilibrium",
            "info",
            "Healthy equilibrium",
            f"Over the last {_pct(th['tail_fraction'])} of the run: " + "; ".join(parts) + ".",
            "Nothing to fix; pick the checkpoint with the best sample metric.",
            int(ctx.bin_start[k0]),
            int(ctx.bin_end[-1]),
            nums,
            metrics,
        )
    ]


@rule("implausible_values", needs=())
def implausible_values(ctx: _Ctx) -> list[Finding]:
    """Values the loaders flagged as impossible (FID < 0, probability > 1, ...)."""
    nf = ctx.run.nonfinite
    nf_metrics = set(nf["metric"].astype(str)) if len(nf) else set()
    # NaN/Inf flags of metrics listed in run.nonfinite are the divergence rule's business
    flags = [
        f
        for f in ctx.run.flags
        if not (
            f.metric in nf_metrics
            and (
                not math.isfinite(f.value)
                or re.search(r"\bnan\b|\binf\b|infinite|non-finite", f.reason, re.I)
            )
        )
    ]
    if not flags:
        return []
    steps = [f.step for f in flags if f.step is not None]
    shown = "; ".join(str(f) for f in flags[:3]) + (
        f"; and {len(flags) - 3} more" if len(flags) > 3 else ""
    )
    per: dict[str, int] = {}
    for f in flags:
        per[f.metric] = per.get(f.metric, 0) + 1
    return [
        Finding(
            "implausible_values",
            "warning",
            "Implausible values in the logs",
            f"{len(flags)} value(s) cannot be right: {shown}.",
            "Check how these metrics are computed and logged (units, wrong column, a bug in the metric); the rules treat them as ordinary numbers.",
            min(steps) if steps else None,
            max(steps) if steps else None,
            {"count": len(flags), "per_metric": per},
            sorted(per),
        )
    ]


# --------------------------------------------------------------------------- diagnose
_PRIORITY = [
    "healthy_equilibrium",
    "no_problems",
    "no_data",
    "divergence",
    "d_overpowering",
    "mode_collapse",
    "g_overpowering",
    "vanishing_gradients",
    "over_training",
    "oscillation",
    "implausible_values",
]


def diagnose(
    run: Run, thresholds: dict[str, Any] | None = None, select_metric: str = "fid"
) -> Diagnosis:
    """Run every rule in RULES on `run`; the findings, the skipped rules and a one-sentence verdict.

    thresholds: a full table (load_thresholds) or a partial dict of overrides;
    select_metric: the sample metric over_training and the FID-jump check use.
    """
    th = validate_thresholds(thresholds or {}, "thresholds")
    views = gan_views(run)
    findings: list[Finding] = []
    reasons: dict[str, str] = {}  # rule -> why it was skipped (in every view)
    ran_rules: set[str] = set()
    seen: set[tuple[str, str, str]] = set()
    ctxs: list[_Ctx] = []
    for view in views:
        ctx = _Ctx(run, th, select_metric, view if view.columns else None)
        ctx.eq = equilibrium(run, th, ctx)
        ctxs.append(ctx)
        mapped = {_src_name(c) for c in view.columns.values()}
        for fn in RULES:
            name = fn.rule_name  # type: ignore[attr-defined]
            reason = _missing_reason(ctx, fn.needs) if fn.needs and fn.needs != [()] else None  # type: ignore[attr-defined]
            if reason is None and fn.applies is not None:  # type: ignore[attr-defined]
                reason = fn.applies(ctx)  # type: ignore[attr-defined]
            if reason:
                reasons.setdefault(name, reason)
                continue
            ran_rules.add(name)
            for f in fn(ctx):
                if view.tag and mapped & set(f.metrics):
                    f.title = f"GAN {view.tag}: {f.title}"  # a finding about this GAN's losses
                key = (f.rule, f.title, f.message)
                if (
                    key not in seen
                ):  # rules that do not read the view's losses say the same for every GAN
                    seen.add(key)
                    findings.append(f)
    ctx = ctxs[0]
    ran = len(ran_rules)
    skipped = [
        (fn.rule_name, reasons[fn.rule_name])
        for fn in RULES
        if fn.rule_name in reasons and fn.rule_name not in ran_rules
    ]  # type: ignore[attr-defined]
    if len(views) > 1 and sum(f.rule == "healthy_equilibrium" for f in findings) < len(views):
        findings = [
            f for f in findings if f.rule != "healthy_equilibrium"
        ]  # healthy only if every GAN is
    if any(f.severity == "error" for f in findings):  # "healthy" next to an error would mislead
        findings = [f for f in findings if f.rule != "healthy_equilibrium"]
    problems = [f for f in findings if f.severity != "info"]
    # "healthy" needs at least one rule that looks at the training dynamics, not just NaN/flag checks
    substantive = ran - sum(
        1
        for fn in RULES
        if fn.rule_name in ("divergence", "implausible_values")
        and fn.rule_name not in dict(skipped)
    )  # type: ignore[attr-defined]
    if not problems and not any(f.rule == "healthy_equilibrium" for f in findings):
        if substantive > 0:
            msg = f"{ran} rule(s) ran on this run and none found a problem" + (
                f"; {len(skipped)} skipped for lack of data." if skipped else "."
            )
            findings.append(
                Finding(
                    "no_problems",
                    "info",
                    "No problems found",
                    msg,
                    "Nothing to fix.",
                    int(ctx.steps[0]) if len(ctx.steps) else None,
                    int(ctx.steps[-1]) if len(ctx.steps) else None,
                    {"rules_ran": ran, "rules_skipped": len(skipped)},
                    [],
                )
            )
        else:
            what = (
                "the run has no logged metrics"
                if not len(ctx.steps)
                else "no rule beyond the NaN/Inf and plausibility checks had the metrics it needs"
            )
            findings.append(
                Finding(
                    "no_data",
                    "info",
                    "Not enough data to judge",
                    f"No verdict: {what}; {len(skipped)} rule(s) skipped.",
                    "Log G_loss, D_loss and D's outputs (D_x, D_G_z) or sample grids; see docs/rules.md for what each rule needs.",
                    None,
                    None,
                    {"rules_ran": ran, "rules_skipped": len(skipped)},
                    [],
                )
            )
    rank = {n: i for i, n in enumerate(_PRIORITY)}
    findings.sort(
        key=lambda f: (
            -SEVERITY_RANK[f.severity],
            rank.get(f.rule, len(rank)),
            f.start_step if f.start_step is not None else -1,
        )
    )
    context: dict[str, Any] = {
        "equilibrium": ctx.eq.to_dict(),
        "bins": ctx.nb,
        "select_metric": select_metric,
    }
    if views[0].columns:
        context["gans"] = [
            dict(v.to_dict(), equilibrium=c.eq.to_dict()) for v, c in zip(views, ctxs, strict=True)
        ]
    return Diagnosis(run.name, _verdict(findings, ran, skipped), findings, skipped, th, context)


def _verdict(findings: list[Finding], ran: int, skipped: list[tuple[str, str]]) -> str:
    problems = [f for f in findings if f.severity != "info"]
    if not problems:
        h = next((f for f in findings if f.rule == "healthy_equilibrium"), None)
        if h is not None:
            n = h.numbers
            bits = []
            if "D_x" in n:
                bits.append(f"D(x) {_fmt(n['D_x'], 2)}, D(G(z)) {_fmt(n['D_G_z'], 2)}")
            if "D_loss" in n:
                bits.append(f"D loss {_fmt(n['D_loss'], 3)}")
            return "Healthy: no problems found" + (
                f", {'; '.join(bits)} near equilibrium at the end." if bits else "."
            )
        nd = next((f for f in findings if f.rule == "no_data"), None)
        if nd is not None:
            return nd.message.split(";")[0] + "."
        return f"Healthy: no problems found by the {ran} rule(s) that had data" + (
            f" ({len(skipped)} skipped)." if skipped else "."
        )
    main = problems[0]
    where = ""
    if main.start_step is not None:
        where = (
            f" from step {main.start_step}"
            if main.end_step is None or main.end_step != main.start_step
            else f" at step {main.start_step}"
        )
    others: list[str] = []
    seen_rules = {main.rule}
    for f in problems[1:]:
        if f.rule in seen_rules and f.rule != "vanishing_gradients":
            continue  # one mention per rule ("mode collapse", not also "possible mode collapse")
        seen_rules.add(f.rule)
        t = f.title.split(" (")[0]
        t = t.lower() if t[:1].isupper() and not t[:2].isupper() else t
        if t not in others:
            others.append(t)
    also = (
        f"; also {', '.join(others[:3])}"
        + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        if others
        else ""
    )
    return f"{main.title.split(' (')[0]}{where} ({main.severity}){also}."


def format_text(diag: Diagnosis, color: bool = False) -> str:
    """The diagnosis as plain terminal text: verdict, one block per finding, skipped rules."""
    import click

    styles = {"error": "red", "warning": "yellow", "info": "green"}
    lines = [f"run:      {diag.run_name}"]
    eq = diag.context.get("equilibrium") if diag.context else None
    if eq:
        red = "summed" if eq["reduction"] == "sum" else "averaged"
        at = (
            f"equilibrium D loss {_fmt(eq['D_loss'])}"
            if eq["D_loss"] is not None
            else "no equilibrium value"
        )
        lines.append(f"loss:     {eq['loss']} (real and fake D terms {red}; {at})")
    for g in (diag.context or {}).get("gans", []):
        cols = ", ".join(f"{k} = {v}" for k, v in g["columns"].items())
        lines.append(f"{'GAN ' + g['tag'] + ':' if g['tag'] else 'read as:':<9} {cols}")
    lines.append(f"verdict:  {diag.verdict}")
    lines.append("")
    for f in diag.findings:
        sev = f.severity.upper()
        tag = click.style(f"{sev:<7}", fg=styles[f.severity], bold=True) if color else f"{sev:<7}"
        if f.start_step is None:
            span = ""
        elif f.end_step is None or f.end_step == f.start_step:
            span = f"  step {f.start_step}"
        else:
            span = f"  steps {f.start_step}-{f.end_step}"
        lines.append(f"{tag}  {f.rule}{span}: {f.title}")
        lines.append(f"         {f.message}")
        if f.action:
            lines.append(f"         -> {f.action}")
    if diag.skipped:
        lines.append("")
        lines.append("skipped:")
        for name, why in diag.skipped:
            lines.append(f"  {name}: {why}")
    return "\n".join(lines)
