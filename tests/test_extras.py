"""The core install without the extras: the core commands run with torch (and fsspec)
made unimportable, and a command that needs a missing extra says which one, in one line
and with exit code 4."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_digits_run, write_synthetic_run

from gananalyze.errors import MissingExtra
from gananalyze.extras import EXTRAS, missing, require

# Runs the CLI in a fresh interpreter where the named modules cannot be imported (a
# meta-path finder refuses them, as a missing install does), once per argument list, and
# prints each command's exit code, stdout and stderr as JSON.
BLOCKED_CLI = """
import json, sys
blocked = set(sys.argv[1].split(","))

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Blocker())
from click.testing import CliRunner
from gananalyze.cli import main

out = []
for args in json.loads(sys.argv[2]):
    res = CliRunner().invoke(main, args)
    out.append({"code": res.exit_code, "stdout": res.stdout, "stderr": res.stderr})
out.append(sorted(m for m in sys.modules if m.split(".")[0] in blocked))
print(json.dumps(out))
"""

FID = "pip install 'gananalyze[fid]'"


def blocked_cli(blocked: str, *commands: list[str]) -> tuple[list[dict], list[str]]:
    argv = json.dumps([[str(a) for a in c] for c in commands])
    p = subprocess.run(
        [sys.executable, "-c", BLOCKED_CLI, blocked, argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    *results, imported = json.loads(p.stdout)
    return results, imported


def _csv_run(path: Path) -> Path:
    path.mkdir()
    rows = ["step,G_loss,D_loss"]
    rows += [f"{i},{0.7 + 0.001 * i},{1.38 - 0.0005 * i}" for i in range(300)]
    (path / "metrics.csv").write_text("\n".join(rows) + "\n")
    return path


def test_core_commands_run_with_torch_unimportable(tmp_path):
    native = write_synthetic_run(tmp_path / "native", steps=120)
    csv = _csv_run(tmp_path / "csvrun")
    digits = write_digits_run(tmp_path / "digits")  # checkpoints + a generator: a t-SNE
    out = tmp_path / "out"
    results, imported = blocked_cli(
        "torch,torchvision,pytorch_fid,triton",
        ["info", csv],
        ["check", native, "--fail-on", "none"],
        ["check", csv, "--json", "--fail-on", "none"],
        ["report", csv, "-o", out / "csv.html"],
        ["report", digits, "-o", out / "digits.html"],
        ["compare", native, csv, digits, "-o", out / "compare.html"],
        ["import", csv, out / "imported"],
        ["fid-sweep", digits, "--real", "sklearn-digits", "--features", "digits"],
        ["fid-sweep", digits, "--real", "sklearn-digits", "--features", "digits", "--json"],
    )
    assert imported == []
    info, check, check_json, rep_csv, rep_digits, compare, imp, sweep, sweep_json = results
    for r in (info, check, check_json, rep_csv, rep_digits, compare, imp):
        assert r["code"] == 0, r
    assert "format:      csv" in info["stdout"]
    assert json.loads(check_json["stdout"])["run"] == "csvrun"
    assert rep_csv["stdout"] == f"wrote {out / 'csv.html'}\n" and rep_csv["stderr"] == ""
    # the report is written; its t-SNE section and the terminal say what is missing
    assert rep_digits["stderr"] == f"t-SNE skipped: it needs torch, which is not installed: {FID}\n"
    page = (out / "digits.html").read_text()
    assert "t-SNE of generated samples needs torch, which is not installed" in page
    assert (out / "compare.html").is_file() and (out / "imported" / "run.json").is_file()
    assert sweep["code"] == 4 and sweep["stdout"] == ""
    assert sweep["stderr"] == f"Error: fid-sweep needs torch, which is not installed: {FID}\n"
    assert sweep_json["code"] == 4 and json.loads(sweep_json["stdout"]) == {
        "error": {
            "code": 4,
            "kind": "missing_extra",
            "message": f"fid-sweep needs torch, which is not installed: {FID}",
        }
    }


def test_object_storage_without_its_extra_names_it(tmp_path):
    results, _ = blocked_cli(
        "fsspec,s3fs,gcsfs", ["info", "s3://bucket/run"], ["check", "gs://bucket/run", "--json"]
    )
    s3, gs = results
    assert s3["code"] == 4
    assert s3["stderr"] == (
        "Error: s3://bucket/run: reading s3:// URLs needs fsspec, which is not installed: "
        "pip install 'gananalyze[s3]'\n"
    )
    assert gs["code"] == 4
    assert json.loads(gs["stdout"])["error"]["message"] == (
        "gs://bucket/run: reading gs:// URLs needs fsspec, which is not installed: "
        "pip install 'gananalyze[gs]'"
    )


def test_missing_names_the_extra_of_a_module_and_nothing_else():
    e = missing(ModuleNotFoundError("No module named 'torch.nn'", name="torch.nn"), "fid-sweep")
    assert isinstance(e, MissingExtra) and e.extra == "fid"
    assert str(e) == f"fid-sweep needs torch, which is not installed: {FID}"
    assert missing(ModuleNotFoundError("x", name="yaml"), "info") is None
    assert missing(ImportError("no name"), "info") is None
    assert EXTRAS["s3fs"] == "s3" and EXTRAS["gcsfs"] == "gs"


def test_require_imports_or_raises_missing_extra(monkeypatch):
    assert require("json", "x") is json
    monkeypatch.setitem(sys.modules, "pytorch_fid", None)
    with pytest.raises(MissingExtra) as e:
        require("pytorch_fid", "FID")
    assert str(e.value) == f"FID needs pytorch_fid, which is not installed: {FID}"
    monkeypatch.setitem(sys.modules, "not_an_extra_module", None)
    with pytest.raises(ImportError):
        require("not_an_extra_module", "x")
