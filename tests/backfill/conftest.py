"""Fixtures of the backfill tests: tables filled fast, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from django.db import connections

from tests import services
from tests.backfill.processes import Worker


class Events:
    """A reporter that keeps what the runner said, and may act on it (``on_event``)."""

    def __init__(self, on_event: Callable[[str], object] | None = None) -> None:
        self.lines: list[str] = []
        self.on_event = on_event

    def update(self, run: object) -> None:
        pass

    def event(self, text: str) -> None:
        self.lines.append(text)
        if self.on_event:
            self.on_event(text)


def fill_counters(using: str, rows: int, *, value: int | None = None) -> None:
    """``rows`` Counter rows with ids 1..rows, in one statement."""
    sql_value = "NULL" if value is None else str(int(value))
    with connections[using].cursor() as cursor:
        if connections[using].vendor == "postgresql":
            cursor.execute(
                "INSERT INTO backfilltests_counter (id, value, hits) "
                f"SELECT g, {sql_value}, 0 FROM generate_series(1, %s) g",
                [rows],
            )
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('backfilltests_counter', 'id'), %s)", [rows]
            )
        else:
            numbers = (
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < %s) "
            )
            insert = "INSERT INTO backfilltests_counter (id, value, hits) "
            select = f"SELECT n, {sql_value}, 0 FROM g"
            # SQLite takes the WITH before the INSERT, MySQL and MariaDB after it.
            if connections[using].vendor == "mysql":
                # (MariaDB stops a recursion at 1,000 rows unless told otherwise.)
                cursor.execute("SET SESSION max_recursive_iterations = %s", [rows + 1])
                cursor.execute(insert + numbers + select, [rows])
            else:
                cursor.execute(numbers + insert + select, [rows])


def pruning_reads(using: str, keys: tuple[int, ...] = (10, 1000, 2000, 3000, 4000)) -> int:
    """WAL records that primary-key reads of ``keys`` write: a read that is the first to
    visit a page holding a committed batch's old row versions prunes it (one record).

    First waits (up to 10 s) for any other session of the database holding a snapshot to
    let go of it: while one does, old row versions are not yet dead and nothing is pruned.
    """
    from tests.backfill.processes import wait_for

    def holders() -> list[tuple[int, str, str]]:
        with connections[using].cursor() as cursor:
            cursor.execute(
                "SELECT pid, application_name, state FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_xmin IS NOT NULL"
            )
            return list(cursor.fetchall())

    wait_for(lambda: not holders(), timeout=10, what=f"no other snapshot ({holders()})")
    records = 0
    with connections[using].cursor() as cursor:
        for key in keys:
            cursor.execute(
                "EXPLAIN (ANALYZE, WAL, FORMAT JSON) "
                "SELECT * FROM backfilltests_counter WHERE id = %s",
                [key],
            )
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            records += int(plan[0]["Plan"].get("WAL Records", 0))
    return records


def hits(using: str) -> dict[int, int]:
    """How many rows were processed how many times: {1: 100000} is exactly once."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT hits, count(*) FROM backfilltests_counter GROUP BY hits")
        return {int(h): int(n) for h, n in cursor.fetchall()}


@pytest.fixture(params=["default", "postgres", "mariadb"], ids=["sqlite", "postgresql", "mariadb"])
def alias(request: pytest.FixtureRequest) -> str:
    """Each test runs on SQLite, PostgreSQL and MariaDB (Django's MySQL backend)."""
    if request.param == "postgres":
        services.require("postgresql")
    if request.param == "mariadb":
        return str(request.getfixturevalue("mariadb"))  # the server, and a MySQL driver
    return str(request.param)


Filler = Callable[..., None]


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Celery workers a test starts; stopped after it."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()
