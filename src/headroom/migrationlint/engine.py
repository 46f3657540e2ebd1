"""The walk: load the migration graph without a database, replay it in order, judge.

Each operation is judged against the model state just before it (``state_forwards`` of
every earlier operation replayed), so a rule knows the field's old type and nullability,
the table's name and whether the table was created in the same migration. Nothing is
rendered into model classes and no SQL is generated; the database is only asked for table
sizes, and only when a ``database`` alias is given.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import DEFAULT_DB_ALIAS, connections

from headroom.migrationlint.context import Context, Hit, MigrationTrack
from headroom.migrationlint.findings import Finding, LintResult, MigrationSummary, Phase
from headroom.migrationlint.messages import RULES, Severity
from headroom.migrationlint.rules import judge_for
from headroom.migrationlint.sources import migration_file, operation_line
from headroom.migrationlint.suppressions import apply_suppressions

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.migrations import Migration
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.state import ProjectState

Key = tuple[str, str]


class LintUsageError(Exception):
    """A target, revision or alias that does not exist: the CLI's exit code 2."""


class _SafeValues(dict[str, Any]):
    """Template values; a placeholder a rule did not fill stays visible, never crashes."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def load_graph() -> MigrationLoader:
    """The project's migration graph, read from disk without touching a database."""
    from django.db.migrations.exceptions import BadMigrationError, NodeNotFoundError
    from django.db.migrations.loader import MigrationLoader

    try:
        return MigrationLoader(None, ignore_no_migrations=True)
    except (NodeNotFoundError, BadMigrationError) as exc:
        raise LintUsageError(f"the migration graph cannot be loaded: {exc}") from exc


def ordered(loader: MigrationLoader) -> list[Key]:
    """Every migration in an order that applies dependencies first (like ``migrate``)."""
    seen: set[Key] = set()
    plan: list[Key] = []
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                plan.append(key)
    return plan


def resolve_targets(loader: MigrationLoader, targets: Iterable[str]) -> set[Key]:
    """``app`` or ``app.migration_prefix`` strings -> migration keys."""
    from django.db.migrations.exceptions import AmbiguityError

    found: set[Key] = set()
    nodes = loader.graph.nodes
    apps = {key[0] for key in nodes}
    for target in targets:
        app_label, _, prefix = target.partition(".")
        if app_label not in apps:
            raise LintUsageError(
                f"no app labelled {app_label!r} has migrations "
                f"(apps with migrations: {', '.join(sorted(apps))})"
            )
        if not prefix:
            found |= {key for key in nodes if key[0] == app_label}
            continue
        try:
            migration = loader.get_migration_by_prefix(app_label, prefix)
        except AmbiguityError as exc:
            raise LintUsageError(f"{target!r} matches more than one migration") from exc
        except KeyError as exc:
            raise LintUsageError(f"app {app_label!r} has no migration {prefix!r}") from exc
        key = (migration.app_label, migration.name)
        if key not in nodes:
            raise LintUsageError(f"{target!r} is replaced by a squashed migration")
        found.add(key)
    return found


def vendor_for(alias: str) -> str:
    from headroom.conf import conf

    if conf.MIGRATION_LINT_VENDOR != "auto":
        return conf.MIGRATION_LINT_VENDOR
    return str(connections[alias].vendor)


def connection_for(vendor: str, alias: str) -> BaseDatabaseWrapper:
    """A connection object of ``vendor`` for type names and quoting; never opened."""
    connection = connections[alias]
    if connection.vendor == vendor:
        return connection
    for other in connections:
        if connections[other].vendor == vendor:
            return connections[other]
    engines = {"postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite3"}
    try:
        from django.db.utils import ConnectionHandler

        handler = ConnectionHandler({"lint": {"ENGINE": f"django.db.backends.{engines[vendor]}"}})
        return handler["lint"]
    except Exception:  # the backend's driver is not installed: its names are close enough
        return connection


def lock_timeout_configured(alias: str) -> bool:
    from django.conf import settings

    databases: Any = settings.DATABASES
    options = databases.get(alias, {}).get("OPTIONS", {})
    return "lock_timeout" in str(options.get("options", ""))


class Linter:
    """One lint run. :func:`headroom.migrationlint.lint` is the public way in."""

    def __init__(
        self,
        *,
        database: str | None = None,
        table_sizes: dict[str, int] | None = None,
        warnings_as_errors: Iterable[str] = (),
        disable: Iterable[str] = (),
    ) -> None:
        from headroom.conf import conf

        self.alias = database or DEFAULT_DB_ALIAS
        if self.alias not in connections:
            raise LintUsageError(f"no database alias {self.alias!r} in settings.DATABASES")
        self.vendor = vendor_for(self.alias)
        self.connection = connection_for(self.vendor, self.alias)
        self.table_sizes = table_sizes
        self.small = conf.MIGRATION_LINT_SMALL_TABLE_ROWS
        self.large = conf.MIGRATION_LINT_LARGE_TABLE_ROWS
        self.promote = set(conf.MIGRATION_LINT_WARNINGS_AS_ERRORS) | set(warnings_as_errors)
        self.disabled = set(conf.MIGRATION_LINT_DISABLE) | set(disable)
        self.lock_timeout_everywhere = lock_timeout_configured(self.alias)

    # --- the walk ------------------------------------------------------------------------

    def run(
        self,
        loader: MigrationLoader,
        selected: set[Key],
        *,
        deploy_unit: bool = False,
    ) -> LintResult:
        """Judge the ``selected`` migrations; replay every other one for its state only.

        ``deploy_unit``: the selected migrations ship together (``--since``), so a table
        created by one of them is new for the others too.
        """
        from django.db.migrations.state import ProjectState

        result = LintResult(vendor=self.vendor, database=self.alias if self.table_sizes else None)
        state = ProjectState(real_apps=loader.unmigrated_apps)
        plan = ordered(loader)
        remaining = set(selected)
        shared_new: set[Key] = set()
        for key in plan:
            if not remaining:
                break
            migration = loader.graph.nodes[key]
            if key in selected:
                remaining.discard(key)
                new_tables = shared_new if deploy_unit else set()
                self._judge_migration(migration, state, new_tables, result)
            else:
                self._replay(migration, state)
        result.findings.sort(key=lambda f: (f.app_label, f.migration_name, f.line, f.rule))
        return result

    def _replay(self, migration: Migration, state: ProjectState) -> None:
        for operation in migration.operations:
            try:
                operation.state_forwards(migration.app_label, state)
            except Exception:  # reported only for migrations being linted
                continue

    def _judge_migration(
        self,
        migration: Migration,
        state: ProjectState,
        new_tables: set[Key],
        result: LintResult,
    ) -> None:
        app_label = migration.app_label
        path = migration_file(migration)
        track = MigrationTrack()
        hits: list[tuple[int, Hit]] = []
        for index, operation in enumerate(migration.operations):
            ctx = Context(
                app_label=app_label,
                migration=migration,
                operation=operation,
                index=index,
                state=state,
                vendor=self.vendor,
                connection=self.connection,
                alias=self.alias,
                new_tables=new_tables,
                track=track,
            )
            hits.extend((index, hit) for hit in self._judge(ctx))
            try:
                operation.state_forwards(app_label, state)
            except Exception as exc:
                values = {**ctx.base_values(), "problem": f"{type(exc).__name__}: {exc}"}
                hits.append((index, Hit("HR904", values)))
        hits.extend(self._migration_hits(migration, track, state))
        made = [self._finding(migration, path, index, hit) for index, hit in hits]
        findings = [f for f in made if f is not None]
        kept, suppressed, meta = apply_suppressions(
            migration, findings, self._meta_finder(migration, path), self.is_active
        )
        result.findings.extend(kept + meta)
        result.suppressed.extend(suppressed)
        phases = {phase for phase, _i, _w in track.phases}
        result.migrations.append(
            MigrationSummary(
                app_label=app_label,
                name=migration.name,
                file=self._display(path),
                phase="contract" if "contract" in phases else "expand",
                atomic=bool(migration.atomic),
                operations=len(migration.operations),
            )
        )

    def _judge(self, ctx: Context) -> list[Hit]:
        operation: Any = ctx.operation
        if type(operation).__name__ == "SeparateDatabaseAndState":
            return self._judge_separate(ctx)
        found = judge_for(operation)
        if found is None:
            return []
        return list(found(ctx))

    def _judge_separate(self, ctx: Context) -> list[Hit]:
        """Judge the database operations against a scratch copy of the state; check that a
        state-only field removal leaves a column the new code can live with."""
        from headroom.migrationlint.context import column_name, is_required_column

        operation: Any = ctx.operation
        hits: list[Hit] = []
        scratch = ctx.state.clone() if operation.database_operations else ctx.state
        dropped: set[tuple[str, str]] = set()
        for sub in operation.database_operations:
            sub_ctx = Context(**{**ctx.__dict__, "operation": sub, "state": scratch})
            hits.extend(self._judge(sub_ctx))
            if type(sub).__name__ == "RemoveField":
                dropped.add((sub.model_name.lower(), sub.name))
            try:
                sub.state_forwards(ctx.app_label, scratch)
            except Exception:
                break
        for sub in operation.state_operations:
            if type(sub).__name__ != "RemoveField":
                continue
            if (sub.model_name.lower(), sub.name) in dropped or ctx.is_new(sub.model_name):
                continue
            fld = ctx.field(sub.model_name, sub.name)
            if fld is not None and is_required_column(fld):
                values = ctx.field_values(sub.model_name, sub.name, fld)
                hits.append(
                    Hit(
                        "HR110",
                        values,
                        table=values["table"],
                        column=column_name(sub.name, fld),
                    )
                )
        return hits

    def _migration_hits(
        self, migration: Migration, track: MigrationTrack, state: ProjectState
    ) -> list[tuple[int, Hit]]:
        base = {
            "app_label": migration.app_label,
            "migration": f"{migration.app_label}.{migration.name}",
            "migration_name": migration.name,
            "alias": self.alias,
        }
        hits: list[tuple[int, Hit]] = []
        if (
            self.vendor == "postgresql"
            and track.exclusive_locks
            and not self.lock_timeout_everywhere
        ):
            table, index = min(track.exclusive_locks.items(), key=lambda item: item[1])
            hits.append((index, Hit("HR209", {**base, "table": table}, table=table)))
        if track.python_ops and track.schema_changes and migration.atomic:
            table = min(track.schema_changes, key=lambda t: track.schema_changes[t])
            for index, code_name, reverse_name in track.python_ops:
                values = {
                    **base,
                    "table": table,
                    "code_name": code_name,
                    "reverse_name": reverse_name,
                }
                hits.append((index, Hit("HR301", values, table=table)))
        expand = [(i, w) for phase, i, w in track.phases if phase == "expand"]
        contract = [(i, w) for phase, i, w in track.phases if phase == "contract"]
        if expand and contract:
            values = {
                **base,
                "expand_ops": ", ".join(w for _i, w in expand),
                "contract_ops": ", ".join(w for _i, w in contract),
            }
            hits.append((contract[0][0], Hit("HR501", values, whole=True)))
        return hits

    # --- findings ------------------------------------------------------------------------

    def is_active(self, rule: str) -> bool:
        """Whether ``rule`` can fire in this run (not disabled, right database)."""
        if rule in self.disabled:
            return False
        return RULES[rule].get("vendor") != "postgresql" or self.vendor == "postgresql"

    def _display(self, path: str) -> str:
        from headroom.project import display_path

        return display_path(path) if path else ""

    def _severity(self, rule: str, table: str | None) -> tuple[Severity, int | None]:
        spec = RULES[rule]
        severity: Severity = spec["severity"]
        rows = None
        if self.table_sizes is not None and table is not None and spec.get("graded"):
            # A table without statistics (never analysed, or not created yet) keeps the
            # rule's own severity: unknown is not small.
            rows = self.table_sizes.get(table)
        if rows is not None:
            if rows < self.small:
                severity = "info"
            elif rows >= self.large:
                severity = spec.get("large", "error")
        if severity == "warning" and ("*" in self.promote or rule in self.promote):
            severity = "error"
        return severity, rows

    def _finding(self, migration: Migration, path: str, index: int, hit: Hit) -> Finding | None:
        spec = RULES[hit.rule]
        if not self.is_active(hit.rule):
            return None
        values = _SafeValues(hit.values)
        values.setdefault("migration", f"{migration.app_label}.{migration.name}")
        severity, rows = self._severity(hit.rule, hit.table)
        message = spec["message"].format_map(values)
        if rows is not None:
            message += f" (~{rows:,} rows)"
        operation_index: int | None = None if hit.whole else index
        line_index = index if index >= 0 else None
        phase: Phase = spec.get("phase", "expand")
        return Finding(
            rule=hit.rule,
            severity=severity,
            app_label=migration.app_label,
            migration_name=migration.name,
            operation_index=operation_index,
            file=self._display(path),
            line=operation_line(path, line_index, len(migration.operations)),
            message=message,
            fix=spec["fix"].format_map(values),
            phase=phase,
            title=spec["title"],
            table=hit.table,
            column=hit.column,
            table_rows=rows,
            path=path,
        )

    def _meta_finder(self, migration: Migration, path: str) -> Any:
        def make(rule: str, values: dict[str, Any]) -> Finding | None:
            base = {
                "app_label": migration.app_label,
                "migration": f"{migration.app_label}.{migration.name}",
                "migration_name": migration.name,
                **values,
            }
            return self._finding(migration, path, -1, Hit(rule, base, whole=True))

        return make


def project_keys(loader: MigrationLoader) -> set[Key]:
    """Migrations whose files are the project's own code (not Django's, not a library's)."""
    from headroom.project import is_project_file

    keys = set()
    for key, migration in loader.graph.nodes.items():
        path = migration_file(migration)
        if path and is_project_file(os.path.abspath(path)):
            keys.add(key)
    return keys


def keys_added_since(loader: MigrationLoader, revision: str) -> set[Key]:
    from headroom.migrationlint.gitdiff import GitError, added_files

    try:
        added = added_files(revision)
    except GitError as exc:
        raise LintUsageError(f"--since {revision}: {exc}") from exc
    keys = set()
    for key, migration in loader.graph.nodes.items():
        path = migration_file(migration)
        if path and os.path.realpath(path) in added:
            keys.add(key)
    return keys
