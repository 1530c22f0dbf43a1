"""Render docs/report.png, the README's picture: the report of a sample run, top of the
page, in headless Chromium (Debian's chromium; `make test` installs it).

    uv run python examples/readme_screenshot.py [RUN] [--out docs/report.png]

RUN and --out are relative to the repository's root.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM, SKIP_REASON, screenshot  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", default="sample_runs/mode-collapse")
    ap.add_argument("--out", default="docs/report.png")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=1500)
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit(SKIP_REASON)
    from PIL import Image

    from gananalyze.pages.report import render_report

    os.chdir(ROOT)  # the page shows the run's path as given: relative, from the clone
    with tempfile.TemporaryDirectory() as tmp:
        page = render_report(args.run, Path(tmp) / "report.html")
        shot = Path(tmp) / "shot.png"
        screenshot(page, shot, width=args.width, height=args.height)
        img = Image.open(shot).convert("RGB")
        img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.LANCZOS)
        img.save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
