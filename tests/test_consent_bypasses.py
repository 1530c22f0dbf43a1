"""The seven ways around a stored `gananalyze allow` (issue 23), each in its exact shape:
the marker payload is never written by gananalyze. Where the payload is Python's to
run (a forged bytecode cache, a reduce pickle), the test first shows that plain
Python does run it, so the test could fail."""

from __future__ import annotations

import json
import marshal
import os
import pickle
import py_compile
import subprocess
import sys
import zipfile
from importlib.util import MAGIC_NUMBER
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_digits_run

from gananalyze import consent, load_run
from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.metrics.checkpoints import build_generator

BENIGN = "from gananalyze.digits import Generator\n"


def _evil(marker: Path) -> str:
    return f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n" + BENIGN


def _run(path: Path, target: str, pythonpath: list[str]) -> Path:
    spec = {"real_data": "sklearn-digits", "target": target, "pythonpath": pythonpath}
    return write_digits_run(path, spec=spec)


@pytest.fixture(autouse=True)
def clean_imports():
    before = set(sys.modules), list(sys.path)
    yield
    for m in set(sys.modules) - before[0]:
        if m.startswith(("bypass", "vendored")):
            del sys.modules[m]
    sys.path[:] = before[1]


def _allow(run: Path, *extra: str) -> None:
    res = CliRunner().invoke(main, ["allow", str(run), *extra])
    assert res.exit_code == 0, res.output


def _refused(run: Path, marker: Path, why: str = "an earlier allow lapsed") -> None:
    with pytest.raises(GanAnalyzeError, match=why):
        build_generator(load_run(run), trust=False)
    assert not marker.exists()


def test_1_sourceless_pyc_replaced_after_allow(tmp_path):
    marker = tmp_path / "MARKER"
    run = _run(tmp_path / "run", "bypass1:Generator", ["code"])
    (run / "code").mkdir()
    src = tmp_path / "bypass1.py"
    src.write_text(BENIGN)
    py_compile.compile(str(src), cfile=str(run / "code" / "bypass1.pyc"), doraise=True)
    _allow(run)
    build_generator(load_run(run))  # the allowed sourceless module imports
    del sys.modules["bypass1"]
    src.write_text(_evil(marker))
    py_compile.compile(str(src), cfile=str(run / "code" / "bypass1.pyc"), doraise=True)
    _refused(run, marker)


def test_2_forged_pycache_with_the_benign_sources_mtime_and_size_never_runs(tmp_path):
    marker = tmp_path / "MARKER"
    run = _run(tmp_path / "run", "bypass2:Generator", ["code"])
    code = run / "code"
    code.mkdir()
    (code / "bypass2.py").write_text(BENIGN)
    st = (code / "bypass2.py").stat()
    evil = compile(_evil(marker), str(code / "bypass2.py"), "exec")
    header = MAGIC_NUMBER + (0).to_bytes(4, "little")
    header += (int(st.st_mtime) & 0xFFFFFFFF).to_bytes(4, "little")
    header += (st.st_size & 0xFFFFFFFF).to_bytes(4, "little")
    (code / "__pycache__").mkdir()
    pyc = code / "__pycache__" / f"bypass2.{sys.implementation.cache_tag}.pyc"
    pyc.write_bytes(header + marshal.dumps(evil))
    # plain Python loads the forged cache: the attack is real
    probe = "import sys\nsys.modules['gananalyze.digits'] = None\n"
    probe += "try:\n import bypass2\nexcept ImportError:\n pass"
    subprocess.run([sys.executable, "-c", probe], cwd=code, check=True)
    assert marker.read_text() == "ran"
    marker.unlink()
    _allow(run)  # the first consent: the user read a benign .py
    G = build_generator(load_run(run), load_run(run).checkpoints[-1])
    assert type(G).__name__ == "Generator"
    assert not marker.exists()
    build_generator(load_run(run), trust=True)  # the flag reads no cache either
    assert not marker.exists()


@pytest.mark.parametrize("how", ["absolute", "relative"])
def test_3_pythonpath_outside_the_run_edited_after_allow(tmp_path, how):
    marker = tmp_path / "MARKER"
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "bypass3.py").write_text(BENIGN)
    entry = str(lib) if how == "absolute" else "../lib"
    run = _run(tmp_path / "run", "bypass3:Generator", [entry])
    res = CliRunner().invoke(main, ["allow", str(run)])
    assert res.exit_code == 3
    assert res.output == (
        f"Error: {run}: cannot allow: pythonpath {entry!r} is outside the run ({lib}); an "
        f"allow covers it only when you name it: `gananalyze allow {run} --code-path {lib}`\n"
    )
    assert not consent.granted(load_run(run))
    _allow(run, "--code-path", str(lib))
    build_generator(load_run(run))
    del sys.modules["bypass3"]
    (lib / "bypass3.py").write_text(_evil(marker))
    _refused(run, marker)


def test_4_zip_on_the_pythonpath_is_hashed(tmp_path):
    marker = tmp_path / "MARKER"
    run = _run(tmp_path / "run", "bypass4:Generator", ["lib.zip"])
    with zipfile.ZipFile(run / "lib.zip", "w") as z:
        z.writestr("bypass4.py", BENIGN)
    _allow(run)
    with zipfile.ZipFile(run / "lib.zip", "w") as z:
        z.writestr("bypass4.py", _evil(marker))
    _refused(run, marker)


def test_5_past_2000_files_is_still_hashed_and_a_folder_over_the_bound_is_refused(
    tmp_path, monkeypatch
):
    marker = tmp_path / "MARKER"
    run = _run(tmp_path / "run", "bypass5_2000:Generator", ["code"])
    code = run / "code"
    code.mkdir()
    for i in range(2001):
        (code / f"bypass5_{i:04d}.py").write_text("x = 1\n" if i < 2000 else BENIGN)
    _allow(run)
    (code / "bypass5_2000.py").write_text(_evil(marker))
    _refused(run, marker)
    monkeypatch.setattr(consent, "MAX_CODE_FILES", 2000)
    res = CliRunner().invoke(main, ["allow", str(run)])
    assert res.exit_code == 3
    assert res.output == (
        f"Error: {run}: cannot allow: {code}: pythonpath 'code' is too large to hash for "
        "consent (more than 2,000 files or 512 MiB); refused, not allowed in part\n"
    )
    assert not marker.exists()


def test_6_symlinked_package_folder_is_followed(tmp_path):
    marker = tmp_path / "MARKER"
    run = _run(tmp_path / "run", "bypass6.mod:Generator", ["code"])
    pkg = run / "vendor" / "bypass6"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text(BENIGN)
    (run / "code").mkdir()
    (run / "code" / "bypass6").symlink_to(pkg, target_is_directory=True)
    _allow(run)
    build_generator(load_run(run))
    del sys.modules["bypass6.mod"], sys.modules["bypass6"]
    (pkg / "mod.py").write_text(_evil(marker))
    _refused(run, marker)
    # a link leading out of the run is refused outright
    (run / "code" / "bypass6").unlink()
    (tmp_path / "elsewhere").mkdir()
    (run / "code" / "bypass6").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    res = CliRunner().invoke(main, ["allow", str(run)])
    assert res.exit_code == 3
    assert f"{run / 'code' / 'bypass6'}: a link in pythonpath 'code' leads outside the run" in (
        res.output
    )
    assert not marker.exists()


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def test_7_same_size_reduce_pickle_with_its_mtime_put_back(tmp_path):
    marker = tmp_path / "MARKER"
    run = write_digits_run(tmp_path / "run", spec={"real_data": "sklearn-digits"})
    snap = run / "network-snapshot-000000.pkl"
    benign = pickle.dumps({"G_ema": None, "pad": b"a" * 400})
    snap.write_bytes(benign)
    meta = json.loads((run / "run.json").read_text())
    meta["source"] = {"pickled_checkpoints": [{"path": str(snap), "step": 0}]}
    (run / "run.json").write_text(json.dumps(meta))
    _allow(run)
    st = snap.stat()
    evil = pickle.dumps(_Payload(marker))
    assert len(evil) < len(benign)
    snap.write_bytes(evil + b"." * (len(benign) - len(evil)))  # pickle stops at the first STOP
    os.utime(snap, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (snap.stat().st_size, snap.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    pickle.loads(snap.read_bytes())  # the payload is live
    assert marker.read_text() == "ran"
    marker.unlink()
    assert not consent.granted(load_run(run))
    args = "--real sklearn-digits --features digits --num-samples 20".split()
    res = CliRunner().invoke(main, ["fid-sweep", str(run), *args])
    assert res.exit_code == 3
    assert f"{snap}: StyleGAN snapshot is a Python pickle" in res.output
    assert not marker.exists()
