"""Tidy a batch's pages right after it commits, so the site's reads do not have to.

On PostgreSQL an ``UPDATE`` leaves the old version of every row it changed in place, marked
deleted by the batch's transaction. Once that transaction has committed, the next backend to
read one of those heap pages prunes it (removes the dead versions, a WAL record) and sets
the hint bits of the versions it checks; a read that finds the old version through the index
marks that index entry dead. Without this module, that backend is the site's: right behind
the backfill, its reads of the rows just changed do that work and write that WAL, and when
the batches keep the WAL buffers full that WAL write waits its turn. Measured on a 2-core
machine (docs/backfill.md, "Tidying after each batch"): with a pgbench client reading random
rows and no other writer, its p95 went to 1.9-2.3x its idle value behind the batches and
stayed at 1.01-1.20x with tidying, as during one set-based ``UPDATE`` of the same rows (whose
old versions cannot be pruned before its single commit). With a pgbench reader and writer
beside the batches, it took the reader's p95 from 1.64x to 1.35x (2.18x to 1.37x on a tuned
server). It is off unless ``BACKFILL_TIDY`` asks for it: it keeps a second core of the
database server busy, and on Celery it cost 5-10% of the throughput in benchmark runs.

The tidy step is one read of the batch's key range in its own short transaction (inline, on
a thread and connection of its own, overlapping the next batch; on Celery, by the worker
after its batch commits): a bitmap scan (index scans off, so that each heap page is visited
once rather than once per row; sequential and parallel scans off) counting the rows. It
holds no row lock. It is skipped, for the rest of the run, when the plan would not be a
bitmap scan of an index on the key (then one read would mean a scan of the whole table),
and on databases other than
PostgreSQL (MySQL's purge threads and SQLite's in-place updates leave nothing of the kind).
A failing tidy step (its statement timed out, say) is reported and does not stop the run:
the site's reads then do the pruning, as without it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.db import connections, transaction

from headroom.backfill.database import _ms

if TYPE_CHECKING:
    from headroom.backfill.keys import Planner, Range

#: Planner settings of the tidy read (``SET LOCAL``): one bitmap scan of the key's index.
SETTINGS = (
    ("enable_seqscan", "off"),
    ("enable_indexscan", "off"),
    ("enable_indexonlyscan", "off"),
    ("max_parallel_workers_per_gather", "0"),
)


class Tidier:
    """Runs the tidy step after each committed batch of one run (see the module's text)."""

    def __init__(self, planner: Planner, using: str, statement_timeout: float | None) -> None:
        self.planner = planner
        self.using = using
        self.statement_timeout = statement_timeout
        #: Why tidying is off for this run (None: on, as far as known).
        self.off: str | None = None
        self._checked = False
        self.seconds = 0.0
        self.batches = 0
        if connections[using].vendor != "postgresql":
            self.off = "not PostgreSQL"
        elif not hasattr(planner, "span"):
            self.off = "the batches are not key ranges of a table"

    def _settings(self, cursor: Any) -> None:
        names = [*SETTINGS, ("statement_timeout", _ms(self.statement_timeout))]
        cursor.execute(
            "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in names),
            [value for pair in names for value in pair],
        )

    def _plan_is_bitmap(self, sql: str, params: Any, cursor: Any) -> bool:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        return "Bitmap Index Scan" in plan and "Seq Scan" not in plan

    def after_batch(self, r: Range) -> str | None:
        """Tidy ``r`` (a committed batch's range). Returns a message when it could not: the
        first time tidying is switched off for the run, or when this one step failed."""
        if self.off is not None:
            return None
        span = self.planner.span(r)  # type: ignore[union-attr]
        sql, params = span.values("pk").query.get_compiler(self.using).as_sql()
        sql = f"SELECT count(*) FROM ({sql}) tidy"
        began = time.monotonic()
        try:
            with transaction.atomic(using=self.using), connections[self.using].cursor() as cursor:
                self._settings(cursor)
                if not self._checked:
                    self._checked = True
                    if not self._plan_is_bitmap(sql, params, cursor):
                        self.off = (
                            "the key has no index a bitmap scan can use, so tidying a batch "
                            "would read the whole table"
                        )
                        return f"not tidying after batches: {self.off}"
                cursor.execute(sql, params)
                cursor.fetchone()
        except Exception as exc:  # a cleanup step: the site's reads do it otherwise
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"tidying after the batch failed ({text[:120]}); going on"
        self.seconds += time.monotonic() - began
        self.batches += 1
        return None


class BackgroundTidier:
    """A :class:`Tidier` on a thread of its own (and so its own connection): the inline
    runner hands it each committed batch's range and goes on with the next batch, so the
    tidy reads overlap the batches instead of adding to the run's time. At most ``lag``
    ranges wait; beyond that the runner waits for the thread (the tidying never falls far
    behind the batches)."""

    def __init__(
        self, planner: Planner, using: str, statement_timeout: float | None, lag: int = 2
    ) -> None:
        import queue
        import threading

        self.tidier = Tidier(planner, using, statement_timeout)
        self.off = self.tidier.off
        self._ranges: queue.Queue[Range | None] = queue.Queue(maxsize=lag)
        self._messages: list[str] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if self.off is None:
            self._thread = threading.Thread(target=self._work, name="headroom-tidy", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        try:
            while True:
                r = self._ranges.get()
                if r is None:
                    return
                message = self.tidier.after_batch(r)
                if message:
                    with self._lock:
                        self._messages.append(message)
        finally:
            connections[self.tidier.using].close()

    def after_batch(self, r: Range) -> str | None:
        """Queue ``r`` for tidying; return what the thread had to say since the last call."""
        if self._thread is not None and self.tidier.off is None:
            self._ranges.put(r)
        with self._lock:
            said, self._messages = self._messages, []
        return "; ".join(said) or None

    def close(self, timeout: float = 60.0) -> None:
        """Tidy what is queued, then stop the thread."""
        if self._thread is None:
            return
        self._ranges.put(None)
        self._thread.join(timeout)
        self._thread = None
