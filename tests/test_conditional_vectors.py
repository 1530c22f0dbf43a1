"""Labels for vectors and tables: a conditional GAN on the ring of 8 (the label is the
mode), logged with its labels the way a user would, swept by fid-sweep against a real
CSV whose class column is named (--label-column), and judged by the conditional rules.

Two runs: a healthy cGAN (G(z, y) and D(x, y) both see the mode), and one whose label
input is cut from the start (G's embedding zeroed and frozen, D given label 0 for every
row): it trains as an unconditional GAN and covers the ring, ignoring the mode it is
asked for, which is conditional collapse."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

import gananalyze as ga  # noqa: E402
from gananalyze.analysis import analyze  # noqa: E402
from gananalyze.analysis.conditional import evaluations  # noqa: E402
from gananalyze.cli import main  # noqa: E402
from gananalyze.errors import GanAnalyzeError  # noqa: E402
from gananalyze.files.datatable import load_table  # noqa: E402
from gananalyze.metrics.sweep import sweep  # noqa: E402
from gananalyze.textfmt import fmt_pct  # noqa: E402
from gananalyze.toyring import (  # noqa: E402
    ConditionalDiscriminator,
    ConditionalGenerator,
    ring_points,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lab.conditional import bce_step  # noqa: E402  (one conditional BCE step: the lab's)

EVERY = 100
HEALTHY_STEPS, CUT_STEPS = 300, 600
LATENT = 4
SAMPLES = 800


def train(path, steps: int, cut: bool = False, seed: int = 0):
    """A conditional ring GAN logged with RunLog (labels with the samples). cut: the label
    input of both nets is cut from the start (G's embedding zeroed and frozen, D sees
    label 0 for every row), as a broken label pipeline would."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x_np, y_np = ring_points(4000, seed=1, labels=True)
    x_all, y_all = torch.from_numpy(x_np), torch.from_numpy(y_np)
    kw = {"latent_dim": LATENT, "hidden": 64}
    G, D = ConditionalGenerator(**kw), ConditionalDiscriminator(hidden=64)
    if cut:
        with torch.no_grad():
            G.embed.weight.zero_()
        G.embed.weight.requires_grad_(False)
    opt_g = torch.optim.Adam(
        [p for p in G.parameters() if p.requires_grad], 1e-3, betas=(0.5, 0.999)
    )
    opt_d = torch.optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))
    spec = ga.generator_spec(
        "gananalyze.toyring:ConditionalGenerator",
        kw,
        latent_shape=(LATENT,),
        noise_seed=3,
        classes=8,
    )
    z_fixed = torch.randn(64, LATENT, generator=torch.Generator().manual_seed(1))
    y_fixed = torch.arange(64) % 8
    g = torch.Generator().manual_seed(seed)
    with ga.RunLog(path, loss="bce", generator=spec, config={"batch_size": 128}) as log:
        for step in range(steps + 1):
            if step % EVERY == 0:
                with torch.no_grad():
                    log.samples(step, G(z_fixed, y_fixed), labels=y_fixed, columns=["x", "y"])
                log.checkpoint(step, G, D)
            if step == steps:
                break
            idx = torch.randint(0, len(x_all), (128,), generator=g)
            x, y = x_all[idx], y_all[idx]
            z = torch.randn(128, LATENT, generator=g)
            y_fake = torch.randint(0, 8, (128,), generator=g)
            y_d = torch.zeros_like(y_fake) if cut else y_fake  # the cut: D sees no label either
            if cut:
                y = torch.zeros_like(y)
            loss_d, loss_g, d_real, d_fake, d_after = bce_step(
                G, D, opt_g, opt_d, x, y, z, y_fake, y_d
            )
            log.scalars(step, G_loss=loss_g, D_loss=loss_d)
            log.discriminator(step, d_real, d_fake, d_after, logits=True)
    return path


def real_csv(path, n: int = 2000):
    """The ring's points with their mode as the class column `mode`."""
    x, y = ring_points(n, seed=0, labels=True)
    pd.DataFrame({"x": x[:, 0], "y": x[:, 1], "mode": y}).to_csv(path, index=False)
    return path


pytestmark = pytest.mark.slow  # two short trainings and their sweeps


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cring")
    real = real_csv(base / "real.csv")
    out = {"real": real}
    for name, steps, cut in (("healthy", HEALTHY_STEPS, False), ("cut", CUT_STEPS, True)):
        path = train(base / name, steps, cut=cut)
        frame = sweep(
            path, str(real), metrics="fid", num_samples=SAMPLES, label_column="mode", device="cpu"
        )
        out[name] = (path, frame, *analyze(path))
    return out


def test_label_column_is_the_class_not_a_feature(tmp_path):
    p = tmp_path / "t.csv"
    pd.DataFrame(
        {"a": [0.1, 0.2, 0.3, 0.4], "b": [1.0, 2.0, 3.0, 4.0], "kind": ["dog", "cat", None, "dog"]}
    ).to_csv(p, index=False)
    t = load_table(p, label_column="kind")
    assert t.columns == ["a", "b"] and t.matrix.shape == (3, 2)
    assert t.labels.tolist() == [1, 0, 1] and t.label_names == ["cat", "dog"]
    assert ("kind", "1 row(s) without a label left out") in t.dropped
    assert "classes from 'kind' (2 distinct values)" in t.describe()
    ints = load_table(p, label_column="b")
    assert ints.labels.tolist() == [1, 2, 3, 4] and ints.columns[:1] == ["a"]
    with pytest.raises(GanAnalyzeError) as e:
        load_table(p, label_column="mode")
    assert str(e.value) == f"{p}: no label column 'mode'; its columns are 'a', 'b', 'kind'"
    pd.DataFrame({"a": [0.1, 0.2], "c": [-1, 3]}).to_csv(p, index=False)
    with pytest.raises(GanAnalyzeError, match="integer classes must lie in 0..65535, found -1..3"):
        load_table(p, label_column="c")


def test_labels_logged_with_the_vector_samples(runs):
    path, _, run, _ = runs["healthy"]
    assert run.classes == 8
    last = run.vectors[-1]
    assert last.labels == [i % 8 for i in range(64)]


def test_healthy_conditional_ring_per_class_metrics(runs):
    path, frame, run, d = runs["healthy"]
    assert {"cfid", "cfid_worst", "cond_acc", "cond_acc_chance", "cond_acc_real"} <= set(frame)
    assert frame["features"].unique().tolist() == ["raw"]
    ev = evaluations(run)
    assert ev["step"].tolist() == list(range(0, HEALTHY_STEPS + 1, EVERY))
    last = ev.iloc[-1]
    assert last["cond_acc"] > 0.95 and last["cond_acc_real"] > 0.99
    assert last["cond_acc_chance"] == pytest.approx(0.125, abs=0.02)
    assert last["class_coverage"] == 1.0 and last["cdiv"] == pytest.approx(1.0, abs=0.1)
    assert last["cfid"] < 0.05 and len(last["per_class"]["fid"]) == 8
    assert last["per_class"]["pred"] == list(range(8))
    assert not [f for f in d.findings if f.rule.startswith(("conditional", "class_"))]


def test_ignored_label_on_vectors_is_conditional_collapse(runs):
    path, frame, run, d = runs["cut"]
    ev = evaluations(run)
    last = ev.iloc[-1]
    print(ev.drop(columns="per_class").to_string(), [(f.rule, f.message) for f in d.findings])
    assert last["cond_acc"] < 0.2 and last["class_coverage"] >= 0.75 and last["cdiv"] > 0.8
    f = next(f for f in d.findings if f.rule == "conditional_collapse")
    assert f.severity == "error" and f.end_step == CUT_STEPS
    assert f.numbers["cond_acc"] == pytest.approx(last["cond_acc"])
    assert f.message.startswith(f"Conditional accuracy {fmt_pct(last['cond_acc'])}")
    assert "G ignores its label from step" in f.message and "to the end" in f.message


def test_cli_label_column_resumes_and_refuses_images(runs):
    path, frame, _, _ = runs["healthy"]
    real = runs["real"]
    args = ["fid-sweep", str(path), "--real", str(real), "--label-column", "mode"]
    res = CliRunner().invoke(main, [*args, "--num-samples", str(SAMPLES), "--json"])
    assert res.exit_code == 0, res.output
    import json

    got = json.loads(res.output[res.output.index("{") :])["results"]
    assert [r["source"] for r in got] == ["stored"] * len(frame)
    assert [r["cond_acc"] for r in got] == pytest.approx(frame["cond_acc"].tolist())
    # the same table without naming its class column: the label is taken for a feature
    few = ["--num-samples", "100", "--steps", "0"]
    res = CliRunner().invoke(main, ["fid-sweep", str(path), "--real", str(real), *few])
    assert res.exit_code == 3
    assert "the generator makes 2 columns, the real table" in res.output
    assert "name it with --label-column" in res.output
    res = CliRunner().invoke(
        main, ["fid-sweep", str(path), "--real", str(real), "--metrics", "cacc", *few]
    )
    assert res.exit_code == 3
    assert "metric(s) cacc need labelled real rows: name the table's class column" in res.output
    res = CliRunner().invoke(
        main, ["fid-sweep", str(path), "--real", "sklearn-digits", "--label-column", "y", *few]
    )
    assert res.exit_code == 3
    assert "--label-column names the class column of a real table" in res.output
