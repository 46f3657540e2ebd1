"""The doctor's static pass: headroom's system checks, the database server settings audit
and the migration linter, as findings."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from typing import Any

from headroom.doctor.findings import Finding, Location

_LEVEL_SEVERITY = {40: "error", 50: "error", 30: "warning", 20: "info", 10: "info"}


def _assignments(tree: ast.Module, name: str) -> list[ast.Assign | ast.AnnAssign]:
    found: list[ast.Assign | ast.AnnAssign] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            found.append(node)
    return sorted(found, key=lambda n: n.lineno)


def setting_location(name: str, keys: tuple[str, ...] = ()) -> Location | None:
    """The line of the settings module that gave ``name`` its current value.

    Of several assignments (``if``/``else`` branches), the one whose expression evaluates
    to the live value is chosen. ``keys`` then descends into a dict literal, so a cache
    backend points at its ``"BACKEND"`` line.
    """
    from django.conf import settings

    from headroom.project import display_path

    module_name = os.environ.get("DJANGO_SETTINGS_MODULE")
    module = sys.modules.get(module_name or "")
    filename = getattr(module, "__file__", None)
    if module is None or not filename or not filename.endswith(".py"):
        return None
    try:
        with open(filename, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError):
        return None
    candidates = _assignments(tree, name)
    if not candidates:
        return None
    live = getattr(settings, name, None)
    chosen = candidates[-1]
    for node in candidates:
        assert node.value is not None
        try:
            code = compile(ast.Expression(node.value), filename, "eval")
            value = eval(code, dict(vars(module)))  # the project's own settings
        except Exception:  # an expression that cannot be re-evaluated
            continue
        if value == live:
            chosen = node
            break
    line = chosen.lineno
    expr: ast.expr | None = chosen.value
    for key in keys:
        if not isinstance(expr, ast.Dict):
            break
        for k, v in zip(expr.keys, expr.values, strict=True):
            if isinstance(k, ast.Constant) and k.value == key:
                line, expr = k.lineno, v
                break
        else:
            break
    return Location(file=display_path(filename), line=line)


def _setting_keys(check_id: str) -> tuple[str, tuple[str, ...]] | None:
    """Which setting (and which keys inside it) a deployment check is about."""
    from django.conf import settings

    from headroom.checks.deployment import FILE_CACHE

    if check_id == "headroom.W001":
        for alias, config in settings.CACHES.items():
            if config.get("BACKEND") == FILE_CACHE:
                return "CACHES", (alias, "BACKEND")
    if check_id == "headroom.W003":
        databases: dict[str, dict[str, Any]] = getattr(settings, "DATABASES", {})
        for alias, config in databases.items():
            if not config.get("CONN_MAX_AGE"):
                return "DATABASES", (alias,)
    simple = {
        "headroom.W002": "DEBUG",
        "headroom.W004": "LOGGING",
        "headroom.W005": "EMAIL_BACKEND",
    }
    return (simple[check_id], ()) if check_id in simple else None


def check_findings() -> list[Finding]:
    from django.core import checks

    findings = []
    for message in checks.run_checks(tags=["headroom"], include_deployment_checks=True):
        if message.is_silenced() or not message.id:
            continue
        setting = _setting_keys(message.id)
        findings.append(
            Finding(
                kind=message.id,
                severity=_LEVEL_SEVERITY.get(message.level, "warning"),  # type: ignore[arg-type]
                title=message.msg,
                fix=message.hint or "",
                location=setting_location(*setting) if setting else None,
                evidence={"check": message.id},
            )
        )
    return findings + dbconfig_findings()


def dbconfig_findings() -> list[Finding]:
    """The database server settings audit (headroom.dbconfig) of every database alias."""
    from django.conf import settings

    from headroom.dbconfig import audit
    from headroom.indexes.inventory import replicas_of

    findings = []
    aliases = list(settings.DATABASES)
    replicas = {r for alias in aliases for r in replicas_of(alias)}
    for alias in aliases:
        if alias in replicas:
            continue
        result = audit(alias)
        for item in result.recommendations:
            findings.append(
                Finding(
                    kind=item.check_id,
                    severity=item.severity,  # type: ignore[arg-type]
                    title=f"DATABASES[{alias!r}] ({item.vendor}): {item.setting} is "
                    f"{item.current}; recommended {item.recommended}",
                    fix=f"{item.why}.\n{item.fix}",
                    location=setting_location("DATABASES", (alias,))
                    if item.vendor == "SQLite"
                    else None,
                    evidence={
                        "check": item.check_id,
                        "alias": alias,
                        "vendor": item.vendor,
                        "setting": item.setting,
                        "current": item.current,
                        "recommended": item.recommended,
                        "statement": item.fix,
                        "restart": item.restart,
                        **{k: v for k, v in result.facts.items() if k.startswith("connection")},
                    },
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
