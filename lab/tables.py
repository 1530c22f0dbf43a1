"""The scoreboard's table helpers (lab/score.py, lab/conditional.py): a share as "a/n
(p%)", a cross-tabulation of scored rows, and a table as aligned text or markdown. Plain
functions over lists; nothing here scores or judges a run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def pct(a: int, n: int) -> str:
    return f"{a}/{n} ({100 * a / n:.0f}%)" if n else "-"


def tally(rows: list[dict]) -> list[str]:
    """runs, right, wrong, abstained and the accuracy of scored rows (their "outcome")."""
    c = Counter(r["outcome"] for r in rows)
    n = len(rows)
    return [str(n), str(c["right"]), str(c["wrong"]), str(c["abstained"]), pct(c["right"], n)]


def count_table(
    rows: list[dict], by: str, order: Iterable[str], of: str, columns: Iterable[str]
) -> list[list[str]]:
    """One line per value of row[by] (in `order`, present ones only): how many of its rows
    have each value of row[of] in `columns`."""
    out = []
    for g in order:
        rs = [r for r in rows if r[by] == g]
        if rs:
            c = Counter(r[of] for r in rs)
            out.append([g] + [str(c.get(k, 0)) for k in columns])
    return out


def text_table(cols: list[str], rows: list[list[str]]) -> list[str]:
    w = [max(len(str(x)) for x in [c] + [r[i] for r in rows]) for i, c in enumerate(cols)]

    def fmt(r: list[str]) -> str:
        return "  " + "  ".join(
            str(x).rjust(w[k]) if k else str(x).ljust(w[k]) for k, x in enumerate(r)
        )

    return [fmt(cols), "  " + "  ".join("-" * x for x in w)] + [fmt(r) for r in rows]


def md_table(cols: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(cols) + " |",
        "| " + " | ".join("---" for _ in cols) + " |",
    ] + ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
