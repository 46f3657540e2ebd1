from __future__ import annotations

from django.core import checks
from django.test import override_settings


def ids() -> list[str]:
    return [m.id or "" for m in checks.run_checks(tags=["headroom"])]


def test_unknown_rule_ids_in_settings_are_an_error() -> None:
    with override_settings(HEADROOM={"MIGRATION_LINT_DISABLE": ["HR101", "HR1O1"]}):
        found = [m for m in checks.run_checks(tags=["headroom"]) if m.id == "headroom.E101"]
    assert len(found) == 1
    assert "HR1O1" in found[0].msg
    assert "HR101" in (found[0].hint or "")
    with override_settings(HEADROOM={"MIGRATION_LINT_WARNINGS_AS_ERRORS": ["*", "HR401"]}):
        assert "headroom.E101" not in ids()


def test_headroom_owns_the_migrate_command() -> None:
    from django.core.management import get_commands

    assert get_commands()["migrate"] == "headroom"
    assert "headroom.W102" not in ids()
