"""Renderers of a :class:`LintResult`: text for people, JSON, GitHub annotations, SARIF."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from headroom import __version__
from headroom.migrationlint.findings import Finding, LintResult
from headroom.migrationlint.messages import RULES, docs_path


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def render_text(result: LintResult, *, verbose: bool = False) -> str:
    shown = [f for f in result.findings if verbose or f.severity != "info"]
    lines: list[str] = []
    current = None
    for finding in shown:
        if finding.migration != current:
            current = finding.migration
            lines.append("")
            lines.append(f"{finding.migration}  ({finding.file})")
        where = f"{finding.file}:{finding.line}"
        lines.append(f"  {where}: {finding.rule} {finding.severity} [{finding.phase}]")
        lines.append(f"    {finding.message}")
        lines.append("    Safe alternative:")
        lines.append(_indent(finding.fix, "      "))
        lines.append(f"    Why: {finding.docs}")
    infos = len(result.by_severity("info"))
    summary = (
        f"{len(result.migrations)} migration(s) linted ({result.vendor} rules): "
        f"{len(result.errors)} error(s), {len(result.warnings)} warning(s), {infos} note(s)"
    )
    if result.suppressed:
        summary += f", {len(result.suppressed)} suppressed"
    if infos and not verbose:
        summary += " (notes shown with --verbose)"
    lines.append("")
    lines.append(summary + ".")
    return "\n".join(lines).lstrip("\n")


def render_json(result: LintResult) -> str:
    return json.dumps(result.to_dict(), indent=2)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(result: LintResult) -> str:
    """GitHub Actions workflow commands: one annotation per finding, on its line."""
    commands = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in result.findings:
        props = ",".join(
            [
                f"file={_escape_property(f.file)}",
                f"line={f.line}",
                f"title={_escape_property(f'{f.rule} {f.title}')}",
            ]
        )
        body = f"{f.message}\n\nSafe alternative:\n{f.fix}"
        lines.append(f"::{commands[f.severity]} {props}::{_escape_data(body)}")
    return "\n".join(lines)


_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def sarif_document(result: LintResult) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run, every rule described, one result per finding."""
    rule_ids = sorted(RULES)
    rules = [
        {
            "id": rule_id,
            "name": RULES[rule_id]["title"],
            "shortDescription": {"text": RULES[rule_id]["title"].replace("-", " ")},
            "fullDescription": {"text": RULES[rule_id]["why"]},
            "help": {"text": f"{RULES[rule_id]['why']} See {docs_path(rule_id)}."},
            "defaultConfiguration": {"level": _SARIF_LEVEL[RULES[rule_id]["severity"]]},
            "properties": {"category": RULES[rule_id]["category"], "docs": docs_path(rule_id)},
        }
        for rule_id in rule_ids
    ]
    results = [_sarif_result(f, rule_ids.index(f.rule)) for f in result.findings]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "headroom lint-migrations",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def _sarif_result(f: Finding, rule_index: int) -> dict[str, Any]:
    return {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": _SARIF_LEVEL[f.severity],
        "message": {"text": f"{f.message}\n\nSafe alternative:\n{f.fix}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": f.file.replace("\\", "/")},
                    "region": {"startLine": max(f.line, 1)},
                },
                "logicalLocations": [
                    {"name": f.migration, "kind": "module", "fullyQualifiedName": f.migration}
                ],
            }
        ],
        "partialFingerprints": {
            "headroomFinding/v1": f"{f.rule}:{f.migration}:{f.operation_index}",
        },
        "properties": {
            "phase": f.phase,
            "operationIndex": f.operation_index,
            "fix": f.fix,
            "table": f.table,
            "column": f.column,
        },
    }


def render_sarif(result: LintResult) -> str:
    return json.dumps(sarif_document(result), indent=2)


RENDERERS: dict[str, Callable[[LintResult], str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
}
