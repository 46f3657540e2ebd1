"""``headroom_ignore`` on a Migration: silence a rule, with a reason, and notice when the
silence no longer covers anything.

    class Migration(migrations.Migration):
        headroom_ignore = {
            "HR101": "column unused since release 4.2",   # every operation
            "HR201:3": "table has 40 rows",                # operation 3 only
        }
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from headroom.migrationlint.findings import Finding
from headroom.migrationlint.messages import RULES

_KEY = re.compile(r"^(HR\d{3})(?::(\d+))?$")
#: The linter's complaints about suppressions cannot themselves be suppressed.
UNSUPPRESSIBLE = frozenset({"HR901", "HR902"})

MakeFinding = Callable[[str, dict[str, Any]], "Finding | None"]


def _parse(key: Any, reason: Any, operations: int) -> tuple[str, int | None] | str:
    """(rule, operation index) for a valid entry, else the problem as a sentence."""
    match = _KEY.match(key) if isinstance(key, str) else None
    if match is None:
        return "is not a rule id: write 'HR101', or 'HR101:3' for operation 3 only."
    rule, index = match.group(1), match.group(2)
    if rule not in RULES:
        return f"names no rule: {rule} does not exist (see docs/migrationlint/)."
    if rule in UNSUPPRESSIBLE:
        return f"cannot silence {rule}: fix the suppression instead."
    if index is not None and int(index) >= operations:
        return f"points at operation {index}, but the migration has {operations}."
    if not isinstance(reason, str) or not reason.strip():
        return "has no reason: say why the finding does not apply, for the next reader."
    return rule, int(index) if index is not None else None


def apply_suppressions(
    migration: Any,
    findings: list[Finding],
    make: MakeFinding,
    is_active: Callable[[str], bool] = lambda rule: True,
) -> tuple[list[Finding], list[tuple[Finding, str]], list[Finding]]:
    """Split ``findings`` into (kept, suppressed with reason, findings about suppressions)."""
    raw = getattr(migration, "headroom_ignore", None) or {}
    meta: list[Finding | None] = []
    if not isinstance(raw, dict):
        meta.append(
            make("HR901", {"key": "headroom_ignore", "problem": "must be a dict of id: reason."})
        )
        return findings, [], [m for m in meta if m is not None]
    entries: dict[str, tuple[str, int | None, str]] = {}
    for key, reason in raw.items():
        parsed = _parse(key, reason, len(migration.operations))
        if isinstance(parsed, str):
            meta.append(make("HR901", {"key": key, "problem": parsed}))
        else:
            entries[key] = (parsed[0], parsed[1], reason)
    kept: list[Finding] = []
    suppressed: list[tuple[Finding, str]] = []
    used: set[str] = set()
    for finding in findings:
        match = next(
            (
                key
                for key, (rule, index, _reason) in entries.items()
                if rule == finding.rule and index in (None, finding.operation_index)
            ),
            None,
        )
        if match is None or finding.rule in UNSUPPRESSIBLE:
            kept.append(finding)
        else:
            used.add(match)
            suppressed.append((finding, entries[match][2]))
    for key, (rule, _index, _reason) in entries.items():
        if key in used or not is_active(rule):
            continue
        remaining = ", ".join(f"{k!r}: {v!r}" for k, v in raw.items() if k != key)
        meta.append(make("HR902", {"key": key, "remaining": remaining}))
    return kept, suppressed, [m for m in meta if m is not None]
