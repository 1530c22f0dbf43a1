"""The labelling rule: a run's truth class from its samples and D's outputs alone.

It never imports gananalyze's rules. Each run has 11 checkpoints (the first at step 1, the
untrained G); at each, G's output on 500 fixed noise vectors is scored against the data:

- coverage: which modes the samples reach
  - 2-D mixtures (ring of 8, 3x3 grid; sigma 0.1): a mode is covered when >= 2% of the
    samples lie within 3 sigma of its centre;
  - 8x8 digits: a logistic regression trained on the real digits labels the samples; a
    class is covered when >= 2% of the confident samples (max probability >= 0.7) fall in
    it (when fewer than 5% are confident: >= 2% of all samples);
  - the table (5 standardised columns): spread = median ratio of the samples' column
    standard deviations to the data's stands for coverage (there are no modes to count).
- precision: the share of samples that look like data
  - mixtures: within 3 sigma of some centre; digits: classifier-confident;
  - table: nearest real row within the 95th percentile of the real rows' own
    nearest-neighbour distances.
- also: spread (mixtures: the samples' std over the data's, per axis, median; digits: mean
  pairwise distance of 200 samples over the real digits'), and on the table the mean
  Kolmogorov-Smirnov statistic over columns (ks) and the mean |correlation difference|
  over the 10 column pairs (pair).

A checkpoint is
- good: >= 75% of the modes covered (digits: >= 8 classes) and precision >= 0.5; table:
  ks <= 0.15, pair <= 0.15 and precision >= 0.5;
- few: <= 50% of the modes covered (digits: <= 5 classes); table: spread <= 0.35;
- collapsed: few, and either the samples look like data (precision >= 0.5: realistic
  samples of too few modes) or coverage was reached at an earlier checkpoint (>= 75% of
  the modes, table: spread >= 0.6) and lost since. Few modes with unrealistic samples and
  no coverage ever reached is a G that has not spread yet (poor), not a collapse.

D's outputs on 500 held-out real rows and on the 500 samples at each checkpoint give
auc = the share of (real, fake) pairs D ranks the right way round (no threshold, so the
same for probabilities and critic scores).

Classes (first that holds):
  divergence     a loss or sample is not finite, or samples lie > 20x the data's scale
  clamped        a stalled or clamped D: its outputs saturated alike on real and fake
                 (BCE: both > 0.999 or both < 0.001) at the last 3 checkpoints, or constant
                 over inputs there (std < 1e-6 on real and on fake, and the same value on
                 both: exactly 1.0 on real and 0.0 on fake separates, it is not constant),
                 or D frozen: its outputs on the held-out
                 real rows never change from the first checkpoint to the last
  d_wins         auc >= 0.98 at the last 3 checkpoints, and the final samples are not good
  mode_hopping   collapsed at each of the last 4 checkpoints, while the modes covered
                 over them together are >= 1.5x those covered at any one and >= 75% of all
                 (mixtures and digits)
  late_collapse  good at a checkpoint at or after 30% of the run, collapsed at the end
  collapse       collapsed at the end
  healthy        good at the end
  poor           none of these (samples not good and not collapsed: a G still learning or
                 one that has not spread yet)
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
def digit_classifier():
    from sklearn.linear_model import LogisticRegression

    from .data import digit_labels, digits

    return LogisticRegression(max_iter=3000, C=1.0).fit(digits().x, digit_labels())


def _pairwise_mean(x: np.ndarray) -> float:
    from scipy.spatial.distance import pdist

    return float(pdist(x[:200]).mean())


@lru_cache(maxsize=4)
def _real_refs(name: str) -> dict:
    """Reference numbers of a dataset: its pairwise spread, its nearest-neighbour tree and
    the 95th percentile of the real rows' own nearest-neighbour distances."""
    from scipy.spatial import cKDTree

    from .data import load

    ds = load(name)
    rng = np.random.default_rng(0)
    tree = cKDTree(ds.x)
    d, _ = tree.query(ds.x, k=2)
    sub = ds.x[rng.choice(len(ds.x), 200, replace=False)]
    nn95 = float(np.quantile(d[:, 1], 0.95))
    return {"pairwise": _pairwise_mean(sub), "tree": tree, "nn95": nn95}


def checkpoint_scores(ds: Dataset, x: np.ndarray) -> dict:
    """The scores of one checkpoint's samples (see the module docstring)."""
    if not np.isfinite(x).all() or np.abs(x).max() > 20 * max(1.0, np.abs(ds.x).max()):
        return {
            "finite": False,
            "good": False,
            "few": False,
            "covered": [],
            "coverage": 0.0,
            "precision": 0.0,
        }
    if ds.kind == "mixture":
        d = np.linalg.norm(x[:, None, :] - ds.centres[None], axis=2)
        near = d <= 3 * MIX_STD
        counts = near.sum(0)
        covered = [int(i) for i in np.flatnonzero(counts >= 0.02 * len(x))]
        q = float(near.any(1).mean())
        k = len(ds.centres)
        spread = float(np.median(x.std(0) / ds.x.std(0)))
        return {
            "finite": True,
            "covered": covered,
            "n_modes": k,
            "coverage": round(len(covered) / k, 4),
            "precision": round(q, 4),
            "spread": round(spread, 4),
            "good": len(covered) >= 0.75 * k and q >= 0.5,
            "few": len(covered) <= 0.5 * k,
        }
    if ds.kind == "digits":
        p = digit_classifier().predict_proba(np.clip(x, -1, 1))
        conf = p.max(1) >= 0.7
        lab = p.argmax(1)
        if conf.sum() >= 0.05 * len(x):
            counts = np.bincount(lab[conf], minlength=10)
            covered = [int(i) for i in np.flatnonzero(counts >= 0.02 * conf.sum())]
        else:
            counts = np.bincount(lab, minlength=10)
            covered = [int(i) for i in np.flatnonzero(counts >= 0.02 * len(x))]
        q = float(conf.mean())
        spread = _pairwise_mean(np.clip(x, -1, 1)) / _real_refs(ds.name)["pairwise"]
        return {
            "finite": True,
            "covered": covered,
            "n_modes": 10,
            "coverage": round(len(covered) / 10, 4),
            "precision": round(q, 4),
            "spread": round(spread, 4),
            "good": len(covered) >= 8 and q >= 0.5,
            "few": len(covered) <= 5,
        }
    from scipy.stats import ks_2samp

    r = ds.x
    ks = float(np.mean([ks_2samp(x[:, j], r[:, j]).statistic for j in range(r.shape[1])]))
    with np.errstate(all="ignore"):
        cx, cr = np.corrcoef(x.T), np.corrcoef(r.T)
    iu = np.triu_indices(r.shape[1], 1)
    pair = float(np.nanmean(np.abs(np.nan_to_num(cx, nan=0.0) - cr)[iu]))
    spread = float(np.median(x.std(0) / r.std(0)))
    ref = _real_refs(ds.name)
    prec = float((ref["tree"].query(x, k=1)[0] <= ref["nn95"]).mean())
    return {
        "finite": True,
        "covered": [],
        "n_modes": 0,
        "coverage": round(min(1.0, spread), 4),
        "precision": round(prec, 4),
        "ks": round(ks, 4),
        "pair": round(pair, 4),
        "spread": round(spread, 4),
        "good": ks <= 0.15 and pair <= 0.15 and prec >= 0.5,
        "few": spread <= 0.35,
    }


def _reached(ds: Dataset, s: dict) -> bool:
    """Coverage reached at this checkpoint (>= 75% of the modes; table: spread >= 0.6)."""
    if not s["finite"]:
        return False
    if ds.kind == "table":
        return s["spread"] >= 0.6
    return len(s["covered"]) >= 0.75 * s["n_modes"]


def _frozen(d_eval: list[dict]) -> bool:
    """D's outputs on the held-out real rows identical at every checkpoint (D never moved)."""
    r = np.array([[e["real"], e["real_std"]] for e in d_eval])
    return len(r) >= 3 and bool(np.all(np.abs(r - r[0]) <= 1e-7 * (1 + np.abs(r[0]))))


def label(
    ds: Dataset, loss: str, samples: list[np.ndarray], d_eval: list[dict], diverged: bool
) -> tuple[str, list[dict]]:
    """(truth class, per-checkpoint scores, each with `collapsed` and `reached_before`)."""
    sc = [checkpoint_scores(ds, x) for x in samples]
    reached = False
    for s in sc:
        s["reached_before"] = reached
        s["collapsed"] = bool(s["few"] and (s["precision"] >= 0.5 or reached))
        reached = reached or _reached(ds, s)
    return classify(ds.kind, loss, sc, d_eval, diverged), sc


def _constant(e: dict) -> bool:
    """D's output the same for every input, real and fake: no spread within either and the
    same value on both. A D saying exactly 1.0 to every real row and 0.0 to every sample
    has no spread either, but it separates them perfectly (D winning, not a dead D)."""
    same = abs(e["real"] - e["fake"]) <= 1e-6 * (1 + abs(e["real"]))
    return e["real_std"] < 1e-6 and e["fake_std"] < 1e-6 and same


def classify(kind: str, loss: str, sc: list[dict], d_eval: list[dict], diverged: bool) -> str:
    """The truth class from the per-checkpoint scores (as `label` wrote them) and D's
    outputs: the class rule of the module docstring, so a cached lab is relabelled
    without its samples."""
    n = len(sc)
    if diverged or not sc[-1]["finite"]:
        return "divergence"
    last3 = d_eval[-3:]
    if loss.startswith("bce") and all(
        (e["real"] > 0.999 and e["fake"] > 0.999) or (e["real"] < 1e-3 and e["fake"] < 1e-3)
        for e in last3
    ):
        return "clamped"
    if all(_constant(e) for e in last3) or _frozen(d_eval):
        return "clamped"
    end = sc[-1]
    if all(e["auc"] >= 0.98 for e in last3) and not end["good"]:
        return "d_wins"
    if kind != "table" and n >= 4 and all(s["collapsed"] for s in sc[-4:]):
        sets = [set(s["covered"]) for s in sc[-4:]]
        union = set().union(*sets)
        if len(union) >= 1.5 * max(len(s) for s in sets) and len(union) >= 0.75 * end["n_modes"]:
            return "mode_hopping"
    if end["collapsed"]:
        start = int(np.ceil(0.3 * (n - 1)))
        if any(s["good"] for s in sc[start:-1]):
            return "late_collapse"
        return "collapse"
    if end["good"]:
        return "healthy"
    return "poor"
