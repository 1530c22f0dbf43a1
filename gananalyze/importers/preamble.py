"""A text log's printed configuration: the lines before its first metric line, where
trainers print their options (argparse's `Namespace(lr=0.0002, gan_mode='lsgan')`, a YAML
or `key: value` dump, `key = value` lines). Read as the run's config when the folder holds
no other, so the rules see the loss type and learning rates the trainer printed.

A Python config printed whole (MMCV's `Config:` dump: `model = dict(\n    type='GAN',
    gan_loss=dict(type='GANLoss', gan_type='hinge'), ...)`, one statement over many lines)
becomes nested options: `dict(...)` calls, dicts, lists and literals are read from the
parsed syntax tree (`ast.parse`, which runs nothing); anything else (a name, a call of
another function) is kept as its text.

Nothing is evaluated: values are parsed as numbers, true/false/none or text. The cost is
bounded: at most MAX_LINES preamble lines of at most MAX_LINE characters, MAX_KEYS keys,
one printed statement of at most MAX_BLOCK characters.
"""

from __future__ import annotations

import ast
import re

MAX_LINES = 2000
MAX_LINE = 4000
MAX_KEYS = 500
MAX_BLOCK = 64 * 1024
_PY_ASSIGN = re.compile(r"^([A-Za-z_]\w{0,63}) = ([\[({]|dict\()")
_DEPTH = 20  # nesting read from a printed config; deeper parts are kept as text
_OPEN_BLOCK = re.compile(r"^\s*([A-Za-z_][\w.\-]{0,63}):\[\s*$")
_CLOSE_BLOCK = re.compile(r"^\s*\]\s*$")
_NAMESPACE = re.compile(r"\bNamespace\((.*)\)\s*$")
_ARG = re.compile(
    r"""(\w{1,64})=('(?:[^'\\]|\\.){0,200}'|"(?:[^"\\]|\\.){0,200}"|[^,()\[\]]{1,200})"""
)
_KEY_VALUE = re.compile(r"^\s*([A-Za-z_][\w.\-]{0,63})\s*(?::|=)\s*(\S.{0,199}?)\s*$")
_LOG_LEVELS = {"warning", "warn", "info", "error", "debug", "critical", "fatal", "note", "hint"}
# the shell's own notices at the top of a redirected log (`nohup: ignoring input`)
_SHELL_NOTICES = {"nohup"}
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
    argument, and each `key: value` or `key = value` line, inside the `key:[` ... `]` blocks
    BasicSR prints nested options in; a later value of a key replaces an earlier one. A log
    level (`WARNING: ...`) or a shell's notice (`nohup: ignoring input`) is no option, nor is
    a value that reads as a message (`_prose`).
    Lines that hold more than one `key: value` pair are metrics, not options, and are not
    given here. Returns the options and the indices of the lines they were read from (None
    or empty lines are skipped)."""
    out: dict = {}
    blocks = [out]  # the option blocks open at this line, innermost last
    used: list[int] = []
    lines = lines[:MAX_LINES]
    skip_to = -1
    for i, raw in enumerate(lines):
        if not raw or i <= skip_to:
            continue
        line = raw[:MAX_LINE]
        if _PY_ASSIGN.match(line):
            got = _python_statement(lines, i)
            if got is not None:
                key, value, last = got
                if len(out) < MAX_KEYS or key in out:
                    out[key] = value
                used.extend(range(i, last + 1))
                skip_to = last
                continue
        ns = _NAMESPACE.search(line)
        if ns:
            args = _ARG.findall(ns.group(1))
            for k, v in args:
                if len(out) < MAX_KEYS or k in out:
                    out[k] = value_of(v)
            if args:
                used.append(i)
            continue
        opened = _OPEN_BLOCK.match(line)
        if opened and len(blocks) < _DEPTH:  # BasicSR's `  train:[`: its options nest
            child: dict = {}
            blocks[-1][opened.group(1)] = child
            blocks.append(child)
            used.append(i)
            continue
        if _CLOSE_BLOCK.match(line) and len(blocks) > 1:
            blocks.pop()
            used.append(i)
            continue
        m = _KEY_VALUE.match(line)
        if not m or m.group(1).lower() in _LOG_LEVELS | _SHELL_NOTICES or _prose(m.group(2)):
            continue
        if len(out) < MAX_KEYS or m.group(1) in out:
            blocks[-1][m.group(1)] = value_of(m.group(2))
            used.append(i)
    return out, used


def _prose(text: str) -> bool:
    """An unquoted value that reads as a message, not an option: four or more words, or a
    `key: value` of its own (`name: GeForce RTX 2080 Ti major: 7 minor: 5`)."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return False
    return len(t.split()) >= 4 or ": " in t


def _python_statement(lines: list[str | None], first: int) -> tuple[str, object, int] | None:
    """(name, value, index of its last line) of the `name = ...` statement printed from line
    `first` on, when its lines parse as one Python assignment within MAX_BLOCK characters;
    else None (then its lines are read one by one)."""
    text = ""
    depth = 0
    for j in range(first, len(lines)):
        part = (lines[j] or "")[:MAX_LINE]
        if j > first and part and not part[0].isspace() and part[0] not in ")]}":
            return None  # the next statement began before this one closed
        text += part + "\n"
        if len(text) > MAX_BLOCK:
            return None
        depth += sum(part.count(c) for c in "([{") - sum(part.count(c) for c in ")]}")
        if depth > 0:  # still open: parsed once the brackets close
            continue
        try:
            tree = ast.parse(text, mode="exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        stmt = tree.body[0] if len(tree.body) == 1 else None
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            return None
        if not isinstance(stmt.targets[0], ast.Name):
            return None
        return stmt.targets[0].id, _literal(stmt.value, 0), j
    return None


def _literal(node: ast.AST, depth: int) -> object:
    """A printed config value from its syntax tree: `dict(k=v)` and `{...}` as dicts, lists and
    tuples as lists, constants as they are; anything else as its source text."""
    if depth < _DEPTH:
        if isinstance(node, ast.Constant) and isinstance(
            node.value, (str, int, float, bool, type(None))
        ):
            return node.value
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
        ):
            return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "dict"
            and not node.args
            and all(k.arg for k in node.keywords)
        ):
            return {k.arg: _literal(k.value, depth + 1) for k in node.keywords}
        if isinstance(node, ast.Dict) and all(
            isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys
        ):
            pairs = zip(node.keys, node.values, strict=True)
            return {k.value: _literal(v, depth + 1) for k, v in pairs}
        if isinstance(node, (ast.List, ast.Tuple)):
            return [_literal(e, depth + 1) for e in node.elts]
    return ast.unparse(node)[:200]
