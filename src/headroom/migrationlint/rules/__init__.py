"""The judges: one function per kind of migration operation, registering itself.

A judge receives a :class:`~headroom.migrationlint.context.Context` (the operation and the
model state just before it) and yields :class:`~headroom.migrationlint.context.Hit` objects
naming rule ids of :mod:`headroom.migrationlint.messages`. Judges are keyed by operation
class name and found along the operation's MRO, most specific first, so a subclass
(``AddIndexConcurrently``) can have its own judge and otherwise falls back to its base's.
Every module of this package is imported by :func:`judges_for`; adding a module is enough.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.migrations.operations.base import Operation

    from headroom.migrationlint.context import Context, Hit

Judge = Callable[["Context"], Iterable["Hit"]]

_JUDGES: dict[str, Judge] = {}
_loaded = False


def judge(*operation_names: str) -> Callable[[Judge], Judge]:
    """Register the decorated function as the judge of the named operation classes."""

    def register(func: Judge) -> Judge:
        for name in operation_names:
            if name in _JUDGES and _JUDGES[name] is not func:
                raise RuntimeError(f"two migration-lint judges for {name}")
            _JUDGES[name] = func
        return func

    return register


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def judge_for(operation: Operation) -> Judge | None:
    """The judge of ``operation``'s class, or of its nearest base class that has one."""
    _load()
    for cls in type(operation).__mro__:
        found = _JUDGES.get(cls.__name__)
        if found is not None:
            return found
    return None
