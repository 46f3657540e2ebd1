"""The migrate guard stops a real ``manage.py migrate`` on PostgreSQL, and says why."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from headroom.migrationlint.guard import PlanGuard
from tests import services

ROOT = Path(__file__).resolve().parents[2]
MANAGE = (
    "import sys\n"
    "from django.core.management import execute_from_command_line\n"
    "execute_from_command_line(sys.argv)\n"
)


@pytest.fixture
def guard_db(postgres: str) -> Iterator[str]:
    with services.scratch_database("headroom_guard") as name:
        yield name


def manage(tmp_path: Path, db: str, *argv: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "manage.py"
    script.write_text(MANAGE)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.migrationlint.guard_settings",
        "HEADROOM_GUARD_DB": db,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
    }
    return subprocess.run(
        [sys.executable, str(script), *argv], capture_output=True, text=True, env=env, cwd=ROOT
    )


def columns(db: str) -> set[str]:
    with services.pg_admin(db) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'guardapp_item'"
        ).fetchall()
    return {str(r[0]) for r in rows}


def test_migrate_refuses_a_column_drop_until_allowed(tmp_path: Path, guard_db: str) -> None:
    # A fresh database is set up without a word, contenttypes.0002's drop included: no old
    # code runs against it. After that, a migration without errors goes through.
    fresh = manage(tmp_path, guard_db, "migrate", "contenttypes")
    assert fresh.returncode == 0, fresh.stderr
    first = manage(tmp_path, guard_db, "migrate", "guardapp", "0001")
    assert first.returncode == 0, first.stderr
    assert columns(guard_db) == {"id", "name", "code"}

    refused = manage(tmp_path, guard_db, "migrate")
    assert refused.returncode == 1
    assert "headroom refused to migrate: 1 error(s)" in refused.stderr
    assert "tests/migrationlint/guardapp/migrations/0002_remove_item_code.py:10: HR101" in (
        refused.stderr
    )
    assert "python manage.py migrate --headroom-allow" in refused.stderr
    assert "Applying guardapp.0002" not in refused.stdout
    assert columns(guard_db) == {"id", "name", "code"}

    # The system check says the same before anyone runs migrate.
    check = manage(tmp_path, guard_db, "check", "--database", "default")
    assert "headroom.W101" in check.stderr
    assert "guardapp.0002_remove_item_code" in check.stderr

    allowed = manage(tmp_path, guard_db, "migrate", "--headroom-allow")
    assert allowed.returncode == 0, allowed.stderr
    assert "headroom: applying 1 migration-lint error(s) as asked" in allowed.stderr
    assert "Applying guardapp.0002_remove_item_code... OK" in allowed.stdout
    assert columns(guard_db) == {"id", "name"}


def test_migrate_guard_can_be_turned_off_by_setting(tmp_path: Path, guard_db: str) -> None:
    assert manage(tmp_path, guard_db, "migrate", "contenttypes").returncode == 0
    assert manage(tmp_path, guard_db, "migrate", "guardapp", "0001").returncode == 0
    settings = tmp_path / "guard_off.py"
    settings.write_text(
        "from tests.migrationlint.guard_settings import *  # noqa: F403\n"
        'HEADROOM = {"MIGRATION_GUARD": False}\n'
    )
    env_module = "guard_off"
    script = tmp_path / "manage.py"
    script.write_text(MANAGE)
    result = subprocess.run(
        [sys.executable, str(script), "migrate"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": env_module,
            "HEADROOM_GUARD_DB": guard_db,
            "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}{os.pathsep}{ROOT / 'src'}",
        },
    )
    assert result.returncode == 0, result.stderr
    assert "HR101" in result.stderr  # it still says what it let through
    assert columns(guard_db) == {"id", "name"}


def test_guard_lints_a_plan_once_per_run() -> None:
    warned: list[str] = []
    guard = PlanGuard(refuse=True, warn=warned.append)
    guard(plan=[], using="default")
    assert guard.done
    guard(plan=[("never looked at", False)], using="default")  # second app: no work


@pytest.mark.django_db
def test_test_databases_are_never_guarded() -> None:
    from headroom.migrationlint.guard import _nothing_to_protect

    # pytest-django (like Django's test runner) migrates a test database, perhaps kept from
    # an earlier run: no old code runs against it.
    assert _nothing_to_protect("default")
