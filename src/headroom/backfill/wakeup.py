"""Waking a run's Celery coordinator when something happens (PostgreSQL ``LISTEN/NOTIFY``).

The coordinator learns that a batch finished by reading the ``BackfillBatch`` rows. Polling
them often enough to hand out the next batch promptly costs the database a few queries
every few milliseconds, for the whole length of the run, on the primary. On PostgreSQL the
coordinator listens on the run's channel instead: each batch task sends a notification in
the transaction that records it done or failed (delivered when it commits), and so do
``pause`` and ``cancel``. Between notifications the coordinator waits on its connection's
socket, and it still looks on its own at least every :data:`LISTEN_SECONDS` (health
checks, lost tasks, the rate cap).

Elsewhere (SQLite, MySQL, a driver other than psycopg 3.2 or later) it polls as before, and
so it does for the rest of a run whose listening connection was lost, or where finished
batches keep arriving unannounced (see :data:`MISSED_NOTIFICATIONS`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections

log = logging.getLogger("headroom.backfill")

#: While listening, the coordinator still looks at least this often.
LISTEN_SECONDS = 0.5
#: A coordinator that finds this many times in a row, at a look it woke up for on its own,
#: that a batch finished without a notification polls from then on: the channel does not
#: work on its connection (a pooler in transaction mode accepts LISTEN but delivers nothing).
MISSED_NOTIFICATIONS = 2


def channel(run_id: int) -> str:
    return f"headroom_backfill_{run_id}"


def notify(using: str, run_id: int, payload: str = "") -> None:
    """Wake run ``run_id``'s coordinator, if it listens; on PostgreSQL only. Inside a
    transaction the notification is sent when it commits, and dropped if it rolls back."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [channel(run_id), payload])


class Listener:
    """A connection of its own, listening on one run's channel."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        #: The connection failed (the server restarted, the backend was terminated): the
        #: caller polls from then on.
        self.broken = False

    @classmethod
    def open(cls, using: str, run_id: int) -> Listener | None:
        """Listen on run ``run_id``'s channel; None where that is not possible (not
        PostgreSQL, or not psycopg 3.2+), and the caller polls."""
        connection: Any = connections[using]
        if connection.vendor != "postgresql":
            return None
        # The driver's own connection, outside Django's (and any pool's) bookkeeping.
        raw = connection.Database.connect(**connection.get_connection_params())
        if not callable(getattr(raw, "notifies", None)):  # psycopg2 (a list there)
            raw.close()
            return None
        try:
            raw.autocommit = True
            raw.execute(f'LISTEN "{channel(run_id)}"')
            list(raw.notifies(timeout=0))  # psycopg 3.1's notifies() takes no timeout
        except Exception:
            log.debug("not listening for run #%s; polling instead", run_id, exc_info=True)
            raw.close()
            return None
        return cls(raw)

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for a notification; True if one (or more) arrived. Every
        notification that arrived is consumed: one look at the batches answers them all."""
        try:
            return bool(list(self.raw.notifies(timeout=max(0.0, seconds), stop_after=1)))
        except Exception:
            log.warning("stopped listening for batches (connection lost); polling instead")
            self.broken = True
            self.close()
            return False

    def close(self) -> None:
        self.raw.close()
