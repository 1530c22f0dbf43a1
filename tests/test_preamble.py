"""importers/preamble.py: the options a text log prints before its first metric line become
the run's config (argparse's Namespace, key: value lines), parsed without evaluating them."""

from __future__ import annotations

from gananalyze.analysis.rules.conventions import equilibrium
from gananalyze.importers.preamble import MAX_KEYS, preamble_config, preamble_options, value_of
from gananalyze.loader import load_run


def test_values_are_parsed_not_evaluated():
    assert value_of("0.0002") == 0.0002 and value_of("64") == 64 and value_of("1e-4") == 1e-4
    assert value_of("'lsgan'") == "lsgan" and value_of('"a, b"') == "a, b"
    assert value_of("True") is True and value_of("none") is None
    assert value_of("lsgan                         \t[default: vanilla]") == "lsgan"
    assert value_of("__import__('os').system('x')") == "__import__('os').system('x')"


def test_namespace_and_key_value_lines():
    lines = [
        "Namespace(batch_size=64, lr=0.0002, gan_mode='lsgan', beta1=0.5, gpu_ids=[0, 1])",
        "Loading configuration from configs/experiment.yaml",
        "Configuration:",
        '  dataset: "digits"',
        "  lr_d: 0.0",
        "Generator(",
        "  (0): Linear(in_features=16, out_features=64, bias=True)",
        "Module summary 0: parameters counted",
        "n_critic = 5",
    ]
    assert preamble_config(lines) == {
        "batch_size": 64,
        "lr": 0.0002,
        "gan_mode": "lsgan",
        "beta1": 0.5,
        "dataset": "digits",
        "lr_d": 0.0,
        "n_critic": 5,
    }


def test_the_keys_read_are_bounded():
    lines = [f"key{i}: {i}" for i in range(MAX_KEYS + 50)] + ["key3: 7"]
    cfg = preamble_config(lines)
    assert len(cfg) == MAX_KEYS and cfg["key3"] == 7  # a known key is still updated


def test_a_text_log_takes_its_printed_options_as_config(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "train.log").write_text(
        "Namespace(gan_mode='lsgan', lr_d=0.0, lr_g=0.0002)\n"
        + "".join(f"Step: {i} Gen_loss: {0.3 - i * 1e-3:.5f} Dis_loss: 0.5\n" for i in range(30))
    )
    r = load_run(run)
    assert r.config == {"gan_mode": "lsgan", "lr_d": 0.0, "lr_g": 0.0002}
    assert r.extra["config_hints"]["loss"] == {"value": "lsgan", "key": "gan_mode"}
    assert (
        "train.log: 3 option(s) read from 1 line(s) before the first step"
        in r.extra["source_notes"]
    )


def test_log_levels_and_messages_are_no_options():
    lines = [
        "WARNING: tensorflow: the name tf.global_variables_initializer is deprecated",
        "name: GeForce RTX 2080 Ti major: 7 minor: 5 memoryClockRate(GHz): 1.545",
        "note: training on 4 GPUs with a batch of 64",
        'comment: "a quoted value of many words stays"',
        "pciBusID: 0000:08:00.0",
        "nohup: ignoring input",  # the shell's notice atop a `nohup python train.py &` log
    ]
    assert preamble_config(lines) == {
        "comment": "a quoted value of many words stays",
        "pciBusID": "0000:08:00.0",
    }


def test_the_option_lines_are_named_by_index_and_not_ignored(tmp_path):
    lines = ["Configuration:", "  lr_d: 0.0", None, "", "Generator(", "  lr_g: 2e-4"]
    assert preamble_options(lines) == ({"lr_d": 0.0, "lr_g": 2e-4}, [1, 5])
    run = tmp_path / "run"
    run.mkdir()
    (run / "log.txt").write_text(
        "Configuration:\n  lr_d: 0.0\n  lr_g: 0.0002\n"
        + "".join(f"Step: {i} Gen_loss: 0.3 Dis_loss: 0.5\n" for i in range(25))
    )
    info = load_run(run).extra["lines"]
    assert (info["read"], info["ignored"]) == (25, 1)  # "Configuration:" alone is ignored
    assert info["ignored_sample"] == [(1, "Configuration:")]


def test_printed_options_are_escaped_for_the_terminal_and_html(tmp_path):
    from click.testing import CliRunner

    from gananalyze.cli import main

    run = tmp_path / "run"
    run.mkdir()
    (run / "log.txt").write_text(
        "lr_d: 0.0\x1b[31mRED\n"
        'gan_mode: "<script>alert(1)</script>"\n'
        + "".join(f"Step: {i} Gen_loss: 0.{i} Dis_loss: 0.5\n" for i in range(1, 26))
    )
    out = CliRunner().invoke(main, ["info", str(run)]).output
    assert "config says: d_lr = 0.0\\x1b[31mred (key lr_d)" in out and "\x1b" not in out
    page = tmp_path / "r.html"
    CliRunner().invoke(main, ["report", str(run), "-o", str(page)])
    html = page.read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


MMCV_CONFIG = """\
2022-07-19 11:29:15,187 - mmgen - INFO - Config:
model = dict(
    type='StaticUnconditionalGAN',
    gan_loss=dict(type='GANLoss', gan_type='wgan-logistic-ns'),
    disc_auxiliary_loss=[
        dict(type='R1GradientPenalty', loss_weight=-10.0 / 2, interval=16)
    ])
train_cfg = dict(use_ema=True)
optimizer = dict(
    generator=dict(type='Adam', lr=0.0016, betas=(0, 0.9919919678228657)),
    discriminator=dict(type='Adam', lr=0.0018823529411764706))
data_root = __import__('os').getcwd()
total_iters = 800002
"""


def test_a_printed_python_config_becomes_nested_options():
    cfg, used = preamble_options(MMCV_CONFIG.splitlines())
    assert cfg["model"]["gan_loss"] == {"type": "GANLoss", "gan_type": "wgan-logistic-ns"}
    # anything but dict(), literals, lists and tuples is kept as its text, never run
    assert cfg["model"]["disc_auxiliary_loss"][0]["loss_weight"] == "-10.0 / 2"
    assert cfg["optimizer"]["generator"]["betas"] == [0, 0.9919919678228657]
    assert cfg["data_root"] == "__import__('os').getcwd()"
    assert (cfg["train_cfg"], cfg["total_iters"]) == ({"use_ema": True}, 800002)
    assert used == list(range(1, 13))  # every line of the dump, the logger's line not


def test_a_printed_config_names_the_loss(tmp_path):
    body = "".join(
        f"2022-07-19 11:30:{i:02d},074 - mmgen - INFO - Iter [{i}/30000]\tlr_generator: 1.000e-05, "
        f"eta: 12 days, 12:08:40, time: 36.0, loss_disc_fake: 0.53, loss_disc_real: 0.8, "
        f"loss_disc_fake_g: 0.45\n"
        for i in range(1, 4)
    )
    f = tmp_path / "20220719_112912.log"
    f.write_text(MMCV_CONFIG + body)
    r = load_run(f)
    assert r.config["model"]["gan_loss"]["gan_type"] == "wgan-logistic-ns"
    e = equilibrium(r)
    assert (e.loss, e.source) == ("bce", "config")  # MMGeneration's logistic loss, not WGAN
    assert r.column("G_loss") == "loss_disc_fake_g"
    assert "eta" not in r.metrics


def test_an_unclosed_printed_statement_is_read_line_by_line():
    lines = ["model = dict(", "    type='GAN',", "lr = 0.0002"]
    cfg, _ = preamble_options(lines)
    assert cfg["lr"] == 0.0002 and "type" in cfg


def test_basicsr_option_blocks_nest():
    # BasicSR's dict2str: `key:[` opens a block of options, `]` closes it
    lines = [
        "  name: train_RealESRGANx4plus",
        "  train:[",
        "    pixel_opt:[",
        "      type: L1Loss",
        "      loss_weight: 1.0",
        "    ]",
        "    gan_opt:[",
        "      type: GANLoss",
        "      gan_type: vanilla",
        "      loss_weight: 0.1",
        "    ]",
        "  ]",
        "  scale: 4",
    ]
    cfg, used = preamble_options(lines)
    assert cfg == {
        "name": "train_RealESRGANx4plus",
        "train": {
            "pixel_opt": {"type": "L1Loss", "loss_weight": 1.0},
            "gan_opt": {"type": "GANLoss", "gan_type": "vanilla", "loss_weight": 0.1},
        },
        "scale": 4,
    }
    assert used == list(range(13))
