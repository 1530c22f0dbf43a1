"""The unit a run counts in: named on charts, in compare's table and the report; compare
aligns runs on any unit (analysis/alignment.py)."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from gananalyze.analysis import alignment
from gananalyze.cli import main
from gananalyze.loader import load_run


def _ctgan(tmp_path):
    d = tmp_path / "ct"
    d.mkdir()
    rows = "\n".join(f"{i},{1.0 + 0.01 * i:g},{-0.2 - 0.001 * i:g}" for i in range(30))
    (d / "loss_values.csv").write_text("Epoch,Generator Loss,Discriminator Loss\n" + rows + "\n")
    return d


def _lightning(tmp_path):
    d = tmp_path / "lt"
    d.mkdir()
    rows = "\n".join(f"{i // 10},{i},{0.7:g},{1.3:g}" for i in range(40))
    (d / "metrics.csv").write_text("epoch,step,g_loss,d_loss\n" + rows + "\n")
    return d


def test_x_on_any_unit(tmp_path):
    ct, lt = load_run(_ctgan(tmp_path)), load_run(_lightning(tmp_path))
    assert (alignment.step_label(ct), alignment.step_label(lt)) == ("epoch", "iteration")
    f, desc = alignment.x_mapper(ct, "epoch")
    assert desc == "epoch" and f(np.array([3, 7])).tolist() == [3.0, 7.0]
    f, desc = alignment.x_mapper(lt, "epoch")
    assert desc == "epoch" and f(np.array([0, 15, 39])).tolist() == [0.0, 1.0, 3.0]
    f, desc = alignment.x_mapper(lt, "iteration")
    assert f(np.array([15])).tolist() == [15.0]
    assert alignment.x_mapper(ct, "iteration") == (None, "it counts in epochs, not iterations")
    assert alignment.x_mapper(ct, "kimg") == (None, "no kimg column; it counts in epochs")
    assert alignment.common_step_label([ct, lt]) == "step (epoch / iteration)"


def test_compare_and_report_name_the_unit(tmp_path):
    ct, lt = _ctgan(tmp_path), _lightning(tmp_path)
    out = CliRunner().invoke(main, ["compare", str(lt), str(ct)]).output
    assert "  39 iteration  " in out and "  29 epoch  " in out
    page = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(ct), "-o", str(page), "--no-tsne"])
    assert res.exit_code == 0, res.output
    assert (
        "step = epoch · values: loss of the last batch of each epoch (not a mean)"
        in page.read_text()
    )
