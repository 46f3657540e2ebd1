"""The run's total, counted on a thread of its own while the first batches run.

A run starts by recording how many rows its queryset matches (``BackfillRun.rows_total``, for
the progress bar, the admin and ``status``). Counting reads every matching row, up to
``BACKFILL_EXACT_COUNT_LIMIT`` of them (1,000,000, tens of milliseconds to seconds) before the
first batch could start. Where progress is measured along an integer key rather than in rows
(:class:`~headroom.backfill.keys.IntegerRangePlanner`), nothing waits for that number, so on
PostgreSQL the runner starts with the planner's estimate and counts on a second connection
meanwhile.

The count is exact as of the start: its transaction is ``REPEATABLE READ`` and takes its
snapshot before the runner is let go to run its first batch, so no batch's rows are missing
from it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import connections, transaction

from headroom.backfill.models import BackfillRun

log = logging.getLogger("headroom.backfill")

#: How long the runner waits for the count's snapshot before it starts anyway (the count is
#: then dropped, and the run keeps the planner's estimate).
SNAPSHOT_WAIT_SECONDS = 5.0


class BackgroundCount:
    """Counts ``queryset`` for run ``run_id`` on a thread; :meth:`start` returns once the
    count's snapshot is taken, :meth:`join` once the run row has the total."""

    def __init__(self, queryset: Any, using: str, run_id: int) -> None:
        self.queryset = queryset
        self.using = using
        self.run_id = run_id
        self.total: int | None = None
        self._snapshot = threading.Event()
        self._late = threading.Event()
        self._thread = threading.Thread(
            target=self._count, name=f"headroom-backfill-count-{run_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        if not self._snapshot.wait(SNAPSHOT_WAIT_SECONDS):
            # Batches are about to commit: a count from a later snapshot would miss their rows.
            self._late.set()

    def finished(self) -> bool:
        return self._thread.ident is not None and not self._thread.is_alive()

    def join(self) -> int | None:
        """Wait for the count; the total, or None if it failed."""
        self._thread.join()
        return self.total

    def _count(self) -> None:
        try:
            with transaction.atomic(using=self.using):
                with connections[self.using].cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                    cursor.execute("SELECT 1")  # takes the transaction's snapshot
                self._snapshot.set()
                total = self.queryset.using(self.using).count()
            if self._late.is_set():
                return
            BackfillRun.objects.using(self.using).filter(pk=self.run_id).update(rows_total=total)
            self.total = total
        except Exception:  # the total is for display: the run keeps the planner's estimate
            log.warning("counting the rows of run #%s failed", self.run_id, exc_info=True)
        finally:
            self._snapshot.set()
            connections[self.using].close()
