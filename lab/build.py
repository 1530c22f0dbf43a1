"""`make lab`: train the lab's runs (cached), label them from their samples, write each in
its logging style.

    python -m lab.build [--only-train] [--only-write] [--limit N]

lab/.cache/train/<id>.npz holds a run's history and checkpoint samples, <id>.json its
spec, settings, truth class and per-checkpoint sample scores; lab/.cache/runs/<id>/ is the
run as its logging style wrote it (what `gananalyze check` reads). Runs already cached are
skipped, so an interrupted build resumes; everything is reproducible from the seeds.
Torch uses one thread.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TRAIN = CACHE / "train"
RUNS = CACHE / "runs"


def _train(specs, log, reverse: bool = False) -> None:
    """Train the specs not cached yet, grouped by data shape and loss type."""
    import torch

    from . import data, truth
    from .specs import settings
    from .train import train_group

    torch.set_num_threads(1)
    TRAIN.mkdir(parents=True, exist_ok=True)
    groups = defaultdict(list)
    for sp in specs:
        if not (TRAIN / f"{sp.id}.json").is_file():
            dim = {"ring8": "2-D", "grid9": "2-D"}.get(sp.data, sp.data)
            groups[(dim, sp.loss)].append(sp)
    order = sorted(groups, key=lambda k: (k[1].startswith("wgan"), str(k)), reverse=reverse)
    dss = {}
    for gi, key in enumerate(order):
        group = [sp for sp in groups[key] if not (TRAIN / f"{sp.id}.json").is_file()]
        lock = TRAIN / f".{key[0]}-{key[1]}.lock"
        if not group:  # another worker trained them meanwhile
            continue
        try:  # several workers (--losses, --reverse) share the cache: one per group
            lock.open("x").close()
        except FileExistsError:
            log(f"{key}: another worker is training it")
            continue
        t0 = time.time()
        for sp in group:
            dss.setdefault(sp.data, data.load(sp.data))
        trained = train_group(
            [dss[sp.data] for sp in group],
            key[1],
            [(sp.seed, sp.steps, settings(sp)) for sp in group],
        )
        for sp, tr in zip(group, trained):
            ds = dss[sp.data]
            cls, scores = truth.label(
                ds, sp.loss, tr.samples, tr.d_eval, tr.diverged_at is not None
            )
            np.savez_compressed(
                TRAIN / f"{sp.id}.npz",
                ckpt_steps=np.array(tr.ckpt_steps),
                samples=np.stack(tr.samples),
                **{f"h_{k}": v for k, v in tr.history.items()},
            )
            meta = {
                "spec": sp.__dict__,
                "id": sp.id,
                "half": sp.half,
                "truth": cls,
                "settings": tr.settings,
                "diverged_at": tr.diverged_at,
                "d_eval": tr.d_eval,
                "ckpt_steps": tr.ckpt_steps,
                "scores": scores,
            }
            (TRAIN / f"{sp.id}.json").write_text(json.dumps(meta, indent=1))
        lock.unlink(missing_ok=True)
        log(
            f"[{gi + 1}/{len(order)}] {key[0]} {key[1]}: {len(group)} runs in {time.time() - t0:.0f} s"
        )


def _write(specs, log) -> None:
    from .writers import write_run

    RUNS.mkdir(parents=True, exist_ok=True)
    n = 0
    for sp in specs:
        meta_p = TRAIN / f"{sp.id}.json"
        out = RUNS / sp.id
        if not meta_p.is_file() or (out / ".done").is_file():
            continue
        meta = json.loads(meta_p.read_text())
        z = np.load(TRAIN / f"{sp.id}.npz")
        write_run(sp, meta, z, out)
        (out / ".done").write_text("")
        n += 1
    log(f"wrote {n} run folders under {RUNS}")


def main(argv: list[str] | None = None) -> int:
    from .specs import all_specs

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only-train", action="store_true")
    ap.add_argument("--only-write", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="first N specs only")
    ap.add_argument("--losses", default=None, help="comma-separated loss types only")
    ap.add_argument("--reverse", action="store_true", help="train the groups in reverse order")
    a = ap.parse_args(argv)
    specs = all_specs()[: a.limit]
    if a.losses:
        specs = [sp for sp in specs if sp.loss in a.losses.split(",")]

    def log(msg: str) -> None:
        print(msg, flush=True)

    if not a.only_write:
        _train(specs, log, a.reverse)
    if not a.only_train:
        _write(specs, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
