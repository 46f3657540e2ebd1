"""Tidying a batch's pages after it commits (PostgreSQL): the tidy step reads a committed
batch's key range so that its old row versions are pruned by the backfill rather than by the
site's next reads."""

from __future__ import annotations

import json

import pytest
from django.db import connections

from headroom.backfill.keys import Range, planner_for
from headroom.backfill.models import BackfillBatch, BackfillRun
from headroom.backfill.options import RunOptions
from headroom.backfill.runner import InlineRunner
from headroom.backfill.tidy import Tidier
from headroom.backfill.worker import process_batch
from tests.backfill.app.backfills import FillValues
from tests.backfill.conftest import fill_counters, hits


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
    options = RunOptions.build(backfill, tidy=tidy, batch_size=5000, max_batch_size=5000)
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


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
@pytest.mark.parametrize("tidy", [True, False], ids=["tidy", "no-tidy"])
def test_a_batch_task_tidies_when_its_options_say_so(postgres: str, tidy: bool) -> None:
    fill_counters(postgres, 6000)
    with connections[postgres].cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) backfilltests_counter")
    run = BackfillRun.objects.using(postgres).create(
        name="backfilltests.FillValues", executor="celery", state="running"
    )
    batch = BackfillBatch.objects.using(postgres).create(
        run=run, seq=1, start_key=[0], end_key=[5000], size=5000
    )
    outcome = process_batch(postgres, run.pk, batch.pk, 1, options={"tidy": tidy})
    assert "done: 5000 rows" in outcome
    records = sum(_reader_wal_records(postgres, key) for key in (10, 1000, 2000, 3000, 4000))
    assert records == 0 if tidy else records >= 3


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_the_tidy_flag_of_the_command_line(
    postgres: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from headroom.cli import main

    fill_counters(postgres, 6000)
    with connections[postgres].cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) backfilltests_counter")
    argv = ["backfill", "run", "backfilltests.FillValues", "--database", postgres, "--quiet"]
    argv += ["--batch-size", "5000", "--max-batch-size", "5000", "--tidy"]
    assert main(argv, django_ready=True) == 0, capsys.readouterr()
    assert sum(_reader_wal_records(postgres, key) for key in (10, 1000, 2000, 3000, 4000)) == 0
    assert hits(postgres) == {1: 6000}
