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
from .errors import GanAnalyzeError
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
        from .files.atomic import atomic_write_bytes
        from .files.runfiles import check_output
        from .pages.report import default_report_path

        out = Path(path) if path is not None else default_report_path(self.run)
        check_output(out, [self.run.path])  # never write over a run's files
        try:
            atomic_write_bytes(out, self.html.encode("utf-8"))
        except OSError as e:
            raise GanAnalyzeError(f"{out}: cannot write the report ({e.strerror or e})") from None
        return out


def report(
    source: str | Path | Run,
    smoothing: float = 0.6,
    tsne: bool = True,
    real: str | None = None,
    rules_config: str | Path | None = None,
    format: str | None = None,
    trust_code: bool = False,
    roles: dict[str, str] | None = None,
) -> Report:
    """The HTML report of a run (the page `gananalyze report` writes), as a Report object."""
    from .pages.report import build_report_html

    run, diag = analyze(source, format=format, rules_config=rules_config, roles=roles)
    html = build_report_html(run, diag, smoothing, tsne, real, rules_config, trust_code)
    return Report(run, diag, html)
