"""Terminal escapes in run and metric names are shown, not obeyed, by info/check/compare."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from conftest import write_synthetic_run

from gananalyze.cli import main
from gananalyze.pages.terminal import term_safe

COLOUR = "\x1b[31mRED\x1b[0m"
ERASE = "\x1b[2K"
TITLE = "\x1b]0;pwned\x07"
CR = "ok\rEVIL"
HOSTILE = f"run{COLOUR}{ERASE}{TITLE}{CR}"


def test_term_safe_shows_every_control_character():
    assert term_safe(HOSTILE) == ("run\\x1b[31mRED\\x1b[0m\\x1b[2K\\x1b]0;pwned\\x07ok\\rEVIL")
    assert term_safe("a\tb\nc\u202ed\x9b") == "a\tb\nc\\u202ed\\x9b"
    assert term_safe("a\nb", keep_newlines=False) == "a\\nb"


def _hostile_run(tmp_path):
    """A run whose directory (hence its name) and one metric name carry escapes."""
    return write_synthetic_run(
        tmp_path / HOSTILE, steps=120, extra={f"loss{TITLE}{CR}": np.linspace(0, 1, 120)}
    )


def test_info_check_compare_print_no_raw_control_characters(tmp_path):
    p = _hostile_run(tmp_path)
    outs = {}
    for args in (
        ["info", str(p)],
        ["check", str(p)],
        ["compare", str(p), str(p)],
        ["compare", "--csv", str(p)],
    ):
        res = CliRunner().invoke(main, args)
        assert res.exception is None or isinstance(res.exception, SystemExit), res.output
        raw = [c for c in res.output if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]
        assert raw == [], (args, res.output)
        outs[args[0] + str(len(args))] = res.output
    assert "\\x1b]0;pwned\\x07" in outs["info2"]
    assert "\\x1b[31mRED\\x1b[0m" in outs["check2"]
    assert "ok\\rEVIL" in outs["compare3"]


def test_an_error_naming_a_hostile_path_is_escaped(tmp_path):
    res = CliRunner().invoke(main, ["info", str(tmp_path / f"nope{TITLE}")])
    assert res.exit_code == 3
    assert res.output == f"Error: {tmp_path}/nope\\x1b]0;pwned\\x07: no such file or directory\n"
