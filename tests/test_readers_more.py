"""Readers for logs people actually save: pandas-index CSVs, no-step CSVs, printed tensors,
stdout logs (importers/textlog.py), chainer's result/log, Python-2 JSON, ComboGAN lines;
and every log of the labelled zoo (tests/data/zoo) loading with its roles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from gananalyze.loader import detect_format, load_run
from gananalyze.naming.roles import gan_views

ZOO = Path(__file__).parent / "data" / "zoo"


def test_pandas_index_is_the_step(tmp_path):
    (tmp_path / "loss.csv").write_text(",G,D\n0,0.5,-5.8\n1,2.4,0.02\n2,-4.5,-12.0\n")
    r = load_run(tmp_path)
    assert r.format == "csv-rows"
    assert r.steps.tolist() == [0, 1, 2]
    assert r.series("G").tolist() == [0.5, 2.4, -4.5]
    assert (r.column("G_loss"), r.column("D_loss")) == ("G", "D")
    assert r.step_unit == "row"
    assert r.extra["step_note"].startswith("the file's unnamed first column")
    assert r.warnings == []


def test_index_not_counting_and_no_index(tmp_path):
    (tmp_path / "a.csv").write_text(",x_val,y_val\n5,1.0,2.0\n9,1.5,2.5\n")
    r = load_run(tmp_path / "a.csv")
    assert r.steps.tolist() == [0, 1]
    assert r.extra["step_note"] == (
        "row number: the file has no step column (its unnamed first column does not count "
        "0, 1, 2, ...)"
    )
    (tmp_path / "b.csv").write_text("discriminator_loss,generator_loss\n0.39,6.49\n0.38,7.20\n")
    r = load_run(tmp_path / "b.csv")
    assert r.steps.tolist() == [0, 1] and r.column("G_loss") == "generator_loss"


def test_printed_tensors_are_numbers(tmp_path):
    (tmp_path / "losses.csv").write_text(
        "losses_g,losses_d\n"
        '"tensor(10.5290, grad_fn=<BinaryCrossEntropyBackward0>)","tensor(0.0009, '
        'grad_fn=<AddBackward0>)"\n'
        "\"tensor(9.9135, device='cuda:0')\",tensor(0.0004)\n"
        "garbage,0.5\n"
    )
    r = load_run(tmp_path)
    assert r.series("losses_g").tolist() == [10.529, 9.9135]
    assert r.series("losses_d").tolist() == [0.0009, 0.0004, 0.5]
    assert any(":4: losses_g = 'garbage' is not a number" in w for w in r.warnings)


DCGAN = """Starting Training Loop...
[0/5][0/100]\tLoss_D: 1.3800\tLoss_G: 0.6900\tD(x): 0.5000\tD(G(z)): 0.4000 / 0.3000
[0/5][50/100]\tLoss_D: 0.3800\tLoss_G: 2.6900\tD(x): 0.8000\tD(G(z)): 0.1000 / 0.0500
[1/5][0/100]\tLoss_D: 0.2800\tLoss_G: 3.6900\tD(x): 0.9000\tD(G(z)): 0.0400 / 0.0300
[1/5][50/100]\tLoss_D: 0.2500\tLoss_G: 3.9"""


def test_dcgan_stdout(tmp_path):
    (tmp_path / "train.log").write_text(DCGAN)
    assert detect_format(tmp_path) == "textlog"
    r = load_run(tmp_path)
    assert r.steps.tolist() == [0, 50, 100, 150]
    assert r.series("Loss_D").tolist() == [1.38, 0.38, 0.28, 0.25]
    assert r.series("Loss_G").tolist() == [0.69, 2.69, 3.69]  # the cut-off 3.9 is left out
    assert r.series("D_G_z_after").tolist() == [0.3, 0.05, 0.03]
    assert r.column("D_G_z_before") == "D(G(z))_1"
    assert r.scalars["epoch"].tolist() == [0, 0, 1, 1]
    assert r.extra["step_note"] == "epoch x 100 iterations per epoch (printed) + iteration"
    assert r.warnings == [
        f"{tmp_path / 'train.log'}:5: last line cut off; its last value (Loss_G) left out",
    ]
    assert (r.extra["lines"]["read"], r.extra["lines"]["ignored"]) == (4, 1)
    assert r.extra["source_notes"][0] == "train.log: 4 line(s) read, 1 ignored"


def test_epoch_and_key_equals_logs(tmp_path):
    f = tmp_path / "out.txt"
    f.write_text(
        "Epoch [1/10], loss_g: 2.9836, loss_d: 0.4011, real_score: 0.8093\n"
        "Epoch [2/10], loss_g: 5.1712, loss_d: 0.4551, real_score: 0.8135\n"
    )
    r = load_run(f)
    assert (r.format, r.steps.tolist(), r.step_unit) == ("textlog", [1, 2], "epoch")
    assert r.column("D_x") == "real_score"
    g = tmp_path / "kv.log"
    g.write_text("step=10 d_loss=0.61 g_loss=1.2\nsome text\nstep=20 d_loss=0.5 g_loss=1.1\n")
    r = load_run(g)
    assert r.steps.tolist() == [10, 20] and r.series("D_loss").tolist() == [0.61, 0.5]


def test_prose_is_not_a_log(tmp_path):
    (tmp_path / "notes.txt").write_text("We trained for a while.\nResults: fine.\nThe end.\n")
    assert detect_format(tmp_path) is None


def test_chainer_log_in_result_and_python2_json(tmp_path):
    (tmp_path / "result").mkdir()
    (tmp_path / "result" / "log").write_text(
        '[\n    {\n        "gen/loss": 0.73, \n        "dis/loss": NaN, \n'
        '        "iteration": 67, \n        "epoch": 1\n    }, \n'
        '    {\n        "gen/loss": Infinity, \n        "dis/loss": 0.66, \n'
        '        "iteration": 134, \n        "epoch": 2\n    }\n]'
    )
    r = load_run(tmp_path)
    assert (r.format, r.name, r.steps.tolist()) == ("chainer", tmp_path.name, [67, 134])
    assert r.series("dis/loss").tolist() == [0.66]
    assert np.isinf(r.series("G_loss").iloc[-1])
    assert len(r.nonfinite) == 2


def test_combogan_lines(tmp_path):
    (tmp_path / "loss_log.txt").write_text(
        "================ Training Loss (Fri Jun 21 05:19:51 2024) ================\n"
        "(epoch: 1, iters: 100, time: 0.291) D: 0.111, 0.105 | G: 0.146, 0.150 | Cyc: 0.09, "
        "0.03 | \n"
        "(epoch: 1, iters: 200, time: 0.284) D: 0.092, 0.113 | G: 0.159, 0.150 | Cyc: 0.06, "
        "0.02 | \n"
    )
    r = load_run(tmp_path)
    assert r.metrics == ["iter_time", "D_0", "D_1", "G_0", "G_1", "Cyc_0", "Cyc_1"]
    assert r.series("D_1").tolist() == [0.105, 0.113]
    views = gan_views(r)
    assert [(v.tag, v.columns) for v in views] == [
        ("0", {"D_loss": "D_0", "G_loss": "G_0"}),
        ("1", {"D_loss": "D_1", "G_loss": "G_1"}),
    ]


def _zoo() -> dict:
    return yaml.safe_load((ZOO / "LABELS.yaml").read_text())


# what each zoo log loads as: format, rows, G loss column, D loss column (None: by views)
ZOO_LOADS = {
    "krupa947-coursera-dcgan-mnist-bce-md-excerpt": (
        "textlog", 46, "Generator_loss", "discriminator_loss"),
    "krupa947-coursera-gan-mnist-bce-md-excerpt": (
        "textlog", 119, "Generator_loss", "discriminator_loss"),
    "krupa947-coursera-sngan-mnist-bce-md-excerpt": (
        "textlog", 46, "Generator_loss", "discriminator_loss"),
    "krupa947-coursera-wgangp-mnist-md-excerpt": ("textlog", 194, "Generator_loss", "critic_loss"),
    "arturua01-keras-gan-mnist-split-loss-txt": ("split-files", 101, "g_loss", "d_loss"),
    "aidiary-chainer-dcgan-mnist": ("chainer", 200, "gen/loss", "dis/loss"),
    "airi-genrisk-bce-d-floor-lightning": ("csv", 320, "train_gen_loss", "train_disc_loss"),
    "airi-genrisk-wgan-critic-nan-lightning": ("csv", 320, "train_gen_loss", "train_disc_loss"),
    "airi-genrisk-wgan-damped-lightning": ("csv", 200, "train_gen_loss", "train_disc_loss"),
    # loss_gen / loss_data are D's terms on generated / real data (loss = their sum): no G loss
    "alokwhitewolf-chainer-dcgan-dis-only": ("chainer", 30, None, "loss"),
    "apolloaggrey-gans-epoch-csv": ("keras", 5, "gen_loss", "disc_loss"),
    "bigrlab-pix2pix-facades-2017-overlap-prefix": ("cyclegan", 171, "G_GAN", None),
    "bluelionlabs-stylegan2ada-phytoplankton-fid": ("stylegan-log", 0, None, None),
    "candy0543-combogan-weather-prefix": ("cyclegan", 92, None, None),
    "caogang-wgan-gp-cat64-prefix": ("csv-rows", 385, "G", "D"),
    "cinfogan-stomp-chainer-py2": ("chainer", 20, "gen/loss", "dis/loss"),
    "cueltschey-ddos-gan-losses": ("csv-rows", 30, "generator_loss", "discriminator_loss"),
    "deblurgan-wgangp-interleaved-prefix": ("cyclegan", 80, "G_GAN", "D_real+fake"),
    "dominikfle-cwgan-clip-solar-lightning": ("csv", 46, "generator_loss", "critic_loss"),
    "ee4115-cyclegan-frozen-first-run-prefix": ("cyclegan", 38, None, None),
    "ee4115-cyclegan-lsgan-d-ahead-end-window": ("cyclegan", 79, None, None),
    "floatbutterfly-bicyclegan-d-spikes-prefix": ("cyclegan", 100, "G_GAN", "D"),
    "frederikravnborg-3d-cyclegan": ("epoch-iter", 22, "G_loss", "D_loss"),
    "gan1202-epoch-batch-csv": ("epoch-iter", 420, "Gen Loss", "Disc Loss"),
    "hellonull-dcgan-mnist-smoothed-info-txt": ("textlog", 47, "G_loss", "D_loss"),
    "homeservergan-cyclegan-2017-prefix": ("cyclegan", 148, None, None),
    "mdellaiera-cyclegan-lsgan-20-epochs": ("cyclegan", 280, None, None),
    "michaelwjohnson-dcgan-modified-excerpt": ("csv", 141, "Generator Loss", "Discriminator Loss"),
    "mingxuanm-pix2pix-facades-bce-prefix": ("cyclegan", 142, "G_GAN", None),
    "luckysimarda-pix2pix-nuclei-d-at-chance": ("cyclegan", 96, "G_GAN", None),
    "juanki0396-cyclegan-ultrasound-lsgan-prefix": ("cyclegan", 212, None, None),
    "mie324-timemachinet-caae-img-d-ahead-tensor-csv": ("keras", 150, "G_img_loss", "D_loss"),
    "mkumar-dcgan-mnist-bce-epoch-csv": ("keras", 50, "Generator_Loss", "Discriminator_Loss"),
    "mkumar-sngan-mnist-bce-epoch-csv": ("keras", 50, "Generator_Loss", "Discriminator_Loss"),
    "nyroro-wgangp-cifar10-keras-prefix": ("textlog", 350, "G_loss", "D_loss"),
    "pavas23-cyclegan-bce-real-only-d": ("textlog", 200, "Loss_G", "Loss_D"),
    "pavas23-dcgan-celeba-stdout-log": ("textlog", 260, "Loss_G", "Loss_D"),
    "polarje-ralsgan-cartoon-pinned-prefix": ("cyclegan", 82, "gen", "disc"),
    "proj-cat-gan-epoch-stdout": ("textlog", 10, "loss_g", "loss_d"),
    "rckalil-gans-unet-100-epochs": ("keras", 100, None, None),
    "rckalil-gans-unet-sgd": ("keras", 35, None, None),
    "rpg-spritegan-stylegan2ada-logtxt": ("stylegan-log", 81, None, None),
    "szczerku-rna-ganerator-wgangp-prefix": ("csv-rows", 101, "g_loss", "d_loss"),
    "vandanayadav-gan-initial-tensor-csv": ("csv-rows", 6, "losses_g", "losses_d"),
    "xbisatrouble-dcgan-tf-mnist-idle-prefix": ("textlog", 147, "g_loss", "d_loss"),
    "yeonbum-stylegan2-celebvhq-stats-prefix": ("stylegan", 8, "Loss/G/loss", "Loss/D/loss"),
    "yggyatsso-colorization-cgan-prefix": ("csv-rows", 400, "Generator", "discriminator"),
    "yskim0-dcgan-mnist-readme-excerpt": ("textlog", 23, "G_loss", "D_loss"),
    "trinhquocnguyen-deblurgan-wgangp-restarts-prefix": (
        "cyclegan", 46, "G_GAN", "D_real+fake"),
    "lycutter-deblur-sr-wgangp-short-restarts": ("cyclegan", 13, "G_GAN", "D_real+fake"),
    # mmgen's JSON log (its text twin sits beside it; tables two folders down are searched
    # before text logs); loss_disc_fake_g is mmgen's G adversarial loss, D = real + fake
    "leeguandong-mmgen-layoutganpp-two-iters": ("epoch-iter", 2, "loss_disc_fake_g", None),
    # StudioGAN logs: what they SHOULD load as (today: 132 rows, a step-6000 row made from a
    # 'Best FID score (Step: 6000, ...)' line, and the D key read as 'No_Discriminator_loss')
    "studiogan-dcgan-tinyimagenet-d-ahead-end-window": (
        "textlog", 131, "Generator_loss", "Discriminator_loss"),
    "studiogan-wgan-wc-tinyimagenet-end-window": (
        "textlog", 108, "Generator_loss", "Discriminator_loss"),
    "kasaai-ctgan-iris-readme-excerpt": ("textlog", 20, "Loss_G", "Loss_D"),
    "shiweiliu-sparse-biggan-c10-fid-jsonl": ("csv", 17, None, None),
    "ifeelbloated-stylegan2ada-fid-jsonl": ("stylegan-log", 0, None, None),
    # StudioGAN v0.3 windows: one row per print plus one for the best checkpoint re-evaluated
    # after 'End training!' (its own step, 170000 / 970000, before the window's first print)
    "studiogan-stylegan2-cifar10-end-window": ("textlog", 148, "Gen_loss", "Dis_loss"),
    "studiogan-stylegan2-ada-cifar10-end-window": ("textlog", 49, "Gen_loss", "Dis_loss"),
    # BasicSR train logs: what they SHOULD load as (one row per print, step = the iter with its
    # comma removed, G loss l_g_gan, D loss derived from l_d_real + l_d_fake); today's textlog
    # reader reads 6, 8 and 14 rows and gives l_g_gan no role
    "chhavipan23-realesrgan-finetune-start-prefix": ("textlog", 50, "l_g_gan", None),
    "chhavipan23-realesrgan-finetune-320k-resume": ("textlog", 50, "l_g_gan", None),
    "kevl0317-realesrgan-anime-fresh-d": ("textlog", 135, "l_g_gan", None),
    # StarGAN (yunjey solver.py) print: the adversarial D loss is D/loss_real + D/loss_fake (+ GP),
    # a sum the tool builds; today's textlog reader gives the D_loss role to D/loss_cls, the
    # auxiliary attribute classifier (500 rows and G/loss_fake are read right)
    "lkhup-stargan-celeba-wgangp-pytorch-5k": ("textlog", 500, "G/loss_fake", None),
    # Jittor StarGAN two-line records: the rows are right (164) but today the step is the row
    # number (0 .. 163): the '[<time>] Iteration [i/3000]' header lines are ignored; they should
    # give steps 5 .. 820; D_loss role again taken by D/loss_cls
    "lkhup-stargan-jittor-celeba-wgangp-prefix": ("textlog", 164, "G/loss_fake", None),
    # pix2pixHD stdout pasted in a note: what it SHOULD load as (one row per loss print, 176, step
    # from epoch and iters); today's textlog reader keys rows by epoch (148 rows, the second print
    # of an epoch overwrites the first) and makes rows of 'End of epoch' and 'saving' lines
    "yhgon-pix2pixhd-cityscapes-16gpu-md-excerpt": ("textlog", 176, "G_GAN", None),
    # keras.io examples' fit() progress output (Keras 2 '[====]' and Keras 3 '━━━━' bars), one
    # row per epoch (the epoch's last print; a cut-off epoch's partial print is its row)
    "keras-io-wgan-gp-fashion-mnist-md-excerpt": ("textlog", 20, "g_loss", "d_loss"),
    "keras-io-dcgan-mnist-train-step-md-excerpt": ("textlog", 25, "g_loss", "d_loss"),
    # d_loss/g_loss and discriminator_loss/generator_loss are the same Mean trackers printed
    # twice (either pair is right); today's textlog reader leaves both roles ambiguous
    "keras-io-conditional-gan-mnist-keras3-md-excerpt": ("textlog", 20, "g_loss", "d_loss"),
    "keras-io-gan-ada-birds-kid-md-excerpt": ("textlog", 10, "g_loss", "d_loss"),
    # AI-GAN stdout redirected into a .md file, three-line epoch records ('epoch e:' then two
    # value lines): SHOULD load as one row per epoch (137, step = epoch); today no reader tries
    # the .md file (not loaded), and under a .log name textlog makes 274 rows keyed by row number
    "congthanh96-aigan-cifar10-lsgan-d-ahead-prefix": ("textlog", 137, "loss_G_fake", "loss_D"),
    # Udacity face-generation notebook (TF1 DCGAN) stdout, 'Epoch e/N... Discriminator Loss:
    # d... Generator Loss: g': SHOULD load as one row per print (no step printed); today the
    # D value followed by '...' is dropped and the 'Epoch e/N' counter keys the rows (2, 1, 1)
    "guoquheweilai-dlnd-dcgan-tf1-mnist-md-excerpt": (
        "textlog", 187, "Generator_Loss", "Discriminator_Loss"),
    "guoquheweilai-dlnd-dcgan-tf1-celeba-md-excerpt": (
        "textlog", 158, "Generator_Loss", "Discriminator_Loss"),
    "guilherme-dlnd-dcgan-tf1-swapped-vars-md-excerpt": (
        "textlog", 15, "Generator_Loss", "Discriminator_Loss"),
    # SRGAN's statistics/srf_4_train_results.csv one folder down (Epoch column, keras reader)
    "shahinur-srgan-d-saturated-real": ("keras", 100, "Loss_G", "Loss_D"),
    "zzy50-srgan-d-saturated-fake": ("keras", 100, "Loss_G", "Loss_D"),
    "liwanjunit-asrgan-d-overpowers": ("keras", 40, "Loss_G", "Loss_D"),
    "hwr9912-brainct-srgan-lr-decayed-flat": ("keras", 50, "Loss_G", "Loss_D"),
    # so-vits-svc train.log: 'Train Epoch: E [P%]' then an unnamed list of 5 losses + step + lr
    "austingdong-sovits-svc-32k-ayaka-prefix": ("vits-log", 57, "loss_gen", "loss_disc"),
    "skwths-sovits-svc-32k-dodo-prefix": ("vits-log", 26, "loss_gen", "loss_disc"),
    # an end window of a so-vits-svc train.log (no config line, starts mid-session)
    "wsy979-sovits-svc-32k-late-window": ("vits-log", 34, "loss_gen", "loss_disc"),
    # RVC console output 'INFO:<exp>:[step, lr]' + 'loss_disc=d, loss_gen=g, ...' (README block)
    "gabrysiewicz-rvc-v2-kamyk-readme-excerpt": ("vits-log", 14, "loss_gen", "loss_disc"),
    # coqui trainer_0_log.txt: a GLOBAL_STEP header over one value a line, eval blocks as val/
    "jofrems-coqui-vits-finetune-prefix": ("coqui-log", 40, "loss_gen", "loss_disc"),
    # logs pasted into GitHub issue threads (the outcome from what the thread says of samples)
    "zhangxiann-pytorch-practice-dcgan-noise-issue-excerpt": ("textlog", 8, "Loss_G", "Loss_D"),
    "robbiebarrat-art-dcgan-celeba-noise-issue-excerpt": ("textlog", 13, "Err_G", "Err_D"),
    # tqdm bar with the losses glued after it ('16.42s/it]dloss: ...')
    "yjucho1-anogan-g-frozen-issue-excerpt": ("textlog", 10, "g_loss", "dloss"),
    # failed runs pasted into issue threads: NaN mid-run (printed negated / with numpy warnings),
    # unnamed '<step>: <d> <g>' lines (inf / nan from step 0), a frozen StudioGAN, G fooling D
    "golbin-tf-tutorials-gan-nan-issue-excerpt": ("textlog", 8, "G_loss", "D_loss"),
    "eriklindernoren-mlfromscratch-dcgan-nan-issue-excerpt": ("textlog", 8, "G_loss", "D_loss"),
    "aylien-gan-intro-minibatch-nan-issue-excerpt": ("textlog", 21, None, None),
    "studiogan-dcgan-tinyimagenet-frozen-issue-excerpt": ("textlog", 5, "Gen_loss", "Dis_loss"),
    "carpedm20-dcgan-tf-g-fools-d-issue-excerpt": ("textlog", 6, "g_loss", "d_loss"),
    # failed runs, second batch: a Keras ACGAN per-epoch loss table (one row per component),
    # a carpedm20 DCGAN print with the author's 'in train ' lines between
    # (the table's rows read by the pipe-table view; G and D losses through the ACGAN layout)
    "keras-mnist-acgan-d-ahead-issue-excerpt": ("textlog", 3, None, None),
    "carpedm20-dcgan-tf-g-loss-zero-issue-excerpt": ("textlog", 13, "g_loss", "d_loss"),
    # failed runs, third batch: BMSG-GAN's relativistic hinge D loss at its floor 0 (two
    # threads), a CT-GAN run retyped by the poster as a ' | ' table with no step column
    "akanimax-bmsg-gan-rahinge-d-zero-issue-excerpt": ("textlog", 6, "g_loss", "d_loss"),
    "akanimax-bmsg-gan-rahinge-long-run-issue-window": ("textlog", 18, "g_loss", "d_loss"),
    # (G's train_adversarial_loss and D's train_dis_loss through the TensorFlowTTS layout)
    "tensorspeech-tftts-mbmelgan-adv-explodes-issue-excerpt": ("textlog", 2, None, None),
    "tensorspeech-tftts-mbmelgan-adv-spike-at-d-start-issue-excerpt": ("textlog", 2, None, None),
    "ymirsky-ctgan-lsgan-d-ahead-issue-excerpt": ("textlog", 6, "G_loss", "D_loss"),
    # Social GAN's logger: 't = i / N' then one '[D] name: v' line per loss
    "agrimgupta92-sgan-d-relu-dead-issue-excerpt": (
        "textlog", 5, "G_discriminator_loss", "D_data_loss"),
    # WGAN family: a weight-clipped WGAN's nohup stdout ('Starting epoch N' lines between the
    # value lines), a WGAN-GP README excerpt with padded 'Epoch [    1/  100]' counters
    "xuhpan2028-wgan-clip-mnist-flat-emd-prefix": ("textlog", 160, "Loss_Generator", "Loss_Critic"),
    "kimmatthew-gan-style-wgangp-art-readme-excerpt": ("textlog", 15, "g_loss", "d_loss"),
    # least-squares batch: an LSGAN per-epoch log.txt (values 468/128 x the mean batch loss)
    "seiichiinoue-lsgan-mnist-scaled-epoch-log": ("textlog", 30, "loss_g", "loss_d"),
    "chan030609-pytorch-gan-mnist-last-epoch-md-excerpt": ("textlog", 331, "G_loss", "D_loss"),
    # two processes interleaved in one file: read by its epoch counter (the later lines at each
    # epoch kept, with a warning that the log mixes two trainings)
    "ykl7-celeba-dcgan-tf-one-step-epochs": ("textlog", 17, "gen_loss", "dis_loss"),
    # image-to-image batch: a GANILLA CycleGAN-style loss_log.txt whose second start resumes
    # the first (both starts are one run: 43 + 54 prints), two UGATIT prints pasted in issues
    # (PyTorch/Paddle '[  i/N] time: ...' and TensorFlow 'Epoch: [ e] [ i/N] ...'), SPADE's
    # print (G's hinge loss is 'GAN'; 'D_Fake' and 'D_real' are D's loss terms, not outputs)
    "arnaud58-ganilla-witness-lsgan-d-ahead-prefix": ("cyclegan", 97, None, None),
    "paddle-ugatit-repro-lsgan-d-ahead-issue-excerpt": ("textlog", 16, "g_loss", "d_loss"),
    "taki0112-ugatit-128px-d-flat-issue-excerpt": ("textlog", 12, "g_loss", "d_loss"),
    "aymericdamien-tf2-dcgan-mnist-d-ahead-ipynb-excerpt": ("textlog", 41, "gen_loss", "disc_loss"),
    "aymericdamien-tf1-dcgan-mnist-d-ahead-ipynb-excerpt": (
        "textlog", 21, "Generator_Loss", "Discriminator_Loss"),
    "haroldstyven-keras-gan-fashion-frozen-d-md-excerpt": ("textlog", 6, "G_loss", "D_loss"),
    "haroldstyven-keras-dcgan-mnist-frozen-d-md-excerpt": ("textlog", 6, "G_loss", "D_loss"),
    # CTGAN / CopulaGAN (SDV) verbose prints parsed into a pandas CSV by the repository's
    # script, nested where the repository writes it (step = Epoch, the index column left out)
    "mareped-stdg-copulagan-cardio-250-epochs": (
        "ctgan", 250, "Generator Loss", "Discriminator Loss"),
    "mareped-stdg-copulagan-lower-back-pain-500-epochs": (
        "ctgan", 500, "Generator Loss", "Discriminator Loss"),
    "mareped-stdg-ctgan-cardio-300-epochs": ("ctgan", 300, "Generator Loss", "Discriminator Loss"),
    # SPADE: read through its layout (D loss D_Fake + D_real, G loss GAN), no role columns
    "nvlabs-spade-cocostuff-hinge-issue-excerpt": ("textlog", 8, None, None),
    # text / molecule GANs. SeqGAN's G loss is a policy-gradient (REINFORCE) loss, not a loss
    # against a label: no G_loss column expected for the table (pg_loss); TextGAN-PyTorch's log
    # should load as its 26 adversarial epochs (the [MLE-GEN] pretraining is another phase)
    "frensiz-seqgan-oracle-slow-d-seed10": ("keras", 50, None, "d_loss"),
    "yuizh0u-textgan-seqgan-covid-d-saturated-prefix": ("textlog", 26, "g_loss", "d_loss"),
    "keras-io-wgan-graphs-qm9-molecules-md-excerpt": ("textlog", 10, "loss_gen", "loss_dis"),
    # Less common frameworks: a PaddlePaddle notebook's two-line records (one row a record,
    # 300, since `Epoch ID` / `Batch ID` are counters; the iterations per epoch inferred from
    # the printed batches, 2700, where the data gives 1875), a PaddleGAN
    # trainer log (two GANs, read through the layout), a MindSpore SPADE print repeated by
    # the data-parallel workers for one iteration (one step)
    "zilipeng-paddle-lsgan-mnist-d-ahead-md-excerpt": ("textlog", 300, "G-Loss", "D-Loss"),
    "paddlegan-psgan-makeup-doc-log-excerpt": ("textlog", 11, None, None),
    "mindspore-spade-ade20k-8gpu-readme-excerpt": ("textlog", 1, "Loss_G", "Loss_D"),
    # RGAN (recurrent time-series GAN) traces experiments/traces/<id>.trace.txt: a
    # space-separated epoch table ('epoch time D_loss G_loss mmd2 that pdf real_pdf'), nested
    # where the trainer writes it; what the same table loads as with tabs for the spaces
    # RGAN traces: a table between spaces two folders down (experiments/traces/)
    "etapiahe-rgan-d-ahead-g-climbs-trace": ("keras", 100, "G_loss", "D_loss"),
    "niloofarsharifi-rgan-sine-mmd-falls-trace": ("keras", 100, "G_loss", "D_loss"),
    "niloofarsharifi-rgan-sine-sgd01-d-ahead-trace": ("keras", 100, "G_loss", "D_loss"),
    "niloofarsharifi-rgan-sine-d-saturated-partial-trace": ("keras", 67, "G_loss", "D_loss"),
    # EdgeConnect checkpoints/log_<model>.dat: headerless 'epoch iteration <logs> <metrics>'
    # lines whose names are only in the trainer's code (edge model: l_d1 l_g1 l_fm precision
    # recall; inpaint model: l_d2 l_g2 l_l1 l_per l_sty psnr mae, l_g2 logged x 0.1), read by
    # the edgeconnect reader, G and D losses through its layouts (no roles). The end window
    # holds a resume (epoch 9 -> 1, iteration 82340 -> 82010): 113 first-start rows before
    # iteration 82010 + 7 resumed rows. HINT's columns are gLoss (G's total loss, not
    # adversarial) and dLoss: no G loss column.
    "othman-vram-edgeconnect-edge-nsgan-prefix": ("edgeconnect", 156, None, None),
    "othman-vram-edgeconnect-edge-d-ahead-end-window": ("edgeconnect", 120, None, None),
    "othman-vram-edgeconnect-inpaint-nsgan-prefix": ("edgeconnect", 113, None, None),
    "anjanak31-hint-inpaint-lsgan-d-at-chance-prefix": ("edgeconnect", 154, None, None),
    # chainer-gan-lib LogReport result/log one folder down, with command.txt beside it
    "natchan-chainer-sndcgan-celeba64-stdgan-log": ("chainer", 1000, "loss_gen", "loss_dis"),
    "natchan-chainer-began-cifar10-partial-log": ("chainer", 99, "loss_gen", "loss_dis"),
    "natchan-chainer-dcgan-celeba64-d-ahead-prefix": ("chainer", 349, "loss_gen", "loss_dis"),
    # StyleGAN2-ADA stats.jsonl alone (a prefix and an end window): steps are ticks
    "hexanol777-stylegan2ada-sprites-d-ahead-stats-prefix": (
        "stylegan", 16, "Loss/G/loss", "Loss/D/loss"),
    "bluelionlabs-stylegan2ada-phytoplankton-stats-end-window": (
        "stylegan", 7, "Loss/G/loss", "Loss/D/loss"),
    # Kaggle/Colab notebook output: Keras fit() epochs (a cut-off last epoch kept as a row)
    # PyTorch DCGAN tutorial prints pasted in a README (4 rows each), a cGAN's '|'-separated prints
    "alimomeni2000-keras-dcgan-fashion-mnist-ipynb-excerpt": ("textlog", 98, "g_loss", "d_loss"),
    "p1neapplechoco-dcgan-pokemon-d-saturated-readme-excerpt": ("textlog", 4, "Loss_G", "Loss_D"),
    "p1neapplechoco-dcgan-pokemon-2k-d-ahead-readme-excerpt": ("textlog", 4, "Loss_G", "Loss_D"),
    "thegith45-tf-cgan-unsw-nb15-tabular-ipynb-excerpt": ("textlog", 31, "G_Loss", "D_Loss"),
}


def test_zoo_table_covers_the_labels():
    assert set(ZOO_LOADS) == set(_zoo())


# Folders no reader loads yet, or not as they should (LABELS.yaml says why): strict expected
# failures, so a reader that starts loading them right is noticed.
ZOO_NOT_LOADED = {
    "alokwhitewolf-chainer-dcgan-dis-only": (
        "loss_gen (D's term on generated data) is read as G's loss and loss (D's) gets no role"),
    "aylien-gan-intro-minibatch-nan-issue-excerpt": "unnamed '<step>: <d> <g>' lines not read",
    "agrimgupta92-sgan-d-relu-dead-issue-excerpt": (
        "'t = i / N' counter not read: the headers read as values t_1/t_2, the records ignored"),
    "arnaud58-ganilla-witness-lsgan-d-ahead-prefix": (
        "a second start that resumes the first's weights with its epoch counter back at 1 is"
        " read as a restart: 54 of 97 prints kept"),
    "aymericdamien-tf2-dcgan-mnist-d-ahead-ipynb-excerpt": (
        "the first line 'initial: gen_loss: g, disc_loss: d' (the untrained nets at step 0) is"
        " ignored as before the first step: 40 of 41 rows"),
    "yuizh0u-textgan-seqgan-covid-d-saturated-prefix": (
        "MLE pretraining epochs (0 .. 119) and adversarial epochs (0 .. 25) share one step axis:"
        " 36 rows, 27 steps written twice, 4 [ADV-DIS] prints per epoch collapsed to the last"),
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=ZOO_NOT_LOADED[n]))
        if n in ZOO_NOT_LOADED
        else n
        for n in sorted(ZOO_LOADS)
    ],
)
def test_zoo_log_loads(name):
    fmt, rows, g, d = ZOO_LOADS[name]
    r = load_run(ZOO / name)
    assert r.format == fmt
    if rows is not None:
        assert len(r.scalars) == rows
    if g is not None:
        assert r.column("G_loss") == g
    if d is not None:
        assert r.column("D_loss") == d
    assert json.dumps(r.summary(), default=str)


def test_epoch_batch_csv(tmp_path):
    rows = [f"{e},{b},{0.7 + e:g},{1.3 - 0.1 * b:g}" for e in range(2) for b in range(3)]
    (tmp_path / "training_log.csv").write_text("Epoch,Batch,Gen Loss,Disc Loss\n" + "\n".join(rows))
    r = load_run(tmp_path)
    assert (r.format, r.step_unit) == ("epoch-iter", "iteration")
    assert r.steps.tolist() == [0, 1, 2, 3, 4, 5]
    assert r.series("G_loss").tolist() == [0.7, 0.7, 0.7, 1.7, 1.7, 1.7]
    assert r.column("D_loss") == "Disc Loss"


def test_a_table_beside_a_stdout_log_wins(tmp_path):
    (tmp_path / "train.log").write_text(DCGAN)
    (tmp_path / "metrics.csv").write_text("step,g_loss\n0,1.0\n1,0.9\n")
    assert detect_format(tmp_path) == "csv"
    assert detect_format(tmp_path / "train.log") == "textlog"


def test_a_lone_stylegan_stats_jsonl_is_a_stylegan_run(tmp_path):
    rec = {
        "Progress/tick": {"num": 1, "mean": 0.0, "std": 0.0},
        "Loss/G/loss": {"num": 64, "mean": 2.6, "std": 0.5},
        "Loss/D/loss": {"num": 64, "mean": 0.6, "std": 0.1},
        "Timing/total_sec": {"num": 1, "mean": 60.0, "std": 0.0},
    }
    lines = []
    for t in range(3):
        rec["Progress/tick"]["mean"] = float(t)
        lines.append(json.dumps(rec))
    (tmp_path / "stats.jsonl").write_text("\n".join(lines) + "\n")
    r = load_run(tmp_path)
    assert r.format == "stylegan" and len(r.scalars) == 3
    assert (r.column("G_loss"), r.column("D_loss")) == ("Loss/G/loss", "Loss/D/loss")
    # any other JSON lines alone stay a table
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "stats.jsonl").write_text('{"g_loss": 1.0, "d_loss": 0.5}\n' * 3)
    assert load_run(tmp_path / "t").format != "stylegan"


def test_a_stray_cyclegan_line_is_read_at_its_epoch_or_left_out_never_over_a_real_one(tmp_path):
    from gananalyze.importers.counters import stray_rows

    # its iters fit between its neighbours of epoch 11: only the epoch is off
    assert stray_rows([11, 1, 11], [100, 200, 300]) == {1: 11}
    assert stray_rows([11, 1, 11], [100, 400, 300]) == {1: None}  # its place is unknown
    assert stray_rows([5, 6, 1, 2, 3], [1, 1, 1, 1, 1]) == {}  # several lines back: a restart
    assert stray_rows([2, 1, 2, 1, 2], [1, 2, 3, 4, 5]) == {}  # back and forth: interleaved runs
    head = "================ Training Loss (Mon Jan  1 00:00:00 2024) ================\n"
    line = "(epoch: {}, iters: {}, time: 0.1, data: 0.01) D_A: {} G_A: 0.5 D_B: 0.2 G_B: 0.5 \n"
    rows = [(1, 100, 0.40), (1, 200, 0.43), (2, 100, 0.30), (1, 200, 0.11), (2, 300, 0.20)]
    (tmp_path / "loss_log.txt").write_text(head + "".join(line.format(*r) for r in rows))
    r = load_run(tmp_path)
    d = r.scalars.set_index("step")["D_A"]
    assert d.to_dict() == {100: 0.40, 200: 0.43, 400: 0.30, 500: 0.11, 600: 0.20}
    assert r.damaged == []  # read, not lost: a warning names it
    assert (
        f"{tmp_path / 'loss_log.txt'}:5: epoch printed as 1 amid lines of a later epoch; read "
        "as epoch 2" in r.warnings
    )


def test_mmcv_json_log_with_its_env_info_line(tmp_path):
    # MMCV/MMGeneration `<timestamp>.log.json`: a first line of environment and seed, then one
    # object per logged iteration; `iter` is the step even though line 1 lacks it
    import json

    d = tmp_path / "work_dirs" / "dcgan"
    d.mkdir(parents=True)
    lines = [json.dumps({"env_info": "sys.platform: linux", "seed": 2021, "exp_name": "dcgan"})]
    for i in range(1, 31):
        lines.append(
            json.dumps(
                {"mode": "train", "epoch": 1, "iter": i * 100, "lr": {"generator": 2e-4},
                 "loss_disc_fake": 0.3, "loss_disc_real": 0.35, "loss_gen": 1.0 + i / 100}
            )
        )
        if i % 10 == 0:  # an evaluation line at the same iteration
            lines.append(
                json.dumps({"mode": "val", "epoch": 1, "iter": i * 100, "FID": 40 - i,
                            "loss_gen": 9.0})
            )
    (d / "20210801_100000.log.json").write_text("\n".join(lines) + "\n")
    r = load_run(d)
    assert r.steps.tolist() == list(range(100, 3001, 100))
    assert r.step_unit == "iteration"
    assert r.column("G_loss") == "loss_gen"
    # a `val` line's losses are kept apart; its FID is the run's FID
    assert r.column("fid") == "FID"
    assert r.series("FID").dropna().tolist() == [30.0, 20.0, 10.0]
    assert r.series("val/loss_gen").dropna().tolist() == [9.0, 9.0, 9.0]
    assert r.series("loss_gen").to_numpy()[-1] == pytest.approx(1.3)


def test_a_clock_column_must_run_forward(tmp_path):
    # BigGAN-PyTorch's `_stamp` is the wall clock; MMCV's `time` (seconds per iteration) is not
    import json

    (tmp_path / "a").mkdir()
    rows = [{"itr": i * 100, "_stamp": 1.6e9 + 30 * i, "FID": 50.0 - i} for i in range(1, 6)]
    (tmp_path / "a" / "exp_log.jsonl").write_text("\n".join(map(json.dumps, rows)) + "\n")
    r = load_run(tmp_path / "a")
    assert "_stamp" not in r.metrics and r.scalars["wall_time"].tolist() == [
        1.6e9 + 30 * i for i in range(1, 6)
    ]
    (tmp_path / "b").mkdir()
    times = [0.52, 0.49, 0.51, 0.5, 0.48]
    rows = [{"iter": i * 100, "time": t, "loss_gen": 1.0} for i, t in enumerate(times, 1)]
    (tmp_path / "b" / "x.log.json").write_text("\n".join(map(json.dumps, rows)) + "\n")
    r = load_run(tmp_path / "b")
    assert r.series("time").tolist() == times


def _tqdm_losses(n: int) -> list[str]:
    """QuantGAN-style tqdm lines: the losses as the bar's description, the count after it."""
    return [
        f"Discriminator Loss: {1.0 + i / 100:.8f} Generator Loss: {2.0 - i / 100:.8f}: "
        f"{100 * i // n:3d}%|#| {i}/{n} [00:{i:02d}<00:10,  3.14s/it]"
        for i in range(1, n + 1)
    ]


def test_a_tqdm_bar_last_written_without_a_newline_is_whole(tmp_path):
    # tqdm writes no newline after its last redraw: the line ends in 's/it]', not mid-number
    (tmp_path / "output.log").write_text("\r".join(_tqdm_losses(30)))
    r = load_run(tmp_path)
    assert r.warnings == []
    assert len(r.series("Generator_Loss")) == 30
    assert r.series("Generator_Loss").iloc[-1] == pytest.approx(1.7)


def test_a_wandb_run_folder_is_read_from_its_stdout_not_its_summary(tmp_path):
    # wandb/run-<date>-<id>/files: output.log is the run's stdout (its history is the binary
    # .wandb file); wandb-summary.json holds one row of last values, no history
    files = tmp_path / "run-20240525_110243-ef6y0znc" / "files"
    files.mkdir(parents=True)
    (files / "output.log").write_text("\r".join(_tqdm_losses(30)))
    summary = {"_step": 799, "_runtime": 1256.5, "_timestamp": 1.7e9, "Generator Loss": 1.7}
    (files / "wandb-summary.json").write_text(json.dumps(summary))
    r = load_run(tmp_path / "run-20240525_110243-ef6y0znc")
    assert r.format == "textlog"
    assert r.steps.tolist() == list(range(1, 31))
    assert r.column("G_loss") == "Generator_Loss"
