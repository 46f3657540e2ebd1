"""The generated workload: 200,000 tickets in PostgreSQL with known missing indexes, and the
probe's capture records of the views that query them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test import Client, override_settings

from headroom.probe import queries as probe_queries
from headroom.probe import spool
from tests import services

ROWS = 200_000

FILL = """
INSERT INTO ticketapp_queue (id, name) SELECT q, 'queue ' || q FROM generate_series(1, 40) q;
INSERT INTO ticketapp_ticket (queue_id, number, status, priority, created_at, updated_at,
    email, owner_code, deleted_at, reference)
SELECT 1 + i % 40, i,
       (ARRAY['new', 'open', 'waiting', 'solved', 'closed'])[1 + (i * 7) % 5],
       i % 5,
       timestamptz '2024-01-01' + (i || ' minutes')::interval,
       timestamptz '2024-01-01' + ((i * 37) % 300000 || ' minutes')::interval,
       'User' || i || '@Example.com',
       'owner' || (i % 2000),
       CASE WHEN i % 10 = 0 THEN NULL ELSE timestamptz '2024-06-01' END,
       'REF-' || i
FROM generate_series(1, %(rows)s) i;
ANALYZE ticketapp_queue;
ANALYZE ticketapp_ticket;
"""

#: (path, query string) per request: several samples of each statement.
REQUESTS: list[tuple[str, dict[str, str]]] = [
    *[("/tickets/number/", {"n": str(n)}) for n in (17, 4242, 99_001)],
    *[
        ("/tickets/open/", {"status": s, "since": d})
        for s, d in (
            ("new", "2024-05-20T00:00:00+00:00"),
            ("open", "2024-05-25T00:00:00+00:00"),
            ("waiting", "2024-05-28T00:00:00+00:00"),
        )
    ],
    *[("/tickets/recent/", {}) for _ in range(3)],
    *[("/tickets/owned/", {"o": o}) for o in ("owner7", "owner1234", "owner99")],
    *[("/tickets/email/", {"e": e}) for e in ("user5@example.com", "USER77@EXAMPLE.COM")],
    *[("/tickets/served/", {"id": str(i), "q": "queue 3"}) for i in (5, 777)],
]


@pytest.fixture(scope="module")
def tickets(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """The ``postgres`` test database with hypopg and 200,000 tickets (committed)."""
    services.require("postgresql")
    with django_db_blocker.unblock():
        connection = connections["postgres"]
        # Set up only for a module with a django_db mark naming "postgres"; never fill (and
        # truncate) the database the settings name outside the tests.
        test_name = connection.settings_dict["TEST"]["NAME"]
        assert connection.settings_dict["NAME"] == test_name, (
            "the postgres test database is not set up: give the module a test marked "
            "@pytest.mark.django_db(databases=['default', 'postgres'])"
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'")
            if cursor.fetchone() is None:
                reason = "hypopg is not installed (Debian package postgresql-15-hypopg)"
                if services.services_required():
                    pytest.fail(f"{reason} and HEADROOM_REQUIRE_SERVICES=1", pytrace=False)
                pytest.skip(reason)
            cursor.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
            cursor.execute("TRUNCATE ticketapp_ticket, ticketapp_queue RESTART IDENTITY CASCADE")
            cursor.execute(FILL.replace("%(rows)s", str(ROWS)))
        try:
            yield "postgres"
        finally:
            with connection.cursor() as cursor:
                cursor.execute(
                    "TRUNCATE ticketapp_ticket, ticketapp_queue RESTART IDENTITY CASCADE"
                )
            connection.close()


@pytest.fixture(scope="module")
def spool_dir(
    tickets: str, tmp_path_factory: pytest.TempPathFactory, django_db_blocker: Any
) -> Path:
    """Capture records of the workload's requests, written by the real probe."""
    directory = tmp_path_factory.mktemp("spool")
    with django_db_blocker.unblock():
        capture(directory, REQUESTS)
        flush_statistics("postgres")
    return directory


def capture(directory: Path, requests: list[tuple[str, dict[str, str]]]) -> Path:
    """Run ``requests`` against the ticket views with the real probe capturing into
    ``directory``; returns it."""
    settings = {"PROBE_MODE": "capture", "SPOOL_DIR": str(directory)}
    with override_settings(ROOT_URLCONF="tests.indexes.ticketapp.urls", HEADROOM=settings):
        probe_queries.forget_locations()
        client = Client()
        for path, params in requests:
            response = client.get(path, params)
            assert response.status_code == 200, (path, response.content[:300])
        spool.close()
    assert (directory / f"probe-{os.getpid()}.jsonl").exists()
    return directory


def flush_statistics(alias: str) -> None:
    """Make this session's index scans visible in pg_stat_user_indexes (PostgreSQL 15+)."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
