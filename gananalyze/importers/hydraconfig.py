"""Hydra's saved config beside a log.

A Hydra app's job writes its log, `<job name>.log` (`train.log` for `train.py`), into the
run directory, and the config it ran with into `.hydra/` there: `config.yaml` (the composed
config, what the code saw as `cfg`), `overrides.yaml` (the command line's changes) and
`hydra.yaml` (Hydra's own settings). The composed config is the run's config: the loss
type and learning rates it names reach the rules as options printed in the log's preamble
do. Options the log prints itself win over the file's where both name one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..files.runfiles import yaml_mapping

CONFIG = Path(".hydra") / "config.yaml"


def hydra_config(log: Path, warnings: list[str]) -> dict[str, Any]:
    """The composed config Hydra saved beside `log` (`.hydra/config.yaml`), or {}."""
    return yaml_mapping(log.parent, log.parent / CONFIG, warnings, "Hydra config not read")
