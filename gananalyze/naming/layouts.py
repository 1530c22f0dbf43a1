"""Column layouts of trainers that name their losses differently: GAN views.

A view maps canonical names (D_loss, G_loss) to the run's columns, or to a sum of
columns (pix2pix's D_real + D_fake); a CycleGAN run has two views, one per GAN. The
run's columns are never renamed. `GAN_LAYOUTS` is plain data: add a trainer there. A
ComboGAN run (D_0, G_0, D_1, G_1, ...: one GAN per domain) has one view per domain.

Names only (imports nothing but the aliases): `roles.gan_views(run)` picks a run's views
from these layouts and its roles; the rules read the curves of a view through
`analysis.rules.context`, and the loss convention of a run is
`analysis.rules.conventions.loss_convention`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .aliases import resolve


@dataclass
class GanView:
    """How the rules read one GAN of a run whose trainer names its losses differently.

    columns: canonical name -> the run's column, or a tuple of columns whose sum
    is the metric (a D loss logged as its real and fake terms). Derived in the
    rules only; the run's columns are never renamed. tag: "A" / "B" for the two
    GANs of a CycleGAN run (prefixed to the findings' titles), else None.
    reduction: how the D loss combines its real and fake terms ("sum" | "mean").
    terms: the trainer's other loss columns (totals, auxiliary terms): claimed with the
    view's own, so the roles read none of them as the G or D loss.
    """

    tag: str | None
    columns: dict[str, str | tuple[str, ...]]
    reduction: str | None = None
    source: str = ""
    terms: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "columns": {k: source_name(v) for k, v in self.columns.items()},
            "reduction": self.reduction,
            "source": self.source,
        }


# Layouts of other trainers, tried in order when the run has no D loss under a
# canonical name or alias: (columns that must all be present, views). A name is found as
# written or as the last part of a logger's tag (`losses/l_d_real` for `l_d_real`).
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
    # SPADE / GauGAN (NVlabs): D_Fake and D_real are D's two (hinge, by default) loss terms,
    # GAN is G's adversarial loss beside GAN_Feat and VGG
    (
        ("GAN", "GAN_Feat", "D_Fake", "D_real"),
        [
            GanView(
                None,
                {"D_loss": ("D_Fake", "D_real"), "G_loss": "GAN"},
                "sum",
                "SPADE: D loss = D_Fake + D_real, G loss GAN",
            )
        ],
    ),
    # Keras' ACGAN example (mnist_acgan.py), its per-epoch table read by `pipetables`: per
    # component, loss = generation_loss (BCE, real and fake averaged) + auxiliary_loss (the
    # class term); the train rows are the run's, the test rows one evaluation
    (
        ("generator_train_generation_loss", "discriminator_train_generation_loss"),
        [
            GanView(
                None,
                {
                    "D_loss": "discriminator_train_generation_loss",
                    "G_loss": "generator_train_generation_loss",
                },
                "mean",
                "Keras ACGAN: the generation_loss of the train rows",
                tuple(
                    f"{net}_{rows}_{col}"
                    for net in ("generator", "discriminator")
                    for rows in ("train", "test")
                    for col in ("loss", "generation_loss", "auxiliary_loss")
                    if (rows, col) != ("train", "generation_loss")
                ),
            )
        ],
    ),
    # EdgeConnect's log_<model>.dat (importers/edgeconnect.py): D averages its real and fake
    # BCE terms; the inpaint model logs G's adversarial loss after its weight
    # (INPAINT_ADV_LOSS_WEIGHT, 0.1 by default), so l_g2 is no G loss to read D's output from
    (
        ("l_d1", "l_g1", "l_d2", "l_g2"),
        [
            GanView("edge", {"D_loss": "l_d1", "G_loss": "l_g1"}, "mean", "EdgeConnect edge"),
            GanView("inpaint", {"D_loss": "l_d2"}, "mean", "EdgeConnect inpaint", ("l_g2",)),
        ],
    ),
    (
        ("l_d1", "l_g1", "l_fm"),
        [GanView(None, {"D_loss": "l_d1", "G_loss": "l_g1"}, "mean", "EdgeConnect edge model")],
    ),
    (
        ("l_d2", "l_g2", "l_l1"),
        [GanView(None, {"D_loss": "l_d2"}, "mean", "EdgeConnect inpaint model", ("l_g2",))],
    ),
    # HINT (on EdgeConnect): dLoss averages D's terms; gLoss is G's total loss, mostly L1
    (
        ("gLoss", "dLoss", "l_loss"),
        [GanView(None, {"D_loss": "dLoss"}, "mean", "HINT: D loss dLoss", ("gLoss",))],
    ),
    # TensorFlowTTS's (Multi-band) MelGAN trainer: adversarial_loss is G's least-squares term
    # (averaged over the discriminator's scales), gen_loss the STFT loss + 2.5 x it, dis_loss
    # = real_loss + fake_loss
    (
        ("train_adversarial_loss", "train_dis_loss", "train_gen_loss"),
        [
            GanView(
                None,
                {"D_loss": "train_dis_loss", "G_loss": "train_adversarial_loss"},
                "sum",
                "TensorFlowTTS MelGAN: G loss adversarial_loss, D loss dis_loss",
                ("train_gen_loss", "train_real_loss", "train_fake_loss"),
            )
        ],
    ),
    # Real-ESRGAN / BasicSR: l_d_real + l_d_fake, `losses/` in front in its TensorBoard tags
    # (D(x), D(G(z)) come from out_d_* logits via the aliases)
    (
        ("l_d_real", "l_d_fake"),
        [
            GanView(
                None,
                {"D_loss": ("l_d_real", "l_d_fake")},
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


def source_name(src: str | tuple[str, ...]) -> str:
    return src if isinstance(src, str) else "+".join(src)


def _column(name: str, cols: set[str]) -> str | None:
    """The run's column for a layout's name: the name itself, else the shortest tag ending
    `/name` (`losses/l_d_real` before another folder's `old_run/losses/l_d_real`; two
    equally short ones are not guessed between)."""
    if name in cols:
        return name
    tagged = sorted((c.count("/"), c) for c in cols if c.endswith("/" + name))
    if not tagged or (len(tagged) > 1 and tagged[1][0] == tagged[0][0]):
        return None
    return tagged[0][1]


def _bind(view: GanView, found: dict[str, str]) -> GanView:
    """`view` with its layout names replaced by the run's columns."""
    if all(k == v for k, v in found.items()):
        return view
    cols = {
        role: found.get(src, src) if isinstance(src, str) else tuple(found.get(c, c) for c in src)
        for role, src in view.columns.items()
    }
    return GanView(view.tag, cols, view.reduction, view.source, view.terms)


def layout_views(columns) -> list[GanView] | None:
    """The views of the first GAN_LAYOUTS entry whose columns are all present, when no column
    is a D loss by exact name or alias (then the run is read as is)."""
    cols = set(columns)
    if resolve("D_loss", cols) is not None:
        return None
    for need, views in GAN_LAYOUTS:
        found = {c: _column(c, cols) for c in need}
        if all(found.values()):
            return [_bind(v, found) for v in views]
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
    views = layout_views(columns) or []
    cols = set(columns)
    out: set[str] = set()
    for v in views:
        for src in v.columns.values():
            out.update([src] if isinstance(src, str) else src)
        out.update(c for t in v.terms if (c := _column(t, cols)))
    return out
