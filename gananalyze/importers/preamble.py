"""A text log's printed configuration: the lines before its first metric line, where
trainers print their options (argparse's `Namespace(lr=0.0002, gan_mode='lsgan')`, a YAML
or `key: value` dump, `key = value` lines). Read as the run's config when the folder holds
no other, so the rules see the loss type and learning rates the trainer printed.

Nothing is evaluated: values are parsed as numbers, true/false/none or text. The cost is
bounded: at most MAX_LINES preamble lines of at most MAX_LINE characters, MAX_KEYS keys.
"""

from __future__ import annotations

import re

MAX_LINES = 2000
MAX_LINE = 4000
MAX_KEYS = 500
_NAMESPACE = re.compile(r"\bNamespace\((.*)\)\s*$")
_ARG = re.compile(
    r"""(\w{1,64})=('(?:[^'\\]|\\.){0,200}'|"(?:[^"\\]|\\.){0,200}"|[^,()\[\]]{1,200})"""
)
_KEY_VALUE = re.compile(r"^\s*([A-Za-z_][\w.\-]{0,63})\s*(?::|=)\s*(\S.{0,199}?)\s*$")
_LOG_LEVELS = {"warning", "warn", "info", "error", "debug", "critical", "fatal", "note", "hint"}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def value_of(text: str) -> object:
    """A printed value: an int or float, True/False/None, or the text without its quotes
    (pytorch-CycleGAN's `\t[default: ...]` note dropped)."""
    t = text.strip()
    t = re.sub(r"\s*\[default:.*\]$", "", t)
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    if _NUMBER.fullmatch(t):
        try:
            return int(t)
        except ValueError:
            return float(t)
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null", "~"):
        return None
    return t


def preamble_config(lines: list[str]) -> dict:
    """The options printed in `lines` (`preamble_options`' config)."""
    return preamble_options(lines)[0]


def preamble_options(lines: list[str | None]) -> tuple[dict, list[int]]:
    """The options printed in `lines` (a log's preamble, in order): every `Namespace(...)`
    argument, and each `key: value` or `key = value` line; a later value of a key replaces
    an earlier one. A log level (`WARNING: ...`) is no option, nor is a value that reads as a
    message (`_prose`). Lines that hold more than one `key: value` pair are metrics, not
    options, and are not given here. Returns the options and the indices of the lines they
    were read from (None or empty lines are skipped)."""
    out: dict = {}
    used: list[int] = []
    for i, raw in enumerate(lines[:MAX_LINES]):
        if not raw:
            continue
        line = raw[:MAX_LINE]
        ns = _NAMESPACE.search(line)
        if ns:
            args = _ARG.findall(ns.group(1))
            for k, v in args:
                if len(out) < MAX_KEYS or k in out:
                    out[k] = value_of(v)
            if args:
                used.append(i)
            continue
        m = _KEY_VALUE.match(line)
        if not m or m.group(1).lower() in _LOG_LEVELS or _prose(m.group(2)):
            continue
        if len(out) < MAX_KEYS or m.group(1) in out:
            out[m.group(1)] = value_of(m.group(2))
            used.append(i)
    return out, used


def _prose(text: str) -> bool:
    """An unquoted value that reads as a message, not an option: four or more words, or a
    `key: value` of its own (`name: GeForce RTX 2080 Ti major: 7 minor: 5`)."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return False
    return len(t.split()) >= 4 or ": " in t
