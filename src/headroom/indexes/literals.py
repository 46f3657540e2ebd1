"""Literal values in a logged statement, turned back into parameters.

A slow-query log holds statements with their values written in (``WHERE status = 'paid'``).
:func:`parameterize` replaces each string or number literal in them by ``$n`` and returns the
values, so statements that differ only in their values group as one query, and the values
become its parameter samples. Booleans, NULLs and LIMIT / OFFSET counts stay as written:
they shape the plan (a partial index on ``is_active = true`` needs to see the ``true``).
"""

from __future__ import annotations

import re
from typing import Any


def parameterize(sql: str) -> tuple[str, list[Any]]:
    """``sql`` with its literals as ``$1, $2, ...`` (re-printed by pglast), and their values
    in order. A statement that cannot be parsed, or already has ``$n``, is returned as is."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError
    from pglast.stream import RawStream
    from pglast.visitors import Visitor

    if re.search(r"\$\d", sql):
        return sql, []
    try:
        tree = parse_sql(sql)
    except ParseError:
        return sql, []
    values: list[Any] = []

    class Literals(Visitor):
        def visit_A_Const(self, ancestors: Any, node: Any) -> Any:
            if ancestors.member in ("limitCount", "limitOffset"):
                return None
            value = node.val
            if node.isnull or value is None or hasattr(value, "boolval"):
                return None
            if hasattr(value, "sval"):
                values.append(value.sval)
            elif hasattr(value, "ival"):
                values.append(value.ival)
            elif hasattr(value, "fval"):
                values.append(float(value.fval))
            else:
                return None
            return ast.ParamRef(number=len(values))

    Literals()(tree)
    if not values:
        return sql, []
    return str(RawStream()(tree)), values
