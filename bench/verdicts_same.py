"""Check: a speed change left every verdict as it was. Diagnoses the same runs with this
installation and another (`--baseline PYTHON`, e.g. today's main in its own virtual
environment) and exits 1, naming the runs, when any Diagnosis differs (its whole `to_dict`:
verdict, findings with their numbers, skipped rules, recommendation).

    uv run --frozen python bench/verdicts_same.py --baseline MAIN/.venv/bin/python RUN ...

RUN: run directories or globs (e.g. 'lab/.cache/runs/*' sample_runs/*/ '../shared/real_runs/*/').
"""

from __future__ import annotations

import argparse
import glob
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def _one(path: str) -> str:
    from gananalyze.analysis import analyze
    from gananalyze.loader import load_run

    try:
        return json.dumps(analyze(load_run(Path(path)))[1].to_dict(), sort_keys=True, default=str)
    except Exception as e:  # a run that fails must fail the same way in both
        return f"ERROR {type(e).__name__}: {e}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--baseline", required=True, metavar="PYTHON")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    paths = sorted({p for a in args.runs for p in (glob.glob(a) or [a]) if Path(p).exists()})
    if args.child:  # diagnose every run in this installation, results to a file
        with multiprocessing.get_context("fork").Pool(min(2, os.cpu_count() or 1)) as pool:
            got = pool.map(_one, paths)
        args.child.write_text(json.dumps(dict(zip(paths, got, strict=True))))
        return
    me, got = str(Path(__file__).resolve()), {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, py in (("this", sys.executable), ("baseline", args.baseline)):
            out = Path(tmp) / f"{name}.json"
            # outside any checkout: `python FILE` keeps the installation's own package
            cmd = [py, me, "--baseline", py, "--child", str(out), *paths]
            p = subprocess.run(cmd, cwd=tempfile.gettempdir(), capture_output=True, text=True)
            if p.returncode:
                sys.exit(p.stderr[-2000:])
            got[name] = json.loads(out.read_text())
    differ = [p for p in paths if got["this"][p] != got["baseline"][p]]
    failed = sum(v.startswith("ERROR") for v in got["this"].values())
    print(f"{len(paths)} runs diagnosed by both ({failed} fail to load in both alike): "
          f"{len(differ)} differ")  # fmt: skip
    for p in differ:
        print(f"  {p}")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
