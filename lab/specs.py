"""The lab's grid of runs and the recipes that induce their outcomes: every (data, loss,
induced outcome) combination once, plus extra healthy runs, each with a logging style, a
logging interval and a length drawn from its seed. Seeds are the run numbers; the split is
by seed (`half_of`: the tuning half and the test half, every outcome in both). Plain data
(no torch), so the scoreboard loads without it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

LOSSES = (
    "bce_ns_sum",
    "bce_ns_mean",
    "bce_sat_sum",
    "bce_sat_mean",
    "lsgan",
    "hinge",
    "wgan_clip",
    "wgan_gp",
)


@dataclass
class Settings:
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    d_steps: int = 1
    g_steps: int = 1
    hid_g: int = 32
    hid_d: int = 32
    z_dim: int = 8
    batch: int = 32
    optim: str = "adam"  # or "sgd" (momentum 0.9); WGAN with clipping uses RMSprop
    d_bias: float = 0.0  # initial bias of D's last layer (a saturated D)
    late_at: float | None = None  # fraction of the run where the late settings start
    late: dict = field(default_factory=dict)


DATASETS = ("ring8", "grid9", "digits", "table")
OUTCOMES = (
    "healthy",
    "d_strong",
    "g_strong",
    "stalled_d",
    "clamped_d",
    "mode_hop",
    "late_collapse",
    "divergence",
)
STYLES = ("runlog", "tensorboard", "lightning", "keras", "stdout", "textlog")
EVERY = (1, 5, 10, 25, 50, 100)
# generator steps per run, drawn per run (WGAN: shorter, two critic steps per G step)
LENGTHS = {
    "ring8": (1500, 2000, 2500),
    "grid9": (1500, 2000, 2500),
    "digits": (1500, 2000, 2500),
    "table": (1000, 1500, 2000),
}
WGAN_LENGTHS = (800, 1000, 1200)
# extra healthy-intended runs, on the (data, loss) pairs whose recipe ends healthy most
# often (`python -m lab.recipes`): ring8, the table and the digits, the six non-WGAN losses
EXTRA_HEALTHY_DATA = ("ring8", "table", "digits")
N_EXTRA_HEALTHY = 90


def half_of(seed: int) -> str:
    """The split by seed: "test" or "tune". Seeds run through data x loss x outcome (8
    outcomes), so the parity of seed + seed // 8 puts every outcome in both halves."""
    return "test" if (seed + seed // 8) % 2 else "tune"


@dataclass(frozen=True)
class Spec:
    seed: int
    data: str
    loss: str
    outcome: str  # the outcome the settings aim at; the truth is read from the samples
    style: str
    every: int
    steps: int

    @property
    def id(self) -> str:
        return f"{self.seed:04d}-{self.data}-{self.loss}-{self.outcome}-{self.style}"

    @property
    def half(self) -> str:
        return half_of(self.seed)


# The healthy recipe per data and loss: learning rate (G and D), batch, widths. Checked by
# training seeds of each (data, loss) before the build: `python -m lab.recipes`.
BASE_LR = {
    "mixture": {"wgan_clip": 1e-3, "wgan_gp": 2e-3, "lsgan": 5e-4, "hinge": 5e-4, "*": 1e-3},
    "digits": {"wgan_clip": 1e-3, "wgan_gp": 2e-3, "*": 5e-4},
    "table": {"wgan_clip": 1e-3, "wgan_gp": 2e-3, "*": 1e-3},
}


def _kind(data: str) -> str:
    return "mixture" if data in ("ring8", "grid9") else data


def base(data: str, loss: str) -> Settings:
    """The healthy recipe of (data, loss)."""
    st = Settings()
    lrs = BASE_LR[_kind(data)]
    st.lr_g = st.lr_d = lrs.get(loss, lrs["*"])
    st.hid_g = st.hid_d = 64 if data == "digits" else 32
    st.batch = 64 if data == "digits" else 128
    st.z_dim = 16 if data == "digits" else 8
    if loss.startswith("wgan"):
        st.d_steps = 2
    return st


def settings(spec: Spec) -> Settings:
    """The settings that induce the spec's outcome, starting from the healthy recipe."""
    st = base(spec.data, spec.loss)
    o = spec.outcome
    if o == "d_strong":
        st.lr_d *= 5
        st.lr_g *= 0.05
        st.d_steps += 2
        st.hid_g = 8
    elif o == "g_strong":
        st.lr_g *= 5
        st.g_steps = 3
        st.lr_d *= 0.02
        st.hid_d = 4
    elif o == "stalled_d":
        st.lr_d = 0.0
    elif o == "clamped_d":
        if spec.loss.startswith("bce"):
            st.d_bias = 40.0 if spec.seed % 4 < 2 else -40.0
        else:
            st.lr_d = 0.0
            st.d_bias = 5.0
    elif o == "mode_hop":
        st.lr_g *= 10
        st.lr_d *= 10
    elif o == "late_collapse":
        st.late_at = 0.55
        st.late = {"lr_d_x": 0.0, "lr_g_x": 10.0, "g_steps": 3}
    elif o == "divergence":
        st.optim = "sgd"
        st.lr_g = st.lr_d = 0.5 if spec.seed % 3 else 2.0
        if spec.seed % 5 == 0:  # trains normally first, then the learning rate is raised
            b = base(spec.data, spec.loss)
            st.optim, st.lr_g, st.lr_d = "adam", b.lr_g, b.lr_d
            st.late_at = 0.5
            st.late = {"lr_g_x": 300.0, "lr_d_x": 300.0}
    return st


def all_specs() -> list[Spec]:
    combos = list(itertools.product(DATASETS, LOSSES, OUTCOMES))
    plain = [loss for loss in LOSSES if not loss.startswith("wgan")]
    combos += [
        (EXTRA_HEALTHY_DATA[i % 3], plain[(i // 3) % len(plain)], "healthy")
        for i in range(N_EXTRA_HEALTHY)
    ]
    out = []
    for seed, (data, loss, outcome) in enumerate(combos):
        rng = np.random.default_rng(1000 + seed)
        lengths = WGAN_LENGTHS if loss.startswith("wgan") else LENGTHS[data]
        steps = int(rng.choice(lengths, p=[0.3, 0.4, 0.3]))
        if rng.random() < 0.1:  # a short log: 8-19 logged points
            every = steps // int(rng.integers(8, 20))
        else:
            every = int(rng.choice(EVERY))
        style = STYLES[(seed + int(rng.integers(0, 6))) % 6]
        out.append(Spec(seed, data, loss, outcome, style, every, steps))
    return out
