"""Sample grids saved as image files beside a text or table log (importers/samplefiles.py):
found, grouped by name, their number read as an epoch or a step, placed on the step axis,
and judged by the collapse rule like any other grid."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.utils import save_image

from gananalyze.analysis.rules import diagnose
from gananalyze.importers import samplefiles
from gananalyze.loader import load_run


def _grid(seed: int, collapsed: bool = False) -> torch.Tensor:
    x = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(seed))
    return x[:1].repeat(16, 1, 1, 1) if collapsed else x


def dcgan_run(d: Path, epochs: int = 6, collapse_from: int | None = None) -> Path:
    """The PyTorch DCGAN example's stdout (`[e/N][i/M] Loss_D: ...`), epochs from 0, and its
    `fake_samples_epoch_%03d.png` (save_image of 16 fixed-noise samples) beside
    `real_samples.png`."""
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = []
    for e in range(epochs):
        for i in range(0, 50, 10):
            dx, dgz = 0.5 + 0.05 * rng.random(), 0.45 + 0.05 * rng.random()
            lines.append(
                f"[{e}/{epochs}][{i}/50] Loss_D: {1.3 + 0.1 * rng.random():.4f} "
                f"Loss_G: {0.75 + 0.1 * rng.random():.4f} D(x): {dx:.4f} "
                f"D(G(z)): {dgz:.4f} / {dgz + 0.01:.4f}"
            )
    (d / "train.log").write_text("\n".join(lines) + "\n")
    for e in range(epochs):
        bad = collapse_from is not None and e >= collapse_from
        save_image(_grid(e, bad), d / f"fake_samples_epoch_{e:03d}.png", nrow=4)
    save_image(_grid(99), d / "real_samples.png", nrow=4)
    return d


def test_dcgan_example_grids_are_placed_at_the_end_of_their_epoch(tmp_path):
    run = load_run(dcgan_run(tmp_path / "run"))
    assert [g.step for g in run.samples] == [40, 90, 140, 190, 240, 290]
    assert {g.tag for g in run.samples} == {"fake_samples_epoch_#.png"}
    assert [g.path.name for g in run.samples][0] == "fake_samples_epoch_000.png"
    assert run.extra["source_notes"][-1] == (
        "6 sample grid(s) attached from run/fake_samples_epoch_#.png, numbered 0..5: the "
        "number is the epoch (by the name; epochs counted as the log's (from 0))"
    )
    assert all(g.nrow is None for g in run.samples)  # the diagnosis reads the padding


def test_a_collapse_in_the_grids_is_found_and_a_healthy_run_has_none(tmp_path):
    sick = diagnose(load_run(dcgan_run(tmp_path / "sick", collapse_from=3)))
    found = [f for f in sick.findings if f.rule == "mode_collapse"]
    assert found and found[0].severity == "error" and found[0].start_step == 190
    well = diagnose(load_run(dcgan_run(tmp_path / "well")))
    assert not [f for f in well.findings if f.rule == "mode_collapse"]


def test_pytorch_gan_images_numbered_by_batches_done_are_steps(tmp_path):
    d = tmp_path / "pg"
    (d / "images").mkdir(parents=True)
    lines = [
        f"[Epoch {e}/3] [Batch {b}/100] [D loss: 0.6{b % 7}] [G loss: 0.9{b % 5}]"
        for e in range(3)
        for b in range(0, 100, 20)
    ]
    (d / "train.log").write_text("\n".join(lines) + "\n")
    for s in (0, 80, 160, 240):
        save_image(_grid(s), d / "images" / f"{s}.png", nrow=4)
    run = load_run(d)
    assert [g.step for g in run.samples] == [0, 80, 160, 240]
    assert run.samples[0].tag == "images/#.png"
    assert run.extra["source_notes"][-1].endswith(
        "numbered 0..240: the number is the step (by their range)"
    )


def test_keras_images_counted_from_1_beside_a_csvlogger_counting_from_0(tmp_path):
    d = tmp_path / "k"
    d.mkdir()
    rows = "\n".join(f"{e},{0.6 + 0.01 * e:.3f},{1.1 - 0.01 * e:.3f}" for e in range(5))
    (d / "training.csv").write_text("epoch,d_loss,g_loss\n" + rows + "\n")
    for e in range(1, 6):
        save_image(_grid(e), d / f"image_at_epoch_{e:04d}.png", nrow=4)
    run = load_run(d)
    assert run.format == "keras"
    assert [g.step for g in run.samples] == [0, 1, 2, 3, 4]
    assert run.extra["source_notes"][-1] == (
        "5 sample grid(s) attached from k/image_at_epoch_#.png, numbered 1..5: the number is "
        "the epoch (by the name; epochs counted from 1 (the log's from 0): epoch N ends at "
        "the log's N-1)"
    )


def test_one_sample_a_file_is_tiled_into_one_grid_per_epoch(tmp_path):
    d = tmp_path / "kio"
    d.mkdir()
    rows = "\n".join(f"{e},{0.6:.3f},{1.1:.3f}" for e in range(4))
    (d / "log.csv").write_text("epoch,d_loss,g_loss\n" + rows + "\n")
    for e in range(4):
        for i, tile in enumerate(_grid(e)[:3]):
            save_image(tile, d / f"generated_img_{e:03d}_{i}.png")
    run = load_run(d)
    assert [g.step for g in run.samples] == [0, 1, 2, 3]
    g = run.samples[0]
    assert (g.tag, g.nrow, g.ncol, g.tile, g.padding, g.count) == (
        "generated_img_#_*.png",
        2,
        2,
        (8, 8),
        2,
        3,
    )
    assert g.tiles().shape == (3, 8, 8, 3)
    assert "(one sample a file, tiled by number)" in run.extra["source_notes"][-1]


def test_numbers_that_fit_no_range_are_not_attached_with_one_warning(tmp_path):
    d = dcgan_run(tmp_path / "odd", epochs=4)
    for f in d.glob("fake_samples_*.png"):
        f.unlink()
    for n in (5000, 6000, 7000):
        save_image(_grid(n), d / f"sample_{n}.png", nrow=4)
    run = load_run(d)
    assert run.samples == []
    assert (
        f"{d}: 3 images named sample_#.png not attached as samples: numbers 5000..7000 are "
        "neither the log's epochs 0..3, steps 0..190" in run.warnings
    )


def test_links_out_of_the_run_are_not_followed(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for e in range(6, 9):
        save_image(_grid(e), outside / f"fake_samples_epoch_{e:03d}.png", nrow=4)
    d = dcgan_run(tmp_path / "run")
    os.symlink(outside / "fake_samples_epoch_006.png", d / "fake_samples_epoch_006.png")
    os.symlink(outside, d / "more")  # a folder that is a link: not entered
    run = load_run(d)
    assert [g.path.name for g in run.samples][-1] == "fake_samples_epoch_005.png"
    assert len(run.samples) == 6
    assert (
        "fake_samples_epoch_006.png: not read: it is a link that resolves outside the run folder"
        in run.warnings
    )


def test_a_folder_of_10001_files_is_looked_at_only_in_part(tmp_path):
    d = dcgan_run(tmp_path / "big")
    junk = d / "data"
    junk.mkdir()
    for i in range(10_001):
        (junk / f"x{i:05d}.bin").touch()
    run = load_run(d)
    assert len(run.samples) == 6  # the top level is looked at first
    assert (
        f"{d}: more than 10,000 files and folders; sample images were looked for among "
        "the first 10,000 only" in run.warnings
    )


def test_at_most_max_images_are_attached_evenly_spread(tmp_path, monkeypatch):
    monkeypatch.setattr(samplefiles, "MAX_IMAGES", 3)
    run = load_run(dcgan_run(tmp_path / "run"))
    assert [g.step for g in run.samples] == [40, 140, 290]
    assert (
        f"{tmp_path / 'run'}: 6 numbers of images named fake_samples_epoch_#.png; 3 left out, "
        "evenly spread (at most 3 images attached)" in run.warnings
    )


@pytest.mark.parametrize(
    "name, unit",
    [
        ("fake_samples_epoch_#.png", "epoch"),
        ("image_at_epoch_#.png", "epoch"),
        ("samples/ep#.png", "epoch"),
        ("samples/step_#.png", "step"),
        ("outputs/iter_#.jpg", "step"),
        ("images/batches_done_#.png", "step"),
        ("images/#.png", None),
        ("generated_img_#_*.png", None),
    ],
)
def test_the_words_of_a_pattern(name, unit):
    assert samplefiles._unit_by_words(name) == unit


def test_steps_far_beyond_the_log_are_not_attached(tmp_path):
    d = dcgan_run(tmp_path / "far", epochs=4)
    for f in d.glob("fake_samples_*.png"):
        f.unlink()
    for n in (1000, 2000, 3000):
        save_image(_grid(n), d / f"step_{n}.png", nrow=4)
    run = load_run(d)
    assert run.samples == []
    assert (
        f"{d}: 3 images named step_#.png not attached as samples: steps 1000..3000 reach far "
        "beyond the log's last step 190" in run.warnings
    )


def test_charts_of_the_run_are_not_samples(tmp_path):
    # loss curves saved each epoch (loss_plot_epoch_3.png) beside the log are the run's
    # charts: never attached as G's samples, beside which the real grids still are
    d = dcgan_run(tmp_path / "run")
    for e in range(6):
        save_image(_grid(50 + e), d / f"loss_plot_epoch_{e}.png", nrow=4)
        save_image(_grid(60 + e), d / f"D_hist_{e:03d}.png", nrow=4)
    run = load_run(d)
    assert {g.tag for g in run.samples} == {"fake_samples_epoch_#.png"}
    for p in d.glob("fake_samples_*.png"):
        p.unlink()
    assert load_run(d).samples == []


def _figure(seed: int, collapsed: bool = False, cells: int = 16) -> np.ndarray:
    """A 400x400 figure of 4x4 subplots on white, as the TensorFlow DCGAN tutorial's
    `plt.subplot(4, 4, i + 1); plt.imshow(...); plt.axis("off")` draws them: 8x8 samples
    drawn 64 pixels wide, 14 pixels apart, the figure's margins around them."""
    tiles = _grid(seed, collapsed)[:, 0].numpy()
    fig = np.full((400, 400, 3), 255, dtype=np.uint8)
    for k in range(cells):
        i, j = divmod(k, 4)
        big = np.kron((tiles[k] * 254).astype(np.uint8), np.ones((8, 8), dtype=np.uint8))
        fig[44 + 78 * i : 108 + 78 * i, 50 + 78 * j : 114 + 78 * j] = big[:, :, None]
    return fig


def test_a_figure_of_subplots_is_cut_into_its_subplots():
    from gananalyze.importers.figuregrid import figure_cells, subplot_cells
    from gananalyze.runio.imagegrid import infer_layout, make_grid

    fig = _figure(3)
    cells = figure_cells(fig)
    assert len(cells) == 16 and cells[0].shape == (64, 64, 3)
    assert (cells[5] == fig[122:186, 128:192]).all()
    assert len(subplot_cells(_figure(3, cells=14))) == 14  # empty trailing subplots left out
    titled = _figure(3)
    titled[20:32, 100:300] = 0  # a suptitle across the gaps between the subplots' columns
    titled[50:100, 30:40] = 0  # and a tick label beside the first one, in its rows
    assert [c.shape for c in subplot_cells(titled)] == [(64, 64, 3)] * 16
    assert (subplot_cells(titled)[5] == cells[5]).all()
    # a make_grid grid is read by its padding, never as subplots
    tiled, _ = make_grid(_grid(3).numpy(), value_range=(0.0, 1.0))
    assert infer_layout(tiled)["count"] == 16 and figure_cells(tiled) is None


def test_the_tutorial_figure_is_no_2x2_grid_of_its_quarters(tmp_path):
    """matplotlib's figure, white between subplots, passed for a make_grid grid of 2x2 tiles
    of 197 pixels (padding 2): the collapse rule compared quarters of the figure, and a G
    drawing one digit 16 times was "no problems found"."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gananalyze.runio.imagegrid import infer_layout

    def save(x, path):
        fig = plt.figure(figsize=(4, 4))
        for i in range(16):
            plt.subplot(4, 4, i + 1)
            plt.imshow(x[i, 0].numpy() * 255, cmap="gray", vmin=0, vmax=255)
            plt.axis("off")
        plt.savefig(path)
        plt.close(fig)

    for name, collapse_from in (("well", None), ("sick", 4)):
        d = tmp_path / name
        d.mkdir(parents=True)
        rows = "\n".join(f"{e},{0.6 + 0.01 * e:.3f},{1.1 - 0.01 * e:.3f}" for e in range(8))
        (d / "training.log").write_text("epoch,d_loss,g_loss\n" + rows + "\n")
        for e in range(1, 9):
            bad = collapse_from is not None and e > collapse_from
            save(_grid(e, bad), d / f"image_at_epoch_{e:04d}.png")
    from PIL import Image

    first = np.asarray(Image.open(tmp_path / "sick" / "image_at_epoch_0001.png").convert("RGB"))
    assert infer_layout(first) == {"nrow": 2, "ncol": 2, "tile": [197, 197], "padding": 2,
                                   "count": 4}  # fmt: skip
    sick = load_run(tmp_path / "sick")
    assert sick.extra["source_notes"][-1] == (
        "8 sample grid(s) attached from sick/image_at_epoch_#.png (figures of subplots: each "
        "subplot cut out and tiled), numbered 1..8: the number is the epoch (by the name; "
        "epochs counted from 1 (the log's from 0): epoch N ends at the log's N-1)"
    )
    g = sick.samples[0]
    assert (g.nrow, g.ncol, g.tile, g.padding, g.count) == (4, 4, (67, 67), 2, 16)
    found = [f for f in diagnose(sick).findings if f.rule == "mode_collapse"]
    assert found and found[0].severity == "error" and found[0].start_step == 4
    well = diagnose(load_run(tmp_path / "well"))
    assert not [f for f in well.findings if f.rule == "mode_collapse"]
