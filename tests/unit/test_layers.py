"""Imports in pipe/ only point down the layers of docs/ARCHITECTURE.md, and no module imports itself back.

A layer may import from itself and from the layers below it. Imports inside functions count too: a lazy
import that points up is still a dependency pointing up.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PIPE = Path(__file__).resolve().parents[2] / "pipe"

# Bottom to top; a package's layer is that of its first two name parts (pipe.<package>).
LAYERS: list[set[str]] = [
    {"pipe.errors", "pipe.commits", "pipe.model", "pipe.log", "pipe.files", "pipe.references"},
    {"pipe.clients"},
    {"pipe.release"},
    {"pipe.config"},
    {"pipe.facts"},
    {"pipe.plan"},
    {"pipe.insights"},
    {"pipe.sinks"},
    {"pipe.report"},
    {"pipe.modes", "pipe.preflight", "pipe.recovery", "pipe.reconcile", "pipe.start"},
    {"pipe.flow"},
    {"pipe.pipe", "pipe.__main__"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PIPE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports, at any depth, except under `if TYPE_CHECKING:` (names for the type
    checker only: no dependency when the pipe runs)."""

    def walk(node: ast.AST) -> Iterator[str]:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.orelse:
                yield from walk(child)
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        for child in ast.iter_child_nodes(node):
            yield from walk(child)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")))


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PIPE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges[name] = set()
        for target in imports(path):
            if target == "pipe" or target.startswith("pipe."):
                while target not in modules and "." in target:  # `from pipe.x import name` of a package
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name:
                    edges[name].add(target)
    return edges


def layer_of(module: str) -> int:
    for index, layer in enumerate(LAYERS):
        if package(module) in layer:
            return index
    raise AssertionError(f"{module} is in no layer of this test (add its package to LAYERS and the doc)")


def test_every_import_points_down_or_stays_in_its_layer() -> None:
    upward = [
        f"{source} imports {target}"
        for source, targets in graph().items()
        for target in targets
        if layer_of(target) > layer_of(source)
    ]
    assert upward == []


def test_no_import_cycle_between_modules() -> None:
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_layers_named_here_are_the_ones_the_architecture_doc_describes() -> None:
    doc = (PIPE.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for layer in LAYERS:
        for name in layer:
            assert f"`{name}`" in doc, f"docs/ARCHITECTURE.md does not name {name}"
