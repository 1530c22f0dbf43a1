"""VITS-family `train.log`: VITS, so-vits-svc, Bert-VITS2 and RVC log their losses as an
unnamed Python list under a `Train Epoch: E [P%]` line, so the names come from the
trainers' own `train.py`, by the list's length.

    2023-02-18 17:41:42,594	32k	INFO	Train Epoch: 5 [0%]
    2023-02-18 17:41:42,595	32k	INFO	[2.06, 2.70, 6.06, 18.2, 1.08, 200, 9.995e-05]

The line after each `Train Epoch` line is read as one record (LAYOUTS):
  - 7 numbers: so-vits-svc, `[loss_disc, loss_gen, loss_fm, loss_mel, loss_kl]` then
    `[global_step, lr]`;
  - 8 numbers: VITS and Bert-VITS2, `[loss_disc, loss_gen, loss_fm, loss_mel, loss_dur,
    loss_kl]` then `[global_step, lr]`;
  - `Losses: [5 or 6 numbers], step: N, lr: x, reference_loss: y` (so-vits-svc 4.x): the
    same names, step and lr named;
  - 2 numbers: RVC, `[global_step, lr]`, with the losses named on the next line
    (`loss_disc=4.107, loss_gen=4.434, loss_fm=10.796,loss_mel=26.703, loss_kl=9.000`).
A list of another length keeps its step and lr (the last two numbers) and names the rest
`value_1` ... (a warning says so). The step is `global_step`; `epoch` the E printed.

The adversarial terms are `loss_disc` (D) and `loss_gen` (G's adversarial loss only): G's
optimiser also minimises feature matching, the mel error (x c_mel, 45) and the KL term,
which keep their own names and get no G role. Both adversarial terms are least squares
summed over VITS's multi-period discriminator (the loss is declared `lsgan`; with six
sub-discriminators chance is loss_disc 3.0, loss_gen 1.5). The config dict the log prints
first (`{'train': {...}, 'data': ..., 'model': ...}`) is the run's config. A session
started again in the same file (`global_step` going back) replaces the earlier rows from
that step on.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from ..errors import GanAnalyzeError
from ..files.runfiles import checked
from ..files.textenc import file_encoding, read_log_lines
from ..run import Run
from . import counters as ctr
from ._common import first_log
from .freetext import NUM
from .table import build_run

NAME = "vits-log"
SUFFIXES = (".log", ".txt", ".out", "")
MAX_DEPTH = 3
DETECT_BYTES = 1 << 20
MAX_BYTES = 2 << 30
SO_VITS = ("loss_disc", "loss_gen", "loss_fm", "loss_mel", "loss_kl")
VITS = ("loss_disc", "loss_gen", "loss_fm", "loss_mel", "loss_dur", "loss_kl")
LAYOUTS = {5: SO_VITS, 6: VITS}  # losses in the list, by count
LAYOUT_NAMES = {5: "so-vits-svc", 6: "VITS / Bert-VITS2", 0: "RVC"}

_HEADER = re.compile(r"Train Epoch:\s*(\d+)\s*\[\s*(\d+)%\]")
_LIST = re.compile(rf"\[\s*((?:{NUM}\s*,\s*)*{NUM})\s*\]")
_NAMED = re.compile(rf"\b(step|lr|reference_loss)\s*:\s*({NUM})")
_PAIR = re.compile(rf"\b([A-Za-z_]\w*)\s*=\s*({NUM})")
_CONFIG = re.compile(r"\{'train':\s*\{")


def _message(line: str) -> str:
    """The logged message: what follows the logging prefix (`<time>\\t<name>\\tINFO\\t`, or
    `INFO:<name>:`), else the line."""
    if "\t" in line:
        return line.rsplit("\t", 1)[-1].strip()
    m = re.match(r"\s*(?:INFO|DEBUG|WARNING):[^:]*:(.*)$", line)
    return (m.group(1) if m else line).strip()


def _list_line(msg: str) -> tuple[list[float], dict[str, float]] | None:
    """(the numbers of the list the message holds, its named step/lr), or None."""
    m = _LIST.search(msg)
    if m is None or "Train Epoch" in msg:
        return None
    nums = [float(x) for x in m.group(1).split(",")]
    named = {k: float(v) for k, v in _NAMED.findall(msg[m.end() :])}
    return nums, named


def is_vits_log(p: Path, limit: int = DETECT_BYTES) -> bool:
    """Whether a `Train Epoch: E [P%]` line in the head of `p` is followed by a list."""
    try:
        with open(p, encoding=file_encoding(p), errors="replace") as f:
            head = f.read(limit).splitlines()
    except OSError:
        return False
    return any(
        _HEADER.search(a) and _list_line(_message(b)) is not None
        for a, b in zip(head, head[1:], strict=False)
    )


def find_log(path: Path) -> Path | None:
    return first_log(path, is_vits_log, SUFFIXES, MAX_DEPTH)


def detect(path: Path) -> bool:
    return find_log(path) is not None


def _record(
    nums: list[float], named: dict[str, float], next_msg: str
) -> tuple[float, float | None, dict[str, float], str]:
    """(global step, lr, losses by name, layout) of one record."""
    if "step" in named:  # `Losses: [...], step: N, lr: x`: the list holds the losses only
        step, lr, losses = named["step"], named.get("lr"), nums
    elif len(nums) >= 2:
        step, lr, losses = nums[-2], nums[-1], nums[:-2]
    else:
        raise ValueError(f"a list of {len(nums)} number(s) holds no step")
    out: dict[str, float] = {}
    names = LAYOUTS.get(len(losses))
    if names is not None:
        out.update(zip(names, losses, strict=True))
        layout = LAYOUT_NAMES[len(losses)]
    elif not losses:  # RVC: the losses are named on the next line
        out.update((k, float(v)) for k, v in _PAIR.findall(next_msg))
        layout = LAYOUT_NAMES[0] if out else "none"
    else:
        out.update((f"value_{i + 1}", v) for i, v in enumerate(losses))
        layout = "unknown"
    if "reference_loss" in named:
        out["reference_loss"] = named["reference_loss"]
    return step, lr, out, layout


def _summed(layouts: dict[str, int], config: dict) -> tuple[int | None, str]:
    """(how many sub-discriminators loss_disc and loss_gen add up, where that was said):
    VITS, Bert-VITS2 and so-vits-svc's multi-period D is one scale D and periods 2, 3, 5, 7,
    11 (6); RVC's v1 is that, its v2 adds periods 17, 23, 37 (9), told by the config's
    `version`; an RVC log that prints none is taken as v2, the version RVC trains by default
    (said: the rules' findings name it). None for lists of unknown length."""
    if layouts.get("unknown"):
        return None, ""
    if set(layouts) <= {LAYOUT_NAMES[5], LAYOUT_NAMES[6]}:
        return 6, ""
    version = str(config.get("version", "")).lower()
    if version in ("v1", "v2"):
        return {"v1": 6, "v2": 9}[version], ""
    return 9, "RVC v2 assumed: the log prints no version"


def _config(msg: str) -> dict:
    if not _CONFIG.match(msg):
        return {}
    try:
        v = ast.literal_eval(msg)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return {}
    return v if isinstance(v, dict) else {}


def load(path: Path) -> Run:
    path = Path(path)
    log = find_log(path)
    if log is None:
        raise GanAnalyzeError(f"{path}: no VITS train.log ('Train Epoch: E [P%]' and a list)")
    warnings: list[str] = []
    log = checked(log.parent, log, warnings) or log
    lines = read_log_lines(log, MAX_BYTES, warnings)
    msgs = [_message(x) for x in lines]
    steps: list[float] = []
    epochs: list[float] = []
    rows: list[dict[str, float]] = []
    layouts: dict[str, int] = {}
    config: dict = {}
    bad: list[str] = []
    for i, line in enumerate(lines):
        if not config:
            config = _config(msgs[i])
        h = _HEADER.search(line)
        if h is None:
            continue
        got = _list_line(msgs[i + 1]) if i + 1 < len(lines) else None
        if got is None:
            bad.append(f"{log}:{i + 1}: 'Train Epoch' line with no list of losses after it")
            continue
        try:
            step, lr, vals, layout = _record(*got, msgs[i + 2] if i + 2 < len(lines) else "")
        except ValueError as e:
            bad.append(f"{log}:{i + 2}: {e}")
            continue
        if lr is not None:
            vals["lr"] = lr
        steps.append(step)
        epochs.append(float(h.group(1)))
        rows.append(vals)
        layouts[layout] = layouts.get(layout, 0) + 1
    if not rows:
        raise GanAnalyzeError(f"{log}: no 'Train Epoch' line is followed by a list of losses")
    if "unknown" in layouts:
        warnings.append(
            f"{log}: {layouts['unknown']} loss list(s) of a length no VITS trainer prints "
            "(so-vits-svc: 5 losses, VITS / Bert-VITS2: 6); their values are named value_1 ... "
            "and get no G/D role"
        )
    warnings += bad[:5] + ([f"... and {len(bad) - 5} more such lines"] if len(bad) > 5 else [])
    st = np.asarray(steps, dtype=np.int64)
    keep, sections, replaced = ctr.segments(st, np.ones(len(st), bool))
    if replaced:
        warnings.append(ctr.restart_warning(log, sections, replaced, len(st)))
    names = list(dict.fromkeys(k for r in rows for k in r))
    cols = {k: np.array([r.get(k, np.nan) for r in rows], dtype=float)[keep] for k in names}
    logged = {k: np.array([k in r for r in rows])[keep] for k in names}
    run = build_run(
        path,
        log,
        NAME,
        st[keep],
        cols,
        logged,
        warnings,
        unit="iteration",
        index={"epoch": np.asarray(epochs, dtype=float)[keep]},
        config=config,
        loss="lsgan",
    )
    run.duplicates_replaced += replaced
    k, assumed = _summed(layouts, config)
    if k:
        run.extra["summed_discriminators"] = k
    if assumed:
        run.extra["summed_discriminators_assumed"] = assumed
    known = ", ".join(f"{n} {k}" for k, n in layouts.items())
    run.extra["source_notes"] = [
        f"{log.name}: {len(rows)} loss list(s) read (layout: {known}); the adversarial terms "
        "are loss_disc (D) and loss_gen (G's adversarial term; G also minimises the "
        "feature-matching, mel and KL terms), least squares summed over the sub-discriminators"
        + (f" ({k}: the rules read them divided by {k})" if k else " (their number unknown)")
        + (f"; {assumed}" if assumed else "")
    ]
    return run
