"""The index advisor on a generated workload with known missing indexes (PostgreSQL, hypopg):
each one is found and proven, nothing else is advised, and the advice points at the URL
patterns and lines that get faster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from headroom.indexes import advise, workload

pytestmark = [pytest.mark.services, pytest.mark.django_db(databases=["default", "postgres"])]

#: The indexes the workload is missing, as the advisor describes them.
MISSING = {
    "ticketapp_ticket (number)": "/tickets/number/",
    "ticketapp_ticket (status, created_at)": "/tickets/open/",
    "ticketapp_ticket (updated_at)": "/tickets/recent/",
    'ticketapp_ticket (owner_code) WHERE "deleted_at" IS NULL': "/tickets/owned/",
    "ticketapp_ticket (UPPER(email))": "/tickets/email/",
}


@pytest.fixture(scope="module")
def report(spool_dir: Path, django_db_blocker: Any) -> Any:
    with django_db_blocker.unblock():
        return advise(workload.from_records(workload.read_spool(spool_dir)), "postgres")


def test_every_missing_index_is_found_and_nothing_else(report: Any) -> None:
    assert report.method == "hypopg"
    assert {a.candidate.describe() for a in report.advice} == set(MISSING)


def test_each_index_is_proven_on_the_url_pattern_that_needs_it(report: Any) -> None:
    for advice in report.advice:
        route = MISSING[advice.candidate.describe()]
        assert advice.proven and advice.gains
        for gain in advice.gains:
            assert route in gain.query.routes
            # Several real parameter samples (the one statement without parameters has
            # one, empty), each planned, none NULL.
            assert len(gain.query.samples) >= 2 or gain.query.samples == [[]]
            assert all(None not in sample for sample in gain.query.samples)
            assert gain.after.cost <= gain.before.cost / 2
            assert any(name.startswith("<") for name in gain.after.indexes_used)  # hypopg's


def test_the_partial_index_serves_both_statements_that_repeat_its_condition(report: Any) -> None:
    (partial,) = [a for a in report.advice if a.candidate.condition is not None]
    assert len(partial.gains) == 2  # the count and the list of /tickets/owned/
    assert "condition=models.Q(deleted_at__isnull=True)" in partial.django.expression


def test_advice_is_django_code_pointing_at_the_view_lines(report: Any) -> None:
    by_index = {a.candidate.describe(): a for a in report.advice}
    two = by_index["ticketapp_ticket (status, created_at)"]
    assert two.django.label == "ticketapp.Ticket"
    assert two.django.expression.startswith("models.Index(fields=['status', 'created_at'], name=")
    assert "AddIndexConcurrently(model_name='ticket'" in two.fix
    assert "class Meta:" in two.fix
    (gain,) = two.gains
    assert any(loc.startswith("tests/indexes/ticketapp/views.py:") for loc in gain.query.locations)
    upper = by_index["ticketapp_ticket (UPPER(email))"]
    assert upper.django.expression.startswith("models.Index(Upper('email'), name=")
    recent = by_index["ticketapp_ticket (updated_at)"]
    assert "'updated_at'" in recent.django.expression


def test_statements_already_served_are_left_alone(report: Any, spool_dir: Path) -> None:
    served = {g.query.fingerprint for a in report.advice for g in a.gains}
    statements = workload.from_records(workload.read_spool(spool_dir)).queries
    others = [q.sql for q in statements if q.fingerprint not in served]
    assert any('FROM "ticketapp_queue"' in sql for sql in others)  # a small table
    assert any('"priority" >=' in sql for sql in others)  # a filter no index helps
    assert any('"ticketapp_ticket"."id" = %s' in sql for sql in others)  # the primary key
    assert report.analysed == len(statements)
