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
def operation_lines(path: str) -> tuple[int, tuple[tuple[int, ...], ...]]:
    """(line of ``class Migration``, element lines of each ``operations = [...]`` in it).

    A migration may assign ``operations`` more than once (in an ``if`` on the database
    vendor, say); callers pick the list with as many elements as the loaded migration has.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return 1, ()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            found: list[tuple[int, ...]] = []
            for item in ast.walk(node):
                targets: list[ast.expr] = []
                value: ast.expr | None = None
                if isinstance(item, ast.Assign):
                    targets, value = list(item.targets), item.value
                elif isinstance(item, ast.AnnAssign):
                    targets, value = [item.target], item.value
                named = any(isinstance(t, ast.Name) and t.id == "operations" for t in targets)
                if named and isinstance(value, (ast.List, ast.Tuple)):
                    found.append(tuple(e.lineno for e in value.elts))
            return node.lineno, tuple(found)
    return 1, ()


def operation_line(path: str, index: int | None, count: int | None = None) -> int:
    """Line of operation ``index`` of a migration with ``count`` operations (class line when
    the operations list is not written out literally)."""
    class_line, candidates = operation_lines(path) if path else (1, ())
    lines = next((c for c in candidates if count is None or len(c) == count), ())
    if index is not None and 0 <= index < len(lines):
        return lines[index]
    return class_line
