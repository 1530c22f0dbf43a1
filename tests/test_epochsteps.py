"""importers/epochsteps.py: what Lightning files by epoch (image grids at step = epoch,
`epoch=E-step=S.ckpt`) placed on the metrics' step axis, by every reader a Lightning logger
writes, pointed at the run root or at one logger's own folder."""

from __future__ import annotations

import numpy as np
import pytest

from gananalyze.importers.epochsteps import epoch_step
from gananalyze.loader import load_run

# 29 batches per epoch, metrics every 50 steps (log_every_n_steps=50): epochs 1, 3, 5, ...
# log no step at all
STEPS = list(range(49, 29 * 20, 50))


def test_an_epoch_without_a_logged_step_is_placed_by_the_epochs_around_it():
    last: dict[int, int] = {}
    for s in STEPS:
        last[s // 29] = s
    ends = (np.array(list(last)), np.array(list(last.values())))
    assert ends[0].tolist()[:4] == [1, 3, 5, 6] and ends[1].tolist()[:4] == [49, 99, 149, 199]
    assert epoch_step(ends, 3, 549) == (99, True)
    assert epoch_step(ends, 4, 549) == (124, False)  # between epoch 3 (99) and 5 (149)
    assert epoch_step(ends, 0, 549) == (20, False)  # before the first: the mean spacing
    assert epoch_step(ends, 30, 549) == (549, False)  # never past the last logged step


def _lightning_tb(folder, torch):
    from torch.utils.tensorboard import SummaryWriter

    folder.mkdir(parents=True)
    w = SummaryWriter(str(folder))
    w.add_scalar("hp_metric", -1, 0)  # TensorBoardLogger's placeholder
    for s in STEPS:
        w.add_scalar("epoch", s // 29, s)
        w.add_scalar("g_loss", 1.0 + s / 1000, s)
        w.add_scalar("d_loss", 0.6, s)
    for e in range(20):  # the tutorial: add_image(..., self.current_epoch)
        w.add_image("generated_images", np.full((3, 4, 4), e / 20, dtype=np.float32), e)
    w.close()
    (folder / "hparams.yaml").write_text("lr_d: 0.0002\nloss: lsgan\n")
    (folder / "checkpoints").mkdir()
    torch.save({"epoch": 19}, folder / "checkpoints" / "epoch=19-step=1160.ckpt")


def test_a_tensorboard_logger_folder_read_alone(tmp_path):
    torch = pytest.importorskip("torch")
    v0 = tmp_path / "lightning_logs" / "version_0"
    _lightning_tb(v0, torch)
    for where in (v0, tmp_path):  # the logger's own folder, and the run root
        r = load_run(where)
        assert r.steps.tolist() == STEPS  # no step 0 from the hp_metric placeholder
        assert "hp_metric" not in r.metrics
        assert r.config == {"lr_d": 0.0002, "loss": "lsgan"} and r.loss == "lsgan"
        steps = [g.step for g in r.samples]
        assert steps == sorted(steps) and steps[-1] == STEPS[-1] and steps[3] == 99
        assert [(c.step, c.meta["epoch"]) for c in r.checkpoints] == [(STEPS[-1], 19)]
        assert sum("epoch=19-step=1160.ckpt" in str(c.path) for c in r.checkpoints) == 1


def test_csv_and_mlflow_logger_folders_find_their_checkpoints(tmp_path):
    torch = pytest.importorskip("torch")
    v0 = tmp_path / "csv" / "version_0"
    (v0 / "checkpoints").mkdir(parents=True)
    rows = "".join(f"{s // 29},{s},1.0,0.6\n" for s in STEPS)
    (v0 / "metrics.csv").write_text("epoch,step,g_loss,d_loss\n" + rows)
    torch.save({}, v0 / "checkpoints" / "epoch=4-step=290.ckpt")
    r = load_run(v0)
    assert [(c.step, c.meta["placed"]) for c in r.checkpoints] == [
        (124, "at step 124, by the epochs around epoch 4 (no step logged in it)")
    ]
    run = tmp_path / "mlruns" / "1" / "abc"
    (run / "metrics").mkdir(parents=True)
    (run / "meta.yaml").write_text("run_name: gan\n")
    for name, val in (("epoch", None), ("g_loss", 1.0)):
        lines = [f"{1000 + s} {s // 29 if val is None else val} {s}" for s in STEPS]
        (run / "metrics" / name).write_text("\n".join(lines) + "\n")
    (run / "checkpoints").mkdir()
    torch.save({}, run / "checkpoints" / "epoch=5-step=348.ckpt")
    r = load_run(run)
    assert [(c.step, c.meta["epoch"]) for c in r.checkpoints] == [(149, 5)]
