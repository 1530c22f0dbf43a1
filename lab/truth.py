"""The labelling rule: a run's truth class from its samples and D's outputs alone.

It never imports gananalyze's rules. Per checkpoint (11 per run, 500 fixed-noise samples):

- 2-D mixtures (ring of 8, 3x3 grid; sigma 0.1): a mode is covered when >= 2% of the
  samples lie within 3 sigma of its centre; quality = share of samples within 3 sigma of
  any centre. Good: >= 75% of modes covered and quality >= 0.5. Collapsed: <= 50% covered.
- 8x8 digits: a logistic regression trained on the real digits labels the samples; a class
  is covered when >= 2% of the confident samples (max probability >= 0.7) fall in it;
  quality = share of confident samples. Good: >= 8 classes and quality >= 0.5. Collapsed:
  <= 5 classes (or fewer than 5% confident samples with all in <= 5 classes).
- the table (5 standardised columns): column score = mean Kolmogorov-Smirnov statistic,
  pair score = mean |correlation difference| over the 10 pairs, spread = median ratio of
  generated to real column standard deviation. Good: KS <= 0.15 and pair <= 0.15.
  Collapsed: spread <= 0.35.

Classes (first that holds):
  divergence     a loss or sample is not finite, or samples lie > 20x the data's scale
  clamped        D's outputs saturated alike on real and fake (BCE: both > 0.999 or both
                 < 0.001) at the last 3 checkpoints, or constant over inputs (std < 1e-6)
  d_wins         D separates held-out real rows from the samples with >= 95% accuracy at
                 the last 3 checkpoints, and the final samples are not good
  mode_hopping   collapsed at each of the last 4 checkpoints, while the modes covered
                 over them together are >= 1.5x those covered at any one and >= 75% of all
                 (mixtures and digits)
  late_collapse  good at a checkpoint at or after 30% of the run, collapsed at the end
  collapse       collapsed at the end
  healthy        good at the end
  poor           none of these (samples not good, not collapsed: a G still learning)
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .data import MIX_STD, Dataset

CLASSES = (
    "healthy",
    "d_wins",
    "collapse",
    "mode_hopping",
    "late_collapse",
    "divergence",
    "clamped",
    "poor",
)


@lru_cache(maxsize=1)
def _digit_classifier():
    from sklearn.linear_model import LogisticRegression

    from .data import digit_labels, digits

    return LogisticRegression(max_iter=3000, C=1.0).fit(digits().x, digit_labels())


def checkpoint_scores(ds: Dataset, x: np.ndarray) -> dict:
    """covered (set of modes/classes), n_modes, quality, good, collapsed for one checkpoint."""
    if not np.isfinite(x).all() or np.abs(x).max() > 20 * max(1.0, np.abs(ds.x).max()):
        return {"finite": False, "good": False, "collapsed": False, "covered": [], "quality": 0.0}
    if ds.kind == "mixture":
        d = np.linalg.norm(x[:, None, :] - ds.centres[None], axis=2)
        near = d <= 3 * MIX_STD
        counts = near.sum(0)
        covered = [int(i) for i in np.flatnonzero(counts >= 0.02 * len(x))]
        q = float(near.any(1).mean())
        k = len(ds.centres)
        return {
            "finite": True,
            "covered": covered,
            "n_modes": k,
            "quality": round(q, 4),
            "good": len(covered) >= 0.75 * k and q >= 0.5,
            "collapsed": len(covered) <= 0.5 * k,
        }
    if ds.kind == "digits":
        p = _digit_classifier().predict_proba(np.clip(x, -1, 1))
        conf = p.max(1) >= 0.7
        lab = p.argmax(1)
        if conf.sum() >= 0.05 * len(x):
            counts = np.bincount(lab[conf], minlength=10)
            covered = [int(i) for i in np.flatnonzero(counts >= 0.02 * conf.sum())]
        else:
            counts = np.bincount(lab, minlength=10)
            covered = [int(i) for i in np.flatnonzero(counts >= 0.02 * len(x))]
        q = float(conf.mean())
        return {
            "finite": True,
            "covered": covered,
            "n_modes": 10,
            "quality": round(q, 4),
            "good": len(covered) >= 8 and q >= 0.5,
            "collapsed": len(covered) <= 5,
        }
    from scipy.stats import ks_2samp

    r = ds.x
    ks = float(np.mean([ks_2samp(x[:, j], r[:, j]).statistic for j in range(r.shape[1])]))
    with np.errstate(all="ignore"):
        cx, cr = np.corrcoef(x.T), np.corrcoef(r.T)
    iu = np.triu_indices(r.shape[1], 1)
    pair = float(np.nanmean(np.abs(np.nan_to_num(cx, nan=0.0) - cr)[iu]))
    spread = float(np.median(x.std(0) / r.std(0)))
    return {
        "finite": True,
        "covered": [],
        "n_modes": 0,
        "quality": round(1 - ks, 4),
        "ks": round(ks, 4),
        "pair": round(pair, 4),
        "spread": round(spread, 4),
        "good": ks <= 0.15 and pair <= 0.15,
        "collapsed": spread <= 0.35,
    }


def label(
    ds: Dataset, loss: str, samples: list[np.ndarray], d_eval: list[dict], diverged: bool
) -> tuple[str, list[dict]]:
    """(truth class, per-checkpoint scores)."""
    sc = [checkpoint_scores(ds, x) for x in samples]
    n = len(sc)
    if diverged or not sc[-1]["finite"]:
        return "divergence", sc
    last3 = d_eval[-3:]
    if loss.startswith("bce") and all(
        (e["real"] > 0.999 and e["fake"] > 0.999) or (e["real"] < 1e-3 and e["fake"] < 1e-3)
        for e in last3
    ):
        return "clamped", sc
    if all(e["real_std"] < 1e-6 and e["fake_std"] < 1e-6 for e in last3):
        return "clamped", sc
    end = sc[-1]
    if all(e["acc"] >= 0.95 for e in last3) and not end["good"]:
        return "d_wins", sc
    if ds.kind != "table" and n >= 4 and all(s["collapsed"] for s in sc[-4:]):
        sets = [set(s["covered"]) for s in sc[-4:]]
        union = set().union(*sets)
        if len(union) >= 1.5 * max(len(s) for s in sets) and len(union) >= 0.75 * end["n_modes"]:
            return "mode_hopping", sc
    if end["collapsed"]:
        start = int(np.ceil(0.3 * (n - 1)))
        if any(s["good"] for s in sc[start:-1]):
            return "late_collapse", sc
        return "collapse", sc
    if end["good"]:
        return "healthy", sc
    return "poor", sc
