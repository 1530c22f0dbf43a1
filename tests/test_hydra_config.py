"""importers/hydraconfig.py: a Hydra job's .hydra/config.yaml is the config of its log."""

from __future__ import annotations

from gananalyze.loader import load_run

LINE = (
    "[2026-12-05 20:45:{s:02d},300][__main__][INFO] - [Epoch {e}/3] [Batch {b}/28] "
    "loss_D={d:.4f} loss_G={g:.4f} D(x)={x:.3f} D(G(z))={f:.3f}\n"
)


def _hydra_run(folder, preamble=""):
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "config.yaml").write_text(
        "name: dcgan\nepochs: 3\nz_dim: 32\noptim:\n  lr_g: 0.0002\n  lr_d: 0.0002\n"
        "  betas:\n  - 0.5\n  - 0.999\nloss: lsgan\n"
    )
    (folder / ".hydra" / "overrides.yaml").write_text("- epochs=3\n")
    lines = [preamble] if preamble else []
    for i in range(12):
        e, b = divmod(i * 7, 28)
        lines.append(LINE.format(s=i, e=e, b=b, d=0.2 - i / 100, g=0.4, x=0.9, f=-0.2))
    (folder / "train.log").write_text("".join(lines))
    return folder


def test_the_saved_config_gives_the_loss_and_the_options(tmp_path):
    r = load_run(_hydra_run(tmp_path / "run"))
    assert r.format == "textlog"
    assert r.loss == "lsgan"
    assert r.config["optim"] == {"lr_g": 0.0002, "lr_d": 0.0002, "betas": [0.5, 0.999]}
    assert r.config["epochs"] == 3
    assert ".hydra/config.yaml: 5 option(s) read (Hydra's saved config)" in r.extra["source_notes"]
    assert r.series("loss_D").round(4).tolist()[:3] == [0.2, 0.19, 0.18]


def test_options_the_log_prints_win_over_the_saved_ones(tmp_path):
    # log.info("\n" + OmegaConf.to_yaml(cfg)) after a command-line override loss=hinge
    pre = "[2026-12-05 20:44:59,000][__main__][INFO] - \nname: dcgan\nloss: hinge\n"
    r = load_run(_hydra_run(tmp_path / "run", preamble=pre))
    assert r.config["loss"] == "hinge" and r.loss == "hinge"
    assert r.config["z_dim"] == 32


def test_an_unreadable_saved_config_is_named_and_the_log_still_read(tmp_path):
    run = _hydra_run(tmp_path / "run")
    (run / ".hydra" / "config.yaml").write_text("loss: [lsgan\n")
    r = load_run(run)
    assert r.loss is None and len(r.steps) == 12
    assert any(
        w.startswith(f"{run / '.hydra' / 'config.yaml'}: not readable as plain YAML (")
        and w.endswith("; Hydra config not read")
        for w in r.warnings
    )
