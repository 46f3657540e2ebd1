"""Tidying a batch's pages after it commits (PostgreSQL): the tidy step reads a committed
batch's key range so that its old row versions are pruned by the backfill rather than by the
site's next reads."""

from __future__ import annotations

import pytest
from django.db import connections

from headroom.backfill.keys import Range, planner_for
from headroom.backfill.models import BackfillBatch, BackfillRun
from headroom.backfill.options import RunOptions
from headroom.backfill.runner import InlineRunner
from headroom.backfill.tidy import Tidier
from headroom.backfill.worker import process_batch
from tests.backfill.app.backfills import FillValues
from tests.backfill.conftest import fill_counters, hits, pruning_reads


def _fill_values(postgres: str, tidy: bool) -> InlineRunner:
    """FillValues over the table's 20,000 rows inline, in batches of 5,000; the runner."""
    backfill = FillValues()
    backfill.database = postgres
    options = RunOptions.build(backfill, tidy=tidy, batch_size=5000, max_batch_size=5000)
    runner = InlineRunner(backfill, options)
    run = runner.execute()
    assert (run.state, run.rows_done) == ("succeeded", 20_000)
    return runner


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
@pytest.mark.parametrize("tidy", [True, False], ids=["tidy", "no-tidy"])
def test_tidying_leaves_no_pruning_to_the_next_reader(postgres: str, tidy: bool) -> None:
    fill_counters(postgres, 20_000)
    with connections[postgres].cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) backfilltests_counter")
    runner = _fill_values(postgres, tidy)
    # One read in each of a few pages of the table's first batch: without the tidy step the
    # reader prunes each page it is the first to visit (a WAL record); with it, nothing is
    # left to prune.
    records = pruning_reads(postgres)
    if tidy:
        assert records == 0
        # The table is in key order: each batch was tidied by its blocks alone.
        assert runner.tidier is not None
        assert (runner.tidier.tidier.batches, runner.tidier.tidier.by_blocks) == (4, 4)
    else:
        assert records >= 3
    assert hits(postgres) == {1: 20_000}  # (a whole-table read: it prunes every page)


@pytest.mark.django_db(databases=["default", "postgres"], transaction=True)
def test_rows_out_of_key_order_are_tidied_through_the_index(postgres: str) -> None:
    with connections[postgres].cursor() as cursor:
        # Stored in random order: a batch's first and last rows say nothing of where the
        # rows between them are.
        cursor.execute(
            "INSERT INTO backfilltests_counter (id, value, hits) "
            "SELECT g, NULL, 0 FROM generate_series(1, 20000) g ORDER BY random()"
        )
        cursor.execute("VACUUM (ANALYZE) backfilltests_counter")
    runner = _fill_values(postgres, tidy=True)
    assert pruning_reads(postgres) == 0
    assert runner.tidier is not None
    assert (runner.tidier.tidier.batches, runner.tidier.tidier.by_blocks) == (4, 0)
    assert hits(postgres) == {1: 20_000}


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
def test_a_batch_task_leaves_tidying_to_its_coordinator(postgres: str) -> None:
    # An option "tidy" sent by an earlier coordinator is ignored: the coordinator tidies
    # (tests/backfill/test_celery.py), so the worker is free for its next batch at once.
    fill_counters(postgres, 6000)
    with connections[postgres].cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) backfilltests_counter")
    run = BackfillRun.objects.using(postgres).create(
        name="backfilltests.FillValues", executor="celery", state="running"
    )
    batch = BackfillBatch.objects.using(postgres).create(
        run=run, seq=1, start_key=[0], end_key=[5000], size=5000
    )
    outcome = process_batch(postgres, run.pk, batch.pk, 1, options={"tidy": True})
    assert "done: 5000 rows" in outcome
    assert pruning_reads(postgres) >= 3


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
    assert pruning_reads(postgres) == 0
    assert hits(postgres) == {1: 6000}
