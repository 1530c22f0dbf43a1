"""Python's own messages inside a trainer's stdout: warnings and tracebacks.

`python train.py > train.log 2>&1` interleaves what the interpreter writes with what the
trainer prints. None of it is a metric, but its shape is a value line's: a warning reads
`.../layers.py:486: RuntimeWarning: invalid value encountered in multiply` (a number after
a colon: "a metric named by the file path, 486") and then echoes the source line it came
from, indented; a traceback's frames read `  File "train.py", line 88, in <module>` ("line
88"). These lines are blanked before the lines are read (kept as empty lines, so every
line number a message names stays the file's), and the reader's note says how many."""

from __future__ import annotations

import re

# `path.py:12: SomeWarning: text` (warnings.showwarning's format), then the indented source
# line it echoes; a traceback's header, frames (each followed by its indented source line)
# and its last line `SomeError: text`
_WARNING = r"[^\n]*\.pyx?:\d+: (?:[A-Za-z_][\w.]*)?(?:Warning|Error): [^\n]*(?:\n[ \t]+[^\n]*)?"
_FRAME = r"[ \t]+File \"[^\n]*\", line \d+(?:, in [^\n]*)?(?:\n[ \t]+(?!File \")[^\n]*)?"
_TRACEBACK = r"Traceback \(most recent call last\):"
_PATTERN = re.compile(rf"^(?:{_WARNING}|{_FRAME}|{_TRACEBACK})$", re.MULTILINE)


def blank_python_messages(text: str) -> tuple[str, int]:
    """(`text` with Python's warnings and traceback frames blanked line for line, how many
    lines were blanked)."""
    if ".py" not in text and "Traceback" not in text:
        return text, 0
    count = 0

    def blank(m: re.Match) -> str:
        nonlocal count
        n = m.group(0).count("\n")
        count += n + 1
        return "\n" * n

    return _PATTERN.sub(blank, text), count
