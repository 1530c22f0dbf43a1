"""Importers: TensorBoard, StyleGAN2-ADA/3, CycleGAN/pix2pix, CSV/JSONL/Lightning."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import real_run

from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.importers import REGISTRY, cyclegan, stylegan, table, tensorboard
from gananalyze.loader import detect_format, load_run

# ---------------------------------------------------------------- helpers


def write_tb(logdir: Path, steps=range(20), image_step=5, hist_step=5, start_wall=None) -> Path:
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(logdir))
    for s in steps:
        w.add_scalar("Loss/G/loss", s * 0.5, s, walltime=start_wall + s if start_wall else None)
        w.add_scalar("D_x", 0.25, s, walltime=start_wall + s if start_wall else None)
    if image_step is not None:
        img = np.zeros((3, 4, 6), dtype=np.float32)
        img[0] = 1.0
        w.add_image("samples", img, image_step)
    if hist_step is not None:
        w.add_histogram("G/weight", np.linspace(-1, 1, 1001), hist_step)
    w.close()
    return next(logdir.glob("events.out.tfevents.*"))


def write_event_file(path: Path, points: list[tuple[int, str, float, float]]) -> Path:
    """An event file written with our vectorised CRC (checked against tensorboard below)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    out = bytearray()
    for step, tag, value, wall in points:
        ev = event_pb2.Event(
            wall_time=wall,
            step=step,
            summary=summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]
            ),
        )
        data = ev.SerializeToString()
        hdr = struct.pack("<Q", len(data))

        def crc(b):
            return int(
                tensorboard.masked_crc(tensorboard.crc32c_rows(np.frombuffer(b, np.uint8)[None]))[0]
            )

        out += hdr + struct.pack("<I", crc(hdr)) + data + struct.pack("<I", crc(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


# ---------------------------------------------------------------- registry


def test_registry_order():
    assert list(REGISTRY)[:5] == [
        "stylegan",
        "stylegan-log",
        "cyclegan",
        "lightning",
        "tensorboard",
    ]
    assert list(REGISTRY)[-1] == "csv"  # the full order: test_importers_formats.py


def test_unrecognised_directory_lists_formats(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(
        GanAnalyzeError,
        match="tried: native, stylegan, stylegan-log, cyclegan, lightning, tensorboard, chainer, "
        "edgeconnect, mlflow, wandb, ctgan, epoch-iter, keras, coqui-log, vits-log, textlog, "
        "split-files, csv-rows, csv",
    ):
        load_run(tmp_path)


# ---------------------------------------------------------------- TensorBoard


def test_crc32c_matches_tensorboard():
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    for b in (b"", b"a", b"123456789", bytes(range(200))):
        ours = int(
            tensorboard.masked_crc(
                tensorboard.crc32c_rows(np.frombuffer(b, np.uint8).reshape(1, -1))
            )[0]
        )
        assert ours == masked_crc32c(b)


def test_tensorboard_scalars_image_histogram(tmp_path):
    write_tb(tmp_path / "tb")
    assert detect_format(tmp_path / "tb") == "tensorboard"
    r = load_run(tmp_path / "tb")
    assert r.format == "tensorboard"
    assert r.steps.tolist() == list(range(20))
    assert r.series("G_loss").to_numpy().tolist() == [s * 0.5 for s in range(20)]
    assert r.series("D_x").to_numpy().tolist() == [0.25] * 20
    assert r.counts == {"Loss/G/loss": 20, "D_x": 20}
    assert len(r.samples) == 1 and r.samples[0].step == 5 and r.samples[0].tag == "samples"
    tiles = r.samples[0].tiles()
    assert (
        tiles.shape == (1, 4, 6, 3)
        and tiles[0, :, :, 0].min() == 1.0
        and tiles[0, :, :, 1].max() == 0.0
    )
    h = r.histograms
    assert (
        len(h) == 1
        and h.loc[0, "step"] == 5
        and h.loc[0, "model"] == "G"
        and h.loc[0, "param"] == "weight"
    )
    assert h.loc[0, "numel"] == 1001
    assert h.loc[0, "q00000"] == pytest.approx(-1) and h.loc[0, "q10000"] == pytest.approx(1)
    assert h.loc[0, "q05000"] == pytest.approx(0, abs=0.05) and h.loc[0, "q08413"] == pytest.approx(
        0.68, abs=0.05
    )
    assert h.loc[0, "mean"] == pytest.approx(0, abs=1e-9) and h.loc[0, "std"] == pytest.approx(
        np.linspace(-1, 1, 1001).std(), rel=1e-6
    )
    assert r.warnings == [] and r.flags == []


def test_tensorboard_new_style_and_step_zero_and_negative(tmp_path):
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path))
    w.add_scalar("a", 3.0, 0)
    w.add_scalar("a", 4.0, 2**40)
    w.add_scalar("b", 1.5, 7, new_style=True)  # tensor-based scalar (protobuf path)
    w.add_scalar("c", -2.0, -3)
    w.close()
    del torch
    r = tensorboard.load(tmp_path)
    assert r.steps.tolist() == [-3, 0, 7, 2**40]
    assert r.series("a").to_dict() == {0: 3.0, 2**40: 4.0}
    assert r.series("b").to_dict() == {7: 1.5}
    assert r.series("c").to_dict() == {-3: -2.0}


def test_tensorboard_matches_tensorboards_own_reader(tmp_path):
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    f = write_tb(tmp_path, steps=range(0, 300, 3), image_step=None, hist_step=None)
    want = {}
    for raw in RawEventFileLoader(str(f)).Load():
        ev = event_pb2.Event.FromString(raw)
        for v in ev.summary.value:
            want[(v.tag, ev.step)] = (
                v.simple_value if v.WhichOneof("value") == "simple_value" else None
            )
    r = tensorboard.load(tmp_path)
    got = {(m, int(s)): float(v) for m in r.metrics for s, v in r.series(m).items()}
    assert got == pytest.approx(want)


def test_tensorboard_truncated_file_keeps_records_before_damage(tmp_path):
    f = write_tb(tmp_path / "tb", image_step=None, hist_step=None)
    data = f.read_bytes()
    f.write_bytes(data[:-7])  # cut the last record mid-way
    r = tensorboard.load(tmp_path / "tb")
    assert r.counts["Loss/G/loss"] == 20 and r.counts["D_x"] == 19  # the last D_x record is lost
    (w,) = [w for w in r.warnings if "truncated" in w]
    assert f.name in w and "byte offset" in w


def test_tensorboard_corrupt_record_and_garbage(tmp_path):
    f = write_event_file(
        tmp_path / "events.out.tfevents.1.host",
        [(s, "loss", float(s), 100.0 + s) for s in range(1, 11)],
    )
    data = bytearray(f.read_bytes())
    rec = len(data) // 10  # all records have the same length here
    data[5 * rec + 20] ^= 0xFF  # flip a byte in the 6th record's payload
    f.write_bytes(bytes(data))
    r = tensorboard.load(tmp_path)
    assert r.series("loss").index.tolist() == [1, 2, 3, 4, 5, 7, 8, 9, 10]
    assert any("checksum" in w and "record #5" in w for w in r.warnings)
    f.write_bytes(bytes(data[: 3 * rec]) + b"\x01\x02garbage")
    r = tensorboard.load(tmp_path)
    assert r.series("loss").index.tolist() == [1, 2, 3]
    assert any(f"byte offset {3 * rec}" in w for w in r.warnings)


def test_tensorboard_resumed_run_later_write_wins(tmp_path):
    write_event_file(
        tmp_path / "events.out.tfevents.100.host", [(s, "loss", 1.0, 100.0 + s) for s in range(10)]
    )
    write_event_file(
        tmp_path / "events.out.tfevents.200.host",
        [(s, "loss", 2.0, 200.0 + s) for s in range(5, 15)],
    )
    write_event_file(tmp_path / "events.out.tfevents.300.host", [])  # empty file: no warning
    r = tensorboard.load(tmp_path)
    s = r.series("loss")
    assert s.index.tolist() == list(range(15))
    assert s.loc[:4].tolist() == [1.0] * 5 and s.loc[5:].tolist() == [2.0] * 10
    assert r.duplicates_replaced == 5
    assert r.extra["empty_event_files"] == ["events.out.tfevents.300.host"]
    assert [w for w in r.warnings if "empty" in w] == []


def test_tensorboard_subruns_with_same_tag_kept_apart(tmp_path):
    write_event_file(
        tmp_path / "old" / "events.out.tfevents.1.h",
        [(s, "loss", 1.0, 100.0 + s) for s in range(3)],
    )
    write_event_file(
        tmp_path / "new" / "events.out.tfevents.2.h",
        [(s, "loss", 2.0, 200.0 + s) for s in range(3)],
    )
    write_event_file(
        tmp_path / "new" / "events.out.tfevents.3.h",
        [(s, "only_new", 5.0, 300.0 + s) for s in range(3)],
    )
    r = tensorboard.load(tmp_path)
    assert r.metrics == ["loss", "only_new", "old/loss"]
    assert r.series("loss").tolist() == [2.0] * 3 and r.series("old/loss").tolist() == [1.0] * 3
    assert any("old" in w and "prefixed" in w for w in r.warnings)


def test_tensorboard_real_esrgan():
    p = real_run("realesrgan-sobel-anime-tb")
    r = load_run(p)
    assert r.format == "tensorboard"
    main_tags = [
        "losses/l_g_pix",
        "losses/l_g_gan",
        "losses/l_d_real",
        "losses/l_d_fake",
        "out_d_real",
        "out_d_fake",
    ]
    for t in main_tags:
        assert r.counts[t] == 204
    arch = [m for m in r.metrics if "_archived_" in m]
    assert len(arch) == 9 and all(r.counts[m] == 106 for m in arch)
    assert r.duplicates_replaced == 2  # steps 5100 and 10100 re-run after the resumes
    a = next(m for m in arch if m.endswith("losses/l_d_real"))
    assert r.series(a).loc[5100] == pytest.approx(0.5298, abs=1e-4) and r.series(a).loc[
        10100
    ] == pytest.approx(0.5716, abs=1e-4)
    s = r.series("losses/l_d_real")
    assert s.iloc[0] == pytest.approx(0.686, abs=1e-3) and s.index[-1] == 80100
    assert len(r.extra["empty_event_files"]) == 5
    assert r.flags == []


# ---------------------------------------------------------------- StyleGAN


def write_stylegan(d: Path, ticks: int = 5, garbage_line: bool = False) -> Path:
    d.mkdir(parents=True)
    lines = []
    for t in range(ticks):
        lines.append(
            json.dumps(
                {
                    "Loss/G/loss": {"num": 8, "mean": 1.0 + t, "std": 0.5},
                    "Loss/D/loss": {"num": 8, "mean": 0.5, "std": 0.0},
                    "Progress/tick": {"num": 1, "mean": float(t), "std": 0.0},
                    "Progress/kimg": {"num": 1, "mean": 4.0 * t + 0.008, "std": 0.0},
                    "timestamp": 1000.0 + 60 * t,
                }
            )
        )
        if garbage_line and t == 2:
            lines.append('{"Loss/G/loss": {"num": 8, "mea')
    (d / "stats.jsonl").write_text("\n".join(lines) + "\n")
    (d / "metric-fid50k_full.jsonl").write_text(
        "\n".join(
            json.dumps(
                {
                    "results": {"fid50k_full": f},
                    "metric": "fid50k_full",
                    "snapshot_pkl": f"network-snapshot-{k:06d}.pkl",
                    "timestamp": 1.0,
                }
            )
            for k, f in ((0, 400.0), (8, 50.0))
        )
        + "\n"
    )
    (d / "training_options.json").write_text(json.dumps({"batch_size": 8, "kimg_per_tick": 4}))
    (d / "network-snapshot-000008.pkl").write_bytes(b"\x80\x04 not a real pickle")
    (d / "events.out.tfevents.1.host").write_bytes(b"")
    return d


def test_stylegan(tmp_path):
    d = write_stylegan(tmp_path / "sg")
    assert detect_format(d) == "stylegan"  # before tensorboard: the dir also holds an event file
    r = load_run(d)
    assert r.format == "stylegan" and r.loss == "bce" and r.config["batch_size"] == 8
    assert r.steps.tolist() == [0, 1, 2, 3, 4]
    assert r.series("G_loss").tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert r.series("Loss/G/loss/std").tolist() == [0.5] * 5
    assert "Loss/D/loss/std" not in r.metrics  # all-zero std is not a column
    assert r.scalars["wall_time"].tolist() == [1000.0 + 60 * t for t in range(5)]
    assert r.extra["kimg"].round(3).tolist() == [0.008, 4.008, 8.008, 12.008, 16.008]
    sm = r.sample_metrics
    assert (
        sm["step"].tolist() == [0, 2]
        and sm["fid"].tolist() == [400.0, 50.0]
        and sm["kimg"].tolist() == [0.0, 8.0]
    )
    (ck,) = r.checkpoints
    assert ck.kind == "pickle" and ck.step == 2 and ck.meta["kimg"] == 8


def test_stylegan_garbage_line(tmp_path):
    d = write_stylegan(tmp_path / "sg", garbage_line=True)
    r = stylegan.load(d)
    assert r.steps.tolist() == [0, 1, 2, 3, 4]
    assert any(w.startswith(f"{d / 'stats.jsonl'}:4:") for w in r.warnings)


def test_stylegan_real_run():
    p = real_run("stylegan2-ada-phytoplankton")
    r = load_run(p)
    assert r.format == "stylegan" and r.loss == "bce"
    assert len(r.scalars) == 751 and r.steps.tolist() == list(range(751))
    fid = r.sample_metrics.set_index("step")["fid"]
    assert fid.iloc[0] == pytest.approx(418.04, abs=0.01) and fid.index[0] == 0
    assert fid.loc[200] == pytest.approx(41.28, abs=0.01)  # snapshot 800 kimg = tick 200
    assert fid.iloc[-1] < 45 and fid.index[-1] == 750
    assert r.warnings == [] and r.flags == []


# ---------------------------------------------------------------- CycleGAN / pix2pix


def _line(e, i, ga, extra=""):
    return (
        f"(epoch: {e}, iters: {i}, time: 0.100, data: 0.010) "
        f"D_A: 0.250 G_A: {ga:.3f} cycle_A: 1.000 {extra}\n"
    )


def write_loss_log(d: Path, cut: bool = False, opts: str | None = None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    text = "================ Training Loss (Mon Jan  1 00:00:00 2024) ================\n"
    # 250 images per epoch, print every 100 images:
    # epoch 1 at 100, 200; epoch 2 at 50, 150, 250; epoch 3 at 100, 200
    for e, i in ((1, 100), (1, 200), (2, 50), (2, 150), (2, 250), (3, 100), (3, 200)):
        text += _line(e, i, 1.0)
    text += "================ Validation Loss (Mon Jan  1 01:00:00 2024) ================\n"
    text += _line(3, 100, 9.0)
    text += "================ Training Loss (Tue Jan  2 00:00:00 2024) ================\n"
    for e, i in ((3, 100), (3, 200), (4, 50)):  # resumed from the end of epoch 2: epoch 3 is redone
        text += _line(e, i, 2.0)
    if cut:
        text += "(epoch: 4, iters: 150, time: 0.100, data: 0.010) D_A: 0.250 G_A: 2.000 cycl\n"
        text += "(epoch: 4, it\n"
    (d / "loss_log.txt").write_text(text)
    if opts is not None:
        (d / "train_opt.txt").write_text(opts)
    return d


def test_cyclegan_restart_resolution(tmp_path):
    write_loss_log(
        tmp_path / "checkpoints" / "exp",
        opts=(
            "----------------- Options ---------------\n"
            "               gan_mode: lsgan                         \t[default: vanilla]\n"
            "                     name: exp\n"
            "             print_freq: 100\n"
            "----------------- End -------------------\n"
        ),
    )
    assert detect_format(tmp_path) == "cyclegan"
    r = load_run(tmp_path)
    assert (
        r.format == "cyclegan"
        and r.loss == "lsgan"
        and r.name == "exp"
        and r.config["print_freq"] == 100
    )
    assert r.extra["images_per_epoch"] == 250
    assert r.steps.tolist() == [100, 200, 300, 400, 500, 600, 700, 800]
    assert r.series("G_A").tolist() == [1.0] * 5 + [2.0] * 3  # epoch 3 from the later section
    assert r.scalars["epoch"].tolist() == [1, 1, 2, 2, 2, 3, 3, 4]
    assert r.duplicates_replaced == 2
    assert 9.0 not in r.series("G_A").tolist()  # validation lines are not training points
    assert any("Validation Loss" in w and "1 line" in w for w in r.warnings)
    assert r.series("iter_time").tolist() == [0.1] * 8


def test_cyclegan_cut_lines(tmp_path):
    d = write_loss_log(tmp_path / "run", cut=True)
    r = cyclegan.load(d)
    log = d / "loss_log.txt"
    assert (
        r.steps.tolist()[-1] == 900
        and r.series("G_A").loc[900] == 2.0
        and np.isnan(r.series("cycle_A", dropna=False).loc[900])
    )
    assert any(w.startswith(f"{log}:15:") and "readable values were used" in w for w in r.warnings)
    assert any(w.startswith(f"{log}:16:") and "skipped" in w for w in r.warnings)
    assert r.loss is None


def test_cyclegan_distributed_lines_with_a_rank_tag_and_commas(tmp_path):
    # the trainer's distributed version: `[Rank 0] (epoch: ...) , D_A: 0.306, G_A: 0.446`,
    # a blank line after each (a real log of this form was "94 unreadable lines")
    d = tmp_path / "maps"
    d.mkdir()
    text = "================ Training Loss (Tue Mar 10 23:43:13 2026) ================\n" + "".join(
        f"[Rank 0] (epoch: {e}, iters: {i}, time: 0.109, data: 0.097) , "
        f"D_A: {0.3 - 0.01 * i / 100:.3f}, G_A: 0.446, cycle_A: 2.065, D_B: 0.338, G_B: 0.404, "
        "cycle_B: 0.661\n\n"
        for e in (1, 2)
        for i in (100, 200, 300)
    )
    (d / "loss_log.txt").write_text(text)
    assert detect_format(d) == "cyclegan"
    r = load_run(d)
    assert list(r.scalars.columns[-6:]) == ["D_A", "G_A", "cycle_A", "D_B", "G_B", "cycle_B"]
    assert len(r.scalars) == 6 and not r.damaged
    assert r.series("D_A").tolist() == [0.29, 0.28, 0.27, 0.29, 0.28, 0.27]


def test_deblurgan_opt_txt_is_read_as_the_options(tmp_path):
    # DeblurGAN writes train_opt.txt's lines to opt.txt; its gan_type names the loss, and a
    # short log whose D losses are all negative is a critic's, not a BCE D that wins
    d = tmp_path / "deblur"
    d.mkdir()
    (d / "opt.txt").write_text(
        "------------ Options -------------\ngan_type: wgan-gp\nlr: 0.0001\n"
        "-------------- End ----------------\n"
    )
    (d / "loss_log.txt").write_text(
        "================ Training Loss (Sun Aug 19 08:57:32 2018) ================\n"
        + "".join(
            f"(epoch: 1, iters: {i * 100}, time: 0.5) G_GAN: {9 + i:.3f} G_L1: 80.0 "
            f"D_real+fake: {-12 - i:.3f}\n"
            for i in range(1, 9)
        )
    )
    r = load_run(d)
    assert r.config["gan_type"] == "wgan-gp" and r.config["lr"] == 0.0001
    from gananalyze.analysis.rules import diagnose
    from gananalyze.analysis.rules.conventions import loss_convention

    assert loss_convention(r).loss == "wasserstein"
    assert "d_overpowering" not in {f.rule for f in diagnose(r).findings}
    (d / "opt.txt").unlink()  # without it, 8 negative D losses still say a critic
    assert loss_convention(load_run(d)).loss == "wasserstein"


def test_cyclegan_continue_train_epoch_counter_reset(tmp_path):
    d = tmp_path / "p2p"
    d.mkdir()
    text = "===== Training Loss (a) =====\n" + "".join(
        _line(e, i, 1.0) for e, i in ((1, 100), (1, 200), (2, 100))
    )
    text += "===== Training Loss (b) =====\n" + "".join(
        _line(e, i, 2.0) for e, i in ((1, 100), (1, 200))
    )
    (d / "loss_log.txt").write_text(text)
    (d / "train_opt.txt").write_text(
        "  continue_train: True \t[default: False]\n  epoch_count: 1\n  gan_mode: vanilla\n"
    )
    r = cyclegan.load(d)
    assert r.loss == "bce" and r.duplicates_replaced == 0
    assert r.series("G_A").tolist() == [1.0, 1.0, 1.0, 2.0, 2.0]
    assert (
        r.steps.is_monotonic_increasing
        if hasattr(r.steps, "is_monotonic_increasing")
        else np.all(np.diff(r.steps) > 0)
    )
    # without continue_train the epoch-1 restart is a fresh start that replaces the
    # abandoned attempt
    (d / "train_opt.txt").write_text("  continue_train: False\n")
    r = cyclegan.load(d)
    assert r.series("G_A").tolist() == [2.0, 2.0] and r.duplicates_replaced == 3


def test_cyclegan_real_logs():
    r = load_run(real_run("cyclegan-horse2zebra"))
    assert r.format == "cyclegan" and len(r.scalars) == 801 and r.duplicates_replaced == 14
    assert np.all(np.diff(r.steps) > 0) and r.extra["images_per_epoch"] == 1336
    assert r.counts["D_A"] == 801 and r.scalars["epoch"].max() == 60
    r = load_run(real_run("pix2pix-custom-restart"))
    assert len(r.scalars) == 1025 and r.duplicates_replaced == 0 and np.all(np.diff(r.steps) > 0)
    assert r.extra["images_per_epoch"] == 469 and r.scalars["epoch"].iloc[-1] == 139 + 81
    r = load_run(real_run("pix2pix-ctmri-modified-log"))
    assert len(r.scalars) == 2980 and r.duplicates_replaced == 1 and np.all(np.diff(r.steps) > 0)
    assert r.scalars["epoch"].iloc[-1] == 200 and r.loss == "bce"
    assert any("412 line(s) in 'Validation Loss'" in w for w in r.warnings)
    assert len(r.extra["test_results"]) == 6 and len(r.extra["model_saved"]) == 8
    assert r.series("G_GAN").iloc[0] == pytest.approx(3.237) and r.series("G_GAN").iloc[
        -1
    ] == pytest.approx(6.384)


# ---------------------------------------------------------------- tables


def test_lightning_metrics_csv(tmp_path):
    v = tmp_path / "lightning_logs" / "version_1"
    v.mkdir(parents=True)
    (tmp_path / "lightning_logs" / "version_0").mkdir()
    (tmp_path / "lightning_logs" / "version_0" / "metrics.csv").write_text(
        "epoch,step,g_loss\n0,0,9\n"
    )
    (v / "metrics.csv").write_text(
        "d_loss,epoch,g_loss,step,val_fid\n0.5,0,,0,\n,0,1.5,0,\n0.4,0,,49,\n,0,1.25,49,\n,0,,49,80.0\n0.3,1,,99,\n1,2,3,4,5,6,7\n"
    )
    (v / "hparams.yaml").write_text("lr: 0.0002\ngan_mode: hinge\n")
    assert detect_format(tmp_path) == "csv"
    r = load_run(tmp_path)
    assert r.format == "csv" and r.loss == "hinge" and r.config["lr"] == 0.0002
    assert r.steps.tolist() == [0, 49, 99]
    assert r.series("D_loss").tolist() == [0.5, 0.4, 0.3] and r.series("G_loss").tolist() == [
        1.5,
        1.25,
    ]
    assert r.series("val_fid").to_dict() == {49: 80.0}
    assert r.scalars["epoch"].tolist() == [0, 0, 1]
    assert r.counts == {"d_loss": 3, "g_loss": 2, "val_fid": 1}
    assert any("version_0" in w for w in r.warnings)
    assert any(w.startswith(f"{v / 'metrics.csv'}:8:") for w in r.warnings)


def test_a_table_one_folder_down_is_read_with_a_note(tmp_path):
    # SRGAN writes statistics/srf_4_train_results.csv inside the repository folder
    (tmp_path / "statistics").mkdir()
    (tmp_path / "statistics" / "srf_4_train_results.csv").write_text(
        "Epoch,Loss_D,Loss_G,Score_D,Score_G\n1,0.9,0.015,0.67,0.57\n2,1.0,0.010,1.0,1.0\n"
    )
    (tmp_path / "README.md").write_text("SRGAN\n")
    r = load_run(tmp_path)
    assert r.steps.tolist() == [1, 2]
    assert r.column("D_G_z_before") == "Score_G"
    assert f"{tmp_path}: read statistics/srf_4_train_results.csv, the only table found" in (
        r.warnings
    )
    # named after the folder pointed at (every SRGAN run was "statistics/srf_4_train_results",
    # so `compare` could not tell them apart); pointed at the file, after its own folder
    assert r.name == f"{tmp_path.name}/srf_4_train_results"
    assert load_run(tmp_path / "statistics" / "srf_4_train_results.csv").name == (
        "statistics/srf_4_train_results"
    )
    # two tables one folder down: named, never guessed
    (tmp_path / "statistics" / "srf_2_train_results.csv").write_text("Epoch,Loss_D\n1,0.5\n")
    with pytest.raises(GanAnalyzeError) as e:
        load_run(tmp_path)
    assert str(e.value) == (
        f"{tmp_path}: several tables (statistics/srf_2_train_results.csv, "
        "statistics/srf_4_train_results.csv); point gananalyze at one file"
    )
    # a table at the top wins over one below
    (tmp_path / "metrics.csv").write_text("step,g_loss\n0,1.0\n")
    assert load_run(tmp_path).steps.tolist() == [0]


def test_jsonl_table_with_garbage_line(tmp_path):
    f = tmp_path / "log.jsonl"
    f.write_text(
        '{"iteration": 1, "loss": {"G": 1.0, "D": 2.0}}\nnot json at all\n'
        '{"iteration": 2, "loss": {"G": 1.5, "D": 2.5}}\n{"iteration": 3, "loss": {"G": NaN'
    )
    r = table.load(f)
    assert r.steps.tolist() == [1, 2] and r.series("loss/G").tolist() == [1.0, 1.5]
    assert any(w.startswith(f"{f}:2:") for w in r.warnings) and any(
        w.startswith(f"{f}:4:") for w in r.warnings
    )


def test_csv_implausible_values_flagged(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("step,G_loss,D_x,fid\n0,1.0,0.5,30\n1,nan,1.5,-2\n2,inf,0.5,20000\n")
    r = load_run(f)
    got = {(fl.metric, fl.step, fl.reason.split()[0]) for fl in r.flags}
    assert ("G_loss", 1, "loss") in got and ("G_loss", 2, "loss") in got
    assert ("D_x", 1, "a") in got and ("fid", 1, "FID") in got and ("fid", 2, "FID") in got
    assert all(fl.file == str(f) for fl in r.flags) and len(r.flags) == 5


# ---------------------------------------------------------------- CLI


def test_cli_info_says_the_format(tmp_path):
    write_tb(tmp_path / "tb", image_step=None, hist_step=None)
    write_stylegan(tmp_path / "sg")
    write_loss_log(tmp_path / "cg")
    (tmp_path / "t.csv").write_text("step,loss\n1,0.5\n")
    runner = CliRunner()
    for path, fmt in (
        ("tb", "tensorboard"),
        ("sg", "stylegan"),
        ("cg", "cyclegan"),
        ("t.csv", "csv"),
    ):
        res = runner.invoke(main, ["info", str(tmp_path / path)])
        assert res.exit_code == 0, res.output
        assert f"format:      {fmt} (detected)" in res.output
    res = runner.invoke(main, ["info", str(tmp_path / "sg"), "--format", "stylegan"])
    assert res.exit_code == 0 and "format:      stylegan (forced with --format)" in res.output
    res = runner.invoke(main, ["info", str(tmp_path / "sg"), "--format", "cyclegan"])
    assert res.exit_code == 3 and "Error:" in res.output and "Traceback" not in res.output


def test_cli_import_then_info(tmp_path):
    write_stylegan(tmp_path / "sg")
    runner = CliRunner()
    res = runner.invoke(main, ["import", str(tmp_path / "sg"), str(tmp_path / "native")])
    assert res.exit_code == 0, res.output
    assert "5 steps" in res.output and "1 pickled checkpoint" in res.output
    r = load_run(tmp_path / "native")
    assert r.format == "native" and r.series("G_loss").tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert r.sample_metrics["fid"].tolist() == [400.0, 50.0]
    res = runner.invoke(main, ["import", str(tmp_path / "sg"), str(tmp_path / "native")])
    assert res.exit_code == 3 and "not empty" in res.output
    res = runner.invoke(main, ["info", str(tmp_path / "native")])
    assert "format:      native" in res.output


def test_a_table_with_only_its_header_is_one_clear_line(tmp_path):
    # a trainer that crashed before its first log: KeyError: None before
    f = tmp_path / "metrics.csv"
    f.write_text("step,G_loss,D_loss\n")
    with pytest.raises(GanAnalyzeError) as e:
        load_run(tmp_path)
    assert str(e.value) == (
        f"{f}: no row holds a number in its step column 'step' (no rows below the header)"
    )


def test_a_table_step_past_64_bits_is_skipped_and_counted(tmp_path):
    # 1e23 and inf became -2**63: the first step of the run
    f = tmp_path / "metrics.csv"
    f.write_text("step,G_loss,D_loss\n0,1,2\n1e23,3,4\ninf,5,6\n2,7,8\n")
    r = load_run(f)
    assert r.steps.tolist() == [0, 2] and r.series("G_loss").tolist() == [1.0, 7.0]
    assert f"{f}: 2 row(s) with a step that does not fit 64 bits skipped" in r.warnings
