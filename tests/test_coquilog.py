"""The coqui trainer log reader (importers/coquilog.py): trainer_0_log.txt in the shapes coqui's
ConsoleLogger writes (a GLOBAL_STEP header over one value a line, evaluation blocks, colour
codes), on small synthetic logs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gananalyze.errors import GanAnalyzeError
from gananalyze.importers import coquilog
from gananalyze.loader import detect_format, load_run

B, E = "\x1b[1m", "\x1b[0m"


def _step(step: int, total: int, g: int, d: float, gen: float, time: bool = False) -> str:
    when = "TIME: 2024-02-25 01:58:59 -- " if time else ""
    return (
        f"\n{B}   --> {when}STEP: {step}/{total} -- GLOBAL_STEP: {g}{E}\n"
        f"     | > loss_disc: {d:.5f}  ({d + 0.1:.5f})\n"
        f"     | > loss_disc_real_0: 0.25000  (0.26000)\n"
        f"     | > loss_disc_real_1: 0.24000  (0.25000)\n"
        f"     | > loss_0: {d:.5f}  ({d + 0.1:.5f})\n"
        f"     | > grad_norm_0: tensor(8.1043, device='cuda:0')  "
        "(tensor(17.1827, device='cuda:0'))\n"
        f"     | > loss_gen: {gen:.5f}  ({gen + 0.1:.5f})\n"
        f"     | > loss_mel: 19.08429  (23.57030)\n"
        f"     | > current_lr_0: 0.00020 \n"
        f"     | > step_time: 1.31510  (1.38766)\n"
    )


def _eval(d: float, diff: float) -> str:
    color = "\x1b[92m" if diff < 0 else "\x1b[91m"
    return (
        f"\n{B} > EVALUATION {E}\n\n"
        f"\n  {B}--> EVAL PERFORMANCE{E}\n"
        f"     | > avg_loader_time:{color} 0.25000 {E}({diff:+.5f})\n"
        f"     | > avg_loss_disc:{color} {d:.5f} {E}({diff:+.5f})\n"
        f"     | > avg_loss_gen:{color} 1.70000 {E}({diff:+.5f})\n"
    )


def _vits_log(epochs: int = 3, first: int = 1000000) -> str:
    out = [
        " > Training Environment:\n | > Current device: 0\n | > Num. of GPUs: 1\n",
        " > Restoring Model...\n | > Layer missing in the checkpoint: disc.nets.0.convs.0.bias\n",
        " | > 856 / 969 layers are restored.\n > Model restored from step 1000000\n",
    ]
    g = first
    for e in range(epochs):
        out.append(f"\n\x1b[4m{B} > EPOCH: {e}/1000{E}\n --> /content/run\n")
        out.append(f"\n{B} > TRAINING (2022-11-03 10:47:31) {E}\n")
        for s in (10, 30):
            out.append(_step(s, 36, g + s, 3.0 - 0.01 * e, 1.5 + 0.01 * s))
        out.append(_eval(2.9 + 0.01 * e, -0.01 if e else 0.0))
        g += 36
    return "".join(out)


VITS_CONFIG = {
    "run_name": "vits-tts-finetune",
    "print_step": 25,
    "model": "vits",
    "model_args": {"periods_multi_period_discriminator": [2, 3, 5, 7, 11]},
    "max_audio_len": float("inf"),
}


def test_vits_steps_values_eval_and_config(tmp_path):
    (tmp_path / "trainer_0_log.txt").write_text(_vits_log(), encoding="utf-8")
    (tmp_path / "config.json").write_text(json.dumps(VITS_CONFIG), encoding="utf-8")
    assert detect_format(tmp_path) == "coqui-log"
    r = load_run(tmp_path)
    assert r.format == "coqui-log"
    # GLOBAL_STEP, not the per-epoch STEP; each epoch's evaluation at its last step (+ 36 - 30)
    assert r.scalars["step"].tolist() == [
        1000010, 1000030, 1000036, 1000046, 1000066, 1000072, 1000082, 1000102, 1000108
    ]  # fmt: skip
    d = r.scalars["loss_disc"].to_numpy()
    assert np.allclose(d[[0, 1, 3, 4]], [3.0, 3.0, 2.99, 2.99])  # the current value, not (avg)
    assert np.isnan(d[2])
    assert r.scalars["grad_norm_0"].iloc[0] == pytest.approx(8.1043)  # tensor(...) printed
    assert r.scalars["current_lr_0"].iloc[0] == pytest.approx(0.0002)
    assert r.scalars["val/loss_disc"].dropna().tolist() == [2.9, 2.91, 2.92]
    assert "val/loss_disc" in r.metrics and "avg_loss_disc" not in r.metrics
    assert r.scalars["epoch"].tolist()[:3] == [0.0, 0.0, 0.0]
    assert r.column("D_loss") == "loss_disc" and r.column("G_loss") == "loss_gen"
    assert r.loss == "lsgan"
    assert r.config["model"] == "vits"
    assert r.extra["summed_discriminators"] == 6
    notes = r.extra["source_notes"]
    assert notes[0] == (
        "trainer_0_log.txt: 6 step record(s) read (GLOBAL_STEP; the running averages in "
        "parentheses not read), 3 evaluation block(s) as val/<name>"
    )
    assert notes[-1] == (
        "loss_disc / loss_gen add up 6 sub-discriminators' least-squares losses (config.json: "
        "model vits, 5 periods + 1 scale); the rules read them divided by 6"
    )
    assert r.warnings == []


def test_newer_header_with_time_and_no_config(tmp_path):
    text = "".join(_step(s, 652, 191000 + s, 2.7, 2.1, time=True) for s in (100, 200, 300))
    p = tmp_path / "trainer_0_log.txt"
    p.write_text(text, encoding="utf-8")
    r = load_run(p)
    assert r.scalars["step"].tolist() == [191100, 191200, 191300]
    assert r.config == {}
    # without a config the log's own loss_disc_real_0 .. 1 say how many sub-Ds add up
    assert r.extra["summed_discriminators"] == 2


def test_hifigan_epoch_summary_and_adversarial_role(tmp_path):
    """Older coqui TTS (HiFi-GAN): per-step prints, a TRAIN PERFORMACE block of the epoch's
    averages with its own GLOBAL_STEP, and G_loss as G's total."""
    rec = (
        "\n > EPOCH: 112/10000\n\n > TRAINING (2022-01-27 03:08:18) \n\n"
        "   --> STEP: 6/15 -- GLOBAL_STEP: {g}\n"
        "     | > G_l1_spec_loss: 0.34856  (0.35474)\n"
        "     | > G_mse_fake_loss: {gf}  (0.66360)\n"
        "     | > G_feat_match_loss: 0.11598  (0.11710)\n"
        "     | > G_loss: 17.51840  (17.79780)\n"
        "     | > G_gen_loss: 15.68507  (15.96322)\n"
        "     | > G_adv_loss: 1.83333  (1.83458)\n"
        "     | > D_mse_gan_loss: 0.22649  (0.21605)\n"
        "     | > D_loss: 0.22649  (0.21605)\n"
        "     | > step_time: 4.23\n"
        "     | > current_lr_G: 6.488910597268514e-05\n"
        "\n   --> TRAIN PERFORMACE -- EPOCH TIME: 63.65 sec -- GLOBAL_STEP: {ge}\n"
        "     | > avg_G_loss: 17.73852\n"
        "     | > avg_D_loss: 0.21697\n"
        "\n > EVALUATION \n\n  --> EVAL PERFORMANCE\n"
        "     | > avg_G_loss: 17.37688 (+0.00247)\n"
        "     | > avg_D_loss: 0.26288 (-0.01331)\n"
    )
    text = rec.format(g=293375, gf="0.67357", ge=293383) + rec.format(
        g=293390, gf="0.60000", ge=293398
    )
    p = tmp_path / "trainer_0_log.txt"
    p.write_text(text, encoding="utf-8")
    (tmp_path / "config.json").write_text(
        json.dumps({"model": "hifigan", "run_name": "hifi", "use_mse_gan_loss": True}),
        encoding="utf-8",
    )
    r = load_run(tmp_path)
    assert r.scalars["step"].tolist() == [293375, 293383, 293390, 293398]
    assert r.scalars["G_loss_epoch"].dropna().tolist() == [17.73852, 17.73852]
    assert r.scalars["val/D_loss"].dropna().tolist() == [0.26288, 0.26288]
    assert r.scalars["G_mse_fake_loss"].dropna().tolist() == [0.67357, 0.6]
    # coqui averages its vocoder losses over the discriminators: no count
    assert "summed_discriminators" not in r.extra
    assert r.column("G_loss") == "G_mse_fake_loss" and r.column("D_loss") == "D_loss"
    assert r.extra["source_notes"][0].endswith(
        "2 evaluation block(s) as val/<name>, 2 epoch summaries as <name>_epoch"
    )


def test_eval_step_prints_are_counted_not_read(tmp_path):
    text = _vits_log(1) + f"{B}   --> STEP: 0{E}\n     | > loss_disc: 9.0  (9.0)\n"
    p = tmp_path / "trainer_0_log.txt"
    p.write_text(text, encoding="utf-8")
    r = load_run(p)
    assert r.scalars["loss_disc"].max() == pytest.approx(3.0)
    assert any("1 per-batch evaluation print(s) not read" in n for n in r.extra["source_notes"])


def test_restart_replaces_the_rows_it_repeats(tmp_path):
    text = _vits_log(3) + _vits_log(1)  # a second session from the same checkpoint
    p = tmp_path / "trainer_0_log.txt"
    p.write_text(text, encoding="utf-8")
    r = load_run(p)
    assert r.scalars["step"].tolist() == [1000010, 1000030, 1000036]
    assert any("training restarted inside the log (2 sections)" in w for w in r.warnings)


def test_config_of_another_trainer_is_not_read(tmp_path):
    (tmp_path / "trainer_0_log.txt").write_text(_vits_log(1), encoding="utf-8")
    (tmp_path / "config.json").write_text(json.dumps({"model": "vits"}), encoding="utf-8")
    r = load_run(tmp_path)
    assert r.config == {}
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    r = load_run(tmp_path)
    assert any(w.endswith("config.json: not readable as JSON; config unknown") for w in r.warnings)


def test_value_line_without_a_number_is_named(tmp_path):
    text = _vits_log(1).replace("loss_mel: 19.08429", "loss_mel: nothing", 1)
    p = tmp_path / "trainer_0_log.txt"
    p.write_text(text, encoding="utf-8")
    r = load_run(p)
    assert r.scalars["loss_mel"].isna().sum() >= 1
    assert any("1 value line(s) inside a record hold no number; left out" in w for w in r.warnings)


def test_plain_logs_are_not_coqui(tmp_path):
    p = tmp_path / "log.txt"
    p.write_text("[Epoch 1/5] [D loss: 0.5] [G loss: 1.2]\n | > loss: 1.0\n", encoding="utf-8")
    assert not coquilog.detect(p)
    with pytest.raises(GanAnalyzeError, match="no coqui trainer log"):
        coquilog.load(p)
