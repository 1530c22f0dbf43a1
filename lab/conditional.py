"""The truth lab's conditional runs: class-conditional GANs on scikit-learn's 8x8 digits,
labelled from their samples, and the scoreboard of the conditional rules on them.

    python -m lab.conditional [--seeds N] [--steps N] [--out DIR]

Three outcomes, each trained from `--seeds` seeds (torch, one thread, CPU):

  healthy            G(z, y) and D(x, y) both see the label all the way
  condition_ignored  G's label input is cut at 2/3 of the run (its embedding zeroed and
                     frozen): G keeps drawing digits, but not the one asked for
  class_dropped      G's class table sends label 3 to 8 (a wrong class index, label_map),
                     which the training loop also applies to the fakes' labels D sees

Truth, from the samples alone (never the rules): a logistic regression fitted on the real
digits labels 1,000 samples of the last checkpoint (sample i asked for class i % 10).
  healthy            accuracy >= 0.6 and every class's samples mostly their class
  condition_ignored  accuracy <= 0.3 while >= 8 classes each get >= 5% of the samples
  class_dropped      accuracy >= 0.5 and some class's samples are >= 50% one other class
  poor               none of these
Predicted, from `fid-sweep` (digits features, sklearn-digits as labelled real data) and
`diagnose`: conditional_collapse -> condition_ignored; class_dropping -> class_dropped;
no warning or error -> healthy; another problem -> other.

Runs are cached under lab/.cache/conditional (a finished run is not retrained). The hook
the main lab needs to include these runs in `make verdicts`: score.PRED_RULES gains
"condition_ignored": {"conditional_collapse"} and "class_dropped": {"class_dropping"},
EXPECT the same two truths, and score_lab also reads this module's `rows()`.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache" / "conditional"
OUTCOMES = ("healthy", "condition_ignored", "class_dropped")
PRED_RULES = {
    "condition_ignored": {"conditional_collapse"},
    "class_dropped": {"class_dropping"},
    "class_collapse": {"class_mode_collapse"},
}
STEPS = 1500
CHECKPOINTS = 6
DROP = (3, 8)  # class_dropped: label 3 makes 8s


def train(out: Path, outcome: str, seed: int, steps: int = STEPS) -> Path:
    """Train one conditional run into `out` with gananalyze's RunLog; returns the folder."""
    import torch
    import torch.nn.functional as F

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
    opt_g = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))
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
    every = steps // CHECKPOINTS
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
            fake = G(z, yf)
            yf = G.label_map[yf]  # the training code reads the same (wrong) class table
            d_real, d_fake = D(x, y), D(fake.detach(), yf)
            loss_d = F.binary_cross_entropy_with_logits(
                d_real, torch.ones_like(d_real)
            ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            d_after = D(fake, yf)
            loss_g = F.binary_cross_entropy_with_logits(d_after, torch.ones_like(d_after))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            log.scalars(step, G_loss=loss_g.detach(), D_loss=loss_d.detach())
            log.discriminator(step, d_real, d_fake, d_after.detach(), logits=True)
    return out


def truth(run_dir: Path) -> tuple[str, dict]:
    """The truth class of a finished run from its last checkpoint's samples (see above)."""
    from sklearn.linear_model import LogisticRegression

    from gananalyze import load_run
    from gananalyze.digits import load_digits_images, load_digits_labels
    from gananalyze.metrics.generate import sample_images

    run = load_run(run_dir)
    x = sample_images(run, run.checkpoints[-1], 1000, seed=run.generator["noise_seed"], trust=True)
    asked = np.arange(1000) % 10
    real = load_digits_images().reshape(-1, 64)
    clf = LogisticRegression(max_iter=3000).fit(real, load_digits_labels())
    pred = clf.predict((x.numpy() * 2 - 1).reshape(-1, 64))
    acc = float((pred == asked).mean())
    share = np.bincount(pred, minlength=10) / len(pred)
    per = [np.bincount(pred[asked == k], minlength=10) / (asked == k).sum() for k in range(10)]
    dropped = [k for k in range(10) if per[k].argmax() != k and per[k].max() >= 0.5]
    facts = {"accuracy": acc, "covered": int((share >= 0.05).sum()), "dropped": dropped}
    if acc >= 0.6 and all(per[k].argmax() == k for k in range(10)):
        return "healthy", facts
    if acc <= 0.3 and facts["covered"] >= 8:
        return "condition_ignored", facts
    if acc >= 0.5 and dropped:
        return "class_dropped", facts
    return "poor", facts


def predict(run_dir: Path) -> tuple[str, str]:
    """(predicted class, verdict) after a per-class fid-sweep, as a user would run them."""
    from gananalyze.analysis import analyze
    from gananalyze.metrics.sweep import sweep

    sweep(run_dir, "sklearn-digits", features="digits", num_samples=1000, device="cpu")
    _, d = analyze(run_dir)
    fired = {f.rule for f in d.findings if f.severity in ("warning", "error")}
    for cls, rules in PRED_RULES.items():
        if fired & rules:
            return cls, d.verdict
    if fired - {"damaged_data", "implausible_values"}:
        return "other", d.verdict
    return ("healthy" if d.status in ("healthy", "no_problems_found") else d.status), d.verdict


def rows(seeds: int = 2, steps: int = STEPS, out: Path = CACHE) -> list[dict]:
    """Train (or reuse) every outcome x seed, label it and judge it: one row per run."""
    result = []
    for outcome in OUTCOMES:
        for seed in range(seeds):
            folder = out / f"{outcome}-{seed}-{steps}"
            meta = folder.with_suffix(".json")
            if not meta.is_file():
                train(folder, outcome, seed, steps)
                cls, facts = truth(folder)
                pred, verdict = predict(folder)
                meta.write_text(
                    json.dumps(
                        {
                            "truth": cls,
                            "facts": facts,
                            "pred": pred,
                            "verdict": verdict,
                            "outcome": outcome,
                        }
                    )
                )
            rec = json.loads(meta.read_text())
            result.append({"id": folder.name, **rec})
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m lab.conditional", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--out", type=Path, default=CACHE)
    a = ap.parse_args(argv)
    rs = rows(a.seeds, a.steps, a.out)
    right = 0
    for r in rs:
        ok = r["pred"] == r["truth"]
        right += ok
        print(
            f"{'ok ' if ok else 'BAD'} {r['id']:<28} truth {r['truth']:<18} "
            f"predicted {r['pred']:<18} accuracy {r['facts']['accuracy']:.2f}  {r['verdict']}"
        )
    print(f"{right} of {len(rs)} right; truth classes {dict(Counter(r['truth'] for r in rs))}")


if __name__ == "__main__":
    main()
