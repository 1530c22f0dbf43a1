"""Metric roles from the words in column names (gananalyze/naming/roles.py)."""

from __future__ import annotations

import pytest

from gananalyze.naming.rolemap import parse_map
from gananalyze.naming.roles import resolve_roles, words

# names seen in public trainers -> the role they hold
SEEN = {
    "dloss": "D_loss",  # one glued word (anoGAN issue thread: `dloss: 6.7e-06`)
    "gloss": "G_loss",
    "errD": "D_loss",
    "errG": "G_loss",
    "Loss_D": "D_loss",
    "Loss_G": "G_loss",
    "loss_D_fake": "D_loss_fake",
    "loss_D_real": "D_loss_real",
    "d_loss_epoch": "D_loss",
    "g_loss_step": "G_loss",
    "train/d_loss": "D_loss",
    "loss/discriminator": "D_loss",
    "disc_loss": "D_loss",
    "gen_loss": "G_loss",
    "critic_loss": "D_loss",
    "loss_dis": "D_loss",
    "loss_gen": "G_loss",
    "lossD": "D_loss",
    "D/Real_Prob": "D_x",
    "D(x)": "D_x",
    "D_G_z1": "D_G_z_before",
    "D_G_z2": "D_G_z_after",
    "Generator Loss": "G_loss",
    "Discriminator Loss": "D_loss",
    "Loss/scores/real": "D_x_logit",
    "Loss/scores/fake": "D_G_z_logit",
    "train_disc_loss": "D_loss",
    "train_gen_loss": "G_loss",
    "Loss/D": "D_loss",
    "Loss/G": "G_loss",
    "netD_grad_norm": "D_grad_norm",
    "grad_norm/G": "G_grad_norm",
    "D(G(z))": "D_G_z_before",
    "D_acc": "D_acc",
}


def test_words():
    assert words("train/lossD_step") == ["train", "loss", "D", "step"]
    assert words("D_G_z1") == ["D", "G", "z", "1"]
    assert words("DLoss netG") == ["D", "Loss", "net", "G"]


@pytest.mark.parametrize("name,role", sorted(SEEN.items()))
def test_each_name_alone(name, role):
    res = resolve_roles([name, "step", "epoch"])
    assert res.roles == {role: name} and not res.ambiguous and not res.unclaimed


def test_a_whole_table():
    cols = ["step", "errD", "errG", "D(x)", "D_G_z1", "D_G_z2", "lr", "G_L1", "G_A", "fid"]
    res = resolve_roles(cols)
    assert res.roles == {
        "D_loss": "errD",
        "G_loss": "errG",
        "D_x": "D(x)",
        "D_G_z_before": "D_G_z1",
        "D_G_z_after": "D_G_z2",
        "fid": "fid",
    }
    assert res.unclaimed == ["lr", "G_L1", "G_A"]
    assert res.how["D_x"] == "exact name" and res.how["D_loss"] == "from words err, D"


def test_ambiguous_is_reported_not_guessed():
    res = resolve_roles(["G_loss", "gen_loss", "d_loss"])
    assert res.ambiguous == {"G_loss": ["G_loss", "gen_loss"]} and "G_loss" not in res.roles
    assert res.roles == {"D_loss": "d_loss"} and res.unclaimed == []
    assert (
        res.lines()[-1]
        == "G_loss: ambiguous between G_loss, gen_loss; settle it with --map G_loss=COLUMN"
    )
    settled = resolve_roles(["G_loss", "gen_loss"], parse_map(["G_loss=gen_loss"]))
    assert settled.roles == {"G_loss": "gen_loss"} and settled.how["G_loss"] == "--map"
    assert settled.unclaimed == ["G_loss"]


def test_step_preferred_over_epoch_and_splits_kept_apart():
    res = resolve_roles(["g_loss_step", "g_loss_epoch", "val/g_loss", "d_loss_epoch"])
    assert res.roles == {
        "G_loss": "g_loss_step",
        "val/G_loss": "val/g_loss",
        "D_loss": "d_loss_epoch",
    }
    assert res.how["G_loss"] == "from words g, loss; per-step column preferred over g_loss_epoch"
    assert not res.ambiguous


def test_components_lose_to_the_plain_name():
    res = resolve_roles(["g_loss", "g_loss_adv", "g_loss_l1"])
    assert res.roles == {"G_loss": "g_loss"} and res.unclaimed == ["g_loss_adv", "g_loss_l1"]
    res = resolve_roles(["lossG_total"])
    assert res.roles == {"G_loss": "lossG_total"}
    assert res.how["G_loss"] == "from words loss, G (ignoring total)"
    res = resolve_roles(["g_loss_adv", "g_loss_l1"])
    assert res.ambiguous == {"G_loss": ["g_loss_adv", "g_loss_l1"]}


def test_exact_aliases_still_resolve():
    for name in ("Loss/G/loss", "G_GAN", "losses/l_g_gan", "out_d_real_prob", "fid50k_full"):
        res = resolve_roles([name])
        assert len(res.roles) == 1 and res.how[next(iter(res.roles))] == "exact name", name


def test_srgan_statistics_scores_are_d_outputs():
    # leftthomas/SRGAN's statistics CSV: Score_D = mean D(x), Score_G = mean D(G(z))
    res = resolve_roles(["Loss_D", "Loss_G", "Score_D", "Score_G", "PSNR", "SSIM"])
    assert res.roles == {
        "D_loss": "Loss_D",
        "G_loss": "Loss_G",
        "D_x": "Score_D",
        "D_G_z_before": "Score_G",
    }
    assert res.how["D_x"] == "exact name" and res.unclaimed == ["PSNR", "SSIM"]


def test_run_roles_kept_on_the_run_until_its_map_changes(tmp_path):
    import dataclasses

    import pandas as pd

    from gananalyze.naming.roles import run_roles, set_map
    from gananalyze.run import Run

    frame = pd.DataFrame({"step": [0, 1], "G_loss": [1.0, 2.0], "gen_loss": [1.5, 2.5]})
    run = Run(path=tmp_path, name="r", scalars=frame)
    first = run_roles(run)
    assert "G_loss" not in first.roles and first.ambiguous["G_loss"] == ["G_loss", "gen_loss"]
    assert run_roles(run) is first
    set_map(run, {"G_loss": "gen_loss"}, "--map")
    assert run.role_map == {"G_loss": {"column": "gen_loss", "source": "--map"}}
    assert run.column("G_loss") == "gen_loss" and run_roles(run).how["G_loss"] == "--map"
    assert set(vars(run)) == {f.name for f in dataclasses.fields(run)}  # no hidden attributes


def test_a_regularizer_named_g_loss_is_a_weaker_candidate_than_the_adversarial_one():
    from gananalyze.naming.roles import resolve_roles

    # TimeMachiNet's CAAE: G_img_loss is the adversarial term, G_tv_loss a total variation
    res = resolve_roles(["D_loss", "G_tv_loss", "G_img_loss", "EG_L1_loss"])
    assert res.roles["G_loss"] == "G_img_loss" and "G_loss" not in res.ambiguous
    # alone, a regularizer-named G loss is still the G loss
    assert resolve_roles(["D_loss", "G_loss_cycle"]).roles["G_loss"] == "G_loss_cycle"


def test_a_bare_g_and_d_printed_side_by_side_are_the_networks_losses():
    # `print(f"Epoch {e} | D: {d:.3f} | G: {g:.3f}")`: the two values named only by their network
    res = resolve_roles(["D", "G"])
    assert res.roles == {"G_loss": "G", "D_loss": "D"} and res.unclaimed == []
    assert res.how["G_loss"] == "columns G and D printed side by side: the networks' losses"
    assert resolve_roles(["netD", "netG", "D(x)"]).roles == {
        "D_x": "D(x)",
        "G_loss": "netG",
        "D_loss": "netD",
    }
    # a named loss wins: the bare names are then no losses; one bare name alone is none either
    assert resolve_roles(["errD", "errG", "D", "G"]).roles == {"D_loss": "errD", "G_loss": "errG"}
    assert resolve_roles(["G", "D_x"]).roles == {"D_x": "D_x"}
    assert resolve_roles(["G", "D", "generator"]).roles == {}  # two bare G names: no guess
