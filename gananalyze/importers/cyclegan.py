"""pytorch-CycleGAN-and-pix2pix `loss_log.txt` (and `train_opt.txt`, or the `opt.txt` that
DeblurGAN and other forks write).

The log holds one line per print interval,
    (epoch: E, iters: I, time: T, data: D) D_A: 0.123 G_A: 0.456 ...
and a `===== Training Loss (<date>) =====` header each time training starts.
`iters` counts images within the epoch (it resets every epoch).

Step axis
  The global step is `(E - 1) * N + I` (images seen), with N, the images per
  epoch, inferred from the lines that cross an epoch boundary (print
  interval p: N = I_last + p - I_first_of_next; the most common estimate wins,
  and N is at least the largest I seen, so the axis is monotonic). Unit:
  `run.step_unit = "image"`.
  Each Training header starts a section. A section that starts after the
  previous one ended just continues the axis. A section that starts at or
  before a step already logged is a restart:
  - resumed from a checkpoint (`--continue_train --epoch_count E`, or any
    restart at an epoch > 1): training went back to that point, so the
    earlier lines at and after its first step are replaced by the later
    section (`run.duplicates_replaced` counts the replaced lines);
  - `--continue_train` with `epoch_count 1` (per train_opt.txt, which the
    trainer rewrites at every start, so it describes the last start): the
    weights continue but the epoch counter starts again at 1. The last such
    restart is appended after the previous section (its steps are offset by
    the last step logged, its epochs by the last epoch), nothing is replaced;
  - otherwise a restart at epoch 1 is a fresh start, and replaces the lines
    of the abandoned attempt.
  `run.extra["sections"]` lists every section and how it was placed.

Lines that are not training points
  Only lines under `Training Loss` headers are training points. Lines in other
  sections (e.g. `Validation Loss` sections written by modified trainers,
  which repeat stale training values) are kept out and counted in a warning;
  `Test Result` and `Model Saved` sections (`psnr: 22.3(3.3)`, `max psnr: 20.1`)
  go to `run.extra["test_results"]` / `run.extra["model_saved"]`, not to the
  scalars. A line cut mid-way keeps the values it has (file:line warning). The line
  grammar (a distributed run's `[Rank 0]` tag and comma-separated pairs included) is
  `cyclegan_log`'s.

Columns keep the log's names (D_A, G_A, cycle_A, G_GAN, G_L1, D_real ...), plus
`iter_time` and `data_time` (seconds per image) from the line's prefix.

ComboGAN (same log, one value per domain): `D: 0.11, 0.10, 0.11 | G: ... | Cyc: ... |`
gives one column per domain, `D_0`, `D_1`, ..., `G_0`, ... (numbered from 0 as
ComboGAN numbers its domains).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..files.runfiles import checked, glob_inside, is_inside, keep_inside, root_of
from ..run import Run, SampleGrid
from ._common import finish, located, pivot_wide, pivoted_run, warn_limit
from .cyclegan_log import parse_log, untagged
from .preamble import value_of

NAME = "cyclegan"
LOG_NAME = "loss_log.txt"
_IMG_RE = re.compile(r"^epoch(\d+)_(.+)\.(png|jpg)$")
GAN_MODES = {"vanilla": "bce", "lsgan": "lsgan", "wgangp": "wasserstein", "hinge": "hinge"}


def find_log(path: Path) -> Path | None:
    """The loss_log.txt for `path`: the file itself, in the folder, or in checkpoints/<name>/."""
    path = Path(path)
    if path.is_file():
        return path if path.name == LOG_NAME else None
    if not path.is_dir():
        return None
    if (path / LOG_NAME).is_file():
        return path / LOG_NAME
    found = glob_inside(path, path, f"checkpoints/*/{LOG_NAME}") or glob_inside(
        path, path, f"*/{LOG_NAME}"
    )
    if len(found) > 1:
        names = ", ".join(str(p.parent.relative_to(path)) for p in found)
        raise GanAnalyzeError(
            f"{path}: several CycleGAN/pix2pix logs ({names}); "
            "point gananalyze at one of those folders"
        )
    return found[0] if found else None


def detect(path: Path) -> bool:
    try:
        log = find_log(path)
    except GanAnalyzeError:
        return True  # it is this format; load() will say which folder to pick
    if log is None:
        return False
    if not is_inside(root_of(path), log):
        return True  # its name says CycleGAN; load() says why it is not read
    with open(log, encoding="utf-8", errors="replace") as f:
        head = [f.readline() for _ in range(20)]
    return any(untagged(line).startswith("(epoch:") or "Training Loss" in line for line in head)


def read_options(path: Path, warnings: list[str]) -> dict[str, Any]:
    """train_opt.txt (`name: value  [default: x]` lines) -> dict with typed values."""
    opts: dict[str, Any] = {}
    for line in path.read_text(errors="replace").splitlines():
        if ":" not in line or line.strip().startswith("-"):
            continue
        key, _, val = line.partition(":")
        key = key.strip()
        if not key or " " in key:
            continue
        opts[key] = value_of(val)  # typed as a printed option is (preamble.value_of)
    return opts


def _infer_epoch_size(rows: list[dict]) -> tuple[int, int]:
    """(images per epoch N, print interval p) from consecutive training lines."""
    diffs: Counter = Counter()
    for a, b in zip(rows, rows[1:], strict=False):
        if a["epoch"] == b["epoch"] and b["iters"] > a["iters"]:
            diffs[b["iters"] - a["iters"]] += 1
    p = diffs.most_common(1)[0][0] if diffs else 0
    ests: Counter = Counter()
    for a, b in zip(rows, rows[1:], strict=False):
        if b["epoch"] == a["epoch"] + 1 and p:
            n = a["iters"] + p - b["iters"]
            if n >= a["iters"]:
                ests[n] += 1
    max_iters = max((r["iters"] for r in rows), default=1)
    n = ests.most_common(1)[0][0] if ests else max_iters
    return max(n, max_iters, 1), p


def load(path: Path) -> Run:
    """Read a CycleGAN/pix2pix loss log (see the module docstring)."""
    path = Path(path)
    log = located(path, find_log, f"no {LOG_NAME} (looked in the folder and in checkpoints/*/)")
    warnings: list[str] = []
    root = root_of(path)
    if checked(root, log) is None:
        raise GanAnalyzeError(f"{log}: not read: it is a link that resolves outside the run folder")
    parsed = parse_log(log, warnings)
    opts: dict[str, Any] = {}
    # train_opt.txt; DeblurGAN and other forks write the same lines to opt.txt
    opt_file = checked(root, log.parent / "train_opt.txt", warnings) or checked(
        root, log.parent / "opt.txt", warnings
    )
    if opt_file is not None:
        opts = read_options(opt_file, warnings)
    train = [s for s in parsed["sections"] if s["kind"].lower().startswith("training")]
    all_rows = [r for s in train for r in s["rows"]]
    n_epoch, p = _infer_epoch_size(all_rows)

    # the last section whose epoch counter went back: a continue_train with epoch_count 1?
    resets = []
    last_epoch = None
    for k, s in enumerate(train):
        if not s["rows"]:
            continue
        if (
            last_epoch is not None
            and s["rows"][0]["epoch"] < last_epoch
            and s["rows"][0]["epoch"] == 1
        ):
            resets.append(k)
        last_epoch = s["rows"][-1]["epoch"]
    restarted_at_1 = opts.get("continue_train") is True and opts.get("epoch_count", 1) == 1
    continue_reset = resets[-1] if resets and restarted_at_1 else None

    kept: list[dict] = []  # rows with "step", in axis order
    step_off = epoch_off = 0
    replaced = 0
    info = []
    for k, s in enumerate(train):
        rows = s["rows"]
        if not rows:
            continue
        first = (rows[0]["epoch"] - 1) * n_epoch + rows[0]["iters"]
        last_step = kept[-1]["step"] if kept else None
        how = "start" if not kept else "continues"
        drop = 0
        if last_step is not None and step_off + first <= last_step:
            if k == continue_reset:
                step_off, epoch_off = last_step, kept[-1]["epoch"]
                how = (
                    "continue_train restart with the epoch counter reset: "
                    "appended after the previous section"
                )
            else:
                g = (
                    step_off + (rows[0]["epoch"] - 1) * n_epoch + 1
                )  # the whole restarted epoch was redone
                before = len(kept)
                kept = [r for r in kept if r["step"] < g]
                drop = before - len(kept)
                replaced += drop
                how = (
                    f"restart at epoch {rows[0]['epoch']}: replaces {drop} earlier line(s) "
                    f"from step {g} on"
                )
        for r in rows:
            kept.append(
                {
                    **r,
                    "step": step_off + (r["epoch"] - 1) * n_epoch + r["iters"],
                    "epoch": r["epoch"] + epoch_off,
                    "logged_epoch": r["epoch"],
                }
            )
        info.append(
            {
                "header_line": s["line"],
                "date": s["date"],
                "lines": len(rows),
                "first_epoch": rows[0]["epoch"],
                "last_epoch": rows[-1]["epoch"],
                "first_step": kept[-len(rows)]["step"],
                "last_step": kept[-1]["step"],
                "placed": how,
                "replaced": drop,
            }
        )

    # within a section the axis can still repeat a step (a garbled iters); keep the later line
    names: dict[str, None] = {}
    for r in kept:
        names.update(dict.fromkeys(r["values"]))
    steps = np.array([r["step"] for r in kept], dtype=np.int64)
    cols = {n: np.array([r["values"].get(n, np.nan) for r in kept], dtype=float) for n in names}
    logged = {n: np.array([n in r["values"] for r in kept], dtype=bool) for n in names}
    cols_epoch = np.array([r["epoch"] for r in kept], dtype=float)
    frame, counts, nonfinite, dup_steps, dup_vals = pivot_wide(steps, cols, logged)
    if len(frame):
        frame.insert(
            1,
            "epoch",
            pd.Series(cols_epoch, index=steps)
            .groupby(level=0)
            .last()
            .reindex(frame["step"])
            .to_numpy(),
        )
    if dup_steps:
        warnings.append(
            f"{log}: {dup_steps} step(s) appear twice within a section; the later line was kept"
        )
    if replaced:
        warnings.append(
            f"{log}: restarts overlap earlier lines; {replaced} earlier line(s) were "
            "replaced by the later section(s) (see extra['sections'])"
        )
    if continue_reset is not None:
        warnings.append(
            f"{log}:{train[continue_reset]['line']}: continue_train restart with the epoch "
            "counter back at 1 (train_opt.txt: continue_train True, epoch_count 1): "
            "appended after the previous section instead of replacing it"
        )
    for kind, n in parsed["skipped_other"].items():
        what = (
            "they repeat the last training values, not validation losses"
            if kind.lower().startswith("validation")
            else "not training points"
        )
        warnings.append(
            f"{log}: {n} line(s) in '{kind}' sections kept out of the training scalars ({what})"
        )
    warn_limit(warnings, parsed["bad"], "damaged lines")

    samples = []
    img_dir = log.parent / "web" / "images"
    if img_dir.is_dir() and len(frame):
        last_step_of_epoch = {}
        for r in kept:
            last_step_of_epoch[r["logged_epoch"]] = r["step"]
        for f in keep_inside(root, sorted(img_dir.iterdir()), warnings):
            m = _IMG_RE.match(f.name)
            if m:
                e = int(m.group(1))
                samples.append(
                    SampleGrid(
                        step=int(last_step_of_epoch.get(e, e * n_epoch)), path=f, tag=m.group(2)
                    )
                )
        samples.sort(key=lambda s: (s.step, s.tag))

    loss = GAN_MODES.get(str(opts.get("gan_mode", "")))
    damaged = [(b.split(": ", 1)[0], b.split(": ", 1)[-1]) for b in parsed["bad"]]
    given = str(opts["name"]) if opts.get("name") else None
    dir_name = log.parent.name
    if given is not None and given != dir_name:
        warnings.append(
            f"{opt_file}: the experiment name {given!r} differs from the run "
            f"directory's name {dir_name!r}; called {dir_name!r}"
        )
    run = pivoted_run(
        path,
        dir_name,
        NAME,
        (frame, counts, nonfinite, replaced),
        warnings,
        given_name=given,
        loss=loss,
        config=opts,
        samples=samples,
        damaged=damaged,
    )
    run.extra.update(
        sections=info,
        images_per_epoch=n_epoch,
        print_interval=p,
        test_results=parsed["test_results"],
        model_saved=parsed["model_saved"],
        log_file=str(log),
    )
    run.step_unit = "image"
    if not len(frame):
        warnings.append(f"{log}: no training loss lines")
    loss_names = [n for n in names if n not in ("iter_time", "data_time")]
    return finish(run, file=str(log), losses=loss_names)
