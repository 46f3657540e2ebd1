"""Which database defaults PostgreSQL has to compute row by row (and so rewrites the table)."""

from __future__ import annotations

import re
from typing import Any

#: Functions PostgreSQL marks VOLATILE that people use as column defaults. now(),
#: statement_timestamp() and current_timestamp are STABLE: one value for the statement.
VOLATILE_FUNCTIONS = frozenset(
    {
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuidv4",
        "uuidv7",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "txid_current",
    }
)
_SQL_CALL = re.compile(r"([a-z_][a-z0-9_]*)\s*\(", re.IGNORECASE)


def volatile_in_sql(sql: str) -> str | None:
    for name in _SQL_CALL.findall(sql):
        if name.lower() in VOLATILE_FUNCTIONS:
            return f"{name.lower()}()"
    return None


def volatile_default(expression: Any) -> str | None:
    """The volatile function a ``db_default`` expression calls, if any."""
    if expression is None or not hasattr(expression, "get_source_expressions"):
        return None
    if type(expression).__name__ == "Random":
        return "random()"
    function = getattr(expression, "function", None)
    if isinstance(function, str) and function.lower() in VOLATILE_FUNCTIONS:
        return f"{function.lower()}()"
    sql = getattr(expression, "sql", None)
    if isinstance(sql, str):
        found = volatile_in_sql(sql)
        if found:
            return found
    for source in expression.get_source_expressions():
        found = volatile_default(source)
        if found:
            return found
    return None
