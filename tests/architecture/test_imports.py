"""The import rules of the SDK boundary, checked on the source: connectors import
``gateway.sdk`` and nothing else of the gateway; the SDK (its conformance kit aside)
imports nothing else of the gateway; and no module imports one that imports it back,
at module level or inside a function."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "connectors")
SDK_KIT = "gateway.sdk.testing"  # the kit runs tests: it may use the whole gateway


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path, root)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every module ``module`` imports, anywhere but under ``if TYPE_CHECKING:``, with the line."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> Iterator[tuple[str, int]]:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                yield from visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno  # a submodule, or a name in ``base``
            yield base, node.lineno
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    yield from visit(ast.parse(path.read_text(), str(path)))


def _graph(sources: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, path in sources.items():
        for target, _line in _imports(name, path):
            if target in sources and target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert _cycles(_graph(_sources(ROOT, PACKAGES))) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n")
    (package / "b.py").write_text("from pkg.a import f\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    assert _cycles(_graph(_sources(tmp_path, ("pkg",)))) == [["pkg.a", "pkg.b"]]


def _gateway_imports(packages: tuple[str, ...]) -> Iterator[tuple[str, str, int]]:
    sources = _sources(ROOT, packages)
    for name, path in sources.items():
        for target, line in _imports(name, path):
            if target == "gateway" or target.startswith("gateway."):
                yield name, target, line


def _outside_sdk(target: str) -> bool:
    return not (target == "gateway.sdk" or target.startswith("gateway.sdk."))


def test_connectors_import_the_sdk_and_nothing_else_of_the_gateway() -> None:
    leaks = [f"{name}:{line} imports {target}" for name, target, line in _gateway_imports(("connectors",))
             if _outside_sdk(target)]
    assert leaks == []


def test_the_sdk_imports_nothing_else_of_the_gateway() -> None:
    leaks = [
        f"{name}:{line} imports {target}"
        for name, target, line in _gateway_imports(("gateway",))
        if name.startswith("gateway.sdk") and name != SDK_KIT and _outside_sdk(target)
    ]
    assert leaks == []
