"""The headline: requests per second sustained within the SLO, and what breaks first, and why."""

from __future__ import annotations

from typing import Any

from headroom.doctor.findings import Finding
from headroom.doctor.records import RouteSummary, mean

STOP_REASONS = {
    "slo": "a URL pattern's p95 broke the SLO",
    "errors": "the error rate passed its limit",
    "throughput": "throughput stopped growing (the server is saturated)",
    "max_users": "the largest step ran within the SLO",
    "interrupted": "the load run was interrupted",
}


def _why(summary: RouteSummary | None, findings: list[Finding]) -> str:
    """Where one URL pattern's time goes, in words, from the server's own records."""
    parts: list[str] = []
    if summary is not None and summary.requests:
        streaming = mean(summary.stream_ms)
        busy = mean(summary.server_ms) + streaming
        queries = mean([float(q) for q in summary.queries])
        spent = [
            (mean(summary.outbound_ms), "waiting on outbound HTTP"),
            (mean(summary.email_ms), "sending email"),
            (mean(summary.db_ms), f"in {queries:.0f} SQL queries"),
            (streaming, "streaming the body"),
        ]
        details = [f"{ms:.0f} ms {what}" for ms, what in sorted(spent, reverse=True) if ms >= 1]
        text = f"each request holds a worker {busy:.0f} ms"
        if details:
            text += " (" + ", ".join(details) + ")"
        waiting = mean(summary.queue_ms)
        if waiting >= 1.0:
            text += f", and waited {waiting:.0f} ms for a free worker first"
        parts.append(text)
    top = [f for f in findings if f.severity == "error"][:2] or findings[:1]
    if top:
        parts.append("cause: " + "; ".join(f.title for f in top))
    return "; ".join(parts) if parts else "no server records were joined for it"


def headline(
    *,
    steps: list[dict[str, Any]],
    stopped_because: str,
    slo_p95_ms: float,
    max_error_rate: float,
    target_patterns: dict[str, str],
    routes: dict[str, RouteSummary],
    findings: list[Finding],
) -> dict[str, Any]:
    within = [s for s in steps if not s.get("broken_targets") and s["error_rate"] <= max_error_rate]
    best = max(within, key=lambda s: s["rps"], default=None)
    result: dict[str, Any] = {
        "rps_at_slo": round(best["rps"], 1) if best else 0.0,
        "users_at_slo": best["users"] if best else 0,
        "slo_p95_ms": slo_p95_ms,
        "max_users_tested": steps[-1]["users"] if steps else 0,
        "stopped_because": stopped_because,
        "stopped_because_text": STOP_REASONS.get(stopped_because, stopped_because),
        "first_to_break": None,
        "saturated_at_users": None,
        "slowest": None,
    }
    if not steps or stopped_because in ("max_users", "interrupted"):
        return result
    last = steps[-1]
    targets = last["targets"]
    if stopped_because == "slo" and last.get("broken_targets"):
        name = max(last["broken_targets"], key=lambda n: targets[n]["p95_ms"])
    elif stopped_because == "errors":
        name = max(targets, key=lambda n: targets[n]["error_rate"])
    else:
        name = max(targets, key=lambda n: targets[n]["p95_ms"])
    entry = _target_entry(name, last, target_patterns, routes, findings)
    if stopped_because == "throughput":
        # Saturated before anything broke: name the slowest pattern, not a breaker.
        result["saturated_at_users"] = last["users"]
        result["slowest"] = entry
    else:
        result["first_to_break"] = entry
    return result


def _target_entry(
    name: str,
    step: dict[str, Any],
    target_patterns: dict[str, str],
    routes: dict[str, RouteSummary],
    findings: list[Finding],
) -> dict[str, Any]:
    stats = step["targets"][name]
    pattern = target_patterns.get(name, name.split(" ", 1)[-1])
    related = sorted((f for f in findings if f.url_pattern == pattern), key=lambda f: f.sort_key())
    return {
        "url_pattern": pattern,
        "target": name,
        "users": step["users"],
        "p95_ms": round(stats["p95_ms"], 1),
        "error_rate": round(stats["error_rate"], 4),
        "reason": _why(routes.get(pattern), related),
    }
