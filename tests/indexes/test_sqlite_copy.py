"""The advisor on SQLite: each candidate is built on a copy of the database file and the
recorded statements timed there; the file itself is left exactly as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from headroom.indexes import advise, workload
from tests.indexes.conftest import capture

# Committed rows in the real test database file (the copy is taken with SQLite's backup API,
# which sees what is committed).
pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 100_000

FILL_SQLITE = [
    "INSERT INTO ticketapp_queue (id, name) WITH RECURSIVE q(i) AS "
    "(SELECT 1 UNION ALL SELECT i + 1 FROM q WHERE i < 40) SELECT i, 'queue ' || i FROM q",
    "INSERT INTO ticketapp_ticket (queue_id, number, status, priority, created_at, updated_at, "
    "email, owner_code, deleted_at, reference) "
    f"WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t WHERE i < {ROWS}) "
    "SELECT 1 + i % 40, i, "
    "CASE (i * 7) % 5 WHEN 0 THEN 'new' WHEN 1 THEN 'open' WHEN 2 THEN 'waiting' "
    "WHEN 3 THEN 'solved' ELSE 'closed' END, "
    "i % 5, datetime('2024-01-01', '+' || i || ' minutes'), "
    "datetime('2024-01-01', '+' || ((i * 37) % 300000) || ' minutes'), "
    "'User' || i || '@Example.com', 'owner' || (i % 2000), "
    "CASE WHEN i % 10 = 0 THEN NULL ELSE '2024-06-01 00:00:00' END, 'REF-' || i FROM t",
]

REQUESTS = [
    *[("/tickets/number/", {"n": str(n), "db": "default"}) for n in (17, 4242, 99_001)],
    *[
        ("/tickets/open/", {"status": s, "since": d, "db": "default"})
        for s, d in (("new", "2024-02-20T00:00:00+00:00"), ("open", "2024-02-25T00:00:00+00:00"))
    ],
]


def file_state(alias: str) -> tuple[str, list[str]]:
    """The database file's SHA-256 and its index names."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name")
        names = [row[0] for row in cursor.fetchall()]
    path = Path(connection.settings_dict["NAME"])
    return hashlib.sha256(path.read_bytes()).hexdigest(), names


def test_advice_is_proven_on_a_copy_and_the_file_is_left_alone(tmp_path: Path) -> None:
    connection = connections["default"]
    assert connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        for statement in FILL_SQLITE:
            cursor.execute(statement)
    work = workload.from_records(workload.read_spool(capture(tmp_path, REQUESTS)))
    assert {q.alias for q in work.queries} == {"default"}
    before = file_state("default")

    report: Any = advise(work, "default")

    assert file_state("default") == before  # not a byte changed, no index added
    assert report.method == "sqlite copy" and report.unit == "ms"
    by_index = {a.candidate.describe(): a for a in report.advice}
    number = by_index["ticketapp_ticket (number)"]
    assert number.proven and number.method == "sqlite copy"
    (gain,) = number.gains
    assert gain.query.routes == {"/tickets/number/": 3}
    assert gain.query.samples == [[17], [4242], [99_001]]
    # Planned on the copy: a full scan before, the candidate index after.
    assert "ticketapp_ticket" in gain.before.full_scans
    assert not gain.before.indexes_used
    (used,) = gain.after.indexes_used
    assert used.startswith("headroom_candidate_")
    assert any(f"USING INDEX {used}" in line for line in gain.after.plan), gain.after.plan
    assert used not in before[1]
    # The Django change for SQLite: the Meta line and makemigrations, not a concurrent build.
    assert number.django.expression.startswith("models.Index(fields=['number'], name=")
    assert "AddIndexConcurrently" not in number.fix
    assert "python manage.py makemigrations ticketapp" in number.fix
