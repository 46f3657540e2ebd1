"""``BACKFILL_PRIORITY`` (PostgreSQL with the prioritize extension): the server process that
runs the batches is reniced, and work that is not a batch never runs on it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections

from headroom.backfill.database import close_lowered, lower_priority
from headroom.backfill.options import RunOptions
from headroom.backfill.runner import InlineRunner
from tests import services
from tests.backfill.app.backfills import FillValues
from tests.backfill.conftest import Events, fill_counters, hits

pytestmark = pytest.mark.django_db(databases=["default", "postgres"], transaction=True)

RUNS_LOW = "batches run at nice 19 on the database server (prioritize)"


def priority_of(using: str, pid: int | None = None) -> Any:
    """The nice value of server process ``pid`` (default: ``using``'s own); None when no
    such process is connected."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT get_backend_priority(pid) FROM pg_stat_activity WHERE pid = "
            + ("%s" if pid else "pg_backend_pid()"),
            [pid] if pid else [],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def prioritize(using: str) -> None:
    with connections[using].cursor() as cursor:
        services.require_extension(cursor, "prioritize", "postgresql-15-prioritize")


def _fill_values(postgres: str, **options: Any) -> Events:
    backfill = FillValues()
    backfill.database = postgres
    events = Events()
    run = InlineRunner(
        backfill,
        RunOptions.build(backfill, batch_size=1000, max_batch_size=1000, **options),
        events,
    ).execute()
    assert (run.state, run.rows_done) == ("succeeded", 5000)
    assert hits(postgres) == {1: 5000}
    return events


def test_inline_batches_run_on_a_reniced_backend(postgres: str) -> None:
    fill_counters(postgres, 5000)
    prioritize(postgres)
    assert priority_of(postgres) == 0
    events = _fill_values(postgres, priority=19)
    assert RUNS_LOW in events.lines
    # The runner's connection is this thread's: its backend now runs at nice 19, and cannot
    # be raised back; closing it is the way back to the server's priority.
    assert priority_of(postgres) == 19
    assert close_lowered() == [postgres]
    assert priority_of(postgres) == 0
    assert close_lowered() == []


def test_without_the_extension_the_run_says_so_and_goes_on(postgres: str) -> None:
    fill_counters(postgres, 5000)
    prioritize(postgres)
    with connections[postgres].cursor() as cursor:
        cursor.execute("DROP EXTENSION prioritize")
    try:
        events = _fill_values(postgres, priority=19)
        assert lower_priority(postgres, 19) is False
    finally:
        close_lowered()
        prioritize(postgres)
    assert RUNS_LOW not in events.lines
    assert any("no prioritize extension" in line for line in events.lines), events.lines
    assert priority_of(postgres) == 0


def test_no_priority_asked_leaves_the_backend_alone(postgres: str) -> None:
    fill_counters(postgres, 5000)
    prioritize(postgres)
    events = _fill_values(postgres)
    assert not any("prioritize" in line for line in events.lines)
    assert priority_of(postgres) == 0
