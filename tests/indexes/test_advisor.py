"""The index advisor on a generated workload with known missing indexes (PostgreSQL, hypopg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from headroom.indexes import advise, workload

pytestmark = [pytest.mark.services, pytest.mark.django_db(databases=["default", "postgres"])]


@pytest.fixture(scope="module")
def report(spool_dir: Path, django_db_blocker: Any) -> Any:
    with django_db_blocker.unblock():
        return advise(workload.from_records(workload.read_spool(spool_dir)), "postgres")


def test_print(report: Any) -> None:
    for a in report.advice:
        print(a.candidate.describe(), a.django.expression, [ (g.query.sql[:80], g.before.cost, g.after.cost) for g in a.gains])
    print(report.notes, report.skipped)
    assert False
