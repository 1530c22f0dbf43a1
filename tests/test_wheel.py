"""The package as users get it: `uv build` makes a wheel, and the wheel installed with
the core dependencies only (no extras: no torch) into a clean virtual environment runs
`gananalyze check` and `report` on a run written with the logging API.

The clean environment is filled from uv's cache alone (`uv pip install --offline` from a
`pylock.toml` exported from uv.lock: exact file addresses, so nothing is resolved against
an index, whose pages `uv sync --frozen` never caches), so the test downloads nothing:
`make setup` has put every package of the lock in the cache. The wheel goes in without
dependencies and `uv pip check` then proves its own requirements are met by the core set.
Skips when uv is not found.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import write_synthetic_run

ROOT = Path(__file__).resolve().parents[1]
UV = os.environ.get("UV") or shutil.which("uv")


def _run(args: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )
    return p


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the built wheel, the clean venv's bin folder) with the core install."""
    if not UV:
        pytest.skip("uv is not installed: `make setup` installs it")
    tmp = tmp_path_factory.mktemp("wheel")
    # The project's environment has setuptools (the build backend): no isolated build env
    # to fetch. uv builds the sdist, then the wheel from the unpacked sdist (so nothing
    # stale in the source tree's build/ can slip into the wheel).
    build = _run(
        [UV, "build", "--no-build-isolation", "--python", sys.executable,
         "--out-dir", tmp / "dist", ROOT],
        cwd=tmp,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("gananalyze-*.whl")
    lock = tmp / "pylock.core.toml"
    reqs = _run(
        [UV, "export", "--frozen", "--no-default-groups", "--no-emit-project",
         "--format", "pylock.toml", "--quiet", "-o", lock],
        cwd=ROOT,
    )
    assert reqs.returncode == 0, reqs.stderr[-3000:]
    venv = tmp / "venv"
    made = _run([UV, "venv", "--quiet", "--python", sys.executable, venv], cwd=tmp)
    assert made.returncode == 0, made.stderr
    py = venv / "bin" / "python"
    for args in (["-r", lock], ["--no-deps", wheel]):
        inst = _run([UV, "pip", "install", "--offline", "--quiet", "--python", py, *args], cwd=tmp)
        assert inst.returncode == 0, inst.stderr[-3000:]
    check = _run([UV, "pip", "check", "--python", py], cwd=tmp)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    return wheel, venv / "bin"


def test_the_wheel_carries_templates_data_and_license(installed):
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.name for p in (ROOT / "gananalyze" / "pages" / "templates").glob("*.html")}
    assert templates and {f"gananalyze/pages/templates/{t}" for t in templates} <= names
    assert "gananalyze/data/digits_features.pt" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith("/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "sample_runs/", "bench/")) for n in names)


def test_the_installed_core_package_checks_and_reports_a_sample_run(installed, tmp_path):
    _, bin_dir = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"
    where = _run(
        [bin_dir / "python", "-c",
         "import gananalyze, importlib.util as u; print(gananalyze.__file__); "
         "print(u.find_spec('torch'))"],
        cwd=tmp_path,
        env=env,
    )
    assert where.returncode == 0, where.stderr
    module_file, torch_spec = where.stdout.split()
    assert Path(module_file).is_relative_to(bin_dir.parent) and torch_spec == "None"

    # a small run written with the logging API: D overpowers G in its second half
    run = write_synthetic_run(
        tmp_path / "dover",
        steps=200,
        d_x=np.r_[np.full(100, 0.5), np.full(100, 0.99)],
        d_gz=np.r_[np.full(100, 0.5), np.full(100, 0.01)],
        noise=0.005,
    )
    check = _run([bin_dir / "gananalyze", "check", run], cwd=tmp_path, env=env)
    assert check.returncode == 1, check.stderr  # an error finding
    assert "ERROR    d_overpowering" in check.stdout

    out = tmp_path / "dover.html"
    rep = _run([bin_dir / "gananalyze", "report", run, "-o", out], cwd=tmp_path, env=env)
    assert rep.returncode == 0, rep.stderr
    assert rep.stdout == f"wrote {out}\n" and rep.stderr == ""
    page = out.read_text()
    assert "Discriminator overpowers the generator" in page and "data:image/png" in page

    sweep = _run([bin_dir / "gananalyze", "fid-sweep", run, "--json"], cwd=tmp_path, env=env)
    assert sweep.returncode == 4 and sweep.stderr == ""
    assert json.loads(sweep.stdout)["error"]["message"] == (
        "fid-sweep needs torch, which is not installed: pip install 'gananalyze[fid]'"
    )
