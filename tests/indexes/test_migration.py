"""`headroom indexes --write-migration --fail-on-missing`: the written migration applies, and
the planner then uses the index it adds."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from headroom.cli import main

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(databases=["default", "postgres"], transaction=True),
]

APP_MIGRATIONS = Path(__file__).parent / "ticketapp" / "migrations"


def plan(sql: str) -> str:
    with connections["postgres"].cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_written_migration_applies_and_the_planner_uses_it(
    spool_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = tmp_path / "written_migrations"
    shutil.copytree(APP_MIGRATIONS, package, ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(tmp_path))
    search = (
        "SELECT id FROM ticketapp_ticket WHERE status = 'open' "
        "AND created_at >= '2024-05-25T00:00:00+00:00'"
    )
    try:
        with override_settings(MIGRATION_MODULES={"ticketapp": "written_migrations"}):
            code = main(
                [
                    "indexes",
                    "--database",
                    "postgres",
                    "--spool",
                    str(spool_dir),
                    "--no-pg-stat-statements",
                    "--write-migration",
                    "--fail-on-missing",
                    "--no-inventory",
                ],
                django_ready=True,
            )
            out = capsys.readouterr().out
            assert code == 1, out  # --fail-on-missing: indexes are proven missing
            assert "Meta.indexes: models.Index(fields=['status', 'created_at']" in out
            assert "/tickets/open/" in out and "tests/indexes/ticketapp/views.py:" in out
            (written,) = sorted(package.glob("0002_*.py"))
            source = written.read_text()
            assert "atomic = False" in source and "AddIndexConcurrently(" in source
            assert "ticketapp_t_status_" not in plan(search)

            call_command("migrate", "ticketapp", database="postgres", verbosity=0)
            try:
                used = plan(search)
                assert "Index" in used and "ticketapp_t_status_" in used, used
            finally:
                call_command("migrate", "ticketapp", "0001", database="postgres", verbosity=0)
            assert "ticketapp_t_status_" not in plan(search)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("written_migrations", None)


def test_the_settings_thresholds_are_what_the_verb_uses(
    spool_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Tables of the generated workload hold 200,000 rows: above this floor, nothing is advised.
    with override_settings(HEADROOM={"INDEX_MIN_TABLE_ROWS": 10_000_000}):
        code = main(
            [
                "indexes",
                "--database",
                "postgres",
                "--spool",
                str(spool_dir),
                "--no-pg-stat-statements",
                "--fail-on-missing",
                "--no-inventory",
            ],
            django_ready=True,
        )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Meta.indexes" not in out
