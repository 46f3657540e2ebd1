"""Batches and the WAL: the per-batch WAL cap, and tidying a batch's pages after it commits.

Both are PostgreSQL's: the cap keeps a batch's WAL within a share of ``wal_buffers``; the
tidy step reads a committed batch's key range so that its old row versions are pruned by
the backfill rather than by the site's next reads.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connections

from headroom.backfill.database import batch_wal_cap, wal_position, wal_since
from headroom.backfill.keys import Range, planner_for
from headroom.backfill.options import RunOptions
from headroom.backfill.runner import InlineRunner
from headroom.backfill.sizing import BatchSizer
from headroom.backfill.tidy import Tidier
from headroom.conf import ConfigError, build
from tests.backfill.app.backfills import FillValues
from tests.backfill.conftest import fill_counters, hits


def test_the_wal_cap_bounds_the_size_the_batch_time_asks_for() -> None:
    sizer = BatchSizer(target=0.5, size=1000, low=1, high=100_000, wal_cap=1_000_000)
    # 1000 keys in 0.01 s: the time alone would double the batch (to 2000), but 1000 keys
    # wrote 800 kB of WAL, so 1250 keys reach the 1 MB cap.
    sizer.observe(1000, 0.01, wal_bytes=800_000)
    assert sizer.size == 1250
    # Without WAL figures (or without a cap) only the time counts.
    free = BatchSizer(target=0.5, size=1000, low=1, high=100_000)
    free.observe(1000, 0.01, wal_bytes=800_000)
    assert free.size == 2000
    # The lower bound still holds when one key writes more than the cap.
    tiny = BatchSizer(target=0.5, size=100, low=50, high=100_000, wal_cap=1000)
    tiny.observe(100, 0.01, wal_bytes=1_000_000)
    assert tiny.size == 50


def test_the_wal_share_is_validated() -> None:
    with pytest.raises(ConfigError, match="BACKFILL_WAL_BUFFERS_SHARE"):
        build({"BACKFILL_WAL_BUFFERS_SHARE": 0})
    assert build({"BACKFILL_WAL_BUFFERS_SHARE": None}).BACKFILL_WAL_BUFFERS_SHARE is None


def test_no_wal_cap_off_postgresql() -> None:
    assert batch_wal_cap("default", 0.5) is None  # SQLite


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_the_wal_cap_is_a_share_of_the_servers_wal_buffers(postgres: str) -> None:
    with connections[postgres].cursor() as cursor:
        cursor.execute("SELECT pg_size_bytes(current_setting('wal_buffers'))")
        buffers = int(cursor.fetchone()[0])
    assert batch_wal_cap(postgres, 0.5) == buffers // 2
    assert batch_wal_cap(postgres, None) is None
    before = wal_position(postgres)
    with connections[postgres].cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE w (x int)")  # temporary: still some catalog WAL
        cursor.execute("SELECT pg_logical_emit_message(false, 'headroom-test', repeat('x', 5000))")
    assert (wal_since(postgres, before) or 0) >= 5000


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_a_small_wal_share_keeps_batches_small(postgres: str) -> None:
    fill_counters(postgres, 20_000)
    backfill = FillValues()
    backfill.database = postgres
    # Batches of 2 s at most by time, so the time alone would let them grow to the maximum;
    # a WAL cap of 2% of the WAL buffers (80 kB of the stock 4 MB) keeps them to a few
    # hundred rows.
    common: dict[str, Any] = {"target_batch_seconds": 2.0, "max_batch_size": 20_000}
    capped = InlineRunner(
        backfill, RunOptions.build(backfill, wal_buffers_share=0.02, **common)
    ).execute()
    assert (capped.state, capped.rows_done) == ("succeeded", 20_000)
    assert hits(postgres) == {1: 20_000}
    # About 200 bytes of WAL per row here: some 400 rows a batch.
    assert capped.batches_done >= 20
    assert capped.batch_size <= 1000

    with connections[postgres].cursor() as cursor:
        cursor.execute("UPDATE backfilltests_counter SET value = NULL, hits = 0")
        cursor.execute("DELETE FROM headroom_backfillrun")
    free = InlineRunner(
        backfill, RunOptions.build(backfill, wal_buffers_share=None, **common)
    ).execute()
    assert (free.state, free.rows_done) == ("succeeded", 20_000)
    assert free.batches_done <= 6  # 1000, 2000, 4000, 8000, then the rest


def _reader_wal_records(using: str, key: int) -> int:
    """WAL records a primary-key read of row ``key`` writes (pruning its page)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, WAL, FORMAT JSON) SELECT * FROM backfilltests_counter WHERE id = %s",
            [key],
        )
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"].get("WAL Records", 0))


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
@pytest.mark.parametrize("tidy", [True, False], ids=["tidy", "no-tidy"])
def test_tidying_leaves_no_pruning_to_the_next_reader(postgres: str, tidy: bool) -> None:
    fill_counters(postgres, 20_000)
    with connections[postgres].cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) backfilltests_counter")
    backfill = FillValues()
    backfill.database = postgres
    options = RunOptions.build(
        backfill, tidy=tidy, batch_size=5000, max_batch_size=5000, wal_buffers_share=None
    )
    run = InlineRunner(backfill, options).execute()
    assert (run.state, run.rows_done) == ("succeeded", 20_000)
    # One read in each of a few pages of the table's first batch: without the tidy step the
    # reader prunes each page it is the first to visit (a WAL record); with it, nothing is
    # left to prune.
    records = sum(_reader_wal_records(postgres, key) for key in (10, 1000, 2000, 3000, 4000))
    if tidy:
        assert records == 0
    else:
        assert records >= 3
    assert hits(postgres) == {1: 20_000}  # (a whole-table read: it prunes every page)


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_tidying_turns_itself_off_without_an_index_on_the_key(postgres: str) -> None:
    fill_counters(postgres, 100)
    backfill = FillValues()
    backfill.database = postgres
    planner = planner_for(backfill, postgres)
    planner.fields = ["value"]  # no index on it: one tidy read would scan the whole table
    planner._field_objs = [planner.model._meta.get_field("value")]  # type: ignore[union-attr]
    tidier = Tidier(planner, postgres, 5.0)
    message = tidier.after_batch(Range([0], [10], 10))
    assert message is not None and "whole table" in message
    assert tidier.off is not None
    assert tidier.after_batch(Range([10], [20], 10)) is None  # said once, then quiet


def test_tidying_is_postgresql_only() -> None:
    backfill = FillValues()
    backfill.database = "default"
    tidier = Tidier(planner_for(backfill, "default"), "default", 5.0)
    assert tidier.off == "not PostgreSQL"
