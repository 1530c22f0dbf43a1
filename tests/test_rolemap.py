"""Explicit role maps: --map strings and the map file (gananalyze/naming/rolemap.py)."""

from __future__ import annotations

import pytest

from gananalyze.errors import GanAnalyzeError
from gananalyze.naming.rolemap import parse_map, read_map_file
from gananalyze.naming.roles import resolve_roles


def test_parse_map_errors():
    assert parse_map(["G_loss=a b", " D_loss = c "]) == {"G_loss": "a b", "D_loss": "c"}
    with pytest.raises(GanAnalyzeError, match=r"--map 'G_loss': expected ROLE=COLUMN"):
        parse_map(["G_loss"])
    with pytest.raises(GanAnalyzeError, match=r"unknown role 'Gloss'; roles: G_loss, D_loss"):
        parse_map(["Gloss=x"])
    with pytest.raises(GanAnalyzeError, match=r"--map G_loss=nope: no column 'nope' in this run"):
        resolve_roles(["a"], {"G_loss": "nope"})


def test_map_file(tmp_path):
    assert read_map_file(tmp_path) == {}
    (tmp_path / "gananalyze.yaml").write_text("roles:\n  G_loss: lossG_total\n  val/D_loss: vD\n")
    m = read_map_file(tmp_path)
    assert m == {"G_loss": "lossG_total", "val/D_loss": "vD"}
    res = resolve_roles(["lossG_total", "lossG_adv", "vD"], m, source="gananalyze.yaml")
    assert res.roles == {"G_loss": "lossG_total", "val/D_loss": "vD"}
    assert res.how == {"G_loss": "gananalyze.yaml", "val/D_loss": "gananalyze.yaml"}
    (tmp_path / "gananalyze.yaml").write_text("roles: [G_loss]\n")
    with pytest.raises(GanAnalyzeError, match="'roles' must map role names to column names"):
        read_map_file(tmp_path)
    outside = tmp_path.parent / "elsewhere.yaml"
    outside.write_text("roles:\n  G_loss: x\n")
    (tmp_path / "gananalyze.yaml").unlink()
    (tmp_path / "gananalyze.yaml").symlink_to(outside)
    warnings: list[str] = []
    assert read_map_file(tmp_path, warnings) == {}
    assert warnings == [
        "gananalyze.yaml: not read: it is a link that resolves outside the run folder"
    ]
