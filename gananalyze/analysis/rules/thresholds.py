"""The one table of rule thresholds, and reading a user's overrides (JSON/YAML).

Every key of `DEFAULT_THRESHOLDS` is documented in docs/rules.md; `validate_thresholds`
refuses unknown keys and wrong types, so a typo never silently does nothing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ...errors import GanAnalyzeError

# The one table of thresholds. Every key is documented in docs/rules.md.
DEFAULT_THRESHOLDS: dict[str, Any] = {
    # how curves are summarised
    "max_bins": 200,  # a run is cut into at most this many bins of consecutive steps
    "min_bin_points": 5,  # ... each holding at least this many logged rows
    "min_points": 20,  # a metric with fewer logged points counts as absent
    # "sustained" = over consecutive bins covering this fraction of the run
    "sustain_fraction": 0.1,
    "sustain_min_bins": 3,  # ... and at least this many bins
    "baseline_fraction": 0.2,  # "early value" = median over the first 20% of the run
    "warmup_fraction": 0.05,  # the first 5% of the run is warm-up: oscillation ignores it
    "tail_fraction": 0.25,  # "the end of the run" = its last 25%
    # loss conventions
    # "sum" | "mean" | "auto" (config key d_loss_reduction, else the data)
    "d_loss_reduction": "auto",
    # an unknown loss type is inferred as Wasserstein when at least this share of the D loss's
    # points are negative (BCE, LSGAN and hinge D losses are >= 0; a few negative points can be a
    # logging offset)
    "signed_loss_share": 0.1,
    # d_overpowering
    "d_over_dx_min": 0.95,  # D(x) at least this ...
    "d_over_dgz_max": 0.05,  # ... and D(G(z)) at most this
    # or (no D outputs logged) D loss below this fraction of its equilibrium value
    "d_over_loss_frac": 0.075,
    # or D(G(z)) implied by the G loss (no D outputs logged) at most this, while the D loss is
    # below this fraction of its equilibrium (D rejects 90% of fakes and is clearly winning)
    "d_over_implied_dgz_max": 0.1,
    "d_over_implied_loss_frac": 0.4,
    # a D-wins stretch stays open while D(x) - D(G(z)) is at least this (or the D loss below
    # twice d_over_loss_frac of equilibrium): a D that still wins at the end is an error
    "d_over_hold_gap": 0.7,
    # g_overpowering
    "g_over_dgz_min": 0.6,  # D(G(z)) sustained above this
    # ... without D's outputs, as the G loss implies it, while the D loss rose by at least this
    # fraction above its level before the stretch
    "g_over_d_rise": 0.1,
    # mode_collapse
    "collapse_ratio": 0.5,  # grid diversity below this fraction of its earlier peak
    # ... or the run ending below this fraction of the real data's diversity
    "collapse_real_ratio": 0.5,
    "collapse_dup_frac": 0.25,  # ... or this fraction of sample pairs being near-duplicates
    "collapse_g_drop_z": 5.0,  # G loss drop between bins, robust z below -this ...
    "collapse_dgz_osc": 3.0,  # ... while D(G(z))'s dispersion exceeds this multiple of its median
    # ... and the drop is at least this fraction of the G loss's scale
    "collapse_g_drop_min_frac": 0.1,
    "collapse_dgz_min_disp": 0.02,  # ... and D(G(z))'s dispersion at least this (probability units)
    # ... or recall (coverage) at most this while precision (density) is at least the next: the
    # samples look real but cover few modes (a collapse on 8 Gaussians: recall <= 0.13 against
    # ~0.98 for a healthy run)
    "collapse_recall_max": 0.3,
    "collapse_precision_min": 0.5,
    # ... or mode hopping (rules/hopping.py): consecutive grids, both with hop_dup_frac of their
    # sample pairs near-copies, whose mean samples lie this many times further apart than the
    # samples within them and at least hop_min_shift apart (RMS per pixel), for hop_min_hops
    # pairs of grids
    "hop_dup_frac": 0.05,
    "hop_shift_ratio": 2.0,
    "hop_min_shift": 0.05,
    "hop_min_hops": 2,
    # mode_collapse behind a D flat at chance: D(x) and D(G(z)) within chance_tol of 0.5 (or the
    # losses within chance_tol, relative, of equilibrium) in chance_share of the bins; then the
    # samples show collapse at weaker thresholds: diversity below chance_collapse_ratio of its
    # peak or of the real data's, chance_dup_frac near-copy pairs, or a single hop
    "chance_tol": 0.05,
    "chance_share": 0.9,
    "chance_collapse_ratio": 0.75,
    "chance_dup_frac": 0.1,
    # ... or the mean sample moving between consecutive grids by at least this many times what
    # sampling alone moves it (median over the pairs; a G drawing one distribution scores ~1)
    "chance_drift_min": 2.0,
    # sample_quality: recall (coverage) at most this at every evaluation, or precision and recall
    # both at most poor_pr_max at every one: the samples never came near the real data (a
    # healthy run's k-NN recall is 0.3-0.9)
    "poor_recall_max": 0.1,
    "poor_pr_max": 0.15,
    "fid_jump_ratio": 1.5,  # a sample metric (FID) worse by this factor than the evaluation before
    "fid_transient_ratio": 2.0,  # ... one such rise that recovers: a transient from this factor
    # vector_collapse (vector/sequence samples)
    # tabular_fidelity (synthetic rows against the real table)
    "tab_column_max": 0.15,  # a column fails above this KS / total-variation distance ...
    "tab_corr_diff_max": 0.3,  # a pair fails above this |correlation difference|
    # the table is flagged when its mean column distance exceeds tab_column_max, or its mean
    # |correlation difference| over pairs this (SDMetrics' averaged scores), or when half its
    # columns or one pair by twice its limit fail; a minority of failing columns is info
    "tab_corr_mean_max": 0.15,
    "tab_dup_excess": 0.05,  # duplicated rows beyond the real table's share by this
    "tab_copy_excess": 0.1,  # rows nearer a real record than real rows' 5th pct., beyond 5%
    "vec_coverage_min": 0.5,  # coverage of the real rows below this is collapse
    "vec_low_columns_frac": 0.5,  # ... or this fraction of columns under half the real spread
    # sample_quality on vector samples with --real: precision or recall under this fraction
    # of the real rows' own (as many real rows against other real rows): not yet like the data
    "vec_like_real_frac": 0.5,
    # divergence
    "grad_explode_abs": 100.0,  # gradient norm above this ...
    "grad_explode_ratio": 10.0,  # ... and this many times its early value
    "loss_explode_ratio": 100.0,  # |loss| this many times its early scale
    # a D loss this many times the largest equilibrium of every convention consistent with
    # the run (25 x 2 = 50: half BCELoss's clamp of 100 per term) is far out from the start
    "loss_far_ratio": 25.0,
    # samples_run_away (a divergence finding): D(G(z)) saturated at >= this ...
    "runaway_dgz_min": 0.999,
    "runaway_dx_max": 0.99,  # ... while D(x) stays at most this (not saturated alike) ...
    # ... and the D loss at least this many times its equilibrium (the largest equilibrium of
    # every convention consistent with the run when the loss type is not known): worse than chance
    "runaway_d_loss_ratio": 2.0,
    # vanishing_gradients
    "vanish_ratio": 0.01,  # gradient norm below this fraction of its early value
    "vanish_abs": 1e-7,  # ... or below this absolute value
    # oscillation
    "osc_z": 5.0,  # robust z of the log dispersion above this ...
    "osc_ratio": 3.0,  # ... and dispersion this many times its median
    # ... and above this fraction of the loss's scale (|equilibrium|, else its median |value|)
    "osc_min_frac": 0.05,
    # oscillation from the first step (wild.py): spikes above this many times the loss's scale
    # (|equilibrium| or its median |value|, whichever is larger) ...
    "wild_spike_ratio": 100.0,
    "wild_min_share": 0.01,  # ... at >= this share of the points (and at least 2) ...
    "wild_flip_share": 0.5,  # ... and, for a signed loss, sign flips at >= this share of points
    # d_stalled
    "stall_flat_rel": 0.005,  # D loss flat: bin medians and in-bin spread within 0.5% of its level
    "stall_other_move": 0.1,  # ... while the G loss moves by at least 10% of its level
    # ... or the D loss above this multiple of the largest equilibrium of every convention
    # consistent with the run (summed) over a stretch to the end that begins in the run's first
    # chance_worse_start, ending under chance_plateau_ratio x its first half (not a climb)
    "chance_worse_ratio": 1.1,
    "chance_worse_start": 0.2,
    "chance_plateau_ratio": 1.25,
    # ... or D and G losses on a convention's chance pair (a D that outputs one value for all
    # inputs): bin medians and in-bin spread within this fraction of it, sustained
    "indifference_tol": 0.002,
    "g_still_rel": 1e-4,  # G loss still: its point-to-point change under this of its level
    "g_still_d_moves": 10.0,  # ... while the D loss moves this many times more, relatively
    # divergence: D loss + G loss (D's loss on the real data under Wasserstein, hinge and
    # saturating BCE) within this fraction of the G loss's fall: G climbs a fixed critic
    "fixed_critic_ratio": 0.1,
    "climb_min_fall": 0.2,  # ... and the G loss fell by this much of its larger size
    # divergence: image samples outside the grid's range (RunLog's "outside" and "reach")
    "samples_outside_share": 0.5,  # at least this share of the values outside the range
    "samples_reach": 20.0,  # ... and the furthest this many half-widths from its centre
    # wgan_critic
    "wgan_grow_ratio": 10.0,  # critic gap at the end this many times its early |value|, rising
    "wgan_gap_vanish_frac": 0.05,  # ... or (weights clipped) below this fraction of its scale
    # the critic wins: its gap positive in this share of the bins and ending at this fraction
    # of its peak or more (G never closed it)
    "wgan_hold_positive": 0.9,
    "wgan_hold_frac": 0.75,
    "wgan_hold_snr": 10.0,  # ... its peak at least this many times its median in-bin spread
    "wgan_hold_peak_by": 0.33,  # ... reached within this share of the run (G had twice as long)
    # over_training
    "overtrain_margin": 0.05,  # the last evaluation worse than the best by more than 5% (relative)
    # ... and at least this many evaluations after the best worse by the margin (one bad evaluation
    # is noise)
    "overtrain_min_later": 2,
    "min_evaluations": 3,  # sample-metric evaluations needed
    # a sample-metric change (FID jump, over-training) must exceed this many combined standard
    # deviations of the evaluations' noise (the sweep's fid_std, else the run's own scatter)
    "metric_noise_z": 2.0,
    "noise_min_evaluations": 10,  # the run's own scatter is estimated from this many evaluations
    # conditional_collapse, class_dropping, class_mode_collapse (a conditional G's per-class sweep)
    # "near chance": accuracy below chance + this fraction of (real data's score - chance)
    "cond_chance_frac": 0.25,
    "cond_noise_z": 3.0,  # ... and below the real data's score by this many standard errors
    "cond_coverage_min": 0.5,  # samples diverse: at least this share of classes covered ...
    "cond_diversity_min": 0.5,  # ... at this fraction of the real data's diversity
    "drop_share_min": 0.5,  # a dropped label: this share of its samples are one other class
    "drop_max_frac": 0.5,  # more dropped (collapsed) classes than this share: not a per-class fault
    "class_div_min": 0.4,  # a class collapsed: diversity below this x its real samples' ...
    "class_div_fine": 0.7,  # ... while the median class keeps at least this
    # healthy_equilibrium
    "eq_prob_tol": 0.2,  # D(x), D(G(z)) within 0.5 +- this at the end of the run
    "eq_order_tol": 0.1,  # ... with D(G(z)) no more than this above D(x) (D not preferring fakes)
    # losses within a factor 3 of their equilibrium value (|diff| <= 2 x max(|eq|, 0.5) when eq <=
    # 0)
    "eq_loss_factor": 3.0,
}


_STRING_KEYS = {"d_loss_reduction": ("auto", "sum", "mean")}


_INT_KEYS = {
    "max_bins",
    "min_bin_points",
    "min_points",
    "sustain_min_bins",
    "min_evaluations",
    "noise_min_evaluations",
    "hop_min_hops",
}


def validate_thresholds(overrides: dict[str, Any], source: str = "thresholds") -> dict[str, Any]:
    """DEFAULT_THRESHOLDS updated with `overrides`, checked: unknown keys or wrong types raise."""
    if not isinstance(overrides, dict):
        raise GanAnalyzeError(f"{source}: expected a mapping of threshold names to values")
    unknown = sorted(set(overrides) - set(DEFAULT_THRESHOLDS))
    if unknown:
        raise GanAnalyzeError(
            f"{source}: unknown threshold(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(DEFAULT_THRESHOLDS)}"
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
