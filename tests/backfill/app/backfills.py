"""The backfills of the tests; defined in ``backfills.py``, so they register themselves."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.db import connections
from django.db.models import F, QuerySet

from headroom.backfill import Backfill, CsvBackfill, Param
from tests.backfill.app.models import Coded, Counter, Entry, Observed, Price, WriteWindow


def _hold_if_asked(batch: QuerySet[Any]) -> None:
    """Stop inside a batch, once its rows are changed, when the test asks for it.

    ``HEADROOM_TEST_HOLD_DIR`` names a directory; when its file ``hold`` exists, the batch
    writes ``inside`` (the test then knows a batch is in flight) and waits for ``hold`` to go.
    """
    folder = os.environ.get("HEADROOM_TEST_HOLD_DIR")
    if not folder:
        return
    hold = Path(folder) / "hold"
    if hold.exists():
        (Path(folder) / "inside").write_text(str(os.getpid()))
        while hold.exists():
            time.sleep(0.05)


def _fail_if_asked(batch: QuerySet[Any]) -> None:
    """Fail a batch holding the row whose id is in the file ``poison`` of
    ``HEADROOM_TEST_HOLD_DIR``, while that file exists (the cause a test then fixes)."""
    folder = os.environ.get("HEADROOM_TEST_HOLD_DIR")
    poison = Path(folder) / "poison" if folder else None
    if poison is not None and poison.exists():
        bad = int(poison.read_text())
        if batch.filter(pk=bad).exists():
            raise ValueError(f"row {bad} is poisoned")


class CountEveryRow(Backfill):
    """Adds one to every row's hits: a row processed twice shows 2."""

    queryset = Counter.objects.all()

    def process(self, batch: QuerySet[Any]) -> int:
        _fail_if_asked(batch)
        changed = batch.update(hits=F("hits") + 1)
        _hold_if_asked(batch)
        delay = float(os.environ.get("HEADROOM_TEST_BATCH_DELAY", "0"))
        if delay:
            time.sleep(delay)
        return changed


class MarkWriteWindows(Backfill):
    """Adds one to every row's hits, holds its writes for ``pause`` seconds (``pg_sleep``,
    in the database) and records its write window (a ``WriteWindow``): batches that wrote at
    the same time have overlapping windows."""

    queryset = Counter.objects.all()
    pause = Param(float, default=0.0, help="seconds each batch holds its writes")

    def process(self, batch: QuerySet[Any]) -> int:
        with connections[batch.db].cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            (started,) = cursor.fetchone()
            changed = batch.update(hits=F("hits") + 1)
            cursor.execute("SELECT pg_sleep(%s)", [self.pause])
            cursor.execute(
                f"INSERT INTO {WriteWindow._meta.db_table} (backend, started, ended) "
                "VALUES (pg_backend_pid(), %s, clock_timestamp())",
                [started],
            )
        return changed


class CountBehindGate(Backfill):
    """Adds one to every row's hits, then waits for a shared hold of advisory lock ``gate``:
    while another session holds it, each batch stalls after writing its rows, as on a disk
    that stopped."""

    queryset = Counter.objects.all()
    gate = Param(int, help="the advisory lock key each batch waits for")

    def process(self, batch: QuerySet[Any]) -> int:
        changed = batch.update(hits=F("hits") + 1)
        with connections[batch.db].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [self.gate])
        return changed


class FillValues(Backfill):
    """Sets value = 2 * id where it is missing."""

    queryset = Counter.objects.filter(value__isnull=True)
    update = {"value": F("id") * 2, "hits": F("hits") + 1}


class FillCoded(Backfill):
    queryset = Coded.objects.filter(label="")

    def process(self, batch: QuerySet[Any]) -> None:
        batch.update(label="filled", hits=F("hits") + 1)


class FillEntries(Backfill):
    queryset = Entry.objects.all()
    update = {"hits": F("hits") + 1}


class FillFrom(Backfill):
    """Sets value = hits + offset for ids from ``first`` on."""

    first = Param(int, help="the first id to fill")
    offset = Param(int, default=100)

    def get_queryset(self) -> QuerySet[Any]:
        return Counter.objects.filter(id__gte=self.first, value__isnull=True)

    def process(self, batch: QuerySet[Any]) -> int:
        return batch.update(value=F("hits") + self.offset)


class SetScale(Backfill):
    """Sets value = scale where it is missing (every parameter has a default)."""

    queryset = Counter.objects.filter(value__isnull=True)
    scale = Param(int, default=1)

    def process(self, batch: QuerySet[Any]) -> int:
        return batch.update(value=self.scale, hits=F("hits") + 1)


class ImportPrices(CsvBackfill):
    """Prices from a CSV file (sku,cents)."""

    def process(self, rows: list[dict[str, str]]) -> int:  # type: ignore[override]
        prices = Price.objects.using(self.database_alias())
        for row in rows:
            prices.filter(sku=row["sku"]).update(cents=int(row["cents"]))
        return len(rows)


class RecordBatchSettings(Backfill):
    """Writes into each row the lock_timeout, statement_timeout and synchronous_commit its
    batch's transaction ran with (PostgreSQL), wherever the batch ran."""

    queryset = Observed.objects.filter(synchronous_commit="")

    def process(self, batch: QuerySet[Any]) -> int:
        with connections[batch.db].cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'), "
                "current_setting('synchronous_commit')"
            )
            lock, statement, commit = cursor.fetchone()
        return batch.update(
            lock_timeout=lock,
            statement_timeout=statement,
            synchronous_commit=commit,
            hits=F("hits") + 1,
        )
