"""`make lab`: train the lab's runs (cached), label them from their samples, write each in
its logging style.

    python -m lab.build [--only-train] [--only-write] [--limit N] [--losses L1,L2] [--jobs N]
                        [--conditional-seeds N]

lab/.cache/train/<id>.npz holds a run's history and checkpoint samples, <id>.json its
spec, settings, truth class and per-checkpoint sample scores; lab/.cache/runs/<id>/ is the
run as its logging style wrote it (what `gananalyze check` reads). Runs already cached are
skipped, so an interrupted build resumes; everything is reproducible from the seeds.
Torch uses one thread per process; `--jobs N` trains N groups at once; each group's CPU
seconds are appended to lab/.cache/train/cpu_seconds.tsv (the build's measured cost).
Samples are cached as float16 (the truth was read from the float32 ones).

After the grid, the conditional runs (lab/conditional.py: class-conditional digits GANs,
`--conditional-seeds` per outcome, 0 to skip) are built into lab/.cache/cond, each
trained, labelled from its samples and swept per class once.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TRAIN = CACHE / "train"
RUNS = CACHE / "runs"
BUILD_ORDER = ("ring8", "table", "grid9", "digits")


def _groups(specs) -> dict:
    """The specs not cached yet, grouped by dataset and loss type (a group trains as one
    batch)."""
    groups = defaultdict(list)
    for sp in specs:
        if not (TRAIN / f"{sp.id}.json").is_file():
            groups[_group_key(sp)].append(sp)
    return groups


def _group_key(sp) -> tuple[str, str]:
    return (sp.data, sp.loss)


def _lock_name(sp) -> str:
    k = _group_key(sp)
    return f".{k[0]}-{k[1]}.lock"


def _train_group(key: tuple[str, str], group: list) -> str:
    """Train one group into the cache (skipped when another worker holds its lock)."""
    import torch

    from . import data, truth
    from .specs import settings
    from .train import train_group

    torch.set_num_threads(1)
    group = [sp for sp in group if not (TRAIN / f"{sp.id}.json").is_file()]
    if not group:  # another worker trained them meanwhile
        return f"{key}: already cached"
    lock = TRAIN / _lock_name(group[0])
    try:  # several workers share the cache: one per group
        lock.open("x").close()
    except FileExistsError:
        return f"{key}: another worker is training it (remove {lock.name} if none is)"
    try:
        t0, c0 = time.time(), time.process_time()
        dss = {name: data.load(name) for name in {sp.data for sp in group}}
        trained = train_group(
            [dss[sp.data] for sp in group],
            key[1],
            [(sp.seed, sp.steps, settings(sp)) for sp in group],
        )
        for sp, tr in zip(group, trained, strict=True):
            ds = dss[sp.data]
            cls, scores = truth.label(
                ds, sp.loss, tr.samples, tr.d_eval, tr.diverged_at is not None
            )
            np.savez_compressed(
                TRAIN / f"{sp.id}.npz",
                ckpt_steps=np.array(tr.ckpt_steps),
                samples=np.stack(tr.samples).astype(np.float16),
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
        cpu = time.process_time() - c0
        _write(group, lambda msg: None)  # the run folders too, so a partial lab can be scored
        with (TRAIN / "cpu_seconds.tsv").open("a") as f:
            f.write(f"{key[0]}\t{key[1]}\t{len(group)}\t{cpu:.1f}\n")
        return f"{key[0]} {key[1]}: {len(group)} runs, {cpu:.0f} s CPU, {time.time() - t0:.0f} s"
    finally:
        lock.unlink(missing_ok=True)


def _train(specs, log, jobs: int = 1) -> None:
    """Train the specs not cached yet, `jobs` groups at a time (one process each)."""
    TRAIN.mkdir(parents=True, exist_ok=True)
    groups = _groups(specs)
    # a dataset at a time (the ring first: it has every outcome, healthy ones included),
    # all its loss types together, so that a build stopped early is a complete smaller lab
    rank = {d: i for i, d in enumerate(BUILD_ORDER)}
    order = sorted(groups, key=lambda k: (rank[k[0]], k[1]))
    if jobs <= 1:
        for k in order:
            log(_train_group(k, groups[k]))
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=jobs) as ex:
        futs = [ex.submit(_train_group, k, groups[k]) for k in order]
        for f in as_completed(futs):
            log(f.result())


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
        shutil.rmtree(out, ignore_errors=True)  # a write interrupted before .done
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
    ap.add_argument("--jobs", type=int, default=1, help="groups trained at once (processes)")
    ap.add_argument(
        "--conditional-seeds",
        type=int,
        default=None,
        help="seeds per outcome of the conditional runs (default: lab/conditional.py's SEEDS; "
        "0: skip them)",
    )
    a = ap.parse_args(argv)
    specs = all_specs()[: a.limit]
    if a.losses:
        specs = [sp for sp in specs if sp.loss in a.losses.split(",")]

    def log(msg: str) -> None:
        print(msg, flush=True)

    if not a.only_write:
        _train(specs, log, a.jobs)
    if not a.only_train:  # runs whose group another worker holds are written by it
        held = {p.name for p in TRAIN.glob(".*.lock")} if TRAIN.is_dir() else set()
        _write([sp for sp in specs if _lock_name(sp) not in held], log)
    if not a.only_write and a.conditional_seeds != 0:
        from . import conditional

        conditional.build(log, a.jobs, a.conditional_seeds or conditional.SEEDS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
