"""The index advisor: from a workload to proven ``Meta.indexes`` entries.

1. Each statement is parsed (:mod:`headroom.indexes.sqlshape`) and costed as it is, once per
   parameter sample. Statements cheaper than ``min_cost`` or on tables smaller than
   ``min_table_rows`` are left alone.
2. Candidates (:mod:`headroom.indexes.candidates`) that an existing index does not already
   cover are each added on their own (hypothetically, or for real inside a rolled-back
   transaction or on a copy) and every statement on that table is costed again.
3. :func:`headroom.indexes.select.choose` picks the set for the whole workload.
4. The chosen set is added together and every statement costed one last time: an index is
   advised only when the planner uses it in those plans and it cuts a statement's cost by
   ``min_saving`` or more. That final costing is the proof that is reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from headroom.indexes import candidates as cands
from headroom.indexes.candidates import Candidate
from headroom.indexes.djangocode import DjangoIndex, django_index, fix_text, index_name
from headroom.indexes.planner import Costing, Planner, PlannerError, open_planner
from headroom.indexes.select import choose
from headroom.indexes.sqlshape import Shape, shape_of
from headroom.indexes.workload import Query, Workload

#: Planner cost units one written row adds per extra index (about two page touches: the
#: leaf page read and dirtied), and the same in milliseconds for SQLite.
WRITE_COST = {"cost": 8.0, "ms": 0.01}
#: Below this cost a statement is cheap enough as it is (Dexter uses the same floor).
MIN_COST = {"cost": 100.0, "ms": 1.0}


@dataclass
class Gain:
    """One statement an advised index serves, with its cost before and after."""

    query: Query
    before: Costing
    after: Costing

    @property
    def factor(self) -> float:
        return self.before.cost / self.after.cost if self.after.cost else float("inf")


@dataclass
class Advice:
    candidate: Candidate
    name: str
    django: DjangoIndex
    fix: str
    gains: list[Gain]
    proven: bool
    method: str
    unit: str
    rows: int
    write_rows: int = 0

    @property
    def label(self) -> str:
        return self.django.label or self.candidate.table

    @property
    def index_columns(self) -> list[str]:
        return list(self.candidate.key_columns)

    def routes(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for gain in self.gains:
            for route, n in gain.query.routes.items():
                found[route] = found.get(route, 0) + n
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.candidate.table,
            "index": self.candidate.describe(),
            "name": self.name,
            "model": self.django.label,
            "meta_index": self.django.expression,
            "fix": self.fix,
            "proven": self.proven,
            "proof": self.method,
            "unit": self.unit,
            "table_rows": self.rows,
            "write_rows": self.write_rows,
            "serves": [
                {
                    "sql": g.query.sql,
                    "calls": g.query.calls,
                    "routes": dict(g.query.routes),
                    "views": sorted(g.query.views),
                    "locations": dict(g.query.locations),
                    "cost_before": round(g.before.cost, 2),
                    "cost_after": round(g.after.cost, 2),
                    "plan_before": g.before.plan,
                    "plan_after": g.after.plan,
                }
                for g in self.gains
            ],
        }


@dataclass
class Analysis:
    """Everything the choice is made from (the benchmark reuses it)."""

    planner: Planner
    queries: list[Query]
    shapes: dict[str, Shape]
    base: dict[str, Costing]
    single: dict[Candidate, dict[str, float]]
    rows: dict[str, int]
    penalty: dict[Candidate, float]
    skipped: list[tuple[Query, str]] = field(default_factory=list)

    @property
    def weights(self) -> dict[str, float]:
        return {q.fingerprint: float(q.weight) for q in self.queries}

    @property
    def order(self) -> dict[Candidate, tuple[object, ...]]:
        return {c: c.sort_key() for c in self.single}

    def base_costs(self) -> dict[str, float]:
        return {k: v.cost for k, v in self.base.items()}

    def workload_cost(self, indexes: list[Candidate]) -> float:
        """Executions x cost over every analysed statement, with ``indexes`` added."""
        for candidate in indexes:
            self.planner.add(candidate)
        try:
            return sum(q.weight * self.planner.cost(q).cost for q in self.queries)
        finally:
            for candidate in reversed(indexes):
                self.planner.drop(candidate)


@dataclass
class AdviceReport:
    alias: str
    vendor: str
    method: str
    unit: str
    advice: list[Advice]
    analysed: int
    skipped: list[tuple[Query, str]]
    notes: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "vendor": self.vendor,
            "proof": self.method,
            "unit": self.unit,
            "advice": [a.to_dict() for a in self.advice],
            "analysed": self.analysed,
            "skipped": [{"sql": q.sql, "reason": why} for q, why in self.skipped],
            "notes": self.notes,
            "seconds": round(self.seconds, 2),
        }


def _table_rows(alias: str, tables: set[str]) -> dict[str, int]:
    from django.db import DatabaseError, connections

    connection = connections[alias]
    found: dict[str, int] = {}
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in sorted(tables & existing):
            try:
                if connection.vendor == "postgresql":
                    cursor.execute(
                        "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table]
                    )
                    row = cursor.fetchone()
                    if row and row[0] is not None and row[0] >= 0:
                        found[table] = int(row[0])
                        continue
                cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
                found[table] = int(cursor.fetchone()[0])
            except DatabaseError:
                continue
    return found


def _existing_indexes(alias: str, table: str) -> list[tuple[tuple[str, ...], bool]]:
    from django.db import connections

    connection = connections[alias]
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    found = []
    for info in constraints.values():
        if not info.get("index") and not info.get("primary_key") and not info.get("unique"):
            continue
        columns = tuple(c for c in info.get("columns") or [] if c)
        plain = bool(columns) and info.get("type") in (None, "btree", "idx")
        found.append((columns, plain))
    return found


def analyse(
    workload: Workload,
    alias: str,
    planner: Planner,
    *,
    min_table_rows: int,
    min_cost: float | None = None,
) -> Analysis:
    """Cost every statement as it is and with each candidate (steps 1 and 2 above)."""
    floor = MIN_COST[planner.unit] if min_cost is None else min_cost
    queries = [q for q in workload.for_alias(alias)]
    shapes: dict[str, Shape] = {}
    skipped: list[tuple[Query, str]] = []
    for query in queries:
        shape = shape_of(query.sql)
        if shape is None:
            skipped.append((query, "could not be parsed"))
        elif shape.tables and shape.kind in ("SelectStmt", "UpdateStmt", "DeleteStmt"):
            shapes[query.fingerprint] = shape
    rows = _table_rows(alias, {t for s in shapes.values() for t in s.tables})
    base: dict[str, Costing] = {}
    analysed: list[Query] = []
    for query in queries:
        if query.fingerprint not in shapes:
            continue
        try:
            base[query.fingerprint] = planner.cost(query)
        except PlannerError as exc:
            skipped.append((query, f"could not be planned: {exc}"))
            continue
        analysed.append(query)
    trigram = bool(getattr(planner, "trigram_available", lambda: False)())
    # Constant predicates shared by two or more statements, per table.
    uses_by_table: dict[str, list[Any]] = {}
    for query in analysed:
        for table, use in shapes[query.fingerprint].tables.items():
            uses_by_table.setdefault(table, []).append(use)
    repeated = {t: cands.repeated_constants(uses) for t, uses in uses_by_table.items()}
    existing: dict[str, list[tuple[tuple[str, ...], bool]]] = {}
    candidate_queries: dict[Candidate, set[str]] = {}
    for query in analysed:
        if base[query.fingerprint].cost < floor:
            continue
        for table, use in shapes[query.fingerprint].tables.items():
            if rows.get(table, 0) < min_table_rows:
                continue
            if table not in existing:
                existing[table] = _existing_indexes(alias, table)
            found = cands.for_use(use, query.samples, trigram)
            found += cands.partial_for_use(use, repeated.get(table, []))
            for candidate in found:
                if cands.covered_by(candidate, existing[table]) or not planner.supports(candidate):
                    continue
                candidate_queries.setdefault(candidate, set()).add(query.fingerprint)
    single: dict[Candidate, dict[str, float]] = {}
    by_table: dict[str, list[Query]] = {}
    for query in analysed:
        for table in shapes[query.fingerprint].tables:
            by_table.setdefault(table, []).append(query)
    for candidate in sorted(candidate_queries, key=lambda c: c.sort_key()):
        try:
            planner.add(candidate)
        except Exception as exc:  # a candidate the server refuses is simply not a candidate
            skipped_reason = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            workload.notes.append(f"candidate {candidate.describe()} skipped: {skipped_reason}")
            continue
        try:
            costs = {}
            for query in by_table.get(candidate.table, []):
                try:
                    costs[query.fingerprint] = planner.cost(query).cost
                except PlannerError:
                    continue
            single[candidate] = costs
        finally:
            planner.drop(candidate)
    writes = {table: n for (a, table), n in workload.writes.items() if a == alias}
    penalty = {c: writes.get(c.table, 0) * WRITE_COST[planner.unit] for c in single}
    return Analysis(planner, analysed, shapes, base, single, rows, penalty, skipped)


def advise(
    workload: Workload,
    alias: str = "default",
    *,
    allow_build: bool = False,
    min_table_rows: int = 10_000,
    min_saving: float = 0.5,
    min_cost: float | None = None,
) -> AdviceReport:
    """Advise the indexes that the planner proves would serve ``workload`` on ``alias``."""
    from django.db import connections

    started = time.perf_counter()
    vendor = connections[alias].vendor
    notes = list(workload.notes)
    with open_planner(alias, allow_build=allow_build) as planner:
        if planner is None:
            why = (
                "MySQL/MariaDB commit DDL at once, so no index can be tried and rolled back"
                if vendor == "mysql"
                else "hypopg is not installed (CREATE EXTENSION hypopg) and building indexes "
                "on this database was not allowed (--allow-build, for a non-production copy)"
            )
            return AdviceReport(
                alias,
                vendor,
                "none",
                "cost",
                [],
                0,
                [],
                [*notes, f"no proof: {why}"],
                time.perf_counter() - started,
            )
        analysis = analyse(
            workload, alias, planner, min_table_rows=min_table_rows, min_cost=min_cost
        )
        chosen = choose(
            analysis.base_costs(),
            analysis.single,
            analysis.weights,
            analysis.penalty,
            min_saving=min_saving,
            order=analysis.order,
        )
        advice = _prove(analysis, chosen, vendor, min_saving)
        notes += workload.notes[len(notes) :]
        return AdviceReport(
            alias,
            vendor,
            planner.method,
            planner.unit,
            advice,
            len(analysis.queries),
            analysis.skipped,
            notes,
            time.perf_counter() - started,
        )


def _prove(
    analysis: Analysis, chosen: list[Candidate], vendor: str, min_saving: float
) -> list[Advice]:
    """Add the chosen set together; keep each index the final plans use (step 4)."""
    planner = analysis.planner
    keep = list(chosen)
    for _ in range(3):  # dropping an unused index can change the others' plans: re-check
        names = {c: planner.add(c) for c in keep}
        try:
            after = {}
            for query in analysis.queries:
                try:
                    after[query.fingerprint] = planner.cost(query)
                except PlannerError:
                    continue
        finally:
            for candidate in reversed(keep):
                planner.drop(candidate)
        gains: dict[Candidate, list[Gain]] = {c: [] for c in keep}
        for query in analysis.queries:
            now = after.get(query.fingerprint)
            before = analysis.base[query.fingerprint]
            if now is None or now.cost > before.cost * (1.0 - min_saving):
                continue
            for candidate, name in names.items():
                if name in now.indexes_used:
                    gains[candidate].append(Gain(query, before, now))
        unused = [c for c in keep if not gains[c]]
        if not unused:
            break
        keep = [c for c in keep if gains[c]]
    writes = analysis.penalty
    advice = []
    for candidate in keep:
        name = index_name(candidate)
        django = django_index(candidate, name)
        unit_cost = WRITE_COST[planner.unit]
        advice.append(
            Advice(
                candidate=candidate,
                name=name,
                django=django,
                fix=fix_text(django, vendor),
                gains=sorted(gains[candidate], key=lambda g: -g.query.weight * g.before.cost),
                proven=True,
                method=planner.method,
                unit=planner.unit,
                rows=analysis.rows.get(candidate.table, 0),
                write_rows=int(writes.get(candidate, 0.0) / unit_cost) if unit_cost else 0,
            )
        )
    return advice
