"""The floor order of the package: no import goes up, and no modules import each other in a loop.

Every `import` in `gananalyze/` is read with `ast` (module level, inside functions and under
`if TYPE_CHECKING:`; relative and absolute), each module is put on its floor by `FLOORS`
below, and an import of a module on a higher floor, or a cycle of modules, fails with the
importing file and line. `FLOORS` is plain data; docs/architecture.md shows the same table
(checked here), so the plan and the code cannot drift apart.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gananalyze"
DOC = ROOT / "docs" / "architecture.md"

# Lowest floor first. A module may import its own floor and the floors below it, never one
# above. Entries are paths under gananalyze/ without ".py"; a folder's entry covers every
# module under it unless a longer entry names that module. The "" entry is the package's
# own __init__.py.
FLOORS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "ground",
        "leaves every floor may use",
        ("", "errors", "extras", "textfmt", "digits", "toyring"),
    ),
    ("files", "files inside a run, atomic writes, data tables", ("files",)),
    ("naming", "what a column is called and what it means", ("naming",)),
    ("run", "the in-memory Run", ("run",)),
    ("runs", "reading and writing runs", ("runio", "importers", "loader", "remote", "consent")),
    ("analysis", "analysis and metrics: plain results, no printing", ("analysis", "metrics")),
    ("pages", "drawing what analysis returns", ("pages",)),
    (
        "cli",
        "flags, one library call, printing; the notebook's objects",
        ("cli", "cli_options", "cli_sweeps", "__main__", "notebook"),
    ),
)

# Imports allowed to break the order, each with its reason (none today: keep it that way).
# An entry that no longer matches an import fails the test, so it cannot outlive its fix.
# (importer, imported), both dotted module names.
KNOWN: dict[tuple[str, str], str] = {}

# Package faces: importing any module of a package runs its __init__.py first, so a face
# that imported its modules would load a whole floor wherever one module is needed.
EMPTY_FACES = ("files/__init__.py", "naming/__init__.py", "runio/__init__.py")


def _modname(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules(root: Path = ROOT) -> dict[str, Path]:
    return {_modname(p, root): p for p in sorted((root / "gananalyze").rglob("*.py"))}


def _floor_table() -> dict[str, int]:
    out: dict[str, int] = {}
    for i, (_name, _what, entries) in enumerate(FLOORS):
        for e in entries:
            assert e not in out, f"FLOORS names {e!r} twice"
            out[e] = i
    return out


def floor_of(module: str) -> int | None:
    """The floor index of a dotted module name, by the longest FLOORS entry that covers it."""
    table = _floor_table()
    rel = module.split(".")[1:]  # under gananalyze
    for n in range(len(rel), -1, -1):
        key = "/".join(rel[:n])
        if key in table and (n > 0 or not rel):
            return table[key]
    return None


def _imports(path: Path, modules: dict[str, Path], root: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import of a gananalyze module in `path`."""
    me = _modname(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [
                (a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "gananalyze"
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "gananalyze":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append((sub if sub in modules else target, node.lineno))
    return out


def _edges(root: Path = ROOT) -> list[tuple[str, str, str, int]]:
    """(importer, imported, file, line) over the whole package (self-imports left out)."""
    modules = _modules(root)
    out = []
    for name, path in modules.items():
        for target, line in _imports(path, modules, root):
            if target != name:
                out.append((name, target, str(path.relative_to(root)), line))
    return out


def _floor_name(module: str) -> str:
    return FLOORS[floor_of(module)][0]


def test_every_module_has_a_floor():
    missing = [
        f"{p.relative_to(ROOT)} is on no floor: add it to FLOORS in tests/test_architecture.py "
        f"and to the floor table in docs/architecture.md"
        for name, p in _modules().items()
        if floor_of(name) is None
    ]
    assert missing == []


def test_no_import_goes_up():
    up = []
    for src, dst, file, line in _edges():
        a, b = floor_of(src), floor_of(dst)
        if a is None or b is None or (src, dst) in KNOWN:
            continue
        if b > a:
            up.append(
                f"{file}:{line}: {src} (floor {_floor_name(src)}) imports {dst} "
                f"(floor {_floor_name(dst)}, higher)"
            )
    assert up == []


def _cycles(edges: list[tuple[str, str, str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst, _f, _l in edges:
        graph[src].add(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycles():
    edges = [e for e in _edges() if (e[0], e[1]) not in KNOWN]
    found = []
    for comp in _cycles(edges):
        inside = set(comp)
        ties = [
            f"{f}:{line}: {s} imports {d}" for s, d, f, line in edges if s in inside and d in inside
        ]
        found.append(f"cycle of {len(comp)} modules: " + "; ".join(ties))
    assert found == []


def test_known_exceptions_still_exist():
    """Each KNOWN entry names an import that is really there; remove it once it is fixed."""
    present = {(s, d) for s, d, _f, _l in _edges()}
    stale = [
        f"{k}: no such import any more; remove it from KNOWN" for k in KNOWN if k not in present
    ]
    assert stale == []


def test_package_faces_of_the_lower_floors_import_nothing():
    noisy = []
    for face in EMPTY_FACES:
        tree = ast.parse((PACKAGE / face).read_text(encoding="utf-8"))
        noisy += [
            f"gananalyze/{face}:{n.lineno} imports"
            for n in ast.walk(tree)
            if isinstance(n, ast.Import | ast.ImportFrom)
        ]
    assert noisy == []


def floor_table_markdown() -> str:
    """FLOORS as the Markdown table docs/architecture.md shows."""
    rows = ["| floor | holds | modules (under `gananalyze/`) |", "|---|---|---|"]
    for name, what, entries in reversed(FLOORS):
        mods = ", ".join(f"`{e}`" if e else "`__init__`" for e in entries)
        rows.append(f"| {name} | {what} | {mods} |")
    return "\n".join(rows)


def test_docs_show_the_floor_table():
    assert floor_table_markdown() in DOC.read_text(encoding="utf-8"), (
        "docs/architecture.md must show FLOORS as printed by floor_table_markdown()"
    )


@pytest.mark.parametrize(
    "module,floor",
    [
        ("gananalyze.errors", "ground"),
        ("gananalyze.files.runfiles", "files"),
        ("gananalyze.runio.store", "runs"),
        ("gananalyze.naming.roles", "naming"),
        ("gananalyze.analysis.rules.context", "analysis"),
        ("gananalyze.cli", "cli"),
    ],
)
def test_floor_of(module, floor):
    assert _floor_name(module) == floor


def test_the_checks_see_imports_inside_functions_and_cycles(tmp_path):
    """The check itself, on a made-up package: a run.py that imports pages inside a function
    is an upward import at its line; two modules importing each other are a cycle."""
    pkg = tmp_path / "gananalyze"
    (pkg / "pages").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "pages" / "__init__.py").write_text("")
    (pkg / "pages" / "text.py").write_text("from ..run import Y\n\nX = 1\n")
    (pkg / "run.py").write_text("import os\n\nY = 2\n\n\ndef f():\n    from .pages.text import X\n")
    edges = _edges(tmp_path)
    assert ("gananalyze.run", "gananalyze.pages.text", "gananalyze/run.py", 7) in edges
    assert floor_of("gananalyze.pages.text") > floor_of("gananalyze.run")
    assert _cycles(edges) == [["gananalyze.pages.text", "gananalyze.run"]]
    assert floor_of("gananalyze.newthing") is None


def _doc_examples() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]


def _exec_in(package: str, code: str) -> dict:
    """Run a worked example as if it were a module of `package` (its relative imports work)."""
    ns = {"__name__": f"{package}._doc_example", "__package__": package}
    exec(compile(code, str(DOC), "exec"), ns)
    return ns


def test_worked_example_importer_runs(tmp_path):
    """The smallest importer in docs/architecture.md detects and loads a run."""
    (example,) = [c for c in _doc_examples() if "def detect" in c]
    ns = _exec_in("gananalyze.importers", example)
    run_dir = tmp_path / "tsv"
    run_dir.mkdir()
    (run_dir / "losses.tsv").write_text("step\tG_loss\tD_loss\n0\t2.0\t1.5\n10\t1.5\t1.2\n")
    assert ns["detect"](run_dir) and not ns["detect"](tmp_path)
    run = ns["load"](run_dir)
    assert (run.format, run.steps.tolist()) == ("losstsv", [0, 10])
    assert run.series("G_loss").tolist() == [2.0, 1.5]


def test_worked_example_rule_runs(tmp_path, monkeypatch):
    """The smallest rule in docs/architecture.md registers and finds a negative BCE D loss."""
    import pandas as pd

    from gananalyze.analysis.rules import diagnose, registry
    from gananalyze.run import Run

    (example,) = [c for c in _doc_examples() if "@rule(" in c]
    monkeypatch.setattr(registry, "REGISTRY", dict(registry.REGISTRY))
    _exec_in("gananalyze.analysis.rules", example)
    steps = list(range(0, 400, 10))
    scalars = pd.DataFrame(
        {"step": steps, "G_loss": [0.7] * len(steps), "D_loss": [1.4] * 20 + [-0.3] * 20}
    )
    run = Run(path=tmp_path, name="neg", loss="bce", scalars=scalars)
    found = [f for f in diagnose(run).findings if f.rule == "d_loss_negative"]
    assert [(f.title, f.start_step, f.numbers) for f in found] == [
        ("D loss below zero", 200, {"min": -0.3})
    ]
