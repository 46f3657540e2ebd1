"""System checks of the migration linter (headroom.E101, W101, W102).

W101 is a database check: Django runs it for ``check --database ALIAS`` and at the start of
``migrate``, where it lists what the guard is about to refuse.
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from headroom.checks.messages import message


@checks.register("headroom")
def check_rule_ids(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from headroom.conf import conf
    from headroom.migrationlint.messages import RULES

    found = []
    for key in ("MIGRATION_LINT_DISABLE", "MIGRATION_LINT_WARNINGS_AS_ERRORS"):
        unknown = [r for r in getattr(conf, key) if r != "*" and r not in RULES]
        if unknown:
            found.append(
                message(
                    "headroom.E101",
                    key=key,
                    rules=", ".join(unknown),
                    known=", ".join(sorted(RULES)),
                )
            )
    return found


@checks.register("headroom")
def check_migrate_guard(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from django.core.management import get_commands

    from headroom.conf import conf

    owner = get_commands().get("migrate")
    if not conf.MIGRATION_GUARD or owner in (None, "headroom"):
        return []
    return [message("headroom.W102", app=owner)]


@checks.register("headroom", checks.Tags.database)
def check_unapplied_migrations(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    from headroom.migrationlint import LintError, lint

    found: list[checks.CheckMessage] = []
    for alias in databases or ():
        executor = MigrationExecutor(connections[alias])
        if not executor.loader.applied_migrations:
            continue  # a fresh database: no old code runs against it
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        targets = [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]
        if not targets:
            continue
        try:
            result = lint(targets=targets, database=alias)
        except LintError:
            continue
        by_migration: dict[str, list[str]] = {}
        for finding in result.errors:
            by_migration.setdefault(finding.migration, []).append(finding.rule)
        for migration, rules in sorted(by_migration.items()):
            found.append(
                message(
                    "headroom.W101",
                    migration=migration,
                    alias=alias,
                    count=len(rules),
                    rules=", ".join(sorted(set(rules))),
                )
            )
    return found
