"""The lab's grid of runs: every (data, loss, induced outcome) combination once, plus extra
healthy runs, each with a logging style, a logging interval and a length drawn from its
seed. Seeds are the run numbers; the split is by seed (`half_of`: the tuning half and the
test half, every outcome in both)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .train import LOSSES, Settings

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
EVERY = (1, 5, 10, 25, 50)
LENGTHS = (200, 400, 600)
N_EXTRA_HEALTHY = 64


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


def _base(data: str, loss: str) -> Settings:
    st = Settings()
    if data == "digits":
        st.lr_g = st.lr_d = 5e-4
        st.z_dim = 16
    elif data == "table":
        st.lr_g = st.lr_d = 1e-3
    else:
        st.lr_g = st.lr_d = 4e-3
    if loss.startswith("wgan"):
        st.d_steps = 3
        st.lr_g = st.lr_d = 5e-4
    return st


def settings(spec: Spec) -> Settings:
    st = _base(spec.data, spec.loss)
    o = spec.outcome
    if o == "d_strong":
        st.lr_d *= 5
        st.lr_g *= 0.05
        st.d_steps += 2
        st.hid_d, st.hid_g = 48, 8
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
            st.optim = "adam"
            st.lr_g, st.lr_d = _base(spec.data, spec.loss).lr_g, _base(spec.data, spec.loss).lr_d
            st.late_at = 0.5
            st.late = {"lr_g_x": 300.0, "lr_d_x": 300.0}
    return st


def all_specs() -> list[Spec]:
    combos = list(itertools.product(DATASETS, LOSSES, OUTCOMES))
    combos += [(DATASETS[i % 4], LOSSES[(i // 4) % 8], "healthy") for i in range(N_EXTRA_HEALTHY)]
    out = []
    for seed, (data, loss, outcome) in enumerate(combos):
        rng = np.random.default_rng(1000 + seed)
        steps = int(rng.choice(LENGTHS, p=[0.4, 0.4, 0.2]))
        if loss.startswith("wgan") and steps > 400:
            steps = 400  # 3 critic steps per G step
        every = int(rng.choice([e for e in EVERY if steps // e >= 8]))
        style = STYLES[(seed + int(rng.integers(0, 6))) % 6]
        out.append(Spec(seed, data, loss, outcome, style, every, steps))
    return out
