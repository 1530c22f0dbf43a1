"""Runs on object storage: every command against a real S3 server on 127.0.0.1 (moto)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_synthetic_run
from s3server import s3_server, upload

from gananalyze import remote
from gananalyze.cli import main
from gananalyze.loader import load_run


def test_is_url_and_base_name():
    assert remote.is_url("s3://b/run")
    assert remote.is_url("gs://b/x/y/")
    assert not remote.is_url("file:///tmp/run")
    assert not remote.is_url("runs/r1")
    assert not remote.is_url(Path("s3:/b"))
    assert remote.base_name("s3://b/sweep/run-1/") == "run-1"


@pytest.fixture(scope="module")
def endpoint():
    """One local S3 server for this module's tests (each uses its own bucket)."""
    with pytest.MonkeyPatch.context() as mp, s3_server(mp) as url:
        yield url


@pytest.fixture(scope="module")
def bucket(endpoint, tmp_path_factory):
    """Three native runs (one collapsing D) uploaded to s3://sweep/runs/ on a local server."""
    tmp_path = tmp_path_factory.mktemp("bucket")
    for i, lr in enumerate((1e-4, 2e-4, 4e-3)):
        local = tmp_path / "local" / f"lr{i}"
        collapse = lr > 1e-3
        write_synthetic_run(
            local,
            seed=i,
            d_x=0.99 if collapse else 0.55,
            d_gz=0.01 if collapse else 0.45,
            config={"lr": lr, "seed": i},
        )
        upload(endpoint, local, "sweep", f"runs/lr{i}")
    yield tmp_path


def test_commands_against_a_local_s3_server(bucket):
    cli = CliRunner()
    res = cli.invoke(main, ["info", "s3://sweep/runs/lr0"])
    assert res.exit_code == 0, res.output
    assert "lr0  (s3://sweep/runs/lr0)" in res.output and "200" in res.output
    assert "gananalyze-remote-" not in res.output  # the local copy is not shown

    res = cli.invoke(main, ["check", "s3://sweep/runs/lr2"])
    assert res.exit_code == 1, res.output  # D overpowers G: an error finding
    assert "overpower" in res.output.lower()

    out = bucket / "out" / "r.html"
    res = cli.invoke(main, ["report", "s3://sweep/runs/lr0", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 10_000
    assert "s3://sweep/runs/lr0" in out.read_text()

    page = bucket / "out" / "c.html"
    res = cli.invoke(main, ["compare", "s3://sweep/runs/*", "--json", "-o", str(page)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert sorted(r["run"] for r in data["runs"]) == ["lr0", "lr1", "lr2"]
    assert {r["path"] for r in data["runs"]} == {f"s3://sweep/runs/lr{i}" for i in range(3)}
    assert {r["config"]["lr"] for r in data["runs"]} == {1e-4, 2e-4, 4e-3}
    assert page.is_file()


def test_missing_object_is_one_line(bucket):
    res = CliRunner().invoke(main, ["info", "s3://sweep/runs/nothing-here"])
    assert res.exit_code != 0
    assert res.output.strip() == "Error: s3://sweep/runs/nothing-here: no such file or directory"


def test_url_glob_matching_nothing_is_one_line(bucket):
    res = CliRunner().invoke(main, ["compare", "s3://sweep/other/*"])
    assert res.exit_code != 0
    assert res.output.strip() == (
        "Error: s3://sweep/other/*: the pattern matches no run directory "
        "(use --skip-bad to compare the others)"
    )


def _checkpointed(tmp_path: Path, name: str = "ck") -> Path:
    """A native run with two 256 KB generator checkpoints."""
    torch = pytest.importorskip("torch")
    local = tmp_path / "local" / name
    write_synthetic_run(local, seed=3)
    (local / "checkpoints").mkdir(exist_ok=True)
    for step in (100, 199):
        w = torch.full((256, 256), float(step))
        torch.save({"generator": {"w": w}}, local / "checkpoints" / f"step-{step:09d}.pt")
    return local


def test_url_run_maps_roles_as_a_local_one(endpoint, tmp_path, monkeypatch):
    rows = "step,G_loss,gen_loss,D_loss\n" + "".join(f"{i},1.0,2.0,0.5\n" for i in range(30))
    local = tmp_path / "local" / "amb"
    local.mkdir(parents=True)
    (local / "metrics.csv").write_text(rows)
    upload(endpoint, local, "maps", "runs/amb")
    for where in (str(local), "s3://maps/runs/amb"):
        res = CliRunner().invoke(main, ["info", where, "--map", "G_loss=gen_loss"])
        assert res.exit_code == 0, res.output
        assert "  G_loss  gen_loss  (--map)" in res.output, where
    (local / "gananalyze.yaml").write_text("roles:\n  G_loss: gen_loss\n")
    upload(endpoint, local, "maps", "runs/amb2")
    run = load_run("s3://maps/runs/amb2")
    assert run.column("G_loss") == "gen_loss"
    assert run.role_map["G_loss"]["source"] == "s3://maps/runs/amb2/gananalyze.yaml"
    assert load_run(local).column("G_loss") == "gen_loss"


def test_checkpoints_stay_on_the_store_until_used(endpoint, tmp_path, monkeypatch):
    local = _checkpointed(tmp_path)
    upload(endpoint, local, "ckpt", "runs/ck")
    ck_bytes = sum(f.stat().st_size for f in (local / "checkpoints").iterdir())
    run_bytes = sum(f.stat().st_size for f in local.rglob("*") if f.is_file()) - ck_bytes
    monkeypatch.setattr(remote, "TOTAL", remote.Fetched())  # this process's count, from 0
    res = CliRunner().invoke(main, ["--debug", "info", "s3://ckpt/runs/ck", "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)["fetched"]
    assert got["bytes"] == run_bytes < 100_000 and got["left_objects"] == 2
    assert got["left_bytes"] == ck_bytes > 500_000
    assert res.stderr == (
        f"fetched from object storage: {run_bytes} bytes in {got['objects']} objects\n"
    )
    res = CliRunner().invoke(main, ["info", "s3://ckpt/runs/ck"])
    assert (
        f"fetched:     {run_bytes} bytes in {got['objects']} objects; 2 checkpoint/pickle "
        f"objects ({ck_bytes} bytes) left in place"
    ) in res.output

    from gananalyze.metrics.checkpoints import load_checkpoint

    run = load_run("s3://ckpt/runs/ck")
    assert [c.step for c in run.checkpoints] == [100, 199]
    ck = run.checkpoints[1].path
    assert ck.stat().st_size == 0  # a placeholder until a command opens it
    before = remote.TOTAL.bytes
    assert float(load_checkpoint(ck)["generator"]["w"][0, 0]) == 199.0
    assert remote.TOTAL.bytes - before == ck_bytes // 2
    assert ck.stat().st_size == 0  # dropped again after use

    cache = tmp_path / "cache"
    monkeypatch.setattr(remote, "_persistent", False)  # put back after the test
    monkeypatch.setattr(remote, "_cache", remote._cache)
    remote.configure(cache=str(cache))
    run = load_run("s3://ckpt/runs/ck")
    ck = run.checkpoints[0].path
    assert str(ck).startswith(str(cache))
    assert float(load_checkpoint(ck)["generator"]["w"][0, 0]) == 100.0
    assert ck.stat().st_size == ck_bytes // 2  # kept in the cache
    before = remote.TOTAL.bytes
    run = load_run("s3://ckpt/runs/ck")  # unchanged objects are not fetched again
    assert float(load_checkpoint(run.checkpoints[0].path)["generator"]["w"][0, 0]) == 100
    assert remote.TOTAL.bytes == before


def test_fetch_bounds_name_the_object_and_the_flag(endpoint, tmp_path, monkeypatch):
    local = tmp_path / "local" / "big"
    write_synthetic_run(local, seed=1)
    (local / "notes.bin.txt").write_bytes(b"x" * (3 << 20))
    upload(endpoint, local, "bigs", "runs/big")
    res = CliRunner().invoke(main, ["--fetch-max-mb", "2", "info", "s3://bigs/runs/big"])
    assert res.exit_code == 0, res.output
    assert (
        "s3://bigs/runs/big: object 'bigs/runs/big/notes.bin.txt' (3.0 MB) not fetched: over "
        "the bound of 2.0 MB per run (raise it with --fetch-max-mb)"
    ) in res.output
    assert "steps:       200 logged" in res.output  # the rest of the run is still read
    res = CliRunner().invoke(main, ["--fetch-max-mb", "4", "info", "s3://bigs/runs/big"])
    assert "not fetched" not in res.output
    n = len([f for f in local.rglob("*") if f.is_file()])
    res = CliRunner().invoke(main, ["--fetch-max-objects", "2", "info", "s3://bigs/runs/big"])
    assert (
        f"{n - 2} object(s) from 'bigs/runs/big/" in res.output
        and "on not fetched: over the bound of 2 objects per run "
        "(raise it with --fetch-max-objects)"
        in res.output
    )


def test_a_dotdot_key_does_not_break_a_url_glob(bucket):
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket="sweep", Key="runs/../metrics.csv", Body=b"step,G_loss\n0,1\n")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="sweep")["Contents"]]
    assert "runs/../metrics.csv" in keys
    res = CliRunner().invoke(main, ["compare", "s3://sweep/runs/*", "--json"])
    assert res.exit_code == 0, res.output
    assert sorted(r["run"] for r in json.loads(res.stdout)["runs"]) == ["lr0", "lr1", "lr2"]


def test_fid_sweep_refuses_a_url_run_and_import_copies_its_checkpoints(endpoint, tmp_path):
    """fid-sweep appends to the run: on a URL it refuses in one line (exit 3) and names the
    way out, `gananalyze import`, whose copy has the checkpoints' bytes."""
    local = _checkpointed(tmp_path, "fs")
    upload(endpoint, local, "fsweep", "runs/fs")
    res = CliRunner().invoke(main, ["fid-sweep", "s3://fsweep/runs/fs/", "--real", str(local)])
    assert res.exit_code == 3, res.output
    assert res.output == (
        "Error: s3://fsweep/runs/fs: fid-sweep appends its results to the run, and a run on "
        "object storage is read-only here; copy it first (checkpoints included): `gananalyze "
        "import s3://fsweep/runs/fs DEST`, then `gananalyze fid-sweep DEST ...`\n"
    )
    dest = tmp_path / "copy"
    res = CliRunner().invoke(main, ["import", "s3://fsweep/runs/fs", str(dest)])
    assert res.exit_code == 0, res.output
    for step in (100, 199):
        name = f"checkpoints/step-{step:09d}.pt"
        assert (dest / name).read_bytes() == (local / name).read_bytes()


def test_s3_goes_through_pyarrow_unless_fsspec_options_are_set(monkeypatch):
    """s3:// is served by pyarrow's S3 client (s3fs's import costs more than a check); fsspec's
    own S3 options (FSSPEC_S3_...) keep s3fs, which alone reads them."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    fs, path = remote._fs("s3://bkt/sweep/run-1")
    assert isinstance(fs, ArrowFSWrapper) and path == "bkt/sweep/run-1"
    monkeypatch.setenv("FSSPEC_S3_ANON", "true")
    fs, path = remote._fs("s3://bkt/sweep/run-1")
    assert type(fs).__name__ == "S3FileSystem" and path == "bkt/sweep/run-1"


def test_a_runs_objects_are_fetched_concurrently_within_the_bound(tmp_path, monkeypatch):
    """A blocking store gets at most FETCH_THREADS requests at once: each request here waits
    at a barrier for a second one, so a one-at-a-time fetch would break it (and fail)."""
    import threading

    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    local = tmp_path / "run"
    write_synthetic_run(local, seed=3)
    (local / "notes.txt").write_text("lr sweep\n")
    if len([f for f in local.rglob("*") if f.is_file()]) % 2:  # requests meet in pairs
        (local / "README.txt").write_text("a run for the fetch test\n")
    files = sorted(f for f in local.rglob("*") if f.is_file())
    mem = fsspec.filesystem("memory")
    for f in files:
        mem.pipe_file(f"/conc/run/{f.relative_to(local).as_posix()}", f.read_bytes())
    monkeypatch.setattr(remote, "FETCH_THREADS", 2)
    barrier, lock = threading.Barrier(2, timeout=30), threading.Lock()
    inflight, most = [0], [0]
    plain_get = MemoryFileSystem.get_file

    def get_file(self, rpath, lpath, **kw):
        with lock:
            inflight[0] += 1
            most[0] = max(most[0], inflight[0])
        barrier.wait()
        try:
            return plain_get(self, rpath, lpath, **kw)
        finally:
            with lock:
                inflight[0] -= 1

    monkeypatch.setattr(MemoryFileSystem, "get_file", get_file)
    try:
        run = load_run("memory://conc/run")
    finally:
        mem.rm("/conc", recursive=True)
    assert most[0] == 2  # concurrent, and never more than the bound
    assert run.fetched["objects"] == len(files)
    assert run.fetched["bytes"] == sum(f.stat().st_size for f in files)
    assert len(run.scalars) == 200
