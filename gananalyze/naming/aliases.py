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
        "l_g_gan",
        "loss_disc_fake_g",  # MMGeneration: D's verdict on fakes, scored as G's loss
        "Gen.",  # CTGAN's progress bar: `Gen. (+01.21) | Discrim. (+00.02)`
        "train/G_loss",
        "gen_loss",
        "gloss",
    ],
    "D_loss": [
        "Loss/D/loss",
        "loss_D",
        "D_loss",
        "d_loss",
        "lossD",
        "train/D_loss",
        "disc_loss",
        "Discrim.",
        "dloss",  # one glued word, no separator or case change to split on (anoGAN's print)
    ],
    # SRGAN's statistics CSV (leftthomas/SRGAN): Score_D / Score_G are D's mean sigmoid
    # output on real / generated images (its progress bar prints them as D(x) / D(G(z)))
    "D_x": ["D_x", "D(x)", "d_real", "out_d_real_prob", "Score_D"],
    "D_G_z_before": ["D_G_z_before", "D_G_z1", "D(G(z))", "d_fake", "Score_G"],
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

# Sample metrics where a larger value is better (lower-case): the scores both sets
# below hold.
_HIGHER_SAMPLE_SCORES = frozenset(
    {"is", "isc", "inception_score", "precision", "recall", "density", "coverage", "psnr", "ssim"}
    | {"cond_acc", "class_coverage"}  # a conditional G's (metrics/conditional.py)
)

# Metrics where a larger value is better (lower-case). Every other metric
# (FID, KID, PPL, losses, distances) is lower-is-better. The one place that
# knows a metric's direction: rules, report, compare and fid-sweep all ask it.
HIGHER_IS_BETTER = _HIGHER_SAMPLE_SCORES | {"d_acc", "accuracy"}

# Sample metrics (lower-case): numbers computed from generated samples, which rank
# checkpoints and feed the over-training and jump rules. Any other name (a loss, D(x),
# a gradient norm) is a training signal: `compare --metric` ranks by its level at the
# end of the run and the rules keep judging samples by FID (analysis.evaluations).
SAMPLE_METRICS = _HIGHER_SAMPLE_SCORES | {
    "fid",
    "kid",
    "cfid",
    "cfid_worst",
    "ppl",
    "lpips",
    "swd",
    "emd",  # earth mover's distance between samples and data (toy and 2-D GANs)
    "mmd",  # maximum mean discrepancy between samples and data (not MMD-GAN's mmd2 loss)
    "prdc",
    "fid50k_full",
    "fid50k",
    "fid10k",
    "kid50k_full",
    "is50k",
    "pr50k3_full",
}

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
    return (
        m in SAMPLE_METRICS
        or canonical(metric).lower() in SAMPLE_METRICS
        or (head in SAMPLE_METRICS)
    )


# Config hints: canonical hint -> the keys trainers spell it with. Keys compare lower-case
# with `-`, ` ` and `.` read as `_`, at any depth of a nested config (the last part of
# the path: `model/gan_loss` is `gan_loss`). Read by `config_hints`.
CONFIG_HINTS: dict[str, list[str]] = {
    "loss": [
        "loss",
        "loss_type",
        "gan_loss",
        "gan_mode",
        "gan_type",
        "adv_loss",
        "adversarial_loss",
        "gan_loss_type",
        "loss_mode",
        "criterion",
    ],
    "g_loss": ["g_loss", "g_loss_type", "generator_loss", "gen_loss_type", "g_loss_mode"],
    "d_loss_reduction": ["d_loss_reduction", "d_reduction", "d_loss_reduce"],
    # how many discriminators' losses the logged D and G losses add up (VITS: 6 sub-Ds)
    "summed_discriminators": ["summed_discriminators", "discriminators_summed"],
    "d_lr": [
        "lr_d",
        "d_lr",
        "lrd",
        "lr_dis",
        "dis_lr",
        "lr_disc",
        "disc_lr",
        "lr_discriminator",
        "discriminator_lr",
        "d_learning_rate",
        "learning_rate_d",
        "discriminator_learning_rate",
        "lr_critic",
        "critic_lr",
    ],
}

# Boolean config keys that state a hint when true (`saturating_g_loss: true`):
# (hint, value it states) -> the keys trainers spell it with.
CONFIG_FLAGS: dict[tuple[str, str], list[str]] = {
    ("g_loss", "saturating"): [
        "saturating_g_loss",
        "saturating_loss",
        "saturating",
        "use_saturating_loss",
    ],
    ("g_loss", "non-saturating"): ["non_saturating", "non_saturating_g_loss"],
    ("loss", "lsgan"): ["use_lsgan", "lsgan"],
    ("loss", "wgan"): ["use_wgan", "wgan"],
    ("loss", "hinge"): ["use_hinge", "hinge_loss"],
}

# Values of the g_loss hint, in any spelling.
G_LOSS_VALUES: dict[str, str] = {
    "saturating": "saturating",
    "sat": "saturating",
    "minimax": "saturating",
    "log(1-d(g(z)))": "saturating",
    "non-saturating": "non-saturating",
    "non_saturating": "non-saturating",
    "nonsaturating": "non-saturating",
    "ns": "non-saturating",
    "-log(d(g(z)))": "non-saturating",
}


def _hint_key(key: str) -> str:
    last = str(key).replace("\\", "/").split("/")[-1]
    return last.strip().lower().replace("-", "_").replace(" ", "_").replace(".", "_")


def _flat_items(config: dict, prefix: str = "", depth: int = 0):
    for k, v in config.items():
        if isinstance(v, dict) and depth < 8:
            yield from _flat_items(v, f"{prefix}{k}/", depth + 1)
        else:
            yield f"{prefix}{k}", v


def config_hints(config: dict) -> dict[str, tuple[str, str]]:
    """{hint: (value, config key it came from)} for the hints a config states (CONFIG_HINTS,
    CONFIG_FLAGS); the first key in table order wins, a spelled-out key over a flag."""
    by_key: dict[str, list[tuple[str, object]]] = {}
    for path, v in _flat_items(config or {}):
        by_key.setdefault(_hint_key(path), []).append((path, v))
    out: dict[str, tuple[str, str]] = {}
    for hint, names in CONFIG_HINTS.items():
        for name in names:
            for path, v in by_key.get(name, []):
                if isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v).strip():
                    val = str(v).strip().lower()
                    if hint == "g_loss":
                        val = G_LOSS_VALUES.get(val.replace(" ", ""), val)
                    out.setdefault(hint, (val, path))
    for (hint, val), flags in CONFIG_FLAGS.items():
        for path, v in [kv for flag in flags for kv in by_key.get(flag, [])]:
            if v is True or str(v).strip().lower() in ("true", "yes", "1"):
                out.setdefault(hint, (val, path))
    return out
