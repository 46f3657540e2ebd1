"""SQLite and MySQL/MariaDB settings.

SQLite serves several web workers well only in WAL mode (readers do not wait for the one
writer), with ``synchronous=NORMAL`` (safe under WAL, and no fsync per commit), a busy
timeout long enough for a writer to wait its turn, and ``transaction_mode = "IMMEDIATE"``
(Django 5.1+), so a transaction that will write takes the lock up front instead of failing
with "database is locked" when it upgrades.

MySQL/MariaDB: the InnoDB buffer pool against the data it caches (what MySQLTuner checks
first), the slow query log at the latency budget, and max_connections against demand.
"""

from __future__ import annotations

from typing import Any

from headroom.dbconfig.findings import Audit, Recommendation
from headroom.dbconfig.host import Demand, format_size

GB = 1 << 30


def _pragma(cursor: Any, name: str) -> Any:
    cursor.execute(f"PRAGMA {name}")
    row = cursor.fetchone()
    return row[0] if row else None


def audit_sqlite(alias: str, audit: Audit, demand: Demand) -> None:
    from django.conf import settings
    from django.db import connections

    connection = connections[alias]
    databases: dict[str, Any] = settings.DATABASES
    options: dict[str, Any] = databases[alias].get("OPTIONS") or {}
    with connection.cursor() as cursor:
        journal = str(_pragma(cursor, "journal_mode")).lower()
        synchronous = int(_pragma(cursor, "synchronous"))
        busy = int(_pragma(cursor, "busy_timeout"))
    audit.facts.update(
        journal_mode=journal,
        synchronous=synchronous,
        busy_timeout_ms=busy,
        processes=demand.web_servers * demand.workers,
    )
    if demand.web_servers * demand.workers * demand.threads <= 1:
        return  # one worker: nothing waits on anything
    target = f"DATABASES[{alias!r}]['OPTIONS']"

    def add(setting: str, current: str, recommended: str, why: str, fix: str) -> None:
        audit.recommendations.append(
            Recommendation(alias, "SQLite", "sqlite", setting, current, recommended, why, fix)
        )

    init = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    if journal != "wal":
        add(
            "journal_mode",
            journal,
            "wal",
            f"{demand.workers} worker processes share one file: in {journal} mode a writer "
            "blocks every reader",
            f"{target}['init_command'] = {init!r}",
        )
    elif synchronous > 1:
        add(
            "synchronous",
            "FULL" if synchronous == 2 else str(synchronous),
            "NORMAL",
            "under WAL, NORMAL is still safe against corruption and skips an fsync per commit",
            f"{target}['init_command'] = {init!r}",
        )
    if busy < 5000:
        add(
            "busy_timeout",
            f"{busy} ms",
            "20000 ms",
            "a worker that finds the database locked waits this long before 'database is locked'",
            f"{target}['timeout'] = 20  # seconds",
        )
    if str(options.get("transaction_mode", "")).upper() != "IMMEDIATE":
        add(
            "transaction_mode",
            str(options.get("transaction_mode") or "DEFERRED"),
            "IMMEDIATE",
            "a DEFERRED transaction that reads, then writes, cannot wait for the lock and "
            "fails with 'database is locked'",
            f"{target}['transaction_mode'] = 'IMMEDIATE'",
        )


def _variables(cursor: Any) -> dict[str, str]:
    cursor.execute("SHOW GLOBAL VARIABLES")
    return {str(k).lower(): str(v) for k, v in cursor.fetchall()}


def audit_mysql(alias: str, audit: Audit, demand: Demand, budget_ms: float) -> None:
    from django.db import connections

    connection = connections[alias]
    with connection.cursor() as cursor:
        found = _variables(cursor)
        cursor.execute(
            "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
            "WHERE engine = 'InnoDB' AND table_schema NOT IN "
            "('mysql', 'information_schema', 'performance_schema', 'sys')"
        )
        data = int(cursor.fetchone()[0])
    vendor = "MariaDB" if "mariadb" in found.get("version", "").lower() else "MySQL"
    persist = "SET GLOBAL" if vendor == "MariaDB" else "SET PERSIST"

    def add(
        category: str,
        name: str,
        current: str,
        recommended: str,
        why: str,
        *,
        value: str | None = None,
        config: str | None = None,
    ) -> None:
        """``value``: what SET takes (bytes for a size); ``config``: what my.cnf takes."""
        if value is None:
            plain = recommended.replace(".", "").isdigit()
            value = recommended if plain else f"'{recommended}'"
        fix = f"{persist} {name} = {value};"
        if vendor == "MariaDB":
            line = config or recommended
            fix += f"\n-- and in the server's config file, [mysqld]: {name} = {line}"
        audit.recommendations.append(
            Recommendation(alias, vendor, category, name, current, recommended, why, fix)
        )

    pool = int(found.get("innodb_buffer_pool_size", "0"))
    ram = audit.ram or 0
    audit.facts.update(innodb_data_bytes=data, innodb_buffer_pool_size=pool)
    ceiling = int(ram * 0.7) if ram else None
    wanted = max(int(data * 1.25), 128 << 20)
    if ceiling is not None:
        wanted = min(wanted, ceiling)
    wanted = -(-wanted // (1 << 20)) * (1 << 20)  # whole MB, as my.cnf writes it
    if pool < data and pool < wanted:
        add(
            "memory",
            "innodb_buffer_pool_size",
            format_size(pool),
            format_size(wanted),
            f"the InnoDB data and indexes take {format_size(data)} but the buffer pool holds "
            f"{format_size(pool)}: reads that miss it go to disk (at most 70% of the host's "
            "RAM)",
            value=str(wanted),
            config=f"{wanted >> 20}M",
        )
    long_query = float(found.get("long_query_time", "10"))
    if found.get("slow_query_log", "OFF").upper() not in ("ON", "1"):
        add(
            "observability",
            "slow_query_log",
            found.get("slow_query_log", "OFF"),
            "ON",
            "without it, no statement is ever recorded as slow",
        )
    if long_query * 1000 > budget_ms:
        add(
            "observability",
            "long_query_time",
            f"{long_query:g}",
            f"{budget_ms / 1000:g}",
            f"a fifth of the latency objective: a statement taking {budget_ms:.0f} ms is "
            "already worth seeing",
        )
    max_conn = int(found.get("max_connections", "151"))
    audit.facts.update(max_connections=max_conn, connection_demand=demand.total)
    if demand.total > max_conn:
        add(
            "connections",
            "max_connections",
            str(max_conn),
            str(demand.total + 10),
            f"the deployment can open {demand.explain()} connections: the rest fail with "
            "'Too many connections'",
        )
