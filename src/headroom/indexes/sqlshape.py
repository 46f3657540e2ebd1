"""What an index could do for one statement, read from its parse tree (pglast).

:func:`shape_of` parses a statement with PostgreSQL's own parser and reports, per table it
reads, the columns compared for equality, the columns in range tests, the ORDER BY columns
with their direction, the constant predicates (``is_active``, ``deleted_at IS NULL``) that a
partial index could carry, ``UPPER(col) = UPPER(%s)`` / ``LOWER(col) = %s`` comparisons
(Django's ``iexact`` and ``Lower``), and ``LIKE`` tests on them (``icontains``).

Django's SQL for SQLite and PostgreSQL parses the same way, once its ``%s`` placeholders are
turned into ``$1, $2, ...`` (:func:`to_dollar_params`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Statement kinds that write rows (the write cost of an index is paid on each).
WRITE_KINDS = ("InsertStmt", "UpdateStmt", "DeleteStmt")


def to_dollar_params(sql: str) -> str:
    """``%s`` placeholders (outside quotes) as ``$1, $2, ...``; ``%%`` as ``%``."""
    out: list[str] = []
    number = 0
    quote: str | None = None
    i = 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            out.append(ch)
        elif ch == "%" and sql[i + 1 : i + 2] == "s":
            number += 1
            out.append(f"${number}")
            i += 1
        elif ch == "%" and sql[i + 1 : i + 2] == "%":
            out.append("%")
            i += 1
        else:
            out.append(ch)
        i += 1
    return "".join(out).replace("`", '"')


@dataclass(frozen=True)
class Constant:
    """A constant predicate on one column, as SQL and as the Django ``Q`` that says it."""

    column: str
    sql: str  # ``"deleted_at" IS NULL``
    lookup: str  # ``deleted_at__isnull``
    value: Any  # True


@dataclass
class TableUse:
    """How one statement uses one table."""

    table: str
    equality: list[str] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)
    #: (column, descending)
    order: list[tuple[str, bool]] = field(default_factory=list)
    constants: list[Constant] = field(default_factory=list)
    #: (function, column): ``UPPER("email"::text) = UPPER($1)`` is ("upper", "email").
    expressions: list[tuple[str, str]] = field(default_factory=list)
    #: (function or "", column, parameter number or None, literal pattern or None)
    likes: list[tuple[str, str, int | None, str | None]] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)

    @property
    def columns(self) -> set[str]:
        return {*self.equality, *self.ranges, *(c for c, _ in self.order), *self.joins}


@dataclass
class Shape:
    kind: str  # "SelectStmt", "UpdateStmt", ...
    tables: dict[str, TableUse]
    #: Tables the statement writes to.
    writes: list[str] = field(default_factory=list)

    @property
    def is_read(self) -> bool:
        return self.kind == "SelectStmt"


def _names(node: Any) -> list[str]:
    from pglast import ast

    return [str(f.sval) for f in node.fields if isinstance(f, ast.String)]


def _const_value(node: Any) -> tuple[bool, Any]:
    from pglast import ast

    if isinstance(node, ast.TypeCast):
        return _const_value(node.arg)
    if isinstance(node, ast.A_Const):
        if node.isnull:
            return True, None
        val = node.val
        for attr in ("boolval", "ival", "fval", "sval"):
            if hasattr(val, attr):
                raw = getattr(val, attr)
                if attr == "fval":
                    return True, float(raw)
                return True, raw
    return False, None


def _param_number(node: Any) -> int | None:
    from pglast import ast

    if isinstance(node, ast.ParamRef):
        return int(node.number or 0)
    if isinstance(node, ast.TypeCast):
        return _param_number(node.arg)
    if isinstance(node, ast.FuncCall) and node.args and len(node.args) == 1:
        return _param_number(node.args[0])
    return None


def _is_value(node: Any) -> bool:
    """A parameter, a literal, or a function of them: no column in it."""
    from pglast import ast

    if isinstance(node, (ast.ParamRef, ast.A_Const)):
        return True
    if isinstance(node, ast.TypeCast):
        return _is_value(node.arg)
    if isinstance(node, ast.FuncCall):
        return all(_is_value(a) for a in node.args or ())
    return isinstance(node, (list, tuple)) and all(_is_value(a) for a in node)


class _Reader:
    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.tables: dict[str, TableUse] = {}

    def add_relation(self, node: Any) -> None:
        from pglast import ast

        if isinstance(node, ast.RangeVar):
            table = str(node.relname)
            alias: Any = node.alias
            self.tables.setdefault(table, TableUse(table))
            self.aliases[str(alias.aliasname) if alias else table] = table
            self.aliases.setdefault(table, table)
        elif isinstance(node, ast.JoinExpr):
            self.add_relation(node.larg)
            self.add_relation(node.rarg)
            if node.quals is not None:
                self.join_quals(node.quals)
                if node.jointype == 0:  # an inner join's conditions filter rows too
                    self.predicate(node.quals)

    def column(self, node: Any) -> tuple[str, str] | None:
        """(table, column) of a column reference, through casts."""
        from pglast import ast

        if isinstance(node, ast.TypeCast):
            return self.column(node.arg)
        if not isinstance(node, ast.ColumnRef):
            return None
        names = _names(node)
        if len(names) >= 2:
            table = self.aliases.get(names[-2])
            return (table, names[-1]) if table else None
        if len(names) == 1 and len(self.tables) == 1:
            return next(iter(self.tables)), names[0]
        return None

    def function_of_column(self, node: Any) -> tuple[str, str, str] | None:
        """("upper", table, column) for UPPER("t"."c"::text) or LOWER("t"."c")."""
        from pglast import ast

        args: Any = getattr(node, "args", None)
        if isinstance(node, ast.FuncCall) and args and len(args) == 1:
            name = _names_of(node.funcname)[-1].lower()
            if name in ("upper", "lower"):
                col = self.column(args[0])
                if col:
                    return name, col[0], col[1]
        return None

    def use(self, table: str) -> TableUse:
        return self.tables.setdefault(table, TableUse(table))

    def join_quals(self, node: Any) -> None:
        from pglast import ast

        for part in _conjuncts(node):
            if isinstance(part, ast.A_Expr) and _names_of(part.name) == ["="]:
                left, right = self.column(part.lexpr), self.column(part.rexpr)
                if left and right:
                    self.use(left[0]).joins.append(left[1])
                    self.use(right[0]).joins.append(right[1])

    def predicate(self, node: Any) -> None:
        from pglast import ast
        from pglast.enums import A_Expr_Kind, NullTestType

        for part in _conjuncts(node):
            if isinstance(part, ast.NullTest):
                col = self.column(part.arg)
                if col:
                    is_null = part.nulltesttype == NullTestType.IS_NULL
                    op = "IS NULL" if is_null else "IS NOT NULL"
                    self.use(col[0]).constants.append(
                        Constant(col[1], f'"{col[1]}" {op}', f"{col[1]}__isnull", is_null)
                    )
                continue
            if isinstance(part, ast.ColumnRef):
                col = self.column(part)
                if col:
                    self.use(col[0]).constants.append(Constant(col[1], f'"{col[1]}"', col[1], True))
                continue
            negated: Any = part.args if isinstance(part, ast.BoolExpr) else None
            if isinstance(part, ast.BoolExpr) and part.boolop == 2 and len(negated) == 1:
                col = self.column(negated[0])
                if col:
                    self.use(col[0]).constants.append(
                        Constant(col[1], f'NOT "{col[1]}"', col[1], False)
                    )
                continue
            if not isinstance(part, ast.A_Expr):
                continue
            op = (_names_of(part.name) or [""])[-1]
            kind = part.kind
            left: Any = part.lexpr
            right: Any = part.rexpr
            col = self.column(left)
            if col is None and kind == A_Expr_Kind.AEXPR_OP and self.column(right):
                left, right = right, left
                col = self.column(left)
                op = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            func = None if col else self.function_of_column(left)
            if kind == A_Expr_Kind.AEXPR_IN and col and _is_value(right):
                self.use(col[0]).equality.append(col[1])
            elif kind in (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE):
                number = _param_number(right)
                found, literal = _const_value(right)
                pattern = literal if found and isinstance(literal, str) else None
                if func:
                    self.use(func[1]).likes.append((func[0], func[2], number, pattern))
                elif col:
                    self.use(col[0]).likes.append(("", col[1], number, pattern))
            elif kind in (A_Expr_Kind.AEXPR_BETWEEN, A_Expr_Kind.AEXPR_NOT_BETWEEN) and col:
                self.use(col[0]).ranges.append(col[1])
            elif kind == A_Expr_Kind.AEXPR_OP and _is_value(right):
                if func and op == "=":
                    self.use(func[1]).expressions.append((func[0], func[2]))
                elif col and op == "=":
                    use = self.use(col[0])
                    found, value = _const_value(right)
                    if found and isinstance(value, bool):
                        use.constants.append(Constant(col[1], f'"{col[1]}"', col[1], value))
                    else:
                        use.equality.append(col[1])
                elif col and op in ("<", ">", "<=", ">="):
                    self.use(col[0]).ranges.append(col[1])

    def order(self, sort_clause: Any) -> None:
        from pglast.enums import SortByDir

        for item in sort_clause or ():
            col = self.column(item.node)
            if col:
                self.use(col[0]).order.append((col[1], item.sortby_dir == SortByDir.SORTBY_DESC))


def _names_of(names: Any) -> list[str]:
    return [getattr(n, "sval", "") for n in names or ()]


def _conjuncts(node: Any) -> list[Any]:
    from pglast import ast

    if isinstance(node, ast.BoolExpr) and node.boolop == 0:  # AND
        parts: list[Any] = []
        args: Any = node.args
        for arg in args:
            parts += _conjuncts(arg)
        return parts
    return [node]


def shape_of(sql: str) -> Shape | None:
    """The shape of one statement (``%s`` or ``$n`` placeholders), or None when it cannot be
    parsed or is not a single SELECT / INSERT / UPDATE / DELETE."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    text = to_dollar_params(sql) if "%s" in sql or "%%" in sql else sql
    try:
        statements = parse_sql(text)
    except ParseError:
        return None
    if len(statements) != 1:
        return None
    stmt: Any = statements[0].stmt
    reader = _Reader()
    kind = type(stmt).__name__
    if isinstance(stmt, ast.SelectStmt):
        if stmt.op != 0:  # UNION / INTERSECT / EXCEPT: read the first branch
            stmt = stmt.larg
        for rel in stmt.fromClause or ():
            reader.add_relation(rel)
        if stmt.whereClause is not None:
            reader.predicate(stmt.whereClause)
        reader.order(stmt.sortClause)
        return Shape(kind, reader.tables)
    if isinstance(stmt, (ast.UpdateStmt, ast.DeleteStmt)):
        reader.add_relation(stmt.relation)
        for rel in getattr(stmt, "fromClause", None) or getattr(stmt, "usingClause", None) or ():
            reader.add_relation(rel)
        if stmt.whereClause is not None:
            reader.predicate(stmt.whereClause)
        relation: Any = stmt.relation
        return Shape(kind, reader.tables, writes=[str(relation.relname)])
    if isinstance(stmt, ast.InsertStmt):
        inserted: Any = stmt.relation
        return Shape(kind, {}, writes=[str(inserted.relname)])
    return None
