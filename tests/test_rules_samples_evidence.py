"""Sample evidence in the rules (issue 22), each failure class in its exact shape:

- TensorBoard image grids (`make_grid` of 100 samples, no layout stored) are split by the
  layout their padding shows, so their diversity counts;
- a D flat at chance (D(x) = D(G(z)) = 0.50, D loss 0.695, G loss 0.692 all run) is a collapse
  signal when the samples agree (100 real-looking samples covering 2-6 of 10 classes, the
  set changing at every checkpoint);
- "healthy" needs good samples: recall <= 0.03 at every checkpoint, or precision and recall
  <= 0.12 at all 21 evaluations, is not healthy; a run without samples says collapse cannot
  be ruled out;
- FID changes against a noise floor: FIDs of ~1e-3 on 2-D data are noise; a real FID going
  74 -> 405 -> 67 after a resume is a transient divergence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gananalyze import RunLog
from gananalyze.analysis.rules import diagnose
from gananalyze.loader import load_run
from gananalyze.runio import store
from gananalyze.runio.imagegrid import infer_layout, make_grid


def fired(d) -> dict:
    return {f.rule: f for f in d.findings if f.severity != "info"}


def _digits():
    from sklearn.datasets import load_digits

    dg = load_digits()
    return dg.images.astype(np.float32) / 16.0 * 2 - 1, dg.target  # in [-1, 1]


@pytest.mark.parametrize(
    "n, nrow, padding, tile",
    [(100, 10, 2, 8), (37, 8, 2, 8), (64, 8, 3, 8), (16, 4, 1, 28), (2, 2, 2, 8)],
)
def test_infer_layout_reads_make_grid_padding(n, nrow, padding, tile):
    x, _ = _digits()
    imgs = x[:n]
    if tile != 8:  # MNIST-like: a digit in the middle of a black 28x28 tile
        big = -np.ones((n, tile, tile), np.float32)
        big[:, 10:18, 10:18] = imgs
        imgs = big
    grid, lay = make_grid(imgs, nrow=nrow, padding=padding, value_range=(-1, 1))
    got = infer_layout(grid)
    assert got == {
        "nrow": lay["nrow"],
        "ncol": lay["ncol"],
        "tile": [tile, tile],
        "padding": padding,
        "count": n,
    }


def test_infer_layout_refuses_a_picture_that_is_no_grid():
    rng = np.random.default_rng(0)
    assert infer_layout((rng.random((64, 64, 3)) * 255).astype(np.uint8)) is None
    assert infer_layout(np.zeros((40, 40, 3), np.uint8)) is None


def _tensorboard_grids(path, grids, d_loss=1.3, g_loss=0.8):
    """An event file as a SummaryWriter writes it: losses and `add_image("samples", grid)` of
    make_grid(100 samples, nrow=10, padding=2) PNGs, with no layout stored."""
    import io
    import struct

    from PIL import Image

    tb_proto = pytest.importorskip("tensorboard.compat.proto.event_pb2")
    from tensorboard.compat.proto import summary_pb2

    from gananalyze.importers import tensorboard

    def value(tag, x):
        if isinstance(x, float):
            return summary_pb2.Summary.Value(tag=tag, simple_value=x)
        buf = io.BytesIO()
        Image.fromarray(x).save(buf, format="PNG")
        img = summary_pb2.Summary.Image(
            height=x.shape[0], width=x.shape[1], colorspace=3, encoded_image_string=buf.getvalue()
        )
        return summary_pb2.Summary.Value(tag=tag, image=img)

    events = [(s, "Loss/D", d_loss + 0.001 * np.sin(s)) for s in range(0, 1000, 5)]
    events += [(s, "Loss/G", g_loss + 0.001 * np.cos(s)) for s in range(0, 1000, 5)]
    events += [
        (s, "samples", make_grid(g, nrow=10, padding=2, value_range=(-1, 1))[0]) for s, g in grids
    ]
    out = bytearray()
    for k, (step, tag, x) in enumerate(events):
        ev = tb_proto.Event(
            wall_time=1.7e9 + k, step=step, summary=summary_pb2.Summary(value=[value(tag, x)])
        )
        data = ev.SerializeToString()
        hdr = struct.pack("<Q", len(data))

        def crc(b):
            rows = np.frombuffer(b, np.uint8)[None]
            return int(tensorboard.masked_crc(tensorboard.crc32c_rows(rows))[0])

        out += hdr + struct.pack("<I", crc(hdr)) + data + struct.pack("<I", crc(data))
    path.mkdir(parents=True)
    (path / "events.out.tfevents.1700000000.host").write_bytes(bytes(out))


def test_tensorboard_grids_are_split_and_their_collapse_counts(tmp_path):
    x, _ = _digits()
    rng = np.random.default_rng(0)
    grids = [(s, x[rng.choice(len(x), 100, replace=False)]) for s in (0, 200, 400, 600)]
    one = x[7]  # G draws one digit from step 800 on
    grids += [
        (s, np.repeat(one[None], 100, axis=0) + 0.002 * rng.normal(size=(100, 8, 8)))
        for s in (800, 990)
    ]
    _tensorboard_grids(tmp_path / "tb", [(s, g.astype(np.float32)) for s, g in grids])
    run = load_run(tmp_path / "tb")
    d = diagnose(run)
    assert "mode_collapse" not in dict(d.skipped)
    assert all(
        (g.nrow, g.ncol, g.tile, g.padding, g.count) == (10, 10, (8, 8), 2, 100)
        for g in run.samples
    )
    f = fired(d)["mode_collapse"]
    assert f.severity == "error"
    assert f.start_step == 800
    assert f.numbers["grids"] == 6 and f.numbers["collapsed_grids"] == 2


def _chance_run(path, grids):
    rng = np.random.default_rng(2)
    with RunLog(path, loss="bce", config={"dataset": "sklearn digits"}, flush_rows=10_000) as log:
        for i in range(600):
            log.scalars(
                i,
                D_x=0.50 + 0.002 * rng.normal(),
                D_G_z_before=0.50 + 0.002 * rng.normal(),
                D_loss=0.695 + 0.001 * rng.normal(),
                G_loss=0.692 + 0.001 * rng.normal(),
            )
        for step, imgs in grids:
            log.samples(step, imgs, nrow=10, value_range=(-1, 1))
    return load_run(path)


def test_d_flat_at_chance_with_samples_hopping_between_class_sets_is_collapse(tmp_path):
    x, y = _digits()
    rng = np.random.default_rng(5)
    grids = []
    for k, step in enumerate(range(0, 600, 60)):
        classes = rng.choice(10, 2 + k % 5, replace=False)  # 2 to 6 of the 10 classes
        idx = np.flatnonzero(np.isin(y, classes))
        grids.append((step, x[rng.choice(idx, 100)]))
    d = diagnose(_chance_run(tmp_path / "r", grids))
    f = fired(d)["mode_collapse"]
    assert f.title == "Mode collapse behind a D flat at chance"
    assert f.message.startswith(
        "D flat at chance for 100% of the run (D(x) 0.5 and D(G(z)) 0.5) and the samples agree"
    )
    assert f.numbers["centre_drift"] >= 2.0
    assert not d.verdict.startswith("Healthy")


def test_d_flat_at_chance_with_samples_covering_every_class_stays_healthy(tmp_path):
    x, _ = _digits()
    rng = np.random.default_rng(6)
    grids = [(s, x[rng.choice(len(x), 100, replace=False)]) for s in range(0, 600, 60)]
    d = diagnose(_chance_run(tmp_path / "r", grids))
    assert "mode_collapse" not in fired(d), fired(d).get("mode_collapse")
    assert d.verdict.startswith("Healthy: no problems found")


def _hopping_grids(seed, steps):
    x, y = _digits()
    rng = np.random.default_rng(seed)
    out = []
    for k, step in enumerate(steps):
        classes = rng.choice(10, 2 + k % 5, replace=False)  # 2 to 6 of the 10 classes
        out.append((step, x[rng.choice(np.flatnonzero(np.isin(y, classes)), 100)]))
    return out


def test_tensorboard_losses_flat_at_chance_with_hopping_grids_is_collapse(tmp_path):
    # no D outputs and no loss type: D loss 0.695, G loss 0.692 all run (averaged BCE's
    # equilibrium), make_grid images of 100 samples covering 2-6 classes
    _tensorboard_grids(
        tmp_path / "tb", _hopping_grids(11, range(0, 1000, 100)), d_loss=0.695, g_loss=0.692
    )
    f = fired(diagnose(load_run(tmp_path / "tb")))["mode_collapse"]
    assert f.title == "Mode collapse behind a D flat at chance"
    assert "(equilibrium 0.693 and 0.693 under BCE averaged)" in f.message


def _pr_run(path, steps, precision, recall):
    rng = np.random.default_rng(4)
    with RunLog(path, loss="bce", flush_rows=10_000) as log:
        for i in range(0, steps[-1] + 1, 5):
            log.scalars(
                i,
                D_x=0.6 + 0.01 * rng.normal(),
                D_G_z_before=0.4 + 0.01 * rng.normal(),
                D_loss=1.15 + 0.02 * rng.normal(),
                G_loss=1.0 + 0.02 * rng.normal(),
            )
    store.append_sample_metrics(
        path, pd.DataFrame({"step": steps, "precision": precision, "recall": recall})
    )
    return load_run(path)


def test_recall_at_most_0_03_at_every_checkpoint_is_not_healthy(tmp_path):
    steps = list(range(0, 5001, 500))
    recall = [0.0] * 9 + [0.0306, 0.0139]
    precision = [0.0, 0.285, 0.209, 0.099, 0.358, 0.076, 0.232, 0.285, 0.435, 0.27, 0.293]
    d = diagnose(_pr_run(tmp_path / "r", steps, precision, recall))
    f = fired(d)["sample_quality"]
    assert f.severity == "warning"
    assert f.message == (
        "The samples were judged against the real data: recall at most 0.0306 at every one of "
        "11 evaluations (steps 0-5000; at most 0.1 means the samples reach almost none of the "
        "real data); highest precision 0.435."
    )
    assert d.status == "problems"
    assert d.verdict == "Samples never came near the real data from step 0 (warning)."


def test_precision_and_recall_at_most_0_12_at_21_evaluations_is_not_healthy(tmp_path):
    steps = list(range(0, 2001, 100))
    rng = np.random.default_rng(7)
    precision = list(0.05 + 0.07 * rng.random(21))
    recall = list(0.11 + 0.01 * rng.random(21))
    d = diagnose(_pr_run(tmp_path / "r", steps, precision, recall))
    f = fired(d)["sample_quality"]
    assert "recall and precision both at most 0.12 at every one of 21 evaluations" in f.message
    assert not d.verdict.startswith("Healthy")


def test_fair_samples_keep_the_healthy_verdict(tmp_path):
    steps = list(range(0, 2001, 200))
    d = diagnose(_pr_run(tmp_path / "r", steps, [0.7] * 11, [0.1] + [0.55] * 10))
    assert "sample_quality" not in fired(d)
    assert d.verdict.startswith("Healthy: no problems found")


def _balanced_run(path, every: int = 0, **extra: float):
    """400 steps of a balanced BCE game (D(x) 0.6, D(G(z)) 0.4), and `extra` values logged
    every `every` steps."""
    rng = np.random.default_rng(8)
    with RunLog(path, loss="bce", flush_rows=10_000) as log:
        for i in range(400):
            log.scalars(
                i,
                D_x=0.6 + 0.01 * rng.normal(),
                D_G_z_before=0.4 + 0.01 * rng.normal(),
                D_loss=1.15 + 0.02 * rng.normal(),
                G_loss=1.0 + 0.02 * rng.normal(),
                **({k: v - 1e-4 * i for k, v in extra.items()} if every and i % every == 0 else {}),
            )
    return path


def test_healthy_losses_without_samples_do_not_rule_out_collapse(tmp_path):
    d = diagnose(load_run(_balanced_run(tmp_path / "r")))
    # one decision: the verdict says "no problems found", so the status (and every page's
    # colour) is not "healthy" either (issue 22)
    assert d.status == "no_problems_found"
    assert d.verdict == (
        "No problems found, D(x) 0.6, D(G(z)) 0.4; D loss 1.15 near "
        "equilibrium at the end; not called healthy: no samples or sample metrics were "
        "logged, so mode collapse cannot be ruled out (balanced losses do not show it)."
    )
    assert "healthy_equilibrium" in {f.rule for f in d.findings}  # the losses' own finding


def test_sample_metrics_the_rules_did_not_judge_by_are_named(tmp_path):
    # a toy GAN that logs its samples' EMD and MMD to the data but no FID: the verdict does
    # not say that no sample metric was logged; it names them, and how to choose one
    d = diagnose(load_run(_balanced_run(tmp_path / "r", 40, EMD=0.2, MMD=0.05)))
    assert d.verdict.endswith(
        "not called healthy: no samples were logged and the rules judged none of its sample "
        "metrics (EMD, MMD: choose one with --metric), so mode collapse cannot be ruled out "
        "(balanced losses do not show it)."
    )
    chosen = diagnose(load_run(tmp_path / "r"), select_metric="EMD")
    assert "choose one" not in chosen.verdict and "over_training" in {
        f.rule for f in chosen.findings
    }


def test_images_without_a_grid_layout_are_named_not_called_missing(tmp_path):
    # TensorBoard's add_images of 64 8x8 digits: one 64x64 image, the tiles touching, so no
    # layout can be read from it; the verdict names the logged images instead of saying that
    # none were logged
    import io

    from PIL import Image

    from gananalyze.run import SampleGrid

    rng = np.random.default_rng(8)
    with RunLog(tmp_path / "r", loss="bce", flush_rows=10_000) as log:
        for i in range(400):
            log.scalars(
                i,
                D_x=0.6 + 0.01 * rng.normal(),
                D_G_z_before=0.4 + 0.01 * rng.normal(),
                D_loss=1.15 + 0.02 * rng.normal(),
                G_loss=1.0 + 0.02 * rng.normal(),
            )
    run = load_run(tmp_path / "r")
    imgs, _ = _digits()
    tiled = imgs[:64].reshape(8, 8, 8, 8).transpose(0, 2, 1, 3).reshape(64, 64)
    buf = io.BytesIO()
    Image.fromarray(((tiled + 1) * 127.5).astype(np.uint8)).save(buf, format="PNG")
    run.samples = [SampleGrid(step=s, png=buf.getvalue(), tag="fixed") for s in (0, 200, 399)]
    d = diagnose(run)
    assert d.status == "no_problems_found"
    assert d.verdict.endswith(
        "not called healthy: the 3 logged sample image(s) show no grid layout (no padding "
        "between the tiles, as TensorBoard's add_images draws a batch), so the samples could "
        "not be judged and mode collapse cannot be ruled out."
    )
    nop = next(f for f in d.findings if f.rule == "no_problems")
    assert "(torchvision's make_grid, then add_image) or with RunLog.samples" in nop.action


def _fid_run(path, fid: dict[int, float], vectors=None, num_samples=None):
    rng = np.random.default_rng(9)
    last = max(fid)
    with RunLog(path, loss="bce", flush_rows=10_000) as log:
        for i in range(0, last + 1, 5):
            log.scalars(
                i,
                D_x=0.6 + 0.01 * rng.normal(),
                D_G_z_before=0.4 + 0.01 * rng.normal(),
                D_loss=1.15 + 0.02 * rng.normal(),
                G_loss=1.0 + 0.02 * rng.normal(),
            )
        for s in fid if vectors is not None else ():
            log.samples(s, vectors(s), kind="vectors")
    tab = pd.DataFrame({"step": list(fid), "fid": list(fid.values())})
    if num_samples:
        tab["num_samples"] = num_samples
    store.append_sample_metrics(path, tab)
    return load_run(path)


def test_fids_of_1e_3_on_2d_data_are_within_the_estimators_floor(tmp_path):
    rng = np.random.default_rng(10)
    ring = np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)])

    def samples(_s):
        return (2 * ring[rng.integers(0, 8, 500)] + 0.05 * rng.normal(size=(500, 2))).astype(
            np.float32
        )

    fid = dict(
        zip(
            range(0, 4001, 500),
            [0.02, 0.0011, 0.0009, 0.0024, 0.0031, 0.0012, 0.0008, 0.0027, 0.0033],
            strict=True,
        )
    )
    d = diagnose(_fid_run(tmp_path / "r", fid, samples, num_samples=500))
    assert "mode_collapse" not in fired(d) and "over_training" not in fired(d)
    info = next(f for f in d.findings if f.rule == "over_training")
    assert (
        "the estimator's floor 0.0198 for 500 samples per evaluation, 2 feature dimension(s) "
        "and variance 1.98 per dimension" in info.message
    )


def test_fid_74_405_67_after_a_resume_is_a_transient_divergence(tmp_path):
    fid = {10000: 74.0, 10500: 405.0, 11000: 67.0, 11500: 66.0, 12000: 64.5, 12500: 63.8}
    d = diagnose(_fid_run(tmp_path / "r", fid))
    f = fired(d)["divergence"]
    assert f.title == "Transient divergence (FID spiked and recovered)"
    assert f.message.startswith(
        "FID went 74 (step 10000) -> 405 (step 10500, 5.47x) -> 67 (step 11000)"
    )
    assert (f.start_step, f.end_step) == (10000, 11000)


def test_one_rise_under_twice_that_comes_back_is_a_healthy_fids_swing(tmp_path):
    # a healthy conditional GAN of the truth lab (cond-04): 59.2 -> 90.3 (1.52x) -> 47.2;
    # its FID moves 20-40% between checkpoints, and this rise is one of those swings
    fid = {0: 960.5, 833: 220.7, 1666: 174.3, 2499: 63.8, 3332: 59.2, 4165: 90.3, 4998: 47.2}
    d = diagnose(_fid_run(tmp_path / "r", fid))
    assert "divergence" not in fired(d) and "mode_collapse" not in fired(d)


def test_the_initial_weights_evaluation_is_no_best_to_stop_at(tmp_path):
    # an untrained G's FID can beat a G that collapsed early and then recovered; "stop
    # training earlier" would mean keeping the initial weights, which nothing recommends
    fid = {0: 100.0, 500: 400.0, 1000: 300.0, 1500: 250.0, 2000: 240.0}
    d = diagnose(_fid_run(tmp_path / "r", fid))
    assert "over_training" not in fired(d)
    info = next(f for f in d.findings if f.rule == "over_training")
    assert (info.numbers["best_step"], info.numbers["evaluations"]) == (2000, 5)
