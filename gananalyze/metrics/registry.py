"""The sample-metric registry: one `SampleMetric` entry per metric `fid-sweep` computes.

An entry says everything about a metric in one place: its name (what `--metrics`
accepts), the function computing it, what it needs besides the generated samples'
features, the columns it stores in the run's sample-metrics table, and which of them
ranks checkpoints when the metric is chosen by its name (`--select pr` ranks by
precision). `compute_metrics` runs a list of entries. The naming home's direction
table (aliases.HIGHER_IS_BETTER) sits below this package and cannot read it; a test
holds the two together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import GanAnalyzeError
from .conditional import cacc_metric, cfid_metric, merge_per_class, read_per_class
from .samplemetrics import dc_metric, fid_metric, is_metric, kid_metric, need, pr_metric, prdc

MetricFn = Callable[..., dict[str, float]]


@dataclass(frozen=True)
class SampleMetric:
    """One sample metric.

    name: what `--metrics` accepts; fn(real_features, fake_features, fake_logits, *,
    real_stats=None, device="cpu") -> {column: value}; needs: what it needs besides the
    fake features: "stats" (real mu/sigma suffice), "features" (real feature vectors),
    "logits" (the fake samples' class logits) or "labels" (labelled real features and a
    conditional generator: fn also takes labels=(real labels, fake labels, class count));
    columns: the values it stores, in order; ranks_by: the column that ranks checkpoints
    when the metric is selected by name; higher_is_better: the direction of its value
    columns (not of the *_std columns nor of `references`, the yardsticks stored beside
    a value: a chance level, the real data's own score).
    """

    name: str
    fn: MetricFn
    needs: str
    columns: tuple[str, ...]
    ranks_by: str
    higher_is_better: bool
    references: tuple[str, ...] = ()

    @property
    def value_columns(self) -> tuple[str, ...]:
        """The stored columns that are values, not uncertainties (no *_std) or references."""
        return tuple(
            c for c in self.columns if not c.endswith("_std") and c not in self.references
        )


REGISTRY: tuple[SampleMetric, ...] = (
    SampleMetric("fid", fid_metric, "stats", ("fid", "fid_std"), "fid", False),
    SampleMetric("kid", kid_metric, "features", ("kid", "kid_std"), "kid", False),
    SampleMetric("is", is_metric, "logits", ("is", "is_std"), "is", True),
    SampleMetric("pr", pr_metric, "features", ("precision", "recall"), "precision", True),
    SampleMetric("dc", dc_metric, "features", ("density", "coverage"), "coverage", True),
    # conditional generators (metrics/conditional.py); each class's values in `per_class`
    SampleMetric("cfid", cfid_metric, "labels", ("cfid", "cfid_worst"), "cfid", False),
    SampleMetric(
        "cacc",
        cacc_metric,
        "labels",
        ("cond_acc", "cond_acc_chance", "cond_acc_real", "class_coverage"),
        "cond_acc",
        True,
        references=("cond_acc_chance", "cond_acc_real"),
    ),
)
# The metrics a conditional run gets whenever its real data is labelled.
CONDITIONAL_METRICS = tuple(m.name for m in REGISTRY if m.needs == "labels")
METRICS: dict[str, SampleMetric] = {m.name: m for m in REGISTRY}

# What `--select` accepts: every value column of every metric.
SELECT_METRICS: tuple[str, ...] = tuple(c for m in REGISTRY for c in m.value_columns)


def parse_metrics(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """'fid,kid' -> ['fid', 'kid'] (validated, de-duplicated, order kept)."""
    names = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    names = [n for n in dict.fromkeys(names) if n]
    bad = [n for n in names if n not in METRICS]
    if bad:
        raise GanAnalyzeError(
            f"unknown metric(s) {', '.join(bad)}; choose from {', '.join(METRICS)}"
        )
    return names


def stored_columns(names: list[str]) -> list[str]:
    """The columns the named metrics store, in registry order of the names given."""
    return [c for n in names for c in METRICS[n].columns]


def selected_column(select: str) -> str:
    """The column that ranks checkpoints for `--select` (a metric or one of its columns).

    Raises GanAnalyzeError for anything else.
    """
    col = METRICS[select].ranks_by if select in METRICS else select
    if col not in SELECT_METRICS:
        raise GanAnalyzeError(
            f"cannot select by {select!r}; choose from {', '.join(SELECT_METRICS)}"
        )
    return col


def column_higher_is_better(column: str) -> bool | None:
    """The direction of a stored column per the registry, or None when no metric stores it."""
    for m in REGISTRY:
        if column in m.value_columns:
            return m.higher_is_better
    return None


def compute_metrics(
    names,
    real_features,
    fake_features,
    fake_logits=None,
    *,
    real_stats: tuple[np.ndarray, np.ndarray] | None = None,
    device: str | torch.device = "cpu",
    labels: tuple[np.ndarray, np.ndarray, int] | None = None,
) -> dict[str, float]:
    """Run the named metrics (a list or "fid,kid,...") and merge their values.

    "pr" and "dc" share one pass over the distances when both are requested.
    real_stats (mu, sigma) replaces real_features for FID (e.g. a pytorch-fid
    statistics .npz, or cached statistics). labels: (real labels, fake labels, class
    count) for the conditional metrics; their per-class lists merge into one `per_class`.
    """
    names = parse_metrics(names)
    out: dict[str, float] = {}
    rest = list(names)
    if "pr" in names and "dc" in names:
        real = need(real_features, "real features (not only statistics)", "pr")
        out.update(prdc(real, fake_features, 3, 5, device=device))
        rest = [n for n in names if n not in ("pr", "dc")]
    for n in rest:
        got = METRICS[n].fn(
            real_features,
            fake_features,
            fake_logits,
            real_stats=real_stats,
            device=device,
            labels=labels,
        )
        if "per_class" in got and "per_class" in out:
            merge_per_class(out, **read_per_class(got.pop("per_class")))
        out.update(got)
    return out
