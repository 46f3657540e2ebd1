"""Per-request capture state, found through a context variable.

The middleware puts a :class:`RequestState` in :data:`current` for the length of a request;
everything that records (the SQL wrapper, the outbound-HTTP and email patches) asks
``current.get()`` and does nothing when it is ``None``. asgiref's ``sync_to_async`` copies the
context into its worker thread, so an async view's ORM calls land in the same state.
"""

from __future__ import annotations

import logging
import threading
import time
from contextvars import ContextVar
from typing import Any

logger = logging.getLogger("headroom.probe")


class QueryStats:
    """Every execution of one fingerprint on one database alias during a request."""

    __slots__ = ("count", "location", "many", "max", "params", "rows", "sql", "template", "time")

    def __init__(self, sql: str, params: Any, many: bool) -> None:
        #: Where the first execution came from (capture mode only).
        self.location: dict[str, Any] | None = None
        self.template: dict[str, Any] | None = None
        self.count = 0
        self.time = 0.0
        self.max = 0.0
        self.rows: int | None = None
        self.sql = sql
        self.params = params
        self.many = many


class RequestState:
    """What the probe has seen so far while handling one request."""

    __slots__ = (
        "db_count",
        "db_time",
        "emails",
        "locate_queries",
        "mail_depth",
        "n_plus_one",
        "outbound",
        "probe_errors",
        "queries",
        "request",
        "request_id",
        "slow_queries",
        "slow_query_s",
        "start",
        "started",
        "threshold",
    )

    def __init__(
        self,
        request_id: str,
        threshold: int,
        slow_query_ms: float,
        locate_queries: bool = False,
        request: Any = None,
    ) -> None:
        self.request_id = request_id
        #: The HttpRequest, for its ``resolver_match`` once the URL is resolved.
        self.request = request
        #: Walk the stack for the first execution of each statement (capture mode): the
        #: doctor then knows where every statement comes from, not only the slow ones.
        self.locate_queries = locate_queries
        self.start = time.time()
        self.started = time.perf_counter()
        self.threshold = threshold
        self.slow_query_s = slow_query_ms / 1000.0
        self.queries: dict[tuple[str, str], QueryStats] = {}
        self.db_count = 0
        self.db_time = 0.0
        #: (alias, fingerprint) -> what was known when the fingerprint crossed the threshold.
        self.n_plus_one: dict[tuple[str, str], dict[str, Any]] = {}
        self.slow_queries: list[dict[str, Any]] = []
        self.outbound: list[dict[str, Any]] = []
        self.emails: list[dict[str, Any]] = []
        self.mail_depth = 0
        self.probe_errors = 0


#: The state of the request being handled in this context, if the probe is recording.
current: ContextVar[RequestState | None] = ContextVar("headroom_probe_request", default=None)

_errors_lock = threading.Lock()
_errors_total = 0
_last_logged: dict[str, float] = {}
#: An error at the same place is logged at most once per this many seconds.
LOG_INTERVAL_S = 60.0


def probe_error(where: str, state: RequestState | None = None) -> None:
    """Count and log an exception raised inside the probe; call from an ``except`` block.

    The request goes on: the probe's own failures must never reach the user.
    """
    global _errors_total
    with _errors_lock:
        _errors_total += 1
        now = time.monotonic()
        last = _last_logged.get(where)
        should_log = last is None or now - last >= LOG_INTERVAL_S
        if should_log:
            _last_logged[where] = now
    if state is not None:
        state.probe_errors += 1
    if should_log:
        logger.exception(
            "django-headroom probe error in %s; the request was not affected. "
            "Further errors here are counted but logged at most once a minute.",
            where,
        )


def probe_errors_total() -> int:
    """How many errors the probe has caught in this process."""
    return _errors_total


def reset_errors() -> None:
    global _errors_total
    with _errors_lock:
        _errors_total = 0
        _last_logged.clear()
