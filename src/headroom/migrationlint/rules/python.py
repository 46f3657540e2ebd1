"""Judge of RunPython: a reverse to roll back with, and historical models only."""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator
from typing import Any

from django.db.migrations import RunPython

from headroom.migrationlint.context import Context, Hit
from headroom.migrationlint.rules import judge

RunPythonNoop = RunPython.noop


def _code_name(func: Any) -> str:
    return str(getattr(func, "__name__", None) or "forwards")


def _names(code: types.CodeType) -> set[str]:
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _names(const)
    return found


def live_models(func: Any) -> list[tuple[str, Any]]:
    """Model classes of the running code that ``func`` reaches through its globals.

    A name is taken for a live model when it is bound, in the function's module, to a
    ``Model`` subclass, or to a module attribute that is one (``shop_models.Product``).
    """
    from django.db import models

    code = getattr(func, "__code__", None)
    namespace = getattr(func, "__globals__", None)
    if code is None or namespace is None:
        return []
    names = _names(code)
    found: list[tuple[str, Any]] = []
    for name in sorted(names):
        value = namespace.get(name)
        if isinstance(value, type) and issubclass(value, models.Model):
            found.append((name, value))
        elif isinstance(value, types.ModuleType):
            for attr in sorted(names):
                candidate = getattr(value, attr, None)
                if isinstance(candidate, type) and issubclass(candidate, models.Model):
                    found.append((f"{name}.{attr}", candidate))
    return found


@judge("RunPython")
def run_python(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    code_name = _code_name(op.code)
    reverse_name = _code_name(op.reverse_code) if op.reverse_code else "migrations.RunPython.noop"
    if op.reverse_code is RunPythonNoop:
        reverse_name = "migrations.RunPython.noop"
    if op.code is not RunPythonNoop:
        ctx.track.python_ops.append((ctx.index, code_name, reverse_name))
    values = {**ctx.base_values(), "code_name": code_name, "reverse_name": reverse_name}
    if not op.reversible:
        yield Hit("HR401", values)
    seen: set[Any] = set()
    for func in (op.code, op.reverse_code):
        if func is None or not inspect.isfunction(func):
            continue
        for ref, model in live_models(func):
            if model in seen:
                continue
            seen.add(model)
            yield Hit(
                "HR302",
                {
                    **values,
                    "code_name": _code_name(func),
                    "model_ref": ref,
                    "model": model.__name__,
                    "model_app_label": model._meta.app_label,
                },
            )
