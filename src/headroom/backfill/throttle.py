"""Database health: the reasons a backfill waits before its next batch.

Out of the box on PostgreSQL, like gh-ost's ``--max-lag-millis`` and ``--max-load``:

- replica replay lag: ``pg_stat_replication.replay_lag`` on the primary, and the replay delay
  of each alias in ``HEADROOM["BACKFILL_REPLICAS"]``;
- busy server: more than ``BACKFILL_MAX_ACTIVE_BACKENDS`` other backends running a statement;
- a long transaction in the same database (older than ``BACKFILL_MAX_TRANSACTION_SECONDS``):
  it holds back vacuum, so every row version the batches replace stays on disk until it ends;

plus ``HEADROOM["BACKFILL_THROTTLE"]`` (a function of the alias) and the backfill's own
``throttle()`` method. Each returns a sentence saying why, or None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connections
from django.utils.module_loading import import_string

from headroom.conf import conf

if TYPE_CHECKING:
    from headroom.backfill.base import Backfill


def _one(using: str, sql: str, params: list[Any] | None = None) -> Any:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()


def replica_lag(using: str) -> str | None:
    limit = conf.BACKFILL_MAX_REPLICA_LAG
    if limit is None:
        return None
    if connections[using].vendor == "postgresql":
        row = _one(
            using,
            "SELECT application_name, extract(epoch FROM replay_lag) FROM pg_stat_replication "
            "WHERE replay_lag IS NOT NULL ORDER BY replay_lag DESC LIMIT 1",
        )
        if row and row[1] is not None and float(row[1]) > limit:
            return (
                f"replica {row[0] or '(unnamed)'} replays {float(row[1]):.1f} s behind "
                f"(limit {limit:g} s)"
            )
    for alias in conf.BACKFILL_REPLICAS:
        if connections[alias].vendor != "postgresql":
            continue
        # Behind: WAL received and not replayed, for as long as no transaction was replayed.
        # A standby that has replayed none since it started has no replay timestamp (NULL):
        # it counts from its start, else a standby restarted while stuck never looks behind.
        row = _one(
            alias,
            "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
            "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
            "ELSE extract(epoch FROM now() - coalesce(pg_last_xact_replay_timestamp(), "
            "pg_postmaster_start_time())) END",
        )
        if row and row[0] is not None and float(row[0]) > limit:
            return f"replica {alias!r} replays {float(row[0]):.1f} s behind (limit {limit:g} s)"
    return None


def active_backends(using: str) -> str | None:
    limit = conf.BACKFILL_MAX_ACTIVE_BACKENDS
    if limit is None or connections[using].vendor != "postgresql":
        return None
    row = _one(
        using,
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    active = int(row[0]) if row else 0
    if active > limit:
        return f"{active} other backends are running statements (limit {limit})"
    return None


def long_transaction(using: str) -> str | None:
    limit = conf.BACKFILL_MAX_TRANSACTION_SECONDS
    if limit is None or connections[using].vendor != "postgresql":
        return None
    row = _one(
        using,
        "SELECT pid, extract(epoch FROM now() - xact_start), state, left(query, 80) "
        "FROM pg_stat_activity WHERE xact_start IS NOT NULL AND datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
        "ORDER BY xact_start LIMIT 1",
    )
    if row and row[1] is not None and float(row[1]) > limit:
        query = " ".join(str(row[3] or "").split())
        return (
            f"a transaction has been open {float(row[1]):.0f} s (pid {row[0]}, {row[2]}: "
            f"{query!r}; limit {limit:g} s); it holds back vacuum"
        )
    return None


def user_hook(using: str) -> str | None:
    path = conf.BACKFILL_THROTTLE
    if not path:
        return None
    reason = import_string(path)(using)
    return str(reason) if reason else None


CHECKS = (user_hook, replica_lag, long_transaction, active_backends)


def why_wait(using: str, backfill: Backfill | None = None) -> str | None:
    """The first reason to wait now, or None when the database is healthy."""
    if backfill is not None:
        reason = backfill.throttle()
        if reason:
            return str(reason)
    for check in CHECKS:
        reason = check(using)
        if reason:
            return reason
    return None
