"""The library's face in a notebook: `analyze` and `report` return objects that show
themselves as HTML (`_repr_html_`) and as data (`Diagnosis.to_frame()`).

Sits beside cli.py, above pages: the diagnosis is drawn by pages/inline.py with CSS
scoped to its own root, the report inside an isolated iframe, so showing either keeps
the notebook's own style. Nothing here computes; it calls the same library functions
as the commands.
"""

from __future__ import annotations

import functools
from dataclasses import fields
from pathlib import Path
from typing import Any

from .analysis import analyze as _analyze
from .analysis.findings import Diagnosis as _Diagnosis
from .run import Run


class Diagnosis(_Diagnosis):
    """A Diagnosis that a notebook shows as its verdict and findings."""

    def _repr_html_(self) -> str:
        from .pages.inline import diagnosis_html

        return diagnosis_html(self)


@functools.wraps(_analyze, assigned=())  # its signature (inspect follows __wrapped__)
def analyze(*args: Any, **kwargs: Any) -> tuple[Run, Diagnosis]:
    """`gananalyze.analysis.analyze` (same arguments, same diagnosis as `check`), with a
    Diagnosis a notebook shows as HTML; `diagnosis.to_frame()` has one row per finding."""
    run, diag = _analyze(*args, **kwargs)
    return run, Diagnosis(**{f.name: getattr(diag, f.name) for f in fields(diag)})


class Report:
    """One run's HTML report: a notebook shows it in an isolated frame; `save` writes it."""

    def __init__(self, run: Run, diagnosis: Diagnosis, html: str) -> None:
        self.run = run
        self.diagnosis = diagnosis
        self.html = html

    def _repr_html_(self) -> str:
        from .pages.inline import report_frame

        return report_frame(self.html)

    def save(self, path: str | Path | None = None) -> Path:
        """Write the page (default reports/<run name>.html) atomically; returns the path."""
        from .files.runfiles import check_output
        from .pages.report import default_report_path, write_report

        out = Path(path) if path is not None else default_report_path(self.run)
        check_output(out, [self.run.path])  # never write over a run's files
        return write_report(self.html, out, self.run)


def report(
    source: str | Path | Run,
    format: str | None = None,
    roles: dict[str, str] | None = None,
    **options: Any,
) -> Report:
    """The HTML report of a run (the page `gananalyze report` writes), as a Report object.

    `format` and `roles` read the run as `analyze` does; `options` are the page's, as
    pages.report.build_report_context takes them: smoothing (0.6), tsne (True), real,
    rules_config, trust_code (False).
    """
    from .pages.report import build_report_html

    rules = options.get("rules_config")
    run, diag = analyze(source, format=format, rules_config=rules, roles=roles)
    return Report(run, diag, build_report_html(run, diag, **options))
