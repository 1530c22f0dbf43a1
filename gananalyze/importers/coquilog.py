"""Coqui `trainer` logs (`trainer_0_log.txt`, what coqui-ai TTS writes for VITS, HiFi-GAN,
MelGAN, ...): a step header, then one value a line, each with its running average.

     > EPOCH: 0/1000
     > TRAINING (2022-11-03 10:47:31)
       --> STEP: 24/36 -- GLOBAL_STEP: 1000025        (newer: `--> TIME: <time> -- STEP: ...`)
         | > loss_disc: 3.01874  (3.46002)
         | > current_lr_0: 0.00020
     > EVALUATION
      --> EVAL PERFORMANCE
         | > avg_loss_disc: 2.93308 (+0.00000)

Read (one record a header):
  - the step is GLOBAL_STEP; `epoch` the E of the last `> EPOCH: E/N` line;
  - a value line's value is the current one, what that step logged (a `tensor(8.10,
    device='cuda:0')` as its number); the number in parentheses after it is the running
    average of the epoch so far and is not read;
  - `--> EVAL PERFORMANCE` (the evaluation set's averages after each epoch): `val/<name>`
    (`avg_loss_disc` -> `val/loss_disc`), at the epoch's last step (the last header's
    GLOBAL_STEP + what its `STEP: s/S` says is left of the epoch); the diff in parentheses
    is not read. The per-batch evaluation prints (`--> STEP: 3` with no GLOBAL_STEP, when
    `print_eval` is on) are counted in a note and not read;
  - `--> TRAIN PERFORMACE -- EPOCH TIME: t sec -- GLOBAL_STEP: g` (older trainers: the
    epoch's training averages): `<name>_epoch` at step g (`avg_G_loss` -> `G_loss_epoch`),
    the per-epoch twin of the per-step column.
ANSI colour codes are removed first. Lines before the first header (environment, restored
layers) are not values.

The run folder's `config.json`, when it is a coqui config (a `model` name and the trainer's
`print_step` / `run_name` / `output_path`), is the run's config. Its model says how the
adversarial losses add up: VITS sums its least-squares losses over its sub-discriminators
(one scale D and one per period, `periods_multi_period_discriminator`, 2, 3, 5, 7, 11: 6)
and logs each one's real term as `loss_disc_real_<i>`; the count is
`run.extra["summed_discriminators"]` (from the config, else the `loss_disc_real_<i>` the log
prints). Coqui's vocoder losses (HiFi-GAN, MelGAN, ...) are averaged over the
discriminators (`_apply_G_adv_loss`, `_apply_D_loss` divide by their number): no count is
set. There `G_loss` is G's total (adversarial + feature matching + spectral terms): the G
role goes to the adversarial term, `G_mse_fake_loss` (or `G_hinge_fake_loss`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..files.runfiles import checked
from ..files.textenc import read_log_lines
from ..run import Run
from . import counters as ctr
from ._common import first_log
from .freetext import NUM
from .table import build_run

NAME = "coqui-log"
SUFFIXES = (".txt", ".log", ".out", "")
MAX_DEPTH = 3
DETECT_BYTES = 1 << 20
MAX_BYTES = 2 << 30
CONFIG_KEYS = ("print_step", "run_name", "output_path", "dashboard_logger")
VITS_MODELS = ("vits", "vits2", "xtts")  # summed least-squares multi-period D
G_ADV_TERMS = ("G_mse_fake_loss", "G_hinge_fake_loss")

_ANSI = re.compile(r"\x1b?\[[0-9;]*m")
_STEP = re.compile(r"-->\s*(?:TIME:.*?--\s*)?STEP:\s*(\d+)\s*/\s*(\d+)\s*--\s*GLOBAL_STEP:\s*(\d+)")
_TRAIN_PERF = re.compile(r"-->\s*TRAIN PERFORMACE\b.*?GLOBAL_STEP:\s*(\d+)")
_EVAL_PERF = re.compile(r"-->\s*EVAL PERFORMANCE")
_EVAL_STEP = re.compile(r"-->\s*STEP:\s*\d+\s*$")
_EPOCH = re.compile(r"^\s*>\s*EPOCH:\s*(\d+)\s*/\s*\d+")
_VALUE = re.compile(r"^\s*\|\s*>\s*([A-Za-z_][\w./\-]*)\s*:\s*(.*)$")
_NUMBER = re.compile(rf"^(?:tensor\(\s*)?({NUM})")
_DISC_REAL = re.compile(r"^loss_disc_real_(\d+)$")


def _clean(line: str) -> str:
    return _ANSI.sub("", line).rstrip()


def is_coqui_log(p: Path, limit: int = DETECT_BYTES) -> bool:
    """Whether a GLOBAL_STEP header in the head of `p` is followed by a `| > key: v` line."""
    try:
        with open(p, encoding="utf-8", errors="replace") as f:
            head = [_clean(x) for x in f.read(limit).splitlines()]
    except OSError:
        return False
    return any(
        (_STEP.search(a) or _TRAIN_PERF.search(a)) and _VALUE.match(b)
        for a, b in zip(head, head[1:], strict=False)
    )


def find_log(path: Path) -> Path | None:
    return first_log(path, is_coqui_log, SUFFIXES, MAX_DEPTH)


def detect(path: Path) -> bool:
    return find_log(path) is not None


def _value(text: str) -> float | None:
    """The current value of a value line's text (`3.01874  (3.46002)`, `tensor(8.1, ...)`)."""
    m = _NUMBER.match(text.strip())
    return float(m.group(1)) if m else None


def read_config(log: Path, warnings: list[str]) -> dict:
    """The coqui config.json beside the log ({} when absent or not coqui's)."""
    p = checked(log.parent, log.parent / "config.json", warnings)
    if p is None:
        return {}
    try:
        cfg = json.loads(p.read_text(encoding="utf-8", errors="replace"))
    except (ValueError, RecursionError):
        warnings.append(f"{p}: not readable as JSON; config unknown")
        return {}
    if not isinstance(cfg, dict) or not isinstance(cfg.get("model"), str):
        return {}
    return cfg if any(k in cfg for k in CONFIG_KEYS) else {}


def summed(config: dict, names: list[str]) -> tuple[int | None, str]:
    """(how many sub-discriminators loss_disc / loss_gen add up, where that was read)."""
    model = str(config.get("model", "")).lower()
    reals = {int(m.group(1)) for n in names if (m := _DISC_REAL.match(n))}
    if model in VITS_MODELS:
        periods = (config.get("model_args") or {}).get("periods_multi_period_discriminator")
        if isinstance(periods, list) and periods:
            return len(periods) + 1, f"config.json: model {model}, {len(periods)} periods + 1 scale"
        return 6, f"config.json: model {model} (periods 2, 3, 5, 7, 11 + 1 scale)"
    if not model and "loss_disc" in names and reals == set(range(len(reals))) and len(reals) > 1:
        return len(reals), f"the log's loss_disc_real_0 .. {max(reals)}"
    return None, ""


def _parse(lines: list[str]):
    """Records (kind, step, epoch, values) in file order and counts of what was passed over."""
    records: list[tuple[str, int, float, dict[str, float]]] = []
    epoch = np.nan
    cur: dict[str, float] | None = None
    last_end: int | None = None  # the step the epoch so far ends at
    skipped = {"eval_steps": 0, "unreadable": 0}
    for line in lines:
        s = _clean(line)
        v = _VALUE.match(s)
        if v is not None:
            if cur is not None:
                x = _value(v.group(2))
                if x is None:
                    skipped["unreadable"] += 1
                else:
                    cur[v.group(1)] = x
            continue
        cur = None
        if (e := _EPOCH.match(s)) is not None:
            epoch = float(e.group(1))
        elif (h := _STEP.search(s)) is not None:
            step, total, g = (int(x) for x in h.groups())
            cur = {}
            records.append(("train", g, epoch, cur))
            last_end = g + max(total - step, 0)
        elif (h := _TRAIN_PERF.search(s)) is not None:
            cur = {}
            records.append(("epoch", int(h.group(1)), epoch, cur))
            last_end = int(h.group(1))
        elif _EVAL_PERF.search(s) and last_end is not None:
            cur = {}
            records.append(("eval", last_end, epoch, cur))
        elif _EVAL_STEP.search(s):
            skipped["eval_steps"] += 1
    return [r for r in records if r[3]], skipped


def _named(kind: str, values: dict[str, float]) -> dict[str, float]:
    if kind == "train":
        return values
    bare = {(k[4:] if k.startswith("avg_") else k): x for k, x in values.items()}
    if kind == "eval":
        return {f"val/{k}": x for k, x in bare.items()}
    return {f"{k}_epoch": x for k, x in bare.items()}


def load(path: Path) -> Run:
    path = Path(path)
    log = find_log(path)
    if log is None:
        raise GanAnalyzeError(f"{path}: no coqui trainer log ('--> STEP: s/S -- GLOBAL_STEP: g')")
    warnings: list[str] = []
    log = checked(log.parent, log, warnings) or log
    lines = read_log_lines(log, MAX_BYTES, warnings)
    records, skipped = _parse(lines)
    if not any(r[0] == "train" for r in records):
        raise GanAnalyzeError(
            f"{log}: no GLOBAL_STEP header is followed by '| > name: value' lines"
        )
    if skipped["unreadable"]:
        warnings.append(
            f"{log}: {skipped['unreadable']} value line(s) inside a record hold no number; left out"
        )
    steps = np.array([r[1] for r in records], dtype=np.int64)
    train = np.array([r[0] == "train" for r in records])
    keep, sections, replaced = ctr.segments(steps, train)
    if replaced:
        warnings.append(ctr.restart_warning(log, sections, replaced, len(steps)))
    rows = [_named(kind, vals) for kind, _, _, vals in records]
    names = list(dict.fromkeys(k for r in rows for k in r))
    cols = {k: np.array([r.get(k, np.nan) for r in rows], dtype=float)[keep] for k in names}
    logged = {k: np.array([k in r for r in rows])[keep] for k in names}
    epochs = np.array([r[2] for r in records], dtype=float)[keep]
    config = read_config(log, warnings)
    model = str(config.get("model", "")).lower()
    run = build_run(
        path,
        log,
        NAME,
        steps[keep],
        cols,
        logged,
        warnings,
        unit="iteration",
        index={"epoch": epochs if np.isfinite(epochs).any() else None},
        config=config,
        loss="lsgan" if model in VITS_MODELS else None,
    )
    run.duplicates_replaced += replaced
    k, said = summed(config, names)
    if k:
        run.extra["summed_discriminators"] = k
    adv = next((c for c in G_ADV_TERMS if c in run.metrics), None)
    if adv:
        run.role_map = {"G_loss": {"column": adv, "source": "coqui-log: G's adversarial term"}}
    kinds = [r[0] for r, kept in zip(records, keep, strict=True) if kept]
    notes = [
        f"{log.name}: {kinds.count('train')} step record(s) read (GLOBAL_STEP; the running "
        "averages in parentheses not read), "
        f"{kinds.count('eval')} evaluation block(s) as val/<name>"
        + (f", {kinds.count('epoch')} epoch summaries as <name>_epoch" if "epoch" in kinds else "")
    ]
    if skipped["eval_steps"]:
        notes.append(
            f"{log.name}: {skipped['eval_steps']} per-batch evaluation print(s) not read "
            "(the EVAL PERFORMANCE averages are)"
        )
    if config:
        notes.append(f"config.json: coqui config, model {config['model']!r}")
    if k:
        notes.append(
            f"loss_disc / loss_gen add up {k} sub-discriminators' least-squares losses "
            f"({said}); the rules read them divided by {k}"
        )
    if adv:
        notes.append(f"the G role is {adv}, G's adversarial term (G_loss is its total)")
    run.extra["source_notes"] = notes
    return run
