"""Hostile runs that cost a lot to read: build them, then time each command on them.

    python bench/bombs.py build DIR        # writes the bomb runs under DIR
    python bench/bombs.py measure DIR      # runs each command under /usr/bin/time -v

`measure` prints one row per (bomb, command): exit code, wall seconds, peak RSS
(MB) and the last line of output; each command is stopped after --limit seconds
(default 60). Run it once on the old code and once on the new, on the same
machine, and compare the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np


def _laughs(levels: int = 9, width: int = 10) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _table_run(d: Path, hparams: str, extra_row: str = "") -> Path:
    v = d / "lightning_logs" / "version_0"
    v.mkdir(parents=True)
    rows = "".join(f"{s},{1 + s / 100},{0.5}\n" for s in range(50))
    (v / "metrics.csv").write_text("step,g_loss,d_loss\n" + rows + extra_row)
    (v / "hparams.yaml").write_text(hparams)
    return v


def _native_run(d: Path, png: tuple[int, int] | None = None) -> Path:
    from PIL import Image

    from gananalyze import RunLog

    with RunLog(d, flush_rows=1000) as log:
        for s in range(60):
            log.scalars(s, G_loss=1.0 + s / 100, D_loss=0.5, D_x=0.6, D_G_z_before=0.4)
        p = log.samples(59, np.zeros((4, 1, 8, 8), dtype=np.float32))
    if png is not None and png[0] * png[1] <= 100_000_000:
        Image.new("L", png, 128).save(p, optimize=True)
    elif png is not None:  # a valid header and a token of pixel data (all a reader looks at)
        p.write_bytes(_png_header(*png))
    return d


def _png_header(w: int, h: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (w + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _mlflow_run(d: Path, meta: str) -> Path:
    (d / "metrics").mkdir(parents=True)
    lines = "".join(f"1700000000000 {1 + s / 10} {s}\n" for s in range(30))
    (d / "metrics" / "G_loss").write_text(lines)
    (d / "meta.yaml").write_text(meta)
    return d


def _npy_run(d: Path, how: str) -> Path:
    from gananalyze import RunLog

    with RunLog(d, flush_rows=1000) as log:
        for s in range(60):
            log.scalars(s, G_loss=1.0 + s / 100, D_loss=0.5, D_x=0.6, D_G_z_before=0.4)
        p = log.samples(59, np.zeros((64, 3), dtype=np.float32))
    raw = p.read_bytes()
    if how == "shape":
        raw = raw.replace(b"(64, 3)", b"(6400000000000, 3)")
    elif how == "header":
        hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (64, 3), }"
        hdr += b" " * (50_000_000 - len(hdr) - 10) + b"\n"
        raw = b"\x93NUMPY\x02\x00" + len(hdr).to_bytes(4, "little") + hdr
    elif how == "object":
        raw = raw.replace(b"'<f4'", b"'|O' ")
    p.write_bytes(raw)
    return d


def build(out: Path) -> list[tuple[str, list[str]]]:
    """The bomb runs under `out`, and the commands to time on each."""
    out.mkdir(parents=True, exist_ok=True)
    cmds: list[tuple[str, list[str]]] = []
    report = ["-o", str(out / "r.html"), "--no-tsne"]
    hp = _table_run(out / "hparams-laughs", "lr: 0.0002\n" + _laughs() + "x: *a8\n")
    cmds.append(("hparams.yaml alias bomb", ["compare", str(hp), str(hp), "--json"]))
    ml = _mlflow_run(out / "mlflow-laughs", _laughs() + "run_name: *a8\n")
    cmds.append(("meta.yaml alias bomb", ["info", str(ml)]))
    for side in (9000, 40000):
        n = _native_run(out / f"png-{side}", (side, side))
        cmds.append((f"{side}x{side} PNG sample", ["check", str(n)]))
        if side == 9000:
            cmds.append((f"{side}x{side} PNG sample", ["report", str(n), *report]))
    sg = out / "stylegan-string-mean"
    sg.mkdir()
    (sg / "training_options.json").write_text("{}")
    recs = [
        {"Progress/kimg": {"num": 1, "mean": k}, "Loss/G/loss": {"num": 1, "mean": 1.0}}
        for k in range(6)
    ]
    recs[-1]["Loss/G/loss"]["mean"] = "x"
    (sg / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    cmds.append(("stats.jsonl string mean", ["info", str(sg)]))
    deep = _table_run(out / "hparams-deep", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    cmds.append(("hparams.yaml 5,000 deep", ["info", str(deep)]))
    cmds.append(("hparams.yaml 5,000 deep", ["compare", str(deep), str(deep), "--json"]))
    selfref = _table_run(out / "hparams-selfref", "lr: 1\nloop: &l [1, *l]\n")
    cmds.append(("self-referencing alias", ["compare", str(selfref), str(selfref), "--json"]))
    for how in ("shape", "header", "object"):
        n = _npy_run(out / f"npy-{how}", how)
        cmds.append((f".npy damaged ({how})", ["info", str(n)]))
        cmds.append((f".npy damaged ({how})", ["report", str(n), *report]))
    field = _table_run(out / "csv-field", "lr: 1\n")
    csv_file = field / "metrics.csv"
    csv_file.write_text(csv_file.read_text().replace("d_loss", '"' + "d" * 1_000_000 + '"', 1))
    cmds.append(("1 MB CSV field", ["info", str(field)]))
    mld = _mlflow_run(out / "mlflow-deep", "run_name: " + "[" * 20000 + "]" * 20000 + "\n")
    cmds.append(("meta.yaml 20,000 deep", ["info", str(mld)]))
    wb = out / "wandb-deep"
    wb.mkdir()
    rows = [{"_step": s, "_runtime": s, "loss": 1.0} for s in range(20)]
    text = json.dumps(rows)
    deep = "[" * 50000 + "]" * 50000
    tail = ', {"_step": 21, "_runtime": 1, "x": ' + deep + "}]"
    (wb / "history.json").write_text(text[:-1] + tail)
    cmds.append(("W&B JSON 50,000 deep", ["info", str(wb / "history.json")]))
    (out / "commands.json").write_text(json.dumps(cmds, indent=1))
    return cmds


def measure(out: Path, limit: float, exe: str) -> None:
    cmds = json.loads((out / "commands.json").read_text())
    print("| bomb | command | exit | wall s | peak MB | last line |")
    print("|---|---|---|---|---|---|")
    for what, args in cmds:
        full = ["/usr/bin/time", "-v", "timeout", str(limit), exe, *args]
        p = subprocess.run(
            full,
            capture_output=True,
            text=True,
            errors="replace",
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        err = p.stderr
        wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", err)
        secs = float(wall.group(2)) * 60 + float(wall.group(3)) if wall else float("nan")
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
        mb = int(rss.group(1)) / 1024 if rss else float("nan")
        said = p.stdout + err.split("\tCommand being timed")[0]
        shown = [ln for ln in said.splitlines() if ln.strip() and not ln.startswith("Command ")]
        last = (shown[-1] if shown else "")[:110].replace("|", "/")
        rc = "timeout" if p.returncode == 124 else p.returncode
        print(f"| {what} | {args[0]} | {rc} | {secs:.1f} | {mb:.0f} | {last} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("build", "measure"))
    ap.add_argument("dir", type=Path)
    ap.add_argument("--limit", type=float, default=60.0)
    ap.add_argument("--exe", default=str(Path(sys.executable).parent / "gananalyze"))
    a = ap.parse_args()
    if a.action == "build":
        if a.dir.exists():
            shutil.rmtree(a.dir)
        for what, args in build(a.dir):
            print(what, "->", " ".join(args))
    else:
        measure(a.dir, a.limit, a.exe)


if __name__ == "__main__":
    main()
