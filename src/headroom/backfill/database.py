"""What a batch asks of the database: time limits, and telling a time-out from a bug."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connections

if TYPE_CHECKING:
    from headroom.backfill.options import RunOptions

#: SQLSTATEs of a PostgreSQL batch that ran out of time: lock_timeout, statement_timeout.
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"


def set_batch_timeouts(
    using: str,
    lock_timeout: float | None,
    statement_timeout: float | None,
    synchronous_commit: str | None = None,
) -> None:
    """Limit the current transaction's lock waits and statements (PostgreSQL only), and set
    its ``synchronous_commit`` when asked.

    ``set_config(..., true)`` is ``SET LOCAL``: the settings end with the batch's transaction
    and never leak into the connection's later work.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    sql = "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)"
    params = [_ms(lock_timeout), _ms(statement_timeout)]
    if synchronous_commit:
        sql += ", set_config('synchronous_commit', %s, true)"
        params.append(synchronous_commit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def limit_batch(using: str, options: RunOptions) -> None:
    """:func:`set_batch_timeouts` with a run's options: call it first in a batch's
    transaction."""
    set_batch_timeouts(
        using, options.lock_timeout, options.statement_timeout, options.synchronous_commit
    )


def _ms(seconds: float | None) -> str:
    return "0" if not seconds else f"{max(1, round(seconds * 1000))}ms"


def timeout_kind(exc: BaseException) -> str | None:
    """ "lock_timeout" or "statement_timeout" when ``exc`` is one of them, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if state == LOCK_NOT_AVAILABLE:
            return "lock_timeout"
        if state == QUERY_CANCELED:
            return "statement_timeout"
        current = current.__cause__ or current.__context__
    return None
