"""The queries to advise indexes for, from wherever they were seen.

Three sources, merged by fingerprint:

- the probe's capture records (a doctor run's ``run/spool`` or production samples): each
  statement with its parameters, how often it ran, the URL patterns and views that ran it,
  and the file:line that issued it (see docs/spool.md);
- ``pg_stat_statements``: normalized statements (``$1``) with calls and total time;
- PostgreSQL's slow-query log (``log_min_duration_statement``): ``duration: ... ms
  statement: ...`` lines, with their ``parameters:`` detail line when there is one.

Parameter samples are what make the proof honest: the planner's cost for ``status = 'paid'``
and ``status = 'refunded'`` differ, so each statement keeps up to :data:`MAX_SAMPLES`
distinct, complete parameter lists (none with a NULL, none cut short by the probe).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Distinct parameter lists kept per statement.
MAX_SAMPLES = 5
_TRUNCATED = "…"


@dataclass
class Query:
    """One statement shape in the workload, with where it came from."""

    alias: str
    fingerprint: str
    sql: str
    samples: list[list[Any]] = field(default_factory=list)
    calls: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    #: URL pattern -> executions
    routes: Counter[str] = field(default_factory=Counter)
    views: set[str] = field(default_factory=set)
    #: "file:line" -> executions
    locations: Counter[str] = field(default_factory=Counter)
    #: The first place seen, as the probe records it: {"location": {file, line, function},
    #: "template": {name, line} or None}.
    location: dict[str, Any] | None = None
    sources: set[str] = field(default_factory=set)
    #: Statements that came without parameter values (pg_stat_statements): planned generically.
    generic: bool = False

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0

    @property
    def weight(self) -> int:
        return max(self.calls, 1)

    def add_sample(self, params: Any) -> None:
        if not isinstance(params, list) or len(self.samples) >= MAX_SAMPLES:
            return
        if any(p is None for p in params):
            return  # a NULL plans differently from every real value
        if any(isinstance(p, str) and p.endswith(_TRUNCATED) for p in params):
            return  # the probe cut it short: not the value the query ran with
        if params not in self.samples:
            self.samples.append(params)


@dataclass
class Workload:
    queries: list[Query] = field(default_factory=list)
    #: (alias, table) -> rows written (INSERT / UPDATE / DELETE statements executed)
    writes: Counter[tuple[str, str]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def add(self, other: Workload) -> None:
        by_key = {(q.alias, q.fingerprint): q for q in self.queries}
        for query in other.queries:
            mine = by_key.get((query.alias, query.fingerprint))
            if mine is None:
                self.queries.append(query)
                by_key[(query.alias, query.fingerprint)] = query
                continue
            mine.calls += query.calls
            mine.total_ms += query.total_ms
            mine.max_ms = max(mine.max_ms, query.max_ms)
            mine.routes.update(query.routes)
            mine.locations.update(query.locations)
            mine.views |= query.views
            mine.sources |= query.sources
            mine.location = mine.location or query.location
            for sample in query.samples:
                mine.add_sample(sample)
            mine.generic = mine.generic and query.generic
        self.writes.update(other.writes)
        self.notes += other.notes

    def for_alias(self, alias: str) -> list[Query]:
        return [q for q in self.queries if q.alias == alias]


def fingerprint(sql: str) -> str:
    """A stable key for a statement shape: pglast's fingerprint, else the text itself."""
    from pglast.parser import ParseError
    from pglast.parser import fingerprint as pg_fingerprint

    from headroom.indexes.sqlshape import to_dollar_params

    try:
        return str(pg_fingerprint(to_dollar_params(sql) if "%s" in sql else sql))
    except ParseError:
        return " ".join(sql.split())


def _route(record: dict[str, Any]) -> str:
    route = record.get("route")
    if route is None:
        return str(record.get("path") or "?")
    return "/" + str(route).lstrip("^")


def _count_write(workload: Workload, alias: str, sql: str, count: int) -> None:
    head = sql.lstrip().split(None, 3)
    verb = head[0].upper() if head else ""
    if verb not in ("INSERT", "UPDATE", "DELETE"):
        return
    match = re.match(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+["`]?([\w$]+)', sql, re.I)
    if match:
        workload.writes[(alias, match.group(1))] += count


def from_records(records: Iterable[dict[str, Any]]) -> Workload:
    """The workload in the probe's capture records (one dict per request)."""
    workload = Workload()
    queries: dict[tuple[str, str], Query] = {}
    for record in records:
        route = _route(record)
        view = record.get("view")
        for entry in record.get("queries") or []:
            sql = str(entry.get("sql") or "")
            count = int(entry.get("count") or 1)
            alias = str(entry.get("alias") or "default")
            _count_write(workload, alias, sql, count)
            key = (alias, str(entry.get("fingerprint") or sql))
            query = queries.get(key)
            if query is None:
                query = queries[key] = Query(alias, key[1], sql, sources={"probe"})
            query.calls += count
            query.total_ms += float(entry.get("time_ms") or 0.0)
            query.max_ms = max(query.max_ms, float(entry.get("max_ms") or 0.0))
            query.routes[route] += count
            if view:
                query.views.add(str(view))
            location = entry.get("location")
            if location and location.get("file"):
                query.locations[f"{location['file']}:{location.get('line')}"] += count
                if query.location is None:
                    query.location = {"location": location, "template": entry.get("template")}
            if not entry.get("many"):
                query.add_sample(entry.get("params"))
    workload.queries = sorted(queries.values(), key=lambda q: -q.total_ms)
    return workload


def read_spool(path: Path) -> list[dict[str, Any]]:
    """Capture records from a spool directory (``probe-*.jsonl``) or one ``.jsonl`` file."""
    files = sorted(path.glob("probe-*.jsonl")) if path.is_dir() else [path]
    records = []
    for file in files:
        with file.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue  # a worker stopped mid-write
    return records


def from_pg_stat_statements(alias: str, *, limit: int = 200) -> Workload:
    """The most time-consuming statements of this database in ``pg_stat_statements``."""
    from django.db import DatabaseError, connections, transaction

    workload = Workload()
    connection = connections[alias]
    try:
        # A savepoint inside a caller's transaction: a missing view must not abort it.
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(
                "SELECT query, calls, total_exec_time, max_exec_time FROM pg_stat_statements "
                "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "ORDER BY total_exec_time DESC LIMIT %s",
                [limit],
            )
            rows = cursor.fetchall()
    except DatabaseError as exc:
        workload.notes.append(
            f"pg_stat_statements could not be read on {alias!r} ({str(exc).strip()}); "
            "enable it with shared_preload_libraries = 'pg_stat_statements' and "
            "CREATE EXTENSION pg_stat_statements."
        )
        return workload
    for sql, calls, total, peak in rows:
        text = str(sql)
        if not _is_dml(text):
            continue
        query = Query(alias, fingerprint(text), text, sources={"pg_stat_statements"})
        query.calls, query.total_ms, query.max_ms = int(calls), float(total), float(peak)
        query.generic = "$" in text
        _count_write(workload, alias, text, int(calls))
        workload.queries.append(query)
    return workload


_LOG_LINE = re.compile(
    r"duration: (?P<ms>[\d.]+) ms\s+(?:statement|execute [^:]*):\s*(?P<sql>.*)$", re.I
)
_LOG_PARAMS = re.compile(r"(?:DETAIL|parameters):\s*(?:parameters:\s*)?(?P<params>\$1 = .*)$")
_PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def _log_params(text: str) -> list[Any]:
    values: dict[int, Any] = {}
    for number, raw in _PARAM.findall(text):
        values[int(number)] = None if raw == "NULL" else raw[1:-1].replace("''", "'")
    return [values.get(i) for i in range(1, max(values, default=0) + 1)]


def _is_dml(sql: str) -> bool:
    return sql.lstrip()[:6].upper() in ("SELECT", "UPDATE", "DELETE", "INSERT")


def from_slow_log(path: Path, alias: str = "default") -> Workload:
    """Statements from a PostgreSQL log written with ``log_min_duration_statement``.

    Literal values in a logged statement are turned back into parameters, so statements
    that differ only in their values are one query with several samples. A prepared
    statement (``execute <name>: ... $1``) takes its values from the ``parameters:`` detail
    line that follows it. Other statements (``SET``, ``BEGIN``, ...) are left out.
    """
    from headroom.indexes.literals import parameterize

    workload = Workload()
    queries: dict[str, Query] = {}
    statement: list[str] = []
    ms = 0.0

    def record(values: list[Any]) -> None:
        text = " ".join(statement).strip().rstrip(";")
        statement.clear()
        if not _is_dml(text):
            return
        sql, params = parameterize(text)
        # A prepared statement's text has $n already; its values come from the detail line.
        if not params and values:
            params = values
        key = fingerprint(sql)
        query = queries.get(key)
        if query is None:
            query = queries[key] = Query(alias, key, sql, sources={"slow_log"})
        query.calls += 1
        query.total_ms += ms
        query.max_ms = max(query.max_ms, ms)
        _count_write(workload, alias, sql, 1)
        if params:
            query.add_sample(params)

    with path.open(encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            found = _LOG_LINE.search(line)
            if found:
                if statement:
                    record([])
                ms = float(found.group("ms"))
                statement.append(found.group("sql"))
                continue
            detail = _LOG_PARAMS.search(line)
            if detail and statement:
                record(_log_params(detail.group("params")))
                continue
            if statement and raw.startswith(("\t", " ")):
                statement.append(line.strip())  # continuation of a multi-line statement
            elif statement:
                record([])
    if statement:
        record([])
    workload.queries = sorted(queries.values(), key=lambda q: -q.total_ms)
    return workload
