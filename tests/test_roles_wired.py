"""Roles wired into loading and the rules: any naming gets the G/D checks, --map and the map
file settle what words cannot, info says how each role was found (roles.run_roles)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from gananalyze.analysis import analyze
from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.loader import load_run
from gananalyze.naming.roles import gan_views, run_roles

NEEDS_LOSSES = "needs G_loss"


def _csv(path: Path, header: str, rows: list[list[float]], name: str = "metrics.csv") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    lines = [header] + [",".join(f"{v:g}" for v in r) for r in rows]
    (path / name).write_text("\n".join(lines) + "\n")
    return path


def _lightning(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = [
        [i // 20, i, 11.5 + 0.001 * rng.standard_normal(), 0.1 + 0.01 * rng.random()]
        for i in range(200)
    ]
    return _csv(tmp_path / "lt", "epoch,step,train_disc_loss,train_gen_loss", rows)


def _skips(diag) -> str:
    return " ".join(why for _, why in diag.skipped)


def test_lightning_names_get_the_loss_checks(tmp_path):
    run, diag = analyze(_lightning(tmp_path))
    assert run.column("D_loss") == "train_disc_loss"
    assert run.column("G_loss") == "train_gen_loss"
    assert len(run.series("D_loss")) == 200
    assert "G_loss" not in _skips(diag) and "D_loss" not in _skips(diag)
    assert diag.status != "not_judged"


def test_tensorboard_loss_slash_d(tmp_path):
    pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "tb"))
    for i in range(100):
        w.add_scalar("Loss/D", 1.386 + 0.01 * np.sin(i), i)
        w.add_scalar("Loss/G", 0.693 + 0.01 * np.cos(i), i)
    w.close()
    run, diag = analyze(tmp_path / "tb")
    assert (run.column("D_loss"), run.column("G_loss")) == ("Loss/D", "Loss/G")
    # the loss checks ran on the roles found; a TensorBoard run does not say its loss type,
    # so BCE is assumed and the verdict is "no problems found", not "healthy" (issue 15)
    assert "G_loss" not in _skips(diag) and "D_loss" not in _skips(diag)
    assert diag.status == "no_problems_found" and "assumed" in diag.verdict + str(diag.context)


def test_ctgan_loss_values_as_saved(tmp_path):
    rows = [[i, 1.0 + 0.01 * i, -0.2 - 0.001 * i] for i in range(60)]
    d = _csv(tmp_path / "ct", "Epoch,Generator Loss,Discriminator Loss", rows, "loss_values.csv")
    run, diag = analyze(d)
    assert run.column("G_loss") == "Generator Loss"
    assert run.series("D_loss").iloc[-1] == pytest.approx(-0.259)
    assert "G_loss" not in _skips(diag)
    out = CliRunner().invoke(main, ["info", str(d)]).output
    assert "step unit:   epoch" in out
    assert "values:      loss of the last batch of each epoch (not a mean)" in out
    assert "loss type:   wasserstein (declared by the run)" in out
    assert "  G_loss  Generator Loss  (from words Generator, Loss)" in out


def test_pix2pix_d_real_is_a_loss_term_not_d_x(tmp_path):
    rows = [[i, 0.7, 1.2, 0.3, 0.35] for i in range(50)]
    run = load_run(_csv(tmp_path / "p", "step,G_GAN,G_L1,D_real,D_fake", rows))
    assert run.column("D_x") is None and run.column("D_G_z_before") is None
    [view] = gan_views(run)
    assert view.columns == {"D_loss": ("D_real", "D_fake")}
    out = CliRunner().invoke(main, ["info", str(tmp_path / "p")]).output
    assert "read as a known trainer's loss terms: D_real, D_fake" in out
    assert "no role: G_L1" in out


def test_spade_d_fake_and_d_real_are_hinge_terms_and_gan_is_g(tmp_path):
    # SPADE prints `GAN: 1.110 GAN_Feat: 14.514 VGG: 9.875 D_Fake: 0.514 D_real: 0.383`:
    # D's two loss terms (hinge by default), not its outputs; G's adversarial loss is GAN
    rows = [[i, 0.2, 1.1, 14.5, 9.9, 0.5, 0.4] for i in range(30)]
    run = load_run(_csv(tmp_path / "s", "step,KLD,GAN,GAN_Feat,VGG,D_Fake,D_real", rows))
    assert run.column("D_x") is None and run.column("D_G_z_before") is None
    [view] = gan_views(run)
    assert view.columns == {"D_loss": ("D_Fake", "D_real"), "G_loss": "GAN"}
    assert view.reduction == "sum"


def test_tensorflowtts_melgan_reads_the_adversarial_term_not_gen_loss(tmp_path):
    # TensorFlowTTS logs train_gen_loss = STFT loss + 2.5 x train_adversarial_loss
    cols = "step,train_adversarial_loss,train_gen_loss,train_real_loss,train_fake_loss,"
    rows = [[i, 0.3, 5.2, 0.2, 0.3, 0.5] for i in range(30)]
    run = load_run(_csv(tmp_path / "t", cols + "train_dis_loss", rows))
    [view] = gan_views(run)
    assert view.columns == {"D_loss": "train_dis_loss", "G_loss": "train_adversarial_loss"}
    assert run.column("G_loss") is None  # train_gen_loss is claimed, read by no role


def test_real_and_fake_terms_are_summed(tmp_path):
    rows = [[i, 0.9, 0.4, 0.3] for i in range(40)]
    run = load_run(_csv(tmp_path / "r", "step,loss_G,loss_D_real,loss_D_fake", rows))
    [view] = gan_views(run)
    assert view.columns == {"D_loss": ("loss_D_real", "loss_D_fake")}
    _, diag = analyze(run)
    assert "D_loss" not in _skips(diag)


def test_ambiguity_is_a_warning_and_map_settles_it(tmp_path):
    rows = [[i, 1.0, 2.0, 0.5] for i in range(30)]
    d = _csv(tmp_path / "a", "step,G_loss,gen_loss,D_loss", rows)
    run = load_run(d)
    assert run.column("G_loss") is None
    assert run.warnings == [
        "roles: G_loss is ambiguous between G_loss, gen_loss; the checks that need it skip it "
        "(settle it with --map G_loss=COLUMN or gananalyze.yaml)"
    ]
    run = load_run(d, roles={"G_loss": "gen_loss"})
    assert run.column("G_loss") == "gen_loss" and run.warnings == []
    res = CliRunner().invoke(main, ["info", str(d), "--map", "G_loss=gen_loss"])
    assert "  G_loss  gen_loss  (--map)" in res.output
    assert "no role: G_loss" in res.output
    res = CliRunner().invoke(main, ["check", str(d), "--json", "--map", "G_loss=gen_loss"])
    assert "G_loss" not in json.dumps(json.loads(res.output)["skipped"])


def test_map_file_and_its_errors(tmp_path):
    rows = [[i, 1.0, 0.5] for i in range(30)]
    d = _csv(tmp_path / "m", "step,lossG_total,lossD_total", rows)
    (d / "gananalyze.yaml").write_text("roles:\n  G_loss: lossG_total\n")
    run = load_run(d)
    assert run.column("G_loss") == "lossG_total"
    assert run.role_map["G_loss"]["source"] == str(d / "gananalyze.yaml")
    # --map wins over the file
    (d / "gananalyze.yaml").write_text("roles:\n  D_loss: lossG_total\n")
    assert load_run(d, roles={"D_loss": "lossD_total"}).column("D_loss") == "lossD_total"
    (d / "gananalyze.yaml").write_text("roles:\n  D_loss: nope\n")
    with pytest.raises(GanAnalyzeError) as e:
        load_run(d)
    assert str(e.value) == (
        f"{d / 'gananalyze.yaml'}: D_loss=nope: no column 'nope' in this run "
        "(columns: lossG_total, lossD_total)"
    )
    res = CliRunner().invoke(main, ["check", str(d), "--map", "G_loss"])
    assert res.exit_code == 2
    assert "--map 'G_loss': expected ROLE=COLUMN" in res.output


def test_info_json_has_the_roles(tmp_path):
    rows = [[i, 1.0, 2.0, 0.5] for i in range(30)]
    d = _csv(tmp_path / "j", "step,G_loss,gen_loss,disc_loss", rows)
    data = json.loads(CliRunner().invoke(main, ["info", str(d), "--json"]).output)
    assert data["step_unit"] == "iteration"
    assert data["roles"] == {"D_loss": {"column": "disc_loss", "how": "exact name"}}
    assert data["ambiguous"] == {"G_loss": ["G_loss", "gen_loss"]}
    assert data["unclaimed"] == []


def test_a_cyclegan_loss_log_names_a_network_alone_for_its_loss(tmp_path):
    # a loss_log.txt (every value a loss) whose trainer calls its terms `disc` and `gen`
    lines = ["================ Training Loss (Mon Jan  1 00:00:00 2024) ================\n"]
    for i in range(40):
        lines.append(
            f"(epoch: {i // 10 + 1}, iters: {(i % 10 + 1) * 100}, time: 0.100, data: 0.010) "
            f"idt: 2.050 disc: {0.99 + 0.001 * i:.3f} z_style: 72.727 "
            f"gen: {1.02 - 0.001 * i:.3f} \n"
        )
    (tmp_path / "loss_log.txt").write_text("".join(lines))
    run = load_run(tmp_path)
    assert run.format == "cyclegan"
    assert (run.column("D_loss"), run.column("G_loss")) == ("disc", "gen")


def test_one_loss_printed_under_two_names_is_no_ambiguity(tmp_path):
    # Keras 3 prints each loss twice (`d_loss`, `discriminator_loss`), from two trackers of
    # one value; two different losses that merely share a role stay ambiguous
    rng = np.random.default_rng(0)
    d = 0.6 + 0.05 * rng.standard_normal(20)
    frame = {
        "epoch": range(1, 21),
        "d_loss": d,
        "discriminator_loss": d * 1.005,
        "g_loss": 1.0 + d,
        "generator_loss": 0.3 + d,
    }
    pd.DataFrame(frame).to_csv(tmp_path / "log.csv", index=False)
    res = run_roles(load_run(tmp_path / "log.csv"))
    assert res.roles["D_loss"] == "d_loss"
    assert res.how["D_loss"] == "exact name; discriminator_loss tracks it (median difference 0.5%)"
    assert res.ambiguous == {"G_loss": ["g_loss", "generator_loss"]}


def _terms_frame(scale: float, real: np.ndarray, fake: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "step": range(20, 20 * (len(real) + 1), 20),
            "d_loss": scale * (real + fake),
            "g_loss": 4.0 + real,
            "d_real": real,
            "d_fake": fake,
        }
    )


def _terms_run(path: Path, scale: float, real: np.ndarray, fake: np.ndarray):
    """The run of `_terms_frame` written as `path`/metrics.csv, and its roles."""
    _terms_frame(scale, real, fake).to_csv(path / "metrics.csv", index=False)
    run = load_run(path)
    return run, run_roles(run)


def test_d_real_and_d_fake_that_add_up_to_the_d_loss_are_its_terms(tmp_path):
    # `d_real` / `d_fake` are D's outputs by their aliases, but a trainer that logs d_loss as
    # their sum (BCE of the real batch with a smoothed label 0.9, floor 0.325, and of the fakes)
    # logs loss terms: D(x) 0.35 and D(G(z)) 0.02 would be a D that lost
    rng = np.random.default_rng(0)
    real = 0.33 + 0.05 * rng.random(40)
    fake = 0.01 + 0.05 * rng.random(40)
    run, res = _terms_run(tmp_path, 1.0, real, fake)
    assert {r: res.roles.get(r) for r in ("D_x", "D_G_z_before", "D_loss_real", "D_loss_fake")} == {
        "D_x": None,
        "D_G_z_before": None,
        "D_loss_real": "d_real",
        "D_loss_fake": "d_fake",
    }
    assert res.how["D_loss_real"] == (
        "a term of d_loss: d_loss = d_real + d_fake (median difference 0.0%), so not D's output"
    )
    assert res.d_terms == "sum"
    (view,) = gan_views(run)
    assert (view.columns, view.reduction) == ({"D_loss": "d_loss"}, "sum")
    assert view.source == "d_loss = d_real + d_fake, its logged terms"
    out = CliRunner().invoke(main, ["check", str(tmp_path)]).output
    assert "loss:     bce (real and fake D terms summed; equilibrium D loss 1.39)" in out


def test_d_loss_the_mean_of_its_terms(tmp_path):
    rng = np.random.default_rng(1)
    real = 0.6 + 0.2 * rng.random(30)
    fake = 0.5 + 0.3 * rng.random(30)
    run, res = _terms_run(tmp_path, 0.5, real, fake)
    assert (res.roles["D_loss_real"], res.roles["D_loss_fake"], res.d_terms) == (
        "d_real",
        "d_fake",
        "mean",
    )
    assert res.how["D_loss_fake"].startswith("a term of d_loss: d_loss = (d_real + d_fake) / 2")
    assert gan_views(run)[0].reduction == "mean"


def test_outputs_whose_mean_meets_a_flat_d_loss_stay_outputs(tmp_path):
    # SRGAN's d_loss = 1 - D(x) + D(G(z)) with D saturated at 1: the outputs' mean is the
    # loss at every step, a coincidence of a flat loss, not a sum of terms; nor are outputs
    # that do not add up to a moving loss
    n = 30
    flat = _terms_frame(0.5, np.ones(n), np.ones(n))
    flat.to_csv(tmp_path / "metrics.csv", index=False)
    res = run_roles(load_run(tmp_path))
    assert (res.roles["D_x"], res.roles["D_G_z_before"], res.d_terms) == ("d_real", "d_fake", None)
    rng = np.random.default_rng(2)
    dx, dgz = 0.7 + 0.1 * rng.random(n), 0.3 + 0.1 * rng.random(n)
    outs = _terms_frame(1.0, dx, dgz).assign(d_loss=-np.log(dx) - np.log(1 - dgz))
    outs.to_csv(tmp_path / "metrics.csv", index=False)
    res = run_roles(load_run(tmp_path))
    assert (res.roles["D_x"], res.roles["D_G_z_before"], res.d_terms) == ("d_real", "d_fake", None)
    assert "D_loss_real" not in res.roles


def test_flat_hinge_terms_above_one_are_terms(tmp_path):
    # a frozen hinge D: relu(1 - D(x)) 1.08 and relu(1 + D(G(z))) 0.98, flat; above 1 no
    # column is a sigmoid output, so a flat sum is evidence enough
    n = 30
    real, fake = np.full(n, 1.08), np.full(n, 0.98)
    _terms_frame(1.0, real, fake).to_csv(tmp_path / "metrics.csv", index=False)
    run = load_run(tmp_path)
    res = run_roles(run)
    assert (res.roles["D_loss_real"], res.roles["D_loss_fake"], res.d_terms) == (
        "d_real",
        "d_fake",
        "sum",
    )
    # the loader flagged d_real's 1.08 as a probability above 1 (it reads names only); as a
    # loss term it is no implausible value, in info or in check
    assert len(run.flags) == 21 and run.value_flags() == []  # 20 listed, 1 "10 more"
    for cmd in ("info", "check"):
        out = CliRunner().invoke(main, [cmd, str(tmp_path)]).output
        assert "mplausible" not in out, cmd
