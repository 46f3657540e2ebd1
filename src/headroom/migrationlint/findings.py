"""What the linter returns: findings, per-migration summaries and the overall result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from headroom.migrationlint.messages import RULES, Severity, docs_path

Phase = Literal["expand", "contract"]


@dataclass
class Finding:
    """One rule that fired on one operation (or, for a few rules, on a whole migration)."""

    rule: str
    severity: Severity
    app_label: str
    migration_name: str
    #: Position of the operation in ``Migration.operations``; None for a whole migration.
    operation_index: int | None
    #: The migration file as :func:`headroom.project.display_path` shows it.
    file: str
    #: Line of the operation in the migration file (of the class when unknown).
    line: int
    #: One line, with the real names filled in.
    message: str
    #: The safe alternative, code ready to paste.
    fix: str
    phase: Phase
    title: str = ""
    table: str | None = None
    column: str | None = None
    #: Estimated rows in ``table`` when a database was asked (``--database``).
    table_rows: int | None = None
    #: Absolute path of the migration file.
    path: str = ""

    @property
    def migration(self) -> str:
        return f"{self.app_label}.{self.migration_name}"

    @property
    def docs(self) -> str:
        return docs_path(self.rule)

    @property
    def why(self) -> str:
        return RULES[self.rule].get("why", "")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.pop("path")
        data["migration"] = self.migration
        data["docs"] = self.docs
        return data


@dataclass
class MigrationSummary:
    """One linted migration: where it is and which phase it belongs to."""

    app_label: str
    name: str
    file: str
    phase: Phase
    atomic: bool
    operations: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class LintResult:
    """Everything one lint run found. ``findings`` excludes suppressed ones."""

    findings: list[Finding] = field(default_factory=list)
    migrations: list[MigrationSummary] = field(default_factory=list)
    #: Findings silenced by a migration's ``headroom_ignore``, with the reason given.
    suppressed: list[tuple[Finding, str]] = field(default_factory=list)
    vendor: str = ""
    database: str | None = None

    def by_severity(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    @property
    def errors(self) -> list[Finding]:
        return self.by_severity("error")

    @property
    def warnings(self) -> list[Finding]:
        return self.by_severity("warning")

    @property
    def flagged(self) -> set[str]:
        """``app.migration`` of every migration with an error or a warning."""
        return {f.migration for f in self.findings if f.severity != "info"}

    @property
    def exit_code(self) -> int:
        """0 when no finding is an error, 1 otherwise."""
        return 1 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "vendor": self.vendor,
            "database": self.database,
            "summary": {
                "migrations": len(self.migrations),
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "infos": len(self.by_severity("info")),
                "suppressed": len(self.suppressed),
            },
            "findings": [f.to_dict() for f in self.findings],
            "suppressed": [{**f.to_dict(), "reason": reason} for f, reason in self.suppressed],
            "migrations": [m.to_dict() for m in self.migrations],
        }
