"""Text that is safe to print on a terminal: the one escaping function.

Run names, metric names, config values and file names come from untrusted run
folders. Printed raw, an ANSI/OSC sequence in one of them can recolour the
terminal, erase lines, set the window title, or (with a carriage return) print
over what came before. Every terminal renderer passes its text through
`term_safe`, which shows each control character as a visible escape (`\\x1b`,
`\\r`) instead; newlines and tabs are kept. `unexpected_line` is the CLI guard's
one line for an exception nobody anticipated.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

# C0 controls except tab and newline, DEL, C1 controls, and the Unicode
# direction overrides that reorder what is shown.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match[str]) -> str:
    if m.group() == "\r":
        return "\\r"
    o = ord(m.group())
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def term_safe(text: object, keep_newlines: bool = True) -> str:
    """`text` with every control character shown as an escape; newlines kept unless told."""
    s = _CONTROL.sub(_visible, str(text))
    return s if keep_newlines else s.replace("\n", "\\n")


def terminal_text(fn: Callable[..., str]) -> Callable[..., str]:
    """Decorator for a renderer that returns terminal text: escape what it returns."""

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> str:
        return term_safe(fn(*args, **kwargs))

    return wrapper


def unexpected_line(e: BaseException, params: dict[str, Any]) -> str:
    """The guard's one line for an unexpected exception: run, file, what, --debug hint."""
    runs = params.get("run") or params.get("runs") or params.get("src")
    if isinstance(runs, (tuple, list)):
        runs = ", ".join(map(str, runs))
    where = f"{runs}: " if runs else ""
    name = getattr(e, "filename", None)
    file = f" (file {name})" if name else ""
    text = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    first = (text.strip().splitlines() or [""])[0][:300]
    what = f"{type(e).__name__}: {first}" if first else type(e).__name__
    return (
        f"{where}unexpected error{file}: {what}; rerun as `gananalyze --debug ...` for the "
        "traceback"
    )
