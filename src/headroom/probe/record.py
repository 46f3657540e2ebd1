"""Turning a finished request's state into the spool record, production events and logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headroom.conf import HeadroomSettings
from headroom.probe import aggregates, spool
from headroom.probe.state import RequestState, logger


@dataclass(slots=True)
class Finished:
    """What the middleware learned about the request and its response."""

    state: RequestState
    settings: HeadroomSettings
    method: str
    path: str
    route: str | None
    view: str | None
    status: int
    duration_ms: float
    content_type: str | None
    streaming: bool
    bytes: int | None = None
    chunks: int | None = None
    #: For a streamed body: time from the response being returned until the stream ended.
    stream_ms: float | None = None


def n_plus_one(state: RequestState) -> list[dict[str, Any]]:
    """The N+1 events of the request, with their final counts and times."""
    found = []
    for key, event in state.n_plus_one.items():
        stats = state.queries[key]
        found.append({**event, "count": stats.count, "time_ms": stats.time * 1000.0})
    return found


def build_record(done: Finished, n1: list[dict[str, Any]]) -> dict[str, Any]:
    """The capture record of docs/spool.md."""
    state = done.state
    return {
        "v": spool.VERSION,
        "request_id": state.request_id,
        "start": state.start,
        "method": done.method,
        "path": done.path,
        "route": done.route,
        "view": done.view,
        "status": done.status,
        "duration_ms": done.duration_ms,
        "db": {"count": state.db_count, "time_ms": state.db_time * 1000.0},
        "queries": [
            {
                "alias": alias,
                "fingerprint": fingerprint,
                "count": stats.count,
                "time_ms": stats.time * 1000.0,
                "max_ms": stats.max * 1000.0,
                "rows": stats.rows,
                "sql": stats.sql,
                "params": spool.jsonable(stats.params),
                "many": stats.many,
                **(
                    {"location": stats.location, "template": stats.template}
                    if state.locate_queries
                    else {}
                ),
            }
            for (alias, fingerprint), stats in state.queries.items()
        ],
        "n_plus_one": n1,
        "slow_queries": [
            {**event, "params": spool.jsonable(event["params"])} for event in state.slow_queries
        ],
        "outbound": state.outbound,
        "emails": state.emails,
        "response": {
            "bytes": done.bytes,
            "streaming": done.streaming,
            "chunks": done.chunks,
            "mean_chunk_bytes": (
                done.bytes / done.chunks
                if done.chunks and done.bytes is not None
                else (0.0 if done.chunks == 0 else None)
            ),
            "content_type": done.content_type,
            "stream_ms": done.stream_ms,
        },
        "probe_errors": state.probe_errors,
    }


def _where(event: dict[str, Any]) -> str:
    parts = []
    location = event.get("location")
    if location:
        parts.append(f"{location['file']}:{location['line']} in {location['function']}")
    template = event.get("template")
    if template:
        parts.append(f"template {template['name']}:{template['line']}")
    return ", ".join(parts) or "no project frame on the stack"


def log_n_plus_one(done: Finished, event: dict[str, Any]) -> None:
    relation = event["relation"] or f"{event['table']}.{event['column']}"
    fix = f"; load it up front with .{event['fix']}" if event.get("fix") else ""
    logger.warning(
        "N+1 queries in %s %s: %s read %d times in one request (%.1f ms) at %s%s. SQL: %s",
        done.method,
        done.route or done.path,
        relation,
        event["count"],
        event["time_ms"],
        _where(event),
        fix,
        event["fingerprint"],
    )


def publish(done: Finished) -> None:
    """Aggregates and events (production and capture), and the record (capture)."""
    state = done.state
    settings = done.settings
    aggregates.add_request(
        done.route, done.status, done.duration_ms, state.db_time * 1000.0, state.db_count
    )
    n1 = n_plus_one(state) if state.n_plus_one else []
    slow_request = done.duration_ms > settings.SLOW_REQUEST_MS
    if n1 or state.slow_queries or slow_request:
        about = {
            "time": state.start,
            "request_id": state.request_id,
            "method": done.method,
            "path": done.path,
            "route": done.route,
            "view": done.view,
        }
        size = settings.EVENT_BUFFER_SIZE
        for event in n1:
            aggregates.add_event({"kind": "n_plus_one", **about, **event}, size)
            log_n_plus_one(done, event)
        for slow in state.slow_queries:
            # Production memory keeps no parameter values: they may be personal data.
            kept = {k: v for k, v in slow.items() if k != "params"}
            aggregates.add_event({"kind": "slow_query", **about, **kept}, size)
        if slow_request:
            aggregates.add_event(
                {
                    "kind": "slow_request",
                    **about,
                    "status": done.status,
                    "duration_ms": done.duration_ms,
                    "db_ms": state.db_time * 1000.0,
                    "queries": state.db_count,
                },
                size,
            )
    if settings.PROBE_MODE == "capture" and settings.SPOOL_DIR:
        spool.write(settings.SPOOL_DIR, build_record(done, n1))
