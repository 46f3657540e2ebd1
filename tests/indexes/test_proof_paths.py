"""Proof paths besides hypopg's btree: a trigram GIN index for ``icontains`` (built in a
rolled-back transaction, since hypopg cannot simulate GIN), index scans summed across the
replicas ``DATABASES`` lists, and MySQL/MariaDB, where nothing can be proven."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connections

from headroom.indexes import advise, inventory, workload
from headroom.indexes.inventory import replicas_of
from headroom.indexes.workload import Query, Workload
from tests.indexes.conftest import capture
from tests.indexes.ticketapp.models import Ticket

pytestmark = pytest.mark.services


@pytest.fixture
def db_access(django_db_blocker: Any) -> Iterator[None]:
    """Database access outside Django's test case (the tickets are committed by the module's
    fixture): the replica tests add an alias while they run, which a TestCase refuses."""
    with django_db_blocker.unblock():
        yield


@pytest.mark.django_db(databases=["default", "postgres"])
def test_icontains_gets_a_trigram_gin_index_proven_by_a_rolled_back_build(
    tickets: str, tmp_path: Path
) -> None:
    with connections[tickets].cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        assert cursor.fetchone(), "pg_trgm comes with PostgreSQL 15 (Debian postgresql-15)"
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    searches = [("/tickets/search/", {"q": q}) for q in ("user12345@", "user777@", "ser4242@ex")]
    work = workload.from_records(workload.read_spool(capture(tmp_path, searches)))

    # hypopg has no GIN: without --allow-build there is nothing to prove it with.
    assert advise(work, tickets).advice == []

    report = advise(work, tickets, allow_build=True)
    (trigram,) = report.advice
    assert trigram.candidate.describe() == (
        "ticketapp_ticket USING gin (UPPER(email) gin_trgm_ops)"
    )
    assert trigram.django.expression.startswith(
        "GinIndex(OpClass(Upper('email'), name='gin_trgm_ops'), name="
    )
    (gain,) = trigram.gains
    assert gain.query.routes == {"/tickets/search/": 3}
    assert all(s[0].startswith("%") for s in gain.query.samples)  # LIKE '%...%'
    assert "ticketapp_ticket" in gain.before.full_scans
    (used,) = gain.after.indexes_used
    assert used.startswith("headroom_candidate_")  # really built, then rolled back
    assert any("Bitmap Index Scan" in line for line in gain.after.plan), gain.after.plan
    assert gain.after.cost <= gain.before.cost / 2
    with connections[tickets].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE starts_with(indexname, %s)",
            ["headroom_candidate"],
        )
        assert cursor.fetchone()[0] == 0


@pytest.fixture
def extra_alias(tickets: str, db_access: None) -> Iterator[Any]:
    """Add a database alias for the length of a test."""
    databases = connections.settings
    # The connection handler reads settings.DATABASES itself (the same dict, defaults added).
    assert databases is django_settings.DATABASES
    added: list[str] = []

    def add(name: str, **changes: Any) -> str:
        databases[name] = {**connections[tickets].settings_dict, **changes}
        added.append(name)
        return name

    try:
        yield add
    finally:
        for name in added:
            connections[name].close()
            del connections[name]
            del databases[name]


@pytest.fixture
def replica_database(tickets: str, db_access: None) -> Iterator[tuple[str, str]]:
    """A second database on the same server standing in for a hot standby: the same table
    and the same index name, whose statistics count its own scans (as a standby's do).
    Yields (database name, the index a replica read uses)."""
    unused = [
        p
        for p in inventory(tickets).problems
        if p.kind == "unused" and p.field == "reference" and not p.index.endswith("_like")
    ]
    (reference,) = unused  # unused on the primary alone
    name = f"{connections[tickets].settings_dict['NAME']}_replica"
    params = connections[tickets].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    admin = {**params, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{name}"')
        server.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(**{**params, "dbname": name}, autocommit=True) as replica:
            replica.execute("CREATE TABLE ticketapp_ticket (id int, reference varchar(30))")
            replica.execute(f'CREATE INDEX "{reference.index}" ON ticketapp_ticket (reference)')
            replica.execute("INSERT INTO ticketapp_ticket VALUES (1, 'REF-1')")
            replica.execute("SET enable_seqscan = off")
            replica.execute("SELECT id FROM ticketapp_ticket WHERE reference = 'REF-1'")
            replica.execute("SELECT pg_stat_force_next_flush()")
        yield name, reference.index
    finally:
        with psycopg.connect(**admin, autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_an_index_read_only_on_a_replica_is_not_unused(
    tickets: str, extra_alias: Any, replica_database: tuple[str, str]
) -> None:
    name, reference = replica_database
    test = {**connections[tickets].settings_dict["TEST"], "MIRROR": tickets}
    replica = extra_alias("replica", NAME=name, TEST=test)
    assert replicas_of(tickets) == [replica]  # TEST["MIRROR"] marks it

    stock = inventory(tickets)

    assert stock.counted_on == [tickets, replica]
    unused = {p.index: p for p in stock.problems if p.kind == "unused"}
    assert reference not in unused  # scanned on the replica
    # Django's LIKE index beside it: no scan on either.
    (like,) = [p for p in unused.values() if p.field == "reference"]
    assert like.index.endswith("_like")
    assert like.reason.endswith(f"on {tickets!r} or any replica")


def test_an_unreadable_replica_means_no_index_is_called_unused(
    tickets: str, extra_alias: Any
) -> None:
    # The same database NAME on another host:port counts as a replica without TEST["MIRROR"].
    replica = extra_alias("replica", PORT="1")
    assert replicas_of(tickets) == [replica]

    stock = inventory(tickets)

    assert stock.counted_on == [tickets]
    assert not [p for p in stock.problems if p.kind == "unused"]
    assert [p for p in stock.problems if p.kind == "duplicate"]  # not a matter of reads
    (note,) = stock.notes
    assert note.startswith("replica 'replica' could not be read")
    assert "unused indexes are not reported" in note


@pytest.mark.django_db(databases=["default", "mariadb"])
def test_on_mariadb_nothing_is_advised_without_a_proof(mariadb: str) -> None:
    query = Ticket.objects.using(mariadb).filter(number=17).query
    sql, params = query.get_compiler(using=mariadb).as_sql()
    assert "`number` = %s" in sql
    work = Workload([Query(mariadb, "number", sql, samples=[list(params), [4242]], calls=2)])

    report = advise(work, mariadb)

    assert report.vendor == "mysql" and report.method == "none"
    assert report.advice == []
    assert any("MySQL/MariaDB commit DDL at once" in note for note in report.notes)
