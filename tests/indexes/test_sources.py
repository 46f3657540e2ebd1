"""The workload sources besides the probe, fed by the real PostgreSQL: statements run through
Django are read back from ``pg_stat_statements`` and from the server's own slow-query log,
and the advisor proves the missing indexes from them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from headroom.indexes import advise, workload
from tests import services
from tests.indexes.ticketapp.models import Ticket

pytestmark = [pytest.mark.services, pytest.mark.django_db(databases=["default", "postgres"])]


def run_lookups(alias: str) -> None:
    """What the views of the generated workload run: values bound by Django, as in production."""
    tickets = Ticket.objects.using(alias)
    for n in (17, 4242, 99_001):
        assert len(list(tickets.filter(number=n))) == 1
    for status, since in (
        ("open", "2024-05-25T00:00:00+00:00"),
        ("new", "2024-05-20T00:00:00+00:00"),
    ):
        list(tickets.filter(status=status, created_at__gte=since))
    tickets.filter(pk=5).update(priority=4)


def require_preloaded(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW shared_preload_libraries")
        preload = cursor.fetchone()[0]
    if "pg_stat_statements" not in preload:
        reason = (
            "pg_stat_statements is not in shared_preload_libraries (.ci/run sets it and "
            "restarts PostgreSQL)"
        )
        if services.services_required():
            pytest.fail(f"{reason}; HEADROOM_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(reason)


def test_pg_stat_statements_feeds_the_advisor(tickets: str) -> None:
    require_preloaded(tickets)
    with connections[tickets].cursor() as cursor:
        cursor.execute("DROP EXTENSION IF EXISTS pg_stat_statements")
    missing = workload.from_pg_stat_statements(tickets)
    assert not missing.queries
    (note,) = missing.notes
    assert "CREATE EXTENSION pg_stat_statements" in note
    with connections[tickets].cursor() as cursor:  # the transaction is still usable
        cursor.execute("CREATE EXTENSION pg_stat_statements")
        # Forget this database's statements so far (the fill, the migrations).
        cursor.execute(
            "SELECT pg_stat_statements_reset(0, "
            "(SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
        )
    run_lookups(tickets)

    work = workload.from_pg_stat_statements(tickets)

    by_sql = {q.sql: q for q in work.queries}
    (number,) = [q for sql, q in by_sql.items() if '"number" = $1' in sql]
    assert number.calls == 3 and number.generic and number.samples == []
    assert number.sources == {"pg_stat_statements"} and number.total_ms > 0
    (since,) = [q for sql, q in by_sql.items() if '"created_at" >= $1' in sql]
    assert since.calls == 2
    assert work.writes[(tickets, "ticketapp_ticket")] == 1  # the UPDATE, one call

    report = advise(work, tickets)
    assert report.method == "hypopg"
    advised = {a.candidate.describe(): a for a in report.advice}
    # Normalized statements are planned generically: "created_at >= $1" gets the planner's
    # default range selectivity (a third of the rows), so (status, created_at) cannot be
    # proven from pg_stat_statements alone; the probe's or the log's values prove it.
    assert set(advised) == {"ticketapp_ticket (number)"}
    for advice in advised.values():
        (gain,) = advice.gains
        assert gain.query.sources == {"pg_stat_statements"}
        assert gain.after.cost <= gain.before.cost / 2  # the generic plan, costed by hypopg


def server_log(alias: str) -> Path:
    """Where this server writes its log: ``pg_current_logfile()`` with the logging collector,
    else Debian's ``/var/log/postgresql/postgresql-<version>-<cluster>.log`` (pg_ctlcluster
    sends the server's stderr there)."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_current_logfile(), current_setting('data_directory')")
        current, data_directory = cursor.fetchone()
        cursor.execute("SHOW cluster_name")
        cluster = str(cursor.fetchone()[0])
    if current:
        return Path(data_directory) / current
    return Path("/var/log/postgresql") / f"postgresql-{cluster.replace('/', '-')}.log"


@pytest.fixture
def logged(tickets: str, tmp_path: Path) -> Iterator[Any]:
    """Run the lookups with every statement logged; yields this database's new log lines
    (the server's log holds every database's, interleaved), as a file."""
    log = server_log(tickets)
    if not os.access(log, os.R_OK):
        pytest.skip(
            f"the server's log {log} is not readable here; test_slow_log_parser.py covers "
            "the parser with lines captured from it"
        )
    database = connections[tickets].settings_dict["NAME"]
    with log.open("rb") as handle:
        handle.seek(0, 2)
        start = handle.tell()
    with connections[tickets].cursor() as cursor:
        cursor.execute("SET log_min_duration_statement = 0")
    try:
        run_lookups(tickets)
        import psycopg

        owned = "SELECT COUNT(*) FROM ticketapp_ticket WHERE deleted_at IS NULL AND owner_code = %s"
        params = connections[tickets].get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        # A driver binding values on the server: "execute <unnamed>: ... $1" and a detail line.
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("SET log_min_duration_statement = 0")
            for owner in ("owner7", "owner1234"):
                other.execute(owned, [owner])
    finally:
        with connections[tickets].cursor() as cursor:
            cursor.execute("SET log_min_duration_statement = -1")
    with log.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode("utf-8", "replace")
    mine: list[str] = []
    keep = False
    for line in text.splitlines():
        if line.startswith(("\t", " ")):
            if keep:
                mine.append(line)  # a multi-line statement's next line
            continue
        keep = f"@{database} " in line
        if keep:
            mine.append(line)
    path = tmp_path / "postgresql.log"
    path.write_text("\n".join(mine) + "\n")
    yield path


def test_the_servers_slow_query_log_feeds_the_advisor(tickets: str, logged: Path) -> None:
    work = workload.from_slow_log(logged, tickets)

    by_sql = {q.sql: q for q in work.queries}
    (number,) = [q for sql, q in by_sql.items() if "number = $1" in sql]
    assert number.calls == 3 and number.samples == [[17], [4242], [99_001]]
    assert number.sources == {"slow_log"}
    (since,) = [q for sql, q in by_sql.items() if "created_at >= " in sql]
    assert since.calls == 2
    assert set(since.samples[0]) == {"open", "2024-05-25 00:00:00+00:00"}  # as Django sent it
    (owned,) = [q for sql, q in by_sql.items() if "owner_code = $1" in sql]
    assert owned.samples == [["owner7"], ["owner1234"]]  # from the parameters: lines
    assert work.writes[(tickets, "ticketapp_ticket")] == 1

    report = advise(work, tickets)
    advised = {a.candidate.describe(): a for a in report.advice}
    assert "ticketapp_ticket (number)" in advised
    assert "ticketapp_ticket (status, created_at)" in advised
    gains = [g for a in report.advice for g in a.gains]
    assert all(g.query.sources == {"slow_log"} for g in gains)
    assert all(g.after.cost <= g.before.cost / 2 for g in gains)
