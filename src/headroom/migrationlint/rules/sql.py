"""Judge of RunSQL: the statements are parsed with PostgreSQL's own parser (pglast) and
held to the same rules as the equivalent Django operations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from headroom.migrationlint.context import Context, Hit, column_name, has_db_default
from headroom.migrationlint.findings import Phase
from headroom.migrationlint.rules import judge
from headroom.migrationlint.rules.volatility import volatile_in_sql


def statements(sql: Any) -> list[str]:
    """The SQL strings of a RunSQL ``sql``/``reverse_sql`` argument."""
    if sql is None or sql == "":
        return []
    if isinstance(sql, (list, tuple)):
        found = []
        for item in sql:
            if isinstance(item, (list, tuple)):
                item = item[0]
            found.append(str(item))
        return found
    return [str(sql)]


class _Tables:
    """Table name -> (model name, {column: (field name, field)}) from the current state."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._map: dict[str, tuple[str, dict[str, tuple[str, Any]]]] | None = None

    def lookup(self, table: str) -> tuple[str, dict[str, tuple[str, Any]]] | None:
        if self._map is None:
            self._map = {}
            for (app_label, model_name), model in self.ctx.state.models.items():
                if app_label != self.ctx.app_label and model.options.get("managed") is False:
                    continue
                name = self.ctx.table(model_name, app_label)
                columns = {
                    column_name(fname, fld): (fname, fld)
                    for fname, fld in model.fields.items()
                    if not fld.many_to_many
                }
                if app_label == self.ctx.app_label:
                    self._map[name] = (model_name, columns)
                else:
                    self._map.setdefault(name, (model_name, columns))
        return self._map.get(table)


def _sql_values(ctx: Context, table: str, column: str | None = None) -> dict[str, Any]:
    values = {
        **ctx.base_values(),
        "table": table,
        "table_sql": ctx.quote(table),
        "model": table,
        "model_name": table,
        "field": column or "",
        "column": column or "",
        "column_sql": ctx.quote(column or ""),
        "column_type": "text",
        "make_nullable": "",
    }
    return values


def _model_values(ctx: Context, tables: _Tables, table: str, column: str | None) -> dict[str, Any]:
    values = _sql_values(ctx, table, column)
    found = tables.lookup(table)
    if found is None:
        return values
    model_name, columns = found
    values.update(model=ctx.model_label(model_name), model_name=model_name)
    if column and column in columns:
        fname, fld = columns[column]
        values.update(ctx.field_values(model_name, fname, fld))
    return values


def _deparse(node: Any) -> str:
    from pglast.stream import RawStream

    try:
        return str(RawStream()(node))
    except Exception:
        return ""


@judge("RunSQL")
def run_sql(ctx: Context) -> Iterator[Hit]:
    op: Any = ctx.operation
    if not op.reversible:
        yield Hit(
            "HR402",
            {
                **ctx.base_values(),
                "sql_code": repr(op.sql),
                "reverse_code": "migrations.RunSQL.noop  # or the SQL that undoes it",
            },
        )
    try:
        from pglast import parse_sql
        from pglast.parser import ParseError
    except ImportError:  # pragma: no cover - pglast is a dependency
        yield Hit("HR903", {**ctx.base_values(), "problem": "pglast is not installed"})
        return
    tables = _Tables(ctx)
    for text in statements(op.sql):
        try:
            parsed = parse_sql(text)
        except ParseError as exc:
            yield Hit("HR903", {**ctx.base_values(), "problem": str(exc)})
            continue
        for raw in parsed:
            yield from _statement(ctx, tables, raw.stmt)


def _is_new(ctx: Context, tables: _Tables, table: str) -> bool:
    if table in ctx.track.created_tables:
        return True
    found = tables.lookup(table)
    return found is not None and ctx.is_new(found[0])


def _lock(ctx: Context, tables: _Tables, table: str, *, exclusive: bool = True) -> None:
    if _is_new(ctx, tables, table):
        return
    ctx.track.schema_changes.setdefault(table, ctx.index)
    if exclusive and not ctx.track.lock_timeout_set:
        ctx.track.exclusive_locks.setdefault(table, ctx.index)


def _statement(ctx: Context, tables: _Tables, stmt: Any) -> Iterator[Hit]:
    kind = type(stmt).__name__
    if kind == "VariableSetStmt":
        if (stmt.name or "").lower() == "lock_timeout":
            ctx.track.lock_timeout_set = True
        return
    if kind == "CreateStmt":
        ctx.track.created_tables.add(stmt.relation.relname)
        ctx.mark("expand", f"CREATE TABLE {stmt.relation.relname}")
        return
    if kind == "IndexStmt":
        yield from _index(ctx, tables, stmt)
        return
    if kind == "DropStmt":
        yield from _drop(ctx, tables, stmt)
        return
    if kind == "RenameStmt":
        yield from _rename(ctx, tables, stmt)
        return
    if kind == "AlterTableStmt" and stmt.relation is not None:
        table = stmt.relation.relname
        for cmd in stmt.cmds or ():
            yield from _alter(ctx, tables, table, cmd)


def _index(ctx: Context, tables: _Tables, stmt: Any) -> Iterator[Hit]:
    table = stmt.relation.relname
    name = stmt.idxname or f"{table}_idx"
    ctx.mark("expand", f"CREATE INDEX {name}")
    if not ctx.postgres:
        return
    if stmt.concurrent:
        if ctx.migration.atomic:
            yield Hit("HR203", {**_sql_values(ctx, table), "what": "CREATE INDEX"}, table=table)
        return
    if _is_new(ctx, tables, table):
        return
    _lock(ctx, tables, table, exclusive=False)
    values = _model_values(ctx, tables, table, None)
    index_code = f'models.Index(fields=[...], name="{name}")'
    yield Hit(
        "HR201",
        {**values, "index_name": name, "index_code": index_code, "before": ""},
        table=table,
    )


def _drop(ctx: Context, tables: _Tables, stmt: Any) -> Iterator[Hit]:
    from pglast.enums import ObjectType

    names = [".".join(p.sval for p in obj) for obj in stmt.objects or ()]
    if stmt.removeType == ObjectType.OBJECT_TABLE:
        for name in names:
            table = name.split(".")[-1]
            ctx.mark("contract", f"DROP TABLE {table}")
            found = tables.lookup(table)
            if found is not None and not _is_new(ctx, tables, table):
                _lock(ctx, tables, table)
                yield Hit("HR102", _model_values(ctx, tables, table, None), table=table)
    elif stmt.removeType == ObjectType.OBJECT_INDEX:
        for name in names:
            ctx.mark("expand", f"DROP INDEX {name}")
            if not ctx.postgres:
                continue
            values = {**_sql_values(ctx, name), "index_name": name, "model_name": "..."}
            if stmt.concurrent:
                if ctx.migration.atomic:
                    yield Hit("HR203", {**values, "what": "DROP INDEX"})
            else:
                yield Hit("HR202", values)


def _rename(ctx: Context, tables: _Tables, stmt: Any) -> Iterator[Hit]:
    from pglast.enums import ObjectType

    if stmt.relation is None:
        return
    table = stmt.relation.relname
    if _is_new(ctx, tables, table):
        return
    if stmt.renameType == ObjectType.OBJECT_COLUMN:
        ctx.mark("contract", f"RENAME COLUMN {table}.{stmt.subname}")
        _lock(ctx, tables, table)
        values = _model_values(ctx, tables, table, stmt.subname)
        values.update(
            old_field=values.get("field") or stmt.subname,
            old_column=stmt.subname,
            field=stmt.newname,
            column=stmt.newname,
            field_code_keep_column=f'...(db_column="{stmt.subname}")',
        )
        yield Hit("HR103", values, table=table, column=stmt.subname)
    elif stmt.renameType == ObjectType.OBJECT_TABLE:
        ctx.mark("contract", f"RENAME TABLE {table}")
        _lock(ctx, tables, table)
        values = _model_values(ctx, tables, table, None)
        values.update(
            old_table=table,
            table=stmt.newname,
            state_operation="",
            state_operation_inline="",
        )
        yield Hit("HR104", values, table=table)


def _alter(ctx: Context, tables: _Tables, table: str, cmd: Any) -> Iterator[Hit]:
    from pglast.enums import AlterTableType as T
    from pglast.enums import ConstrType as C

    if _is_new(ctx, tables, table):
        ctx.mark("expand", f"ALTER TABLE {table}")
        return
    sub = cmd.subtype
    column = cmd.name
    if sub == T.AT_DropColumn:
        ctx.mark("contract", f"DROP COLUMN {table}.{column}")
        found = tables.lookup(table)
        _lock(ctx, tables, table)
        if found is not None and column in found[1]:
            yield Hit(
                "HR101", _model_values(ctx, tables, table, column), table=table, column=column
            )
        return
    if sub == T.AT_AddColumn:
        _lock(ctx, tables, table)
        yield from _add_column(ctx, tables, table, cmd.def_)
        return
    if sub == T.AT_AlterColumnType:
        _lock(ctx, tables, table)
        if _is_widening(tables, table, column, cmd.def_):
            ctx.mark("expand", f"ALTER COLUMN {table}.{column} TYPE (wider)")
            return
        ctx.mark("contract", f"ALTER COLUMN {table}.{column} TYPE")
        if ctx.postgres:
            values = _model_values(ctx, tables, table, column)
            new_type = _deparse(cmd.def_.typeName) if cmd.def_ is not None else "?"
            values.update(
                old_type=values.get("column_type", "?"),
                new_type=new_type,
                new_field_code_nullable="models.Field(null=True)  # the new type",
            )
            yield Hit("HR208", values, table=table, column=column)
        return
    if sub == T.AT_SetNotNull:
        ctx.mark("contract", f"SET NOT NULL {table}.{column}")
        _lock(ctx, tables, table)
        values = _model_values(ctx, tables, table, column)
        values["constraint"] = ctx.truncate(f"{table}_{column}_not_null")
        yield Hit("HR106", values, table=table, column=column)
        return
    if sub == T.AT_ColumnDefault:
        _lock(ctx, tables, table)
        if cmd.def_ is not None:
            ctx.mark("expand", f"SET DEFAULT {table}.{column}")
            return
        ctx.mark("contract", f"DROP DEFAULT {table}.{column}")
        found = tables.lookup(table)
        fld = found[1].get(column, (None, None))[1] if found and column else None
        if fld is not None and not fld.null and has_db_default(fld):
            values = _model_values(ctx, tables, table, column)
            values["old_field_code"] = values.get("field_code", "")
            yield Hit("HR109", values, table=table, column=column)
        return
    if sub == T.AT_AddConstraint and cmd.def_ is not None:
        con = cmd.def_
        name = con.conname or f"{table}_constraint"
        values = _model_values(ctx, tables, table, None)
        values["constraint"] = name
        if con.contype == C.CONSTR_FOREIGN:
            ctx.mark("expand", f"ADD FOREIGN KEY {name}")
            _lock(ctx, tables, table, exclusive=False)
            if ctx.postgres and not con.skip_validation:
                yield Hit("HR205", _fk_values(values, con), table=table)
        elif con.contype == C.CONSTR_CHECK:
            # NOT VALID only holds new rows to it: the first step of the safe sequence.
            phase: Phase = "expand" if con.skip_validation else "contract"
            ctx.mark(phase, f"ADD CHECK {name}")
            _lock(ctx, tables, table)
            if ctx.postgres and not con.skip_validation:
                values["constraint_code"] = f'models.CheckConstraint(condition=..., name="{name}")'
                yield Hit("HR206", values, table=table)
        elif con.contype in (C.CONSTR_UNIQUE, C.CONSTR_PRIMARY):
            ctx.mark("contract", f"ADD UNIQUE {name}")
            _lock(ctx, tables, table)
            if ctx.postgres and not con.indexname:
                keys = [k.sval for k in con.keys or ()]
                values.update(
                    index_name=name,
                    columns=", ".join(keys),
                    columns_sql=", ".join(ctx.quote(k) for k in keys),
                    state_operation="",
                )
                yield Hit("HR204", values, table=table)
        else:
            _lock(ctx, tables, table)
        return
    if sub == T.AT_ValidateConstraint:
        _lock(ctx, tables, table, exclusive=False)
        return
    if sub in (T.AT_DropNotNull, T.AT_DropConstraint):
        ctx.mark("expand", f"ALTER TABLE {table}")
    _lock(ctx, tables, table)


def _fk_values(values: dict[str, Any], con: Any) -> dict[str, Any]:
    fk = [a.sval for a in con.fk_attrs or ()]
    pk = [a.sval for a in con.pk_attrs or ()]
    return {
        **values,
        "column": ", ".join(fk),
        "column_sql": ", ".join(f'"{c}"' for c in fk),
        "ref_table": con.pktable.relname if con.pktable is not None else "?",
        "ref_column": ", ".join(pk) or "id",
        "field_code_no_constraint": "models.ForeignKey(..., db_constraint=False)",
    }


def _add_column(ctx: Context, tables: _Tables, table: str, coldef: Any) -> Iterator[Hit]:
    from pglast.enums import ConstrType as C

    column = coldef.colname
    ctx.mark("expand", f"ADD COLUMN {table}.{column}")
    constraints = list(coldef.constraints or ())
    kinds = {c.contype for c in constraints}
    default = next((c for c in constraints if c.contype == C.CONSTR_DEFAULT), None)
    values = _sql_values(ctx, table, column)
    values["model_name"] = (tables.lookup(table) or (table, {}))[0]
    values["field_code_safe"] = "models.Field(null=True)  # or db_default=..."
    generated = C.CONSTR_GENERATED in kinds or C.CONSTR_IDENTITY in kinds
    if (C.CONSTR_NOTNULL in kinds or coldef.is_not_null) and default is None and not generated:
        yield Hit("HR105", values, table=table, column=column)
    if not ctx.postgres:
        return
    if default is not None:
        volatile = volatile_in_sql(_deparse(default.raw_expr))
        if volatile:
            values.update(default=volatile, field_code_nullable_plain="models.Field(null=True)")
            yield Hit("HR207", values, table=table, column=column)
    if C.CONSTR_UNIQUE in kinds or C.CONSTR_PRIMARY in kinds:
        values.update(
            constraint=f"{table}_{column}_key",
            index_name=f"{table}_{column}_key",
            columns=column,
            columns_sql=ctx.quote(column),
            state_operation="",
        )
        yield Hit("HR204", values, table=table, column=column)
    for con in constraints:
        if con.contype == C.CONSTR_FOREIGN:
            fk = {**values, "constraint": f"{table}_{column}_fkey"}
            fk.update(_fk_values(fk, con))
            fk.update(column=column, column_sql=ctx.quote(column))
            yield Hit("HR205", fk, table=table, column=column)
        elif con.contype == C.CONSTR_CHECK:
            values.update(
                constraint=con.conname or f"{table}_{column}_check",
                constraint_code="models.CheckConstraint(condition=..., name=...)",
            )
            yield Hit("HR206", values, table=table, column=column)


def _sql_type(type_name: Any) -> tuple[Any, ...] | None:
    """The (kind, size...) of a parsed type, in :mod:`..typechanges` terms, when simple."""
    if type_name is None:
        return None
    name = type_name.names[-1].sval
    mods = [getattr(m.val, "ival", None) for m in type_name.typmods or ()]
    if name == "text" or (name == "varchar" and not mods):
        return ("text",)
    if name == "varchar" and mods:
        return ("varchar", mods[0])
    if name == "numeric" and len(mods) == 2:
        return ("numeric", mods[0], mods[1])
    return None


def _is_widening(tables: _Tables, table: str, column: str | None, coldef: Any) -> bool:
    """Whether ``ALTER COLUMN ... TYPE`` only widens the field the state knows (no rewrite)."""
    from headroom.migrationlint.typechanges import kind

    found = tables.lookup(table)
    if found is None or column not in found[1] or coldef is None:
        return False
    old = kind(found[1][column][1])
    new = _sql_type(coldef.typeName)
    if new is None:
        return False
    if new == ("text",):
        return old[0] in ("varchar", "text")
    if old[0] == new[0] == "varchar":
        return bool(new[1] >= old[1])
    if old[0] == new[0] == "numeric":
        return bool(new[2] == old[2] and new[1] >= old[1])
    return False
