"""The migrate guard: ``manage.py migrate`` refuses migrations the linter finds errors in.

How it hooks in: headroom's ``migrate`` command (``headroom/management/commands/migrate.py``)
subclasses Django's, adds ``--headroom-allow``, and for the duration of its ``handle``
connects :func:`check_plan` to the ``pre_migrate`` signal. Django sends ``pre_migrate`` after
it has computed the exact plan (targets, ``--fake``, ``--prune``, replaced migrations all
taken into account) and before it runs the first operation, and passes that plan to the
receivers; raising ``CommandError`` there stops the command cleanly, nothing applied. So the
guard judges exactly what is about to run without re-implementing how migrate plans.

It lets a database with no migration applied yet, and a test database (pytest-django's
``--reuse-db``, Django's ``--keepdb``), through unlinted: no old code runs against them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError

ALLOW_HINT = (
    "Fix the migrations (each finding prints the safe alternative), silence a finding you\n"
    'have judged safe with headroom_ignore = {"HR101": "why it is safe"} on the Migration,\n'
    "or apply anyway with:  python manage.py migrate --headroom-allow\n"
    '(or HEADROOM = {"MIGRATION_GUARD": False} to turn the guard off).'
)


def _nothing_to_protect(alias: str) -> bool:
    """A new database (no migration applied yet) or a test database: no old code runs
    against it, so there is nothing a migration could break for anyone."""
    from django.db import connections
    from django.db.backends.base.creation import TEST_DATABASE_PREFIX
    from django.db.migrations.recorder import MigrationRecorder

    connection = connections[alias]
    name = str(connection.settings_dict.get("NAME") or "")
    test_name = connection.settings_dict.get("TEST", {}).get("NAME")
    if (test_name and name == str(test_name)) or name.startswith(TEST_DATABASE_PREFIX):
        return True
    recorder = MigrationRecorder(connection)
    return not recorder.has_table() or not recorder.applied_migrations()


def blocking_findings(plan: list[tuple[Any, bool]], alias: str) -> list[Any]:
    """Errors the linter finds in the migrations ``plan`` applies forwards on ``alias``."""
    from headroom.migrationlint import lint

    targets = [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]
    if not targets or _nothing_to_protect(alias):
        return []
    result = lint(targets=targets, database=alias)
    return result.errors


def format_refusal(findings: list[Any]) -> str:
    lines = [
        f"headroom refused to migrate: {len(findings)} error(s) in the migrations about to be "
        "applied would break the code that is still running, or lock a large table."
    ]
    for f in findings:
        lines.append(f"  {f.file}:{f.line}: {f.rule} {f.message}")
    lines.append("")
    lines.append(ALLOW_HINT)
    return "\n".join(lines)


class PlanGuard:
    """``pre_migrate`` receiver for one migrate run. Django sends the signal once per app,
    with the same plan; the plan is linted once.

    ``refuse``: raise CommandError on errors; otherwise write a warning and let it run.
    """

    def __init__(self, *, refuse: bool, warn: Callable[[str], None]) -> None:
        self.refuse = refuse
        self.warn = warn
        self.done = False

    def __call__(
        self, *, plan: list[tuple[Any, bool]] | None = None, using: str = "default", **kw: Any
    ) -> None:
        if self.done:
            return
        self.done = True
        found = blocking_findings(list(plan or ()), using)
        if not found:
            return
        if self.refuse:
            raise CommandError(format_refusal(found))
        self.warn(
            f"headroom: applying {len(found)} migration-lint error(s) as asked:\n"
            + "\n".join(f"  {f.file}:{f.line}: {f.rule} {f.message}" for f in found)
        )
