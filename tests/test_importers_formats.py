"""The table-shaped and log-shaped importers: Chainer, StyleGAN log.txt / metric
files, MLflow, Keras, CTGAN, W&B, epoch/iter CSV, and any single table file."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.importers import REGISTRY, _csvread, table
from gananalyze.importers._csvread import MAX_COLUMNS
from gananalyze.loader import detect_format, load_run


def info_format(path) -> str:
    """info's format line and its loss-type line, joined: `chainer (detected) | bce (assumed)`."""
    res = CliRunner().invoke(main, ["info", str(path)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    fmt = next(x for x in lines if x.startswith("format:"))[len("format:") :].strip()
    loss = next(x for x in lines if x.startswith("loss type:"))[len("loss type:") :].strip()
    return f"{fmt} | {loss}"


def test_registry_order():
    assert list(REGISTRY) == [
        "stylegan",
        "stylegan-log",
        "cyclegan",
        "lightning",
        "tensorboard",
        "chainer",
        "edgeconnect",
        "mlflow",
        "wandb",
        "ctgan",
        "epoch-iter",
        "keras",
        "coqui-log",
        "vits-log",
        "textlog",
        "split-files",
        "csv-rows",
        "csv",
    ]


# ------------------------------------------------------------------ Chainer


CHAINER = [
    {
        "main/loss": 1.0,
        "gen/loss": 2.5,
        "dis/loss": 0.75,
        "epoch": 0,
        "iteration": 100,
        "elapsed_time": 10.5,
    },
    {"gen/loss": 2.0, "dis/loss": 0.5, "epoch": 1, "iteration": 200, "elapsed_time": 21.0},
    {"gen/loss": 1.5, "dis/loss": 0.25, "epoch": 1, "iteration": 300, "elapsed_time": 31.5},
]


def test_chainer_log(tmp_path):
    d = tmp_path / "result"
    d.mkdir()
    (d / "log").write_text(json.dumps(CHAINER, indent=4))
    assert detect_format(d) == "chainer" and detect_format(d / "log") == "chainer"
    r = load_run(d)
    assert r.format == "chainer" and r.name == "result" and r.step_unit == "iteration"
    assert r.steps.tolist() == [100, 200, 300]
    assert r.series("gen/loss").tolist() == [2.5, 2.0, 1.5]
    assert r.series("dis/loss").tolist() == [0.75, 0.5, 0.25]
    assert r.scalars["epoch"].tolist() == [0, 1, 1] and r.scalars["wall_time"].tolist() == [
        10.5,
        21.0,
        31.5,
    ]
    assert r.counts["main/loss"] == 1 and not r.warnings
    assert info_format(d) == "chainer (detected) | bce (assumed)"


def test_chainer_log_cut_off_mid_write(tmp_path):
    text = json.dumps(CHAINER, indent=4)
    cut = text[: text.index('"dis/loss": 0.25')]  # inside the third dict
    (tmp_path / "log").write_text(cut)
    r = load_run(tmp_path)
    assert r.steps.tolist() == [100, 200] and r.series("gen/loss").tolist() == [2.5, 2.0]
    assert any(
        "the JSON array is cut off or damaged here; the 2 complete record(s)" in w
        for w in r.warnings
    )


def test_chainer_log_damaged_record_costs_itself_only(tmp_path):
    # a NUL byte in the second record (a torn write): that record is left out and named,
    # the array is read on past it (only the first record was read before)
    text = json.dumps(CHAINER, indent=4).replace('"gen/loss": 2.0', '"gen/loss": 2\x00.0')
    (tmp_path / "log").write_text(text)
    r = load_run(tmp_path)
    assert r.steps.tolist() == [100, 300] and r.series("gen/loss").tolist() == [2.5, 1.5]
    line = text[: text.index("\x00")].rfind("{")
    line = text.count("\n", 0, line) + 1
    assert (
        f"{tmp_path / 'log'}: 1 damaged record(s) of the JSON array left out (line {line}); "
        "the 2 others were read"
    ) in r.warnings


# ------------------------------------------------------------------ StyleGAN log.txt

TF_LOG = """dnnlib: Running training.training_loop.training_loop() on localhost...
Building TensorFlow graph...
tick 0     kimg 0.1      lod 0.00  minibatch 32   time 38s          sec/tick 38.5    \
sec/kimg 300.44  maintenance 0.0    gpumem 4.9
network-snapshot-000000        time 6m 38s       fid50k 469.2366
tick 1     kimg 140.3    lod 0.00  minibatch 32   time 1h 02m 03s   sec/tick 125.8   \
sec/kimg 0.90    maintenance 48.6   gpumem 5.1
tick 2     kimg 280.6    lod 0.00  minibatch 32   time 1h 04m 10s   sec/tick 127.0   \
sec/kimg 0.91    maintenance 0.0    gpumem 5.1
network-snapshot-000280        time 5m 01s       fid50k 201.5
tick 3     ki
"""

RESUMED = """tick 0     kimg 280.6    lod 0.00  minibatch 32   time 20s          sec/tick \
20.0    sec/kimg 0.2     maintenance 0.0    gpumem 5.0
tick 1     kimg 420.9    lod 0.00  minibatch 32   time 2m 30s       sec/tick 130.0   \
sec/kimg 0.93    maintenance 0.0    gpumem 5.2
network-snapshot-000420        time 5m 00s       fid50k 150.25
"""


def test_tf_stylegan_log(tmp_path):
    d = tmp_path / "00000-sgan-ffhq-1gpu"
    d.mkdir()
    (d / "log.txt").write_text(TF_LOG)
    assert detect_format(d) == "stylegan-log"
    r = load_run(d)
    assert r.format == "stylegan-log" and r.name == "00000-sgan-ffhq-1gpu"
    assert r.step_unit == "tick" and r.steps.tolist() == [0, 1, 2]
    assert r.series("kimg").tolist() == [0.1, 140.3, 280.6]
    assert r.series("sec/tick").tolist() == [38.5, 125.8, 127.0]
    assert r.scalars["wall_time"].tolist() == [38.0, 3723.0, 3850.0]
    sm = r.sample_metrics
    assert sm["step"].tolist() == [0, 2] and sm["fid"].tolist() == [469.2366, 201.5]
    assert any(":8: tick line without kimg" in w for w in r.warnings)  # the cut-off last line
    assert info_format(d).startswith("stylegan-log (detected)")


def test_tf_stylegan_resume_in_a_new_folder(tmp_path):
    (tmp_path / "00000-a").mkdir()
    (tmp_path / "00000-a" / "log.txt").write_text(TF_LOG)
    (tmp_path / "00001-a-resumed").mkdir()
    (tmp_path / "00001-a-resumed" / "log.txt").write_text(RESUMED)
    r = load_run(tmp_path)
    assert r.format == "stylegan-log"
    # the resume starts at kimg 280.6, already logged at tick 2: that tick is replaced
    assert r.steps.tolist() == [0, 1, 2, 3] and r.duplicates_replaced == 1
    assert r.series("kimg").tolist() == [0.1, 140.3, 280.6, 420.9]
    assert r.series("sec/tick").tolist() == [38.5, 125.8, 20.0, 130.0]
    assert r.sample_metrics["fid"].tolist() == [469.2366, 201.5, 150.25]
    assert r.sample_metrics["step"].tolist() == [0, 2, 3]


ADA_LOG = """Loading training set...
tick 0     kimg 0.0      time 1m 01s       sec/tick 16.5    sec/kimg 4125.95 maintenance \
44.6   cpumem 4.40   gpumem 8.45   augment 0.000
Evaluating metrics...
{"results": {"fid50k_full": 276.36}, "metric": "fid50k_full", "total_time": 120.0, \
"snapshot_pkl": "network-snapshot-000000.pkl", "timestamp": 1620000000.5}
tick 1     kimg 4.0      time 2m 10s       sec/tick 60.1    sec/kimg 15.02   maintenance \
9.0    cpumem 4.60   gpumem 8.50   augment 0.012
{"results": {"fid50k_full": 270.5
"""


def test_ada_log_without_jsonl(tmp_path):
    (tmp_path / "log.txt").write_text(ADA_LOG)
    r = load_run(tmp_path)
    assert r.format == "stylegan-log" and r.steps.tolist() == [0, 1]
    assert r.series("augment").tolist() == [0.0, 0.012] and r.series("kimg").tolist() == [0.0, 4.0]
    assert r.sample_metrics["fid"].tolist() == [276.36]
    assert r.sample_metrics["timestamp"].tolist() == [1620000000.5]
    assert any(":6: metric line is not valid JSON" in w for w in r.warnings)


def test_stylegan_metric_files_only(tmp_path):
    lines = [
        {"results": {"fid50k_full": 80.0}, "snapshot_pkl": "network-snapshot-000200.pkl"},
        {"results": {"fid50k_full": 40.5}, "snapshot_pkl": "network-snapshot-000400.pkl"},
    ]
    (tmp_path / "metric-fid50k_full.jsonl").write_text(
        "\n".join(json.dumps(x) for x in lines) + "\n{not json\n"
    )
    assert detect_format(tmp_path) == "stylegan-log"
    r = load_run(tmp_path)
    assert r.step_unit == "kimg" and len(r.scalars) == 0
    assert r.sample_metrics["step"].tolist() == [200, 400]
    assert r.sample_metrics["fid"].tolist() == [80.0, 40.5]
    assert any("metric-fid50k_full.jsonl:3: not valid JSON" in w for w in r.warnings)


# ------------------------------------------------------------------ MLflow


def write_mlflow(root, run_id="abc123def456"):
    run = root / "mlruns" / "0" / run_id
    (run / "metrics" / "loss").mkdir(parents=True)
    (run / "params").mkdir()
    (run / "meta.yaml").write_text(f"run_id: {run_id}\nrun_name: dcgan-try\n")
    (run / "metrics" / "loss" / "G").write_text("1700000000000 2.5 0\n1700000001000 2.0 10\n")
    (run / "metrics" / "loss" / "D").write_text(
        "1700000000000 0.5 0\ngarbage\n1700000002000 0.25 10\n"
    )
    (run / "metrics" / "fid").write_text("1700000003000 55.5 10\n")
    (run / "params" / "lr").write_text("0.0002")
    (run / "params" / "gan_mode").write_text("hinge")
    return run


def test_mlflow_file_store(tmp_path):
    run = write_mlflow(tmp_path)
    for p in (tmp_path / "mlruns", tmp_path / "mlruns" / "0", run):
        assert detect_format(p) == "mlflow"
    r = load_run(tmp_path / "mlruns")
    assert r.format == "mlflow" and r.name == "dcgan-try (abc123de)"
    assert r.steps.tolist() == [0, 10] and r.series("loss/G").tolist() == [2.5, 2.0]
    assert r.series("loss/D").tolist() == [0.5, 0.25] and r.series("fid").tolist() == [55.5]
    assert r.config == {"lr": 0.0002, "gan_mode": "hinge"} and r.loss == "hinge"
    assert r.scalars["wall_time"].tolist() == [1700000000.0, 1700000003.0]
    assert any("loss/D:2: not '<timestamp> <value> <step>'" in w for w in r.warnings)
    assert info_format(run).startswith("mlflow (detected) | hinge")
    # a parameter file far over MLflow's 6,000 characters: left out, named, the rest kept
    (run / "params" / "blob").write_bytes(b"x" * (70 << 10))
    r = load_run(tmp_path / "mlruns")
    assert r.config == {"lr": 0.0002, "gan_mode": "hinge"}
    assert (
        f"{run / 'params' / 'blob'}: a parameter over 64 KiB (MLflow keeps 6,000 "
        "characters); left out of the config" in r.warnings
    )


def test_mlflow_two_runs_is_one_clear_error(tmp_path):
    write_mlflow(tmp_path, "run1")
    write_mlflow(tmp_path, "run2")
    with pytest.raises(GanAnalyzeError, match=r"2 MLflow runs \(0/run1, 0/run2\); point at one"):
        load_run(tmp_path / "mlruns")


# ------------------------------------------------------------------ Keras / CTGAN / W&B


def test_keras_csvlogger(tmp_path):
    f = tmp_path / "training.log"
    f.write_text("epoch,d_loss,g_loss\n0,0.69,0.7\n1,0.6,x\n2,0.5,0.9\n")
    assert detect_format(f) == "keras" and detect_format(tmp_path) == "keras"  # its default name
    assert load_run(f).name == f"{tmp_path.name}/training"
    f.unlink()
    (tmp_path / "history.csv").write_text("epoch,d_loss,g_loss\n0,0.69,0.7\n1,0.6,x\n2,0.5,0.9\n")
    assert detect_format(tmp_path / "history.csv") == "keras"
    r = load_run(tmp_path / "history.csv")
    assert r.format == "keras" and r.step_unit == "epoch" and r.name == f"{tmp_path.name}/history"
    assert r.steps.tolist() == [0, 1, 2] and r.series("g_loss").tolist() == [0.7, 0.9]
    assert r.series("d_loss").tolist() == [0.69, 0.6, 0.5]
    assert any("history.csv:3: g_loss = 'x' is not a number" in w for w in r.warnings)


def test_ctgan_loss_table(tmp_path):
    f = tmp_path / "loss_values.csv"
    f.write_text(
        ",Epoch,Generator Loss,Discriminator Loss\n"
        "0,0,1.25,-0.5\n1,1,0.75,-0.25\n2,2,0.5,-0.125\n3,3,0.4\n"
    )
    assert detect_format(f) == "ctgan"
    r = load_run(f)
    assert r.format == "ctgan" and r.step_unit == "epoch" and r.loss == "wasserstein"
    assert r.steps.tolist() == [0, 1, 2] and r.series("Generator Loss").tolist() == [
        1.25,
        0.75,
        0.5,
    ]
    assert r.series("Discriminator Loss").tolist() == [-0.5, -0.25, -0.125]
    assert (
        r.extra["value_kind"]["Generator Loss"]
        == "loss of the last batch of each epoch (not a mean)"
    )
    assert any("unnamed first column (a saved row index) was left out" in w for w in r.warnings)
    assert any(
        w.startswith(f"{f}:5: malformed row skipped (4 fields expected, 3 found")
        for w in r.warnings
    )
    assert info_format(f).startswith("ctgan (detected) | wasserstein")


def test_wandb_history_export(tmp_path):
    f = tmp_path / "wandb_export.csv"
    f.write_text(
        "_step,_runtime,_timestamp,gen_loss,disc_loss\n0,1.5,1700000000.5,2.0,0.5\n"
        "1,3.0,1700000002.0,,0.4\n2,4.5,1700000003.5,1.5,\nnan\n"
    )
    assert detect_format(f) == "wandb"
    r = load_run(f)
    assert r.format == "wandb" and r.metrics == ["gen_loss", "disc_loss"]
    assert r.series("gen_loss").to_dict() == {0: 2.0, 2: 1.5} and r.counts["disc_loss"] == 2
    assert r.scalars["wall_time"].tolist() == [1700000000.5, 1700000002.0, 1700000003.5]
    assert r.extra["runtime_s"] == 4.5
    assert any(w.startswith(f"{f}:5: malformed row skipped") for w in r.warnings)


def test_a_malformed_row_that_is_not_utf8_is_skipped_and_the_rest_kept(tmp_path):
    """pyarrow cannot hand a row that is not UTF-8 to the malformed-row handler: the
    row is still skipped by its line, and every other row is read."""
    f = tmp_path / "wandb_export.csv"
    f.write_bytes(b"_step,gen_loss,disc_loss\n0,2.0,0.5\n\xff\xfe garbage\n1,1.5,0.4\n2,1.25,0.3\n")
    r = load_run(f)
    assert r.series("gen_loss").to_dict() == {0: 2.0, 1: 1.5, 2: 1.25}
    assert r.series("disc_loss").tolist() == [0.5, 0.4, 0.3]
    assert [w for w in r.warnings if "malformed" in w] == [
        f"{f}:3: malformed row skipped (3 fields expected, 1 found: '\ufffd\ufffd garbage')"
    ]


# ------------------------------------------------------------------ epoch / iter CSV


def test_epoch_iter_csv_with_restarts(tmp_path):
    # 100 iterations per epoch, printed every 25 (iter is 1-based within the epoch)
    rows = ["epoch,iter,G_loss,D_loss"]
    for e in (1, 2):
        for i in (25, 50, 75, 100):
            rows.append(f"{e},{i},{e + i / 100:.2f},0.5")
    rows.append("epoch,iter,G_loss,D_loss")  # restart: resumed at epoch 2, header written again
    rows += ["2,25,9.0,0.1", "2,50,9.5,0.1"]
    rows += ["2,75,9.75,0.1"]  # and a headerless continuation that goes on
    rows += ["1,25,7.0,0.2"]  # a fresh start without a header: back to epoch 1
    f = tmp_path / "train_log.csv"
    f.write_text("\n".join(rows) + "\n")
    assert detect_format(f) == "epoch-iter"
    r = load_run(f)
    assert r.format == "epoch-iter" and r.extra["iters_per_epoch"] == 100
    # steps (E-1)*100+I; the fresh start at step 25 replaces everything from 25 on
    assert r.steps.tolist() == [25] and r.series("G_loss").tolist() == [7.0]
    assert [s["placed"] for s in r.extra["sections"]] == [
        "continues",
        "restart: replaces earlier rows",
        "restart: replaces earlier rows",
    ]
    assert r.duplicates_replaced == 4 + 7
    f.write_text("\n".join(rows[:-1]) + "\n")
    r = load_run(f)
    assert r.steps.tolist() == [25, 50, 75, 100, 125, 150, 175]
    assert r.series("G_loss").tolist() == [1.25, 1.5, 1.75, 2.0, 9.0, 9.5, 9.75]
    assert r.scalars["epoch"].tolist() == [1, 1, 1, 1, 2, 2, 2]


def test_an_idx_column_that_restarts_every_epoch_is_the_iteration(tmp_path):
    # a 3D CycleGAN's loss.csv: `idx` 0..9 within each epoch, the epoch column last; read
    # as the epoch alone, 10 rows an epoch collapsed into 1 ("114 values replaced")
    rows = ["idx,D_loss,G_loss,epoch"]
    rows += [f"{i},{0.5 + 0.001 * (10 * e + i):.3f},5.8,{e}" for e in (0, 1) for i in range(10)]
    f = tmp_path / "loss.csv"
    f.write_text("\n".join(rows) + "\n")
    r = load_run(f)
    assert r.format == "epoch-iter" and r.steps.tolist() == list(range(20))
    assert r.series("D_loss").iloc[-1] == 0.519 and r.duplicates_replaced == 0
    # an idx that never goes back is already global
    g = tmp_path / "g" / "loss.csv"
    g.parent.mkdir()
    g.write_text(
        "idx,D_loss,G_loss,epoch\n" + "".join(f"{i},0.5,5.8,{i // 10}\n" for i in range(20))
    )
    assert load_run(g).steps.tolist() == list(range(20))


# ------------------------------------------------------------------ any table file


def test_any_file_name_bom_and_sniffed_delimiter(tmp_path):
    d = tmp_path / "exp7"
    d.mkdir()
    f = d / "losses.txt"
    f.write_bytes(
        "\ufeffstep;G_loss;D_loss\n0;1,5;0.5\n10;1.25;0.25\n".encode().replace(b"1,5", b"1.5")
    )
    assert detect_format(f) == "csv"
    r = load_run(f)
    assert (
        r.name == "exp7/losses"
        and r.metrics == ["G_loss", "D_loss"]
        and r.steps.tolist() == [0, 10]
    )
    assert r.series("G_loss").tolist() == [1.5, 1.25] and r.step_unit == "iteration"
    g = d / "m.tsv"
    g.write_text("step\tloss\n1\t0.5\n")
    assert load_run(g).series("loss").tolist() == [0.5]
    h = d / "h.json"
    h.write_text(json.dumps([{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0}]))
    assert load_run(h).series("loss").tolist() == [2.0, 1.0]


def test_a_table_between_spaces(tmp_path):
    # RGAN's experiments/traces/NAME.trace.txt: a header of names over rows of numbers, one
    # space between (np.savetxt's default); aligned columns have runs of spaces
    traces = tmp_path / "experiments" / "traces"
    traces.mkdir(parents=True)
    rows = [f"{e} {19.7 + e:.1f}  {0.09 / (e + 1):.4f} {7.8 + e} 0.7 NA NA" for e in range(5)]
    (traces / "test.trace.txt").write_text(
        "epoch time D_loss G_loss mmd2 pdf real_pdf\n" + "\n".join(rows) + "\n"
    )
    warnings: list[str] = []
    tab = _csvread.read_table(traces / "test.trace.txt", warnings)
    assert tab.sep == " " and tab.values["G_loss"].tolist() == [7.8, 8.8, 9.8, 10.8, 11.8]
    assert tab.text_columns == ["pdf", "real_pdf"]
    r = load_run(tmp_path)  # two folders down, the only table
    assert (r.format, r.step_unit, r.steps.tolist()) == ("keras", "epoch", [0, 1, 2, 3, 4])
    assert r.series("D_loss").tolist() == [0.09, 0.045, 0.03, 0.0225, 0.018]
    assert (
        r.warnings[0] == f"{tmp_path}: read experiments/traces/test.trace.txt, the only table found"
    )
    # words over words are no table
    (traces / "test.trace.txt").write_text(
        "epoch time loss\nstarting the run now\nmore words here\n"
    )
    with pytest.raises(GanAnalyzeError, match="nor names over rows of numbers, between spaces"):
        _csvread.read_table(traces / "test.trace.txt", [])


def test_no_delimiter_is_named(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("step G_loss\n0 1\n")
    with pytest.raises(
        GanAnalyzeError,
        match="could not tell the delimiter: the first line has no "
        "comma, tab, semicolon, pipe between fields",
    ):
        table.read_columns(f, [], [])
    res = CliRunner().invoke(main, ["info", str(f)])
    assert res.exit_code == 3 and "could not tell the delimiter" in res.output
    f.write_text("epoch_count,loss\n1,2\n")
    res = CliRunner().invoke(main, ["info", str(f)])
    assert res.exit_code == 3 and f"{f}: no numeric step column (looked for step," in res.output


def test_duplicate_columns_warned(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("step,G_loss,G_loss,D_loss\n0,1,2,3\n1,4,5,6\n")
    r = load_run(f)
    assert r.metrics == ["G_loss", "G_loss.1", "D_loss"] and r.series("G_loss.1").tolist() == [2, 5]
    assert f"{f}: duplicate column name(s) renamed: 'G_loss' -> 'G_loss.1'" in r.warnings


def test_huge_header_is_refused_fast(tmp_path):
    f = tmp_path / "wide.csv"
    n = 1_300_000
    f.write_text("step," + ",".join(f"c{i}" for i in range(n)) + "\n0," + "1," * (n - 1) + "1\n")
    t = time.process_time()  # CPU seconds of this process (~0.1 s): load does not count
    with pytest.raises(GanAnalyzeError, match=f"first line has more than {MAX_COLUMNS:,} fields"):
        load_run(f)
    assert time.process_time() - t < 2.0
    res = CliRunner().invoke(main, ["info", str(f)])
    assert res.exit_code == 3 and "Traceback" not in res.output


def test_restart_header_in_a_step_table(tmp_path):
    f = tmp_path / "log.csv"
    f.write_text("step,G_loss\n0,1.0\n1,2.0\nstep,G_loss\n1,3.0\n2,4.0\n")
    r = load_run(f)
    assert r.steps.tolist() == [0, 1, 2] and r.series("G_loss").tolist() == [1.0, 3.0, 4.0]
    assert any("header is repeated at line(s) 4" in w for w in r.warnings)


def test_big_table_reads_typed(tmp_path):
    n = 200_000
    f = tmp_path / "big.csv"
    v = np.round(np.linspace(0, 1, n), 6)
    with open(f, "w") as fh:
        fh.write("step,a,b\n")
        fh.write("\n".join(f"{i},{x},{1 - x}" for i, x in enumerate(v)))
    r = load_run(f)
    assert len(r.scalars) == n and r.counts == {"a": n, "b": n}
    assert np.allclose(r.series("a").to_numpy(), v)


def test_links_leading_out_of_the_run_are_not_read(tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_text("step,x\n0,1\n")
    d = tmp_path / "run"
    d.mkdir()
    (d / "a_link.csv").symlink_to(outside)
    (d / "train.csv").write_text("step,G_loss\n0,2.5\n")
    r = load_run(d)
    assert r.extra["table"] == str(d / "train.csv") and r.metrics == ["G_loss"]
    assert "a_link.csv: not read: it is a link that resolves outside the run folder" in r.warnings
    run = write_mlflow(tmp_path / "ml")
    (run / "metrics" / "leak").symlink_to(outside)
    r = load_run(run)
    assert "leak" not in r.metrics
    assert "metrics/leak: not read: it is a link that resolves outside the run folder" in r.warnings


def test_mlflow_step_past_64_bits_is_a_damaged_line(tmp_path):
    run = write_mlflow(tmp_path)
    g = run / "metrics" / "loss" / "G"
    g.write_text(g.read_text() + f"1700000005000 9.0 {2**70}\n")
    r = load_run(run)
    assert r.steps.tolist() == [0, 10] and r.series("loss/G").tolist() == [2.5, 2.0]
    assert f"{g}:3: step {2**70} does not fit 64 bits, line skipped" in r.warnings


def test_a_csv_row_longer_than_pyarrows_block_costs_only_its_cell(tmp_path):
    # one 2 MB cell failed the whole table: "straddling object straddles two block boundaries"
    f = tmp_path / "metrics.csv"
    rows = "".join(f"{i},{i}.5,1\n" for i in range(5))
    f.write_text("step,G_loss,D_loss\n" + rows + "5," + "x" * (2 << 20) + ",1\n6,6.5,1\n")
    r = load_run(f)
    assert r.steps.tolist() == list(range(7))
    assert r.series("G_loss").dropna().tolist() == [0.5, 1.5, 2.5, 3.5, 4.5, 6.5]
    assert r.warnings == [f"{f}:7: G_loss = {'x' * 30!r} is not a number, left out"]
