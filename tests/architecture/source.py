"""Reading the project's own source as syntax trees, for rules a machine can check."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

APP = Path("app")


@dataclass(frozen=True)
class Module:
    path: Path
    tree: ast.Module

    @property
    def name(self) -> str:
        return ".".join(self.path.with_suffix("").parts).removesuffix(".__init__")

    def nodes(self) -> Iterator[ast.AST]:
        return ast.walk(self.tree)

    def calls(self) -> Iterator[ast.Call]:
        return (node for node in self.nodes() if isinstance(node, ast.Call))


@cache
def modules(root: Path = APP) -> tuple[Module, ...]:
    return tuple(
        Module(path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        for path in sorted(root.rglob("*.py"))
    )


def dotted_name(node: ast.AST) -> str:
    """`a.b.c` for a Name/Attribute chain, '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        prefix = dotted_name(node.value)
        return f"{prefix}.{node.attr}" if prefix else ""
    return ""


def imported_modules(module: Module) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) for every import statement."""
    for node in module.nodes():
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def where(module: Module, node: ast.AST) -> str:
    return f"{module.path}:{getattr(node, 'lineno', '?')}"
