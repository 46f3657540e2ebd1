"""Judges of the field operations: AddField, RemoveField, AlterField, RenameField."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models.fields import NOT_PROVIDED

from headroom.migrationlint.context import (
    Context,
    Hit,
    column_name,
    has_db_default,
    index_name,
    is_required_column,
    serialize_field,
)
from headroom.migrationlint.rules import judge
from headroom.migrationlint.rules.volatility import volatile_default
from headroom.migrationlint.typechanges import classify


def _required_removal_prelude(ctx: Context, model_name: str, name: str, fld: Any) -> str:
    if not is_required_column(fld):
        return ""
    return (
        "migrations.AlterField(\n"
        f'    model_name="{model_name.lower()}",\n'
        f'    name="{name}",\n'
        f"    field={serialize_field(fld, null=True)},\n"
        "),\n"
    )


def _foreign_key_values(ctx: Context, values: dict[str, Any], fld: Any) -> dict[str, Any]:
    target = ctx.related(fld)
    ref_table = ctx.table(target[1], target[0]) if target else "?"
    pk = ctx.related_pk(fld)
    ref_column = column_name(pk.name or "id", pk) if pk is not None else "id"
    return {
        **values,
        "ref_table": ref_table,
        "ref_column": ref_column,
        "constraint": ctx.truncate(f"{values['table']}_{values['column']}_fk"),
        "field_code_no_constraint": serialize_field(fld, db_constraint=False),
    }


def _index_hit(ctx: Context, values: dict[str, Any], *, before: str = "") -> Hit:
    column = values["column"]
    name = index_name(values["model_name"], [values["field"]], "idx")
    index_code = f'models.Index(fields=["{values["field"]}"], name="{name}")'
    return Hit(
        "HR201",
        {**values, "index_name": name, "index_code": index_code, "before": before},
        table=values["table"],
        column=column,
    )


def _unique_hit(ctx: Context, values: dict[str, Any], state_operation: str) -> Hit:
    name = index_name(values["model_name"], [values["field"]], "uniq")
    return Hit(
        "HR204",
        {
            **values,
            "constraint": name,
            "index_name": name,
            "columns": values["column"],
            "columns_sql": values["column_sql"],
            "state_operation": state_operation,
        },
        table=values["table"],
        column=values["column"],
    )


@judge("AddField")
def add_field(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    fld = op.field
    ctx.mark("expand", f"add {op.model_name}.{op.name}")
    if ctx.is_new(op.model_name) or fld.many_to_many:
        return
    ctx.changes_schema(op.model_name)
    values = ctx.field_values(op.model_name, op.name, fld)
    table, column = values["table"], values["column"]
    if fld.primary_key:
        values["index_name"] = index_name(op.model_name, [op.name], "uniq")
        yield Hit("HR108", values, table=table, column=column)
        return
    if is_required_column(fld) and not getattr(fld, "generated", False):
        default = fld.default
        if default is not NOT_PROVIDED and not callable(default):
            safe = serialize_field(fld, db_default=default)
        else:
            safe = serialize_field(fld, null=True)
        yield Hit("HR105", {**values, "field_code_safe": safe}, table=table, column=column)
    if not ctx.postgres:
        return
    volatile = volatile_default(getattr(fld, "db_default", NOT_PROVIDED))
    if volatile:
        plain = serialize_field(fld, null=True, db_default=...)
        yield Hit(
            "HR207",
            {
                **values,
                "default": volatile,
                "field_code_nullable_plain": plain,
            },
            table=table,
            column=column,
        )
    state_operation = (
        f'migrations.AddField(model_name="{op.model_name.lower()}", name="{op.name}", '
        f"field={values['field_code']}),"
    )
    if fld.unique:
        yield _unique_hit(ctx, values, state_operation)
    elif fld.db_index:
        before = "# with the field added as db_index=False in an earlier migration:\n        "
        yield _index_hit(ctx, values, before=before)
    if getattr(fld, "remote_field", None) is not None and getattr(fld, "db_constraint", False):
        yield Hit("HR205", _foreign_key_values(ctx, values, fld), table=table, column=column)


@judge("RemoveField")
def remove_field(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    fld: Any = ctx.field(op.model_name, op.name)
    if fld is None or ctx.is_new(op.model_name):
        return
    ctx.mark("contract", f"remove {op.model_name}.{op.name}")
    ctx.changes_schema(op.model_name)
    values = ctx.field_values(op.model_name, op.name, fld)
    if fld.many_to_many:
        through = fld.remote_field.through if fld.remote_field is not None else None
        if through is not None and not isinstance(through, str):
            return  # an explicit through model is dropped by its own DeleteModel
        table = fld.db_table or ctx.truncate(f"{values['table']}_{op.name}")
        yield Hit(
            "HR102",
            {**values, "table": table, "table_sql": ctx.quote(table)},
            table=table,
        )
        return
    values["make_nullable"] = _required_removal_prelude(ctx, op.model_name, op.name, fld)
    yield Hit("HR101", values, table=values["table"], column=values["column"])
    if is_required_column(fld):
        yield Hit("HR403", values, table=values["table"], column=values["column"])


@judge("RenameField")
def rename_field(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    fld = ctx.field(op.model_name, op.old_name)
    if fld is None or ctx.is_new(op.model_name) or fld.many_to_many:
        return
    old_column = column_name(op.old_name, fld)
    new_column = column_name(op.new_name, fld)
    if old_column == new_column:
        return  # db_column pins the column: only Python names change
    ctx.mark("contract", f"rename {op.model_name}.{op.old_name}")
    ctx.changes_schema(op.model_name)
    values = ctx.field_values(op.model_name, op.new_name, fld)
    values.update(
        old_field=op.old_name,
        old_column=old_column,
        column=new_column,
        field_code_keep_column=serialize_field(fld, db_column=old_column),
    )
    yield Hit("HR103", values, table=values["table"], column=old_column)


@judge("AlterField")
def alter_field(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    old: Any = ctx.field(op.model_name, op.name)
    new = op.field
    if old is None or old.many_to_many or new.many_to_many:
        return
    if ctx.is_new(op.model_name):
        ctx.mark("expand", f"alter {op.model_name}.{op.name}")
        return
    values = ctx.field_values(op.model_name, op.name, new)
    table = values["table"]
    old_column, column = column_name(op.name, old), column_name(op.name, new)
    change = classify(old, new)
    contract = False
    exclusive = False
    touched = False
    hits: list[Hit] = []

    if old_column != column:
        contract = exclusive = touched = True
        hits.append(
            Hit(
                "HR103",
                {
                    **values,
                    "old_field": op.name,
                    "old_column": old_column,
                    "field_code_keep_column": serialize_field(new, db_column=old_column),
                },
                table=table,
                column=old_column,
            )
        )
    if bool(old.primary_key) != bool(new.primary_key):
        contract = exclusive = touched = True
        values["index_name"] = index_name(op.model_name, [op.name], "uniq")
        hits.append(Hit("HR108", values, table=table, column=column))
    if old.null and not new.null and not new.primary_key:
        contract = exclusive = touched = True
        constraint = ctx.truncate(f"{table}_{column}_not_null")
        hits.append(Hit("HR106", {**values, "constraint": constraint}, table=table, column=column))
    elif not old.null and new.null:
        exclusive = touched = True
        hits.append(
            Hit("HR404", {**values, "fill_value": _fill_value(new)}, table=table, column=column)
        )
    if change != "same":
        exclusive = touched = True
        type_values = {
            **values,
            "old_type": ctx.column_type(old),
            "new_type": ctx.column_type(new),
            "new_field_code_nullable": serialize_field(new, null=True),
        }
        if change in ("narrow", "change"):
            contract = True
            hits.append(Hit("HR107", type_values, table=table, column=column))
        if ctx.postgres and change in ("narrow", "change", "widen_rewrite"):
            hits.append(Hit("HR208", type_values, table=table, column=column))
    if has_db_default(old) and not has_db_default(new):
        exclusive = touched = True
        if not new.null:
            contract = True
            old_code = serialize_field(old)
            hits.append(Hit("HR109", {**values, "old_field_code": old_code}, table=table))
    elif has_db_default(new) and getattr(old, "db_default", None) != new.db_default:
        exclusive = touched = True
    state_operation = (
        f'migrations.AlterField(model_name="{op.model_name.lower()}", name="{op.name}", '
        f"field={values['field_code']}),"
    )
    if new.unique and not old.unique and not new.primary_key:
        contract = touched = True
        if ctx.postgres:
            hits.append(_unique_hit(ctx, values, state_operation))
    elif new.db_index and not old.db_index and not new.unique:
        touched = True
        if ctx.postgres:
            hits.append(_index_hit(ctx, values))
    elif old.db_index and not new.db_index and not old.unique:
        touched = exclusive = True
        if ctx.postgres:
            name = index_name(op.model_name, [op.name], "idx")
            hits.append(Hit("HR202", {**values, "index_name": name}, table=table))
    if (
        getattr(new, "remote_field", None) is not None
        and getattr(new, "db_constraint", False)
        and not (getattr(old, "remote_field", None) is not None and old.db_constraint)
    ):
        touched = True
        if ctx.postgres:
            hits.append(
                Hit("HR205", _foreign_key_values(ctx, values, new), table=table, column=column)
            )
    if touched:
        ctx.mark("contract" if contract else "expand", f"alter {op.model_name}.{op.name}")
        ctx.changes_schema(op.model_name, exclusive=exclusive)
    yield from hits


def _fill_value(fld: Any) -> str:
    internal = fld.get_internal_type()
    if internal in ("BooleanField",):
        return "false"
    if "Integer" in internal or internal in ("DecimalField", "FloatField", "AutoField"):
        return "0"
    if internal in ("DateTimeField", "DateField"):
        return "now()"
    if internal == "JSONField":
        return "'{{}}'"
    return "''"
