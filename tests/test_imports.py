"""Imports run in one direction: the layer order docs/architecture.md documents, read from the source.

Every import counts, at module level or inside a function, under ``TYPE_CHECKING``
or not, absolute or relative: a cycle any of them closes is a tangle a reader has
to hold in their head, and the place where the next feature would make it worse.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mlservice"

#: Bottom to top. A module imports only from its own unit (a top-level package or
#: module of ``mlservice``) or from a unit of a lower layer; units of one layer
#: never import each other.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"files", "transforms", "errors", "issues", "config", "column_batch", "jsonprovider", "security",
               "swagger_ui", "parsing", "observability"}),
    frozenset({"schemas", "registry"}),
    frozenset({"scoring", "decisions", "monitoring"}),
    frozenset({"blueprint", "auth", "classifier_service"}),
    frozenset({"risk", "diagnose", "recommend", "admin", "outcomes"}),
    frozenset({"v2"}),
    frozenset({"app", "training"}),
    frozenset({"replay"}),
    frozenset({"cli", ""}),  # "": mlservice/__init__.py, which re-exports create_app
)
#: Inside these packages, modules import only those listed before them.
ORDER_WITHIN = {
    "schemas": ("openapi", "fields", "compiled", "base", "responses", "column_checks", "column_load", "columns"),
    "scoring": ("terms", "additive", "curve", "linear", "verify", "ranges", "classifier"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> Iterator[str]:
    """Every ``mlservice`` module ``path`` imports, resolved to a module of the package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target not in MODULES and "." in target:
                target = target.rpartition(".")[0]
            if target in MODULES and target != name and target.startswith("mlservice"):
                yield target


GRAPH = {name: set(imported(name, path)) for name, path in MODULES.items()}


def unit(name: str) -> str:
    """``mlservice.registry.loader`` -> ``registry``; ``mlservice`` -> ``""``."""
    return name.split(".")[1] if "." in name else ""


def layer(name: str) -> int:
    return next(i for i, units in enumerate(LAYERS) if unit(name) in units)


def test_every_module_has_a_layer():
    unplaced = sorted({unit(name) for name in MODULES} - set().union(*LAYERS))
    assert not unplaced, f"add these to LAYERS and to docs/architecture.md: {unplaced}"


def test_the_reader_finds_imports_the_way_they_are_written():
    """The graph sees relative, function-level and TYPE_CHECKING imports (else the other tests prove nothing)."""
    assert "mlservice.recommend.votes" in GRAPH["mlservice.recommend.model"]  # relative: from .votes import ...
    assert "mlservice.registry.model" in GRAPH["mlservice.registry.contract"]  # under TYPE_CHECKING
    assert "mlservice.registry.check" in GRAPH["mlservice.cli"]  # inside a function


def test_no_import_cycle():
    cycles = strongly_connected(GRAPH)
    assert not cycles, f"modules that import each other: {cycles}"


def test_imports_follow_the_layer_order():
    wrong = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() for b in targets
                   if unit(a) != unit(b) and layer(b) >= layer(a))
    assert not wrong, f"imports against the layer order (docs/architecture.md): {wrong}"


@pytest.mark.parametrize("package", sorted(ORDER_WITHIN))
def test_modules_of_a_layered_package_import_only_what_is_below_them(package):
    order = ORDER_WITHIN[package]
    assert {name.rpartition(".")[2] for name in MODULES if unit(name) == package and name.count(".") == 2} == set(order)
    rank = {f"mlservice.{package}.{m}": i for i, m in enumerate(order)}
    wrong = sorted(f"{a} -> {b}" for a, targets in GRAPH.items() if a in rank
                   for b in targets if b in rank and rank[b] >= rank[a])
    assert not wrong, f"upward imports inside mlservice.{package}: {wrong}"


def test_a_cycle_and_an_upward_import_would_be_found():
    """The checks themselves on a made-up graph: they must not pass vacuously."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c) for c in strongly_connected(graph)] == [["a", "b", "c"]]
    assert layer("mlservice.app") > layer("mlservice.registry.loader")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one node, or a node importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return found
