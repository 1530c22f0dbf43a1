"""The free-text reader on each shape of log people print (files written here, in that shape),
and a generated grammar: every value and step must come back exactly."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gananalyze.errors import GanAnalyzeError
from gananalyze.importers import freetext, linetemplates, textlog
from gananalyze.loader import detect_format, load_run
from gananalyze.naming.aliases import is_sample_metric

NET = "".join(
    f"  ({i}): Conv2d(64, 128, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))\n"
    f"  (bn{i}): BatchNorm2d(128, eps=1e-05, momentum=0.1, affine=True)\n"
    for i in range(200)
)
CONFIG = "".join(f"option_{i}: {i * 0.25}\n" for i in range(100))


@pytest.mark.parametrize("preamble", [90, 100, 500])
def test_long_preamble_is_read(tmp_path, preamble):
    head = (NET + CONFIG).splitlines()[:preamble]
    body = [f"Step: {s} Gen_loss: {1 + s / 1000} Dis_loss: {0.5 - s / 10000}" for s in (0, 100)]
    f = tmp_path / "train.log"
    f.write_text("\n".join(head + body) + "\n")
    assert detect_format(f) == "textlog"
    r = load_run(f)
    assert r.steps.tolist() == [0, 100]
    assert r.series("Gen_loss").tolist() == [1.0, 1.1]
    assert r.extra["lines"]["read"] == 2
    # the printed network is ignored; the config lines before the first step are options
    assert r.extra["lines"]["ignored"] == min(preamble, 400)
    assert r.config == {f"option_{i}": i * 0.25 for i in range(max(0, preamble - 400))}
    assert r.extra["lines"]["preamble"] == max(0, preamble - 400)


def test_step_inside_free_text(tmp_path):
    f = tmp_path / "log.txt"
    f.write_text(
        "[2021-04-01 10:00:00] Step:     100 Progress: 1.0% Elapsed: 30s "
        "Gen_loss: 2.5 Dis_loss: 0.7\n"
        "[2021-04-01 10:00:30] Step:     200 Progress: 2.0% Elapsed: 60s "
        "Gen_loss: 2.25 Dis_loss: 0.75\n"
    )
    r = load_run(f)
    assert (r.steps.tolist(), r.step_unit) == ([100, 200], "iteration")
    assert r.series("Dis_loss").tolist() == [0.7, 0.75]
    assert r.series("Progress").tolist() == [1.0, 2.0]
    assert "Elapsed" not in r.metrics  # `30s` is a duration, not a number


def test_fid_with_qualifier_is_on_its_own_step(tmp_path):
    lines = [f"Step: {s} Gen_loss: {s / 1000} Dis_loss: 0.5" for s in range(1000, 5001, 1000)]
    lines.insert(4, "FID score (Step: 4000, Using test moments): 37.2")
    lines.insert(2, "FID score (Step: 2000, Using test moments): 52.5")
    f = tmp_path / "out.log"
    f.write_text("\n".join(lines) + "\n")
    r = load_run(f)
    name = "FID_score (Using test moments)"
    assert r.steps.tolist() == [1000, 2000, 3000, 4000, 5000]
    assert r.series(name).to_dict() == {2000: 52.5, 4000: 37.2}
    assert is_sample_metric(name)
    assert r.duplicates_replaced == 0 and "sections" not in r.extra


def test_eval_line_printed_late_is_not_a_resume(tmp_path):
    lines = [f"Step: {s} G_loss: 1.5 D_loss: 0.5" for s in (1000, 2000, 3000)]
    lines.insert(3, "FID score (Step: 2000, Using train moments): 40.0")  # after step 3000
    f = tmp_path / "out.log"
    f.write_text("\n".join(lines) + "\n")
    r = load_run(f)
    assert r.steps.tolist() == [1000, 2000, 3000]
    assert r.series("FID_score (Using train moments)").tolist() == [40.0]
    assert r.duplicates_replaced == 0


def test_two_word_keys_keep_d_and_g(tmp_path):
    f = tmp_path / "train.log"
    f.write_text("Epoch 1 D loss: 0.31 G loss: 2.4\nEpoch 2 D loss: 0.29 G loss: 2.6\n")
    r = load_run(f)
    assert r.metrics == ["D_loss", "G_loss"]
    assert (r.column("D_loss"), r.column("G_loss")) == ("D_loss", "G_loss")
    assert (r.steps.tolist(), r.step_unit) == ([1, 2], "epoch")


def test_json_lines_counted_by_itr(tmp_path):
    f = tmp_path / "log.jsonl"
    f.write_text('{"itr": 500, "loss_G": 1.5}\n{"itr": 1000, "loss_G": 1.25}\n')
    r = load_run(f)
    assert r.steps.tolist() == [500, 1000]
    assert r.series("loss_G").tolist() == [1.5, 1.25]


def test_key_space_value_lines(tmp_path):
    f = tmp_path / "train.out"
    f.write_text("iter 10 lossG 1.5 lossD 0.25\niter 20 lossG 1.25 lossD 0.5\n")
    r = load_run(f)
    assert r.steps.tolist() == [10, 20]
    assert r.series("lossD").tolist() == [0.25, 0.5]


def test_epoch_and_iteration_inside_epoch(tmp_path):
    lines = [
        f"Epoch [{e}/3] Iter [{i}/300] loss_D: {e + i / 1000} loss_G: 1.0"
        for e in (1, 2, 3)
        for i in (100, 200, 300)
    ]
    f = tmp_path / "train.log"
    f.write_text("\n".join(lines) + "\n")
    r = load_run(f)
    assert r.steps.tolist() == [100, 200, 300, 400, 500, 600, 700, 800, 900]
    assert r.extra["step_note"] == "epoch x 300 iterations per epoch (printed) + iteration"
    assert r.scalars["epoch"].tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_resume_inside_a_log_makes_sections(tmp_path):
    first = [f"step={s} g_loss={s / 100} d_loss=0.5" for s in (100, 200, 300, 400)]
    again = [f"step={s} g_loss={s / 50} d_loss=0.25" for s in (300, 400, 500)]
    f = tmp_path / "train.log"
    f.write_text("\n".join(first + ["resuming from checkpoint 200"] + again) + "\n")
    r = load_run(f)
    assert r.steps.tolist() == [100, 200, 300, 400, 500]
    assert r.series("g_loss").tolist() == [1.0, 2.0, 6.0, 8.0, 10.0]
    assert r.duplicates_replaced == 2
    assert [s["placed"] for s in r.extra["sections"]] == [
        "continues",
        "restart: replaces earlier rows",
    ]
    assert [s["first_line"] for s in r.extra["sections"]] == [1, 6]


def test_repeated_step_is_not_a_resume(tmp_path):
    f = tmp_path / "train.log"
    f.write_text("step=1 a=1.0 b=2.0\nstep=1 c=3.0 d=4.0\nstep=2 a=1.5 b=2.5\n")
    r = load_run(f)
    assert r.steps.tolist() == [1, 2] and r.duplicates_replaced == 0
    assert r.series("c").tolist() == [3.0]


def test_folder_with_one_log_deep_inside(tmp_path):
    (tmp_path / "jobs_log").mkdir()
    (tmp_path / "jobs_log" / "12345.out").write_text(
        "loading data\nIter: 1 G_loss: 1.5 D_loss: 0.5\nIter: 2 G_loss: 1.25 D_loss: 0.75\n"
    )
    (tmp_path / "README.md").write_text("# My GAN\nTrained for 2 iterations: loss 0.5, acc 0.9\n")
    (tmp_path / "SOURCE.txt").write_text("repo: a/b\ncommit: 123\nfile: 1 line: 2\n")
    (tmp_path / "LICENSE").write_text("MIT License\nCopyright (c) 2020 x: 1 y: 2\n")
    assert detect_format(tmp_path) == "textlog"
    r = load_run(tmp_path)
    assert r.extra["table"] == str(tmp_path / "jobs_log" / "12345.out")
    assert r.steps.tolist() == [1, 2]
    assert r.extra["source_notes"][:3] == [
        "12345.out: 2 line(s) read, 1 ignored",
        "  e.g. read line 2: 'Iter: 1 G_loss: 1.5 D_loss: 0.5'",
        "  e.g. read line 3: 'Iter: 2 G_loss: 1.25 D_loss: 0.75'",
    ]


def test_readme_beside_a_table_is_not_a_table(tmp_path):
    (tmp_path / "losses.csv").write_text("G,D\n1.0,0.5\n0.9,0.6\n")
    (tmp_path / "SOURCE.txt").write_text("repository,commit\nfoo/bar,abc123\n")
    r = load_run(tmp_path)
    assert (r.format, r.steps.tolist()) == ("csv-rows", [0, 1])


def test_several_logs_name_the_one_read(tmp_path):
    (tmp_path / "a.log").write_text("".join(f"step={s} loss_g=1.0 loss_d=0.5\n" for s in range(5)))
    (tmp_path / "b.log").write_text("".join(f"step={s} loss_g=1.0 loss_d=0.5\n" for s in range(3)))
    r = load_run(tmp_path)
    assert r.extra["table"] == str(tmp_path / "a.log")
    assert r.extra["source_notes"][0] == (
        "2 text logs found; read a.log (most value lines); left out: b.log (3 value lines)"
    )
    from gananalyze.pages.text import info_text

    assert "read from:\n  2 text logs found; read a.log" in info_text(r)


def test_constant_counter_is_not_the_step(tmp_path):
    rows = [f"{e},1000,0,0,{1 + e / 1000:.4f},{0.5:.4f}" for e in range(1000)]
    f = tmp_path / "train_log.csv"
    f.write_text("Epoch,Total Epochs,Iteration,Total Iterations,G_loss,D_loss\n" + "\n".join(rows))
    r = load_run(f)
    assert len(r.scalars) == 1000 and r.duplicates_replaced == 0
    assert r.steps.tolist() == list(range(1000))
    assert not any("more than once" in w for w in r.warnings)


def test_prose_and_config_alone_are_not_logs(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("We trained with 64 filters for a while.\nlr: 0.0002\nbeta1: 0.5\n")
    assert not textlog.detect(f)


# ---------- the generated grammar ----------

WORDS = [
    "loss",
    "G",
    "D",
    "gen",
    "dis",
    "real",
    "fake",
    "acc",
    "grad",
    "norm",
    "score",
    "kl",
    "rec",
]
STEP_KEYS = ["Step", "step", "iter", "Iter", "itr", "iteration", "Iteration", "global_step"]
PAIR_SEPS = [" ", "  ", ", ", " | ", "\t", "; "]


def _key(rng: random.Random, spaced_ok: bool) -> tuple[str, str]:
    """(printed key, expected column name)."""
    n = rng.choice([1, 1, 2, 3]) if spaced_ok else 1
    words = [rng.choice(WORDS) for _ in range(n)]
    if n == 1:
        joined = rng.choice(["_", "/", ""]).join([words[0], rng.choice(WORDS)])
        if rng.random() < 0.15:
            joined = f"D({rng.choice(['x', 'G(z)'])})"
        return joined, joined
    return " ".join(words), "_".join(words)


def _value(rng: random.Random) -> str:
    x = rng.uniform(-50, 50) * 10 ** rng.randint(-6, 3)
    return rng.choice([f"{x:.4f}", f"{x:g}", f"{x:.3e}", f"{x:.6f}", str(round(x, 2))])


def _preamble(rng: random.Random) -> list[str]:
    out: list[str] = []
    for _ in range(rng.choice([0, 3, 40, 300])):
        out.append(
            rng.choice(
                [
                    "  (conv{i}): Conv2d(3, 64, kernel_size=(4, 4), stride=(2, 2), bias=False)",
                    "  (bn{i}): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True)",
                    "option_{i}: {i}",
                    "Loading dataset from /data/celeba ({i} images)",
                    "",
                    "==========",
                ]
            ).format(i=rng.randint(0, 999))
        )
    return out


def _log(seed: int) -> tuple[str, list[int], dict[str, list[tuple[int, float]]]]:
    rng = random.Random(seed)
    form = rng.choice([": ", "=", " ", ":"])
    spaced = form != " "
    keys: list[tuple[str, str]] = []
    while len(keys) < rng.randint(1, 5):
        k = _key(rng, spaced)
        if all(k[1] != e for _, e in keys):
            keys.append(k)
    sep = rng.choice(PAIR_SEPS)
    skey = rng.choice(STEP_KEYS)
    where = rng.randint(0, len(keys))
    stamp = rng.random() < 0.3
    lines = _preamble(rng)
    steps: list[int] = []
    want: dict[str, list[tuple[int, float]]] = {e: [] for _, e in keys}
    step = rng.randint(0, 1000)
    for _ in range(rng.randint(2, 30)):
        step += rng.randint(1, 500)
        pairs = []
        for k, e in keys:
            v = _value(rng)
            pairs.append(f"{k}{form}{v}")
            want[e].append((step, float(v)))
        pairs.insert(where, f"{skey}{form if form != '=' or rng.random() < 0.5 else ': '}{step}")
        line = sep.join(pairs)
        if stamp:
            line = (
                f"[2023-05-0{rng.randint(1, 9)} 1{rng.randint(0, 9)}:0{rng.randint(0, 9)}:11] "
                + line
            )
        lines.append(line)
        steps.append(step)
        if rng.random() < 0.1:
            lines.append("saving samples...")
    return "\n".join(lines) + "\n", steps, want


def test_generated_grammar_round_trips(tmp_path):
    failures = []
    for seed in range(300):
        text, steps, want = _log(seed)
        f = tmp_path / f"log{seed}.log"
        f.write_text(text)
        try:
            assert textlog.detect(f), "not detected"
            r = textlog.load(f)
            assert r.steps.tolist() == steps, "steps"
            assert sorted(r.metrics) == sorted(want), f"names {r.metrics}"
            for name, pts in want.items():
                got = r.series(name)
                assert [(int(i), v) for i, v in got.items()] == pts, name
        except AssertionError as e:
            failures.append(f"seed {seed}: {e}\n{text.splitlines()[-1]!r}")
    assert failures == []


def test_template_slots_match_between_python_and_re2():
    import pyarrow as pa
    import pyarrow.compute as pc

    lines = ["a-3 1--2 -5-3 x.5 +-2 fid50k 12:00:01 1e-5, nan inf info", "[0/5][10/100] D(x): .5"]
    re2 = pc.replace_substring_regex(pa.array(lines), freetext.SLOT, "\\1" + freetext.MARK)
    assert re2.to_pylist() == [freetext.template(x) for x in lines]
    assert np.isfinite(linetemplates.extract(pa.array(lines)).values["D(x)"][1])


def test_tf_stylegan_snapshot_lines_alone(tmp_path):
    f = tmp_path / "fid.txt"
    f.write_text(
        "network-snapshot-000401  time 6m 31s  fid50k_full 84.07\n"
        "network-snapshot-000802  time 12m 02s  fid50k_full 61.5\n"
    )
    assert detect_format(f) == "stylegan-log"
    r = load_run(f)
    assert r.sample_metrics["kimg"].tolist() == [401.0, 802.0]
    assert r.sample_metrics["fid"].tolist() == [84.07, 61.5]
    assert r.sample_metrics["metric_name"].tolist() == ["fid50k_full"] * 2
    assert r.step_unit == "kimg"


def load_run_loss(tmp_path, hparams: dict) -> str | None:
    import yaml

    d = tmp_path / "other"
    d.mkdir()
    (d / "metrics.csv").write_text("step,g_loss\n0,1.0\n1,0.9\n")
    (d / "hparams.yaml").write_text(yaml.safe_dump(hparams))
    return load_run(d).loss


def test_config_hints_in_any_spelling(tmp_path):
    from gananalyze.naming.aliases import config_hints
    from gananalyze.pages.text import info_text

    assert config_hints({"saturating_g_loss": True}) == {
        "g_loss": ("saturating", "saturating_g_loss")
    }
    assert config_hints({"model": {"gan_loss": "Hinge"}, "d_loss_reduction": "MEAN"}) == {
        "loss": ("hinge", "model/gan_loss"),
        "d_loss_reduction": ("mean", "d_loss_reduction"),
    }
    assert config_hints({"loss_type": "wgan-gp", "saturating_g_loss": False}) == {
        "loss": ("wgan-gp", "loss_type")
    }
    d = tmp_path / "lightning_logs" / "version_0"
    d.mkdir(parents=True)
    (d / "metrics.csv").write_text("step,g_loss,d_loss\n0,-0.7,1.4\n1,-0.6,1.3\n")
    (d / "hparams.yaml").write_text("saturating_g_loss: true\nloss_type: lsgan\n")
    r = load_run(d)
    assert load_run_loss(tmp_path, {"model": {"adversarial_loss": "hinge"}}) == "hinge"
    assert r.extra["config_hints"] == {
        "loss": {"value": "lsgan", "key": "loss_type"},
        "g_loss": {"value": "saturating", "key": "saturating_g_loss"},
    }
    text = info_text(r)
    assert "config says: g_loss = saturating (key saturating_g_loss)\n" in text
    assert "loss type:   lsgan (declared by the run)" in text


def test_lightning_root_lists_loggers_and_places_checkpoints(tmp_path):
    from test_importers import write_event_file

    v0 = tmp_path / "lightning_logs" / "version_0"
    (v0 / "checkpoints").mkdir(parents=True)
    rows = "".join(f"{s // 100},{s},{1 + s / 1000},0.5,\n" for s in range(0, 300, 10))
    epoch_rows = "0,99,,,1.05\n1,199,,,1.15\n2,299,,,1.25\n"  # on_epoch=True: *_epoch
    (v0 / "metrics.csv").write_text(
        "epoch,step,g_loss_step,d_loss_step,g_loss_epoch\n" + rows + epoch_rows
    )
    (v0 / "hparams.yaml").write_text("saturating_g_loss: true\n")
    (v0 / "checkpoints" / "epoch=1-step=1200.ckpt").write_bytes(b"x")
    (v0 / "checkpoints" / "epoch=2-step=1800.ckpt").write_bytes(b"x")
    write_event_file(
        tmp_path / "lightning_logs" / "version_1" / "events.out.tfevents.1.h",
        [(s, "g_loss", 1.0, 1.0 + s) for s in range(5)],
    )
    for where in (tmp_path, tmp_path / "lightning_logs"):
        assert detect_format(where) == "lightning"
    r = load_run(tmp_path)
    assert r.format == "csv" and r.extra["lightning"]["read"] == str(v0)
    assert r.extra["source_notes"][:2] == [
        "2 Lightning logger(s) found: lightning_logs/version_0 (csv, 63 points), "
        "lightning_logs/version_1 (tensorboard, 5 points)",
        "read lightning_logs/version_0 (csv): the most logged points",
    ]
    assert [(c.step, c.kind, c.meta["optimizer_step"]) for c in r.checkpoints] == [
        (199, "lightning", 1200),
        (299, "lightning", 1800),
    ]
    assert r.duplicates_replaced == 0
    assert not any("more than once" in w for w in r.warnings)  # _step/_epoch is no resume
    assert r.extra["config_hints"]["g_loss"]["value"] == "saturating"


def test_lightning_images_logged_per_epoch_are_placed_on_the_step_axis(tmp_path):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from torch.utils.tensorboard import SummaryWriter

    v0 = tmp_path / "lightning_logs" / "version_0"
    v0.mkdir(parents=True)
    rows = "".join(f"{s // 100},{s},{1 + s / 1000}\n" for s in range(0, 300, 10))
    (v0 / "metrics.csv").write_text("epoch,step,g_loss\n" + rows)
    w = SummaryWriter(str(tmp_path / "lightning_logs" / "version_1"))
    for e in range(3):  # the tutorial: add_image(..., step=epoch)
        w.add_image("generated_images", np.full((3, 4, 4), e / 3, dtype=np.float32), e)
    w.add_scalar("g_loss", 1.0, 0)
    w.close()
    r = load_run(tmp_path)
    assert [g.step for g in r.samples] == [90, 190, 290]
    assert r.extra["source_notes"][-1] == (
        "image steps 0..2 count epochs (the metrics reach step 290); "
        "3 grid(s) placed at the last logged step of their epoch"
    )


def test_lightning_checkpoints_rebuild_the_generator_from_the_spec(tmp_path):
    torch = pytest.importorskip("torch")
    from gananalyze.errors import GanAnalyzeError
    from gananalyze.metrics.checkpoints import build_generator
    from gananalyze.metrics.sweep import select_checkpoints
    from gananalyze.toyring import Generator

    v0 = tmp_path / "lightning_logs" / "version_0"
    (v0 / "checkpoints").mkdir(parents=True)
    (v0 / "metrics.csv").write_text(
        "epoch,step,g_loss\n" + "".join(f"{s // 10},{s},1.0\n" for s in range(30))
    )
    torch.manual_seed(0)
    g = Generator(latent_dim=2, hidden=8, layers=1)
    sd = {f"generator.{k}": v for k, v in g.state_dict().items()}
    sd["discriminator.net.0.weight"] = torch.zeros(3, 2)
    torch.save(
        {"state_dict": sd, "epoch": 1, "global_step": 40},
        v0 / "checkpoints" / "epoch=1-step=40.ckpt",
    )
    spec = (
        "generator:\n  target: gananalyze.toyring:Generator\n"
        "  kwargs: {latent_dim: 2, hidden: 8, layers: 1}\n"
    )
    (tmp_path / "gananalyze.yaml").write_text(spec + "  state_dict_prefix: generator.\n")
    r = load_run(tmp_path)
    assert detect_format(tmp_path) == "lightning"
    [ck] = select_checkpoints(r)
    assert (ck.step, ck.kind, ck.meta["optimizer_step"]) == (19, "lightning", 40)
    G = build_generator(r, ck, trust=True)
    for k, v in g.state_dict().items():
        assert torch.equal(G.state_dict()[k], v)
    (tmp_path / "gananalyze.yaml").write_text(spec + "  state_dict_prefix: gen.\n")
    r = load_run(tmp_path)
    with pytest.raises(GanAnalyzeError, match="no weights start with the state_dict_prefix 'gen.'"):
        build_generator(r, r.checkpoints[0], trust=True)


@pytest.mark.parametrize(
    "line, step, values",
    [
        (
            "[Epoch 3/200] [Batch 100/938] [D loss: 0.251] [G loss: 0.983]",
            3 * 938 + 100,
            {"D_loss": 0.251, "G_loss": 0.983},
        ),
        ("INFO:root:Step 500: g_loss=1.2, d_loss=0.4", 500, {"g_loss": 1.2, "d_loss": 0.4}),
        (
            "Epoch [5/100] | D Loss: 0.1234 | G Loss: 0.5678",
            5,
            {"D_Loss": 0.1234, "G_Loss": 0.5678},
        ),
        (
            "2024-03-01 10:22:11,532 - INFO - Iter: 1200 | lr: 2.0e-04 | loss_G: 1.23 "
            "| loss_D: 0.5",
            1200,
            {"lr": 2e-4, "loss_G": 1.23, "loss_D": 0.5},
        ),
        # Keras-GAN: the iteration, bare, opens the line
        (
            "12 [D loss: 0.693, acc.: 50.00%] [G loss: 0.70]",
            12,
            {"D_loss": 0.693, "acc.": 50.0, "G_loss": 0.70},
        ),
        # DCGAN-tensorflow: a named epoch, then the batch in bare brackets, spaces inside
        (
            "Epoch: [ 2/25] [  10/ 273] time: 81.2979, d_loss: 1.38, g_loss: 0.71",
            2 * 273 + 10,
            {"time": 81.2979, "d_loss": 1.38, "g_loss": 0.71},
        ),
    ],
)
def test_common_printed_shapes(tmp_path, line, step, values):
    f = tmp_path / "out.log"
    f.write_text(f"{line}\n{line}\n")
    ex = linetemplates.extract(linetemplates.split_lines(f.read_text()))
    counters = {k: v[0] for k, v in ex.counters.items()}
    totals = {k: v[0] for k, v in ex.totals.items()}
    if "batch" in counters:
        assert counters["epoch"] * totals["batch"] + counters["batch"] == step
    else:
        assert max(counters.values()) == step
    assert {k: v[0] for k, v in ex.values.items()} == values


def test_extracted_columns_keep_only_the_names_the_rows_printed():
    import pyarrow as pa

    lines = ["lr: 0.5", "beta1: 0.9", "Step: 1 G: 2.0 D: 3.0", "FID: 40.5", "Step: 2 G: 2.5 D: 3.5"]
    ex = linetemplates.extract(pa.array(lines))
    assert ex.value_counts().tolist() == [1, 1, 2, 1, 2]
    cols, logged = ex.columns(np.array([2, 3, 4]))
    assert list(cols) == ["G", "D", "FID"]
    assert np.allclose(cols["G"], [2.0, np.nan, 2.5], equal_nan=True)
    assert logged["FID"].tolist() == [False, True, False]
    assert np.isnan(ex.values["lr"][1:]).all() and ex.values["lr"][0] == 0.5


def test_nan_values_do_not_leak_into_the_next_key(tmp_path):
    # a DCGAN print whose losses went NaN from its first line: `nan` is a value, not a word
    # of the key after it (the reader named the G loss `nan_Loss_G`)
    f = tmp_path / "output.txt"
    f.write_text(
        "[0/5][10/100]\tLoss_D: nan\tLoss_G: nan\tD(x): nan\n"
        "[0/5][20/100]\tLoss_D: inf\tLoss_G: -inf\tD(x): 0.5\n"
    )
    r = load_run(f)
    assert [c for c in r.scalars.columns if c not in ("step", "epoch")] == [
        "Loss_D",
        "Loss_G",
        "D(x)",
    ]
    nf = r.nonfinite.sort_values(["step", "metric"])
    assert list(zip(nf["step"], nf["metric"], strict=True)) == [
        (10, "D(x)"),
        (10, "Loss_D"),
        (10, "Loss_G"),
        (20, "Loss_D"),
        (20, "Loss_G"),
    ]
    assert freetext.parse("info nan_count: 3 loss: 0.5").values == [
        ("info_nan_count", 2),
        ("loss", 3),
    ]


def test_one_line_of_g_and_d_losses_is_a_log(tmp_path):
    # a run that diverged before its second print: one line, and it is the whole story
    run = tmp_path / "run"
    run.mkdir()
    (run / "output.txt").write_text("[0/1][21/100]\tLoss_D: nan\tLoss_G: nan\n")
    assert detect_format(run) == "textlog"
    from gananalyze.analysis import analyze

    _, d = analyze(run)
    f = next(f for f in d.findings if f.rule == "divergence")
    assert f.severity == "error" and f.start_step == 21
    # one line of other `key: value` text is not a training run
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("epoch: 3 lr: 0.01\n")
    assert textlog.find_log(other) is None
    # the same one line after a preamble of single `key: value` config lines (the lab's
    # 0111, a hinge run at learning rate 2 that was NaN at its first print)
    pre = tmp_path / "pre"
    pre.mkdir()
    (pre / "log.txt").write_text(
        "Loading configuration from configs/experiment.yaml\nConfiguration:\n"
        '  dataset: "grid9"\n  batch_size: 128\n  lr_g: 2.0\nStart training\n'
        "[2026-01-01 12:00:01] Step: 8 Progress: 0.3% Gen_loss: nan Dis_loss: nan\n"
    )
    assert textlog.value_lines(pre / "log.txt") == 1
    _, d = analyze(pre)
    f = next(f for f in d.findings if f.rule == "divergence")
    assert f.severity == "error" and f.start_step == 8


def test_a_log_opening_on_a_bracketed_word_is_no_json_and_a_bare_number_no_counter(tmp_path):
    # PyTorch-GAN's print as the first line: read, not skipped as a JSON array
    f = tmp_path / "train_log.txt"
    f.write_text(
        "".join(f"[Epoch {e}/100] [D loss: 0.0000] [G loss: {14 + e:.4f}]\n" for e in range(6))
    )
    assert textlog.value_lines(f) == 6
    r = load_run(tmp_path)
    assert list(r.scalars["step"]) == [0, 1, 2, 3, 4, 5]
    # a JSON array still is one
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "log.txt").write_text('[{"step": 1, "loss": 0.5}]\n')
    assert textlog.value_lines(tmp_path / "j" / "log.txt") == 0
    # TensorFlow's printed variable table (`[112640, bytes: 450560]`) holds no counter
    sh = freetext.parse("generator/g_h0_lin/Matrix:0 (float32_ref 110x1024) [112640, bytes: 4]")
    assert sh.counters == {}


def test_values_in_brackets_after_their_keys_are_read(tmp_path):
    # an SRGAN-style print: `Epoch [0] Batch [n] Disc Loss [x] Gen Loss [y]`
    lines = [
        f"Epoch [0] Batch [{b}] Disc Loss [{1.47 - 0.002 * b:.4f}] "
        f"Gen Loss [{0.53 - 0.002 * b:.4f}]"
        for b in range(1, 31)
    ]
    (tmp_path / "losses.txt").write_text("\n".join(lines) + "\n")
    r = load_run(tmp_path)
    assert r.format == "textlog" and list(r.scalars["step"]) == list(range(1, 31))
    assert (r.column("D_loss"), r.column("G_loss")) == ("Disc_Loss", "Gen_Loss")
    assert r.scalars["Gen_Loss"].iloc[-1] == pytest.approx(0.47)
    # a bracketed number after words that name no value stays what it was
    assert freetext.parse("generator/x:0 (float32_ref 110x1024) [112640, bytes: 4]").counters == {}


def _basicsr_line(it: int, epoch: int, g: float, dr: float, df: float) -> str:
    # BasicSR's MessageLogger: `iter:{current_iter:8,d}` prints thousands separators
    return (
        f"2021-08-01 10:00:00,000 INFO: [train..][epoch:{epoch:3d}, iter:{it:8,d}, "
        f"lr:(1.000e-04,)] [eta: 5 days, 1:02:03, time (data): 0.512 (0.004)] "
        f"l_g_pix: 1.2000e-02 l_g_percep: 3.1000e+00 l_g_gan: {g:.4e} l_d_real: {dr:.4e} "
        f"out_d_real: 1.1000e+00 l_d_fake: {df:.4e} out_d_fake: -9.8000e-01 "
    )


def test_basicsr_log_counts_iterations_with_thousands_separators(tmp_path):
    from gananalyze.naming.roles import gan_views

    head = (
        "2021-08-01 10:00:00,000 INFO: \n"
        "  gan_opt:[\n    type: GANLoss\n    gan_type: vanilla\n  ]\n"
    )
    its = list(range(500, 25_001, 500))  # 500 .. 25,000, an epoch every 5,000
    body = [_basicsr_line(i, i // 5000, 0.07 + i * 1e-7, 0.5, 0.45) for i in its]
    f = tmp_path / "train_RealESRGANx4plus_20210801_100000.log"
    f.write_text(head + "\n".join(body) + "\n")
    r = load_run(f)
    assert (r.steps.tolist(), r.step_unit) == (its, "iteration")  # a global iteration count
    assert r.series("l_g_gan").to_numpy()[-1] == pytest.approx(0.0725)
    assert r.column("G_loss") == "l_g_gan"
    # l_d_real / l_d_fake are the D loss's two BCE terms (not D(x)); out_d_* are D's logits
    assert [v.columns for v in gan_views(r)] == [{"D_loss": ("l_d_real", "l_d_fake")}]
    assert (r.column("D_x"), r.column("D_x_logit")) == (None, "out_d_real")


@pytest.mark.parametrize(
    "line, step, total",
    [
        ("Step 1,200/10,000 loss: 0.5", 1200, 10000),
        ("Iter [12,345,678/20,000,000] loss_gen: 0.5", 12345678, 20000000),
        ("iteration=1,000 loss: 0.5", 1000, None),
    ],
)
def test_thousands_separators_in_counters(line, step, total):
    assert freetext.normalise(line).split(" loss")[0].count(",") == 0
    shape = freetext.parse(line)
    kind = next(iter(shape.counters))
    arr = linetemplates.split_lines(line + "\n" + line.replace("0.5", "0.25") + "\n")
    ex = linetemplates.extract(arr)
    assert ex.counters[kind].tolist() == [step, step]
    if total is not None:
        assert ex.totals[kind].tolist() == [total, total]
    assert ex.values[[n for n, _ in shape.values][0]].tolist() == [0.5, 0.25]


def test_a_list_of_numbers_is_not_a_grouped_counter():
    # only a counter's value (or a total after `/`) loses its commas
    assert freetext.normalise("shape: [64,128,128] loss: 1") == "shape: [64,128,128] loss: 1"
    assert freetext.normalise("lr: 1,000 loss: 1") == "lr: 1,000 loss: 1"


def test_the_time_left_is_not_a_metric():
    # MMCV: `eta: 12 days, 12:08:40`; BasicSR: `[eta: 5 days, 1:02:03, time (data): 0.512 ...]`
    line = (
        "Iter [1/30000]\tlr_generator: 1.000e-05, eta: 12 days, 12:08:40, time: 36.0, "
        "loss_gen: 0.45"
    )
    assert [n for n, _ in freetext.parse(line).values] == ["lr_generator", "time", "loss_gen"]


def test_a_loggers_source_line_is_not_a_metric():
    # absl / glog (TensorFlow, JAX): `I1205 10:00:00.123456 140245 train.py:245] ...`; a
    # Python logging format with `%(filename)s: %(lineno)4d`: `[INFO: train.py:  278]: ...`
    absl = "I1205 10:00:00.123456 140245 train.py:245] Step 100: d_loss=1.2421, g_loss=0.9259"
    shape = freetext.parse(absl)
    assert [n for n, _ in shape.values] == ["d_loss", "g_loss"] and "step" in shape.counters
    line = "[INFO: train.py:  280]:   [D] D_data_loss: 1.386"
    assert [n for n, _ in freetext.parse(line).values] == ["D_data_loss"]
    assert [n for n, _ in freetext.parse("model.cc:12 loss: 0.5 step: 3").values] == ["loss"]


def test_a_sentences_full_stop_ends_a_value():
    # TensorFlowTTS logs one metric a line, each a sentence
    line = "[WARNING] (Step: 1200) train_adversarial_loss = 0.7722."
    shape = freetext.parse(line)
    assert [n for n, _ in shape.values] == ["train_adversarial_loss"] and "step" in shape.counters
    # a dot inside a version is not a full stop
    shape = freetext.parse("torch 1.13.1 | step: 3 | loss: 0.5")
    assert [n for n, _ in shape.values] == ["loss"]


def test_a_twelve_hour_clocks_mark_is_not_part_of_a_key():
    # Python logging's `datefmt='%m/%d/%Y %I:%M:%S %p'`: the counter after PM is the epoch
    line = "20/06/2017 02:23:29 PM Epoch: [ 3] [3164/3165] time: 1273.0494, dis_loss: 0.0712"
    shape = freetext.parse(line)
    assert "epoch" in shape.counters and [n for n, _ in shape.values] == ["time", "dis_loss"]


def test_one_off_lines_before_training_are_preamble(tmp_path):
    # BasicSR prints totals, a resume and network sizes (with counters and numbers) before its
    # first training line; an evaluation at step 0 that training's lines repeat is kept
    head = [
        "\tTotal epochs: 6350; iters: 400000.",
        "INFO: Network: RRDBNet, with parameters: 16,697,987",
        "INFO: Network: UNetDiscriminatorSN, with parameters: 4,376,897",
        "INFO: Resuming training from epoch: 5158, iter: 320000.",
        "INFO: Start training from epoch: 5158, iter: 320000",
        "INFO: step: 320000 fid: 31.5",
    ]
    body = [f"INFO: step: {s} g_loss: 0.5 d_loss: 0.25" for s in range(320100, 321001, 100)]
    body.insert(5, "INFO: step: 320500 fid: 30.25")
    f = tmp_path / "train.log"
    f.write_text("\n".join(head + body) + "\n")
    r = load_run(f)
    assert r.steps.tolist() == [320000, *range(320100, 321001, 100)]
    assert set(r.metrics) == {"g_loss", "d_loss", "fid"}
    assert r.series("fid").dropna().to_dict() == {320000: 31.5, 320500: 30.25}
    assert r.extra["lines"]["read"] == 12


def test_records_of_several_lines_under_one_counter_line(tmp_path):
    # stdout saved into a notes file (.md): `epoch 1:` heads two lines of different losses
    lines = ["Starting training"]
    for e in range(1, 31):
        lines += [f"Start ep num  {e}", f"epoch {e}:"]
        lines += [f"loss_D: {0.4 - e / 100:.3f}, loss_G_fake: {0.3 + e / 100:.3f},  ", ""]
        lines += [f"loss_perturb: {6.8 - e / 10:.3f}, loss_adv: 7.296, ", ""]
    f = tmp_path / "train_resnet56.md"
    f.write_text("\n".join(lines) + "\n")
    r = load_run(tmp_path)
    assert (r.steps.tolist(), r.step_unit) == (list(range(1, 31)), "epoch")
    assert r.series("loss_perturb").tolist()[:2] == [6.7, 6.6]
    assert r.column("D_loss") == "loss_D" and r.duplicates_replaced == 0
    assert r.extra["lines"]["read"] == 60 and r.extra["lines"]["ignored"] == 31


def test_a_counter_named_with_its_numbers_word_heads_its_record(tmp_path):
    # a PaddlePaddle notebook: `Epoch ID=e, Batch ID=b ` / blank / ` D-Loss=d, G-Loss=g`
    lines = []
    for e in range(4):
        for b in (0, 900, 1800):
            lines += [f"Epoch ID={e}, Batch ID={b} ", "", f" D-Loss={0.5 - e / 10}, G-Loss=3.9"]
    (tmp_path / "training_output.txt").write_text("\n".join(lines) + "\n")
    r = load_run(tmp_path)
    assert r.step_unit == "iteration" and len(r.steps) == 12
    assert r.steps.tolist()[:4] == [0, 900, 1800, 2700]  # 2700 a epoch, from the batches
    assert r.series("D_loss").tolist()[::3] == [0.5, 0.4, 0.3, 0.2]
    assert freetext.parse("iter_num: 5 loss_d: 0.3").counters == {"iter": (0, None)}


def test_a_record_printing_a_key_twice_is_no_record(tmp_path):
    # a counter line then two lines of the same keys: two measurements, never merged into one
    lines = []
    for e in range(1, 21):
        lines += [
            f"epoch {e}:",
            f"loss_D: 0.{e:02d} loss_G: 1.5",
            f"loss_D: 0.{e + 50:02d} loss_G: 2",
        ]
    f = tmp_path / "log.txt"
    f.write_text("\n".join(lines) + "\n")
    r = load_run(f)
    assert r.step_unit == "row" and len(r.steps) == 40


def test_ctgan_progress_bar_redrawn_with_carriage_returns(tmp_path):
    # ctgan >= 0.10 with verbose=True: a tqdm bar whose description holds the losses of the
    # epoch just done, redrawn (\r) when the description changes and when the count moves
    parts = ["  0%|          | 0/40 [00:00<?, ?it/s]"]
    desc = "Gen. (+00.00) | Discrim. (+00.00)"
    for e in range(1, 41):
        parts.append(f"{desc}:   {e - 1:>2}%|          | {e - 1}/40 [00:00<00:05,  3.37it/s]")
        desc = f"Gen. ({1.5 - e / 40:+06.2f}) | Discrim. ({-0.1 * e / 40:+06.2f})"
        parts.append(f"{desc}:   {e - 1:>2}%|          | {e - 1}/40 [00:00<00:05,  3.37it/s]")
        parts.append(f"{desc}:   {e:>2}%|▎         | {e}/40 [00:00<00:05,  3.37it/s]")
    f = tmp_path / "stdout.txt"
    f.write_text("\r".join(parts) + "\nfit took 12.5s\n")
    r = load_run(f)
    assert r.steps.tolist() == list(range(1, 41))  # count 0's placeholder left out
    assert r.series("Gen.").tolist()[:2] == [1.48, 1.45]  # epoch 1's losses at count 1
    assert (r.column("G_loss"), r.column("D_loss")) == ("Gen.", "Discrim.")
    assert r.duplicates_replaced == 0 and "%" not in "".join(r.metrics)


def test_a_key_printed_right_after_a_tqdm_bar(tmp_path):
    # a Keras notebook's epoch loop printing its losses glued to the tqdm bar (anoGAN issue):
    # the bar's closing bracket ends the bar, so `dloss` is a key, not the bar's tail
    lines = [
        f"  0%|          | {e}/3000 [00:{e + 10}<13:40:35, 16.42s/it]dloss: {1e-4 / e!r}\t"
        "g_loss: 16.11809539794922"
        for e in range(1, 6)
    ]
    f = tmp_path / "train_log.txt"
    f.write_text("\n".join(lines) + "\n")
    r = load_run(f)
    assert r.steps.tolist() == [1, 2, 3, 4, 5]
    assert (r.column("G_loss"), r.column("D_loss")) == ("g_loss", "dloss")
    assert r.series("dloss").tolist() == [1e-4, 5e-5, 1e-4 / 3, 2.5e-5, 2e-5]


def test_a_value_in_parentheses_after_its_key():
    assert [n for n, _ in freetext.parse("Gen. (+01.21) | Discrim. (-00.02)").values] == [
        "Gen.",
        "Discrim.",
    ]
    # a printed call's argument and a value's own spread in parentheses are not
    assert freetext.parse("Conv2d(64, 128)").values == []
    assert [n for n, _ in freetext.parse("time (data): 0.512 (0.004)").values] == ["time (data)"]


def test_a_new_key_on_every_line_is_bounded_and_named(tmp_path, monkeypatch):
    # keys x lines dense values: 900,000 keys over 30,000 lines asked for 24 GB; the names
    # printed most often are kept within the bound, the rest named in one warning
    monkeypatch.setattr(linetemplates, "MAX_EMPTY", 300)
    f = tmp_path / "train.log"
    lines = [f"Step [{i}/100] loss_g: 1.5, loss_d: 0.5, m_{i}: 7\n" for i in range(100)]
    f.write_text("".join(lines))
    r = load_run(f)
    assert list(r.scalars.columns) == ["step", "loss_g", "loss_d", "m_0", "m_1", "m_2"]
    assert r.series("loss_g").tolist() == [1.5] * 100
    assert (
        f"{f}: 102 different value names over 100 rows, more than can be held (at most "
        "10,000 names and 300 values missing from their lines); the 97 printed least often "
        "are left out"
    ) in r.warnings


def test_a_step_past_64_bits_is_skipped_not_a_restart_at_minus_2_63(tmp_path):
    # the step became -2**63 and, as a restart, replaced every earlier row
    f = tmp_path / "train.log"
    steps = [0, 10, 20, 99999999999999999999999, 30]
    f.write_text(
        "".join(f"Step [{s}/100] loss_g: {i}.5, loss_d: 0.5\n" for i, s in enumerate(steps))
    )
    r = load_run(f)
    assert r.steps.tolist() == [0, 10, 20, 30]
    assert r.series("loss_g").tolist() == [0.5, 1.5, 2.5, 4.5]
    assert r.warnings == [f"{f}: 1 line(s) whose step does not fit 64 bits skipped (line 4 first)"]


def test_a_folder_of_runs_each_with_its_own_log_is_named_not_guessed(tmp_path):
    # a sweep folder (one run a subfolder): which run `check` judged was a guess (the log
    # with most value lines); now the runs are named, and `compare` takes them all
    lines = "\n".join(
        f"it={i * 50} lossD={0.6 + i / 1000:.3f} lossG={1.1 - i / 1000:.3f}" for i in range(60)
    )
    for run in ("healthy", "collapse"):
        (tmp_path / run).mkdir()
        (tmp_path / run / "training.log").write_text(lines + "\n")
    with pytest.raises(GanAnalyzeError) as e:
        load_run(tmp_path)
    assert str(e.value) == (
        f"{tmp_path}: 2 runs here, each with its own text log (collapse/training.log, "
        "healthy/training.log); point gananalyze at one of them, or compare them: "
        f"gananalyze compare {tmp_path}/*"
    )
    assert load_run(tmp_path / "healthy").scalars["step"].iloc[-1] == 2950
    # a run's own log beside one in a subfolder: still one run, its log with most lines read
    (tmp_path / "collapse" / "eval").mkdir()
    (tmp_path / "collapse" / "eval" / "eval.log").write_text(
        "it=0 lossD=0.7 lossG=0.7\nit=50 lossD=0.7 lossG=0.7\n"
    )
    r = load_run(tmp_path / "collapse")
    assert len(r.scalars) == 60


def test_sample_grids_saved_beside_the_log_are_attached_by_their_step(tmp_path):
    """A user's trainer printing `step N` lines and saving `samples/step_%06d.png` grids: the
    grids are the run's samples at their steps, and `info`'s notes say where they came from."""
    from PIL import Image

    (tmp_path / "samples").mkdir()
    lines = [f"step {s} d_loss: 0.6{s % 7} g_loss: 1.{s % 9}" for s in range(0, 3001, 100)]
    (tmp_path / "train.log").write_text("\n".join(lines) + "\n")
    for s in (1000, 2000, 3000):
        Image.new("RGB", (34, 34)).save(tmp_path / "samples" / f"step_{s:06d}.png")
    run = load_run(tmp_path)
    assert run.format == "textlog"
    assert [(g.step, g.tag) for g in run.samples] == [
        (1000, "samples/step_#.png"),
        (2000, "samples/step_#.png"),
        (3000, "samples/step_#.png"),
    ]
    assert run.extra["source_notes"][-1] == (
        f"3 sample grid(s) attached from {tmp_path.name}/samples/step_#.png, numbered "
        "1000..3000: the number is the step (by the name)"
    )


def test_a_counter_with_its_total_in_words_is_a_counter_not_a_value(tmp_path):
    # Keras' ACGAN example prints `Epoch 2 of 50` above each epoch's losses: `of` is no metric
    lines = []
    for e in range(1, 4):
        lines += [f"Epoch {e} of 50", f"d_loss: {0.8 - e / 10:.1f} g_loss: {0.7 + e / 10:.1f}"]
    (tmp_path / "train.log").write_text("\n".join(lines) + "\n")
    run = load_run(tmp_path)
    assert "of" not in run.scalars.columns
    assert run.steps.tolist() == [1, 2, 3] and run.step_unit == "epoch"
    assert run.series("d_loss").tolist() == [0.7, 0.6, 0.5]


def test_two_trainings_writing_one_log_at_once_are_named(tmp_path):
    # two processes restored from one checkpoint append to one file, their lines alternating:
    # the epoch goes back at every other line, which no resume does
    lines = []
    for e in range(12):
        lines.append(f"Epoch: [{e:2d}] [99/100] d_loss: {0.5 + e / 100:.4f}, g_loss: 1.5")
        if e < 8:
            lines.append(f"Epoch: [{e // 2:2d}] [99/100] d_loss: 0.0100, g_loss: 9.5")
    (tmp_path / "train.log").write_text("\n".join(lines) + "\n")
    run = load_run(tmp_path)
    (w,) = [w for w in run.warnings if "restarted inside the log" in w]
    assert w.endswith(
        "The step went back 7 times in 20 rows: two or more trainings seem to write this log "
        "at once (interleaved lines), so what is read mixes them"
    )
    one = tmp_path / "one"
    one.mkdir()
    (one / "train.log").write_text("\n".join(lines[:16:2] + lines[:16:2][3:]) + "\n")
    (w,) = [w for w in load_run(one).warnings if "restarted inside the log" in w]
    assert "trainings seem to write" not in w  # one resume is a resume
