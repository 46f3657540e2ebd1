"""Tidy a batch's pages right after it commits, so the site's reads do not have to.

On PostgreSQL an ``UPDATE`` leaves the old version of every row it changed in place, marked
deleted by the batch's transaction. Once that transaction has committed, the next backend to
read one of those heap pages prunes it (removes the dead versions, a WAL record) and sets
the hint bits of the versions it checks; a read that finds the old version through the index
marks that index entry dead. Without this module, that backend is the site's: right behind
the backfill, its reads of the rows just changed do that work and write that WAL, and when
the batches keep the WAL buffers full that WAL write waits its turn. In the benchmark
(docs/backfill.md, "Tidying after each batch"; a pgbench reader and writer beside the
batches on a 2-core machine), tidying took the reader's p95 behind the inline backfill from
2.09x to 1.16x its idle value (1.60x to 1.13x on a tuned server) at 0.99x and 1.03x the
rows/s of one set-based ``UPDATE``. It is on unless ``BACKFILL_TIDY`` is False.

The tidy step is one read of the batch's rows in its own short transaction, on a thread and
connection of its own that overlaps the next batch: the inline runner's, or on Celery the
coordinator's, as it collects each finished batch (the batch's notification wakes it as the
batch commits), so that the worker is free for its next batch at once. It holds no row lock.

- Where the table is stored in key order (its statistics give the key a correlation of 0.9
  or more with the rows' order, as for a table filled by an ascending key), the old
  versions lie in the blocks between the batch's first and last row, which the runner reads
  before the batch changes them (:meth:`Tidier.locate`: two one-row reads through the
  index). The tidy read is then a TID range scan of those blocks alone: 6-7 ms a
  batch against 16-17 ms through the index, measured on the benchmark's 100,000-row batches.
- Otherwise (no such statistics, the rows span more than about twice the blocks they fill,
  or PostgreSQL is older than 14) it is a bitmap scan of the range through the key's index
  (index scans off, so that each heap page is visited once rather than once per row;
  sequential and parallel scans off). Where the plan would not be one, tidying is off for
  the rest of the run (one read would mean a scan of the whole table).

It is off on databases other than PostgreSQL (MySQL's purge threads and SQLite's in-place
updates leave nothing of the kind). A failing tidy step (its statement timed out, say) is
reported and does not stop the run: the site's reads then do the pruning, as without it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.db import connections, transaction
from django.db.models.expressions import RawSQL

from headroom.backfill.database import _ms

if TYPE_CHECKING:
    from headroom.backfill.keys import Planner, Range

#: The first and last heap block of a batch's rows, before it ran.
Blocks = tuple[int, int]
#: The key's correlation with the rows' physical order above which a batch's rows are taken
#: to lie between its first and last row's blocks.
IN_ORDER = 0.9
#: Above any line pointer a heap page holds (MaxHeapTuplesPerPage is 291 with 8 kB pages).
MAX_OFFSET = 32767


def _block(tid: str) -> int:
    """The block number of a tuple id such as ``(12,3)``."""
    return int(tid.strip("()").split(",")[0])


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
        self._checked: set[str] = set()
        self._blocks_off = False
        self._rows_per_block: float | None = None
        self.seconds = 0.0
        self.batches = 0
        #: Of those batches, how many were tidied by their blocks (a TID range scan).
        self.by_blocks = 0
        if connections[using].vendor != "postgresql":
            self.off = "not PostgreSQL"
        elif not hasattr(planner, "span"):
            self.off = "the batches are not key ranges of a table"
        #: The batches' table (keyset planners have a model; others are off above).
        model = getattr(planner, "model", None)
        self.table: str = model._meta.db_table if model is not None else ""

    def _settings(self, cursor: Any) -> None:
        names = [*SETTINGS, ("statement_timeout", _ms(self.statement_timeout))]
        cursor.execute(
            "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in names),
            [value for pair in names for value in pair],
        )

    def _plan_uses(self, node: str, sql: str, params: Any, cursor: Any) -> bool:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        return node in plan and "Seq Scan" not in plan

    def locate(self, r: Range) -> Blocks | None:
        """Before the batch of ``r`` runs: the heap blocks of its first and last row (two
        reads of one row each through the key's index). Where the table is stored in key
        order, the old versions the batch leaves lie in that block range, and the tidy step
        reads those blocks alone (a TID range scan) rather than the range through the index.
        None when unknown (tidying off, a table not in key order, an empty range, or a
        failure: the tidy step then reads through the index)."""
        if self.off is not None or self._blocks_off:
            return None
        try:
            if not self._in_key_order():
                return None
            span = self.planner.span(r)  # type: ignore[union-attr]
            fields = self.planner.fields
            table = connections[self.using].ops.quote_name(self.table)
            tid = span.annotate(_tid=RawSQL(f"{table}.ctid::text", ()))
            tid = tid.values_list("_tid", flat=True)
            first = tid.order_by(*fields).first()
            last = tid.order_by(*(f"-{f}" for f in fields)).first()
        except Exception:  # an aid to the tidy step, which reads through the index without it
            return None
        if first is None or last is None:
            return None
        return (_block(first), _block(last))

    def _in_key_order(self) -> bool:
        """Whether the table's statistics say its rows are stored in the order of the key's
        first column (``pg_stats.correlation`` of at least :data:`IN_ORDER`), and so how
        many rows a block holds (``pg_class``); looked up once, before the first batch. A
        table never analyzed has no statistics and is taken as unordered."""
        if self._rows_per_block is None:
            field = self.planner.model._meta.get_field(self.planner.fields[0])  # type: ignore[union-attr]
            with connections[self.using].cursor() as cursor:
                cursor.execute(
                    "SELECT c.reltuples / greatest(c.relpages, 1), s.correlation "
                    "FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema() "
                    "AND s.tablename = %s AND s.attname = %s WHERE c.oid = %s::regclass",
                    [self.table, field.column, connections[self.using].ops.quote_name(self.table)],
                )
                row = cursor.fetchone()
            per_block, correlation = row if row else (0.0, None)
            ordered = correlation is not None and abs(correlation) >= IN_ORDER
            # 0: blocks are not to be used (unordered, or never analyzed: reltuples is -1).
            self._rows_per_block = max(0.0, float(per_block)) if ordered else 0.0
        return self._rows_per_block > 0

    def _statement(self, r: Range, blocks: Blocks | None) -> tuple[str, Any, str]:
        """The tidy read of ``r``, its parameters, and the plan node it must use."""
        if blocks is not None and self._blocks_fit(r, blocks):
            table = connections[self.using].ops.quote_name(self.table)
            sql = f"SELECT count(*) FROM {table} WHERE ctid >= %s::tid AND ctid <= %s::tid"
            low, high = min(blocks), max(blocks)
            return sql, [f"({low},0)", f"({high},{MAX_OFFSET})"], "Tid Range Scan"
        span = self.planner.span(r)  # type: ignore[union-attr]
        sql, params = span.values("pk").query.get_compiler(self.using).as_sql()
        return f"SELECT count(*) FROM ({sql}) tidy", params, "Bitmap Index Scan"

    def _blocks_fit(self, r: Range, blocks: Blocks) -> bool:
        """Whether ``blocks`` are about as many as ``r``'s rows fill (the table is in key
        order there); otherwise the range's rows are scattered and the index is the way.
        (``blocks`` come from :meth:`locate`, which read the table's figures first.)"""
        if not self._rows_per_block:
            return False
        rows = r.rows if r.rows is not None else r.size
        return abs(blocks[1] - blocks[0]) + 1 <= 2 * rows / self._rows_per_block + 2

    def after_batch(self, r: Range, blocks: Blocks | None = None) -> str | None:
        """Tidy ``r`` (a committed batch's range; ``blocks``: what :meth:`locate` found before
        it ran). Returns a message when it could not: the first time tidying is switched off
        for the run, or when this one step failed."""
        if self.off is not None:
            return None
        began = time.monotonic()
        try:
            sql, params, node = self._statement(r, blocks)
            with transaction.atomic(using=self.using), connections[self.using].cursor() as cursor:
                self._settings(cursor)
                if node == "Tid Range Scan" and node not in self._checked:
                    self._checked.add(node)
                    if not self._plan_uses(node, sql, params, cursor):
                        self._blocks_off = True  # (before PostgreSQL 14)
                        sql, params, node = self._statement(r, None)
                if node not in self._checked:
                    self._checked.add(node)
                    if not self._plan_uses(node, sql, params, cursor):
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
        self.by_blocks += node == "Tid Range Scan"
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
        self._ranges: queue.Queue[tuple[Range, Blocks | None] | None] = queue.Queue(maxsize=lag)
        self._messages: list[str] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if self.off is None:
            self._thread = threading.Thread(target=self._work, name="headroom-tidy", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        try:
            while True:
                item = self._ranges.get()
                if item is None:
                    return
                message = self.tidier.after_batch(*item)
                if message:
                    with self._lock:
                        self._messages.append(message)
        finally:
            connections[self.tidier.using].close()

    def locate(self, r: Range) -> Blocks | None:
        """:meth:`Tidier.locate`, on the caller's connection, before the batch of ``r``."""
        return self.tidier.locate(r) if self._thread is not None else None

    def after_batch(self, r: Range, blocks: Blocks | None = None) -> str | None:
        """Queue ``r`` for tidying; return what the thread had to say since the last call."""
        if self._thread is not None and self.tidier.off is None:
            self._ranges.put((r, blocks))
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
