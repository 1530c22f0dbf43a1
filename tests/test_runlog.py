"""The logging API: every kind of record round-trips; crashes lose at most the buffer."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch

from gananalyze import GanAnalyzeError, RunLog, generator_spec, load_run
from gananalyze.metrics.checkpoints import build_generator, load_checkpoint
from gananalyze.runio.imagegrid import make_grid


def test_scalars_round_trip_with_cadences_and_epochs(tmp_path):
    with RunLog(
        tmp_path / "r", loss="hinge", config={"lr": 1e-4, "nested": {"beta1": 0.5}}, flush_rows=7
    ) as log:
        for s in range(0, 50):
            log.scalars(s, epoch=s // 10, G_loss=s * 0.5, D_loss=torch.tensor(2.0 - s * 0.01))
            if s % 10 == 0:
                log.scalars(s, lr=1e-4 * (0.9 ** (s // 10)))
    run = load_run(tmp_path / "r")
    assert run.format == "native" and run.loss == "hinge"
    assert run.config == {"lr": 1e-4, "nested": {"beta1": 0.5}}
    assert run.steps.tolist() == list(range(50))
    assert run.counts == {"G_loss": 50, "D_loss": 50, "lr": 5}
    assert run.series("G_loss").loc[49] == pytest.approx(24.5)
    assert run.series("D_loss").loc[10] == pytest.approx(1.9, abs=1e-6)
    assert run.series("lr").index.tolist() == [0, 10, 20, 30, 40]
    assert run.scalars["epoch"].tolist() == [s // 10 for s in range(50)]
    assert run.duplicates_replaced == 0 and not run.warnings


def test_discriminator_outputs_and_confusion_counts(tmp_path):
    real = np.array([0.9, 0.8, 0.4, 0.6])  # 3 called real (TP), 1 missed (FN)
    fake_before = np.array([0.1, 0.7, 0.2, 0.3])  # 1 fooled D (FP), 3 caught (TN)
    fake_after = np.array([0.05, 0.5, 0.1, 0.2])
    with RunLog(tmp_path / "r") as log:
        log.discriminator(3, real, fake_before, fake_after)
        log.discriminator(
            4, torch.logit(torch.tensor(real)), torch.logit(torch.tensor(fake_before)), logits=True
        )
    run = load_run(tmp_path / "r")
    row = run.scalars.set_index("step").loc[3]
    assert row["D_x"] == pytest.approx(0.675)
    assert row["D_G_z_before"] == pytest.approx(0.325)
    assert row["D_G_z_after"] == pytest.approx(0.2125)
    assert (row["D_tp"], row["D_fn"], row["D_fp"], row["D_tn"]) == (3, 1, 1, 3)
    assert row["D_acc"] == pytest.approx(6 / 8)
    row4 = run.scalars.set_index("step").loc[4]
    assert row4["D_x"] == pytest.approx(0.675, abs=1e-6) and row4["D_acc"] == pytest.approx(0.75)
    assert math.isnan(row4["D_G_z_after"])  # not logged at step 4
    assert run.counts["D_G_z_after"] == 1


def test_checkpoint_samples_histograms_round_trip(tmp_path):
    torch.manual_seed(0)
    G = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 16))
    D = torch.nn.Linear(16, 1)
    D(G(torch.randn(3, 4))).sum().backward()
    imgs = torch.rand(6, 1, 4, 4) * 2 - 1
    with RunLog(tmp_path / "r") as log:
        log.checkpoint(
            100,
            G,
            D,
            optimizer_state_dict=torch.optim.Adam(G.parameters()).state_dict(),
            note="first",
        )
        log.samples(100, imgs, nrow=3)
        log.histograms(100, G, "G")
    run = load_run(tmp_path / "r")
    assert [c.step for c in run.checkpoints] == [100]
    obj = load_checkpoint(run.checkpoints[0].path)  # weights_only=True inside
    assert obj["step"] == 100 and obj["meta"] == {"note": "first"}
    assert torch.equal(obj["generator"]["0.weight"], G[0].weight)
    assert "optimizer_state_dict" in obj and torch.equal(obj["discriminator"]["weight"], D.weight)
    torch.load(run.checkpoints[0].path, weights_only=True)
    # sample grid: 6 tiles of 4x4 in a 2x3 grid, cut back out exactly (8-bit)
    (grid,) = run.samples
    assert (grid.step, grid.nrow, grid.ncol, grid.tile, grid.count) == (100, 2, 3, (4, 4), 6)
    tiles = grid.tiles()
    assert tiles.shape == (6, 4, 4, 3)
    expect = np.round((imgs[:, 0].numpy() + 1) / 2 * 255) / 255
    assert np.abs(tiles[..., 0] - expect).max() <= 1 / 255 + 1e-6
    # histograms: one weight row and one grad row per parameter, TensorBoard percentiles
    h = run.histograms
    assert set(h["kind"]) == {"weight", "grad"} and len(h) == 2 * 4
    w = h[(h.param == "0.weight") & (h.kind == "weight")].iloc[0]
    flat = G[0].weight.detach().double().flatten()
    assert w["q00000"] == pytest.approx(flat.min().item()) and w["q10000"] == pytest.approx(
        flat.max().item()
    )
    assert w["q05000"] == pytest.approx(
        flat.median().item() if flat.numel() % 2 else torch.quantile(flat, 0.5).item()
    )
    assert w["numel"] == 32


def test_make_grid_layout():
    grid, layout = make_grid(np.zeros((5, 3, 2, 2)), padding=1)
    assert layout.pop("range") == [0.0, 1.0]  # zeros, none negative: drawn from [0, 1]
    assert layout == {"nrow": 2, "ncol": 3, "tile": [2, 2], "padding": 1, "count": 5}
    assert grid.shape == (2 * 3 + 1, 3 * 3 + 1, 3)


def test_resume_numbers_parts_after_existing_and_later_write_wins(tmp_path):
    with RunLog(tmp_path / "r", config={"lr": 1}) as log:
        for s in range(10):
            log.scalars(s, G_loss=1.0)
    with RunLog(tmp_path / "r") as log:  # resumed from a checkpoint at step 6
        for s in range(6, 12):
            log.scalars(s, G_loss=2.0)
    run = load_run(tmp_path / "r")
    assert run.series("G_loss").tolist() == [1.0] * 6 + [2.0] * 6
    assert run.duplicates_replaced == 4
    assert any("4 step(s) were written more than once" in w for w in run.warnings)
    meta = json.loads((tmp_path / "r" / "run.json").read_text())
    assert len(meta["sessions"]) == 2 and meta["config"] == {"lr": 1}


def test_bad_arguments_are_plain_errors(tmp_path):
    with pytest.raises(GanAnalyzeError, match="loss must be one of"):
        RunLog(tmp_path / "r", loss="vanilla")
    with pytest.raises(GanAnalyzeError, match="module:callable"):
        generator_spec("nocolon")


def test_time_based_flush_without_further_calls(tmp_path):
    log = RunLog(tmp_path / "r", flush_rows=10_000, flush_seconds=0.2)
    log.scalars(1, G_loss=1.0)
    time.sleep(0.8)  # no more calls: the background thread must have flushed
    assert len(list((tmp_path / "r" / "scalars").glob("part-*.parquet"))) == 1
    log.close()


WRITER = textwrap.dedent(
    """
    import sys, time
    from gananalyze import RunLog
    log = RunLog(sys.argv[1], flush_rows=100, flush_seconds=3600)
    s = 0
    while True:
        log.scalars(s, G_loss=float(s), D_loss=1.0)
        if s == 1050:
            print("ready", flush=True)
        s += 1
        if s > 1050:
            time.sleep(0.001)
    """
)


def test_kill_9_loses_at_most_the_unflushed_buffer(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "r")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run = load_run(tmp_path / "r")
    steps = run.steps
    assert not run.warnings or all("temporary" in w for w in run.warnings)
    assert len(steps) >= 1000 and len(steps) % 100 == 0  # whole flushed parts only
    assert steps.tolist() == list(range(len(steps)))  # nothing torn, nothing reordered
    assert run.series("G_loss").tolist() == [float(s) for s in steps]


GEN_MODULE = textwrap.dedent(
    """
    import torch
    def make(width=8, z=4):
        torch.manual_seed(123)  # different init from the saved weights
        return torch.nn.Sequential(
            torch.nn.Linear(z, width), torch.nn.Tanh(), torch.nn.Linear(width, 16), torch.nn.Tanh()
        )
    """
)


def test_generator_rebuilt_from_spec_in_fresh_process(tmp_path):
    (tmp_path / "mymodels.py").write_text(GEN_MODULE)
    sys.path.insert(0, str(tmp_path))
    try:
        import mymodels

        torch.manual_seed(0)
        G = mymodels.make(width=8, z=4)
        for p in G.parameters():
            torch.nn.init.normal_(p)
        spec = generator_spec(
            "mymodels:make",
            {"width": 8, "z": 4},
            latent_shape=[4],
            noise_seed=7,
            pythonpath=[str(tmp_path)],
        )
        with RunLog(tmp_path / "r", generator=spec) as log:
            log.checkpoint(5, G)
        z = torch.randn(3, 4, generator=torch.Generator().manual_seed(7))
        expected = G(z).detach().numpy()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("mymodels", None)
    code = (
        "import sys, torch, numpy as np\n"
        "from gananalyze import load_run\n"
        "from gananalyze.metrics.checkpoints import build_generator\n"
        "run = load_run(sys.argv[1])\n"
        "G = build_generator(run, run.checkpoints[-1], trust=True)  # the user's own code\n"
        "z = torch.randn(3, 4, generator=torch.Generator()"
        ".manual_seed(run.generator['noise_seed']))\n"
        "np.save(sys.argv[2], G(z).detach().numpy())\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "r"), str(tmp_path / "out.npy")],
        check=True,
        cwd="/",
    )
    assert np.array_equal(np.load(tmp_path / "out.npy"), expected)
    run = load_run(tmp_path / "r")
    with pytest.raises(GanAnalyzeError, match="weights do not fit"):
        run.generator["kwargs"]["width"] = 9
        build_generator(run, run.checkpoints[-1], trust=True)


def test_unloadable_checkpoint_is_a_plain_error(tmp_path):
    bad = tmp_path / "step-000000001.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(
        GanAnalyzeError, match=r"step-000000001.pt: checkpoint cannot be loaded safely"
    ):
        load_checkpoint(bad)
    # a pickle with arbitrary objects is refused by weights_only=True, never executed
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    torch.save({"generator": Evil()}, tmp_path / "evil.pt", pickle_module=pickle)
    with pytest.raises(GanAnalyzeError) as e:
        load_checkpoint(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()
    # the refusal says what the file holds and never passes on torch's advice to load it
    # with weights_only=False (which would run the payload)
    assert str(e.value) == (
        f"{tmp_path / 'evil.pt'}: checkpoint cannot be loaded safely: it holds Python objects "
        f"beyond tensors and plain containers ({os.system.__module__}.system), which "
        "unpickling could run as code; gananalyze loads weights only, so save the state_dict: "
        "torch.save(G.state_dict(), path)"
    )
    assert "weights_only" not in str(e.value)


def _start_session(path: str, barrier) -> None:
    barrier.wait()
    RunLog(path, flush_rows=1000).close()


def test_concurrent_starts_in_separate_processes_keep_every_session(tmp_path):
    """Sessions are recorded under a lock on the run folder: processes starting at the
    same instant each keep their session in run.json."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    n, rounds = 4, 3
    for k in range(rounds):
        barrier = ctx.Barrier(n)
        args = (str(tmp_path), barrier)
        procs = [ctx.Process(target=_start_session, args=args) for _ in range(n)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        sessions = json.loads((tmp_path / "run.json").read_text())["sessions"]
        assert len(sessions) == n * (k + 1)
        assert len({s["writer"] for s in sessions}) == n * (k + 1)


def test_nan_outputs_give_no_accuracy(tmp_path):
    # a diverged D's NaN outputs: D(x) is NaN, and no chance-level accuracy is made up from them
    with RunLog(tmp_path / "r") as log:
        log.discriminator(0, np.array([0.9, 0.8]), np.array([0.1, 0.2]))
        log.discriminator(1, np.array([np.nan, np.nan]), np.array([np.nan, np.nan]))
    run = load_run(tmp_path / "r")
    row = run.scalars.set_index("step").loc[1]
    assert math.isnan(row["D_x"]) and math.isnan(row["D_acc"]) and math.isnan(row["D_tp"])
    assert run.counts["D_tp"] == 1 and run.scalars.set_index("step").loc[0, "D_acc"] == 1.0


def test_a_resume_that_names_no_loss_keeps_the_declared_one(tmp_path):
    with RunLog(tmp_path / "r", loss="lsgan") as log:
        log.scalars(0, G_loss=0.3, D_loss=0.2)
    with RunLog(tmp_path / "r") as log:  # resumed without loss=
        log.scalars(1, G_loss=0.3, D_loss=0.2)
    assert load_run(tmp_path / "r").loss == "lsgan"
    with RunLog(tmp_path / "fresh") as log:
        log.scalars(0, G_loss=0.3, D_loss=0.2)
    assert load_run(tmp_path / "fresh").loss is None
