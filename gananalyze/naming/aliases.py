"""One table mapping the canonical metric names to the names other trainers use.

gananalyze's own logging API writes the canonical names. Imported runs keep their
original column names (so nothing is renamed behind the user's back); the rules,
the report and `compare` find "the G loss" of any run through this table.
"""

from __future__ import annotations

from collections.abc import Iterable

# canonical name -> other names meaning the same thing, most specific first.
ALIASES: dict[str, list[str]] = {
    "G_loss": [
        "Loss/G/loss",
        "loss_G",
        "G_loss",
        "g_loss",
        "lossG",
        "G_GAN",
        "losses/l_g_gan",
        "train/G_loss",
        "gen_loss",
    ],
    "D_loss": ["Loss/D/loss", "loss_D", "D_loss", "d_loss", "lossD", "train/D_loss", "disc_loss"],
    "D_x": ["D_x", "D(x)", "d_real", "out_d_real_prob"],
    "D_G_z_before": ["D_G_z_before", "D_G_z1", "D(G(z))", "d_fake"],
    "D_G_z_after": ["D_G_z_after", "D_G_z2"],
    "D_x_logit": [
        "D_x_logit",
        "Loss/scores/real",
        "out_d_real",
    ],  # raw D scores (logits) on real data
    "D_G_z_logit": [
        "D_G_z_logit",
        "Loss/scores/fake",
        "out_d_fake",
    ],  # raw D scores (logits) on fakes
    "D_acc": ["D_acc", "d_acc", "D_accuracy"],
    "G_grad_norm": ["G_grad_norm", "grad_norm/G", "g_grad_norm"],
    "D_grad_norm": ["D_grad_norm", "grad_norm/D", "d_grad_norm"],
    "fid": ["fid", "fid50k_full", "fid50k", "fid10k", "FID"],
}

# Metrics where a larger value is better (lower-case). Every other metric
# (FID, KID, PPL, losses, distances) is lower-is-better. The one place that
# knows a metric's direction: rules, report, compare and fid-sweep all ask it.
HIGHER_IS_BETTER = frozenset(
    {
        "is",
        "isc",
        "inception_score",
        "precision",
        "recall",
        "density",
        "coverage",
        "d_acc",
        "accuracy",
        "psnr",
        "ssim",
    }
)

# Sample metrics (lower-case): numbers computed from generated samples, which rank
# checkpoints and feed the over-training and jump rules. Any other name (a loss, D(x),
# a gradient norm) is a training signal: `compare --metric` ranks by its level at the
# end of the run and the rules keep judging samples by FID (analysis.evaluations).
SAMPLE_METRICS = frozenset(
    {
        "fid",
        "kid",
        "is",
        "isc",
        "inception_score",
        "precision",
        "recall",
        "density",
        "coverage",
        "ppl",
        "lpips",
        "psnr",
        "ssim",
        "swd",
        "prdc",
        "fid50k_full",
        "fid50k",
        "fid10k",
        "kid50k_full",
        "is50k",
        "pr50k3_full",
    }
)

# Display names for the canonical metrics.
LABELS: dict[str, str] = {
    "G_loss": "G loss",
    "D_loss": "D loss",
    "D_x": "D(x)",
    "D_G_z_before": "D(G(z)) before D update",
    "D_G_z_after": "D(G(z)) after D update",
    "D_acc": "D accuracy",
    "G_grad_norm": "G gradient norm",
    "D_grad_norm": "D gradient norm",
    "fid": "FID",
}


def resolve(canonical: str, columns: Iterable[str]) -> str | None:
    """The column among `columns` that holds `canonical`, or None.

    An exact canonical name wins; otherwise the first alias present.
    """
    cols = list(columns)
    present = set(cols)
    if canonical in present:
        return canonical
    for name in ALIASES.get(canonical, []):
        if name in present:
            return name
    return None


def canonical(column: str) -> str:
    """The canonical name of a column (through the alias table), else the column itself."""
    if column in ALIASES:
        return column
    for canon, names in ALIASES.items():
        if column in names:
            return canon
    return column


def label(metric: str) -> str:
    """Display name of a metric (canonical names get a readable label)."""
    return LABELS.get(metric, metric)


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of `metric` (a name or an alias) is better."""
    return metric.lower() in HIGHER_IS_BETTER or canonical(metric).lower() in HIGHER_IS_BETTER


def is_sample_metric(metric: str) -> bool:
    """Whether `metric` is a sample metric (SAMPLE_METRICS; `fid50k_full`, `kid_mean`,
    `precision/...` count by their first word)."""
    m = metric.lower()
    head = m.replace("/", "_").split("_")[0]
    return m in SAMPLE_METRICS or canonical(metric).lower() in SAMPLE_METRICS or (
        head in SAMPLE_METRICS
    )
