"""The one exception type the library raises for problems with the user's input.

The CLI turns it into a plain one-line message (no traceback) and exit code 1.
"""

from __future__ import annotations


class GanAnalyzeError(Exception):
    """A problem with the user's data or arguments, phrased for the user.

    The message names the file or path and the problem, in one line.
    """
