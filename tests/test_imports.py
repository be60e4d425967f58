"""No import cycles between the parts of the package (``trm.data``, ``trm.models``, ``trm.errors`` ...).

The graph is read from the source with ``ast``: every ``import`` counts, also those inside functions
(a lazy import still makes one part depend on another). Cycles inside one subpackage are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Pairs allowed to import each other: none.
KNOWN: set[frozenset[str]] = set()


def _part(module: str) -> str:
    """``trm.data.sudoku.build`` -> ``data``; ``trm`` itself -> ``trm``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def import_graph(src: Path, package: str = "trm") -> dict[str, dict[str, list[str]]]:
    """part -> {imported part: ["file:line", ...]} over every module of ``src/package``."""
    root = src / package
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(src).with_suffix("")
        is_init = rel.name == "__init__"
        module = ".".join(rel.parts[:-1] if is_init else rel.parts)
        here = module if is_init else module.rpartition(".")[0]
        source = _part(module)
        edges = graph.setdefault(source, {})
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    pkg = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*pkg, *([base] if base else [])])
                # ``from trm import files`` imports the part ``files``
                targets = [f"{base}.{a.name}" for a in node.names] if base == package else [base]
            else:
                continue
            for target in targets:
                if not (target == package or target.startswith(package + ".")):
                    continue
                dest = _part(target)
                known = dest == package or (root / dest).is_dir() or (root / f"{dest}.py").is_file()
                if known and dest != source:
                    edges.setdefault(dest, []).append(f"{path.relative_to(src)}:{node.lineno}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """The strongly connected components with more than one part (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _without_known(graph: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
    return {a: {b: w for b, w in out.items() if frozenset({a, b}) not in KNOWN} for a, out in graph.items()}


def test_no_import_cycle_between_parts_of_the_package():
    graph = import_graph(SRC)
    assert "errors" in graph.get("data", {}) and "models" in graph.get("cli", {})  # the graph was read
    found = cycles(_without_known(graph))
    detail = [f"{a} -> {b} at {graph[a][b][0]}" for c in found for a in c for b in c if b in graph[a]]
    assert not found, "import cycles between parts of trm:\n" + "\n".join(detail)


def test_the_leaf_modules_import_nothing_from_the_package():
    graph = import_graph(SRC)
    assert graph["errors"] == {}, graph["errors"]  # every part may import trm.errors
    assert set(graph["files"]) <= {"errors"}, graph["files"]


def test_a_cycle_is_found(tmp_path):
    """The checker itself: a lazy import that closes a loop, and a relative one, are both seen."""
    pkg = tmp_path / "trm"
    for name, text in {
        "__init__.py": "",
        "a/__init__.py": "from trm.b import thing\n",
        "b/__init__.py": "def f():\n    from trm.c import x\n",
        "c/__init__.py": "",
        "c/x.py": "from ..a import y\n",
        "d.py": "from trm import a\n",
    }.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    graph = import_graph(tmp_path)
    assert set(graph["d"]) == {"a"}
    assert cycles(graph) == [["a", "b", "c"]]
