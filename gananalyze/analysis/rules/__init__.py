"""The rule checks: what went wrong (or right) in a run, with the evidence.

`diagnose(run)` runs every registered rule (`registry.REGISTRY`, one `Rule` each) and
returns a `Diagnosis`: the findings (rule, severity, step range, numbers, one-line
message, action), the rules skipped for lack of data and a one-sentence verdict.

Layout (one idea per module):
  thresholds.py   DEFAULT_THRESHOLDS (docs/rules.md), load_thresholds for --rules-config
  (GAN views, how the rules read trainers that name their losses differently: naming.layouts)
  conventions.py  loss type, D-loss reduction, equilibrium values, D(G(z)) a G loss implies
  context.py      RuleContext: common bins, cached series; the sustained-stretch helpers
  registry.py     Rule, @rule, REGISTRY (refuses duplicate names), ORDER
  balance.py      d_overpowering, g_overpowering, healthy_equilibrium
  stability.py    divergence, vanishing_gradients, oscillation
  runaway.py      G's samples run away: D ranks them above the data (part of divergence)
  samples.py      mode_collapse (grids, hopping.py, a D at chance, G-loss drops)
  evaluated.py    sample_quality, over_training; low recall and FID jumps for mode_collapse
  metricnoise.py  the evaluations' noise: split-half std, own scatter, the estimator's floor
  stalled.py      d_stalled, d_clamped (a dead D: saturated outputs, a clamped loss)
  chance.py       a D against chance: worse from the start, or on it exactly (d_stalled)
  short.py        short logs (5-19 rows): D wins in every row, G fools D from a row on
  wild.py         losses wild from the first step (part of oscillation)
  values.py       implausible_values, damaged_data
  tabular.py      tabular_fidelity (column shapes, pair trends, duplicates, copied rows)
  vectors.py      vector_collapse (vector/sequence samples, no sweep)
  wgan.py         wgan_critic (critic gap, critic growth, a gap G never closes)
  conditional.py  conditional_collapse, class_dropping, class_mode_collapse (per-class sweeps)
  diagnose.py     diagnose() and the verdict
A new rule goes in the family module it belongs to (or a new one imported below),
decorated with @rule; docs/architecture.md has the smallest example.
"""

from __future__ import annotations

from ...naming.layouts import GAN_LAYOUTS, GanView
from ...naming.roles import gan_views
from . import (  # noqa: F401
    balance,
    conditional,
    evaluated,
    samples,
    short,
    stability,
    stalled,
    tabular,
    values,
    vectors,
    wgan,
)
from .context import RuleContext
from .conventions import Equilibrium, equilibrium
from .diagnose import diagnose
from .registry import ORDER, REGISTRY, Rule, rule, rules_in_order
from .thresholds import DEFAULT_THRESHOLDS, load_thresholds, validate_thresholds

__all__ = [
    "DEFAULT_THRESHOLDS",
    "GAN_LAYOUTS",
    "ORDER",
    "REGISTRY",
    "Equilibrium",
    "GanView",
    "Rule",
    "RuleContext",
    "diagnose",
    "equilibrium",
    "gan_views",
    "load_thresholds",
    "rule",
    "rules_in_order",
    "validate_thresholds",
]
