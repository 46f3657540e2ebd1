"""Migration safety: addition-only, lock-safe migrations.

A static, state-aware linter over Django migration operations: the graph is loaded without
a database, walked in order, and every operation is judged against the model state just
before it. Rules, their messages and their fixes are in :mod:`.messages`.

    from headroom.migrationlint import lint

    result = lint(targets=["shop"], project_only=True)
    for finding in result.findings:
        print(finding.file, finding.line, finding.rule, finding.message)

Importing this package is cheap: Django's migration machinery is imported by :func:`lint`.
"""

from __future__ import annotations

from headroom.migrationlint.findings import Finding, LintResult, MigrationSummary
from headroom.migrationlint.messages import RULES

__all__ = ["RULES", "Finding", "LintError", "LintResult", "MigrationSummary", "lint"]


class LintError(Exception):
    """The lint could not run as asked: unknown app or migration, bad revision or alias,
    or a migration graph that does not load. The message says which."""


def lint(
    *,
    targets: list[str] | None = None,
    since: str | None = None,
    database: str | None = None,
    project_only: bool = False,
    table_sizes: dict[str, int] | None = None,
    warnings_as_errors: list[str] | None = None,
    disable: list[str] | None = None,
) -> LintResult:
    """Lint migrations of the configured Django project (``django.setup()`` already done).

    ``targets``: ``"app"`` or ``"app.0002"`` (a name prefix), default every migration.
    ``since``: only migrations whose files were added since this git revision; they are
    judged as one deploy (a table one of them creates is new for the others).
    ``database``: the alias whose engine decides the locking rules, and whose statistics
    give each table's size, so a lock on a 40-row table is a note and on a 40-million-row
    table an error. Without it no connection is opened.
    ``project_only``: only apps whose migration files are the project's own code
    (:func:`headroom.project.is_project_file`), leaving out Django's and libraries' apps.
    ``table_sizes``: table name -> rows, instead of asking ``database``.
    ``warnings_as_errors``: rule ids whose warnings count as errors (``"*"`` for all).
    ``disable``: rule ids not to report.

    Raises :class:`LintError` when the request cannot be carried out.
    """
    from headroom.migrationlint import engine

    try:
        loader = engine.load_graph()
        selected = set(loader.graph.nodes)
        if targets:
            selected &= engine.resolve_targets(loader, targets)
        if project_only:
            selected &= engine.project_keys(loader)
        if since:
            selected &= engine.keys_added_since(loader, since)
        sizes = table_sizes
        if sizes is None and database is not None:
            sizes = _table_sizes(database)
        linter = engine.Linter(
            database=database,
            table_sizes=sizes,
            warnings_as_errors=warnings_as_errors or (),
            disable=disable or (),
        )
        return linter.run(loader, selected, deploy_unit=bool(since))
    except engine.LintUsageError as exc:
        raise LintError(str(exc)) from exc


def _table_sizes(database: str) -> dict[str, int]:
    from django.db import DatabaseError, connections

    from headroom.migrationlint.sizes import table_rows

    if database not in connections:
        raise LintError(f"no database alias {database!r} in settings.DATABASES")
    try:
        return table_rows(database)
    except DatabaseError as exc:
        raise LintError(f"could not read table sizes from {database!r}: {exc}") from exc
