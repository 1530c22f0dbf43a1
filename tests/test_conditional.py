"""A class-conditional GAN on the 8x8 digits, trained and logged the way a user would
(RunLog with labels, generator_spec with classes), evaluated per class by fid-sweep and
judged by the conditional rules (analysis/rules/conditional.py)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402

import gananalyze as ga  # noqa: E402
from gananalyze.analysis import analyze  # noqa: E402
from gananalyze.analysis.conditional import class_table, evaluations  # noqa: E402
from gananalyze.digits import (  # noqa: E402
    ConditionalDiscriminator,
    ConditionalGenerator,
    load_digits_images,
    load_digits_labels,
)
from gananalyze.metrics.sweep import sweep  # noqa: E402
from gananalyze.textfmt import fmt_pct  # noqa: E402

STEPS = 1000  # the healthy run
CUT_STEPS, CUT_AT = 1500, 1000  # the run whose label input is cut, after G has learnt it
EVERY = 250


def train(path, steps: int = STEPS, cut_at: int | None = None, seed: int = 0):
    """A cGAN: G(z, y) and D(x, y) both see the digit. cut_at: from that step on, G's
    label input is cut (its embedding zeroed and frozen), as a wiring bug would."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x_all = torch.from_numpy(load_digits_images())
    y_all = torch.from_numpy(load_digits_labels())
    G = ConditionalGenerator(latent_dim=16, hidden=128)
    D = ConditionalDiscriminator(hidden=128, dropout=0.3)
    opt_g = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))
    spec = ga.generator_spec(
        "gananalyze.digits:ConditionalGenerator",
        {"latent_dim": 16, "hidden": 128},
        latent_shape=(16,),
        noise_seed=7,
        classes=10,
    )
    z_fixed = torch.randn(50, 16, generator=torch.Generator().manual_seed(1))
    y_fixed = torch.arange(50) % 10
    g = torch.Generator().manual_seed(seed)
    cfg = {"batch_size": 64, "d_loss_reduction": "sum"}
    with ga.RunLog(path, loss="bce", generator=spec, config=cfg) as log:
        for step in range(steps + 1):
            if step == cut_at:
                with torch.no_grad():
                    G.embed.weight.zero_()
                G.embed.weight.requires_grad_(False)
            if step % EVERY == 0:
                with torch.no_grad():
                    log.samples(step, G(z_fixed, y_fixed), labels=y_fixed)
                log.checkpoint(step, G, D)
            if step == steps:
                break
            idx = torch.randint(0, len(x_all), (64,), generator=g)
            x, y = x_all[idx], y_all[idx]
            z = torch.randn(64, 16, generator=g)
            y_fake = torch.randint(0, 10, (64,), generator=g)
            fake = G(z, y_fake)
            d_real, d_fake = D(x, y), D(fake.detach(), y_fake)
            loss_d = F.binary_cross_entropy_with_logits(
                d_real, torch.ones_like(d_real)
            ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            d_after = D(fake, y_fake)
            loss_g = F.binary_cross_entropy_with_logits(d_after, torch.ones_like(d_after))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            log.scalars(step, G_loss=loss_g, D_loss=loss_d)
            log.discriminator(step, d_real, d_fake, d_after, logits=True)
    return path


pytestmark = pytest.mark.slow  # two short trainings and their sweeps


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cgan")
    cache = base / "cache"
    out = {}
    for name, steps, cut in (("healthy", STEPS, None), ("cut", CUT_STEPS, CUT_AT)):
        path = train(base / name, steps, cut_at=cut)
        sweep(
            path,
            "sklearn-digits",
            features="digits",
            num_samples=500,
            device="cpu",
            cache_dir=cache,
        )
        out[name] = analyze(path)
    return out


def test_labels_are_logged_one_grid_row_per_class(runs):
    run, _ = runs["healthy"]
    assert run.classes == 10
    grid = run.samples[-1]
    assert (grid.nrow, grid.ncol) == (10, 5)
    assert grid.sample_labels().tolist() == sorted(list(range(10)) * 5)
    assert grid.tiles().shape == (50, 8, 8, 3)


def test_healthy_conditional_run_is_called_healthy(runs):
    run, d = runs["healthy"]
    ev = evaluations(run)
    last = ev.iloc[-1]
    assert last["cond_acc"] > 0.8 and last["cond_acc_real"] > 0.95
    assert last["cond_acc_chance"] == pytest.approx(0.1, abs=0.03)
    assert last["class_coverage"] >= 0.9, ev.to_dict("records")
    assert d.status == "healthy", [(f.rule, f.message) for f in d.findings]
    assert not [f for f in d.findings if f.rule.startswith(("conditional", "class_"))]


def test_cut_label_input_is_conditional_collapse(runs):
    run, d = runs["cut"]
    ev = evaluations(run)
    print(ev.drop(columns="per_class").to_string(), [(f.rule, f.message) for f in d.findings])
    before, after = ev[ev["step"] < CUT_AT], ev[ev["step"] > CUT_AT]
    assert before["cond_acc"].iloc[-1] > 0.5
    assert (after["cond_acc"] < 0.25).all() and (after["cdiv"] >= 0.5).all()
    f = next(f for f in d.findings if f.rule == "conditional_collapse")
    assert f.severity == "error"
    assert f.start_step >= CUT_AT and f.end_step == CUT_STEPS
    assert f.numbers["cond_acc"] == pytest.approx(after["cond_acc"].iloc[-1])
    assert f.numbers["chance"] < 0.2 and f.numbers["real"] > 0.95
    assert f.message.startswith(f"Conditional accuracy {fmt_pct(f.numbers['cond_acc'])}")
    assert "G ignores its label from step" in f.message and "to the end" in f.message
    # the per-class table, worst first
    t = class_table(run)
    assert list(t.columns) == ["class", "acc", "pred", "pred_share", "fid", "div"]
    assert np.all(np.diff(t["acc"].to_numpy()) >= 0)


def test_report_shows_the_classes_worst_first(runs):
    from gananalyze.analysis.report_evidence import gather
    from gananalyze.pages.report import build_report_context, build_report_html

    run, d = runs["cut"]
    ev = gather(run, d, tsne=False)
    t = ev.classes.table
    assert ev.classes.classes == 10 and ev.classes.order == [int(c) for c in t["class"]]
    assert [g.step for g in ev.classes.grids] == list(range(0, CUT_STEPS + 1, EVERY))
    ctx = build_report_context(ev)
    pc = ctx["per_class"]
    assert [r[0] for r in pc["table"].rows] == [str(int(c)) for c in t["class"]]
    assert [r["label"] for r in pc["grid"]] == [f"class {c}" for c in ev.classes.order]
    assert all(src.startswith("data:image/png;base64,") for r in pc["grid"] for src in r["cells"])
    html = build_report_html(ev)
    assert '<section id="per-class">' in html
    assert html.count('alt="class ') == 10 * len(ev.classes.grids)
    assert f"conditional accuracy <b>{fmt_pct(ev.classes.summary['cond_acc'])}</b>" in html
