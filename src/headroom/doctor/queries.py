"""Slow queries and missing indexes, proven with the database's own planner.

The index advice comes from :mod:`headroom.indexes`: the probe's records of the load run
are the workload (each statement with its sampled parameters, URL patterns and file:line),
candidates come from the parsed SQL, and each index is proven before it is advised:
hypothetically with hypopg on PostgreSQL (else built inside a transaction that is rolled
back: the doctor runs against a copy of production, not production), on a copy of the
database file on SQLite. The set is chosen for the whole workload, so one index serving
several URL patterns is one finding.

On MySQL/MariaDB, where DDL commits at once, and with ``--no-index-proof``, the candidate
for a statement that scans a big table is advised unproven, from its plan.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from headroom.doctor.analyse import location_of
from headroom.doctor.findings import Finding
from headroom.doctor.records import RouteSummary, route_of

#: A full scan of a table smaller than this is not worth an index.
MIN_TABLE_ROWS = 10_000
#: How many of the most expensive statements are planned.
MAX_EXPLAINED = 40


@dataclass
class Predicates:
    """The main table's filtered and sorted columns (from :mod:`headroom.indexes.sqlshape`)."""

    table: str
    equality: list[str] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)

    def candidate(self) -> list[str]:
        """Index columns in the order that serves the query."""
        columns = list(dict.fromkeys(self.equality))
        tail = self.ranges[:1] or self.order[:1]
        for column in tail:
            if column not in columns:
                columns.append(column)
        return columns


def parse_predicates(sql: str) -> Predicates | None:
    """The main (first) table's filtered and sorted columns of a SELECT, parsed with pglast."""
    from headroom.indexes.sqlshape import shape_of

    shape = shape_of(sql)
    if shape is None or not shape.tables:
        return None
    use = next(iter(shape.tables.values()))
    result = Predicates(use.table)
    result.equality = list(
        dict.fromkeys([*use.equality, *(c.column for c in use.constants if c.lookup == c.column)])
    )
    result.ranges = list(dict.fromkeys(use.ranges))
    result.order = [column for column, _ in use.order]
    return result


@dataclass
class Plan:
    lines: list[str]
    full_scans: list[str]
    indexes_used: list[str]
    sorts: bool
    cost: float | None = None


def explain(alias: str, sql: str, params: list[Any]) -> Plan:
    from django.db import connections

    connection = connections[alias]
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            details = [str(row[-1]) for row in cursor.fetchall()]
            scans = [
                m.group(1)
                for d in details
                if (m := re.match(r"SCAN (\w+)(?: AS \w+)?$", d)) is not None
            ]
            used = [m.group(1) for d in details if (m := re.search(r"INDEX (\w+)", d))]
            return Plan(details, scans, used, any("TEMP B-TREE" in d for d in details))
        if vendor == "postgresql":
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            raw = cursor.fetchone()[0]
            tree = raw if isinstance(raw, list) else json.loads(raw)
            root = tree[0]["Plan"]
            nodes = list(_walk(root))
            return Plan(
                _pg_lines(root),
                [n["Relation Name"] for n in nodes if n.get("Node Type") == "Seq Scan"],
                [n["Index Name"] for n in nodes if "Index Name" in n],
                any(n.get("Node Type") == "Sort" for n in nodes),
                float(root.get("Total Cost", 0.0)),
            )
        cursor.execute("EXPLAIN " + sql, params)
        columns = [c[0] for c in cursor.description or []]
        rows = [dict(zip(columns, row, strict=False)) for row in cursor.fetchall()]
        return Plan(
            [json.dumps(row, default=str) for row in rows],
            [str(r.get("table")) for r in rows if str(r.get("type")).upper() == "ALL"],
            [str(r.get("key")) for r in rows if r.get("key")],
            any("filesort" in str(r.get("Extra", "")) for r in rows),
        )


def _walk(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def _pg_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    label = node.get("Node Type", "?")
    if "Relation Name" in node:
        label += f" on {node['Relation Name']}"
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    label += f"  (cost={node.get('Total Cost')} rows={node.get('Plan Rows')})"
    if node.get("Filter"):
        label += f"  Filter: {node['Filter']}"
    lines = ["  " * depth + label]
    for child in node.get("Plans", []):
        lines += _pg_lines(child, depth + 1)
    return lines


def table_rows(alias: str, table: str) -> int:
    from django.db import connections

    connection = connections[alias]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            row = cursor.fetchone()
            if row and row[0] and row[0] > 0:
                return int(row[0])
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
        return int(cursor.fetchone()[0])


def _time_query(alias: str, sql: str, params: list[Any], runs: int = 3) -> float:
    from django.db import connections

    best = float("inf")
    with connections[alias].cursor() as cursor:
        for _ in range(runs):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            best = min(best, (time.perf_counter() - started) * 1000)
    return best


@dataclass
class Proof:
    index_name: str
    columns: list[str]
    before: Plan
    after: Plan
    before_ms: float
    after_ms: float

    @property
    def used(self) -> bool:
        return self.index_name in self.after.indexes_used


def prove_index(
    alias: str, table: str, columns: list[str], sql: str, params: list[Any]
) -> Proof | None:
    """Build the index in a transaction, plan and time the query with it, roll back."""
    from django.db import connections, transaction

    connection = connections[alias]
    if connection.vendor not in ("sqlite", "postgresql"):
        return None
    quote = connection.ops.quote_name
    name = index_name(table, columns)
    with transaction.atomic(using=alias):
        before = explain(alias, sql, params)
        before_ms = _time_query(alias, sql, params)
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE INDEX {quote(name)} ON {quote(table)} "
                f"({', '.join(quote(c) for c in columns)})"
            )
        after = explain(alias, sql, params)
        after_ms = _time_query(alias, sql, params)
        transaction.set_rollback(True, using=alias)
    return Proof(name, columns, before, after, before_ms, after_ms)


def index_name(table: str, columns: list[str]) -> str:
    """A Django-acceptable index name (30 characters at most)."""
    base = "_".join([table, *columns])
    name = f"{base[:26]}_idx" if len(base) > 26 else f"{base}_idx"
    return name.lower()


@dataclass
class Statement:
    alias: str
    fingerprint: str
    sql: str
    params: list[Any]
    count: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    routes: Counter[str] = field(default_factory=Counter)
    route_ms: dict[str, float] = field(default_factory=dict)
    location: dict[str, Any] | None = None
    slow: bool = False

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.count if self.count else 0.0


def collect_statements(records: list[dict[str, Any]]) -> list[Statement]:
    statements: dict[tuple[str, str], Statement] = {}
    for record in records:
        route = route_of(record)
        for query in record.get("queries") or []:
            key = (query["alias"], query["fingerprint"])
            st = statements.get(key)
            if st is None:
                st = statements[key] = Statement(
                    query["alias"], query["fingerprint"], query["sql"], query.get("params") or []
                )
            st.count += int(query["count"])
            st.total_ms += float(query["time_ms"])
            st.max_ms = max(st.max_ms, float(query.get("max_ms") or 0.0))
            st.routes[route] += int(query["count"])
            st.route_ms[route] = st.route_ms.get(route, 0.0) + float(query["time_ms"])
            if st.location is None and query.get("location"):
                st.location = query
        for slow in record.get("slow_queries") or []:
            st = statements.get((slow["alias"], slow["fingerprint"]))
            if st is not None:
                st.slow = True
                if st.location is None and slow.get("location"):
                    st.location = slow
    return sorted(statements.values(), key=lambda s: -s.total_ms)


def _model_for_table(table: str) -> Any:
    from django.apps import apps

    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            return model
    return None


def _index_fix(table: str, columns: list[str], name: str, vendor: str) -> tuple[str, str | None]:
    model = _model_for_table(table)
    if model is None:
        cols = ", ".join(columns)
        return f"CREATE INDEX {name} ON {table} ({cols});", None
    by_column = {f.column: f.name for f in model._meta.concrete_fields}
    fields = [by_column.get(c, c) for c in columns]
    label = f"{model._meta.app_label}.{model.__name__}"
    index = f"models.Index(fields={fields!r}, name={name!r})"
    text = (
        f"Add the index to {model.__name__}.Meta:\n"
        f"    class Meta:\n"
        f"        indexes = [{index}]\n"
        f"then: python manage.py makemigrations {model._meta.app_label}"
    )
    if vendor == "postgresql":
        text += (
            "\nOn PostgreSQL build it without blocking writes, in its own migration:\n"
            "    from django.contrib.postgres.operations import AddIndexConcurrently\n"
            "    class Migration(migrations.Migration):\n"
            "        atomic = False\n"
            f"        operations = [AddIndexConcurrently({model._meta.model_name!r}, {index})]"
        )
    return text, label


def unproven_findings(
    records: list[dict[str, Any]],
    routes: dict[str, RouteSummary],
    *,
    slow_query_ms: float,
    min_table_rows: int = MIN_TABLE_ROWS,
    prove: bool = True,
) -> list[Finding]:
    from django.db import DatabaseError, connections

    findings = []
    row_counts: dict[tuple[str, str], int] = {}
    for st in collect_statements(records)[:MAX_EXPLAINED]:
        if not st.fingerprint.upper().startswith("SELECT") or st.alias not in connections:
            continue
        predicates = parse_predicates(st.sql)
        if predicates is None:
            continue
        try:
            key = (st.alias, predicates.table)
            if key not in row_counts:
                row_counts[key] = table_rows(st.alias, predicates.table)
            rows = row_counts[key]
            if rows < min_table_rows and st.mean_ms < slow_query_ms:
                continue
            plan = explain(st.alias, st.sql, st.params)
        except DatabaseError:
            continue
        route = max(st.route_ms, key=lambda r: st.route_ms[r])
        per_request = (
            st.route_ms[route] / max(routes[route].requests, 1) if route in routes else st.mean_ms
        )
        evidence: dict[str, Any] = {
            "sql": st.sql,
            "params": st.params,
            "alias": st.alias,
            "table": predicates.table,
            "table_rows": rows,
            "executions": st.count,
            "mean_ms": round(st.mean_ms, 2),
            "max_ms": round(st.max_ms, 2),
            "plan": plan.lines,
            "routes": dict(st.routes),
        }
        vendor = connections[st.alias].vendor
        candidate = predicates.candidate()
        scans_main = predicates.table in plan.full_scans
        if scans_main and candidate and rows >= min_table_rows:
            proof = None
            if prove:
                try:
                    proof = prove_index(st.alias, predicates.table, candidate, st.sql, st.params)
                except DatabaseError:
                    proof = None
            if proof is None or proof.used:
                name = proof.index_name if proof else index_name(predicates.table, candidate)
                fix, model_label = _index_fix(predicates.table, candidate, name, vendor)
                if proof is not None:
                    evidence.update(
                        proven=True,
                        plan_with_index=proof.after.lines,
                        ms_before=round(proof.before_ms, 2),
                        ms_after=round(proof.after_ms, 3),
                        cost_before=proof.before.cost,
                        cost_after=proof.after.cost,
                    )
                else:
                    evidence["proven"] = False
                evidence.update(index_columns=candidate, model=model_label)
                gain = (
                    f"; {proof.before_ms:.1f} ms -> {proof.after_ms:.2f} ms with the index"
                    if proof
                    else ""
                )
                findings.append(
                    Finding(
                        kind="missing_index",
                        severity="error" if st.mean_ms >= slow_query_ms * 0.1 else "warning",
                        title=f"{route} scans all {rows:,} rows of {predicates.table}: "
                        f"no index on ({', '.join(candidate)}){gain}",
                        url_pattern=route,
                        location=location_of(st.location) if st.location else None,
                        fix=fix,
                        cost_ms=per_request,
                        evidence=evidence,
                    )
                )
                continue
        if st.mean_ms >= slow_query_ms or st.slow:
            findings.append(
                Finding(
                    kind="slow_query",
                    severity="warning",
                    title=f"{route}: a query on {predicates.table} takes {st.mean_ms:.0f} ms "
                    f"on average",
                    url_pattern=route,
                    location=location_of(st.location) if st.location else None,
                    fix="Read the plan below: fetch fewer rows or columns (.only(), "
                    "pagination), add an index for its filter, or cache the result.",
                    cost_ms=per_request,
                    evidence=evidence,
                )
            )
    return findings


def _advice_finding(advice: Any, routes: dict[str, RouteSummary], slow_query_ms: float) -> Finding:
    """One proven missing index as a finding, told from its most expensive statement."""
    from django.db import connections

    from headroom.indexes.djangocode import operation

    top = advice.gains[0]
    query = top.query
    route = max(query.routes, key=lambda r: query.routes[r]) if query.routes else "?"
    requests = routes[route].requests if route in routes else 0
    per_request = (
        query.total_ms * query.routes[route] / max(query.calls, 1) / max(requests, 1)
        if requests
        else query.mean_ms
    )
    timed = advice.unit == "ms"
    if timed:
        gain = f"; {top.before.cost:.1f} ms -> {top.after.cost:.2f} ms with the index"
    else:
        gain = f"; planner cost {top.before.cost:,.0f} -> {top.after.cost:,.1f} with the index"
    others = sorted({r for g in advice.gains[1:] for r in g.query.routes} - {route})
    also = f" (also serves {', '.join(others)})" if others else ""
    columns = advice.index_columns
    what = ", ".join(columns)
    if advice.candidate.expression:
        what = f"{advice.candidate.expression[0].upper()}({columns[0]})"
    scans = "scans all" if advice.candidate.table in top.before.full_scans else "reads"
    evidence: dict[str, Any] = {
        "sql": query.sql,
        "params": query.samples[0] if query.samples else [],
        "alias": query.alias,
        "table": advice.candidate.table,
        "table_rows": advice.rows,
        "executions": query.calls,
        "mean_ms": round(query.mean_ms, 2),
        "max_ms": round(query.max_ms, 2),
        "plan": top.before.plan,
        "routes": dict(query.routes),
        "index_columns": columns,
        "model": advice.django.label,
        "proven": True,
        "proof": advice.method,
        "plan_with_index": top.after.plan,
        "ms_before": round(top.before.cost, 2) if timed else round(query.mean_ms, 2),
        "ms_after": round(top.after.cost, 3) if timed else None,
        "cost_before": None if timed else round(top.before.cost, 2),
        "cost_after": None if timed else round(top.after.cost, 2),
        "samples": len(query.samples),
        "index": advice.candidate.describe(),
        "meta_index": advice.django.expression,
        "migration": operation(advice.django, connections[query.alias].vendor),
        "serves": [
            {
                "sql": g.query.sql,
                "routes": dict(g.query.routes),
                "locations": dict(g.query.locations),
                "before": round(g.before.cost, 3),
                "after": round(g.after.cost, 3),
            }
            for g in advice.gains
        ],
    }
    return Finding(
        kind="missing_index",
        severity="error" if query.mean_ms >= slow_query_ms * 0.1 else "warning",
        title=f"{route} {scans} {advice.rows:,} rows of {advice.candidate.table}: "
        f"no index on ({what}){gain}{also}",
        url_pattern=route,
        location=location_of(query.location) if query.location else None,
        fix=advice.fix,
        cost_ms=per_request,
        evidence=evidence,
    )


def query_findings(
    records: list[dict[str, Any]],
    routes: dict[str, RouteSummary],
    *,
    slow_query_ms: float,
    min_table_rows: int = MIN_TABLE_ROWS,
    min_saving: float = 0.5,
    prove: bool = True,
) -> list[Finding]:
    """Proven missing indexes (via :mod:`headroom.indexes`) and slow queries."""
    from django.db import DatabaseError, connections

    from headroom.indexes.advisor import advise
    from headroom.indexes.planner import open_planner
    from headroom.indexes.workload import from_records

    workload = from_records(records)
    findings: list[Finding] = []
    served: set[tuple[str, str]] = set()
    unproven_aliases: set[str] = set()
    for alias in sorted({q.alias for q in workload.queries}):
        if alias not in connections:
            continue
        if not prove:
            unproven_aliases.add(alias)
            continue
        with open_planner(alias, allow_build=True) as planner:
            possible = planner is not None
        if not possible:
            unproven_aliases.add(alias)
            continue
        try:
            report = advise(
                workload,
                alias,
                allow_build=True,
                min_table_rows=min_table_rows,
                min_saving=min_saving,
            )
        except DatabaseError:
            unproven_aliases.add(alias)
            continue
        for advice in report.advice:
            findings.append(_advice_finding(advice, routes, slow_query_ms))
            served |= {(alias, g.query.fingerprint) for g in advice.gains}
    if unproven_aliases:
        kept = [
            r
            for r in records
            if any(q.get("alias") in unproven_aliases for q in r.get("queries") or [])
        ]
        findings += unproven_findings(
            kept, routes, slow_query_ms=slow_query_ms, min_table_rows=min_table_rows, prove=False
        )
    findings += _slow_findings(records, routes, slow_query_ms, served, unproven_aliases)
    return findings


def _slow_findings(
    records: list[dict[str, Any]],
    routes: dict[str, RouteSummary],
    slow_query_ms: float,
    served: set[tuple[str, str]],
    skip_aliases: set[str],
) -> list[Finding]:
    """Slow statements no proven index serves, with their plan."""
    from django.db import DatabaseError, connections

    findings = []
    for st in collect_statements(records)[:MAX_EXPLAINED]:
        if (st.alias, st.fingerprint) in served or st.alias in skip_aliases:
            continue
        if st.alias not in connections or not (st.mean_ms >= slow_query_ms or st.slow):
            continue
        if not st.fingerprint.upper().startswith("SELECT"):
            continue
        predicates = parse_predicates(st.sql)
        try:
            plan = explain(st.alias, st.sql, st.params)
        except DatabaseError:
            continue
        route = max(st.route_ms, key=lambda r: st.route_ms[r])
        per_request = (
            st.route_ms[route] / max(routes[route].requests, 1) if route in routes else st.mean_ms
        )
        table = predicates.table if predicates else "?"
        findings.append(
            Finding(
                kind="slow_query",
                severity="warning",
                title=f"{route}: a query on {table} takes {st.mean_ms:.0f} ms on average",
                url_pattern=route,
                location=location_of(st.location) if st.location else None,
                fix="Read the plan below: fetch fewer rows or columns (.only(), "
                "pagination), add an index for its filter, or cache the result.",
                cost_ms=per_request,
                evidence={
                    "sql": st.sql,
                    "params": st.params,
                    "alias": st.alias,
                    "table": table,
                    "executions": st.count,
                    "mean_ms": round(st.mean_ms, 2),
                    "max_ms": round(st.max_ms, 2),
                    "plan": plan.lines,
                    "routes": dict(st.routes),
                },
            )
        )
    return findings
