"""Per-class sample metrics of a conditional generator (`fid-sweep` on a run whose G takes a
label): FID within each class, conditional accuracy, class coverage, per-class diversity.

Everything is measured in the sweep's own feature space (the features FID uses) and
needs labelled real data (`realdata.RealData.labels`):

- per-class FID: the Fréchet distance between the real samples of class k and the
  samples generated for class k (`fid.frechet_distance` of their `feature_stats`);
  `cfid` is the mean over classes, `cfid_worst` the largest;
- conditional accuracy `cond_acc`: the share of generated samples that a k-nearest-
  neighbour classifier (scikit-learn's `KNeighborsClassifier`, k = KNN_K, fitted on the
  real features; nothing to download) assigns to the class they were generated for.
  Beside it: `cond_acc_chance`, the accuracy a G that ignores its label would get with
  the same predicted class shares (sum over k of requested share x predicted share,
  1/K for balanced requests), and `cond_acc_real`, the classifier's leave-one-out
  accuracy on the real samples themselves (the ceiling a perfect G reaches);
- `class_coverage`: the share of classes that receive at least half their fair share
  (1/2K) of the generated samples, whatever was requested;
- `cdiv`: the generated samples' mean pairwise feature distance over the real data's
  (both on at most DIVERSITY_SAMPLES samples).

The per-class numbers (FID, accuracy, the class most samples of each requested class
are assigned to and its share, diversity relative to the real class) go in one JSON
column, `per_class`, so that a run's table keeps one column per idea.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..errors import GanAnalyzeError
from .fid import feature_stats, fid_few_samples, frechet_distance

KNN_K = 5
DIVERSITY_SAMPLES = 1000
PER_CLASS_KEYS = ("fid", "acc", "pred", "pred_share", "div", "n")


def _host(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def need_labels(labels, metric: str) -> tuple[np.ndarray, np.ndarray, int]:
    """(real labels, fake labels, class count) or a clear error naming what is missing."""
    if labels is None:
        raise GanAnalyzeError(
            f"metric {metric!r} needs labelled real data (a folder per class, an array "
            "'labels' beside the images, or sklearn-digits) and a conditional generator "
            "(generator_spec(..., classes=K))"
        )
    real_y, fake_y, k = labels
    return np.asarray(real_y, np.int64), np.asarray(fake_y, np.int64), int(k)


def class_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """The Fréchet distance between two feature sets of one class (NaN with < 2 of either)."""
    if len(real) < 2 or len(fake) < 2:
        return float("nan")
    mu_r, sigma_r = feature_stats(real)
    if len(fake) < fake.shape[1]:
        return fid_few_samples(fake, mu_r, sigma_r)
    return frechet_distance(mu_r, sigma_r, *feature_stats(fake))


def per_class_fid(real, real_y, fake, fake_y, classes: int) -> np.ndarray:
    """FID of each class 0..classes-1 against that class's real samples (NaN where too few)."""
    real, fake = _host(real), _host(fake)
    return np.array(
        [class_fid(real[real_y == k], fake[fake_y == k]) for k in range(classes)],
        dtype=np.float64,
    )


def _mean_distance(x: np.ndarray) -> float:
    from scipy.spatial.distance import pdist

    if len(x) > DIVERSITY_SAMPLES:
        x = x[np.linspace(0, len(x) - 1, DIVERSITY_SAMPLES).astype(np.int64)]
    return float(pdist(x).mean()) if len(x) >= 2 else float("nan")


def _vote(neighbour_labels: np.ndarray, classes: int) -> np.ndarray:
    """Majority class of each row of neighbour labels (ties: the smaller class, as sklearn)."""
    counts = np.zeros((len(neighbour_labels), classes), dtype=np.int64)
    np.add.at(
        counts,
        (
            np.repeat(np.arange(len(neighbour_labels)), neighbour_labels.shape[1]),
            neighbour_labels.reshape(-1),
        ),
        1,
    )
    return counts.argmax(axis=1)


def conditional_scores(real, real_y, fake, fake_y, classes: int) -> dict[str, Any]:
    """cond_acc, cond_acc_chance, cond_acc_real, class_coverage, cdiv and the per-class
    accuracy, assigned class, its share and diversity (see the module docstring)."""
    from sklearn.neighbors import KNeighborsClassifier

    real, fake = _host(real), _host(fake)
    if len(real) <= KNN_K:
        raise GanAnalyzeError(f"conditional accuracy needs more than {KNN_K} real samples")
    knn = KNeighborsClassifier(n_neighbors=KNN_K).fit(real, real_y)
    pred = knn.predict(fake).astype(np.int64)
    top = max(classes, int(real_y.max()) + 1)  # real classes the generator is never asked for
    loo = _vote(real_y[knn.kneighbors(None, return_distance=False)], top)
    req = np.bincount(fake_y, minlength=top)[:top] / len(fake_y)
    got = np.bincount(pred, minlength=top)[:top] / len(pred)
    acc, pred_k, share, div, n = [], [], [], [], []
    for k in range(classes):
        mine = fake_y == k
        n.append(int(mine.sum()))
        if not mine.any():
            acc.append(float("nan"))
            pred_k.append(-1)
            share.append(float("nan"))
            div.append(float("nan"))
            continue
        acc.append(float((pred[mine] == k).mean()))
        c = np.bincount(pred[mine], minlength=top)
        pred_k.append(int(c.argmax()))
        share.append(float(c.max() / mine.sum()))
        real_div = _mean_distance(real[real_y == k])
        div.append(_mean_distance(fake[mine]) / real_div if real_div > 0 else float("nan"))
    return {
        "cond_acc": float((pred == fake_y).mean()),
        "cond_acc_chance": float(req @ got),
        "cond_acc_real": float((loo == real_y).mean()),
        "class_coverage": float((got[:classes] >= 0.5 / classes).mean()),
        "cdiv": _mean_distance(fake) / _mean_distance(real),
        "acc": acc,
        "pred": pred_k,
        "pred_share": share,
        "div": div,
        "n": n,
    }


def merge_per_class(row: dict[str, Any], **lists: list) -> None:
    """Add per-class lists to the row's `per_class` JSON (NaN stored as null)."""
    have = json.loads(row["per_class"]) if row.get("per_class") else {}
    for key, vals in lists.items():
        have[key] = [None if isinstance(v, float) and not np.isfinite(v) else v for v in vals]
    row["per_class"] = json.dumps(have)


def read_per_class(text: Any) -> dict[str, list]:
    """The per-class lists of a stored `per_class` value ({} when absent or unreadable)."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        k: [float("nan") if v is None else v for v in data[k]]
        for k in PER_CLASS_KEYS
        if isinstance(data.get(k), list)
    }


def cfid_metric(real, fake, fake_logits=None, *, labels=None, **_kw) -> dict[str, Any]:
    """Per-class FID: cfid (mean over classes), cfid_worst, and each class's in per_class."""
    real_y, fake_y, k = need_labels(labels, "cfid")
    real = need_real(real, "cfid")
    fids = per_class_fid(real, real_y, fake, fake_y, k)
    out: dict[str, Any] = {
        "cfid": float(np.nanmean(fids)) if np.isfinite(fids).any() else float("nan"),
        "cfid_worst": float(np.nanmax(fids)) if np.isfinite(fids).any() else float("nan"),
    }
    merge_per_class(out, fid=[float(v) for v in fids])
    return out


def cacc_metric(real, fake, fake_logits=None, *, labels=None, **_kw) -> dict[str, Any]:
    """Conditional accuracy (with its chance level and the real data's score), class coverage."""
    real_y, fake_y, k = need_labels(labels, "cacc")
    s = conditional_scores(need_real(real, "cacc"), real_y, fake, fake_y, k)
    out = {
        c: s[c] for c in ("cond_acc", "cond_acc_chance", "cond_acc_real", "class_coverage", "cdiv")
    }
    merge_per_class(out, **{c: s[c] for c in ("acc", "pred", "pred_share", "div", "n")})
    return out


def need_real(real, metric: str):
    if real is None:
        raise GanAnalyzeError(f"metric {metric!r} needs real features (not only statistics)")
    return real
