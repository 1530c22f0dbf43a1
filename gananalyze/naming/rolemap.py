"""Explicit role maps: `--map ROLE=COLUMN` strings (`parse_map`) and the `roles:` mapping of
`gananalyze.yaml` beside a run (`read_map_file`); `roles.resolve_roles` applies them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..errors import GanAnalyzeError
from .roles import MAP_FILE, ROLES


def parse_map(items: Iterable[str]) -> dict[str, str]:
    """`["G_loss=lossG_total", ...]` -> {"G_loss": "lossG_total"}; one clear error per bad item."""
    out: dict[str, str] = {}
    for item in items:
        role, sep, col = item.partition("=")
        role, col = role.strip(), col.strip()
        if not sep or not role or not col:
            raise GanAnalyzeError(f"--map {item!r}: expected ROLE=COLUMN, e.g. G_loss=lossG_total")
        base = role[4:] if role.startswith("val/") else role
        if base not in ROLES:
            raise GanAnalyzeError(
                f"--map {item!r}: unknown role {role!r}; roles: {', '.join(ROLES)}"
            )
        if role in out and out[role] != col:
            raise GanAnalyzeError(f"--map: {role} given twice ({out[role]!r} and {col!r})")
        out[role] = col
    return out


def read_map_file(run_dir: str | Path, warnings: list[str] | None = None) -> dict[str, str]:
    """The `roles:` mapping of `gananalyze.yaml` in `run_dir` ({} when there is none).
    The file is read only when it lies inside the run (no links leading out)."""
    import yaml

    from ..files.bounded import TooCostly, load_yaml
    from ..files.runfiles import checked

    p = checked(run_dir, Path(run_dir) / MAP_FILE, warnings)
    if p is None:
        return {}
    try:
        data = load_yaml(p.read_text(encoding="utf-8", errors="replace"), p)
    except TooCostly as e:
        raise GanAnalyzeError(str(e)) from None
    except yaml.YAMLError as e:
        raise GanAnalyzeError(f"{p}: not readable YAML ({str(e).splitlines()[0]})") from None
    roles = data.get("roles") if isinstance(data, dict) else None
    if roles is None:
        return {}
    if not isinstance(roles, dict) or not all(isinstance(v, str) for v in roles.values()):
        raise GanAnalyzeError(
            f"{p}: 'roles' must map role names to column names (e.g. G_loss: lossG_total)"
        )
    return parse_map(f"{k}={v}" for k, v in roles.items())
