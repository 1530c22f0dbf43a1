"""The logging API training code calls: `RunLog` writes a native run directory.

    with gananalyze.RunLog("runs/x", loss="bce", config=cfg, generator=spec) as log:
        log.scalars(step, G_loss=g, D_loss=d)
        log.discriminator(step, d_real, d_fake_before, d_fake_after)

Scalars are buffered in memory and flushed as new Parquet part files, written
atomically by a background writer thread, every `flush_rows` steps or
`flush_seconds` seconds (whichever comes first, even when training stops
calling). A crash (even kill -9) never corrupts what was written and loses at
most the steps of the last 2 x flush_rows - 1 completed calls: the buffer being
filled (< flush_rows steps) plus the one batch the writer thread is writing
(tests/test_crashloss.py kills real writers and checks this bound). Each RunLog
names its parts with its own writer id, so two writers on one directory never
replace each other's parts. Tensors passed as values are kept as tensors until the flush, so a
logging call never forces a GPU synchronisation.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..errors import GanAnalyzeError
from ..files import atomic
from ..files.atomic import folder_lock
from ..run import LOSS_TYPES
from . import parts, store, vectorfiles
from .imagegrid import make_grid
from .labels import check_labels, class_rows, read_condition

D_METRICS = ("D_x", "D_G_z_before", "D_G_z_after", "D_acc", "D_tp", "D_fp", "D_fn", "D_tn")


def out_of_range(x: np.ndarray, value_range: Any) -> dict[str, float]:
    """What the grid's clipping hides: the share of the finite values outside the range the
    grid was drawn in ("outside") and how far the furthest lies from the range's centre, in
    half-widths of the range ("reach"); {} when every value lies inside."""
    if not (isinstance(value_range, list | tuple) and len(value_range) == 2):
        return {}
    lo, hi = (float(v) for v in value_range)
    v = np.asarray(x, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size or hi <= lo:
        return {}
    share = float(((v < lo) | (v > hi)).mean())
    if not share:
        return {}
    reach = float(np.abs(v - (lo + hi) / 2).max() / ((hi - lo) / 2))
    return {"outside": round(share, 6), "reach": float(f"{reach:.4g}")}


def _to_float(v: Any) -> float:
    if hasattr(v, "detach"):  # torch tensor, converted at flush time
        v = v.detach()
        return float(v.float().mean().item()) if v.numel() != 1 else float(v.item())
    if isinstance(v, np.ndarray):
        return float(v.mean()) if v.size != 1 else float(v.reshape(()))
    return float(v)


def _check_step(step: Any) -> int:
    """`step` as an int that fits the store's int64 step column, or a clear error
    (1e300 and 1e23 must not silently become one and the same stored step)."""
    if isinstance(step, float) and not math.isfinite(step):
        raise GanAnalyzeError(f"step {step!r} is not a finite number; not logged")
    s = int(step)
    if not parts.INT64_MIN <= s <= parts.INT64_MAX:
        raise GanAnalyzeError(
            f"step {step!r} does not fit a 64-bit integer (|step| must be below 2**63); not logged"
        )
    return s


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


class RunLog:
    """Writes one native run directory. Use as a context manager, or call close().

    Opening an existing run resumes it: new part files are numbered after the
    old ones, and when steps are logged again the later values win on load.

    flush_rows / flush_seconds bound what a crash can lose. durable=True also
    fsyncs every part (survives a power cut, costs milliseconds per flush);
    without it, parts survive any crash of the training process itself.
    Checkpoints are always fsynced.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        loss: str | None = None,
        config: dict[str, Any] | None = None,
        generator: dict[str, Any] | None = None,
        name: str | None = None,
        flush_rows: int = 1000,
        flush_seconds: float = 10.0,
        durable: bool = False,
    ):
        if loss is not None and loss not in LOSS_TYPES:
            raise GanAnalyzeError(f"loss must be one of {', '.join(LOSS_TYPES)}, not {loss!r}")
        if flush_rows < 1 or flush_seconds <= 0:
            raise GanAnalyzeError("flush_rows must be >= 1 and flush_seconds > 0")
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.flush_rows = int(flush_rows)
        self.flush_seconds = float(flush_seconds)
        self.durable = bool(durable)
        self._lock = threading.RLock()
        self._rows: dict[int, dict[str, Any]] = {}
        self._hist_rows: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self._closed = False
        self.writer_id = parts.new_writer_id()
        self._scalar_part = parts.next_part_number(self.path / store.SCALARS_DIR)
        self._hist_part = parts.next_part_number(self.path / store.HIST_DIR)
        with folder_lock(self.path):  # another process may start a session at the same time
            self.meta = self._start_session(name, loss, config, generator)
        self._cond = threading.Condition(self._lock)
        self._queue: list[tuple[dict[int, dict[str, Any]], list[dict[str, Any]]]] = []
        self._stopping = False
        self._error: BaseException | None = None
        self._writer = threading.Thread(
            target=self._write_loop, name="gananalyze-writer", daemon=True
        )
        self._writer.start()

    # ------------------------------------------------------------ scalars
    def _start_session(
        self,
        name: str | None,
        loss: str,
        config: dict[str, Any] | None,
        generator: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Add this session to run.json (read, modify, write: under folder_lock)."""
        meta = store.read_run_json(self.path)
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        meta.setdefault("format", "gananalyze-run")
        meta["version"] = store.FORMAT_VERSION
        if name:  # an explicit name; otherwise the run is called after its directory
            meta["name"] = str(name)
            meta["name_given"] = True
        elif not meta.get("name_given"):
            meta.pop("name", None)
        meta.setdefault("created", now)
        if loss is not None or "loss" not in meta:  # a resume that names no loss keeps it
            meta["loss"] = loss
        if config is not None:
            meta["config"] = config
        meta.setdefault("config", {})
        if generator is not None:
            meta["generator"] = generator
        meta.setdefault("generator", None)
        sessions = meta.get("sessions") if isinstance(meta.get("sessions"), list) else []
        sessions.append(
            {"started": now, "first_scalars_part": self._scalar_part, "writer": self.writer_id}
        )
        meta["sessions"] = sessions
        atomic.atomic_write_json(self.path / store.RUN_JSON, meta)
        return meta

    def scalars(self, step: int, epoch: float | None = None, **metrics: Any) -> None:
        """Record named values at `step`. Floats, ints, numpy or torch scalars.

        Several calls for the same step merge into one row.
        """
        step = _check_step(step)
        with self._lock:
            if self._error is not None:
                self._raise_error()
            row = self._rows.get(step)
            if row is None:
                row = self._rows[step] = {"wall_time": time.time()}
            if epoch is not None:
                row["epoch"] = epoch
            row.update(metrics)
            if (
                len(self._rows) >= self.flush_rows
                or time.monotonic() - self._last_flush >= self.flush_seconds
            ):
                self._handoff()

    def discriminator(
        self,
        step: int,
        d_real: Any,
        d_fake_before: Any,
        d_fake_after: Any | None = None,
        logits: bool = False,
        epoch: float | None = None,
        critic: bool = False,
    ) -> None:
        """Record D's outputs on a real and a fake batch.

        d_real: D(x) on the real batch; d_fake_before: D(G(z)) on the fake batch
        before D's update; d_fake_after: D(G(z)) after D's update (what G trained
        against). Probabilities by default; pass logits=True for raw scores.
        Logs the means (D_x, D_G_z_before, D_G_z_after), D's accuracy and its
        confusion counts at threshold 0.5 (real is the positive class); outputs holding
        NaN or Inf get a NaN accuracy and no counts.

        critic=True (WGAN, WGAN-GP): the raw, unbounded critic scores. Logs their means
        critic_real and critic_fake and the critic gap critic_real - critic_fake (the
        Wasserstein estimate); no probabilities or accuracy, which mean nothing for a
        critic. d_fake_after, when given, is used instead of d_fake_before for the gap.
        """
        real = _as_numpy(d_real).reshape(-1)
        fake = _as_numpy(d_fake_before).reshape(-1)
        after = None if d_fake_after is None else _as_numpy(d_fake_after).reshape(-1)
        if critic:
            cr = float(real.mean()) if real.size else math.nan
            f = after if after is not None else fake
            cf = float(f.mean()) if f.size else math.nan
            self.scalars(step, epoch=epoch, critic_real=cr, critic_fake=cf, critic_gap=cr - cf)
            return
        if logits:
            real, fake = 1 / (1 + np.exp(-real)), 1 / (1 + np.exp(-fake))
            after = None if after is None else 1 / (1 + np.exp(-after))
        tp = int((real >= 0.5).sum())
        fn = int(real.size - tp)
        fp = int((fake >= 0.5).sum())
        tn = int(fake.size - fp)
        vals = {
            "D_x": float(real.mean()) if real.size else math.nan,
            "D_G_z_before": float(fake.mean()) if fake.size else math.nan,
        }
        if after is not None:
            vals["D_G_z_after"] = float(after.mean()) if after.size else math.nan
        total = tp + fn + fp + tn
        counts = dict(D_tp=tp, D_fp=fp, D_fn=fn, D_tn=tn)  # NaN outputs are no guesses:
        finite = np.isfinite(real).all() and np.isfinite(fake).all()  # no accuracy from them
        vals.update(D_acc=(tp + tn) / total if total and finite else math.nan)
        self.scalars(step, epoch=epoch, **vals, **(counts if finite else {}))

    # ------------------------------------------------------------ flushing
    # The training thread only fills the buffer; a writer thread turns full
    # buffers into Parquet parts (conversion, compression, fsync), so logging
    # costs training a dict update per call. At most one full batch waits for
    # the writer (back-pressure), so a crash loses at most the buffer plus the
    # batch being written.

    def _handoff(self) -> None:
        """Queue the buffer for the writer thread (lock held)."""
        if not self._rows and not self._hist_rows:
            return
        while self._queue and self._error is None:
            self._cond.wait()
        self._queue.append((self._rows, self._hist_rows))
        self._rows, self._hist_rows = {}, []
        self._last_flush = time.monotonic()
        self._cond.notify_all()

    def _write_loop(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._cond.wait(timeout=self.flush_seconds / 4)
                    if (
                        self._rows or self._hist_rows
                    ) and time.monotonic() - self._last_flush >= self.flush_seconds:
                        self._handoff()
                if not self._queue:
                    return
                rows, hist = self._queue[0]
            try:
                if rows:
                    self._write_scalars(rows)
                if hist:
                    self._write_histograms(hist)
            except BaseException as e:  # reported to the training thread on its next call
                with self._lock:
                    self._error = e
            finally:
                with self._lock:
                    self._queue.pop(0)
                    self._cond.notify_all()

    def _raise_error(self) -> None:
        e = self._error
        raise GanAnalyzeError(
            f"{self.path}: writing the run failed ({type(e).__name__}: {e})"
        ) from e

    def flush(self) -> None:
        """Write everything buffered to disk now, and wait until it is written."""
        with self._lock:
            self._handoff()
            while self._queue:
                self._cond.wait()
            if self._error is not None:
                self._raise_error()

    def _write_scalars(self, rows: dict[int, dict[str, Any]]) -> None:
        steps = list(rows)
        rowlist = list(rows.values())
        names: dict[str, None] = {}
        for r in rows.values():
            names.update(dict.fromkeys(r))
        cols: dict[str, Any] = {"step": pa.array(np.asarray(steps, dtype=np.int64))}
        for name in ("epoch", "wall_time", *[k for k in names if k not in ("epoch", "wall_time")]):
            if name not in names:
                if name == "epoch":
                    cols[name] = pa.nulls(len(steps), pa.float64())
                continue
            raw = [r.get(name) for r in rowlist]
            mask = np.fromiter((v is None for v in raw), dtype=bool, count=len(raw))
            try:  # plain Python/numpy numbers: one vectorised conversion
                vals = np.array(raw, dtype=np.float64)
            except (TypeError, ValueError, RuntimeError):  # tensors (grad too), arrays: one by one
                vals = np.array(
                    [np.nan if v is None else _to_float(v) for v in raw], dtype=np.float64
                )
            cols[name] = pa.array(vals, mask=mask if mask.any() else None, type=pa.float64())
        parts.write_part(
            self.path / store.SCALARS_DIR,
            pa.table(cols),
            self._scalar_part,
            fsync=self.durable,
            writer=self.writer_id,
        )
        self._scalar_part += 1

    def _write_histograms(self, rows: list[dict[str, Any]]) -> None:
        table = pa.Table.from_pylist(rows)
        parts.write_part(
            self.path / store.HIST_DIR,
            table,
            self._hist_part,
            fsync=self.durable,
            writer=self.writer_id,
        )
        self._hist_part += 1

    # ------------------------------------------------------------ artefacts
    def checkpoint(self, step: int, G: Any, D: Any | None = None, **extra: Any) -> Path:
        """Save G's (and D's) state_dict at `step`; loadable with weights_only=True.

        extra: more state_dicts (optimizers) or small plain values (str, int,
        float, lists/dicts of them) stored under "meta".
        """
        import torch

        payload: dict[str, Any] = {
            "format": "gananalyze-checkpoint",
            "version": store.FORMAT_VERSION,
            "step": int(step),
            "generator": G.state_dict(),
        }
        if D is not None:
            payload["discriminator"] = D.state_dict()
        is_state = {k: k.endswith("state_dict") and hasattr(v, "keys") for k, v in extra.items()}
        payload.update({k: v for k, v in extra.items() if is_state[k]})
        payload["meta"] = {k: v for k, v in extra.items() if not is_state[k]}
        path = self.path / store.CKPT_DIR / f"step-{int(step):09d}.pt"
        atomic.atomic_write(path, lambda p: torch.save(payload, p))
        return path

    def samples(
        self,
        step: int,
        images: Any,
        nrow: int | None = None,
        value_range: tuple[float, float] | None = None,
        kind: str = "auto",
        columns: list[str] | None = None,
        labels: Any | None = None,
    ) -> Path:
        """Save fixed-noise samples at `step`.

        Images (N, C, H, W) or (N, H, W) become one PNG grid. Vectors (N, D) and,
        with kind="sequences", sequences (N, T, D) are stored as a float32 .npy
        array (columns optionally names the D features); see docs/run-format.md.
        labels: a conditional G's class of each sample (N class numbers, or (N, K)
        one-hot rows), stored in the index; an image grid then shows one row per class.
        Samples holding NaN/Inf are stored as they are: vectors keep them, an image grid
        draws them black and its index line records their share ("nonfinite"). Values
        outside the range the grid draws are clipped in the PNG; the index line records
        that range, their share ("outside") and how far the furthest lies ("reach").
        """
        from PIL import Image

        x = _as_numpy(images)
        what = vectorfiles.classify(x, kind)
        y = None
        if labels is not None:
            cond = read_condition(self.meta.get("generator"))
            y = check_labels(labels, int(x.shape[0]), cond["classes"] if cond else None)
        if what != "images":
            cols = vectorfiles.column_names(columns, int(x.shape[-1]))
            name = f"step-{int(step):09d}.npy"
            path = self.path / store.SAMPLES_DIR / name
            atomic.atomic_write_bytes(path, vectorfiles.encode(x))
            line = vectorfiles.index_line(step, name, what, tuple(x.shape), cols, y)
            index = self.path / store.SAMPLES_DIR / vectorfiles.VECTORS_INDEX
            with self._lock, open(index, "a") as f:
                f.write(line)
            return path
        if value_range is None and self.meta.get("generator"):
            value_range = tuple(self.meta["generator"].get("output_range", (-1.0, 1.0)))
        if y is not None:
            cells, cell_labels, ncol = class_rows(y)
            grid, layout = make_grid(x, nrow=ncol, value_range=value_range, cells=cells)
            layout["labels"] = cell_labels
        else:
            grid, layout = make_grid(x, nrow=nrow, value_range=value_range)
        nonfinite = float((~np.isfinite(x)).mean()) if x.size else 0.0
        if nonfinite:  # drawn black in the PNG; the fact is kept for the divergence rule
            layout["nonfinite"] = round(nonfinite, 6)
        drawn = layout.pop("range")
        clipped = out_of_range(x, drawn)
        if clipped:  # the grid clips them: the fact is kept for the divergence rule
            layout.update(clipped, range=drawn)
        name = f"step-{int(step):09d}.png"
        path = self.path / store.SAMPLES_DIR / name
        buf = io.BytesIO()
        Image.fromarray(grid).save(buf, format="PNG", optimize=True)
        atomic.atomic_write_bytes(path, buf.getvalue())
        with self._lock, open(self.path / store.SAMPLES_DIR / store.SAMPLES_INDEX, "a") as f:
            f.write(json.dumps({"step": int(step), "file": name, **layout}) + "\n")
        return path

    def histograms(
        self, step: int, model: Any, name: str = "G", max_elements: int = 1 << 20
    ) -> None:
        """Record quantiles of each parameter's weights (and gradients, when set).

        Stores TensorBoard's distribution percentiles plus mean/std per
        parameter, not the raw tensors. Parameters larger than max_elements are
        summarised from an evenly strided subset.
        """
        import torch

        qs = torch.tensor([b / 10000 for b in store.HIST_BPS], dtype=torch.float64)
        with torch.no_grad():
            for pname, p in model.named_parameters():
                for kind, t in (("weight", p), ("grad", p.grad)):
                    if t is None:
                        continue
                    x = t.detach().reshape(-1).to(torch.float64)
                    if x.numel() > max_elements:
                        x = x[:: int(math.ceil(x.numel() / max_elements))]
                    x = x.cpu()
                    finite = torch.isfinite(x)
                    xf = x[finite]
                    row = {
                        "step": _check_step(step),
                        "model": name,
                        "param": pname,
                        "kind": kind,
                        "numel": int(t.numel()),
                        "nonfinite": int((~finite).sum()),
                    }
                    if xf.numel():
                        q = torch.quantile(xf, qs).tolist()
                        row.update(
                            mean=float(xf.mean()), std=float(xf.std()) if xf.numel() > 1 else 0.0
                        )
                    else:
                        q = [math.nan] * len(qs)
                        row.update(mean=math.nan, std=math.nan)
                    row.update(dict(zip(store.HIST_QUANTILES, q, strict=False)))
                    with self._lock:
                        self._hist_rows.append(row)

    # ------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Write what is buffered and stop the writer thread."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            with self._lock:
                self._stopping = True
                self._cond.notify_all()
            self._writer.join(timeout=30)
            self._closed = True

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
