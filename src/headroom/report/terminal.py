"""The terminal summary: the headline, then the findings, worst first."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def where(finding: dict[str, Any]) -> str:
    loc = finding.get("location")
    if not loc:
        return ""
    text = f"{loc['file']}:{loc['line']}"
    if loc.get("template"):
        return f"{loc['template']}:{loc['template_line']} (rendered from {text})"
    return text


def users(count: int) -> str:
    return f"{count} concurrent user{'s' if count != 1 else ''}"


def render(report: dict[str, Any], console: Console, *, max_findings: int = 20) -> None:
    head = report["headroom"]
    lines = [
        f"[bold]{head['rps_at_slo']:.1f} requests/s[/] sustained within the SLO "
        f"(p95 <= {head['slo_p95_ms']:.0f} ms), at {users(head['users_at_slo'])}."
    ]
    first = head.get("first_to_break")
    if first:
        lines.append(
            f"First to break: [bold]{escape(first['target'])}[/] at {users(first['users'])}, "
            f"p95 {first['p95_ms']:.0f} ms: {escape(first['reason'])}."
        )
    slowest = head.get("slowest")
    if slowest:
        lines.append(
            f"Saturated at {users(slowest['users'])} before any URL pattern broke the SLO. "
            f"Slowest: [bold]{escape(slowest['target'])}[/], p95 {slowest['p95_ms']:.0f} ms: "
            f"{escape(slowest['reason'])}."
        )
    lines.append(f"[dim]Stopped because {escape(head['stopped_because_text'])}.[/]")
    console.print(Panel("\n".join(lines), title="headroom", expand=False))

    findings = report["findings"]
    if not findings:
        console.print("No findings.")
    for number, finding in enumerate(findings[:max_findings], 1):
        style = _STYLE.get(finding["severity"], "")
        console.print(
            f"[{style}]{number:>2}. {finding['severity'].upper():7}[/] "
            f"[dim]{escape(finding['kind'])}[/]  {escape(finding['title'])}"
        )
        place = where(finding)
        if place:
            console.print(f"      at {escape(place)}")
        fix = (finding.get("fix") or "").strip().splitlines()
        if fix:
            console.print(f"      [green]fix:[/] {escape(fix[0])}")
            for line in fix[1:6]:
                console.print(f"           {escape(line)}")
    if len(findings) > max_findings:
        console.print(f"... and {len(findings) - max_findings} more in the report.")

    steps = report["steps"]
    if steps:
        table = Table(title="load steps", show_edge=False)
        for column in ("users", "req/s", "p50 ms", "p95 ms", "errors", "broke the SLO"):
            table.add_column(column, justify="right" if column != "broke the SLO" else "left")
        for step in steps:
            table.add_row(
                str(step["users"]),
                f"{step['rps']:.1f}",
                f"{step['p50_ms']:.0f}",
                f"{step['p95_ms']:.0f}",
                str(step["failures"]),
                escape(", ".join(step.get("broken_targets") or [])),
            )
        console.print(table)
