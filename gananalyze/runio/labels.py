"""Class labels of a conditional run: how G takes its condition and the label of each sample.

A conditional generator's spec in run.json carries a `condition` entry
(`condition_spec`, docs/run-format.md): the class count, the encoding G expects
(`int` class numbers or `onehot` vectors) and where the label goes (a keyword
name, or 1: the positional argument after the noise, G(z, y)). `RunLog.samples(...,
labels=y)` stores each sample's class: `check_labels` validates what a caller hands
over, `class_rows` lays an image batch out one row per class, and `valid_labels`
checks a label list read back from a run's index files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import GanAnalyzeError

ENCODINGS = ("int", "onehot")
MAX_CLASSES = 1 << 16


def condition_spec(classes: int, encoding: str = "int", argument: str | int = 1) -> dict[str, Any]:
    """The `condition` entry of a generator spec: G(z, y) or G(z, **{argument: y}).

    classes: the number of classes K (labels 0..K-1); encoding: "int" (a LongTensor of
    class numbers) or "onehot" (a float (N, K) tensor); argument: a keyword name (str),
    or 1 for the positional argument right after the noise.
    """
    if type(classes) is not int or not 2 <= classes <= MAX_CLASSES:
        raise GanAnalyzeError(
            f"classes must be an integer from 2 to {MAX_CLASSES}, not {classes!r}"
        )
    if encoding not in ENCODINGS:
        raise GanAnalyzeError(f"label encoding must be int or onehot, not {encoding!r}")
    if not (
        (type(argument) is int and argument == 1)
        or (isinstance(argument, str) and argument.isidentifier())
    ):
        raise GanAnalyzeError(
            f"label argument must be a keyword name, or 1 for G(z, y), not {argument!r}"
        )
    return {"classes": classes, "encoding": encoding, "argument": argument}


def read_condition(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """A generator spec's condition (validated), or None for an unconditional G.

    Raises GanAnalyzeError naming the problem for a malformed entry.
    """
    cond = (spec or {}).get("condition")
    if cond is None:
        return None
    if not isinstance(cond, dict):
        raise GanAnalyzeError("run.json: generator.condition must be an object")
    return condition_spec(
        cond.get("classes"), cond.get("encoding", "int"), cond.get("argument", 1)
    )


def _options_classes(config: Any, depth: int = 0) -> int | None:
    """StyleGAN's training options: c_dim (> 0) at any depth, `cond` or
    `training_set_kwargs.use_labels` true. The class count, 0 when unknown, None if not
    conditional."""
    if not isinstance(config, dict) or depth > 8:
        return None
    c = config.get("c_dim")
    if type(c) is int and 0 < c <= MAX_CLASSES:
        return c
    for v in config.values():
        got = _options_classes(v, depth + 1)
        if got:
            return got
    if depth == 0:
        tsk = config.get("training_set_kwargs")
        if config.get("cond") is True or (isinstance(tsk, dict) and tsk.get("use_labels") is True):
            return 0
    return None


def run_classes(generator: dict[str, Any] | None, config: Any) -> int | None:
    """A run's class count (Run.classes): the generator spec's condition, else StyleGAN's
    training options (c_dim > 0, cond); 0 when conditional with an unknown count."""
    try:
        cond = read_condition(generator)
    except GanAnalyzeError:
        cond = None
    if cond is not None:
        return int(cond["classes"])
    return _options_classes(config)


def check_labels(labels: Any, n: int, classes: int | None) -> np.ndarray:
    """`labels` handed to RunLog.samples as int64 (n,): class numbers, or one-hot rows."""
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    y = np.asarray(labels)
    if y.ndim == 2:  # one-hot (or scores): the class is the largest entry
        y = y.argmax(axis=1)
    if y.ndim != 1 or len(y) != n:
        raise GanAnalyzeError(
            f"samples: labels must give one class per sample ({n}), got shape {tuple(y.shape)}"
        )
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise GanAnalyzeError(f"samples: labels must be integer class numbers, not {y.dtype}")
    y = y.astype(np.int64)
    top = classes if classes is not None else MAX_CLASSES
    if n and (y.min() < 0 or y.max() >= top):
        raise GanAnalyzeError(
            f"samples: labels must lie in 0..{top - 1}, found {int(y.min())}..{int(y.max())}"
        )
    return y


def class_rows(labels: np.ndarray) -> tuple[np.ndarray, list[int], int]:
    """One grid row per class present: (cell -> sample index or -1, cell labels, columns).

    Samples keep their order within a class; rows are in class order; a class with
    fewer samples than the widest row leaves its last cells empty (-1).
    """
    classes = np.unique(labels)
    ncol = int(max(int((labels == c).sum()) for c in classes))
    cells = np.full(len(classes) * ncol, -1, dtype=np.int64)
    cell_labels = [-1] * len(cells)
    for r, c in enumerate(classes):
        idx = np.flatnonzero(labels == c)
        cells[r * ncol : r * ncol + len(idx)] = idx
        for j in range(len(idx)):
            cell_labels[r * ncol + j] = int(c)
    return cells, cell_labels, ncol


def valid_labels(labels: Any) -> bool:
    """Whether an index record's `labels` is absent or a list of class numbers (-1: empty)."""
    return labels is None or (
        isinstance(labels, list)
        and len(labels) < 1 << 20
        and all(type(v) is int and -1 <= v < 1 << 20 for v in labels)
    )
