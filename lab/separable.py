"""How far loss curves alone tell a collapsed run from a healthy one (issue 22): the ceiling
any rule reading only G and D losses has on the lab's collapse class.

For the runs of the two classes whose log holds both losses, 33 features per run (per loss:
the medians and the relative step-to-step spread of each quarter, min, max, relative std;
plus the run's true loss type, which the tool does not have) train a random forest and a
logistic regression on the tune half; the test half gives the ROC AUC and the share of its
collapses caught at no more than 2% false alarms on its healthy runs (the done-when's
operating point).

    python -m lab.separable            # reads the built lab (make lab)
"""

from __future__ import annotations

import json
import math

import numpy as np

from .score import RUNS, TRAIN, truth_of
from .specs import half_of

LOSSES = ("bce_ns_mean", "bce_ns_sum", "bce_sat_mean", "bce_sat_sum", "hinge", "lsgan")
LOSSES += ("wgan_clip", "wgan_gp")
COLLAPSE = {"collapse", "mode_hopping", "late_collapse"}


def curve_features(s: np.ndarray) -> list[float]:
    """Quarter medians and relative step-to-step spreads, min, max, relative std."""
    s = s[np.isfinite(s)]
    n = len(s)
    q = [s[: max(1, n // 4)], s[n // 4 : n // 2], s[n // 2 : 3 * n // 4], s[3 * n // 4 :]]
    med = [float(np.median(x)) if len(x) else math.nan for x in q]
    spread = [
        float(np.median(np.abs(np.diff(x))) / (abs(np.median(x)) + 1e-6))
        if len(x) > 2
        else math.nan
        for x in q
    ]
    rel_std = float(np.std(s) / (abs(np.mean(s)) + 1e-6))
    return med + spread + [float(s.min()), float(s.max()), rel_std]


def table() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """half -> (features, 1 for a collapse / 0 for healthy) over the built lab."""
    from gananalyze.analysis.rules.context import RuleContext
    from gananalyze.analysis.rules.thresholds import validate_thresholds
    from gananalyze.errors import GanAnalyzeError
    from gananalyze.loader import load_run
    from gananalyze.naming.roles import gan_views

    th = validate_thresholds({})
    out: dict[str, tuple[list, list]] = {"tune": ([], []), "test": ([], [])}
    for meta_p in sorted(TRAIN.glob("*.json")):
        meta = json.loads(meta_p.read_text())
        truth = truth_of(meta)
        folder = RUNS / meta["id"]
        if (truth != "healthy" and truth not in COLLAPSE) or not (folder / ".done").is_file():
            continue
        try:
            run = load_run(folder)
        except GanAnalyzeError:
            continue
        view = gan_views(run)[0]
        ctx = RuleContext(run, th, view=view if view.columns else None)
        if not (ctx.has("D_loss") and ctx.has("G_loss")):
            continue
        f = curve_features(ctx.finite("D_loss").to_numpy(np.float64))
        f += curve_features(ctx.finite("G_loss").to_numpy(np.float64))
        f += [float(meta["spec"]["loss"] == lo) for lo in LOSSES]
        x, y = out[half_of(int(meta["spec"]["seed"]))]
        x.append(f)
        y.append(int(truth != "healthy"))
    return {
        h: (np.nan_to_num(np.array(x), nan=0.0, posinf=1e6, neginf=-1e6), np.array(y))
        for h, (x, y) in out.items()
    }


def main() -> int:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    data = table()
    (xa, ya), (xb, yb) = data["tune"], data["test"]
    print(
        f"runs with both losses: tune {len(ya)} ({int(ya.sum())} collapses), "
        f"test {len(yb)} ({int(yb.sum())} collapses)"
    )
    models = {
        "random forest": RandomForestClassifier(300, random_state=0, min_samples_leaf=2),
        "logistic regression": LogisticRegression(max_iter=5000, C=0.3),
    }
    for name, m in models.items():
        p = m.fit(xa, ya).predict_proba(xb)[:, 1]
        healthy = np.sort(p[yb == 0])[::-1]
        k = int(math.floor(0.02 * len(healthy)))  # false alarms allowed on healthy runs
        cut = healthy[k] if k < len(healthy) else 1.0
        caught = int(((p > cut) & (yb == 1)).sum())
        print(
            f"{name}: test AUC {roc_auc_score(yb, p):.2f}; at <= 2% false alarms "
            f"{caught} of {int(yb.sum())} collapses caught"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
