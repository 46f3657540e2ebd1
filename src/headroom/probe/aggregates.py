"""Production mode's memory: per-route totals and a bounded buffer of notable events.

Cheap to update (one lock, a few additions per request), bounded in size (one entry per URL
pattern, ``EVENT_BUFFER_SIZE`` events), and read with :func:`snapshot`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from headroom.probe.state import probe_errors_total

#: The key used for requests that matched no URL pattern (404s, ignored resolvers).
UNRESOLVED = "<unresolved>"


class RouteTotals:
    __slots__ = ("count", "db_ms", "errors", "max_ms", "queries", "total_ms")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.total_ms = 0.0
        self.max_ms = 0.0
        self.db_ms = 0.0
        self.queries = 0


_lock = threading.Lock()
_routes: dict[str, RouteTotals] = {}
_events: deque[dict[str, Any]] = deque(maxlen=200)
_since = time.time()


def add_request(
    route: str | None, status: int, duration_ms: float, db_ms: float, queries: int
) -> None:
    key = route if route is not None else UNRESOLVED
    with _lock:
        totals = _routes.get(key)
        if totals is None:
            totals = _routes[key] = RouteTotals()
        totals.count += 1
        if status >= 500:
            totals.errors += 1
        totals.total_ms += duration_ms
        if duration_ms > totals.max_ms:
            totals.max_ms = duration_ms
        totals.db_ms += db_ms
        totals.queries += queries


def add_event(event: dict[str, Any], buffer_size: int) -> None:
    global _events
    with _lock:
        if _events.maxlen != buffer_size:
            _events = deque(_events, maxlen=buffer_size)
        _events.append(event)


def snapshot() -> dict[str, Any]:
    """What production mode has gathered in this process since start (or :func:`reset`).

    ``routes`` maps each URL pattern to ``count``, ``errors`` (status 500 and up),
    ``total_ms``, ``mean_ms``, ``max_ms``, ``db_ms`` and ``queries``; ``events`` lists the
    most recent N+1, slow-query and slow-request events, oldest first; ``probe_errors`` counts
    the probe's own caught errors.
    """
    with _lock:
        routes = {
            key: {
                "count": t.count,
                "errors": t.errors,
                "total_ms": t.total_ms,
                "mean_ms": t.total_ms / t.count if t.count else 0.0,
                "max_ms": t.max_ms,
                "db_ms": t.db_ms,
                "queries": t.queries,
            }
            for key, t in sorted(_routes.items())
        }
        events = [dict(e) for e in _events]
    return {
        "since": _since,
        "routes": routes,
        "events": events,
        "probe_errors": probe_errors_total(),
    }


def reset() -> None:
    """Forget every total and event."""
    global _since
    with _lock:
        _routes.clear()
        _events.clear()
        _since = time.time()
