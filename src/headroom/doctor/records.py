"""The probe's capture records, read back and joined with what the load client saw."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def read_spool(spool_dir: Path) -> list[dict[str, Any]]:
    """Every record in ``spool_dir/probe-*.jsonl`` (see docs/spool.md)."""
    records = []
    for path in sorted(spool_dir.glob("probe-*.jsonl")):
        with path.open() as handle:
            for line in handle:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue  # a worker stopped mid-write
    return records


def route_of(record: dict[str, Any]) -> str:
    route = record.get("route")
    if route is None:
        return str(record.get("path") or "?")
    return "/" + str(route).lstrip("^")


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(0.95 * len(ordered) + 0.5) - 1))]


@dataclass
class RouteSummary:
    """Where the time of one URL pattern's requests went, server and client side."""

    url_pattern: str
    view: str | None
    requests: int = 0
    errors: int = 0
    server_ms: list[float] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    outbound_ms: list[float] = field(default_factory=list)
    email_ms: list[float] = field(default_factory=list)
    stream_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    queue_ms: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url_pattern": self.url_pattern,
            "view": self.view,
            "requests": self.requests,
            "errors": self.errors,
            "server": {
                "mean_ms": round(mean(self.server_ms), 2),
                "p95_ms": round(p95(self.server_ms), 2),
                "db_ms": round(mean(self.db_ms), 2),
                "queries": round(mean([float(q) for q in self.queries]), 1),
                "outbound_ms": round(mean(self.outbound_ms), 2),
                "email_ms": round(mean(self.email_ms), 2),
                "stream_ms": round(mean(self.stream_ms), 2),
            },
            "client": {
                "mean_ms": round(mean(self.client_ms), 2),
                "p95_ms": round(p95(self.client_ms), 2),
                # Client latency minus the server's time (handling and streaming the body):
                # waiting for a free worker, and the wire.
                "waiting_ms": round(mean(self.queue_ms), 2),
            },
        }


def summarise_routes(
    records: list[dict[str, Any]], client_records: list[dict[str, Any]]
) -> dict[str, RouteSummary]:
    """Per URL pattern: server-side time split, and client latency for the same requests."""
    by_rid = {row["rid"]: row for row in client_records if row.get("rid")}
    routes: dict[str, RouteSummary] = {}
    for record in records:
        pattern = route_of(record)
        summary = routes.get(pattern)
        if summary is None:
            summary = routes[pattern] = RouteSummary(pattern, record.get("view"))
        summary.requests += 1
        if int(record.get("status") or 0) >= 500:
            summary.errors += 1
        server = float(record.get("duration_ms") or 0.0)
        summary.server_ms.append(server)
        stream = float((record.get("response") or {}).get("stream_ms") or 0.0)
        summary.stream_ms.append(stream)
        db = record.get("db") or {}
        summary.db_ms.append(float(db.get("time_ms") or 0.0))
        summary.queries.append(int(db.get("count") or 0))
        summary.outbound_ms.append(
            sum(float(c["duration_ms"]) for c in record.get("outbound") or [])
        )
        summary.email_ms.append(sum(float(e["duration_ms"]) for e in record.get("emails") or []))
        client = by_rid.get(record.get("request_id"))
        if client is not None:
            summary.client_ms.append(float(client["ms"]))
            summary.queue_ms.append(max(0.0, float(client["ms"]) - server - stream))
    return routes


def joined_fraction(records: list[dict[str, Any]], client_records: list[dict[str, Any]]) -> float:
    """How many client requests found their server record (a health figure for the run)."""
    rids = {r.get("request_id") for r in records}
    sent = [row for row in client_records if row.get("rid")]
    if not sent:
        return 0.0
    return sum(1 for row in sent if row["rid"] in rids) / len(sent)


def group(rows: list[tuple[Any, dict[str, Any]]]) -> dict[Any, list[dict[str, Any]]]:
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for key, row in rows:
        grouped[key].append(row)
    return grouped
