"""Every SQL statement on every database alias, through Django's ``execute_wrappers``.

One module-level wrapper, :func:`probe_execute`, is put first in the ``execute_wrappers`` of
every connection object: those already open when the probe is installed and each new one (on
``connection_created``). It looks up the current request in :data:`state.current` and passes
straight through when there is none, so a connection used outside a request (a management
command, a Celery task) pays one context-variable lookup per query.

Why not ``with connection.execute_wrapper(...)`` in the middleware: that affects one
connection object in one thread, and an async view's ORM calls run in ``sync_to_async``
threads with other connection objects.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from time import perf_counter
from typing import Any

from headroom.probe import sql as sql_module
from headroom.probe import stacks
from headroom.probe.state import QueryStats, RequestState, current, probe_error

_fingerprints = sql_module._cache
_MARK = "_headroom_probe_wrapped"


def probe_execute(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """The execute wrapper: time the statement and record it on the current request."""
    state = current.get()
    if state is None:
        return execute(sql, params, many, context)
    failed = True
    started = perf_counter()
    try:
        result = execute(sql, params, many, context)
        failed = False
        return result
    finally:
        elapsed = perf_counter() - started
        try:
            record_query(state, sql, params, many, context, elapsed, failed)
        except Exception:
            probe_error("recording a query", state)


def record_query(
    state: RequestState,
    sql: str,
    params: Any,
    many: bool,
    context: dict[str, Any],
    elapsed: float,
    failed: bool,
) -> None:
    alias: str = context["connection"].alias
    fingerprint = _fingerprints.get(sql)
    if fingerprint is None:
        fingerprint = sql_module.cached_fingerprint(sql)
    key = (alias, fingerprint)
    stats = state.queries.get(key)
    if stats is None:
        # executemany's parameters may be a one-shot iterator: never read them.
        stats = state.queries[key] = QueryStats(sql, None if many else params, many)
        if state.locate_queries:
            stats.location, stats.template = locate_statement(state, key, sys._getframe(1))
    stats.count += 1
    stats.time += elapsed
    if elapsed > stats.max:
        stats.max = elapsed
    state.db_count += 1
    state.db_time += elapsed
    if not failed:
        # DML: rows affected. SELECT: psycopg reports the rows fetched, sqlite3 says -1.
        rowcount = context["cursor"].cursor.rowcount
        if rowcount is not None and rowcount >= 0:
            stats.rows = rowcount if stats.rows is None else stats.rows + rowcount
    if stats.count == state.threshold:
        record_n_plus_one(state, key)
    if elapsed > state.slow_query_s:
        location, template = stacks.locate(sys._getframe(1))
        state.slow_queries.append(
            {
                "alias": alias,
                "fingerprint": fingerprint,
                "sql": sql,
                "params": None if many else params,
                "time_ms": elapsed * 1000.0,
                "location": location,
                "template": template,
            }
        )


#: (route, alias, fingerprint) -> where that statement was first run from in this process.
_located: dict[tuple[str | None, str, str], tuple[Any, Any]] = {}
LOCATED_SIZE = 4096


def locate_statement(
    state: RequestState, key: tuple[str, str], frame: Any
) -> tuple[stacks.Location | None, stacks.Location | None]:
    """Where a statement comes from, remembered per URL pattern: a stack walk costs about
    10 microseconds and a page runs the same statements from the same lines every time."""
    match = getattr(state.request, "resolver_match", None)
    cache_key = (getattr(match, "route", None), key[0], key[1])
    found = _located.get(cache_key)
    if found is None:
        found = stacks.locate(frame)
        if len(_located) >= LOCATED_SIZE:
            _located.clear()
        _located[cache_key] = found
    return found


def forget_locations() -> None:
    """Forget remembered statement locations (tests; after code changes in a dev server)."""
    _located.clear()


def record_n_plus_one(state: RequestState, key: tuple[str, str]) -> None:
    """A fingerprint just reached the threshold: take the one stack this event costs."""
    alias, fingerprint = key
    frame = sys._getframe(1)
    table, column_table, column = sql_module.filtered_column(fingerprint)
    location, template = stacks.locate(frame)
    found = stacks.relation_from_frames(frame) or stacks.relation_from_schema(column_table, column)
    state.n_plus_one[key] = {
        "alias": alias,
        "fingerprint": fingerprint,
        "relation": found[0] if found else None,
        "fix": found[1] if found else None,
        "table": table,
        "column": column,
        "location": location,
        "template": template,
    }


def add_to_connection(connection: Any) -> None:
    """Put the probe's wrapper first in ``connection.execute_wrappers`` (once).

    First, not last: ``connection.execute_wrapper()`` blocks pop the last entry on exit, so a
    wrapper appended inside such a block would be the one removed.
    """
    wrappers = connection.execute_wrappers
    if probe_execute not in wrappers:
        wrappers.insert(0, probe_execute)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    try:
        add_to_connection(connection)
    except Exception:
        probe_error("installing the SQL wrapper")


def install() -> None:
    """Wrap every connection object: those opened from now on, and those already open.

    Connection objects are per thread (and per async context), so those opened before the
    probe was installed in *other* threads or contexts cannot be listed from here. A check
    when a cursor is made (one list lookup) catches them on first use. It hooks
    ``CursorWrapper`` rather than ``connection.cursor``: Django's test cases replace the
    latter on connection instances and later restore the method they saw.
    """
    from django.db import connections
    from django.db.backends.signals import connection_created
    from django.db.backends.utils import CursorWrapper

    connection_created.connect(_on_connection_created, dispatch_uid="headroom.probe.queries")
    for connection in connections.all(initialized_only=True):
        add_to_connection(connection)
    original_init = CursorWrapper.__init__
    if getattr(original_init, _MARK, False):
        return

    @functools.wraps(original_init)
    def __init__(self: Any, cursor: Any, db: Any) -> None:
        original_init(self, cursor, db)
        if probe_execute not in db.execute_wrappers:
            add_to_connection(db)

    setattr(__init__, _MARK, True)
    CursorWrapper.__init__ = __init__  # type: ignore[method-assign]
