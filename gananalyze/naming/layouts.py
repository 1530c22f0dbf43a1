"""How the rules read a run whose trainer names its losses differently: GAN views.

A view maps canonical names (D_loss, G_loss) to the run's columns, or to a sum of
columns (pix2pix's D_real + D_fake); a CycleGAN run has two views, one per GAN. The
run's columns are never renamed. `GAN_LAYOUTS` is plain data: add a trainer there. A
ComboGAN run (D_0, G_0, D_1, G_1, ...: one GAN per domain) has one view per domain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..run import Run
from .aliases import resolve
from .roles import SOURCE_KEY, run_roles


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
    # pytorch-CycleGAN-and-pix2pix CycleGAN: two GANs; D_A = 0.5 * (real + fake) term, G_A its G
    # loss
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
    # Real-ESRGAN / BasicSR: losses/l_d_real + losses/l_d_fake (D(x), D(G(z)) come from out_d_*
    # logits via the aliases)
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


# ComboGAN: one D and one G per domain, logged as D_0, G_0, D_1, G_1, ... (importers/cyclegan.py);
# its D step is CycleGAN's, so D_k = 0.5 (real + fake)
_DOMAIN_RE = re.compile(r"^D_(\d+)$")
_DOMAIN_NOTE = "ComboGAN: D_{0} = 0.5 (real + fake), G_{0} (domain {0})"


def _src_name(src: str | tuple[str, ...]) -> str:
    return src if isinstance(src, str) else "+".join(src)


def _view_series(run: Run, src: str | tuple[str, ...]) -> pd.Series:
    """A view column: one of the run's columns, or the sum of several at the steps where all were
    logged.
    """
    if isinstance(src, str):
        return run.series(src)
    parts = [run.series(c) for c in src]
    if any(not len(p) for p in parts):
        return pd.Series(
            [], dtype="float64", name=_src_name(src), index=pd.Index([], dtype="int64", name="step")
        )
    j = pd.concat(parts, axis=1, join="inner")
    return j.sum(axis=1, skipna=False).rename(_src_name(src))


def _layout(columns) -> list[GanView] | None:
    """The views of the first GAN_LAYOUTS entry whose columns are all present, when no column
    is a D loss by exact name or alias (then the run is read as is)."""
    cols = set(columns)
    if resolve("D_loss", cols) is not None:
        return None
    for need, views in GAN_LAYOUTS:
        if all(c in cols for c in need):
            return views
    domains = sorted(
        int(m.group(1)) for c in cols if (m := _DOMAIN_RE.match(c)) and f"G_{m.group(1)}" in cols
    )
    if len(domains) >= 2:
        return [
            GanView(
                str(k), {"D_loss": f"D_{k}", "G_loss": f"G_{k}"}, "mean", _DOMAIN_NOTE.format(k)
            )
            for k in domains
        ]
    return None


def layout_columns(columns) -> set[str]:
    """The columns a matching trainer layout reads as loss terms (roles leave them alone:
    pix2pix's D_real is a D loss term, not D(x))."""
    views = _layout(columns) or []
    out: set[str] = set()
    for v in views:
        for src in v.columns.values():
            out.update([src] if isinstance(src, str) else src)
    return out


def gan_views(run: Run) -> list[GanView]:
    """The GAN(s) the rules judge in `run`: one plain view normally, or those of a matching
    GAN_LAYOUTS entry.

    A run that has a D loss under a canonical name or alias is read as is; so is one whose
    columns the roles (`roles.run_roles`: words, --map, the map file) resolve. A run with
    no D loss but its real and fake terms (`loss_D_real`, `loss_D_fake`) is judged on their
    sum.
    """
    views = _layout(run.metrics)
    if views is not None and "D_loss" not in (run.extra.get(SOURCE_KEY) or {}):
        return views
    roles = run_roles(run).roles
    if "D_loss" not in roles and "D_loss_real" in roles and "D_loss_fake" in roles:
        terms = (roles["D_loss_real"], roles["D_loss_fake"])
        return [GanView(None, {"D_loss": terms}, "sum", f"D loss = {' + '.join(terms)}")]
    return [GanView(None, {})]


def loss_convention(run: Run, thresholds: dict[str, Any] | None = None):
    """The loss type and D-loss reduction the rules use for `run` (its first GAN view): the
    same `conventions.equilibrium` call `check` makes, so `info` and `check` agree."""
    from ..analysis.rules.context import RuleContext
    from ..analysis.rules.conventions import equilibrium
    from ..analysis.rules.thresholds import validate_thresholds

    th = validate_thresholds(thresholds or {}, "thresholds")
    view = gan_views(run)[0]
    return equilibrium(run, th, RuleContext(run, th, view=view if view.columns else None))
