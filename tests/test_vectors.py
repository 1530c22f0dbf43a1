"""GANs that make rows, not images (issue 16): vector samples through RunLog, the
vector_collapse rule, `check/report --samples --real`, fid-sweep on a vector generator
(parity with pytorch-fid and torch-fidelity on the same standardised rows), the report's
tabular sections."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from browser import assert_not_blank, check_charts, needs_chromium, screenshot, sync_playwright
from click.testing import CliRunner

from gananalyze import RunLog, generator_spec
from gananalyze.analysis.rules.diagnose import NOT_COMPARED
from gananalyze.cli import main
from gananalyze.errors import GanAnalyzeError
from gananalyze.loader import load_run
from gananalyze.toyring import Generator, ring_points


def cli(*args):
    return CliRunner().invoke(main, [*map(str, args)])


def ring_run(path, modes_per_step, n=256):
    """A run whose samples at step 100*i come from the ring's modes modes_per_step[i]."""
    with RunLog(path, name=path.name) as log:
        for i, modes in enumerate(modes_per_step):
            log.scalars(i * 100, G_loss=0.7, D_loss=1.38)
            log.samples(i * 100, ring_points(n, seed=i, modes=modes), columns=["x", "y"])
    return path


def real_csv(path, n=1000):
    pd.DataFrame(ring_points(n, seed=99), columns=["x", "y"]).to_csv(path, index=False)
    return path


ALL = list(range(8))


# ---------------------------------------------------------------- storage


def test_vectors_and_sequences_are_stored_as_arrays_and_read_back(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    seq = np.arange(24, dtype=np.float32).reshape(4, 3, 2)
    with RunLog(tmp_path / "r") as log:
        log.scalars(0, G_loss=1.0)
        p = log.samples(5, x, columns=["a", "b"])
        log.samples(7, seq, kind="sequences")
        log.samples(9, np.zeros((4, 1, 3, 3)))  # still an image grid
    assert p.name == "step-000000005.npy"
    run = load_run(tmp_path / "r")
    assert [(v.step, v.kind, v.columns) for v in run.vectors] == [
        (5, "vectors", ["a", "b"]),
        (7, "sequences", ["c0", "c1"]),
    ]
    assert np.array_equal(run.vectors[0].array(), x)
    assert run.vectors[1].flat().shape == (4, 6)
    assert [s.step for s in run.samples] == [9]
    index = (tmp_path / "r" / "samples" / "vectors.jsonl").read_text().splitlines()
    assert json.loads(index[0]) == {
        "step": 5,
        "file": "step-000000005.npy",
        "kind": "vectors",
        "shape": [6, 2],
        "columns": ["a", "b"],
    }


@pytest.mark.parametrize(
    "shape, kind, message",
    [
        (
            (64, 2, 1, 1),
            "auto",
            "samples: shape (64, 2, 1, 1) is not an image batch (N, C, H, W) "
            "with C = 1, 3 or 4; for vectors pass (N, D), e.g. x.reshape(64, -1)",
        ),
        (
            (64,),
            "auto",
            "samples: shape (64,) is none of images (N, C, H, W) or (N, H, W), "
            "vectors (N, D), sequences (N, T, D) with kind='sequences'",
        ),
        ((4, 3), "sequences", "samples: sequences must be (N, T, D), got shape (4, 3)"),
        ((4, 3), "rows", "samples kind must be auto, images, vectors or sequences, not 'rows'"),
    ],
)
def test_bad_sample_shapes_get_one_clear_line(tmp_path, shape, kind, message):
    with RunLog(tmp_path / "r") as log:
        with pytest.raises(GanAnalyzeError) as e:
            log.samples(0, np.zeros(shape), kind=kind)
    assert str(e.value) == message


def test_damaged_vector_file_is_one_line(tmp_path):
    ring_run(tmp_path / "r", [ALL, ALL])
    (tmp_path / "r" / "samples" / "step-000000100.npy").write_bytes(b"not numpy")
    res = cli("check", tmp_path / "r")
    assert "Unreadable vector samples" in res.output and res.exit_code == 0
    assert "step-000000100.npy: unreadable vector samples at step 100 (ValueError" in res.output
    assert "Traceback" not in res.output


# ---------------------------------------------------------------- the rule


def test_check_calls_eight_modes_healthy_and_one_mode_collapsed_from_samples_alone(tmp_path):
    good = ring_run(tmp_path / "good", [ALL, ALL, ALL, ALL])
    bad = ring_run(tmp_path / "bad", [ALL, ALL, [0], [0]])
    res = cli("check", good, "--json")
    d = json.loads(res.output)
    # no collapse, but without the real rows nothing says the samples look like the data
    assert res.exit_code == 0 and d["status"] == "no_problems_found"
    assert d["verdict"].startswith("No problems found; the vector samples at 4 checkpoint")
    assert d["verdict"].endswith("not called healthy: " + NOT_COMPARED + ".")
    res = cli("check", bad, "--json")
    d = json.loads(res.output)
    assert res.exit_code == 1 and d["status"] == "problems"
    f = d["findings"][0]
    assert (f["rule"], f["severity"], f["start_step"], f["end_step"]) == (
        "vector_collapse",
        "error",
        200,
        300,
    )
    assert f["numbers"]["spread_last"] < 0.05
    assert "their spread fell to 0.0" in f["message"]


def test_a_g_settling_on_tight_modes_is_no_collapse_without_the_real_rows(tmp_path):
    """A README-written trainer's healthy ring GAN (8 modes of std 0.05, radius 2): its early
    diffuse samples sit far apart, its final ones close together inside tight modes. Without
    the real rows nothing says how tight the data's modes are, so closeness is no collapse
    (near-duplicates were read against the widest checkpoint's spacing and called this an
    error); a collapse to one mode is still seen by the spread falling."""
    rng = np.random.default_rng(0)
    angle = 2 * np.pi * rng.integers(0, 8, 512) / 8
    tight = np.c_[2 * np.cos(angle), 2 * np.sin(angle)] + rng.normal(0, 0.05, (512, 2))
    with RunLog(tmp_path / "r", name="r") as log:
        for i in range(6):
            log.scalars(i * 100, G_loss=0.7, D_loss=1.38)
            x = rng.normal(0, 1.6, (512, 2)) if i < 2 else tight + rng.normal(0, 0.01, (512, 2))
            log.samples(i * 100, x.astype(np.float32), columns=["x", "y"])
    d = json.loads(cli("check", tmp_path / "r", "--json").output)
    f = [f for f in d["findings"] if f["rule"] == "vector_collapse"][0]
    assert (f["severity"], f["title"]) == ("info", "Vector samples keep their diversity")
    assert "near_duplicates_last" not in f["numbers"]  # measured only against the real rows


def blurred_run(path, blur, n=500):
    """Balanced losses; the samples at step 100*i are the ring blurred by N(0, blur[i]):
    a G still learning the data (diffuse samples around every mode), not a collapse."""
    rng = np.random.default_rng(5)
    with RunLog(path, name=path.name) as log:
        for i, b in enumerate(blur):
            log.scalars(i * 100, G_loss=0.7, D_loss=1.38)
            x = ring_points(n, seed=i) + rng.normal(0, b, (n, 2)).astype(np.float32)
            log.samples(i * 100, x, columns=["x", "y"])
    return path


def test_samples_not_yet_like_the_data_are_not_healthy_with_the_real_rows(tmp_path):
    """Issue 22: vector samples that keep their diversity but lie off the data (a G still
    learning) were "Healthy"; with the real rows they get sample_quality, with its numbers,
    and the same samples drawn from the data stay healthy."""
    real = real_csv(tmp_path / "real.csv")
    poor = blurred_run(tmp_path / "poor", [2.0, 1.0, 0.6, 0.4])
    d = json.loads(cli("check", poor, "--json").output)  # without the real rows: abstain
    assert d["status"] == "no_problems_found"
    assert d["verdict"].endswith("not called healthy: " + NOT_COMPARED + ".")
    d = json.loads(cli("check", poor, "--real", real, "--json").output)
    assert d["status"] == "problems" and d["verdict"] == (
        "Samples not yet like the real data at step 300 (warning)."
    )
    f = next(f for f in d["findings"] if f["rule"] == "sample_quality")
    assert (f["severity"], f["start_step"], f["end_step"]) == ("warning", 300, 300)
    assert f["message"] == (
        "At the last vector samples (step 300, 500 rows) against the real rows (--real): "
        "precision 0.072 and recall 0.996 (k-NN, k = 3), where 500 real rows score 0.978 and "
        "0.94 against as many other real rows; precision (the samples do not yet look like "
        "the data) below 50% of that; the last checkpoint is the best of 4 (the samples were "
        "still getting closer to the data: training had not converged). Assumes the real "
        "rows are the data G was trained on, in the same units."
    )
    assert f["numbers"]["precision_real"] == pytest.approx(0.978)
    # diffuse samples cover few real rows, but they do not look like data: not a collapse
    assert "vector_collapse" not in {g["rule"] for g in d["findings"] if g["severity"] != "info"}
    good = blurred_run(tmp_path / "good", [2.0, 0.5, 0.0, 0.0])
    d = json.loads(cli("check", good, "--real", real, "--json").output)
    assert d["status"] == "healthy"
    assert d["verdict"].startswith("Healthy: no problems found; the vector samples at 4 ")


def test_with_a_real_table_one_checkpoint_is_enough(tmp_path):
    real = real_csv(tmp_path / "real.csv")
    good = ring_run(tmp_path / "good", [ALL])
    bad = ring_run(tmp_path / "bad", [[3]])
    d = json.loads(cli("check", good, "--real", real, "--json").output)
    assert d["status"] == "healthy"
    assert d["findings"][0]["numbers"]["coverage_last"] > 0.5
    res = cli("check", bad, "--real", real)
    assert res.exit_code == 1
    assert "they cover" in res.output and "2 of 2 columns have under half the real spread" in (
        res.output
    )
    # without the real table a single checkpoint cannot be judged
    d = json.loads(cli("check", bad, "--json").output)
    assert d["status"] == "not_judged"
    assert {
        "rule": "vector_collapse",
        "reason": "not enough data: needs vector samples at 2+ "
        "checkpoints, or a real table (--real)",
    } in d["skipped"]


def test_final_synthetic_table_of_a_ctgan_like_run(tmp_path):
    rng = np.random.default_rng(0)
    real = pd.DataFrame(
        {
            "age": rng.normal(40, 10, 1200),
            "income": rng.lognormal(10, 1, 1200),
            "city": rng.choice(["a", "b", "c"], 1200),
        }
    )
    real.to_csv(tmp_path / "real.csv", index=False)
    # 905 of 1,000 rows near-copies of one row, as in the CTGAN run
    syn = real.sample(1000, replace=False, random_state=1).reset_index(drop=True)
    syn.iloc[:905] = syn.iloc[0].to_numpy()
    syn.to_csv(tmp_path / "syn.csv", index=False)
    with RunLog(tmp_path / "ctgan") as log:
        for s in range(0, 300, 10):
            log.scalars(s, G_loss=1.0, D_loss=1.0)
    res = cli(
        "check",
        tmp_path / "ctgan",
        "--samples",
        tmp_path / "syn.csv",
        "--real",
        tmp_path / "real.csv",
        "--json",
    )
    f = [f for f in json.loads(res.output)["findings"] if f["rule"] == "vector_collapse"][0]
    assert f["start_step"] == 290 and f["severity"] == "error"
    assert f["numbers"]["near_duplicates_last"] == pytest.approx(0.905, abs=0.01)
    res = cli("check", tmp_path / "ctgan", "--samples", tmp_path / "syn.csv")
    assert res.exit_code == 2
    assert "--samples needs --real (the real table it is compared with)" in res.output


def test_tables_one_hot_encode_categories_and_say_so(tmp_path):
    from gananalyze.files.datatable import load_table

    pd.DataFrame({"a": [1.0, 2.0, 3.0], "c": ["x", "y", "x"]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    t = load_table(tmp_path / "t.csv")
    assert t.columns == ["a", "c=x", "c=y"]
    assert t.matrix.tolist() == [[1, 1, 0], [2, 0, 1], [3, 1, 0]]
    assert t.describe() == (
        f"{tmp_path / 't.csv'}: 3 rows; 1 numeric column(s) used as is; "
        "1 categorical column(s) one-hot encoded into 2"
    )
    (tmp_path / "t.txt").write_text("a\n1\n2\n")
    with pytest.raises(GanAnalyzeError, match=r"a table must be .csv, .parquet or .npy, not .txt"):
        load_table(tmp_path / "t.txt")


# ---------------------------------------------------------------- fid-sweep on rows


def _vector_generator_run(tmp_path, target="gananalyze.toyring:Generator", pythonpath=None):
    torch.manual_seed(0)
    spec = generator_spec(
        target,
        {"latent_dim": 2, "hidden": 16},
        latent_shape=(2,),
        noise_seed=3,
        **({"pythonpath": pythonpath} if pythonpath else {}),
    )
    with RunLog(tmp_path / "vg", generator=spec) as log:
        for step in (0, 10):
            log.scalars(step, G_loss=1.0)
            log.checkpoint(step, Generator(latent_dim=2, hidden=16))
    return tmp_path / "vg"


def test_fid_sweep_on_rows_equals_pytorch_fid_and_torch_fidelity(tmp_path):
    from pytorch_fid.fid_score import calculate_frechet_distance
    from torch_fidelity.metric_prc import prc_features_to_metric

    from gananalyze.metrics.checkpoints import build_generator
    from gananalyze.metrics.generate import Noise
    from gananalyze.metrics.sweep import sweep

    run_dir = _vector_generator_run(tmp_path)
    real = real_csv(tmp_path / "real.csv", n=300)
    frame = sweep(run_dir, real, features=None, metrics="fid,pr,dc", num_samples=200)
    assert frame["features"].tolist() == ["raw", "raw"] and frame["error"].isna().all()
    assert "features: raw (standardised on the real rows only)" in frame.attrs["note"]
    # the same rows by hand: standardise on real, then the reference implementations
    r = pd.read_csv(real).to_numpy(np.float64)
    mu, sd = r.mean(0), r.std(0)
    run = load_run(run_dir)
    G = build_generator(run, run.checkpoints[1])
    with torch.no_grad():
        x = G(Noise(3, (2,)).get(0, 200)).double().numpy()
    zr, zg = (r - mu) / sd, (x - mu) / sd
    row = frame.iloc[1]
    ref = calculate_frechet_distance(
        zr.mean(0), np.cov(zr, rowvar=False), zg.mean(0), np.cov(zg, rowvar=False)
    )
    assert row["fid"] == pytest.approx(ref, abs=1e-6)
    prc = prc_features_to_metric(
        torch.from_numpy(zg).float(),
        torch.from_numpy(zr).float(),
        prc_neighborhood=3,
        prc_batch_size=10000,
        save_cpu_ram=False,
        verbose=False,
    )
    assert row["precision"] == pytest.approx(prc["precision"], abs=1e-6)
    assert row["recall"] == pytest.approx(prc["recall"], abs=1e-6)
    # density/coverage (Naeem et al. 2020, k = 5), written out from the paper's definitions
    d_rr = np.linalg.norm(zr[:, None] - zr[None], axis=2)
    radius = np.sort(d_rr, axis=1)[:, 5]
    inside = np.linalg.norm(zr[:, None] - zg[None], axis=2) < radius[:, None]
    assert row["density"] == pytest.approx(inside.sum() / (5 * len(zg)), abs=1e-6)
    assert row["coverage"] == pytest.approx(inside.any(axis=1).mean(), abs=1e-6)
    # stored, and a second sweep reuses the rows
    again = sweep(run_dir, real, features="raw", metrics="fid,pr,dc", num_samples=200)
    assert again["source"].tolist() == ["stored", "stored"]
    assert again["fid"].tolist() == pytest.approx(frame["fid"].tolist(), abs=1e-12)


def test_fid_sweep_on_rows_refuses_image_features_and_wrong_width(tmp_path):
    from gananalyze.metrics.sweep import sweep

    run_dir = _vector_generator_run(tmp_path)
    real = tmp_path / "wide.csv"
    pd.DataFrame(np.ones((20, 3)) * np.arange(20)[:, None], columns=list("abc")).to_csv(
        real, index=False
    )
    with pytest.raises(GanAnalyzeError, match="--features digits is for images; rows use raw"):
        sweep(run_dir, real, features="digits", metrics="fid", num_samples=50)
    frame = sweep(run_dir, real, features="raw", metrics="fid", num_samples=50)
    assert (
        frame["error"]
        .iloc[0]
        .endswith(
            f"the generator makes 2 columns, the real table {real} has 3 (a, b, c); if one of "
            "its columns is each row's class, name it with --label-column"
        )
    )


# ---------------------------------------------------------------- the report


@pytest.fixture(scope="module")
def vector_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vr")
    run = ring_run(tmp / "ring", [ALL, ALL, ALL, [0, 1], [0], [0]], n=200)
    real = real_csv(tmp / "real.csv", n=400)
    out = tmp / "ring.html"
    res = cli("report", run, "--real", real, "-o", out)
    assert res.exit_code == 0, res.output
    return out


def test_report_has_the_tabular_sections(vector_report):
    html = vector_report.read_text()
    for anchor in (
        "vector-distributions",
        "vector-scores",
        "vector-correlations",
        "vector-scatter",
        "vector-tsne",
    ):
        assert f'<section id="{anchor}">' in html, anchor
    assert "Mode collapse in the vector samples" in html
    assert "Columns: real vs generated" in html and "SDMetrics" in html


@needs_chromium
def test_chromium_renders_the_vector_report(vector_report, tmp_path):
    assert_not_blank(screenshot(vector_report, tmp_path / "vector.png", height=5000))
    if sync_playwright is None:  # playwright missing: the screenshot above is the check
        return
    res = check_charts(vector_report)  # the t-SNE is an interactive chart
    assert res["charts"] == res["drawn"] >= 1 and res["errors"] == []
    assert res["clipped"] == []


def test_real_rows_with_nothing_to_judge_say_so(tmp_path):
    with RunLog(tmp_path / "r", name="r") as log:
        for s in range(30):
            log.scalars(s, G_loss=0.7, D_loss=1.38)
    res = cli("check", tmp_path / "r", "--real", real_csv(tmp_path / "real.csv"))
    assert res.exit_code == 0
    assert (
        f"warning: --real {tmp_path / 'real.csv'}: the run logged no vector samples (rows) and "
        "no --samples was given, so the real rows judge nothing here" in res.stderr
    )


def test_fid_sweep_on_rows_with_the_users_generator_code_and_trust_code(tmp_path):
    # a tabular G in the user's own module, outside the run: --trust-code is the consent for
    # every checkpoint the row sweep builds, not only the first check (each was refused)
    from gananalyze.metrics.sweep import sweep

    code = tmp_path / "code"
    code.mkdir()
    (code / "ringgen.py").write_text("from gananalyze.toyring import Generator  # noqa: F401\n")
    run_dir = _vector_generator_run(tmp_path, "ringgen:Generator", [str(code)])
    real = real_csv(tmp_path / "real.csv", n=300)
    frame = sweep(run_dir, real, metrics="fid", num_samples=100, trust_code=True)
    assert frame["error"].isna().all() and frame["fid"].notna().all()


def test_early_near_copies_that_spread_out_are_no_collapse_with_the_real_rows(tmp_path):
    # a G still learning bunches its rows early (near-copies by the real rows' spacing), then
    # covers the data: against the real rows only the final stretch counts, as for coverage
    rng = np.random.default_rng(0)
    with RunLog(tmp_path / "r", name="r") as log:
        for i in range(5):
            log.scalars(i * 100, G_loss=0.7, D_loss=1.38)
            if i == 1:
                x = (0.001 * rng.standard_normal((256, 2))).astype(np.float32)
            else:
                x = ring_points(256, seed=i)
            log.samples(i * 100, x, columns=["x", "y"])
    d = json.loads(
        cli("check", tmp_path / "r", "--real", real_csv(tmp_path / "real.csv"), "--json").output
    )
    f = [f for f in d["findings"] if f["rule"] == "vector_collapse"][0]
    assert f["severity"] == "info", f["message"]


@pytest.mark.parametrize("n_modes, collapsed", [(3, True), (6, False)])
def test_samples_stuck_on_under_half_the_modes_are_a_collapse_with_the_real_rows(
    tmp_path, n_modes, collapsed
):
    # issue 22's partial coverage: G sits on 3 of 8 modes from its first checkpoint to its
    # last, each sample realistic. Its coverage of the real rows is flat (no new best to read
    # as a G still improving) and under half: a collapse. On 6 of 8 modes it is none.
    run = ring_run(tmp_path / "r", [list(range(n_modes))] * 5)
    d = json.loads(cli("check", run, "--real", real_csv(tmp_path / "real.csv"), "--json").output)
    f = [f for f in d["findings"] if f["rule"] == "vector_collapse" and f["severity"] != "info"]
    if collapsed:
        cov = f[0]["numbers"]["coverage_last"]
        assert cov < 0.5 and f[0]["severity"] == "error", f[0]["message"]
        assert f"they cover {round(100 * cov)}% of the real rows" in f[0]["message"]
    else:  # (its marginals differ from the ring's: the table check says so)
        assert f == []
