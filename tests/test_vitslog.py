"""The VITS-family train.log reader (importers/vitslog.py): unnamed loss lists named by
their length from the trainers' train.py, on small synthetic logs in the trainers' shapes."""

from __future__ import annotations

import numpy as np
import pytest

from gananalyze.analysis.rules import diagnose
from gananalyze.errors import GanAnalyzeError
from gananalyze.importers import vitslog
from gananalyze.loader import detect_format, load_run

PRE = "2023-02-18 17:41:42,594\t32k\tINFO\t"
CFG = (
    "{'train': {'log_interval': 200, 'learning_rate': 0.0001, 'batch_size': 12, 'c_mel': 45}, "
    "'data': {'sampling_rate': 32000}, 'model_dir': './logs\\\\32k'}"
)


def _so_vits(n: int = 3, every: int = 200) -> str:
    out = [PRE + CFG, PRE + "Loaded checkpoint './logs/32k/G_0.pth' (iteration 1)"]
    for i in range(n):
        d, g = 2.4 + 0.01 * i, 2.3 - 0.01 * i
        out += [
            PRE + f"Train Epoch: {1 + 4 * i} [0%]",
            PRE + f"[{d}, {g}, 5.5, {20.0 - i}, 1.0, {every * i}, 9.99e-05]",
            PRE + f"====> Epoch: {1 + 4 * i}",
        ]
    return "\n".join(out) + "\n"


def test_so_vits_list_is_named_from_the_trainer(tmp_path):
    (tmp_path / "logs" / "32k").mkdir(parents=True)
    (tmp_path / "logs" / "32k" / "train.log").write_text(_so_vits(), encoding="utf-8")
    assert detect_format(tmp_path) == "vits-log"
    r = load_run(tmp_path)
    assert r.format == "vits-log"
    assert r.scalars["step"].tolist() == [0, 200, 400]
    assert r.scalars["epoch"].tolist() == [1.0, 5.0, 9.0]
    assert r.metrics == ["loss_disc", "loss_gen", "loss_fm", "loss_mel", "loss_kl", "lr"]
    assert r.scalars["loss_mel"].tolist() == [20.0, 19.0, 18.0]
    assert r.column("D_loss") == "loss_disc" and r.column("G_loss") == "loss_gen"
    assert r.loss == "lsgan"
    assert r.config["train"]["c_mel"] == 45
    assert "3 loss list(s) read (layout: 3 so-vits-svc)" in r.extra["source_notes"][0]
    assert r.extra["summed_discriminators"] == 6
    assert r.extra["source_notes"][0].endswith("(6: the rules read them divided by 6)")


def test_vits_list_of_eight_has_a_duration_loss(tmp_path):
    lines = [
        "INFO:ljs_base:Train Epoch: 1 [0%]",
        "INFO:ljs_base:[2.6, 2.3, 5.1, 30.2, 1.9, 4.1, 0, 0.0002]",
    ]
    lines += [
        "INFO:ljs_base:Train Epoch: 2 [50%]",
        "INFO:ljs_base:[2.5, 2.4, 6.0, 25.0, 1.5, 2.2, 200, 0.0002]",
    ]
    p = tmp_path / "train.log"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = load_run(p)
    assert r.metrics == [
        "loss_disc",
        "loss_gen",
        "loss_fm",
        "loss_mel",
        "loss_dur",
        "loss_kl",
        "lr",
    ]
    assert r.scalars["step"].tolist() == [0, 200]
    assert r.scalars["loss_dur"].tolist() == [1.9, 1.5]


def test_named_step_and_lr_after_the_losses(tmp_path):
    """so-vits-svc 4.x: `Losses: [5 numbers], step: N, lr: x, reference_loss: y`."""
    body = (
        PRE
        + "Train Epoch: 3 [40%]\n"
        + PRE
        + "Losses: [2.41, 2.28, 9.5, 18.25, 1.1], step: 400, lr: 9.99e-05, reference_loss: 33.54\n"
    )
    p = tmp_path / "train.log"
    p.write_text(body, encoding="utf-8")
    r = load_run(p)
    assert r.scalars["step"].tolist() == [400]
    assert r.scalars["loss_gen"].tolist() == [2.28]
    assert r.scalars["reference_loss"].tolist() == [33.54]


def _rvc_log(path, prints: list[tuple[int, float, float]], mel: float = 26.703):
    """An RVC train.log: per print (step, loss_disc, loss_gen), the losses named on the line
    after `[global_step, lr]`."""
    lines = []
    for k, (step, d, g) in enumerate(prints):
        lines += [
            f"INFO:robg:Train Epoch: {k + 1} [0%]",
            f"INFO:robg:[{step}, 0.0001]",
            f"INFO:robg:loss_disc={d}, loss_gen={g}, loss_fm=10.796,loss_mel={mel}, loss_kl=9.000",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rvc_losses_named_on_the_line_after_step_and_lr(tmp_path):
    p = _rvc_log(tmp_path / "train.log", [(0, 4.107, 4.434), (10, 3.9, 4.434), (20, 3.5, 4.434)])
    r = load_run(p)
    assert r.scalars["step"].tolist() == [0, 10, 20]
    assert r.scalars["loss_disc"].tolist() == [4.107, 3.9, 3.5]
    assert r.scalars["loss_mel"].tolist() == [26.703] * 3
    assert "layout: 3 RVC" in r.extra["source_notes"][0]
    # RVC v1 has VITS's 6 sub-discriminators, v2 9: without its version, v2 (RVC's default)
    # is assumed and said (read as one discriminator, a D at RVC v2's chance 4.5 would be 9x
    # the 0.5 of least squares: "never reached chance")
    assert r.extra["summed_discriminators"] == 9
    assert r.extra["source_notes"][0].endswith(
        "(9: the rules read them divided by 9); RVC v2 assumed: the log prints no version"
    )


def test_rvc_without_a_version_is_read_per_discriminator_as_v2(tmp_path):
    prints = [(100 * k, 4.0 + 0.3 * (k % 3 - 1), 3.5 - 0.2 * (k % 2)) for k in range(30)]
    d = diagnose(load_run(_rvc_log(tmp_path / "train.log", prints, mel=22.1)))
    assert d.context["equilibrium"]["summed"] == 9
    assert any(
        "add up 9 discriminators' losses (RVC v2 assumed: the log prints no version)" in n
        for n in d.context["equilibrium"]["notes"]
    )
    assert not [f for f in d.findings if f.severity != "info"]


def test_unknown_length_keeps_step_and_says_so(tmp_path):
    p = tmp_path / "train.log"
    p.write_text(
        PRE + "Train Epoch: 1 [0%]\n" + PRE + "[1.5, 2.5, 3.5, 100, 0.0001]\n", encoding="utf-8"
    )
    r = load_run(p)
    assert r.scalars["step"].tolist() == [100]
    assert r.metrics == ["value_1", "value_2", "value_3", "lr"]
    assert any("1 loss list(s) of a length no VITS trainer prints" in w for w in r.warnings)


def test_resumed_session_replaces_the_rows_it_repeats(tmp_path):
    text = _so_vits(3) + _so_vits(2)  # a second session from step 0 again
    p = tmp_path / "train.log"
    p.write_text(text, encoding="utf-8")
    r = load_run(p)
    assert r.scalars["step"].tolist() == [0, 200]  # the 2nd session's rows, from its step 0 on
    assert np.isclose(r.scalars["loss_disc"].iloc[1], 2.41)
    assert any(
        "training restarted inside the log (2 sections); 3 earlier row(s)" in w for w in r.warnings
    )


def test_header_without_a_list_is_named(tmp_path):
    p = tmp_path / "train.log"
    p.write_text(
        _so_vits(2) + PRE + "Train Epoch: 9 [0%]\n" + PRE + "Saving model\n", encoding="utf-8"
    )
    r = load_run(p)
    assert len(r.scalars) == 2
    assert any(
        w.endswith("train.log:9: 'Train Epoch' line with no list of losses after it")
        for w in r.warnings
    )


def test_plain_logs_are_not_vits(tmp_path):
    p = tmp_path / "log.txt"
    p.write_text("[Epoch 1/5] [D loss: 0.5] [G loss: 1.2]\nTrain Epoch: 1 [0%] loss: 0.3\n")
    assert not vitslog.detect(p)
    with pytest.raises(GanAnalyzeError, match="no VITS train.log"):
        vitslog.load(p)


def test_bytes_that_are_not_text_are_named(tmp_path):
    p = tmp_path / "train.log"
    p.write_bytes(_so_vits(2).encode() + b"\x00\xff garbage\n")
    r = load_run(p)
    assert len(r.scalars) == 2
    assert any(
        w.endswith(
            "train.log: 1 line(s) hold bytes that are not text (first: line 9); "
            "read as far as they parse"
        )
        for w in r.warnings
    )


def test_a_healthy_vits_d_is_judged_per_discriminator(tmp_path):
    # 30 prints of a D a little ahead of chance: loss_disc 2.4 of the 3.0 six sub-Ds score at
    # chance, loss_gen 2.3 (1.5 at chance). Against one D's 0.5 it looked worse than chance
    rng = np.random.default_rng(0)
    out = [PRE + CFG]
    for i in range(30):
        d, g = 2.4 + 0.05 * rng.standard_normal(), 2.3 + 0.05 * rng.standard_normal()
        out += [
            PRE + f"Train Epoch: {i + 1} [0%]",
            PRE + f"[{d}, {g}, 5.5, 20.0, 1.0, {200 * i}, 1e-4]",
        ]
    (tmp_path / "train.log").write_text("\n".join(out) + "\n", encoding="utf-8")
    from gananalyze.analysis.rules import diagnose

    d = diagnose(load_run(tmp_path))
    assert not [f.rule for f in d.findings if f.severity != "info"]
    assert d.context["equilibrium"]["summed"] == 6
    assert d.context["equilibrium"]["notes"][0] == (
        "D and G losses read per discriminator: the logged ones add up 6 discriminators' "
        "losses (vits-log log), so they are divided by 6"
    )
    (f,) = [f for f in d.findings if f.rule == "healthy_equilibrium"]
    assert "D loss (loss_disc / 6) 0.4" in f.message
