"""Images an MLflow run logged with `mlflow.log_image(image, key=..., step=...)` (MLflow 2.12
on): each is a file in the run's artifacts,

    images/<key>+step+<step>+timestamp+<ms>+<uuid>.png

with a `+compressed.webp` thumbnail beside it, which is not read (older versions wrote `%`
for `+`, and `#` where a key has `/`; MLflow 3 writes `~`). The key with images at the most
steps is the samples (ties: the first by name), one grid per step at the logged step; where
a step was logged twice, the later timestamp wins. Images saved with `log_image(image,
"samples/epoch_3.png")` (a path, no key) are left to the folder's image patterns.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..files.runfiles import keep_inside
from ..run import Run, SampleGrid

_NAME = re.compile(
    r"(?P<key>.+?)[+%]step[+%](?P<step>\d+)[+%]timestamp[+%](?P<ts>\d+)[+%][0-9a-fA-F-]+\.png"
)
MAX_FILES = 10_000


def attach(run: Run, artifacts: Path) -> int:
    """Attach the key-and-step images under `artifacts/images` as `run.samples` (when the run
    has none); returns how many grids were attached."""
    folder = Path(artifacts) / "images"
    if run.samples or not folder.is_dir():
        return 0
    names = sorted(folder.iterdir())[:MAX_FILES]
    by_key: dict[str, dict[int, tuple[int, Path]]] = {}
    for p in keep_inside(folder, names, run.warnings):
        m = _NAME.fullmatch(p.name)
        if m is None or not p.is_file():
            continue
        key = m["key"].replace("~", "/").replace("#", "/")
        step, ts = int(m["step"]), int(m["ts"])
        seen = by_key.setdefault(key, {})
        if step not in seen or ts >= seen[step][0]:
            seen[step] = (ts, p)
    if not by_key:
        return 0
    key = max(sorted(by_key), key=lambda k: len(by_key[k]))
    steps = sorted(by_key[key])
    run.samples = [SampleGrid(step=s, path=by_key[key][s][1], tag=key) for s in steps]
    others = sorted(k for k in by_key if k != key)
    run.extra.setdefault("source_notes", []).append(
        f"{len(steps)} sample grid(s) attached from MLflow's logged images, key {key!r}, steps "
        f"{steps[0]}..{steps[-1]}" + (f" (other keys: {', '.join(others[:6])})" if others else "")
    )
    return len(steps)
