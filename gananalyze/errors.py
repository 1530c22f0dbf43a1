"""The one exception type the library raises for problems with the user's input.

The CLI turns it into a plain one-line message (no traceback) and exit code 3 (the
run or another input cannot be used; 4 for MissingExtra: see cli_options).
"""

from __future__ import annotations


class GanAnalyzeError(Exception):
    """A problem with the user's data or arguments, phrased for the user.

    The message names the file or path and the problem, in one line.
    """


class MissingExtra(GanAnalyzeError):
    """An optional dependency is not installed; the message names the extra to install.

    The CLI exits with its own code for it (the run is fine; the install lacks a part).
    """

    def __init__(self, message: str, extra: str) -> None:
        super().__init__(message)
        self.extra = extra
