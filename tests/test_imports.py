"""The framework's import graph: no cycles, no plugin imports, no CLI imports (issue 11 §3).

Every ``import`` statement of every module under ``kbayes/`` counts, those inside functions
too (a lazy import hides a cycle, it does not remove it). A module's import of its own parent
packages is implicit in Python and left out; ``from pkg import sub`` is an import of
``pkg.sub`` when that is a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ("experiments", "models")


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for f in (root / "kbayes").rglob("*.py"):
        name = ".".join(f.relative_to(root).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = f
    return out


def _imports(path: Path) -> list[str]:
    """Every absolute module name an ``import`` statement of the file names."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    mods = _modules(root)

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        deps = set()
        for imported in _imports(path):
            target = resolve(imported)
            # a `from pkg import name` whose name is a module imports that module, not pkg
            if target is not None and target != name and not name.startswith(target + "."):
                deps.add(target)
        graph[name] = deps
    # drop pkg when the same statement's `pkg.sub` was a module (from pkg import sub)
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in mods and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names]
                if all(s in mods for s in subs):
                    graph[name].discard(node.module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles() -> None:
    assert cycles(import_graph(ROOT)) == []


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_framework_imports_no_plugin_and_no_cli() -> None:
    offenders = {}
    for name, path in _modules(ROOT).items():
        if name.startswith("kbayes.cli"):
            continue  # the command is where the framework and its plugins meet
        bad = [
            n for n in _imports(path)
            if n.split(".")[0] in PLUGINS or n.startswith("kbayes.cli")
        ]  # fmt: skip
        if bad:
            offenders[name] = bad
    assert offenders == {}
