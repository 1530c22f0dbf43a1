"""Outputs are safe to open (issue 23): `compare --csv` cells a spreadsheet would run are
neutralised the OWASP way, and library warnings reach the terminal escaped like names."""

from __future__ import annotations

import csv
import io
import warnings

import click
import pandas as pd
from click.testing import CliRunner

from gananalyze import RunLog
from gananalyze.cli import main
from gananalyze.cli_options import friendly
from gananalyze.pages.text import csv_text, spreadsheet_cell


def _run(path, config, **extra):
    with RunLog(path, config=config, flush_rows=1000) as log:
        for s in range(30):
            log.scalars(s, G_loss=1.0 + s / 100, D_loss=0.5, **extra)
    return path


def test_compare_csv_neutralises_formula_cells(tmp_path):
    a = _run(tmp_path / "a", {"lr": -0.5, "note": '=HYPERLINK("http://x","y")', "cmd": "+cmd|x"})
    b = _run(tmp_path / "b", {"lr": 0.1, "note": "@SUM(1+1)", "cmd": "-2+3"})
    res = CliRunner().invoke(main, ["compare", str(a), str(b), "--csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert [r["config.note"] for r in rows] == ['\'=HYPERLINK("http://x","y")', "'@SUM(1+1)"]
    assert [r["config.cmd"] for r in rows] == ["'+cmd|x", "'-2+3"]
    assert [r["config.lr"] for r in rows] == ["-0.5", "0.1"]  # numbers stay numbers


def test_spreadsheet_cell_follows_owasp():
    cells = ["=1+1", "+1", "-1", "@x", "\tx", "\rx", "plain", "", -3.0, 7]
    assert [spreadsheet_cell(c) for c in cells] == [
        "'=1+1", "'+1", "'-1", "'@x", "'\tx", "'\rx", "plain", "", -3.0, 7,
    ]
    frame = pd.DataFrame({"=bad": ["=x"], "ok": [1]})
    assert csv_text(frame) == "'=bad,ok\n'=x,1\n"


def test_a_hostile_metric_name_reaches_neither_terminal_nor_page_raw(tmp_path):
    # drawn by plotly now (no matplotlib glyph warning): the name travels as JSON, escaped
    run = _run(tmp_path / "r", {}, **{"acc\x1b[2J\x07\r": 0.5})
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(run), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\x07" not in res.output and "\r" not in res.output
    page = out.read_text()
    assert "\x1b" not in page and "\x07" not in page
    assert "acc\\u001b[2J\\u0007\\r" in page  # the chart's spec, JSON-escaped


def test_python_and_logging_warnings_are_printed_once_and_escaped():
    import logging

    @click.command()
    @friendly
    def noisy():
        for _ in range(3):
            warnings.warn("bad \x1b]0;title\x07 name", UserWarning, stacklevel=1)
        logging.getLogger("PIL.Image").warning("odd \x1b[31m image")
        click.echo("done")

    res = CliRunner().invoke(noisy, [])
    assert res.output == (
        "done\n"
        "warning: UserWarning: bad \\x1b]0;title\\x07 name\n"
        "warning: PIL.Image: odd \\x1b[31m image\n"
    )
