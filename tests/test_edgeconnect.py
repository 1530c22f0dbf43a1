"""EdgeConnect's headerless `log_<model>.dat` (importers/edgeconnect.py), written here in
each of its shapes: names by file name and line length, the iteration as the step across a
resume, the loss type from config.yml, the G and D losses through the layouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from gananalyze.analysis.rules import diagnose
from gananalyze.errors import GanAnalyzeError
from gananalyze.loader import detect_format, load_run
from gananalyze.naming.roles import gan_views


def _write(folder: Path, name: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(rows) + "\n")
    return folder / name


def test_edge_model_log_by_name_and_width(tmp_path):
    rows = [
        f"1 {10 * k} 0.{60 + k % 5} 0.{70 + k % 7} 1.3 0.{k % 9} 0.{k % 8}" for k in range(1, 31)
    ]
    _write(tmp_path / "checkpoints", "log_edge.dat", rows)
    (tmp_path / "checkpoints" / "config.yml").write_text("MODEL: 1\nGAN_LOSS: lsgan\n")
    assert detect_format(tmp_path) == "edgeconnect"
    r = load_run(tmp_path)
    assert r.metrics == ["l_d1", "l_g1", "l_fm", "edge_precision", "edge_recall"]
    assert r.steps.tolist()[:3] == [10, 20, 30] and r.step_unit == "iteration"
    assert r.scalars["l_g1"].tolist()[:3] == [0.71, 0.72, 0.73]
    (view,) = gan_views(r)
    assert view.columns == {"D_loss": "l_d1", "G_loss": "l_g1"} and view.reduction == "mean"
    d = diagnose(r)
    assert d.context["equilibrium"]["loss"] == "lsgan"  # config.yml's GAN_LOSS
    # the edge maps' precision and recall are no sample precision/recall against the data
    assert "sample_quality" not in {f.rule for f in d.findings}


def test_a_resume_replaces_the_iterations_it_repeats(tmp_path):
    first = [f"9 {i} 0.3 2.5 40.0 0.2 0.2" for i in range(80880, 82350, 10)]
    second = [f"1 {i} 0.3 2.5 40.0 0.2 0.2" for i in range(82010, 82080, 10)]
    _write(tmp_path, "log_edge.dat", first + second)
    r = load_run(tmp_path)
    assert len(r.steps) == len(first) - 34 + 7 == 120
    assert r.steps.tolist()[-1] == 82070
    assert r.warnings[0].endswith(
        "training restarted inside the log (2 sections); 34 earlier row(s) at or after each "
        "restart point were replaced"
    )


def test_inpaint_joint_and_hint_layouts(tmp_path):
    inpaint = [f"1 {10 * k} 0.68 0.07 0.36 0.35 1.3 9.0 0.6" for k in range(1, 4)]
    r = load_run(_write(tmp_path / "a", "log_inpaint.dat", inpaint))
    assert r.metrics == ["l_d2", "l_g2", "l_l1", "l_per", "l_sty", "psnr", "mae"]
    # l_g2 is logged after its 0.1 weight: claimed, read as no G loss
    (view,) = gan_views(r)
    assert view.columns == {"D_loss": "l_d2"} and view.terms == ("l_g2",)
    joint = [f"1 {10 * k} 0.6 0.7 1.3 0.1 0.2 0.68 0.07 0.36 0.35 1.3 9.0 0.6" for k in (1, 2)]
    r = load_run(_write(tmp_path / "b", "log_joint.dat", joint))
    assert [v.tag for v in gan_views(r)] == ["edge", "inpaint"]
    hint = [f"1 {100 * k} 0.75 0.248 19.3 0.16 23.4" for k in (1, 2)]
    r = load_run(_write(tmp_path / "c", "log_inpaint.dat", hint))
    assert r.metrics == ["gLoss", "dLoss", "psnr", "mae", "l_loss"]
    (view,) = gan_views(r)
    assert view.columns == {"D_loss": "dLoss"} and view.terms == ("gLoss",)


def test_two_models_logs_are_named_and_other_widths_not_claimed(tmp_path):
    _write(tmp_path / "checkpoints", "log_edge.dat", ["1 10 0.6 0.7 1.3 0.1 0.2"] * 2)
    _write(tmp_path / "checkpoints", "log_inpaint.dat", ["1 10 0.68 0.07 0.36 0.35 1.3 9 0.6"])
    with pytest.raises(GanAnalyzeError) as e:
        load_run(tmp_path)
    assert str(e.value) == (
        f"{tmp_path}: several EdgeConnect logs (checkpoints/log_edge.dat, "
        "checkpoints/log_inpaint.dat), one per model trained; point gananalyze at one file"
    )
    other = _write(tmp_path / "x", "log_edge.dat", ["1 10 0.6 0.7"])  # 4 numbers a line
    assert detect_format(other.parent) != "edgeconnect"
