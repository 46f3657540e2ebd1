"""``headroom compare OLD.json NEW.json``: the regression gate for CI.

Two doctor reports of the same project are compared: the requests per second sustained
within the SLO, what breaks first, each load target's p95 at the concurrency both runs
reached, and which findings are new or gone. A finding is the same finding across runs when
its kind, URL pattern and file (or template) match: line numbers move with every edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def finding_key(finding: dict[str, Any]) -> tuple[str, str, str, str]:
    loc = finding.get("location") or {}
    evidence = finding.get("evidence") or {}
    detail = str(
        evidence.get("relation")
        or evidence.get("migration")
        or evidence.get("host")
        or evidence.get("table")
        or evidence.get("check")
        or ""
    )
    place = str(loc.get("template") or loc.get("file") or "")
    return (str(finding["kind"]), str(finding.get("url_pattern") or ""), place, detail)


@dataclass
class Comparison:
    old_rps: float
    new_rps: float
    new_findings: list[dict[str, Any]] = field(default_factory=list)
    gone_findings: list[dict[str, Any]] = field(default_factory=list)
    #: target name -> (users, old p95, new p95), at the largest step both runs measured.
    p95_changes: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    old_first: str | None = None
    new_first: str | None = None

    @property
    def rps_change(self) -> float:
        """Relative change of requests/s within the SLO (-0.25: a quarter fewer)."""
        if self.old_rps <= 0:
            return 0.0 if self.new_rps <= 0 else float("inf")
        return (self.new_rps - self.old_rps) / self.old_rps

    def new_errors(self) -> list[dict[str, Any]]:
        return [f for f in self.new_findings if f["severity"] == "error"]

    def regressed(self, max_rps_drop: float) -> list[str]:
        """Why this comparison fails the gate (empty: it passes)."""
        reasons = []
        if self.rps_change < -max_rps_drop:
            reasons.append(
                f"requests/s within the SLO fell {-self.rps_change:.0%} "
                f"({self.old_rps:.1f} -> {self.new_rps:.1f}; allowed: {max_rps_drop:.0%})"
            )
        if self.new_errors():
            reasons.append(f"{len(self.new_errors())} new error-level finding(s)")
        return reasons

    def to_dict(self, max_rps_drop: float) -> dict[str, Any]:
        return {
            "rps_at_slo": {"old": self.old_rps, "new": self.new_rps, "change": self.rps_change},
            "first_to_break": {"old": self.old_first, "new": self.new_first},
            "p95_ms": {
                name: {"users": users, "old": old, "new": new}
                for name, (users, old, new) in self.p95_changes.items()
            },
            "new_findings": self.new_findings,
            "gone_findings": self.gone_findings,
            "regressions": self.regressed(max_rps_drop),
        }


def _first(report: dict[str, Any]) -> str | None:
    first = report["headroom"].get("first_to_break")
    return str(first["target"]) if first else None


def compare(old: dict[str, Any], new: dict[str, Any]) -> Comparison:
    result = Comparison(
        old_rps=float(old["headroom"]["rps_at_slo"]),
        new_rps=float(new["headroom"]["rps_at_slo"]),
        old_first=_first(old),
        new_first=_first(new),
    )
    old_keys = {finding_key(f) for f in old["findings"]}
    new_keys = {finding_key(f) for f in new["findings"]}
    result.new_findings = [f for f in new["findings"] if finding_key(f) not in old_keys]
    result.gone_findings = [f for f in old["findings"] if finding_key(f) not in new_keys]
    old_steps = {s["users"]: s for s in old["steps"]}
    shared = [s for s in new["steps"] if s["users"] in old_steps]
    if shared:
        step = shared[-1]
        before = old_steps[step["users"]]
        for name, stats in sorted(step["targets"].items()):
            if name in before["targets"]:
                result.p95_changes[name] = (
                    int(step["users"]),
                    float(before["targets"][name]["p95_ms"]),
                    float(stats["p95_ms"]),
                )
    return result


def render_text(result: Comparison, max_rps_drop: float) -> str:
    lines = [
        f"requests/s within the SLO: {result.old_rps:.1f} -> {result.new_rps:.1f} "
        f"({result.rps_change:+.0%})",
    ]
    if result.old_first != result.new_first:
        lines.append(
            f"first to break: {result.old_first or 'nothing'} -> {result.new_first or 'nothing'}"
        )
    if result.p95_changes:
        users = next(iter(result.p95_changes.values()))[0]
        lines.append(f"p95 at {users} concurrent user{'s' if users != 1 else ''}:")
        for name, (_, before, after) in result.p95_changes.items():
            change = f"{(after - before) / before:+.0%}" if before else "new"
            lines.append(f"  {name:50} {before:8.0f} ms -> {after:8.0f} ms  {change}")
    for title, rows in (("new findings", result.new_findings), ("gone", result.gone_findings)):
        lines.append(f"{title}: {len(rows)}")
        for finding in rows:
            lines.append(f"  {finding['severity']:7} {finding['kind']}: {finding['title']}")
    reasons = result.regressed(max_rps_drop)
    lines.append("REGRESSION: " + "; ".join(reasons) if reasons else "no regression")
    return "\n".join(lines)
