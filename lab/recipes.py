"""Checks that the lab's recipes realise their outcomes, before (or without) the full build:
trains a few seeds of each (data, loss, intended outcome) with the settings the build uses
(lab/specs.py) and prints what the samples' truth (lab/truth.py) says they became, with
the CPU time.

    python -m lab.recipes [--data ring8,grid9] [--losses bce_ns_mean,...]
                          [--outcomes healthy,...] [--seeds 3] [--steps N]

Seeds here start at 10000, apart from the build's, so the check is not the lab itself.
Nothing is cached.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

from .specs import DATASETS, LENGTHS, LOSSES, OUTCOMES, Spec, settings


def check(data: str, loss: str, outcome: str, seeds: int, steps: int) -> tuple[Counter, float]:
    """(truth classes of `seeds` runs, CPU seconds) of one recipe."""
    import torch

    from . import data as datasets
    from . import truth
    from .train import train_group

    torch.set_num_threads(1)
    ds = datasets.load(data)
    specs = [Spec(10000 + k, data, loss, outcome, "runlog", 10, steps) for k in range(seeds)]
    t0 = time.process_time()
    trained = train_group([ds] * seeds, loss, [(sp.seed, steps, settings(sp)) for sp in specs])
    classes = Counter(
        truth.label(ds, loss, tr.samples, tr.d_eval, tr.diverged_at is not None)[0]
        for tr in trained
    )
    return classes, time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=",".join(DATASETS))
    ap.add_argument("--losses", default=",".join(LOSSES))
    ap.add_argument("--outcomes", default="healthy")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="default: the data's middle length")
    a = ap.parse_args(argv)
    for data in a.data.split(","):
        for loss in a.losses.split(","):
            for outcome in a.outcomes.split(","):
                if outcome not in OUTCOMES:
                    ap.error(f"unknown outcome {outcome!r}")
                steps = a.steps or LENGTHS[data][1]
                classes, cpu = check(data, loss, outcome, a.seeds, steps)
                got = ", ".join(f"{k} {v}" for k, v in classes.most_common())
                print(f"{data:7s} {loss:13s} {outcome:14s} {steps} steps: {got} ({cpu:.0f} s CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
