"""Analyses of a loaded Run: the one entry `analyze`, the rules, evaluations, comparison.

Every command that judges a run goes through `analyze(source, ...)`, so `check`,
`report` and `compare` always diagnose a run the same way. Submodules are imported
lazily: importing this package costs nothing until an analysis runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..run import Run
    from .findings import Diagnosis


def analyze(
    source: str | Path | Run,
    format: str | None = None,
    rules_config: str | Path | dict[str, Any] | None = None,
    metric: str = "fid",
    roles: dict[str, str] | None = None,
) -> tuple[Run, Diagnosis]:
    """Load `source` (a run directory, or a Run already loaded) and run the rule checks.

    format: force a run format instead of detecting it (ignored for a Run).
    rules_config: a JSON/YAML file overriding the thresholds, or a dict of overrides.
    metric: the sample metric that picks the best checkpoint (fid, kid, is, ...).
    roles: role -> column (`--map`), over the run's gananalyze.yaml (see loader.load_run).
    Returns (run, diagnosis); raises GanAnalyzeError for an unreadable run or config.
    """
    from ..run import Run
    from .rules import diagnose, load_thresholds

    if isinstance(rules_config, (str, Path)):
        rules_config = load_thresholds(rules_config)  # a bad config is reported first
    if not isinstance(source, Run):
        from ..loader import load_run

        source = load_run(source, format=format, roles=roles)
    elif roles:
        from ..naming.roles import set_map

        set_map(source, roles, "--map")
    return source, diagnose(source, thresholds=rules_config, select_metric=metric)


__all__ = ["analyze"]
