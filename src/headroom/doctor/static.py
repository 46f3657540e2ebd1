"""The doctor's static pass: headroom's system checks and the migration linter, as findings."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
from typing import Any

from headroom.doctor.findings import Finding, Location

_LEVEL_SEVERITY = {40: "error", 50: "error", 30: "warning", 20: "info", 10: "info"}
# Which setting each check is about, to point at the line that sets it.
_CHECK_SETTING = {
    "headroom.W001": "CACHES",
    "headroom.W002": "DEBUG",
    "headroom.W003": "DATABASES",
    "headroom.W004": "LOGGING",
    "headroom.W005": "EMAIL_BACKEND",
}


def setting_location(name: str) -> Location | None:
    """The line of the settings module that assigns ``name`` (or its last assignment)."""
    from headroom.project import display_path

    module = os.environ.get("DJANGO_SETTINGS_MODULE")
    if not module:
        return None
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    try:
        with open(spec.origin, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError):
        return None
    line = None
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            line = getattr(node, "lineno", None)
    if line is None:
        return None
    return Location(file=display_path(spec.origin), line=line)


def check_findings() -> list[Finding]:
    from django.core import checks

    findings = []
    for message in checks.run_checks(tags=["headroom"], include_deployment_checks=True):
        if message.is_silenced() or not message.id:
            continue
        setting = _CHECK_SETTING.get(message.id)
        findings.append(
            Finding(
                kind=message.id,
                severity=_LEVEL_SEVERITY.get(message.level, "warning"),  # type: ignore[arg-type]
                title=message.msg,
                fix=message.hint or "",
                location=setting_location(setting) if setting else None,
                evidence={"check": message.id},
            )
        )
    return findings


def migration_findings() -> tuple[list[Finding], str | None]:
    """Lint the project's own migrations; the second value says why it was skipped."""
    if importlib.util.find_spec("headroom.migrationlint") is None:
        return [], "the migration linter is not available in this version"
    module: Any = importlib.import_module("headroom.migrationlint")
    result = module.lint(project_only=True)
    findings = []
    for problem in result.findings:
        findings.append(
            Finding(
                kind=problem.rule,
                severity=problem.severity,
                title=f"{problem.app_label}.{problem.migration_name}: {problem.message}",
                fix=problem.fix,
                location=Location(file=problem.file, line=int(problem.line)),
                evidence={
                    "rule": problem.rule,
                    "migration": f"{problem.app_label}.{problem.migration_name}",
                    "operation_index": problem.operation_index,
                    "phase": problem.phase,
                },
            )
        )
    return findings, None
