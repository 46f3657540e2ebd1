"""What a rule sees: one operation, the model state just before it, and the target database.

Names (tables, columns, constraint names) are computed from the migration state the way
Django computes them from a model, without rendering models or opening a connection.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.fields import NOT_PROVIDED

from headroom.migrationlint.findings import Phase

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.migrations import Migration
    from django.db.migrations.operations.base import Operation
    from django.db.migrations.state import ModelState, ProjectState


@dataclass
class Hit:
    """A rule firing: its id, the values its templates need, and what it is about."""

    rule: str
    values: dict[str, Any] = field(default_factory=dict)
    table: str | None = None
    column: str | None = None
    #: About the whole migration (reported with no operation index).
    whole: bool = False


class Deferred:
    """A template value computed only if a template uses it (serialising a field is the
    costliest part of building a finding, and many findings never print every value)."""

    def __init__(self, func: Any, *args: Any, **kwargs: Any) -> None:
        self._call = (func, args, kwargs)
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            func, args, kwargs = self._call
            self._value = str(func(*args, **kwargs))
        return self._value

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        return str(self) == (str(other) if isinstance(other, Deferred) else other)

    def __hash__(self) -> int:
        return hash(str(self))


@dataclass
class MigrationTrack:
    """What the operations of one migration did so far, for the migration-level rules."""

    #: Phase of each database change, with the operation index and a short description.
    phases: list[tuple[Phase, int, str]] = field(default_factory=list)
    #: Existing tables whose schema this migration changes -> first operation doing so.
    schema_changes: dict[str, int] = field(default_factory=dict)
    #: Existing tables locked ACCESS EXCLUSIVE before any lock_timeout -> operation index.
    exclusive_locks: dict[str, int] = field(default_factory=dict)
    lock_timeout_set: bool = False
    #: RunPython operations: (operation index, function name, reverse function name).
    python_ops: list[tuple[int, str, str]] = field(default_factory=list)
    #: Tables created by RunSQL in this migration (by name).
    created_tables: set[str] = field(default_factory=set)


@dataclass
class Context:
    """One operation of one migration, judged against ``state`` (the state before it)."""

    app_label: str
    migration: Migration
    operation: Operation
    index: int
    state: ProjectState
    vendor: str
    connection: BaseDatabaseWrapper
    alias: str
    #: (app_label, model_name) of tables that do not exist yet where this migration runs.
    new_tables: set[tuple[str, str]]
    track: MigrationTrack

    def mark(self, phase: Phase, what: str) -> None:
        """Record that the current operation changes the database in ``phase``."""
        self.track.phases.append((phase, self.index, what))

    def changes_schema(self, model_name: str, *, exclusive: bool = True) -> None:
        """Record a schema change (and, usually, an ACCESS EXCLUSIVE lock) on a table."""
        if self.is_new(model_name):
            return
        table = self.table(model_name)
        self.track.schema_changes.setdefault(table, self.index)
        if exclusive and not self.track.lock_timeout_set:
            self.track.exclusive_locks.setdefault(table, self.index)

    # --- names ---------------------------------------------------------------------------

    @property
    def postgres(self) -> bool:
        return self.vendor == "postgresql"

    def model(self, model_name: str, app_label: str | None = None) -> ModelState | None:
        return self.state.models.get((app_label or self.app_label, model_name.lower()))

    def model_label(self, model_name: str) -> str:
        found = self.model(model_name)
        return found.name if found is not None else model_name

    def table(self, model_name: str, app_label: str | None = None) -> str:
        app_label = app_label or self.app_label
        found = self.model(model_name, app_label)
        if found is not None and found.options.get("db_table"):
            return str(found.options["db_table"])
        return self.truncate(f"{app_label}_{model_name.lower()}")

    def truncate(self, name: str) -> str:
        limit = self.connection.ops.max_name_length()
        if limit is None or len(name) <= limit:
            return name
        digest = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:4]
        return f"{name[: limit - 4]}{digest}"

    def field(self, model_name: str, name: str) -> models.Field[Any, Any] | None:
        found = self.model(model_name)
        if found is None:
            return None
        result: models.Field[Any, Any] | None = found.fields.get(name)
        return result

    def is_new(self, model_name: str, app_label: str | None = None) -> bool:
        """Whether no running code can be hurt through this model's table: it is created in
        this migration (or deploy), or Django does not manage it (unmanaged, proxy)."""
        if (app_label or self.app_label, model_name.lower()) in self.new_tables:
            return True
        found = self.model(model_name, app_label)
        if found is None:
            return False
        return found.options.get("managed", True) is False or bool(found.options.get("proxy"))

    def quote(self, name: str) -> str:
        return f"`{name}`" if self.vendor == "mysql" else f'"{name}"'

    def base_values(self, model_name: str | None = None) -> dict[str, Any]:
        values: dict[str, Any] = {
            "app_label": self.app_label,
            "migration": f"{self.app_label}.{self.migration.name}",
            "migration_name": self.migration.name,
            "alias": self.alias,
            "operation_index": self.index,
            "operation": type(self.operation).__name__,
        }
        if model_name:
            table = self.table(model_name)
            values.update(
                model=self.model_label(model_name),
                model_name=model_name.lower(),
                table=table,
                table_sql=self.quote(table),
            )
        return values

    def field_values(
        self, model_name: str, name: str, fld: models.Field[Any, Any]
    ) -> dict[str, Any]:
        column = column_name(name, fld)
        return {
            **self.base_values(model_name),
            "field": name,
            "column": column,
            "column_sql": self.quote(column),
            "field_code": Deferred(serialize_field, fld),
            "field_code_nullable": Deferred(serialize_field, fld, null=True),
            "column_type": Deferred(self.column_type, fld),
        }

    def column_type(self, fld: models.Field[Any, Any]) -> str:
        """The column's SQL type on the target database, best effort and offline."""
        remote = getattr(fld, "remote_field", None)
        try:
            if remote is not None and not fld.many_to_many:
                target = self.related_pk(fld)
                if target is not None:
                    return str(target.rel_db_type(self.connection))
                return "bigint"
            return str(fld.db_type(self.connection) or "text")
        except Exception:  # a custom field that needs a rendered model
            return "text"

    def related(self, fld: models.Field[Any, Any]) -> tuple[str, str] | None:
        """(app_label, model_name) a relation points at, from the state's lazy reference."""
        remote = getattr(fld, "remote_field", None)
        if remote is None:
            return None
        target = remote.model
        if isinstance(target, str):
            if "." in target:
                app_label, model_name = target.split(".", 1)
            else:
                app_label, model_name = self.app_label, target
            return app_label, model_name.lower()
        meta = target._meta
        return meta.app_label, meta.model_name

    def related_pk(self, fld: models.Field[Any, Any]) -> models.Field[Any, Any] | None:
        target = self.related(fld)
        if target is None:
            return None
        found = self.state.models.get(target)
        if found is None:
            return None
        for fname, candidate in found.fields.items():
            if candidate.primary_key:
                candidate.name = candidate.name or fname
                pk: models.Field[Any, Any] = candidate
                return pk
        return None


def column_name(name: str, fld: models.Field[Any, Any]) -> str:
    """The column Django gives field ``name`` (``db_column``, ``<name>_id`` for a relation)."""
    if fld.db_column:
        return str(fld.db_column)
    if getattr(fld, "remote_field", None) is not None and not fld.many_to_many:
        return f"{name}_id"
    return name


def has_db_default(fld: models.Field[Any, Any]) -> bool:
    return getattr(fld, "db_default", NOT_PROVIDED) is not NOT_PROVIDED


def is_required_column(fld: models.Field[Any, Any]) -> bool:
    """NOT NULL with no database default: an insert that omits it fails."""
    return not fld.null and not has_db_default(fld) and not fld.many_to_many


def clone_field(fld: models.Field[Any, Any], **changes: Any) -> models.Field[Any, Any]:
    """A copy of ``fld`` with keyword arguments changed; a value of ``...`` removes one."""
    _name, _path, args, kwargs = fld.deconstruct()
    for key, value in changes.items():
        if value is ...:
            kwargs.pop(key, None)
        else:
            kwargs[key] = value
    return type(fld)(*args, **kwargs)


def serialize_field(fld: models.Field[Any, Any], **changes: Any) -> str:
    """Python source for ``fld`` (with ``changes``), as makemigrations writes it."""
    from django.db.migrations.writer import MigrationWriter

    try:
        target = clone_field(fld, **changes) if changes else fld
        code, _imports = MigrationWriter.serialize(target)
    except Exception:  # a field that cannot be rebuilt from its deconstruction
        code, _imports = MigrationWriter.serialize(fld)
    return str(code)


def serialize_operation(operation: Operation) -> str:
    """One line of Python for a migration operation, e.g.
    ``migrations.RenameModel(old_name="Shelf", new_name="Rack")`` (no trailing comma)."""
    from django.db.migrations.writer import MigrationWriter

    name, args, kwargs = operation.deconstruct()
    parts = [str(MigrationWriter.serialize(a)[0]) for a in args]
    parts += [f"{k}={MigrationWriter.serialize(v)[0]}" for k, v in kwargs.items()]
    module = type(operation).__module__
    prefix = "migrations." if module.startswith("django.db.migrations") else ""
    return f"{prefix}{name}({', '.join(parts)})"


def index_name(model_name: str, columns: list[str], suffix: str) -> str:
    """A short, stable index name in Django's 30-character limit."""
    digest = hashlib.md5(
        f"{model_name}:{','.join(columns)}".encode(), usedforsecurity=False
    ).hexdigest()[:6]
    stem = f"{model_name[:8]}_{'_'.join(columns)[:10]}".strip("_")
    return f"{stem}_{digest}_{suffix}"[:30]
