"""Estimated rows per table, read from the database's statistics (no COUNT(*))."""

from __future__ import annotations

from django.db import connections

_POSTGRES = """
SELECT c.relname, c.reltuples::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (current_schemas(false))
"""
_MYSQL = """
SELECT table_name, table_rows FROM information_schema.tables
WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'
"""


def table_rows(alias: str, cap: int = 1_000_001) -> dict[str, int]:
    """Table name -> estimated rows for the tables of ``alias``.

    PostgreSQL: ``pg_class.reltuples``; a table never analysed is counted, up to ``cap``.
    MySQL/MariaDB: ``information_schema.tables.table_rows``. SQLite keeps no estimate, so
    every table is counted; SQLite databases are small enough for that.
    """
    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES)
            estimated: dict[str, int] = {}
            for name, rows in cursor.fetchall():
                if rows < 0:
                    # Never analysed (small or brand new tables): count, but stop early.
                    quoted = connection.ops.quote_name(name)
                    cursor.execute(
                        f"SELECT count(*) FROM (SELECT 1 FROM {quoted} LIMIT %s) t", [cap]
                    )
                    rows = cursor.fetchone()[0]
                estimated[name] = int(rows)
            return estimated
        if connection.vendor == "mysql":
            cursor.execute(_MYSQL)
            return {name: int(rows or 0) for name, rows in cursor.fetchall()}
        found: dict[str, int] = {}
        for name in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(name)}")
            found[name] = int(cursor.fetchone()[0])
        return found
