"""The rule registry: each rule is a `Rule` (name, needs, describe, applies, fn).

A rule module registers its functions with `@rule(name, needs=...)`; `REGISTRY` maps
names to `Rule`s and refuses a second rule with the same name. `ORDER` (plain data)
is the order in which `diagnose` runs them and lists skipped rules; a rule missing
from it runs last. `missing_reason` says why a rule cannot run on a run
("not enough data: needs D_x (>= 20 points)").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..findings import Finding
from .context import RuleContext

# What applies(ctx) returns when the rule is about another kind of run (vector samples on an
# image run, the WGAN critic on a BCE run): the rule neither runs nor is listed as skipped;
# `not_this_kind(why)` adds the reason, which diagnose keeps in context["not_this_kind"].
NOT_THIS_KIND = "not this kind of run"


def not_this_kind(why: str) -> str:
    """An applies() answer: the rule is about another kind of run, and why."""
    return f"{NOT_THIS_KIND}: {why}"


def is_not_this_kind(reason: str | None) -> bool:
    """Whether an applies() answer says the rule is about another kind of run."""
    return bool(reason) and (reason == NOT_THIS_KIND or reason.startswith(NOT_THIS_KIND + ": "))


RuleFn = Callable[[RuleContext], list[Finding]]
Needs = tuple[str, ...] | list[tuple[str, ...]]


@dataclass(frozen=True)
class Rule:
    """One registered rule.

    needs: alternatives, each a tuple of data names that must all be present (any one
    alternative suffices). Special names: D_x_prob, D_G_z_prob (D outputs as
    probabilities or logits), samples (sample grids), sample_metric (the selected
    FID-like metric), scalars (any metric). applies(ctx): a reason ("not applicable:
    ...") when the rule cannot judge this run although the data is there, else None.
    """

    name: str
    needs: list[tuple[str, ...]]
    describe: str
    applies: Callable[[RuleContext], str | None] | None
    fn: RuleFn


REGISTRY: dict[str, Rule] = {}

ORDER = (
    "divergence",
    "d_overpowering",
    "g_overpowering",
    "mode_collapse",
    "sample_quality",
    "conditional_collapse",
    "class_dropping",
    "class_mode_collapse",
    "vector_collapse",
    "tabular_fidelity",
    "vanishing_gradients",
    "oscillation",
    "d_stalled",
    "d_clamped",
    "short_log_balance",
    "wgan_critic",
    "over_training",
    "healthy_equilibrium",
    "implausible_values",
    "damaged_data",
)


def register(r: Rule) -> Rule:
    """Add `r` to REGISTRY; a second rule with the same name is a programming error."""
    if r.name in REGISTRY:
        raise ValueError(f"a rule named {r.name!r} is already registered ({REGISTRY[r.name].fn})")
    REGISTRY[r.name] = r
    return r


def rule(
    name: str,
    needs: Needs = (),
    describe: str = "",
    applies: Callable[[RuleContext], str | None] | None = None,
) -> Callable[[RuleFn], RuleFn]:
    """Decorator: register the function as rule `name` (see `Rule`); returns it unchanged."""

    def deco(fn: RuleFn) -> RuleFn:
        alts = (
            [tuple(needs)] if not needs or isinstance(needs[0], str) else [tuple(a) for a in needs]
        )
        text = describe or "".join((fn.__doc__ or "").strip().splitlines()[:1])
        register(Rule(name, alts, text, applies, fn))
        return fn

    return deco


def rules_in_order() -> list[Rule]:
    """The registered rules, in ORDER (rules not listed there last, as registered)."""
    rank = {n: i for i, n in enumerate(ORDER)}
    return sorted(REGISTRY.values(), key=lambda r: rank.get(r.name, len(rank)))


def available(ctx: RuleContext, name: str) -> bool:
    """Whether the run has the data called `name` (see Rule.needs)."""
    if name == "samples":
        return any(
            g.nrow and g.ncol and g.tile and (g.count or g.nrow * g.ncol) >= 2
            for g in ctx.run.samples
        )
    if name == "sample_metric":
        return len(ctx.sample_metric()) >= ctx.th["min_evaluations"]
    if name == "sample_recall":
        return any(len(ctx.sample_series(m)) for m in ("recall", "coverage"))
    if name == "scalars":
        return len(ctx.run.metrics) > 0 or len(ctx.run.nonfinite) > 0
    return ctx.has(name)


_NEED_WORDS = {
    "D_x_prob": "D(x) (D_x or its logits)",
    "D_G_z_prob": "D(G(z)) (D_G_z_before/after or logits)",
    "samples": "fixed-noise sample grids with a known layout",
    "sample_metric": "sample metric evaluations",
    "sample_recall": "recall or coverage evaluations (fid-sweep --metrics pr,dc)",
    "scalars": "any logged metric",
}


def _too_few(ctx: RuleContext, n: str) -> str:
    """ "; K logged" for a metric logged at 1 to min_points - 1 points (it is there, too short),
    else ""."""
    k = len(ctx.prob(n[:-5])) if n in ("D_x_prob", "D_G_z_prob") else len(ctx.finite(n))
    return f"; {k} logged" if 0 < k < ctx.th["min_points"] else ""


def missing_reason(ctx: RuleContext, alts: list[tuple[str, ...]]) -> str | None:
    """None when one alternative of `alts` is available, else what is missing, in words."""
    if any(all(available(ctx, n) for n in alt) for alt in alts):
        return None
    parts = []
    for alt in alts:
        words = []
        for n in (n for n in alt if not available(ctx, n)):
            w = _NEED_WORDS.get(n, n)
            if n == "samples" and ctx.run.samples:
                w = (
                    f"{w}: the {len(ctx.run.samples)} sample image(s) hold one sample each "
                    "(a pre-made grid saved as one image? pass the batch (N, C, H, W) to "
                    "RunLog.samples)"
                )
            elif n == "sample_metric":
                w = f"{ctx.select_metric} at >= {ctx.th['min_evaluations']} evaluations"
                bad = ctx.sample_metric().attrs.get("implausible", 0)
                if bad:
                    w += f" ({bad} implausible evaluation(s) left out)"
            elif n not in _NEED_WORDS:
                w = f"{n} (>= {ctx.th['min_points']} points{_too_few(ctx, n)})"
            elif n in ("D_x_prob", "D_G_z_prob") and _too_few(ctx, n):
                w = f"{w[:-1]}: >= {ctx.th['min_points']} points{_too_few(ctx, n)})"
            words.append(w)
        parts.append(" and ".join(words))
    return "not enough data: needs " + ", or ".join(parts)
