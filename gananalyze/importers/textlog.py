"""Training logs printed to stdout and saved as text, read by the one free-text grammar
(`freetext`): `key: v`, `key=v`, `key v`, multi-word keys with qualifiers, `[e/E][b/B]`;
a table printed with pipes is read row by row (`pipetables`).

Recognised when a `.txt` / `.log` / `.out` file (or one without a suffix) holds at
least two value lines (a counter and a value, or two values) anywhere in its first
DETECT_BYTES, however long the preamble before them (printed networks and configs).
README / SOURCE / LICENSE texts are never logs. Pointed at a folder, the log files
down to depth 3 are candidates: the one with the most value lines is read and the others
are named in `run.extra["source_notes"]` (what `info` prints); a folder that also holds a
table with a step column is the table's (the `csv` format).

Step axis (see `counters`): the counter most value lines print (step, iter/itr/iteration,
tick, kimg, then epoch), a constant one passed over while another varies; epoch +
per-epoch iteration/batch becomes one global step (iterations per epoch from the printed
`/B` total, else inferred), unit "iteration"; only an epoch: unit "epoch"; no counter:
the line's number among the value lines (unit "row"). A line without the counter
(an evaluation line such as `FID: 37.2`) takes the step of the last line that printed
it; lines before the first counter are the preamble: the options printed there (an
argparse `Namespace(...)`, `key: value` lines) are the run's config (`preamble`), the rest
is ignored. Where the step
goes back on the main kind of line, a resume starts a new section that replaces the
earlier rows from its first step on; evaluation lines printed with their own earlier
step stay on that step.
Values: every other pair, named as printed (multi-word keys joined with `_`). A last line
cut off mid-number (fewer decimals than the line's other numbers) loses that number.
`run.extra["lines"]` counts the lines read and ignored, with a sample of each.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import GanAnalyzeError
from ..files.runfiles import checked, keep_inside
from ..files.textenc import file_encoding, read_log_text
from ..naming.roles import resolve_roles
from ..run import Run
from . import counters as ctr
from . import freetext, linetemplates, mdcode, pipetables, pymessages, samplefiles
from . import preamble as preamble_mod
from ._common import warn_limit
from .hydraconfig import CONFIG as HYDRA_CONFIG
from .hydraconfig import hydra_config
from .table import build_run
from .tablefiles import NOT_RUN_FILES, find_table

NAME = "textlog"
SUFFIXES = (".txt", ".log", ".out", ".md", "")  # .md: stdout redirected into a notes file
DETECT_BYTES = 8 << 20
MAX_BYTES = 2 << 30
MAX_DEPTH = 3
_CHUNK = 256 * 1024
_STEP_KINDS = ("step", "iter", "tick", "kimg", "batch", "epoch")
_UNITS = {
    "step": "iteration",
    "iter": "iteration",
    "batch": "iteration",
    "tick": "tick",
    "kimg": "kimg",
    "epoch": "epoch",
}


def value_lines(p: Path, limit: int = DETECT_BYTES, enough: int = 50) -> int:
    """How many value lines the head of `p` holds (stops at `enough`; 0 for JSON)."""
    cache: dict[str, bool] = {}
    found = seen = 0
    doc = False  # a Markdown document: its code blocks only, and lines that print a loss
    above: list[str] = []  # the lines before the chunk: a table's header may be there
    try:
        with open(p, encoding=file_encoding(p), errors="replace") as f:
            first = True
            while seen < limit:
                chunk = f.readlines(_CHUNK) if p.suffix.lower() != ".md" else None
                if chunk is None:  # (mdcode: documentation quotes commands' output too)
                    text = f.read(limit)
                    doc, seen = mdcode.is_markdown(text), limit
                    chunk = (mdcode.code_only(text) if doc else text).splitlines(True)
                if not chunk:
                    break
                raw = [x.rstrip("\r\n") for x in chunk]
                viewed = pipetables.view_lines(raw, above)  # table rows as `name: value`
                above = [*above, *raw][-pipetables.ABOVE :]
                for line, s in zip(chunk, viewed, strict=True):
                    seen += len(line)
                    s = s.strip()
                    if not s:
                        continue
                    if first:
                        first = False
                        # JSON: an object, or an array opening on an object, an array, a
                        # string or nothing; `[Epoch 3/100]` and `[0/5][3/100]` are log lines
                        if s.startswith("{") or re.match(r'\[\s*(?:[\[{"\]]|$)', s):
                            return 0
                    key = freetext.template(s)
                    hit = cache.get(key)
                    if hit is None:
                        sh = freetext.parse(s)
                        hit = cache[key] = (
                            bool(sh.values)
                            and len(sh.values) + min(len(sh.counters), 1) >= 2
                            and (not doc or any("loss" in n.lower() for n, _ in sh.values))
                        )
                    found += hit
                    if found >= enough:
                        return found
    except OSError:
        return 0
    return found


def one_gan_line(p: Path, limit: int = DETECT_BYTES) -> bool:
    """Whether the only value line of `p` names both a G and a D loss: a run that stopped
    (diverged, or was killed) after its first print is a log, where one line of other
    `key: value` text is not."""
    try:
        with open(p, encoding=file_encoding(p), errors="replace") as f:
            head = pipetables.view(mdcode.log_view(p.name, f.read(limit)))
    except OSError:
        return False
    for line in head.splitlines():
        sh = freetext.parse(line.strip())
        # the value line value_lines counted (a preamble's lone `batch_size: 128` is not one)
        if sh.values and len(sh.values) + min(len(sh.counters), 1) >= 2:
            roles = resolve_roles([name for name, _ in sh.values]).roles
            return {"G_loss", "D_loss"} <= set(roles)
    return False


def is_candidate(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in SUFFIXES and not NOT_RUN_FILES.match(p.name)


def find_logs(path: Path) -> tuple[Path | None, list[str]]:
    """(the log to read, notes naming the candidates left out and why)."""
    path = Path(path)
    if path.is_file():
        n = value_lines(path) if is_candidate(path) else 0
        return (path if n >= 2 or (n == 1 and one_gan_line(path)) else None), []
    if not path.is_dir():
        return None, []
    files: list[Path] = []
    try:
        for depth in range(MAX_DEPTH):
            pattern = "/".join(["*"] * (depth + 1))
            files += keep_inside(path, sorted(path.glob(pattern)))
    except OSError:
        return None, []
    scored = [(value_lines(p), p) for p in files if is_candidate(p)]
    found = [(n, p) for n, p in scored if n >= 2 or (n == 1 and one_gan_line(p))]
    if not found:
        return None, []
    try:  # a folder with a metrics table (Lightning's metrics.csv beside a captured stdout)
        if find_table(path, nested=False)[0] is not None:
            return None, []
    except GanAnalyzeError:
        return None, []
    runs = sorted({p.relative_to(path).parts[0] for _, p in found if p.parent != path})
    if len(runs) > 1 and all(p.parent != path for _, p in found):
        # each log in its own subfolder: a folder of runs (a sweep), not one run's logs
        names = ", ".join(str(p.relative_to(path)) for _, p in sorted(found, key=lambda x: x[1]))
        raise GanAnalyzeError(
            f"{path}: {len(runs)} runs here, each with its own text log ({names}); point "
            f"gananalyze at one of them, or compare them: gananalyze compare {path}/*"
        )
    found.sort(key=lambda x: (-x[0], len(x[1].parts), str(x[1])))
    best = found[0][1]
    notes = []
    if len(found) > 1:
        left = ", ".join(
            f"{p.relative_to(path)} ({n}{'+' if n >= 50 else ''} value lines)"
            for n, p in found[1:6]
        )
        notes.append(
            f"{len(found)} text logs found; read {best.relative_to(path)} (most value lines); "
            f"left out: {left}" + (f" and {len(found) - 6} more" if len(found) > 6 else "")
        )
    return best, notes


def find_log(path: Path) -> Path | None:
    return find_logs(path)[0]


def detect(path: Path) -> bool:
    try:
        return find_log(path) is not None
    except GanAnalyzeError:  # a folder of runs: claimed, so the load names them
        return True


def _cut_short(line: str) -> bool:
    """Whether the last number of a line (the file's last, with no newline) has fewer
    decimals than the line's other numbers: the write was cut off mid-number."""
    if not line.rstrip()[-1:].isdigit():  # ends in a bracket, a unit, a word: written whole
        return False
    decimals = [len(d) for d in re.findall(r"\d\.(\d+)", line)]
    return bool(decimals) and len(decimals) > 1 and decimals[-1] < min(decimals[:-1])


def read_lines(log: Path, warnings: list[str], notes: list[str]):
    """(lines as a pyarrow array, file ends with a newline), at most MAX_BYTES (a warning
    names the cut); Python's own warnings and tracebacks blanked (a note counts them)."""
    # UTF-8, or UTF-16 by its byte-order mark; a Markdown document's code blocks only
    text = pipetables.view(mdcode.log_view(log.name, read_log_text(log, MAX_BYTES, warnings)))
    if "\r" in text:  # Windows line ends; a bare \r redraws a progress bar: a line each
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, blanked = pymessages.blank_python_messages(text)
    if blanked:
        notes.append(f"{log.name}: {blanked} line(s) of Python warnings or tracebacks not read")
    return linetemplates.split_lines(text), text.endswith("\n")


def _step_axis(ex: linetemplates.Extracted, has_value: np.ndarray):
    """(step per line or NaN, own-step mask, unit, note) from the counters (module docstring)."""
    n = ex.n
    cands = [k for k in _STEP_KINDS if k in ex.counters]
    if not cands:
        return None, None, "row", "line number among the value lines"
    # counted on the commonest kind of value line (pix2pixHD's loss lines print epoch and
    # iters; its `End of epoch 1 / 200 Time Taken: 261 sec` lines, the epoch alone)
    sig = np.where(has_value, ex.signature, -1)
    main = (
        has_value & (sig == np.bincount(sig[has_value]).argmax()) if has_value.any() else has_value
    )
    count = {k: int((np.isfinite(ex.counters[k]) & main).sum()) for k in cands}
    if not any(count.values()):
        count = {k: int((np.isfinite(ex.counters[k]) & has_value).sum()) for k in cands}
    cands.sort(key=lambda k: (-count[k], _STEP_KINDS.index(k)))
    kind = ctr.pick_step([(k, ex.counters[k][has_value]) for k in cands])
    if kind is None:
        return None, None, "row", "line number among the value lines"
    c = ex.counters[kind]
    own = np.isfinite(c)
    step = np.full(n, np.nan)
    note = None
    unit = _UNITS[kind]
    ep = ex.counters.get("epoch")
    inner = kind if kind in ("iter", "batch", "step") else None
    if kind == "epoch":
        inner = next(
            (
                k
                for k in ("batch", "iter")
                if k in ex.counters
                and np.isfinite(ex.counters[k][own]).all()
                and ctr.varies(ex.counters[k][own])
            ),
            None,
        )
    if inner and ep is not None and (own & has_value).any():
        # epoch + iteration counted on the value lines: a bookkeeping line (pix2pixHD's
        # `saving the model at the end of epoch 10, iters 28800`, a global count) takes the
        # step of the value line before it
        own = own & has_value
    if inner and ep is not None and np.isfinite(ep[own]).all() and own.any():
        e0 = min(int(ep[own].min()), 1)
        g, per, note = ctr.global_steps(
            ep[own], ex.counters[inner][own], ex.totals.get(inner, np.full(n, np.nan))[own], e0
        )
        step[own] = g
        unit = "iteration"
    elif kind == "epoch" and _prints_per_epoch(c, own & main):
        # several prints an epoch and no batch counter (`Epoch 1/2... Discriminator Loss: ...`
        # every 10 batches): the prints in order are the steps, the epoch its own column
        own = own & main
        step[own] = np.arange(int(own.sum()))
        unit = "row"
        note = "prints numbered in order: several an epoch and no batch counter"
    else:
        step[own] = np.round(c[own])
    # lines without the counter take the last printed step; before the first: preamble
    idx = np.where(own, np.arange(n), -1)
    np.maximum.accumulate(idx, out=idx)
    filled = np.where(idx >= 0, step[np.maximum(idx, 0)], np.nan)
    return filled, own, unit, note


def load(path: Path) -> Run:
    path = Path(path)
    log, notes = find_logs(path)
    if log is None:
        raise GanAnalyzeError(f"{path}: no text log with key: value lines here")
    warnings: list[str] = []
    log = checked(log.parent, log, warnings) or log
    lines, ends = read_lines(log, warnings, notes)
    ex = linetemplates.extract(lines)
    nvals = ex.value_counts()
    has_value = nvals > 0
    headers = ctr.headed_records(ex, has_value, _STEP_KINDS)
    step, own, unit, note = _step_axis(ex, has_value)
    if step is None:  # no counter: rows are the lines with two or more values
        rows = np.flatnonzero(nvals >= (2 if nvals.max(initial=0) >= 2 else 1))
        steps = np.arange(len(rows), dtype=np.int64)
        keep, sections, replaced = np.ones(len(rows), bool), [], 0
        preamble = 0
    else:
        with np.errstate(invalid="ignore"):
            huge = has_value & np.isfinite(step) & (np.abs(step) >= 2.0**63)
        if huge.any():  # a step of 1e23 would become -2**63 and restart the log there
            warnings.append(
                f"{log}: {int(huge.sum())} line(s) whose step does not fit 64 bits skipped "
                f"(line {int(np.flatnonzero(huge)[0]) + 1} first)"
            )
        rows = np.flatnonzero(has_value & np.isfinite(step) & ~huge)
        rows = _after_start(ex, rows, own)
        rows = _tqdm_first(lines, rows, step)
        preamble = int((has_value[: rows[0]]).sum()) if len(rows) else int(has_value.sum())
        steps = step[rows].astype(np.int64)
        own_rows = own[rows]
        sig = ex.signature[rows]
        main_sig = np.bincount(sig[own_rows]).argmax() if own_rows.any() else -1
        keep, sections, replaced = ctr.segments(steps, own_rows & (sig == main_sig))
    bad: list[str] = []
    cols, logged = ex.columns(rows)
    left_out = len(ex.points) - len(ex.kept_names(len(rows)))
    if left_out:
        warnings.append(
            f"{log}: {len(ex.points):,} different value names over {len(rows):,} rows, more "
            f"than can be held (at most {linetemplates.MAX_NAMES:,} names and "
            f"{linetemplates.MAX_EMPTY:,} values missing from their lines); the "
            f"{left_out:,} printed least often are left out"
        )
    last_line = lines[len(lines) - 1].as_py() if len(lines) else ""
    if len(rows) and not ends and rows[-1] == len(lines) - 1 and _cut_short(last_line):
        shape = freetext.parse(last_line)
        if shape.values:
            last = max(shape.values, key=lambda v: v[1])[0]
            logged[last][-1] = False
            cols[last][-1] = np.nan
            bad.append(f"{log}:{len(lines)}: last line cut off; its last value ({last}) left out")
    if not len(rows):
        raise GanAnalyzeError(f"{log}: no line with key: value pairs")
    steps = steps[keep]
    cols = {k: v[keep] for k, v in cols.items() if logged[k][keep].any()}
    logged = {k: logged[k][keep] for k in cols}
    epoch = None
    if unit != "epoch" and "epoch" in ex.counters:
        epoch = ex.counters["epoch"][rows][keep]
    head = lines.slice(0, min(int(rows[0]), preamble_mod.MAX_LINES)).to_pylist()
    config, option_lines = preamble_mod.preamble_options(head)
    info = _lines_info(lines, rows, preamble, ex.blank, option_lines + headers)
    notes.append(
        f"{log.name}: {info['read']} line(s) read, {info['ignored']} ignored"
        + (f" ({preamble} before the first step)" if preamble else "")
    )
    if config:
        notes.append(
            f"{log.name}: {len(config)} option(s) read from {len(option_lines)} line(s) before "
            "the first step"
        )
    hydra = hydra_config(log, warnings)
    if hydra:
        notes.append(f"{HYDRA_CONFIG}: {len(hydra)} option(s) read (Hydra's saved config)")
        config = {**hydra, **config}
    if replaced:
        warnings.append(ctr.restart_warning(log, sections, replaced, len(keep)))
    warn_limit(warnings, bad, "problems")
    run = build_run(
        path,
        log,
        NAME,
        steps,
        cols,
        logged,
        warnings,
        unit=unit,
        index={"epoch": epoch},
        config=config,
    )
    run.duplicates_replaced += replaced
    if note:
        run.extra["step_note"] = note
    if sections and len(sections) > 1:
        for s in sections:
            s["first_line"] = int(rows[s.pop("first_row")] + 1)
        run.extra["sections"] = sections
    run.extra["lines"] = info
    run.extra["source_notes"] = (
        notes
        + [f"  e.g. read line {n}: {t!r}" for n, t in info["read_sample"][:2]]
        + [f"  e.g. ignored line {n}: {t!r}" for n, t in info["ignored_sample"][:2]]
    )
    samplefiles.attach(run, path)  # sample grids saved as image files beside the log
    return run


def _prints_per_epoch(epoch: np.ndarray, lines: np.ndarray) -> bool:
    """Whether the epoch counter repeats on most of the given lines (one kind of value line):
    several prints an epoch, which keyed by the epoch would overwrite each other."""
    e = epoch[lines]
    e = e[np.isfinite(e)]
    return len(e) >= 4 and float(np.mean(np.diff(e) == 0)) >= 0.5


def _tqdm_first(lines, rows: np.ndarray, step: np.ndarray) -> np.ndarray:
    """`rows` of a tqdm-drawn log (most value lines a bar) keeping the first line of each
    count: a bar is redrawn when its description changes (the losses of the unit just done)
    and again when its count moves, so CTGAN's `Gen. (+01.21) ...| 1/1500` is epoch 1's
    losses and the next redraw at count 1 already holds epoch 2's. Count 0 (no unit done yet)
    holds only the description's placeholder (`Gen. (+00.00)`): left out."""
    if not len(rows):
        return rows
    bars = np.asarray(
        pc.match_substring(lines.take(pa.array(rows)), freetext.TQDM_HINT).to_numpy(
            zero_copy_only=False
        ),
        bool,
    )
    if bars.mean() < 0.5:
        return rows
    s = step[rows]
    return rows[np.r_[True, s[1:] != s[:-1]] & (s != 0)]


def _after_start(ex: linetemplates.Extracted, rows: np.ndarray, own: np.ndarray) -> np.ndarray:
    """`rows` without the lines before training starts that are not training's: before the
    first line of the commonest kind of counted line, a line is a row when it prints its own
    step and a key that training's lines print too (an evaluation at step 0); a line such as
    BasicSR's `Total epochs: 6350; iters: 400000.`, `Resuming training from epoch: 5158,
    iter: 320000.` or `Network: RRDBNet, with parameters: 16,697,987` is preamble."""
    counted = rows[own[rows]]
    if not len(counted):
        return rows
    sig = ex.signature[counted]
    first = counted[np.flatnonzero(sig == np.bincount(sig).argmax())[0]]
    if not (rows < first).any():
        return rows
    keep = np.zeros(ex.n, dtype=bool)
    for parts in ex.points.values():
        if any((r >= first).any() for r, _ in parts):  # a key training's lines print
            for r, _ in parts:
                keep[r[r < first]] = True
    return rows[(rows >= first) | (keep[rows] & own[rows])]


def _lines_info(
    lines, rows: np.ndarray, preamble: int, blank: np.ndarray, options: list[int]
) -> dict:
    """Lines read and ignored (blank lines, the preamble's option lines and two-line records'
    headers not counted as ignored), with up to 3 samples of each."""
    other = ~blank
    other[rows] = False
    other[np.asarray(options, dtype=np.int64)] = False
    ignored = np.flatnonzero(other)
    return {
        "read": len(rows),
        "ignored": len(ignored),
        "preamble": preamble,
        "read_sample": [(int(i) + 1, lines[int(i)].as_py()[:120]) for i in rows[:3]],
        "ignored_sample": [(int(i) + 1, lines[int(i)].as_py()[:120]) for i in ignored[:3]],
    }
