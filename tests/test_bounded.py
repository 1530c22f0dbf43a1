"""Cheap inputs never cost much (issue 23): each bomb and each input that used to end a
command with "unexpected error" is built in its exact shape, and is skipped with one
warning naming the file and the bound while everything else is still read."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import LAUGHS, png_header
from PIL import Image

from gananalyze import RunLog, load_run
from gananalyze.cli import main
from gananalyze.files import bounded

EXPANDS = "YAML expands to more than 200,000 nodes (an alias counts the node it names each time it is used); not read"  # noqa: E501


def _table_run(d, hparams: str, header: str = "step,g_loss,d_loss"):
    v = d / "lightning_logs" / "version_0"
    v.mkdir(parents=True)
    rows = "".join(f"{s},{1 + s / 100},0.5\n" for s in range(50))
    (v / "metrics.csv").write_text(header + "\n" + rows)
    (v / "hparams.yaml").write_text(hparams)
    return v


def _mlflow_run(d, meta: str):
    (d / "metrics").mkdir(parents=True)
    (d / "metrics" / "G_loss").write_text("".join(f"1700000000000 {s} {s}\n" for s in range(30)))
    (d / "meta.yaml").write_text(meta)
    return d


def _info(run):
    res = CliRunner().invoke(main, ["info", str(run)])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res


def test_alias_bomb_in_hparams_yaml_compare_json(tmp_path):
    run = _table_run(tmp_path / "t", "lr: 0.0002\n" + LAUGHS + "x: *a8\n")
    res = CliRunner().invoke(main, ["compare", str(run), str(run), "--json"])
    assert res.exit_code == 0, res.output
    r = load_run(run)
    assert r.config == {}
    assert r.warnings == [f"{run / 'hparams.yaml'}: {EXPANDS}; config unknown"]


def test_alias_bomb_as_mlflow_run_name(tmp_path):
    run = _mlflow_run(tmp_path / "m", LAUGHS + "run_name: *a8\n")
    res = _info(run)
    assert res.exit_code == 0
    assert f"{run / 'meta.yaml'}: {EXPANDS}" in res.output
    assert load_run(run).steps.tolist() == list(range(30))


def test_stylegan_stats_mean_that_is_a_string(tmp_path):
    run = tmp_path / "sg"
    run.mkdir()
    (run / "training_options.json").write_text("{}")
    recs = [{"Progress/kimg": {"num": 1, "mean": k}, "Loss/G/loss": {"num": 1, "mean": 1.0}}
            for k in range(6)]
    recs[-1]["Loss/G/loss"]["mean"] = "x"
    (run / "stats.jsonl").write_text("".join(json.dumps(x) + "\n" for x in recs))
    res = _info(run)
    assert res.exit_code == 0, res.output
    assert f"{run / 'stats.jsonl'}:6: Loss/G/loss mean is str 'x', not a number; left out" in (
        res.output
    )
    r = load_run(run)
    g = r.scalars["Loss/G/loss"].to_numpy()
    assert np.isnan(g[-1]) and g[:5].tolist() == [1.0] * 5


@pytest.mark.parametrize(
    "how,line",
    [
        ("deep", "hparams.yaml: YAML nested more than 200 levels deep; not read; config unknown"),
        ("self", "hparams.yaml: YAML alias *l refers to a node that contains it; not read; "
                 "config unknown"),
    ],
)
def test_hparams_nested_5000_deep_and_self_referencing_alias(tmp_path, how, line):
    deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    text = deep if how == "deep" else "lr: 1\nloop: &l [1, *l]\n"
    run = _table_run(tmp_path / how, text)
    res = CliRunner().invoke(main, ["compare", str(run), str(run), "--json"])
    assert res.exit_code == 0, res.output
    res = _info(run)
    assert res.exit_code == 0
    assert f"{run}/{line}" in res.output


def test_mlflow_meta_nested_20000_deep(tmp_path):
    run = _mlflow_run(tmp_path / "m", "run_name: " + "[" * 20000 + "]" * 20000 + "\n")
    res = _info(run)
    assert res.exit_code == 0
    assert f"{run / 'meta.yaml'}: YAML nested more than 200 levels deep; not read" in res.output


def test_wandb_json_export_nested_50000_deep(tmp_path):
    p = tmp_path / "history.json"
    rows = json.dumps([{"_step": s, "_runtime": s, "loss": 1.0} for s in range(20)])
    p.write_text(rows[:-1] + ', {"_step": 21, "x": ' + "[" * 50000 + "]" * 50000 + "}]")
    res = _info(p)
    assert res.exit_code == 0, res.output
    assert (
        f"{p}:1: the JSON array has a record nested more than 200 levels deep here; "
        "the 20 complete record(s) before it were read"
    ) in res.output
    assert load_run(p).steps.tolist() == list(range(20))


def test_one_mb_csv_field(tmp_path):
    run = _table_run(tmp_path / "h", "lr: 1\n", header="step,g_loss," + '"' + "d" * 2**20 + '"')
    res = _info(run)
    assert res.exit_code == 3
    assert res.output == (
        f"Error: {run / 'metrics.csv'}: the first line has a field longer than 131,072 "
        "characters; not a metrics table\n"
    )
    body = _table_run(tmp_path / "b", "lr: 1\n")
    with open(body / "metrics.csv", "a") as f:
        f.write('50,"' + "x" * 2**20 + '",0.5\n')
    res = _info(body)
    assert res.exit_code == 0
    x30 = "x" * 30
    assert f"{body / 'metrics.csv'}:52: g_loss = '{x30}' is not a number" in res.output


def _vectors_run(d):
    with RunLog(d, flush_rows=1000) as log:
        for s in range(40):
            log.scalars(s, G_loss=1.0 + s / 100, D_loss=0.5, D_x=0.6, D_G_z_before=0.4)
        for s in (10, 20, 30, 39):
            log.samples(s, np.random.default_rng(s).normal(size=(64, 3)).astype(np.float32))
    return d


def test_damaged_npy_samples_are_named_by_info_and_report_still_writes(tmp_path):
    run = _vectors_run(tmp_path / "v")
    npy = {s: run / "samples" / f"step-{s:09d}.npy" for s in (10, 20, 30)}
    raw = npy[10].read_bytes()
    npy[10].write_bytes(raw.replace(b"(64, 3)", b"(6400000000000, 3)"))
    hdr = b"{'descr': '<f4', 'fortran_order': False, 'shape': (64, 3), }"
    hdr += b" " * (50_000_000 - len(hdr) - 1) + b"\n"
    npy[20].write_bytes(b"\x93NUMPY\x02\x00" + len(hdr).to_bytes(4, "little") + hdr)
    npy[30].write_bytes(raw.replace(b"'<f4'", b"'|O' "))
    res = _info(run)
    assert res.exit_code == 0
    assert (
        f"{npy[10]}: .npy shape (6400000000000, 3) needs 76,800,000,000,000 bytes, over the "
        "bound of 4,294,967,296; not read"
    ) in res.output
    assert f"{npy[20]}: .npy header of 50,000,000 bytes over the bound of 65,536; not read" in (
        res.output
    )
    assert f"{npy[30]}: .npy array of Python objects (loading it unpickles); not read" in (
        res.output
    )
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(run), "-o", str(out), "--no-tsne"])
    assert res.exit_code == 0, res.output
    assert "over the bound of 65,536" in out.read_text()


@pytest.mark.parametrize("side", [9000, 40000])
def test_pixel_bombs_are_not_decoded_and_named(tmp_path, side):
    run = tmp_path / "p"
    with RunLog(run, flush_rows=1000) as log:
        for s in range(20):
            log.scalars(s, G_loss=1.0, D_loss=0.5)
        png = log.samples(19, np.zeros((4, 1, 8, 8), dtype=np.float32))
    if side == 9000:  # the 79 KB grey PNG of the issue
        Image.new("L", (side, side), 128).save(png, optimize=True)
    else:  # only the header is ever read: a valid one, and a token of pixel data
        png.write_bytes(png_header(side, side))
    assert png.stat().st_size < 200_000
    res = CliRunner().invoke(main, ["check", str(run)])
    assert res.exit_code in (0, 1), res.output
    assert f"{png}: unreadable sample image at step 19" in res.output
    with pytest.raises(bounded.TooCostly) as e:
        bounded.open_image(png.read_bytes(), png)
    size = f"{side}x{side} " if side == 9000 else ""
    assert str(e.value) == (
        f"{png}: image of {size}pixels, over the bound of 40,000,000 decoded; not read"
    )
