"""Where backfills are found: by registration, without a central list.

A concrete :class:`~headroom.backfill.Backfill` subclass defined in an installed app's
``backfills.py`` registers itself as ``app_label.ClassName``; :func:`register` does the same
for a class defined anywhere else (and may give it another name). :func:`autodiscover` imports
every app's ``backfills`` module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from headroom.backfill.base import Backfill

_B = TypeVar("_B", bound="type[Backfill]")
_registry: dict[str, type[Backfill]] = {}


class UnknownBackfill(LookupError):
    """No registered backfill has that name."""


def _default_name(cls: type[Backfill]) -> str:
    from django.apps import apps

    config = apps.get_containing_app_config(cls.__module__)
    label = config.label if config is not None else cls.__module__.rsplit(".", 1)[0]
    return f"{label}.{cls.__name__}"


@overload
def register(cls: _B, /) -> _B: ...
@overload
def register(*, name: str) -> Any: ...
def register(cls: Any = None, /, *, name: str | None = None) -> Any:
    """Register a backfill class: ``@register`` or ``@register(name="shop.Prices")``."""

    def add(klass: Any) -> Any:
        key = name or klass.__dict__.get("name") or _default_name(klass)
        existing = _registry.get(key)
        if existing is not None and existing.__qualname__ != klass.__qualname__:
            raise RuntimeError(f"two backfills are named {key!r}: {existing} and {klass}")
        klass.name = key
        _registry[key] = klass
        return klass

    return add if cls is None else add(cls)


def autodiscover() -> None:
    """Import the ``backfills`` module of every installed app."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("backfills")


def all_backfills() -> dict[str, type[Backfill]]:
    autodiscover()
    return dict(sorted(_registry.items()))


def get_backfill(name: str) -> type[Backfill]:
    """The backfill class registered as ``name`` (case-insensitive)."""
    if name in _registry:
        # Registered already: the apps' modules need not be looked through again (a Celery
        # worker asks once per batch).
        return _registry[name]
    found = all_backfills()
    if name in found:
        return found[name]
    lowered = {key.lower(): cls for key, cls in found.items()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    known = ", ".join(found) or "none registered"
    raise UnknownBackfill(
        f"no backfill is named {name!r} (known: {known}). Backfills are classes in an app's "
        "backfills.py, or decorated with @headroom.backfill.register."
    )


def default_database(cls: type[Backfill]) -> str:
    """The alias a backfill writes to, and keeps its runs in, when none is given: its
    ``database``, else where the router sends writes for its model ("default" when that
    cannot be told without its parameters)."""
    instance = cls.__new__(cls)
    instance._param_values = {}
    try:
        return instance.database_alias()
    except Exception:
        return "default"
