"""Markdown documents: the lines a training log can be in. Stdout saved under a `.md` name
is read whole, but a Markdown document (headings, fences or tables) is prose around code:
only its fenced blocks and its lines indented four spaces or a tab (nbconvert puts a
notebook's outputs there) can hold a log. Prose lines become empty lines, so line numbers
stay those of the file: a paragraph quoting "D loss 3 -> 11" is no row, and a docs folder
is no training run."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^#{1,6} \S", re.M)
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$", re.M)


def is_markdown(text: str) -> bool:
    """Whether `text` reads as a Markdown document: a heading, a fence or 3 table rows."""
    if _HEADING.search(text) or re.search(r"^\s{0,3}(```|~~~)", text, re.M):
        return True
    return len(_TABLE_ROW.findall(text, 0, 1 << 20)) >= 3


def code_only(text: str) -> str:
    """`text` with every line outside a code block emptied (line count kept)."""
    out = []
    inside = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            inside = not inside
            out.append("")
        elif inside or line.startswith(("    ", "\t")):
            out.append(line)
        else:
            out.append("")
    return "\n".join(out)


def log_view(name: str, text: str) -> str:
    """The text a log reader reads from a file named `name`: a Markdown document's code
    blocks (code_only), anything else whole."""
    if name.lower().endswith(".md") and is_markdown(text):
        return code_only(text)
    return text
