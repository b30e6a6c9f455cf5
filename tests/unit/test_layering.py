"""The layering holds: no package cycle, and the core never imports Textual.

The layers themselves are an import-linter contract in ``pyproject.toml`` (``lint-imports``
runs in ``.ci/run``); these tests check what that contract cannot say.
"""

from __future__ import annotations

import subprocess
import sys

import grimp

import netop


def _room(module: str, packages: set[str]) -> str:
    """The package a module lives in (a top-level module is its own room)."""
    while module not in packages and module.count(".") > 1:
        module = module.rsplit(".", 1)[0]
    return module


def package_graph() -> dict[str, set[str]]:
    """Which package imports which, over every module of netop."""
    graph = grimp.build_graph("netop")
    modules = graph.modules
    packages = {m for m in modules if graph.find_children(m)} - {"netop"}
    rooms: dict[str, set[str]] = {}
    for module in modules:
        if module == "netop":
            continue
        here = _room(module, packages)
        edges = rooms.setdefault(here, set())
        for imported in graph.find_modules_directly_imported_by(module):
            there = _room(imported, packages)
            if there not in ("netop", here):
                edges.add(there)
    return rooms


def package_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_cycle_between_packages() -> None:
    graph = package_graph()
    assert {"netop.engine", "netop.sources.capture", "netop.packet", "netop.model"} <= set(graph)
    assert "netop.model" in graph["netop.engine"]
    assert package_cycles(graph) == []


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert package_cycles(graph) == [["a", "b", "c"]]


def test_core_modules_do_not_import_textual() -> None:
    """At run time too (a lazy import inside a function is invisible to a linter)."""
    graph = grimp.build_graph("netop")
    core = sorted(
        m for m in graph.modules
        if not m.startswith(("netop.ui", "netop.commands", "netop.cli", "netop.__main__"))
        and m != "netop"
        and not m.endswith("_fastflow")
    )
    assert len(core) > 40
    code = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
    assert netop.__name__ == "netop"
