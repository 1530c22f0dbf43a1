"""The truth lab's conditional runs: class-conditional GANs on scikit-learn's 8x8 digits,
trained once into lab/.cache/cond, labelled from their samples, swept per class and
scored as their own section of `make verdicts`.

    python -m lab.conditional [--seeds N] [--half test|tune|all] [--jobs N]

builds what is missing (`make lab` does too, after the grid) and prints the section.

Three outcomes, each trained from SEEDS seeds (torch, one thread, CPU; STEPS generator
steps, RunLog with the samples' labels, CHECKPOINTS + 1 checkpoints):

  healthy            G(z, y) and D(x, y) both see the label all the way
  condition_ignored  G's label input is cut at 2/3 of the run (its embedding zeroed and
                     frozen): G keeps drawing digits, but not the one asked for
  class_dropped      G's class table sends label 3 to 8 (a wrong class index, label_map),
                     which the training loop also applies to the fakes' labels D sees

Truth, from the samples alone (never the rules, never gananalyze's metrics): at the end
of training G draws TRUTH_SAMPLES digits (sample i asked for class i % 10) from its own
noise; the lab's logistic regression on the real digits (truth.py) labels them:
  healthy            accuracy >= 0.6 and every class's samples mostly their class
  condition_ignored  accuracy <= 0.3 while >= 8 classes each get >= 5% of the samples
  class_dropped      accuracy >= 0.5 and some class's samples are >= 50% one other class
  poor               none of these
The facts (accuracy, per-label accuracy, classes covered, labels dropped) are kept in
the run's meta file.

At build time each run is swept as a user would (`gananalyze fid-sweep RUN --real
sklearn-digits --features digits --num-samples 1000`: FID plus the per-class cfid and
cacc the rules need), the results cached in the run folder. Scoring (`score_rows`) loads
the folder as `check` does and maps the findings to a predicted class, first that holds:
condition_ignored (conditional_collapse), class_dropped (class_dropping), class_collapse
(class_mode_collapse), other (another problem), healthy (status healthy), then the
abstentions "no problems found", "not judged", "not loaded". Right: the class the truth
expects (poor expects any problem); abstained: an abstention; wrong: anything else.
The split is by seed (specs.half_of), as for the grid.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import verdicts as lab_verdicts
from .specs import half_of
from .tables import count_table, tally, text_table

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "cond"
OUTCOMES = ("healthy", "condition_ignored", "class_dropped")
SEEDS = 6  # per outcome: seeds 0..5, three in each half
STEPS = 5000  # 1,500 left the healthy recipe's G short of its labels (none healthy by truth)
CHECKPOINTS = 6
TRUTH_SAMPLES = 1000
SWEEP_SAMPLES = 1000
DROP = (3, 8)  # class_dropped: label 3 makes 8s
TRUTHS = ("healthy", "condition_ignored", "class_dropped", "poor")
PRED_RULES = {
    "condition_ignored": {"conditional_collapse"},
    "class_dropped": {"class_dropping"},
    "class_collapse": {"class_mode_collapse"},
}
EXPECT = {
    "healthy": {"healthy"},
    "condition_ignored": {"condition_ignored"},
    "class_dropped": {"class_dropped"},
    "poor": {"condition_ignored", "class_dropped", "class_collapse", "other"},
}
ABSTAIN = ("no problems found", "not judged", "not loaded")


@dataclass(frozen=True)
class CondSpec:
    seed: int
    outcome: str
    steps: int = STEPS

    @property
    def id(self) -> str:
        return f"cond-{self.seed:02d}-{self.outcome}"

    @property
    def half(self) -> str:
        return half_of(self.seed)


def specs(seeds: int = SEEDS) -> list[CondSpec]:
    """Seed by seed, every outcome of a seed together (a build stopped early is balanced)."""
    return [CondSpec(s, o) for s in range(seeds) for o in OUTCOMES]


# ---------------------------------------------------------------- training


def train(
    out: Path, outcome: str, seed: int, steps: int = STEPS, every: int | None = None,
    lr: float = 1e-3,
):
    """Train one conditional run into `out` with gananalyze's RunLog (labels logged with
    the samples, generator_spec with classes=10). Returns G as it ends."""
    import torch

    import gananalyze as ga
    from gananalyze.digits import (
        ConditionalDiscriminator,
        ConditionalGenerator,
        load_digits_images,
        load_digits_labels,
    )

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x_all = torch.from_numpy(load_digits_images())
    y_all = torch.from_numpy(load_digits_labels())
    gkw: dict = {"latent_dim": 16, "hidden": 128}
    if outcome == "class_dropped":
        table = list(range(10))
        table[DROP[0]] = DROP[1]
        gkw["label_map"] = table
    G = ConditionalGenerator(**gkw)
    D = ConditionalDiscriminator(hidden=128, dropout=0.3)
    opt_g = torch.optim.Adam(G.parameters(), lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr, betas=(0.5, 0.999))
    spec = ga.generator_spec(
        "gananalyze.digits:ConditionalGenerator",
        gkw,
        latent_shape=(16,),
        noise_seed=seed,
        classes=10,
    )
    z_fix = torch.randn(50, 16, generator=torch.Generator().manual_seed(seed + 1))
    y_fix = torch.arange(50) % 10
    cut = (2 * steps) // 3 if outcome == "condition_ignored" else None
    every = every or steps // CHECKPOINTS
    g = torch.Generator().manual_seed(seed)
    if out.exists():
        shutil.rmtree(out)
    cfg = {"outcome": outcome, "seed": seed, "batch_size": 64, "d_loss_reduction": "sum"}
    with ga.RunLog(out, loss="bce", generator=spec, config=cfg) as log:
        for step in range(steps + 1):
            if step == cut:  # the label input is cut: G no longer sees y
                with torch.no_grad():
                    G.embed.weight.zero_()
                G.embed.weight.requires_grad_(False)
            if step % every == 0:
                with torch.no_grad():
                    log.samples(step, G(z_fix, y_fix), labels=y_fix)
                log.checkpoint(step, G, D)
            if step == steps:
                break
            idx = torch.randint(0, len(x_all), (64,), generator=g)
            x, y = x_all[idx], y_all[idx]
            z = torch.randn(64, 16, generator=g)
            yf = torch.randint(0, 10, (64,), generator=g)
            # the training code reads the same (wrong) class table for the fakes D sees
            loss_d, loss_g, d_real, d_fake, d_after = bce_step(
                G, D, opt_g, opt_d, x, y, z, yf, G.label_map[yf]
            )
            log.scalars(step, G_loss=loss_g, D_loss=loss_d)
            log.discriminator(step, d_real, d_fake, d_after, logits=True)
    return G


def bce_step(G, D, opt_g, opt_d, x, y, z, y_g, y_d):
    """One step of a conditional GAN on D's logits with BCE: D's update on the real (x, y)
    against G(z, y_g) shown to D with the label y_d, then G's non-saturating update.
    Returns (D loss, G loss, D(x), D(G(z)) before and after D's update), detached."""
    import torch
    import torch.nn.functional as F

    fake = G(z, y_g)
    d_real, d_fake = D(x, y), D(fake.detach(), y_d)
    loss_d = F.binary_cross_entropy_with_logits(
        d_real, torch.ones_like(d_real)
    ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    d_after = D(fake, y_d)
    loss_g = F.binary_cross_entropy_with_logits(d_after, torch.ones_like(d_after))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d.detach(), loss_g.detach(), d_real.detach(), d_fake.detach(), d_after.detach()


def truth_samples(G, seed: int, n: int = TRUTH_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """(n digits (n, 64) in [-1, 1] from G's own noise, the class each was asked for)."""
    import torch

    asked = torch.arange(n) % 10
    z = torch.randn(n, 16, generator=torch.Generator().manual_seed(10_000 + seed))
    with torch.no_grad():
        x = G(z, asked)
    return x.reshape(n, -1).double().numpy(), asked.numpy()


def truth(x: np.ndarray, asked: np.ndarray) -> tuple[str, dict]:
    """The truth class of a run's final samples and its facts (see the module docstring)."""
    from .truth import digit_classifier

    pred = digit_classifier().predict(np.clip(x, -1, 1))
    acc = float((pred == asked).mean())
    share = np.bincount(pred, minlength=10) / len(pred)
    per = [
        np.bincount(pred[asked == k], minlength=10) / max(1, (asked == k).sum()) for k in range(10)
    ]
    dropped = [k for k in range(10) if per[k].argmax() != k and per[k].max() >= 0.5]
    facts = {
        "accuracy": round(acc, 4),
        "per_label": [round(float(p[k]), 4) for k, p in enumerate(per)],
        "covered": int((share >= 0.05).sum()),
        "dropped": dropped,
    }
    if acc >= 0.6 and all(per[k].argmax() == k for k in range(10)):
        return "healthy", facts
    if acc <= 0.3 and facts["covered"] >= 8:
        return "condition_ignored", facts
    if acc >= 0.5 and dropped:
        return "class_dropped", facts
    return "poor", facts


def sweep_args(folder: Path, cache: Path = CACHE) -> list[str]:
    """The user's fid-sweep command line for a run folder (run at build time); the real
    digits' features are cached beside the runs."""
    return [
        "fid-sweep",
        str(folder),
        "--real",
        "sklearn-digits",
        "--features",
        "digits",
        "--num-samples",
        str(SWEEP_SAMPLES),
        "--device",
        "cpu",
        "--cache-dir",
        str(cache / "features"),
    ]


def build_one(sp: CondSpec, cache: Path = CACHE) -> str:
    """Train, label and sweep one run into `cache` (skipped when its meta file exists)."""
    import torch
    from click.testing import CliRunner

    from gananalyze.cli import main as cli

    meta_p = cache / f"{sp.id}.json"
    if _cached(sp, cache):
        return f"{sp.id}: cached"
    lock = cache / f".{sp.id}.lock"
    try:
        lock.open("x").close()
    except FileExistsError:
        return f"{sp.id}: another worker is building it (remove {lock.name} if none is)"
    try:
        torch.set_num_threads(1)
        c0 = time.process_time()
        folder = cache / "runs" / sp.id
        G = train(folder, sp.outcome, sp.seed, sp.steps)
        cls, facts = truth(*truth_samples(G, sp.seed))
        c1 = time.process_time()
        res = CliRunner().invoke(cli, sweep_args(folder, cache), catch_exceptions=False)
        if res.exit_code != 0:
            return f"{sp.id}: fid-sweep failed ({res.exit_code}): {res.output[-300:]}"
        c2 = time.process_time()
        meta = {
            "id": sp.id,
            "spec": sp.__dict__,
            "half": sp.half,
            "truth": cls,
            "facts": facts,
            "cpu_train": round(c1 - c0, 1),
            "cpu_sweep": round(c2 - c1, 1),
        }
        meta_p.write_text(json.dumps(meta, indent=1))
        return f"{sp.id}: {cls}, {c1 - c0:.0f} s CPU training, {c2 - c1:.0f} s the sweep"
    finally:
        lock.unlink(missing_ok=True)


def _cached(sp: CondSpec, cache: Path) -> bool:
    """The run's meta file exists and was built from this spec (a recipe change rebuilds)."""
    p = cache / f"{sp.id}.json"
    if not p.is_file():
        return False
    try:
        return json.loads(p.read_text()).get("spec") == sp.__dict__
    except (OSError, ValueError):
        return False


def build(log, jobs: int = 1, seeds: int = SEEDS, cache: Path = CACHE) -> None:
    """Build every conditional run not cached yet, `jobs` at a time (one process each)."""
    (cache / "runs").mkdir(parents=True, exist_ok=True)
    todo = [sp for sp in specs(seeds) if not _cached(sp, cache)]
    if jobs <= 1:
        for sp in todo:
            log(build_one(sp, cache))
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=jobs) as ex:
            for f in as_completed([ex.submit(build_one, sp, cache) for sp in todo]):
                log(f.result())
    log(f"conditional runs: {len(specs(seeds))} under {cache}")


# ---------------------------------------------------------------- scoring


def predict(d) -> str:
    """The predicted class of a Diagnosis (the module docstring; lab/verdicts.py)."""
    return lab_verdicts.predict(d, PRED_RULES)


def judge(folder: Path) -> tuple[str, str]:
    """(predicted class, verdict line) for one run folder, as `check` reads it
    (lab/verdicts.py says how)."""
    return lab_verdicts.judge_folder(folder, PRED_RULES)


def outcome(truth_cls: str, pred: str) -> str:
    if pred in EXPECT[truth_cls]:
        return "right"
    return "abstained" if pred in ABSTAIN else "wrong"


def score_rows(half: str, verdicts: Path | None = None, cache: Path = CACHE) -> list[dict]:
    """One row per built conditional run in `half` (test, tune or all). With `verdicts` (a
    JSON file), verdicts of runs already judged by the same rules are reused."""
    seen = json.loads(verdicts.read_text()) if verdicts is not None and verdicts.is_file() else {}
    rows = []
    for meta_p in sorted(cache.glob("cond-*.json")):
        meta = json.loads(meta_p.read_text())
        sp = CondSpec(**meta["spec"])
        if half != "all" and sp.half != half:
            continue
        key = lab_verdicts.cache_key(sp.id, meta_p)
        if key not in seen:
            seen[key] = judge(cache / "runs" / sp.id)
            if verdicts is not None:
                verdicts.parent.mkdir(parents=True, exist_ok=True)
                verdicts.write_text(json.dumps(seen, indent=0))
        pred, verdict = seen[key]
        rows.append(
            {
                "id": sp.id,
                "intended": sp.outcome,
                "truth": meta["truth"],
                "pred": pred,
                "outcome": outcome(meta["truth"], pred),
                "half": sp.half,
                "accuracy": meta["facts"]["accuracy"],
                "verdict": verdict,
            }
        )
    return rows


def table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Per truth class: runs, right, wrong, abstained, accuracy, the predictions; then all."""
    cols = ["truth class", "runs", "right", "wrong", "abstained", "accuracy", "predicted"]
    out = []
    for t in [*TRUTHS, "all"]:
        tr = [r for r in rows if t == "all" or r["truth"] == t]
        if not tr:
            continue
        preds = ", ".join(f"{p} {n}" for p, n in sorted(Counter(r["pred"] for r in tr).items()))
        out.append([t, *tally(tr), preds if t != "all" else ""])
    return cols, out


def intended_table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Intended outcome against the truth the samples gave."""
    truths = [t for t in TRUTHS if any(r["truth"] == t for r in rows)]
    out = count_table(rows, "intended", OUTCOMES, "truth", truths)
    for line in out:
        line.append(str(sum(int(x) for x in line[1:])))
    return ["intended / truth", *truths, "runs"], out


def summary(rows: list[dict]) -> dict:
    s = {}
    for t in [*TRUTHS, "all"]:
        tr = [r for r in rows if t == "all" or r["truth"] == t]
        if tr:
            c = Counter(r["outcome"] for r in tr)
            s[t] = {"n": len(tr), **{k: c[k] for k in ("right", "wrong", "abstained")}}
    return s


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m lab.conditional", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--seeds", type=int, default=SEEDS, help="seeds per outcome")
    ap.add_argument("--half", default="all", choices=("test", "tune", "all"))
    ap.add_argument("--jobs", type=int, default=1, help="runs built at once (processes)")
    a = ap.parse_args(argv)
    build(lambda m: print(m, flush=True), a.jobs, a.seeds)
    rows = score_rows(a.half)
    for r in rows:
        print(
            f"{r['outcome']:9s} {r['id']:<26} truth {r['truth']:<18} predicted "
            f"{r['pred']:<18} accuracy {r['accuracy']:.2f}  {r['verdict']}"
        )
    for cols, tab in (table(rows), intended_table(rows)):
        print("\n".join(text_table(cols, tab)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
