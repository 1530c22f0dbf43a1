"""TensorBoard event files (`events.out.tfevents.*`), read completely.

Every point is read: TensorBoard's EventAccumulator (and its UI) keeps a
reservoir sample of 1,000 points per tag, which hides spikes in long runs;
this reader keeps them all and is much faster than tbparse.

How a file is read
  Records are framed as (uint64 length, masked CRC32C of the length, data,
  masked CRC32C of the data; framing and damage handling live in
  `tfrecord.py`). The framing loop is plain Python (TensorBoard's
  own record reader computes CRC32C byte by byte in Python, far too slow for
  millions of records); both CRCs are then checked for all records at once
  with a vectorised CRC32C. Events are `tensorboard.compat.proto.event_pb2.Event`
  protobufs. The common case, an event holding exactly one `simple_value`
  scalar (what `SummaryWriter.add_scalar` writes), is decoded for all records
  at once with numpy from the protobuf wire format; every other event
  (tensor-based scalars of tf2 / new-style writers, images, histograms) goes
  through the protobuf classes.
  A corrupt record (a flipped bit in a length field, garbage in the middle)
  does not cost the rest of the file: the reader resynchronises on the next
  position where a record's length checksum and data checksum both match, and
  warns with the file name, byte offsets and how many bytes were skipped (also
  in `run.damaged`). A truncated file keeps every record before the cut.
  Empty files (only the file_version event) are normal for restarted trainers
  and are only counted in `run.extra["empty_event_files"]`.

How files and folders are merged
  Every event file below the directory is read. Files in the same folder are
  one run written in pieces (a resumed trainer appends a new file): their
  points share one step axis, and when a (step, tag) is written more than once
  the later write (by event wall time) wins; `run.duplicates_replaced` counts
  the steps that had a value replaced. A later file going back to an earlier
  step drops the earlier points from that step on, as TensorBoard does; for
  this, add_scalars folders, tags without a step and a runs/ folder of several
  runs see `tbmerge.py`.
  Different folders ("sub-runs", e.g. `add_scalars` children, train/val
  folders, or BasicSR's `<name>_archived_<time>` folder, which is an earlier
  attempt started from scratch, not a resume) are separate runs in
  TensorBoard's own model. Tags that only one sub-run logs keep their plain
  name. When several sub-runs log the same tag, the sub-run with the latest
  event keeps the plain name and the others' columns are prefixed with their
  folder relative to the directory (`<folder>/<tag>`), with a warning: their
  points are never silently merged into (and hidden by) another run's values.
  Point gananalyze at one folder to analyse that sub-run alone.

Images become `SampleGrid`s with the PNG bytes inline; histograms become rows
of the `Run.histograms` long table (quantiles interpolated from the buckets,
at TensorBoard's distribution percentiles `store.HIST_QUANTILES`).

A PyTorch Lightning TensorBoardLogger folder: its `hparams.yaml` is the run's config, its
`hp_metric` placeholder (-1 at step 0) is left out, image grids it logged at step = epoch
and its `checkpoints/*.ckpt` are placed at the end of their epoch (`epochsteps`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import GanAnalyzeError
from ..files.runfiles import keep_inside
from ..run import Run, SampleGrid
from ..runio import store
from . import epochsteps, figuregrid, tbmerge
from ._common import finish, pivot_points, pivoted_run
from .table import loss_from_config, read_hparams
from .tfevents import decode_simple, tag_ids
from .tfrecord import crc32c_rows, frame_file, masked_crc

__all__ = ["crc32c_rows", "detect", "frame_file", "load", "masked_crc"]

NAME = "tensorboard"
PATTERN = "events.out.tfevents.*"
_TS_RE = re.compile(r"tfevents\.(\d+(?:\.\d+)?)")
_CHUNK = 1 << 18  # records decoded per vectorised batch

# ------------------------------------------------------------------ protobuf path


def _hist_row(
    step: int,
    tag: str,
    limits: np.ndarray,
    counts: np.ndarray,
    lo: float,
    hi: float,
    num: float,
    total: float | None,
    sumsq: float | None,
) -> dict:
    """A histograms-table row from bucket (right limit, count) pairs."""
    model, _, param = tag.rpartition("/")
    row = {
        "step": int(step),
        "model": model or "tensorboard",
        "param": param or tag,
        "kind": "grad" if "grad" in tag.lower() else "weight",
        "numel": int(round(num)),
    }
    if num <= 0 or len(counts) == 0:
        row.update(mean=np.nan, std=np.nan, **{q: np.nan for q in store.HIST_QUANTILES})
        return row
    lefts = np.concatenate([[lo], limits[:-1]])
    rights = np.minimum(limits, hi)
    lefts = np.maximum(np.minimum(lefts, rights), lo)
    cum = np.cumsum(counts)
    for bp, q in zip(store.HIST_BPS, store.HIST_QUANTILES, strict=True):
        target = bp / 10000 * cum[-1]
        i = int(np.searchsorted(cum, target, side="left"))
        i = min(i, len(counts) - 1)
        prev = cum[i - 1] if i else 0.0
        frac = 0.0 if counts[i] == 0 else (target - prev) / counts[i]
        row[q] = float(lefts[i] + (rights[i] - lefts[i]) * min(max(frac, 0.0), 1.0))
    row[store.HIST_QUANTILES[0]] = float(lo)
    row[store.HIST_QUANTILES[-1]] = float(hi)
    if total is None:
        mids = (lefts + rights) / 2
        total = float((mids * counts).sum())
        sumsq = float((mids**2 * counts).sum())
    mean = total / num
    row["mean"] = float(mean)
    row["std"] = float(np.sqrt(max(sumsq / num - mean * mean, 0.0)))
    return row


@dataclass
class _Collected:
    steps: list = field(default_factory=list)
    walls: list = field(default_factory=list)
    tag_ids: list = field(default_factory=list)
    values: list = field(default_factory=list)
    images: list = field(default_factory=list)  # (wall, step, tag, png)
    hists: list = field(default_factory=list)  # (wall, row)
    skipped_plugins: Counter = field(default_factory=Counter)


def _parse_event(raw: bytes, sub: str, tags: dict[str, int], out: _Collected) -> None:
    from tensorboard.compat.proto import event_pb2
    from tensorboard.util import tensor_util

    ev = event_pb2.Event.FromString(raw)
    if not ev.HasField("summary"):
        return
    for v in ev.summary.value:
        kind = v.WhichOneof("value")
        tag = v.tag
        key = f"{sub}\x00{tag}"
        plugin = v.metadata.plugin_data.plugin_name if v.HasField("metadata") else ""
        if kind == "simple_value":
            out.steps.append(ev.step)
            out.walls.append(ev.wall_time)
            out.tag_ids.append(tags.setdefault(key, len(tags)))
            out.values.append(v.simple_value)
        elif kind == "image":
            out.images.append(
                (ev.wall_time, ev.step, sub, tag, bytes(v.image.encoded_image_string))
            )
        elif kind == "histo":
            h = v.histo
            out.hists.append(
                (
                    ev.wall_time,
                    sub,
                    _hist_row(
                        ev.step,
                        tag,
                        np.asarray(h.bucket_limit, float),
                        np.asarray(h.bucket, float),
                        h.min,
                        h.max,
                        h.num,
                        h.sum,
                        h.sum_squares,
                    ),
                )
            )
        elif kind == "tensor":
            t = v.tensor
            if plugin == "images" and len(t.string_val) > 2:
                out.images.append((ev.wall_time, ev.step, sub, tag, bytes(t.string_val[2])))
                continue
            try:
                arr = tensor_util.make_ndarray(t)
            except Exception:
                out.skipped_plugins[plugin or "unknown tensor"] += 1
                continue
            if plugin == "histograms" and arr.ndim == 2 and arr.shape[1] == 3:
                a = arr.astype(float)
                lo = float(a[0, 0]) if len(a) else 0.0
                hi = float(a[-1, 1]) if len(a) else 0.0
                out.hists.append(
                    (
                        ev.wall_time,
                        sub,
                        _hist_row(
                            ev.step, tag, a[:, 1], a[:, 2], lo, hi, float(a[:, 2].sum()), None, None
                        ),
                    )
                )
            elif plugin in ("", "scalars") and arr.size == 1 and arr.dtype.kind in "fiub":
                out.steps.append(ev.step)
                out.walls.append(ev.wall_time)
                out.tag_ids.append(tags.setdefault(key, len(tags)))
                out.values.append(float(arr.reshape(())))
            else:
                out.skipped_plugins[plugin or "non-scalar tensor"] += 1
        elif plugin != "hparams":  # hparams' markers (Lightning writes three): no data
            out.skipped_plugins[kind or "empty"] += 1


# ------------------------------------------------------------------ files and sub-runs


def event_files(path: Path, warnings: list[str] | None = None) -> list[Path]:
    """Every event file below `path` (or `path` itself), in write order (name
    timestamp); files that resolve outside `path` are left out (with a warning)."""
    path = Path(path)
    if path.is_file():
        return [path] if path.name.startswith("events.out.tfevents.") else []
    files = [p for p in keep_inside(path, path.rglob(PATTERN), warnings) if p.is_file()]

    def key(p: Path) -> tuple:  # numbers in the name compared as numbers (writer uid 10 > 9)
        m = _TS_RE.search(p.name)
        parts = re.split(r"(\d+)", str(p))
        return (
            float(m.group(1)) if m else 0.0,
            [(len(x), x) if x.isdigit() else (0, x) for x in parts],
        )

    return sorted(files, key=key)


def detect(path: Path) -> bool:
    path = Path(path)
    if path.is_file():
        return path.name.startswith("events.out.tfevents.")
    if not path.is_dir():
        return False
    return next(iter(path.rglob(PATTERN)), None) is not None


def _read_file(
    f: Path,
    sub: str,
    tags: dict[str, int],
    out: _Collected,
    warnings: list[str],
    damaged: list[tuple[str, str]] | None = None,
) -> None:
    """Read one event file of sub-run `sub` into `out` (damage becomes a warning)."""
    try:
        data = f.read_bytes()
    except OSError as e:
        warnings.append(f"{f}: cannot be read ({e.strerror or e}); skipped")
        return
    o, ln = frame_file(data, str(f), warnings, damaged)
    if not len(o):
        return
    buf = np.frombuffer(data, dtype=np.uint8)
    for a in range(0, len(o), _CHUNK):
        oc, lc = o[a : a + _CHUNK], ln[a : a + _CHUNK]
        d = decode_simple(buf, oc, lc)
        fast = d["ok"]
        if fast.any():
            # tag bytes are decoded per sub-run key
            local: dict[str, int] = {}
            ids_local = tag_ids(buf, d["tag_start"][fast], d["tag_len"][fast], local)
            # the key keeps the sub-run until collisions between sub-runs are known
            remap = np.array(
                [
                    tags.setdefault(f"{sub}\x00{t}", len(tags))
                    for t, _ in sorted(local.items(), key=lambda kv: kv[1])
                ],
                dtype=np.int64,
            )
            out.steps.append(d["step"][fast])
            out.walls.append(d["wall"][fast])
            out.tag_ids.append(remap[ids_local])
            out.values.append(d["value"][fast])
        slow = np.flatnonzero(~fast)
        if len(slow):
            sub_out = _Collected()
            for i in slow:
                s = int(oc[i])
                try:
                    _parse_event(data[s : s + int(lc[i])], sub, tags, sub_out)
                except Exception as e:  # a record that passed the CRC but is not an Event
                    warnings.append(
                        f"{f}: record at byte offset {s - 12} is not a readable "
                        f"event ({type(e).__name__}); skipped"
                    )
                    if damaged is not None:
                        damaged.append((str(f), f"unreadable event at byte offset {s - 12}"))
            if sub_out.steps:
                out.steps.append(np.asarray(sub_out.steps, dtype=np.int64))
                out.walls.append(np.asarray(sub_out.walls, dtype=np.float64))
                out.tag_ids.append(np.asarray(sub_out.tag_ids, dtype=np.int64))
                out.values.append(np.asarray(sub_out.values, dtype=np.float64))
            out.images += sub_out.images
            out.hists += sub_out.hists
            out.skipped_plugins.update(sub_out.skipped_plugins)


def load(path: Path) -> Run:
    """Read every event file below `path` into one Run (see the module docstring)."""
    path = Path(path)
    several = tbmerge.writer_runs(path)
    if several:  # runs/ with one SummaryWriter folder per run: the newest run, said so
        run = load(several[-1])
        older = [d.name for d in several[:-1]]
        run.warnings.insert(
            0,
            f"{path}: holds {len(several)} runs written by SummaryWriter; read the newest, "
            f"{several[-1].name}, alone (the others: {', '.join(older[:4])}"
            f"{', ...' if len(older) > 4 else ''}); point at one run folder, or compare them "
            f"with `gananalyze compare {path}`",
        )
        return run
    warnings: list[str] = []
    damaged: list[tuple[str, str]] = []
    files = event_files(path, warnings)
    if not files:
        raise GanAnalyzeError(
            f"{path}: no TensorBoard event files (events.out.tfevents.*) found"
            + (f" ({warnings[0]})" if warnings else "")
        )
    root = path if path.is_dir() else path.parent
    tags: dict[str, int] = {}  # "<sub>\0<tag>" -> id
    out = _Collected()
    empty: list[str] = []
    file_of: list[np.ndarray] = []  # the index of the file each scalar point came from
    image_file: list[int] = []  # and each image
    for i, f in enumerate(files):
        sub = str(f.parent.relative_to(root)) if f.parent != root else ""
        n_before = sum(len(v) for v in out.steps) + len(out.images) + len(out.hists)
        n_points = sum(len(v) for v in out.steps)
        _read_file(f, sub, tags, out, warnings, damaged)
        file_of.append(np.full(sum(len(v) for v in out.steps) - n_points, i, dtype=np.int64))
        image_file += [i] * (len(out.images) - len(image_file))
        if sum(len(v) for v in out.steps) + len(out.images) + len(out.hists) == n_before:
            empty.append(str(f.relative_to(root)))

    # names: a tag logged by several sub-runs keeps its plain name only in the newest sub-run
    scalars_notes: list[str] = []
    keys = tbmerge.scalars_children(sorted(tags, key=tags.get), scalars_notes)
    subs_of: dict[str, list[str]] = {}
    for k in keys:
        sub, tag = k.split("\x00", 1)
        subs_of.setdefault(tag, []).append(sub)
    steps = np.concatenate(out.steps) if out.steps else np.zeros(0, np.int64)
    walls = np.concatenate(out.walls) if out.walls else np.zeros(0)
    ids = np.concatenate(out.tag_ids) if out.tag_ids else np.zeros(0, np.int64)
    values = np.concatenate(out.values) if out.values else np.zeros(0)
    fidx = np.concatenate(file_of) if file_of else np.zeros(0, np.int64)
    # Lightning's TensorBoardLogger writes `hp_metric` = -1 at step 0 as a placeholder: no
    # measurement, and it would open the step axis at 0
    hp = [tags[k] for k in keys if k.split("\x00", 1)[1] == "hp_metric"]
    placeholder = bool(hp) and bool(len(ids)) and (values[np.isin(ids, hp)] == -1).all()
    if placeholder:
        keep = ~np.isin(ids, hp)
        steps, walls, ids, values = steps[keep], walls[keep], ids[keep], values[keep]
        fidx = fidx[keep]
    shown = [k.replace("\x00", "/").lstrip("/") for k in keys]
    steps, unstepped = tbmerge.number_unstepped(steps, ids, shown)
    if unstepped:
        warnings.append(unstepped)
    keep, purged = tbmerge.purge_restarts(steps, ids, fidx, shown)
    rewritten = 0  # steps of the purged points that the later attempt wrote again
    if purged:
        rewritten = len(np.intersect1d(np.unique(steps[~keep]), steps[keep]))
        steps, walls, ids, values = steps[keep], walls[keep], ids[keep], values[keep]
        warnings.append(purged)
    same = tbmerge.repeats(ids, steps, values)
    if same.any():
        steps, walls, ids, values = steps[~same], walls[~same], ids[~same], values[~same]
    latest: dict[str, float] = {}
    key_sub = np.array([k.split("\x00", 1)[0] for k in keys], dtype=object)
    if len(ids):
        max_wall = pd.Series(walls).groupby(ids).max()
        for i, w in max_wall.items():
            s = key_sub[i]
            latest[s] = max(latest.get(s, -np.inf), float(w))
    names: list[str] = []
    collided: dict[str, list[str]] = {}
    prefixed: set[str] = set()
    for k in keys:
        sub, tag = k.split("\x00", 1)
        subs = subs_of[tag]
        if len(subs) == 1:
            names.append(tag)
            continue
        primary = max(subs, key=lambda s: latest.get(s, -np.inf))
        if sub == primary:
            names.append(tag)
        else:
            names.append(f"{sub or root.name}/{tag}")
            prefixed.add(names[-1])
            collided.setdefault(sub or root.name, []).append(tag)
    for sub, tl in collided.items():
        warnings.append(
            f"{root / sub}: logs the same tag(s) as a newer sub-run "
            f"({', '.join(sorted(tl)[:4])}{', ...' if len(tl) > 4 else ''}); "
            f"kept as separate columns prefixed '{sub}/' rather than merged "
            "(point gananalyze at one folder to analyse it alone)"
        )

    frame, counts, nonfinite, dup_steps, replaced = pivot_points(
        steps, ids, values, names, order=walls, wall=walls
    )
    if placeholder:
        names = [n for n in names if n.rsplit("/", 1)[-1] != "hp_metric"]
        counts = {k: v for k, v in counts.items() if k.rsplit("/", 1)[-1] != "hp_metric"}
    # the newest sub-run's (plain) columns first, other sub-runs' prefixed columns after
    frame = frame[
        [
            "step",
            "wall_time",
            *[n for n in names if n not in prefixed],
            *[n for n in names if n in prefixed],
        ]
    ]
    if dup_steps:
        warnings.append(
            f"{dup_steps} step(s) were written more than once (a resumed run); the later "
            f"write (by event wall time) was kept ({replaced} value(s) replaced)"
        )
    if out.skipped_plugins:
        warnings.append(
            "summaries of other kinds not imported: "
            + ", ".join(f"{k} ({v})" for k, v in sorted(out.skipped_plugins.items()))
        )

    # images and histograms: later write wins per (tag, step); other sub-runs' tags get their folder
    samples: dict[tuple[str, int], bytes] = {}
    if out.images:  # a restart drops the earlier attempt's images too
        im_keys = [f"{sub}/{tag}" for _, _, sub, tag, _ in out.images]
        im_ids = {k: j for j, k in enumerate(dict.fromkeys(im_keys))}
        keep_im, _ = tbmerge.purge_restarts(
            np.array([im[1] for im in out.images], dtype=np.int64),
            np.array([im_ids[k] for k in im_keys], dtype=np.int64),
            np.asarray(image_file, dtype=np.int64),
            list(im_ids),
        )
        out.images = [im for im, k in zip(out.images, keep_im, strict=True) if k]
    for _, step, sub, tag, png in sorted(out.images, key=lambda x: x[0]):
        samples[(f"{sub}/{tag}" if sub else tag, int(step))] = png
    grids = [
        SampleGrid(step=s, png=png, tag=t)
        for (t, s), png in sorted(samples.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]
    grids, figure_notes = figuregrid.retile_figures(grids, str(path))  # add_figure grids
    hist = pd.DataFrame()
    if out.hists:
        rows = [
            dict(r, model=f"{sub}/{r['model']}") if sub else r
            for _, sub, r in sorted(out.hists, key=lambda x: x[0])
        ]
        hist = (
            pd.DataFrame(rows)
            .drop_duplicates(["step", "model", "param", "kind"], keep="last")
            .sort_values(["step", "model", "param", "kind"])
            .reset_index(drop=True)
        )

    pivoted = (frame, counts, nonfinite, dup_steps + rewritten)
    config = read_hparams(root / "events", warnings)  # Lightning's hparams.yaml beside them
    run = pivoted_run(
        path,
        root.name,
        NAME,
        pivoted,
        warnings,
        samples=grids,
        histograms=hist,
        damaged=damaged,
        config=config,
        loss=loss_from_config(config),
    )
    run.extra.setdefault("source_notes", []).extend(scalars_notes + figure_notes)
    note = epochsteps.place_epoch_images(run, warnings)
    if note:
        run.extra.setdefault("source_notes", []).append(note)
    epochsteps.attach_checkpoints(run, root)
    run.extra["event_files"] = [str(f.relative_to(root)) for f in files]
    run.extra["empty_event_files"] = empty
    if empty and len(empty) == len(files):
        warnings.append(f"{path}: every event file is empty (no scalars, images or histograms)")
    return finish(run, file=str(path))
