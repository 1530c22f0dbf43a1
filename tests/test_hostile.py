"""Hostile and damaged runs: links out of the run, outputs over a run's files,
--overwrite, huge steps, flipped bits, malformed JSON, names, `Run.damaged`."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gananalyze import RunLog
from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.files.bounded import loads_json
from gananalyze.files.runfiles import check_output
from gananalyze.loader import import_run, load_run

SECRET = "root:x:0:0:secret-line:/root:/bin/bash"
OPTS = "----------------- Options ---------------\n  gan_mode: lsgan\n  name: exp\n"
LOSS_LINE = "(epoch: {e}, iters: {i}, time: 0.100, data: 0.010) D_A: 0.250 G_A: {g:.3f} \n"


def _secret(tmp_path: Path) -> Path:
    s = tmp_path / "outside" / "passwd"
    s.parent.mkdir(parents=True, exist_ok=True)
    s.write_text(SECRET + "\n")
    return s


def _cyclegan(d: Path, lines: int = 5) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    text = "================ Training Loss (Mon Jan  1 00:00:00 2024) ================\n"
    text += "".join(LOSS_LINE.format(e=1, i=100 * (k + 1), g=1.0 + k) for k in range(lines))
    (d / "loss_log.txt").write_text(text)
    return d


def _native(d: Path, steps: int = 300, flush_rows: int = 100, **kw) -> Path:
    with RunLog(d, flush_rows=flush_rows, **kw) as log:
        for s in range(steps):
            log.scalars(s, G_loss=float(s), D_loss=0.5)
    return d


# ---------------------------------------------------------------- 1. links out of the run


def test_cyclegan_train_opt_linked_outside_is_not_read(tmp_path):
    secret = _secret(tmp_path)
    run = _cyclegan(tmp_path / "exp")
    (run / "train_opt.txt").symlink_to(secret)
    (run / "web" / "images").mkdir(parents=True)
    (run / "web" / "images" / "epoch001_fake_B.png").symlink_to(secret)
    r = load_run(run)
    assert r.config == {}
    assert (
        "train_opt.txt: not read: it is a link that resolves outside the run folder"
        in (r.warnings[0])
    )
    assert r.samples == []
    assert any("epoch001_fake_B.png: not read" in w for w in r.warnings)
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "loss_log.txt").symlink_to(secret)
    out = CliRunner().invoke(main, ["info", str(linked)])
    assert out.exit_code == 3 and "secret-line" not in out.output
    assert out.output.strip() == (
        f"Error: {linked / 'loss_log.txt'}: not read: it is a link "
        "that resolves outside the run folder"
    )
    _, dest = import_run(run, tmp_path / "imported")
    assert "secret-line" not in (dest / "run.json").read_text()
    out = CliRunner().invoke(main, ["info", str(run)])
    assert out.exit_code == 0 and "secret-line" not in out.output
    assert "train_opt.txt: not read" in out.output


def test_native_and_tensorboard_and_stylegan_links_outside_are_not_read(tmp_path):
    outside = tmp_path / "outside"
    other = _native(outside / "other", steps=50, flush_rows=50)
    run = _native(tmp_path / "r", steps=10, flush_rows=10)
    (other_part,) = (other / "scalars").iterdir()
    (run / "scalars" / "part-000009-evil.parquet").symlink_to(other_part)
    (run / "samples").mkdir()
    (run / "samples" / "index.jsonl").symlink_to(_secret(tmp_path))
    r = load_run(run)
    assert r.steps.tolist() == list(range(10))
    assert sum("resolves outside the run folder" in w for w in r.warnings) == 2
    tb = tmp_path / "tb"
    tb.mkdir()
    (tb / "events.out.tfevents.1.host").symlink_to(other / "run.json")
    with pytest.raises(GanAnalyzeError, match="events.out.tfevents.1.host: not read"):
        load_run(tb, format="tensorboard")
    sg = tmp_path / "sg"
    sg.mkdir()
    (sg / "stats.jsonl").write_text(json.dumps({"Loss/G/loss": {"num": 1, "mean": 1.0}}) + "\n")
    (sg / "training_options.json").symlink_to(other / "run.json")
    (sg / "log.txt").symlink_to(_secret(tmp_path))
    r = load_run(sg)
    assert r.config == {} and "log_tail" not in r.extra
    assert sum("resolves outside the run folder" in w for w in r.warnings) == 2


# ---------------------------------------------------------------- 2. outputs and --overwrite


def test_import_overwrite_never_deletes_the_source_or_other_files(tmp_path):
    p = tmp_path / "p"
    src = _cyclegan(p / "src")
    (p / "notes.txt").write_text("keep me")
    out = CliRunner().invoke(main, ["import", str(src), str(p), "--overwrite"])
    assert out.exit_code == 3
    assert out.output.strip().splitlines()[-1] == (
        f"Error: {p}: is not a gananalyze run (no run.json); --overwrite only replaces a run"
    )
    assert (src / "loss_log.txt").is_file() and (p / "notes.txt").read_text() == "keep me"
    # a run that holds the source, or a run with extra files, is not replaced either
    native = _native(tmp_path / "n", steps=5, flush_rows=5)
    inner = _cyclegan(native / "samples" / "src")
    with pytest.raises(GanAnalyzeError, match="contains or is the source run"):
        import_run(inner, native, overwrite=True)
    (native / "mine.txt").write_text("x")
    with pytest.raises(
        GanAnalyzeError,
        match=r"holds files that are not part of a gananalyze "
        r"run \(mine.txt\)",
    ):
        import_run(src, native, overwrite=True)
    (native / "mine.txt").unlink()
    r, dest = import_run(src, native, overwrite=True)  # a plain native run is replaced
    assert load_run(dest).steps.tolist() == r.steps.tolist() and len(r.steps) == 5
    with pytest.raises(GanAnalyzeError, match="lies inside the source run"):
        import_run(src, src / "copy")


def test_outputs_never_overwrite_a_runs_files(tmp_path):
    run = _native(tmp_path / "r", steps=5, flush_rows=5)
    before = (run / "run.json").read_bytes()
    for args in (
        ["report", str(run), "-o", str(run / "run.json")],
        ["compare", str(run), str(run), "-o", str(run / "run.json")],
    ):
        out = CliRunner().invoke(main, args)
        assert out.exit_code == 3, out.output
        assert out.output.strip().splitlines()[-1] == (
            f"Error: {run / 'run.json'}: is a file of the run {run}; refusing to overwrite it "
            "(choose another output path)"
        )
    assert (run / "run.json").read_bytes() == before
    cg = _cyclegan(tmp_path / "cg")
    with pytest.raises(GanAnalyzeError, match="is a file of the run"):
        check_output(cg / "loss_log.txt", [cg])
    with pytest.raises(GanAnalyzeError, match="is a file of a training run"):
        check_output(cg / "loss_log.txt")
    with pytest.raises(GanAnalyzeError, match="is a directory"):
        check_output(tmp_path)
    assert check_output(tmp_path / "new.html", [run]) == tmp_path / "new.html"
    (tmp_path / "old.html").write_text("x")
    assert check_output(tmp_path / "old.html", [run]) == tmp_path / "old.html"


# ---------------------------------------------------------------- 5. huge steps


def test_steps_that_do_not_fit_int64_are_refused_at_log_time(tmp_path):
    with RunLog(tmp_path / "r", flush_rows=10) as log:
        log.scalars(2**62, G_loss=1.0)
        for bad in (1e300, 1e23, 2**63, -(2**63) - 1, float("inf")):
            with pytest.raises(GanAnalyzeError, match=r"^step .* not logged$"):
                log.scalars(bad, G_loss=2.0)
    r = load_run(tmp_path / "r")
    assert r.steps.tolist() == [2**62]


# ---------------------------------------------------------------- 6. flipped bits


def test_every_bit_flip_in_a_part_is_either_harmless_or_named(tmp_path):
    base = _native(tmp_path / "base", steps=300, flush_rows=100)
    want = load_run(base).scalars
    (p1,) = (base / "scalars").glob("part-000001-*.parquet")
    size = p1.stat().st_size
    rng = np.random.default_rng(7)
    silent, named = 0, 0
    for k, off in enumerate(rng.integers(4, size - 8, 150)):  # not the PAR1 magic
        run = tmp_path / f"f{k}"
        run.mkdir()
        for f in ("run.json",):
            (run / f).write_bytes((base / f).read_bytes())
        (run / "scalars").mkdir()
        for part in (base / "scalars").iterdir():
            data = bytearray(part.read_bytes())
            if part == p1:
                data[int(off)] ^= 1 << int(rng.integers(8))
            (run / "scalars" / part.name).write_bytes(bytes(data))
        r = load_run(run)
        got = r.scalars
        hit = [d for d in r.damaged if d[0].endswith(p1.name)]
        if hit:
            named += 1
            assert any(p1.name in w and "unreadable Parquet part" in w for w in r.warnings)
            # the other parts still load
            assert set(range(100)) | set(range(200, 300)) <= set(r.steps.tolist())
        elif not (
            len(got) == len(want)
            and got[["step", "G_loss", "D_loss"]].equals(want[["step", "G_loss", "D_loss"]])
        ):
            silent += 1
    assert silent == 0 and named > 0


# ---------------------------------------------------------------- 7. malformed JSON


def test_config_of_the_wrong_type_is_normalised(tmp_path):
    for k, cfg in enumerate(("lr=0.1", [1, 2], 7)):
        run = _native(tmp_path / f"r{k}", steps=5, flush_rows=5)
        meta = json.loads((run / "run.json").read_text())
        meta["config"] = cfg
        (run / "run.json").write_text(json.dumps(meta))
        r = load_run(run)
        assert r.config == {"value": cfg}
        assert f"'config' is a {type(cfg).__name__}, not an object; kept as config['value']" in (
            "\n".join(r.warnings)
        )
        out = CliRunner().invoke(main, ["check", str(run)])
        assert out.exit_code in (0, 1) and "Traceback" not in out.output
        assert out.exception is None or isinstance(out.exception, SystemExit)


def test_index_jsonl_with_a_string_nrow_is_a_warning(tmp_path):
    run = _native(tmp_path / "r", steps=5, flush_rows=5)
    with RunLog(run, flush_rows=5) as log:
        log.samples(4, np.zeros((4, 1, 3, 3)))
    idx = run / "samples" / "index.jsonl"
    rec = json.loads(idx.read_text())
    idx.write_text(json.dumps({**rec, "nrow": "8"}) + "\n")
    r = load_run(run)
    assert len(r.samples) == 1 and r.samples[0].nrow is None
    assert any(w.startswith(f"{idx}:1: unreadable line skipped") for w in r.warnings)
    assert r.damaged == [(f"{idx}:1", "unreadable sample index line")]
    out = CliRunner().invoke(main, ["info", str(run)])
    assert out.exit_code == 0


def test_json_nested_thousands_deep_is_one_clear_line(tmp_path):
    deep = "[" * 6000 + "]" * 6000
    with pytest.raises(ValueError, match="nested more than 200 levels"):
        loads_json(deep)
    run = _native(tmp_path / "r", steps=5, flush_rows=5)
    (run / "run.json").write_text('{"config": ' + deep + "}")
    r = load_run(run)  # the scalars are still used
    assert r.steps.tolist() == list(range(5))
    assert r.damaged == [
        (str(run / "run.json"), "not valid JSON (JSON nested more than 200 levels deep)")
    ]
    out = CliRunner().invoke(main, ["info", str(run)])
    assert out.exit_code == 0
    assert (
        f"  {run / 'run.json'}: not valid JSON (JSON nested more than 200 levels deep); "
        "loss type, config and generator spec unknown"
    ) in out.output.splitlines()
    sg = tmp_path / "sg"
    sg.mkdir()
    good = json.dumps({"Loss/G/loss": {"num": 1, "mean": 1.0}})
    (sg / "stats.jsonl").write_text(f"{good}\n{deep}\n{good}\n")
    (sg / "training_options.json").write_text('{"a": ' + deep + "}")
    r = load_run(sg)
    assert len(r.scalars) == 2
    assert (f"{sg / 'stats.jsonl'}:2", "unreadable JSON line (nested too deeply)") in r.damaged
    assert any("training_options.json: not valid JSON" in w for w in r.warnings)


# ---------------------------------------------------------------- 8. TensorBoard resync


def _records(data: bytes) -> list[int]:
    pos, out = 0, []
    while pos + 12 <= len(data):
        (n,) = struct.unpack_from("<Q", data, pos)
        out.append(pos)
        pos += 16 + n
    return out


def test_a_flipped_length_bit_in_tensorboard_skips_one_record_not_the_rest(tmp_path):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "tb"))
    for s in range(1000):
        w.add_scalar("G_loss", float(s), s)
    w.close()
    (f,) = (tmp_path / "tb").glob("events.out.tfevents.*")
    data = bytearray(f.read_bytes())
    recs = _records(bytes(data))
    at = recs[len(recs) * 8 // 100]
    data[at + 3] ^= 0x04  # the length becomes ~67 MB: past the end of the file
    f.write_bytes(bytes(data))
    r = load_run(tmp_path / "tb")
    assert len(r.scalars) == 999
    nxt = recs[recs.index(at) + 1]
    assert r.warnings == [
        f"{f}: corrupt record header (length checksum mismatch) at byte offset "
        f"{at}; skipped {nxt - at} bytes to the next intact record at offset "
        f"{nxt} and read on"
    ]
    assert r.damaged == [
        (
            str(f),
            f"corrupt record header (length checksum mismatch) at byte "
            f"offset {at}; {nxt - at} bytes skipped",
        )
    ]


# ---------------------------------------------------------------- 9. damaged is structured


def test_damaged_lists_what_was_skipped_in_every_format(tmp_path):
    run = _native(tmp_path / "n", steps=300, flush_rows=100)
    (p1,) = (run / "scalars").glob("part-000001-*.parquet")
    p1.write_bytes(p1.read_bytes()[:200])
    r = load_run(run)
    assert len(r.damaged) == 1 and r.damaged[0][0] == str(p1)
    assert r.damaged[0][1].startswith("unreadable Parquet part")
    assert r.summary()["damaged"] == [list(r.damaged[0])]
    cg = _cyclegan(tmp_path / "cg")
    with open(cg / "loss_log.txt", "a") as fh:
        fh.write("(epoch: 4, it\n")
    r = load_run(cg)
    cut = "line cut off before its epoch/iters, skipped"
    assert r.damaged == [(f"{cg / 'loss_log.txt'}:7", cut)]
    clean = load_run(_native(tmp_path / "clean", steps=5, flush_rows=5))
    assert clean.damaged == [] and clean.writers == 1


# ---------------------------------------------------------------- 10. names


def test_runs_are_called_after_their_directory_unless_named(tmp_path):
    _native(tmp_path / "first", steps=3, flush_rows=3)
    (tmp_path / "first").rename(tmp_path / "renamed")
    r = load_run(tmp_path / "renamed")
    assert (r.name, r.given_name) == ("renamed", None)
    _native(tmp_path / "a", steps=3, flush_rows=3, name="baseline")
    (tmp_path / "a").rename(tmp_path / "b")
    r = load_run(tmp_path / "b")
    assert (r.name, r.given_name) == ("baseline", "baseline")
    assert (
        f"{tmp_path / 'b'}: the run's name 'baseline' (given when it was written) differs "
        "from its directory's name 'b'; called 'baseline'" in r.warnings
    )
    with RunLog(tmp_path / "b", flush_rows=3) as log:  # resuming keeps the given name
        log.scalars(9, G_loss=1.0)
    assert load_run(tmp_path / "b").name == "baseline"
    cg = _cyclegan(tmp_path / "moved")
    (cg / "train_opt.txt").write_text(OPTS)
    r = load_run(cg)
    assert (r.name, r.given_name) == ("moved", "exp")
    out = CliRunner().invoke(main, ["info", str(cg)])
    assert "experiment name 'exp' differs from the run directory's name 'moved'" in out.output
