"""TensorBoard habits of SummaryWriter users: add_scalars folders, a trainer restarted in the
same folder, add_scalar without a step, a runs/ folder of several runs, add_figure grids."""

from __future__ import annotations

import numpy as np
import pytest

from gananalyze.analysis.runset import _expand
from gananalyze.loader import load_run

torch = pytest.importorskip("torch")
tb = pytest.importorskip("torch.utils.tensorboard")


def _writer(folder):
    folder.mkdir(parents=True, exist_ok=True)
    return tb.SummaryWriter(str(folder))


def test_add_scalars_folders_are_columns_of_their_run(tmp_path):
    w = _writer(tmp_path / "r")
    for s in range(0, 50, 10):
        w.add_scalars("loss", {"D": 1.0 + s / 100, "G": 2.0 - s / 100}, s)
        w.add_scalars("D_out", {"real": 0.6, "fake": 0.4}, s)
    w.add_image("samples", np.zeros((3, 4, 4), dtype=np.float32), 40)
    w.close()
    r = load_run(tmp_path / "r")
    assert sorted(r.metrics) == ["D_out/fake", "D_out/real", "loss/D", "loss/G"]
    assert r.series("loss/D").round(2).tolist() == [1.0, 1.1, 1.2, 1.3, 1.4]
    assert r.series("loss/G").round(2).tolist() == [2.0, 1.9, 1.8, 1.7, 1.6]
    assert r.warnings == []  # no "same tag as a newer sub-run" collision
    assert r.extra["source_notes"][0] == (
        "add_scalars folders read as columns of their run: D_out_fake, D_out_real, loss_D, "
        "loss_G -> D_out/fake, D_out/real, loss/D, loss/G"
    )
    assert [g.step for g in r.samples] == [40]


def test_train_and_val_folders_logging_one_tag_stay_apart(tmp_path):
    for sub, v in (("train", 1.0), ("val", 2.0)):
        w = _writer(tmp_path / "r" / sub)
        for s in range(3):
            w.add_scalar("loss", v, s)
        w.close()
    r = load_run(tmp_path / "r")
    assert r.metrics == ["loss", "train/loss"]  # the newer folder keeps the plain name
    assert r.series("train/loss").tolist() == [1.0, 1.0, 1.0]


def _attempt(folder, steps, value, image_every=None):
    w = _writer(folder)
    for s in steps:
        w.add_scalar("Loss/D", value, s)
        if image_every and s % image_every == 0:
            w.add_image("samples", np.full((3, 4, 4), value / 10, dtype=np.float32), s)
    w.close()


def test_a_restart_from_step_0_drops_the_first_attempts_tail(tmp_path):
    run = tmp_path / "r"
    _attempt(run, range(0, 300, 10), 9.0, image_every=100)  # diverged, steps 0-290
    _attempt(run, range(0, 150, 10), 1.0, image_every=100)  # started again: steps 0-140
    r = load_run(run)
    assert r.steps.tolist() == list(range(0, 150, 10))
    assert set(r.series("Loss/D").tolist()) == {1.0}
    assert [g.step for g in r.samples] == [0, 100]
    assert r.warnings == [
        "restarted in the same folder (a later event file goes back to step 0): 30 earlier "
        "point(s) at or after that step dropped, as TensorBoard does (Loss/D)"
    ]


def test_a_resume_from_a_checkpoint_keeps_the_steps_before_it(tmp_path):
    run = tmp_path / "r"
    _attempt(run, range(0, 150, 10), 1.0)  # checkpoint at 100, crashed after 140
    _attempt(run, range(100, 300, 10), 2.0)  # resumed from the checkpoint
    r = load_run(run)
    d = r.series("Loss/D")
    assert r.steps.tolist() == list(range(0, 300, 10))
    assert d[r.steps < 100].tolist() == [1.0] * 10 and set(d[r.steps >= 100]) == {2.0}
    assert "goes back to step 100): 5 earlier point(s)" in r.warnings[0]


def test_a_step_counter_reset_inside_one_file_is_no_restart(tmp_path):
    w = _writer(tmp_path / "r")
    for epoch in range(2):
        for i in range(3):  # the batch index as the step
            w.add_scalar("loss", float(epoch), i)
    w.close()
    r = load_run(tmp_path / "r")
    assert r.series("loss").tolist() == [1.0, 1.0, 1.0]  # later write wins, as before
    assert not any("restarted" in x for x in r.warnings)


def test_scalars_logged_without_a_step_are_numbered_in_write_order(tmp_path):
    w = _writer(tmp_path / "r")
    for i in range(5):
        w.add_scalar("loss/D", 1.0 + i)
        w.add_scalar("loss/G", 2.0 + i)
    w.add_scalar("lr", 0.1, 7)  # one point: left where it was
    w.close()
    r = load_run(tmp_path / "r")
    assert r.series("loss/D").dropna().tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert r.series("loss/G").dropna().index.tolist() == [0, 1, 2, 3, 4]
    assert r.warnings == [
        "2 tag(s) logged every point at one step (no global_step given): points numbered "
        "by write order instead (loss/D, loss/G)"
    ]


def test_the_same_value_written_twice_at_a_step_replaces_nothing(tmp_path):
    w = _writer(tmp_path / "r")
    for s in range(3):
        w.add_scalar("epoch", 0.0, s)
        w.add_scalar("d_loss_step", 0.5, s)
    w.add_scalar("epoch", 0.0, 2)  # Lightning logs `epoch` again with the epoch-end metrics
    w.add_scalar("d_loss_epoch", 0.5, 2)
    w.close()
    assert load_run(tmp_path / "r").warnings == []


def test_a_runs_folder_of_summarywriter_runs(tmp_path):
    runs = tmp_path / "runs"
    for name, v in (("Dec05_21-00-00_host", 1.0), ("Dec05_21-05-00_hostlr0.1", 2.0)):
        w = _writer(runs / name)
        for s in range(3):
            w.add_scalar("Loss/D", v, s)
        w.close()
    r = load_run(runs)
    assert r.name == "Dec05_21-05-00_hostlr0.1" and set(r.series("Loss/D")) == {2.0}
    assert r.warnings[0] == (
        f"{runs}: holds 2 runs written by SummaryWriter; read the newest, "
        "Dec05_21-05-00_hostlr0.1, alone (the others: Dec05_21-00-00_host); point at one run "
        f"folder, or compare them with `gananalyze compare {runs}`"
    )
    assert _expand([runs]) == [
        (str(runs), [runs / "Dec05_21-00-00_host", runs / "Dec05_21-05-00_hostlr0.1"])
    ]
    assert _expand([runs / "Dec05_21-00-00_host"])[0][1] == [runs / "Dec05_21-00-00_host"]


def test_add_figure_of_subplots_is_cut_into_its_samples(tmp_path):
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    w = _writer(tmp_path / "r")
    for s in (0, 10):
        fig, axs = plt.subplots(4, 4, figsize=(4, 4))
        for ax in axs.flat:
            ax.imshow(rng.random((8, 8)), cmap="gray", vmin=0, vmax=1)
            ax.axis("off")
        w.add_figure("generated", fig, s)
        w.add_scalar("loss", 1.0, s)
    w.close()
    r = load_run(tmp_path / "r")
    assert [(g.step, g.nrow, g.ncol, g.count, g.padding) for g in r.samples] == [
        (0, 4, 4, 16, 2),
        (10, 4, 4, 16, 2),
    ]
    assert r.extra["source_notes"][0] == (
        "images 'generated' are figures of subplots: each subplot cut out and tiled (2 image(s))"
    )


def test_hparams_markers_are_no_skipped_summaries(tmp_path):
    # Lightning's TensorBoardLogger writes hparams' three plugin markers (no value) into every
    # run: they hold no data, and a warning about them on every run would be noise
    from torch.utils.tensorboard.summary import hparams

    w = _writer(tmp_path / "r")
    for s in range(3):
        w.add_scalar("loss/D", 0.7, s)
    for summary in hparams({"lr": 0.0002}, {"hp_metric": 0.0}):
        w.file_writer.add_summary(summary)
    w.close()
    r = load_run(tmp_path / "r")
    assert not [x for x in r.warnings if "other kinds" in x]
    assert r.series("loss/D").round(6).tolist() == [0.7, 0.7, 0.7]  # float32 as written
