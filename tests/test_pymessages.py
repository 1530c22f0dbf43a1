"""importers/pymessages.py: Python's warnings and tracebacks in a trainer's stdout are no
metrics (a log pasted into ML-From-Scratch issue #29 read `layers.py:486: RuntimeWarning`
as a metric named by the file path, value 486)."""

from __future__ import annotations

from gananalyze.importers.pymessages import blank_python_messages
from gananalyze.loader import load_run

LOG = """\
1 [D loss: 0.70, acc: 50.00%] [G loss: 0.69, acc: 50.00%]
2 [D loss: 0.60, acc: 60.00%] [G loss: 0.80, acc: 40.00%]
/usr/lib/python3/site-packages/mylib/layers.py:486: RuntimeWarning: invalid value encountered
  out = x * 0.01
3 [D loss: 0.50, acc: 70.00%] [G loss: 0.90, acc: 30.00%]
Traceback (most recent call last):
  File "train.py", line 88, in <module>
    train(epochs=5)
  File "train.py", line 40, in train
    d_loss = step(batch)
4 [D loss: 0.40, acc: 80.00%] [G loss: 1.00, acc: 20.00%]
"""


def test_warnings_and_traceback_frames_are_blanked_line_for_line():
    text, n = blank_python_messages(LOG)
    lines = text.split("\n")
    assert n == 7
    assert len(lines) == len(LOG.split("\n"))  # every line number stays the file's
    assert [i + 1 for i, t in enumerate(lines) if t] == [1, 2, 5, 11]
    assert blank_python_messages("step 1 loss: 0.5\n") == ("step 1 loss: 0.5\n", 0)


def test_a_text_log_with_python_messages_reads_only_the_trainers_lines(tmp_path):
    (tmp_path / "train.log").write_text(LOG)
    run = load_run(tmp_path)
    assert run.scalars["step"].tolist() == [1, 2, 3, 4]
    assert run.scalars["D_loss"].tolist() == [0.70, 0.60, 0.50, 0.40]
    assert not [c for c in run.scalars.columns if "py" in c or "line" in c]
    assert run.warnings == []
    assert (
        "train.log: 7 line(s) of Python warnings or tracebacks not read"
        in (run.extra["source_notes"])
    )
