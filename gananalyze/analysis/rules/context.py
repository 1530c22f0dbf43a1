"""What every rule reads: `RuleContext` (the run, thresholds, common bins, cached series)
and the binning helpers that find sustained stretches in per-bin summaries.

How the rules look at a curve: the run's logged steps are cut into at most `max_bins`
consecutive bins of equal row count (at least `min_bin_points` rows each), the same
bins for every metric, and each metric is summarised per bin (median, point-to-point
dispersion). Rules compare those bin summaries with thresholds and ask for a condition
to hold over consecutive bins covering `sustain_fraction` of the run ("sustained").
Everything is vectorised, so a 1,000,000-step run is diagnosed in well under two seconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ...naming.aliases import LABELS, config_hints
from ...naming.layouts import GanView, source_name
from ...run import Run
from ..evaluations import finite_series
from .batchsum import batch_summed


def view_series(run: Run, src: str | tuple[str, ...]) -> pd.Series:
    """A GAN view's column (`naming.layouts.GanView.columns`): one of the run's columns, or the
    sum of several at the steps where all were logged.
    """
    if isinstance(src, str):
        return run.series(src)
    parts = [run.series(c) for c in src]
    if any(not len(p) for p in parts):
        empty = pd.Index([], dtype="int64", name="step")
        return pd.Series([], dtype="float64", name=source_name(src), index=empty)
    j = pd.concat(parts, axis=1, join="inner")
    return j.sum(axis=1, skipna=False).rename(source_name(src))


LOGIT_FIT = 0.1  # a D loss within 10% of the bound its mean logits set is a BCE D's on logits
FLOOR_FIT = 0.8  # a D loss under this share of a convention's floor cannot be that convention


def joined(*series: pd.Series) -> tuple[np.ndarray, ...]:
    """The values of several step-indexed series at the steps all of them have, as float arrays
    with the rows where any is NaN dropped (`pd.concat(..., join="inner").dropna()`).

    Series whose steps strictly increase (the scalars of one run: the usual case) are joined
    with numpy, at no pandas cost per call; any other index goes through pandas' inner join.
    """
    idx = [s.index.to_numpy() for s in series]
    if all(i.dtype.kind in "iu" and (len(i) < 2 or bool(np.all(i[1:] > i[:-1]))) for i in idx):
        common = idx[0]
        for i in idx[1:]:
            common = np.intersect1d(common, i, assume_unique=True)
        vals = []
        for s, i in zip(series, idx, strict=True):
            v = s.to_numpy(dtype=np.float64)
            vals.append(v if len(i) == len(common) else v[np.searchsorted(i, common)])
    else:
        j = pd.concat([s.rename(k) for k, s in enumerate(series)], axis=1, join="inner")
        vals = [j[k].to_numpy(dtype=np.float64) for k in range(len(series))]
    ok = ~np.isnan(vals[0])
    for v in vals[1:]:
        ok &= ~np.isnan(v)
    return tuple(v if ok.all() else v[ok] for v in vals)


SUMMED_ROLES = ("D_loss", "G_loss")  # a view's D loss summed from its terms is divided too


def summed_discriminators(run: Run) -> tuple[int, str]:
    """(K, where it was said) when the logged adversarial losses add up K discriminators'
    losses (VITS's 6 sub-discriminators, pix2pixHD's num_D scales): a reader that knows its
    trainer sets `run.extra["summed_discriminators"]`; a config says it with the key
    `summed_discriminators`. (1, "") otherwise. The rules read those losses divided by K, so
    every equilibrium and the D(G(z)) a G loss implies are one discriminator's."""
    k = run.extra.get("summed_discriminators")
    if k is not None:
        return int(k), run.extra.get("summed_discriminators_assumed") or f"{run.format} log"
    hint = config_hints(run.config).get("summed_discriminators")
    if hint is not None:
        try:
            n = int(float(hint[0]))
        except ValueError:
            return 1, ""
        if 1 < n <= 64:
            return n, f"config {hint[1]}"
    return 1, ""


class RuleContext:
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
        self._bins: dict[str, dict[str, np.ndarray]] = {}
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
        self.eq: Any = None  # conventions.Equilibrium, set by the conventions step
        self.summed, self.summed_source = summed_discriminators(run)
        self.summed_over = "discriminators"  # or "batch": losses summed over the batch
        if self.summed == 1:
            self.summed, self.summed_source = batch_summed(run)
            self.summed_over = "batch" if self.summed > 1 else self.summed_over
        self.diversity: pd.DataFrame | None = None

    # -- raw series
    def raw(self, name: str) -> pd.Series:
        """A metric's logged points (Inf kept), or an empty series."""
        if name not in self._series:
            src = self.view.columns.get(name) if self.view else None
            s = self.run.series(name) if src is None else view_series(self.run, src)
            if self.summed > 1 and name in SUMMED_ROLES and len(s):
                s = s / self.summed  # one discriminator's share (summed_discriminators)
            self._series[name] = s
        return self._series[name]

    def finite(self, name: str) -> pd.Series:
        """A metric's finite logged points (read once per run: the rules ask many times)."""
        key = f"__finite_{name}"
        if key not in self._series:
            s = self.raw(name)
            v = s.to_numpy()
            self._series[key] = s if np.isfinite(v).all() else s[np.isfinite(v)]
        return self._series[key]

    def has(self, name: str) -> bool:
        if name == "D_x_prob":
            return len(self.prob("D_x")) >= self.th["min_points"]
        if name == "D_G_z_prob":
            return len(self.prob("D_G_z")) >= self.th["min_points"]
        return len(self.finite(name)) >= self.th["min_points"]

    def prob(self, which: str) -> pd.Series:
        """D's output as a probability: "D_x" or "D_G_z" (before the D update when logged, else
        after).

        From logged probabilities when they lie in [0, 1], else the sigmoid of
        logged logits (D_x_logit / D_G_z_logit), else empty.
        """
        if self.eq is not None and self.eq.loss in ("hinge", "wasserstein"):
            return pd.Series([], dtype="float64")  # raw scores, no probability to read
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
                    out = pd.Series(np.clip(v, 0.0, 1.0), index=s.index, name=s.name)
                    break
        if len(out) and self.outputs_are_logits():
            out = pd.Series([], dtype="float64")  # logits that happen to lie in [0, 1]
        if not len(out) and self.outputs_are_logits():
            s = self.finite(names[0]) if len(self.finite(names[0])) else self.finite(names[-1])
            z = np.clip(s.to_numpy(dtype=np.float64), -60, 60)
            out = pd.Series(1.0 / (1.0 + np.exp(-z)), index=s.index, name=s.name)
        if not len(out):
            s = self.finite(which + "_logit")
            if len(s):
                z = np.clip(s.to_numpy(dtype=np.float64), -60, 60)
                out = pd.Series(1.0 / (1.0 + np.exp(-z)), index=s.index, name=s.name)
        self._series[key] = out
        return out

    def outputs_are_logits(self) -> bool:
        """Whether D's logged outputs (D_x, D_G_z_before / _after) are BCE logits logged under
        a probability's name (`D/real_score`, `D/fake_score`: the mean of D's raw outputs).

        D's mean logits bound a BCE-with-logits D loss from below (Jensen: softplus is convex),
        softplus(-D(x)) + softplus(D(G(z))) with the terms summed, half of it averaged, and a
        D near chance (logits near 0) meets the bound closely. The outputs are read as logits
        when the run's loss is not declared LSGAN, hinge or Wasserstein, and the logged D
        loss's median is within LOGIT_FIT of either bound; when they also lie in [0, 1], as
        probabilities would, only when the bound is met so closely that probabilities could
        not give it: under BCE the D loss of such probabilities is -log D(x) - log(1 -
        D(G(z))) or more, and it lies under FLOOR_FIT of that (min_points rows joined)."""
        key = "__outputs_are_logits"
        if key in self._series:
            return bool(self._series[key])
        ans = False
        declared = str(self.run.loss or "").lower()
        dl, dx = self.raw("D_loss"), self.finite("D_x")
        dg = self.finite("D_G_z_before")
        dg = dg if len(dg) else self.finite("D_G_z_after")
        need = self.th["min_points"]
        if (
            declared not in ("lsgan", "hinge", "wasserstein")
            and min(len(dl), len(dx), len(dg)) >= need
        ):
            jl, jx, jg = joined(dl, dx, dg)
            fin = np.isfinite(jl) & np.isfinite(jx) & np.isfinite(jg)
            jl, jx, jg = jl[fin], jx[fin], jg[fin]
            if len(jl) >= need:
                floor = float(np.median(np.logaddexp(0, -jx) + np.logaddexp(0, jg)))
                logged = float(np.median(jl))
                fits = any(abs(logged - b) <= LOGIT_FIT * max(b, 0.05) for b in (floor, floor / 2))
                in_range = jx.min() >= 0 and jg.min() >= 0 and max(jx.max(), jg.max()) <= 1
                if fits and in_range:
                    px, pg = np.clip(jx, 1e-6, 1 - 1e-6), np.clip(jg, 1e-6, 1 - 1e-6)
                    bce = float(np.median((-np.log(px) - np.log(1 - pg)) / 2))
                    fits = logged < FLOOR_FIT * bce
                ans = fits
        self._series[key] = ans
        return ans

    def sample_metric(self) -> pd.Series:
        """The selected sample metric (FID by default) per evaluated step (analysis.evaluations)."""
        return self.sample_series(self.select_metric)

    def sample_series(self, metric: str) -> pd.Series:
        """`analysis.evaluations.finite_series` of `metric`, read once per run."""
        key = f"__sample_{metric}"
        if key not in self._series:
            self._series[key] = finite_series(self.run, metric)
        return self._series[key]

    def label(self, name: str) -> str:
        src = self.view.columns.get(name) if self.view else None
        per = f" / {self.summed}" if self.summed > 1 and name in SUMMED_ROLES else ""
        if src is not None:
            return f"{LABELS.get(name, name)} ({source_name(src)}{per})"
        if per:
            return f"{LABELS.get(name, name)} ({self.column(name)}{per})"
        return LABELS.get(name, name)

    def column(self, name: str) -> str:
        """The run's column name for a canonical metric (for Finding.metrics); "a+b" for a derived
        sum.
        """
        src = self.view.columns.get(name) if self.view else None
        if src is not None:
            return source_name(src)
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
    def bins(self, name: str, series: pd.Series | None = None) -> dict[str, np.ndarray]:
        """Per-bin summary of a metric on the run's common bins, one array per field: start,
        end (the bin's first and last step), med, disp (NaN where no points), n.

        Plain arrays, not a DataFrame: the rules read a field of these some fifty times a
        run, and a DataFrame's construction and column lookup cost more than the binning.
        """
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
            if not _bin_sorted(b, v, med, disp, cnt):
                _bin_pandas(b, v, med, disp, cnt)
        out = {"start": self.bin_start, "end": self.bin_end, "med": med, "disp": disp, "n": cnt}
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


WELFORD_MAX_ROWS = 256  # longer bins: pandas' grouped std is cheaper than the loop below


def _bin_sorted(
    b: np.ndarray, v: np.ndarray, med: np.ndarray, disp: np.ndarray, cnt: np.ndarray
) -> bool:
    """Fill med/disp/cnt with numpy when the bins come in order and every value is finite.

    Bit for bit what `_bin_pandas` gives: the median is the middle value (or the mean of
    the two middle ones) and the std of first differences runs Welford's update in row
    order, as pandas' grouped std does. False (nothing filled) when this does not apply.
    """
    n = len(b)
    if n > 1 and (np.any(b[1:] < b[:-1]) or not np.isfinite(v).all()):
        return False
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    size = np.diff(np.r_[starts, n])
    if size.max() > WELFORD_MAX_ROWS:
        return False
    ids = b[starts]
    k = np.repeat(np.arange(len(starts)), size)
    table = np.full((len(starts), int(size.max())), np.inf)  # one bin a row, sorted, inf after
    table[k, np.arange(n) - np.repeat(starts, size)] = v
    table.sort(axis=1)
    lo = table[np.arange(len(starts)), (size - 1) // 2]
    hi = table[np.arange(len(starts)), size // 2]
    med[ids] = (lo + hi) / 2
    cnt[ids] = size
    # point-to-point dispersion: first differences within a bin (size - 1 of them)
    dsize = size - 1
    has = dsize >= 2  # pandas: std of one difference is NaN, as is std of none
    if not has.any():
        return True
    d = np.diff(v)
    dstart = starts - np.arange(len(starts))  # where each bin's differences begin in `dd`
    dd = d[(b[1:] == b[:-1])]
    width = int(dsize.max())
    rows = np.zeros((width, len(starts)))  # row k: each bin's k-th difference
    col = np.repeat(np.arange(len(starts)), dsize)
    rows[np.arange(len(dd)) - np.repeat(dstart, dsize), col] = dd
    mean = np.zeros(len(starts))
    ssq = np.zeros(len(starts))
    for k in range(width):
        x = rows[k]
        new = mean + (x - mean) / (k + 1)
        step = (x - new) * (x - mean)
        act = dsize > k  # bins with fewer differences keep their values
        mean = np.where(act, new, mean)
        ssq = np.where(act, ssq + step, ssq)
    disp[ids[has]] = np.sqrt(ssq[has] / (dsize[has] - 1)) / math.sqrt(2.0)
    return True


def _bin_pandas(
    b: np.ndarray, v: np.ndarray, med: np.ndarray, disp: np.ndarray, cnt: np.ndarray
) -> None:
    """Fill med/disp/cnt with pandas' groupby (any order, NaN skipped)."""
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


def sustained_stretch(mask: np.ndarray, need: int, last_bin: int) -> tuple[int, int, bool] | None:
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


def last_bin_with_data(*meds: np.ndarray) -> int:
    ok = np.zeros(len(meds[0]), dtype=bool)
    for m in meds:
        ok |= np.isfinite(m)
    idx = np.flatnonzero(ok)
    return int(idx[-1]) if idx.size else -1


def robust_center(x: np.ndarray, clip: float = 2.0, rounds: int = 5) -> tuple[float, float]:
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
