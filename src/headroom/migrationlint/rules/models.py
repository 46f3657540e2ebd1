"""Judges of table-level operations: models, indexes, constraints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.migrations.writer import MigrationWriter

from headroom.migrationlint.context import Context, Hit, column_name, serialize_operation
from headroom.migrationlint.rules import judge


def _code(value: Any) -> str:
    code, _imports = MigrationWriter.serialize(value)
    return str(code)


@judge("CreateModel")
def create_model(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    ctx.new_tables.add((ctx.app_label, op.name_lower))
    ctx.mark("expand", f"create {op.name}")
    yield from ()


@judge("DeleteModel")
def delete_model(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    if ctx.is_new(op.name) or ctx.model(op.name) is None:
        return
    ctx.mark("contract", f"delete {op.name}")
    ctx.changes_schema(op.name)
    values = ctx.base_values(op.name)
    yield Hit("HR102", values, table=values["table"])


def _rename_table_hit(ctx: Context, model_name: str, old_table: str, new_table: str) -> Hit:
    op: Any = ctx.operation
    state_operation = serialize_operation(op)
    values = {
        **ctx.base_values(model_name),
        "old_table": old_table,
        "table": new_table,
        "table_sql": ctx.quote(new_table),
        "state_operation": state_operation + "," if op.__class__.__name__ == "RenameModel" else "",
        "state_operation_inline": state_operation,
    }
    return Hit("HR104", values, table=old_table)


@judge("RenameModel")
def rename_model(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    found = ctx.model(op.old_name)
    if found is None or ctx.is_new(op.old_name):
        if ctx.is_new(op.old_name):
            ctx.new_tables.add((ctx.app_label, op.new_name_lower))
        return
    if found.options.get("db_table"):
        return  # an explicit db_table: only the Python name changes
    old_table = ctx.table(op.old_name)
    new_table = ctx.truncate(f"{ctx.app_label}_{op.new_name_lower}")
    ctx.mark("contract", f"rename {op.old_name}")
    ctx.changes_schema(op.old_name)
    yield _rename_table_hit(ctx, op.new_name, old_table, new_table)


@judge("AlterModelTable")
def alter_model_table(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    if ctx.is_new(op.name) or ctx.model(op.name) is None:
        return
    old_table = ctx.table(op.name)
    new_table = op.table or ctx.truncate(f"{ctx.app_label}_{op.name_lower}")
    if old_table == new_table:
        return
    ctx.mark("contract", f"rename table of {op.name}")
    ctx.changes_schema(op.name)
    yield _rename_table_hit(ctx, op.name, old_table, new_table)


@judge("AddIndex")
def add_index(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    ctx.mark("expand", f"add index {op.index.name}")
    if ctx.is_new(op.model_name) or not ctx.postgres:
        return
    ctx.changes_schema(op.model_name, exclusive=False)
    values = ctx.base_values(op.model_name)
    yield Hit(
        "HR201",
        {**values, "index_name": op.index.name, "index_code": _code(op.index), "before": ""},
        table=values["table"],
    )


@judge("AddIndexConcurrently", "RemoveIndexConcurrently")
def concurrent_index(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    adding = type(op).__name__ == "AddIndexConcurrently"
    ctx.mark("expand", f"{'add' if adding else 'remove'} index concurrently")
    if ctx.postgres and ctx.migration.atomic:
        what = "CREATE INDEX" if adding else "DROP INDEX"
        yield Hit("HR203", {**ctx.base_values(op.model_name), "what": what})


@judge("RemoveIndex")
def remove_index(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    if not _readded(ctx, "index", op.name):
        ctx.mark("expand", f"remove index {op.name}")
    if ctx.is_new(op.model_name) or not ctx.postgres:
        return
    ctx.changes_schema(op.model_name)
    values = ctx.base_values(op.model_name)
    yield Hit("HR202", {**values, "index_name": op.name}, table=values["table"])


def _columns(ctx: Context, model_name: str, field_names: list[str]) -> list[str]:
    columns = []
    for name in field_names:
        fld = ctx.field(model_name, name)
        columns.append(column_name(name, fld) if fld is not None else name)
    return columns


def _unique_values(
    ctx: Context, model_name: str, name: str, fields: list[str], state_operation: str
) -> dict[str, Any]:
    columns = _columns(ctx, model_name, fields)
    return {
        **ctx.base_values(model_name),
        "constraint": name,
        "index_name": name,
        "columns": ", ".join(columns),
        "columns_sql": ", ".join(ctx.quote(c) for c in columns),
        "state_operation": state_operation,
    }


@judge("AddConstraint")
def add_constraint(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    constraint = op.constraint
    kind = type(constraint).__name__
    if ctx.is_new(op.model_name):
        ctx.mark("expand", f"add constraint {constraint.name}")
        return
    ctx.mark("contract", f"add constraint {constraint.name}")
    ctx.changes_schema(op.model_name)
    if not ctx.postgres:
        return
    values = ctx.base_values(op.model_name)
    if kind == "UniqueConstraint":
        state_operation = serialize_operation(op) + ","
        fields = list(constraint.fields) or [str(e) for e in constraint.expressions]
        yield Hit(
            "HR204",
            _unique_values(ctx, op.model_name, constraint.name, fields, state_operation),
            table=values["table"],
        )
    else:
        yield Hit(
            "HR206",
            {**values, "constraint": constraint.name, "constraint_code": _code(constraint)},
            table=values["table"],
        )


@judge("AddConstraintNotValid")
def add_constraint_not_valid(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    ctx.mark("expand", f"add constraint {op.constraint.name} NOT VALID")
    ctx.changes_schema(op.model_name)
    yield from ()


def _readded(ctx: Context, kind: str, name: str) -> bool:
    """Whether a later operation of the migration adds back an index/constraint named
    ``name``: the pair is one change, judged when it is added."""
    for later in ctx.migration.operations[ctx.index + 1 :]:
        item = getattr(later, kind, None)
        if item is not None and getattr(item, "name", None) == name:
            return True
    return False


@judge("RemoveConstraint")
def remove_constraint(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    if not _readded(ctx, "constraint", op.name):
        ctx.mark("expand", f"remove constraint {op.name}")
    if ctx.is_new(op.model_name):
        return
    ctx.changes_schema(op.model_name)
    found = ctx.model(op.model_name)
    constraints: list[Any] = list(found.options.get("constraints") or ()) if found else []
    constraint = next((c for c in constraints if c.name == op.name), None)
    index_backed = type(constraint).__name__ == "UniqueConstraint" and bool(
        getattr(constraint, "condition", None) is not None
        or getattr(constraint, "expressions", None)
    )
    if ctx.postgres and index_backed:
        # Django implements a conditional or expression unique constraint as a unique
        # index, and removes it with a plain DROP INDEX.
        values = ctx.base_values(op.model_name)
        yield Hit("HR202", {**values, "index_name": op.name}, table=values["table"])


def _together(ctx: Context, model_name: str, option: str) -> set[tuple[str, ...]]:
    found = ctx.model(model_name)
    if found is None:
        return set()
    return {tuple(t) for t in found.options.get(option) or ()}


@judge("AlterUniqueTogether")
def alter_unique_together(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    before = _together(ctx, op.name, "unique_together")
    added = {tuple(t) for t in op.option_value or ()} - before
    if not added or ctx.is_new(op.name):
        ctx.mark("expand", f"alter unique_together of {op.name}")
        return
    ctx.mark("contract", f"add unique_together to {op.name}")
    ctx.changes_schema(op.name)
    if not ctx.postgres:
        return
    state_operation = serialize_operation(op) + ","
    for fields in sorted(added):
        columns = _columns(ctx, op.name, list(fields))
        name = ctx.truncate(f"{ctx.table(op.name)}_{'_'.join(columns)}_uniq")
        values = _unique_values(ctx, op.name, name, list(fields), state_operation)
        yield Hit("HR204", values, table=values["table"])


@judge("AlterIndexTogether")
def alter_index_together(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    before = _together(ctx, op.name, "index_together")
    added = {tuple(t) for t in op.option_value or ()} - before
    ctx.mark("expand", f"alter index_together of {op.name}")
    if not added or ctx.is_new(op.name) or not ctx.postgres:
        return
    for fields in sorted(added):
        values = ctx.base_values(op.name)
        name = ctx.truncate(f"{values['table']}_{'_'.join(fields)}_idx")[:30]
        index_code = f"models.Index(fields={list(fields)!r}, name={name!r})"
        yield Hit(
            "HR201",
            {**values, "index_name": name, "index_code": index_code, "before": ""},
            table=values["table"],
        )
