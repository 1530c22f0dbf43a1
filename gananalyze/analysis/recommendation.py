"""The one recommendation for a run: which checkpoint to keep and where training should stop.

One policy, computed once per diagnosis (rules.diagnose attaches it to the Diagnosis),
that `check`, `check --json`, `report`, `compare` and `fid-sweep` all print as it is:

1. Candidates are the saved checkpoints (run.checkpoints, or the sample metrics'
   snapshot column) after the untrained weights' step (`evaluations.initial_step`: 0 or 1
   where the run starts there): a checkpoint of the initial weights is never a keeper.
2. An error finding that starts at step S makes every checkpoint at or after S
   suspect: only candidates before the earliest such S are kept. When none is left,
   nothing is recommended and the text says why (the best evaluation inside the error
   is named, not recommended).
3. Among the candidates, the best evaluation of the selected sample metric
   (analysis.evaluations: one feature network, implausible values left out) picks
   the checkpoint; without evaluations, the last candidate before the error; without
   evaluations or errors there is nothing to choose, and no recommendation.
4. Where to stop (`stop_point`): the earliest evaluation within `tolerance` (relative)
   of the kept one's value; training past it bought (almost) nothing.
5. After an error the text says where to go on from: the kept checkpoint ("resume from it
   with the changes above") or, when none is left, "restart". The rules' actions say what
   to change and never name a checkpoint or a stop step themselves, so no page can show
   two different ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..naming.aliases import higher_is_better
from ..run import Run
from ..textfmt import fmt_pct, fmt_sig
from .evaluations import best_position, checkpoint_name, finite_series, initial_step
from .findings import Finding

TOLERANCE = 0.02  # "within 2% of the best": where training could have stopped


@dataclass
class Recommendation:
    """The checkpoint to keep and where to stop, with the evidence that chose them.

    keep_step/checkpoint: the checkpoint to keep (None: none is recommended);
    metric/value: the evaluation that chose it (None: chosen without evaluations);
    stop_step/stop_value: the earliest evaluation within `tolerance` of `value`;
    last_step: the last evaluation; still_improving: the kept checkpoint is the last
    evaluation and no earlier one came within `tolerance`; before_step/before_finding:
    the start and title of the error finding the checkpoint must precede (None when no
    error); best_step/best_value: the best evaluation of the whole run (it differs from
    the kept one when it lies inside the error); text: the sentence every page prints.
    """

    text: str
    keep_step: int | None = None
    checkpoint: str | None = None
    metric: str | None = None
    value: float | None = None
    stop_step: int | None = None
    stop_value: float | None = None
    last_step: int | None = None
    still_improving: bool = False
    tolerance: float = TOLERANCE
    before_step: int | None = None
    before_finding: str | None = None
    best_step: int | None = None
    best_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def stop_point(values: np.ndarray, higher: bool, tolerance: float = TOLERANCE) -> tuple[int, int]:
    """(index of the best value, index of the earliest value within `tolerance` of it)."""
    i = best_position(values, higher)
    slack = tolerance * abs(values[i])
    close = values >= values[i] - slack if higher else values <= values[i] + slack
    return i, int(np.argmax(close))


def _checkpoint_steps(run: Run, evaluated: pd.Index) -> set[int]:
    """Steps with a saved checkpoint: run.checkpoints, else evaluations naming a snapshot."""
    steps = {int(c.step) for c in run.checkpoints}
    steps |= {int(s) for s in evaluated if int(s) not in steps and checkpoint_name(run, int(s))}
    return steps


def _label(metric: str) -> str:
    return metric.upper() if metric.lower() in ("fid", "kid", "is") else metric


def recommend(
    run: Run, findings: list[Finding], metric: str = "fid", tolerance: float = TOLERANCE
) -> Recommendation | None:
    """The run's one recommendation (see the module docstring), or None when there is
    nothing to choose (no evaluations, no error)."""
    first = initial_step(run)
    errors = [f for f in findings if f.severity == "error" and f.start_step is not None]
    cut = min(errors, key=lambda f: f.start_step) if errors else None
    s = finite_series(run, metric)
    ckpts = _checkpoint_steps(run, s.index)
    cand = {c for c in ckpts if first is None or c > first}
    if cut is not None:
        cand = {c for c in cand if c < cut.start_step}
    base: dict[str, Any] = {"tolerance": tolerance}
    where = ""
    if cut is not None:
        title = cut.title.split(" (")[0]
        base.update(before_step=int(cut.start_step), before_finding=title)
        where = f"{title[0].lower() + title[1:]} (from step {cut.start_step})"
    if len(s):
        col = str(s.name) if s.name is not None else metric
        higher = higher_is_better(col)
        nm = _label(col)
        b = best_position(s.to_numpy(), higher)
        base.update(
            metric=col,
            best_step=int(s.index[b]),
            best_value=float(s.iloc[b]),
            last_step=int(s.index[-1]),
        )
        pool = s[[int(x) in cand for x in s.index]]
        if not ckpts:  # nothing saved: say where to stop next time
            pool = s if cut is None else s[s.index < cut.start_step]
        if len(pool):
            i, j = stop_point(pool.to_numpy(), higher, tolerance)
            k, v = int(pool.index[i]), float(pool.iloc[i])
            stop, sv = int(pool.index[j]), float(pool.iloc[j])
            improving = k == int(s.index[-1]) and j == i
            base.update(value=v, stop_step=stop, stop_value=sv, still_improving=improving)
            if improving:
                tail = f"; {nm} was still improving at the last evaluation: train longer."
            elif stop < k:
                tail = (
                    f"; training could have stopped at step {stop} ({nm} {fmt_sig(sv)}, within "
                    f"{fmt_pct(tolerance)} of it)."
                )
            elif cut is not None and ckpts:
                tail = "; resume from it with the changes above."
            elif cut is not None:
                tail = "; stop training there."
            elif k < int(s.index[-1]):
                tail = f"; stop training there: {nm} got no better after it."
            else:
                tail = "."
            why = f", the best by {nm} before {where}" if cut is not None else ""
            if not ckpts:
                text = f"No checkpoints were saved; {nm} was best at step {k} ({fmt_sig(v)}){why}"
                return Recommendation(text=text + tail, **base)
            name = checkpoint_name(run, k)
            what = f"checkpoint {name} (step {k}" if name else f"the checkpoint at step {k} ("
            text = f"Keep {what}{', ' if name else ''}{nm} {fmt_sig(v)}){why}{tail}"
            return Recommendation(text=text, keep_step=k, checkpoint=name, **base)
    if cut is None:
        return None
    if cand:
        k = max(cand)
        name = checkpoint_name(run, k)
        what = f"checkpoint {name} (step {k})" if name else f"the checkpoint at step {k}"
        text = f"Keep {what}, the last before {where}"
        text += "; no sample metric ranks the checkpoints" if not len(s) else ""
        text += "; resume from it with the changes above."
        return Recommendation(text=text, keep_step=k, checkpoint=name, **base)
    if not ckpts:
        if not len(s):
            return None
        text = f"No checkpoints were saved, and every evaluation lies in {where}."
        return Recommendation(text=text, **base)
    text = (
        f"No checkpoint to keep: every one saved after the first step lies in or after {where}; "
        "restart with the changes above"
    )
    if base.get("best_step") is not None:
        nm = _label(base["metric"])
        text += (
            f" (the best {nm}, {fmt_sig(base['best_value'])} at step {base['best_step']}, "
            "lies inside it)"
        )
    return Recommendation(text=text + ".", **base)
