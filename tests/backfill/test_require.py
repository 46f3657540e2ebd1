"""``RequireBackfill`` keeps ``manage.py migrate`` from tightening a column too early."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests import services
from tests.backfill.processes import ROOT

pytestmark = pytest.mark.services


@pytest.fixture
def database(postgres: str) -> Iterator[str]:
    with services.scratch_database("headroom_require") as name:
        yield name


def _run(database: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.backfill.require_settings",
        "HEADROOM_REQUIRE_DB": database,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
    }
    return subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, env=env, cwd=ROOT
    )


def _nullable(database: str) -> str:
    with services.pg_admin(database) as conn:
        row = conn.execute(
            "SELECT is_nullable FROM information_schema.columns "
            "WHERE table_name = 'requireapp_order' AND column_name = 'total'"
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_migrate_waits_for_the_backfill(database: str) -> None:
    assert _run(database, "django", "migrate", "requireapp", "0001").returncode == 0
    with services.pg_admin(database) as conn:
        conn.execute(
            "INSERT INTO requireapp_order (quantity, unit_price, total) "
            "SELECT g % 7 + 1, 100 + g, NULL FROM generate_series(1, 5000) g"
        )

    refused = _run(database, "django", "migrate")
    assert refused.returncode == 1
    assert "headroom refused to migrate requireapp: backfill requireapp.FillTotals has not " in (
        refused.stderr
    )
    assert "(it has never run); more than 1,000 row(s) still need it." in refused.stderr
    assert "python manage.py headroom backfill run requireapp.FillTotals" in refused.stderr
    assert "Applying requireapp.0002_total_not_null" in refused.stdout
    assert _nullable(database) == "YES"

    done = _run(database, "headroom", "backfill", "run", "requireapp.FillTotals")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5,000/5,000 rows  100.0%" in done.stdout

    # A row written since by old code: the backfill's queryset matches again.
    with services.pg_admin(database) as conn:
        conn.execute("INSERT INTO requireapp_order (quantity, unit_price) VALUES (2, 50)")
    again = _run(database, "django", "migrate")
    assert again.returncode == 1
    assert "succeeded (run #1) but 1 row(s) match its queryset again" in again.stderr
    assert _run(database, "headroom", "backfill", "run", "requireapp.FillTotals").returncode == 0

    applied = _run(database, "django", "migrate")
    assert applied.returncode == 0, applied.stderr
    assert "Applying requireapp.0002_total_not_null... OK" in applied.stdout
    assert _nullable(database) == "NO"


def test_a_new_empty_database_migrates_at_once(database: str) -> None:
    fresh = _run(database, "django", "migrate")
    assert fresh.returncode == 0, fresh.stderr
    assert _nullable(database) == "NO"
