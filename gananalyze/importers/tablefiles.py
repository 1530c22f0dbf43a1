"""Which file of a folder is its table, and what the run is called: the step columns that
make a table a log (STEP_COLUMNS), a table file's column names read cheaply, the folder
search (`metrics.csv`, the newest Lightning `version_N`, the only table with a step column,
or, with no table at the top, the only one a folder down, else two: RGAN's
`experiments/traces/NAME.trace.txt`) and the run's name from where the
table was found. `table.py` reads what this finds."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import GanAnalyzeError
from ..files.runfiles import checked, keep_inside
from ._csvread import TooWide, header, sniff_text
from ._jsonread import flatten

STEP_COLUMNS = (
    "step",
    "global_step",
    "trainer/global_step",
    "iteration",
    "iterations",
    "iter",
    "iters",
    "it",
    "itr",
    "_step",
    "steps",
    "n_iter",
)
SUFFIXES = (".csv", ".tsv", ".txt", ".log", ".json", ".jsonl", ".ndjson")
_TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".ndjson")  # tables only, no texts
_VERSION_RE = re.compile(r"version_(\d+)$")
# texts that sit beside logs and are never a log or a table (by file name)
NOT_RUN_FILES = re.compile(
    r"^(readme|source|license|licence|copying|notice|authors|changelog|changes|history|"
    r"contributing|requirements|install|todo|citation)(\.(md|txt|rst|markdown|cff))?$"
    # a W&B run folder's last values and host facts, not its history (files/output.log,
    # the run's stdout, is; the history itself is the binary .wandb file)
    r"|^wandb-(summary|metadata)\.json$",
    re.IGNORECASE,
)


def step_column(columns: list[str]) -> str | None:
    low = {c.strip().lower(): c for c in columns}
    for name in STEP_COLUMNS:
        if name in low:
            return low[name]
    return None


def epoch_column(columns: list[str]) -> str | None:
    return next((c for c in columns if c.strip().lower() == "epoch"), None)


def columns_of(p: Path) -> list[str]:
    """Column names of a table file, cheaply (header line; first object; keys of the first 50
    JSON lines); [] if unreadable."""
    try:
        kind = sniff_text(p)
        if kind == "delimited":
            return header(p, "\t" if p.suffix == ".tsv" else None)[0]
        with open(p, encoding="utf-8-sig", errors="replace") as f:
            text = f.read(256 * 1024)
    except TooWide:
        raise
    except (GanAnalyzeError, OSError, UnicodeError):
        return []
    if kind == "jsonl":  # the keys of the first 50 objects (MMCV's first line holds env_info)
        keys: dict[str, None] = {}
        for line in text.splitlines()[:50]:
            try:
                obj = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(obj, dict):
                keys.update(dict.fromkeys(flatten(obj)))
        return list(keys)
    dec = json.JSONDecoder()
    s = text.lstrip()
    if s.startswith("["):
        try:
            obj, _ = dec.raw_decode(s, 1 + (len(s[1:]) - len(s[1:].lstrip())))
            return list(flatten(obj)) if isinstance(obj, dict) else []
        except (ValueError, RecursionError):
            return []
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return []
    return (
        list(obj)
        if isinstance(obj, dict) and all(isinstance(v, list) for v in obj.values())
        else []
    )


def _is_table_file(p: Path, accept) -> bool:
    return (
        p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not NOT_RUN_FILES.match(p.name)
        and accept(columns_of(p))
    )


def has_step(cols: list[str]) -> bool:
    return step_column(cols) is not None


def table_detector(accept):
    """A registry `detect(path)` for a table format: a table whose header `accept`s."""

    def detect(path: Path) -> bool:
        try:
            return find_table(path, accept)[0] is not None
        except GanAnalyzeError:  # several tables: claimed, so the load names them
            return True

    return detect


def find_table(path: Path, accept=has_step, nested: bool = True) -> tuple[Path | None, list[str]]:
    """(the table to read, notes about other candidates) for `path`. `accept`
    judges a file by its column names; `nested`: with no table at the top of a
    folder, look one folder down (`statistics/srf_4_train_results.csv`), else two."""
    path = Path(path)
    notes: list[str] = []
    if path.is_file():
        return (path if accept(columns_of(path)) else None), notes
    if not path.is_dir():
        return None, notes
    if checked(path, path / "metrics.csv", notes) and accept(columns_of(path / "metrics.csv")):
        return path / "metrics.csv", notes

    def version(p: Path) -> tuple[str, int]:
        m = _VERSION_RE.search(p.parent.name)
        return str(p.parent.parent), int(m.group(1)) if m else -1

    versions = sorted(keep_inside(path, path.glob("**/version_*/metrics.csv"), notes), key=version)
    versions = [v for v in versions if v.is_file()]
    if versions and accept(columns_of(versions[-1])):
        if len(versions) > 1:
            older = ", ".join(str(v.parent.relative_to(path)) for v in versions[:-1][:5])
            notes.append(
                f"{path}: {len(versions)} Lightning versions found; read the newest, "
                f"{versions[-1].relative_to(path)} (older: {older}); "
                "point at a version folder to read another"
            )
        return versions[-1], notes
    files = keep_inside(path, sorted(path.iterdir()), notes)
    cands = [p for p in files if _is_table_file(p, accept)]
    own = any(p.is_file() and p.suffix.lower() in _TABLE_SUFFIXES for p in files)
    if not own and nested:  # a folder with no table of its own: one a folder or two down
        for pattern in ("[!.]*/*", "[!.]*/[!.]*/*"):  # the nearest level that holds one
            if not cands:
                found = keep_inside(path, sorted(path.glob(pattern)), notes)
                cands = [p for p in found if _is_table_file(p, accept)]
        if len(cands) == 1:
            notes.append(f"{path}: read {cands[0].relative_to(path)}, the only table found")
    if len(cands) == 1:
        return cands[0], notes
    if len(cands) > 1:
        names = ", ".join(str(p.relative_to(path)) for p in cands[:6])
        raise GanAnalyzeError(f"{path}: several tables ({names}); point gananalyze at one file")
    return None, notes


def run_name(table: Path, given: Path | None = None) -> str:
    """The table's folder (a log below the folder `given`: that one), plus the file's stem
    unless it is the usual metrics.csv; Lightning's `name/version_N`."""
    parent = table.parent.resolve()
    if _VERSION_RE.search(parent.name) and parent.parent.name:
        up = parent.parent
        return f"{up.parent.name or up.name}/{parent.name}"
    if given is not None and given.is_dir() and given.resolve() not in (parent, Path("/")):
        return f"{given.resolve().name}/{table.stem}"
    if table.name in ("metrics.csv", "log"):
        return parent.name
    return f"{parent.name}/{table.stem}" if parent.name else table.stem
