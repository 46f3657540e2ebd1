"""Where a migration and each of its operations are written: file and line numbers."""

from __future__ import annotations

import ast
import functools
import sys
from typing import Any


def migration_file(migration: Any) -> str:
    """Absolute path of the module a Migration instance was loaded from ('' if unknown)."""
    module = sys.modules.get(type(migration).__module__)
    return str(getattr(module, "__file__", "") or "")


@functools.lru_cache(maxsize=2048)
def operation_lines(path: str) -> tuple[int, tuple[int, ...]]:
    """(line of ``class Migration``, line of each element of its ``operations`` list).

    When ``operations`` is not a literal list the tuple of element lines is empty and
    callers fall back to the class line.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return 1, ()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            for item in node.body:
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(item, ast.Assign):
                    targets, value = list(item.targets), item.value
                elif isinstance(item, ast.AnnAssign):
                    targets, value = [item.target], item.value
                if any(isinstance(t, ast.Name) and t.id == "operations" for t in targets):
                    if isinstance(value, (ast.List, ast.Tuple)):
                        return node.lineno, tuple(e.lineno for e in value.elts)
                    return item.lineno, ()
            return node.lineno, ()
    return 1, ()


def operation_line(path: str, index: int | None) -> int:
    class_line, lines = operation_lines(path) if path else (1, ())
    if index is not None and 0 <= index < len(lines):
        return lines[index]
    return class_line
