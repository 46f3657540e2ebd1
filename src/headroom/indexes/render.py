"""Plain-text output of ``headroom indexes``."""

from __future__ import annotations

from typing import Any

from headroom.indexes.advisor import Advice, AdviceReport


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def _unit(unit: str) -> str:
    return "planner cost" if unit == "cost" else "ms (timed on a copy)"


def advice_lines(report: AdviceReport) -> list[str]:
    lines = [
        f"Missing indexes on database {report.alias!r} ({report.vendor}): "
        f"{report.analysed} statement(s) analysed, proof: {report.method}, "
        f"in {report.seconds:.1f} s."
    ]
    if not report.advice:
        lines.append("  None: no index the planner would use cuts a statement's cost by half.")
    for number, advice in enumerate(report.advice, 1):
        lines += _one(number, advice)
    for note in report.notes:
        lines.append(f"  note: {note}")
    return lines


def _one(number: int, advice: Advice) -> list[str]:
    before = sum(g.query.weight * g.before.cost for g in advice.gains)
    after = sum(g.query.weight * g.after.cost for g in advice.gains)
    factor = f" ({before / after:,.0f}x less)" if after else ""
    lines = [
        "",
        f"{number}. {advice.label}: {advice.candidate.describe()}, "
        f"{advice.rows:,} rows; workload {_unit(advice.unit)} {_number(before)} -> "
        f"{_number(after)}{factor}",
        f"   Meta.indexes: {advice.django.expression}",
    ]
    for gain in advice.gains:
        routes = ", ".join(f"{r} ({n}x)" for r, n in gain.query.routes.most_common(3)) or (
            ", ".join(sorted(gain.query.sources))
        )
        where = ", ".join(loc for loc, _ in gain.query.locations.most_common(2))
        lines.append(
            f"   faster: {routes}{' at ' + where if where else ''}: "
            f"{_number(gain.before.cost)} -> {_number(gain.after.cost)} per execution"
        )
        lines.append(f"      {gain.query.sql[:160]}{'...' if len(gain.query.sql) > 160 else ''}")
    if advice.write_rows:
        lines.append(f"   write cost weighed: {advice.write_rows:,} rows written to the table")
    return lines


def inventory_lines(report: Any) -> list[str]:
    lines = [
        f"Index inventory of database {report.alias!r} ({report.vendor})"
        + (f", scans counted on {', '.join(report.counted_on)}" if report.counted_on else "")
        + ":"
    ]
    if not report.problems:
        lines.append("  Nothing to remove: no unused, duplicate or invalid index.")
    for number, problem in enumerate(report.problems, 1):
        lines += [
            "",
            f"{number}. {problem.kind.upper()} {problem.table}.{problem.index} "
            f"({problem.size_text}): {problem.reason}",
            f"   declared by: {problem.declared_by}",
        ]
        if problem.proof:
            lines.append(f"   proof: {problem.proof}")
        lines += ["   fix:", *(f"      {line}" for line in problem.fix.splitlines())]
    for note in report.notes:
        lines.append(f"  note: {note}")
    return lines
