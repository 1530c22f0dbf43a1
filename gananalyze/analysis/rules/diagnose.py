"""Running the rules: `diagnose(run)` -> `Diagnosis` (findings, skipped rules, verdict).

Every registered rule runs once per GAN view of the run (two for CycleGAN); findings
are de-duplicated across views, sorted by severity and priority, and summarised in a
one-sentence verdict; the run's one recommendation (analysis.recommendation) is
attached.
"""

from __future__ import annotations

from typing import Any

from ...naming.aliases import is_sample_metric
from ...naming.layouts import source_name
from ...naming.roles import CONVENTION_ROLES, gan_views
from ...run import Run
from ...textfmt import fmt_sig
from ..diversity import infer_layouts, real_dataset
from ..findings import HEALTHY_RULES, SEVERITY_RANK, Diagnosis, Finding
from ..recommendation import recommend
from .context import RuleContext
from .conventions import equilibrium, loss_type_known
from .registry import available, is_not_this_kind, missing_reason, rules_in_order
from .short import MIN_SHORT
from .thresholds import validate_thresholds


def _more_evidence(run: Run) -> str:
    """What the run could add for the rules to judge more: what it did not log."""
    missing = []
    if run.column("D_x") is None and run.column("D_x_logit") is None:
        missing.append("D's outputs")
    if not run.samples and not run.vectors:
        missing.append("sample grids")
    if missing:
        return "log " + " and ".join(missing)
    return "evaluate the checkpoints (`gananalyze fid-sweep`)"


_PRIORITY = [
    "healthy_equilibrium",
    "no_problems",
    "no_data",
    "divergence",
    "d_clamped",
    "d_overpowering",
    "mode_collapse",
    "sample_quality",
    "vector_collapse",
    "tabular_fidelity",
    "g_overpowering",
    "vanishing_gradients",
    "over_training",
    "oscillation",
    "d_stalled",
    "wgan_critic",
    "implausible_values",
    "damaged_data",
]


def diagnose(
    run: Run, thresholds: dict[str, Any] | None = None, select_metric: str = "fid"
) -> Diagnosis:
    """Run every registered rule on `run`; the findings, the skipped rules and a one-sentence
    verdict.

    thresholds: a full table (load_thresholds) or a partial dict of overrides;
    select_metric: the sample metric over_training and the FID-jump check use.
    """
    th = validate_thresholds(thresholds or {}, "thresholds")
    infer_layouts(run)  # TensorBoard / Lightning image grids: split by their padding
    views = gan_views(run)
    findings: list[Finding] = []
    reasons: dict[str, str] = {}  # rule -> why it was skipped (in every view)
    other_kind: dict[str, str] = {}  # rule -> why it is about another kind of run (not listed)
    ran_rules: set[str] = set()
    seen: set[tuple[str, str, str]] = set()
    ctxs: list[RuleContext] = []
    rules = rules_in_order()
    for view in views:
        ctx = RuleContext(run, th, select_metric, view if view.columns else None)
        ctx.eq = equilibrium(run, th, ctx)
        ctxs.append(ctx)
        mapped = {source_name(c) for c in view.columns.values()}
        for r in rules:
            reason = missing_reason(ctx, r.needs) if r.needs and r.needs != [()] else None
            if reason is None and r.applies is not None:
                reason = r.applies(ctx)
            if is_not_this_kind(reason):
                other_kind.setdefault(r.name, str(reason))
                continue
            if reason:
                reasons.setdefault(r.name, reason)
                continue
            ran_rules.add(r.name)
            for f in r.fn(ctx):
                if view.tag and mapped & set(f.metrics):
                    f.title = f"GAN {view.tag}: {f.title}"  # a finding about this GAN's losses
                # rules that do not read the view's losses say the same for every GAN
                key = (f.rule, f.title, f.message)
                if key not in seen:
                    seen.add(key)
                    findings.append(f)
    ctx = ctxs[0]
    ran = len(ran_rules - {"damaged_data"})  # about the files, not a check of the training
    found = {f.rule for f in findings}  # a short-log finding answers for its rule
    skipped = [
        (r.name, reasons[r.name])
        for r in rules
        if r.name in reasons and r.name not in ran_rules and r.name not in found
    ]
    if len(views) > 1 and sum(f.rule == "healthy_equilibrium" for f in findings) < len(views):
        # healthy only if every GAN is
        findings = [f for f in findings if f.rule != "healthy_equilibrium"]
    if any(f.severity == "error" for f in findings):  # "healthy" next to an error would mislead
        findings = [f for f in findings if not (f.rule in HEALTHY_RULES and f.severity == "info")]
    weak = _weak_evidence(ctx, findings, ran_rules)
    if weak:  # "healthy" needs the core evidence; without it: "no problems found"
        findings = [f for f in findings if f.rule != "healthy_equilibrium"]
    problems = [f for f in findings if f.severity != "info"]
    sampled = bool(run.vectors) or any(
        available(c, n) for c in ctxs for n in ("samples", "sample_metric", "sample_recall")
    )
    unjudged = _samples_unjudged(run, ctxs, sampled)
    if not problems and unjudged and any(f.rule in HEALTHY_RULES for f in findings):
        # healthy losses or diverse samples, but no samples judged against the data: the
        # status is "no problems found" (findings.status_of), on every page alike
        findings.append(
            Finding(
                rule="no_problems",
                severity="info",
                title="No problems found",
                message=f"{ran} rule(s) ran on this run and none found a problem; not called "
                f"healthy: {unjudged}.",
                action="Nothing to fix; "
                + (
                    "log fixed-noise samples or a sample metric (FID)"
                    if not sampled and not run.samples
                    else "log the fixed-noise samples as a grid with padding between the tiles "
                    "(torchvision's make_grid, then add_image) or with RunLog.samples"
                    if not sampled
                    else "log a sample metric (FID, precision/recall) or pass the real rows "
                    "(--real) for vector samples"
                )
                + " to let the rules judge the samples.",
                start_step=int(ctx.steps[0]) if len(ctx.steps) else None,
                end_step=int(ctx.steps[-1]) if len(ctx.steps) else None,
                numbers={"rules_ran": ran, "why_not_healthy": unjudged},
            )
        )
    # "healthy" needs at least one rule that looks at the training dynamics, not just NaN/flag
    # checks
    checks_only = ("divergence", "implausible_values")
    substantive = ran - sum(
        1 for r in rules if r.name in checks_only and r.name not in dict(skipped)
    )
    if not problems and not any(f.rule in HEALTHY_RULES for f in findings):
        if substantive > 0:
            msg = f"{ran} rule(s) ran on this run and none found a problem" + (
                f"; {len(skipped)} skipped for lack of data" if skipped else ""
            )
            msg += f"; not called healthy: {weak}." if weak else "."
            findings.append(
                Finding(
                    rule="no_problems",
                    severity="info",
                    title="No problems found",
                    message=msg,
                    action="Nothing to fix; "
                    + ("log what is missing" if weak else _more_evidence(run))
                    + " to let the rules judge more.",
                    start_step=int(ctx.steps[0]) if len(ctx.steps) else None,
                    end_step=int(ctx.steps[-1]) if len(ctx.steps) else None,
                    numbers={
                        "rules_ran": ran,
                        "rules_skipped": len(skipped),
                        "why_not_healthy": weak or "no healthy-equilibrium evidence",
                    },
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
                    rule="no_data",
                    severity="info",
                    title="Not enough data to judge",
                    message=f"No verdict: {what}; {len(skipped)} rule(s) skipped.",
                    action=_no_data_action(ctxs),
                    start_step=None,
                    end_step=None,
                    numbers={"rules_ran": ran, "rules_skipped": len(skipped)},
                    metrics=[],
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
    context: dict[str, Any] = {"bins": ctx.nb, "select_metric": select_metric}
    if any(v.columns for v in views) or any(run.column(r) for r in CONVENTION_ROLES):
        # a loss convention only where a loss or D's outputs were logged (not for a synthetic
        # table alone, nor for a log of FIDs)
        context = {"equilibrium": ctx.eq.to_dict(), **context}
    other = {r: why for r, why in other_kind.items() if r not in ran_rules and r not in reasons}
    if other:  # --json keeps them; the text output does not list them as skipped
        context["not_this_kind"] = [{"rule": r, "reason": why} for r, why in other.items()]
    if views[0].columns:
        context["gans"] = [
            dict(v.to_dict(), equilibrium=c.eq.to_dict()) for v, c in zip(views, ctxs, strict=True)
        ]
    context["sample_evidence"] = sampled
    diag = Diagnosis(
        run.name,
        _verdict(findings, ran, skipped, sampled, no_samples(run)),
        findings,
        skipped,
        th,
        context,
    )
    diag.recommendation = recommend(run, findings, select_metric)
    div = next((c.diversity for c in ctxs if getattr(c, "diversity", None) is not None), None)
    if div is not None:
        diag.evidence["diversity"] = div  # the report shows the series the rule judged
    return diag


def _no_data_action(ctxs: list[RuleContext]) -> str:
    """What to log for a verdict: more often, when the losses are there but too few to judge
    (the trend rules need min_points, a short log MIN_SHORT rows that all agree)."""
    th = ctxs[0].th
    n = max(len(c.finite(m)) for c in ctxs for m in ("G_loss", "D_loss"))
    if 0 < n < th["min_points"]:
        return (
            f"Log more often: the losses were logged at {n} point(s); the trend rules need "
            f"{th['min_points']}, and a shorter log is judged from {MIN_SHORT} rows when "
            "every row agrees."
        )
    return (
        "Log G_loss, D_loss and D's outputs (D_x, D_G_z) or sample grids; see docs/rules.md "
        "for what each rule needs."
    )


def _weak_evidence(ctx: RuleContext, findings: list[Finding], ran: set[str]) -> str:
    """Why a run without problems may not be called healthy ("" when it may).

    Healthy needs the core evidence: D's outputs, or losses under a known (declared,
    format default or inferred) loss type; and, when the run has sample grids or
    sample metrics, a sample-side rule that ran.
    """
    h = next((f for f in findings if f.rule == "healthy_equilibrium"), None)
    if h is None:
        return ""
    why = []
    if "D_x" not in h.numbers and not loss_type_known(ctx.eq):
        why.append("D's outputs were not logged and the loss type is unknown (BCE assumed)")
    has_samples = available(ctx, "samples") or available(ctx, "sample_metric")
    if has_samples and not ran & {"mode_collapse", "over_training", "vector_collapse"}:
        why.append("the samples could not be judged")
    return "; ".join(why)


NO_SAMPLES = (
    "no samples or sample metrics were logged, so mode collapse cannot be ruled out "
    "(balanced losses do not show it)"
)


def unread_sample_metrics(run: Run) -> list[str]:
    """The sample metrics a run logs (EMD, KID, IS, ... in its scalars or metric files):
    when none was the one the rules judge by (FID unless chosen), named so the user can
    choose one."""
    sm = run.sample_metrics
    cols = list(run.metrics) + [c for c in getattr(sm, "columns", []) if c not in run.metrics]
    return [str(c) for c in cols if is_sample_metric(str(c))]


def no_samples(run: Run) -> str:
    """Why no samples could be judged: none were logged, or the logged images show no grid
    layout (TensorBoard's add_images tiles a batch with no padding between the tiles); with
    the sample metrics the run logs that the rules did not judge by, named."""
    n = len(run.samples)
    unread = unread_sample_metrics(run)
    if not n and unread:
        more = f" and {len(unread) - 3} more" if len(unread) > 3 else ""
        return (
            f"no samples were logged and the rules judged none of its sample metrics "
            f"({', '.join(unread[:3])}{more}: choose one with --metric), so mode collapse "
            "cannot be ruled out (balanced losses do not show it)"
        )
    if not n:
        return NO_SAMPLES
    return (
        f"the {n} logged sample image(s) show no grid layout (no padding between the tiles, "
        "as TensorBoard's add_images draws a batch), so the samples could not be judged and "
        "mode collapse cannot be ruled out"
    )


NOT_COMPARED = (
    "the samples were not compared with the real data (no sample metric such as FID, "
    "no real rows given with --real), so whether they look like the data is unknown"
)


def _samples_unjudged(run: Run, ctxs: list[RuleContext], sampled: bool) -> str:
    """Why the run may not be called healthy for want of sample evidence ("" when it may).

    "Healthy" needs samples judged against the real data: a sample metric (FID,
    precision/recall: computed against real images), vector samples with the real rows
    (--real), or image grids of a known real dataset (their diversity against the data's).
    Balanced losses, and samples that merely keep their diversity, do not show that G has
    learnt the data.
    """
    if not sampled:
        return no_samples(run)
    if run.vectors and run.real_table is not None:
        return ""
    if any(available(c, n) for c in ctxs for n in ("sample_metric", "sample_recall")):
        return ""
    if any(available(c, "samples") for c in ctxs) and real_dataset(run) is not None:
        return ""
    return NOT_COMPARED


def _verdict(
    findings: list[Finding],
    ran: int,
    skipped: list[tuple[str, str]],
    sampled: bool = True,
    unsampled: str = NO_SAMPLES,
) -> str:
    problems = [f for f in findings if f.severity != "info"]
    if not problems:
        h = next((f for f in findings if f.rule == "healthy_equilibrium"), None)
        v = next((f for f in findings if f.rule == "vector_collapse"), None)
        if h is not None or v is not None:
            bits = []
            if h is not None and "D_x" in h.numbers:
                n = h.numbers
                bits.append(f"D(x) {fmt_sig(n['D_x'], 2)}, D(G(z)) {fmt_sig(n['D_G_z'], 2)}")
            if h is not None and "D_loss" in h.numbers:
                bits.append(f"D loss {fmt_sig(h.numbers['D_loss'], 3)}")
            text = f", {'; '.join(bits)} near equilibrium at the end" if bits else ""
            if v is not None:
                text += "; " + v.message[0].lower() + v.message[1:].rstrip(".")
            # the one status decision (diagnose's no_problems finding, findings.status_of)
            why = next(
                (f.numbers.get("why_not_healthy") for f in findings if f.rule == "no_problems"),
                None,
            )
            if why:
                return f"No problems found{text}; not called healthy: {why}."
            return f"Healthy: no problems found{text}."
        nd = next((f for f in findings if f.rule == "no_data"), None)
        if nd is not None:
            return nd.message.split(";")[0] + "."
        return (
            f"No problems found by the {ran} checks that could run"
            + (f" ({len(skipped)} skipped)" if skipped else "")
            + ("" if sampled else f"; {unsampled}")
            + "."
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
