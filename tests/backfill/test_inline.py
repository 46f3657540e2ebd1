"""The inline runner over real tables: every row exactly once, keyset and range batches."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from headroom.backfill import run_backfill
from headroom.backfill.models import BackfillRun
from tests.backfill.conftest import Events, fill_counters, hits

pytestmark = pytest.mark.django_db(databases=["default", "postgres", "mariadb"], transaction=True)


def test_100000_rows_each_processed_exactly_once(alias: str) -> None:
    fill_counters(alias, 100_000)
    with override_settings(HEADROOM={"BACKFILL_MAX_TRANSACTION_SECONDS": None}):
        run = run_backfill("backfilltests.CountEveryRow", database=alias)
    assert run.state == "succeeded"
    assert hits(alias) == {1: 100_000}
    assert run.rows_done == 100_000
    # 1,000 keys first, then at most eightfold per batch: at least 4 batches.
    assert run.batches_done >= 4
    assert run.percent == 100.0


def test_text_keys_walk_in_keyset_batches(alias: str) -> None:
    from tests.backfill.app.models import Coded

    Coded.objects.using(alias).bulk_create(Coded(code=f"C{n:05d}") for n in range(3000))
    events = Events()
    run = run_backfill("backfilltests.FillCoded", database=alias, batch_size=250, reporter=events)
    assert "keyset batches over code" in events.lines[0]
    assert run.state == "succeeded" and run.rows_done == 3000
    assert set(Coded.objects.using(alias).values_list("label", "hits").distinct()) == {
        ("filled", 1)
    }


def test_a_composite_key_is_compared_as_a_row_value(alias: str) -> None:
    from django.db import connections

    from tests.backfill.app.models import Entry

    Entry.objects.using(alias).bulk_create(
        Entry(tenant=t, seq=s) for t in range(1, 31) for s in range(1, 101)
    )
    events = Events()
    with CaptureQueriesContext(connections[alias]) as queries:
        run = run_backfill(
            "backfilltests.FillEntries", database=alias, batch_size=70, reporter=events
        )
    assert "keyset batches over tenant, seq" in events.lines[0]
    assert run.state == "succeeded" and run.rows_done == 3000
    assert set(Entry.objects.using(alias).values_list("hits", flat=True)) == {1}
    if connections[alias].vendor == "postgresql":
        updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
        assert any(
            '("backfilltests_entry"."tenant", "backfilltests_entry"."seq") >' in s for s in updates
        )
    assert not any(" OFFSET " in q["sql"] for q in queries)


def test_a_narrowing_update_matches_nothing_afterwards(alias: str) -> None:
    from tests.backfill.app.models import Counter

    fill_counters(alias, 10_000)
    Counter.objects.using(alias).filter(id__lte=4000).update(value=-1)  # already done
    run = run_backfill("backfilltests.FillValues", database=alias)
    assert run.state == "succeeded"
    assert run.rows_done == 6000
    assert not Counter.objects.using(alias).filter(value__isnull=True).exists()
    assert Counter.objects.using(alias).get(id=9999).value == 19998
    assert hits(alias) == {0: 4000, 1: 6000}


def _counted(queries: CaptureQueriesContext) -> bool:
    return any(
        "COUNT(" in q["sql"].upper() and "backfilltests_counter" in q["sql"]
        for q in queries.captured_queries
    )


def test_a_large_table_is_estimated_by_the_planner_not_counted(postgres: str) -> None:
    from django.db import connections

    fill_counters(postgres, 5000)
    with connections[postgres].cursor() as cursor:
        cursor.execute("ANALYZE backfilltests_counter")
    settings = {"BACKFILL_MAX_TRANSACTION_SECONDS": None, "BACKFILL_EXACT_COUNT_LIMIT": 1000}
    with (
        override_settings(HEADROOM=settings),
        CaptureQueriesContext(connections[postgres]) as queries,
    ):
        run = run_backfill("backfilltests.CountEveryRow", database=postgres, max_batches=1)
    assert not _counted(queries)
    assert any(q["sql"].startswith("EXPLAIN (FORMAT JSON)") for q in queries.captured_queries)
    # After ANALYZE the planner knows the table's size.
    assert run.rows_total is not None and 4500 <= run.rows_total <= 5500


def test_a_table_under_the_limit_is_counted(alias: str) -> None:
    from django.db import connections

    fill_counters(alias, 5000)
    settings = {"BACKFILL_MAX_TRANSACTION_SECONDS": None, "BACKFILL_EXACT_COUNT_LIMIT": 10_000}
    with override_settings(HEADROOM=settings), CaptureQueriesContext(connections[alias]) as queries:
        run = run_backfill("backfilltests.CountEveryRow", database=alias, max_batches=1)
    if connections[alias].vendor == "postgresql":
        # Counted on a connection of its own while the first batch ran...
        assert not _counted(queries)
    else:
        assert _counted(queries)
    # ...and exact as of the start: the 1,000 rows the first batch did are in it.
    assert run.rows_done == 1000
    assert run.rows_total == 5000
    assert BackfillRun.objects.using(alias).get(pk=run.pk).rows_total == 5000


def test_a_process_that_returns_nothing_has_its_rows_counted(alias: str) -> None:
    from typing import Any

    from django.db.models import F, Q, QuerySet

    from headroom.backfill import Backfill
    from tests.backfill.app.models import Counter

    class MarkOdd(Backfill):
        """Touches the rows with an odd id; returns nothing."""

        name = "backfilltests.MarkOdd"
        queryset = Counter.objects.filter(Q(hits=0) & Q(id__in=range(1, 5001, 2)))

        def process(self, batch: QuerySet[Any]) -> None:
            batch.update(hits=F("hits") + 1)

    fill_counters(alias, 5000)
    backfill = MarkOdd()
    backfill.database = alias
    run = run_backfill(backfill, batch_size=1000, max_batch_size=1000)
    assert run.state == "succeeded"
    assert hits(alias) == {1: 2500, 0: 2500}
    # Counted before each batch ran: after it, the narrowing queryset matches none of them.
    assert run.rows_done == 2500
