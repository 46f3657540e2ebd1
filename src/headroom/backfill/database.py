"""What a batch asks of the database: a write slot of its run, time limits, and telling a
time-out from a bug."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connections

if TYPE_CHECKING:
    from headroom.backfill.options import RunOptions

#: SQLSTATEs of a PostgreSQL batch that ran out of time: lock_timeout, statement_timeout.
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"


def write_lock(using: str) -> None:
    """On SQLite, take the database's write lock now, as a transaction's first statement.

    SQLite has no row locks (``select_for_update`` does nothing there), and a transaction
    that reads first and writes later fails at once with "database is locked" when another
    connection is writing meanwhile (a runner committing a batch): SQLite cannot let it
    wait there without a deadlock. A write as the first statement waits its turn instead,
    up to the connection's busy timeout. Elsewhere this does nothing: ``select_for_update``
    locks the rows.
    """
    connection = connections[using]
    if connection.vendor == "sqlite":
        from headroom.backfill.models import BackfillRun

        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {BackfillRun._meta.db_table} SET id = id WHERE 0")


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


#: The first key of the advisory locks of :func:`take_slot` (``pg_advisory_xact_lock(int4,
#: int4)``): "HRBF", headroom backfill. The two-int4 key space does not overlap the bigint one.
SLOT_LOCK_CLASS = 0x48524246
#: A run's slots are keys ``(run_id % RUN_KEYS) * SLOTS_PER_RUN + slot``: every key fits an
#: int4, and two runs share keys only when their ids differ by a multiple of RUN_KEYS (they
#: would then write one batch at a time between them, never more than asked).
SLOTS_PER_RUN = 65536
RUN_KEYS = 32768


def slot_key(run_id: int, slot: int) -> int:
    """The second advisory-lock key of slot ``slot`` of run ``run_id``."""
    return (run_id % RUN_KEYS) * SLOTS_PER_RUN + slot % SLOTS_PER_RUN


def take_slot(using: str, run_id: int, batch_id: int, slots: int) -> int | None:
    """Take one of the ``slots`` write slots of run ``run_id`` (PostgreSQL only), waiting as
    long as it takes; return its number, or None on other databases.

    Call it first in the batch's transaction: the slot is a transaction-level advisory lock,
    released when the transaction commits or rolls back (a killed worker's connection drops
    and frees it). It takes no row lock and assigns no transaction id, so a batch waiting here
    holds nothing the site or other batches wait on (only its waiting statement's snapshot, as
    any running statement has one). The wait runs with no lock_timeout and no
    statement_timeout (both ``SET LOCAL``); :func:`limit_batch`, called right after, sets the
    batch's own. With more than one slot, each is tried without waiting first; when all are
    taken the batch waits for slot ``batch_id % slots``.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    slots = max(1, min(int(slots), SLOTS_PER_RUN))
    with connection.cursor() as cursor:
        if slots > 1:
            for slot in range(slots):
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)",
                    [SLOT_LOCK_CLASS, slot_key(run_id, slot)],
                )
                row = cursor.fetchone()
                if row and row[0]:
                    return slot
        slot = batch_id % slots
        cursor.execute(
            "SELECT set_config('lock_timeout', '0', true), "
            "set_config('statement_timeout', '0', true)"
        )
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [SLOT_LOCK_CLASS, slot_key(run_id, slot)]
        )
    return slot


def limit_batch(using: str, options: RunOptions) -> None:
    """:func:`set_batch_timeouts` with a run's options, and on SQLite :func:`write_lock`:
    call it first in a batch's transaction (on a Celery worker, right after
    :func:`take_slot`)."""
    write_lock(using)
    set_batch_timeouts(
        using, options.lock_timeout, options.statement_timeout, options.synchronous_commit
    )


def backend_pid(using: str) -> int | None:
    """The server process of ``using``'s open connection (PostgreSQL; None elsewhere, or
    with no connection open). Read from the driver, without a query."""
    connection = connections[using]
    raw = connection.connection
    if connection.vendor != "postgresql" or raw is None:
        return None
    info = getattr(raw, "info", None)  # psycopg 3
    if info is not None:
        return int(info.backend_pid)
    return int(raw.get_backend_pid())  # psycopg2


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
