"""Ask the database what a statement would cost with and without an index.

Three ways, chosen by :func:`open_planner`:

- ``hypopg`` (PostgreSQL with the hypopg extension): hypothetical indexes, visible only to
  this session, nothing built, nothing locked. Costs are the planner's estimates.
- ``rolled back`` (PostgreSQL without hypopg, on a database you say is not production):
  each index is really built inside a transaction, planned against, and rolled back. It
  blocks writes to the table while it builds, hence the opt-in.
- ``sqlite copy`` (SQLite): the database file is copied, indexes are built on the copy, and
  each statement is timed there (SQLite reports no costs, so the unit is milliseconds).

Every statement is planned once per parameter sample, and its cost is the mean.
"""

from __future__ import annotations

import abc
import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headroom.indexes.candidates import Candidate
from headroom.indexes.workload import Query


class PlannerError(Exception):
    """The statement could not be planned (it fails, or needs types the server cannot guess)."""


@dataclass
class Costing:
    cost: float
    #: The plan of the first sample, as lines.
    plan: list[str]
    indexes_used: set[str]
    full_scans: set[str] = field(default_factory=set)


def dollar_to_format(sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """``$n`` placeholders as ``%s`` with the parameters in the order they appear."""
    ordered: list[Any] = []

    def swap(match: re.Match[str]) -> str:
        ordered.append(params[int(match.group(1)) - 1])
        return "%s"

    escaped = sql.replace("%", "%%")
    return re.sub(r"\$(\d+)", swap, escaped), ordered


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def pg_plan_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    label = str(node.get("Node Type", "?"))
    if "Relation Name" in node:
        label += f" on {node['Relation Name']}"
    if "Index Name" in node:
        label += f" using {node['Index Name']}"
    label += f"  (cost={node.get('Total Cost')} rows={node.get('Plan Rows')})"
    for key in ("Index Cond", "Filter"):
        if node.get(key):
            label += f"  {key}: {node[key]}"
    lines = ["  " * depth + label]
    for child in node.get("Plans", []):
        lines += pg_plan_lines(child, depth + 1)
    return lines


class Planner(abc.ABC):
    """Base: cost statements, add and drop candidate indexes."""

    method = "none"
    unit = "cost"
    proves = True

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self._cache: dict[tuple[str, frozenset[str]], Costing] = {}
        self.active: dict[Candidate, str] = {}

    def cost(self, query: Query) -> Costing:
        key = (query.fingerprint, frozenset(self.active.values()))
        if key not in self._cache:
            self._cache[key] = self._cost(query)
        return self._cache[key]

    @abc.abstractmethod
    def _cost(self, query: Query) -> Costing:
        """Plan (or time) ``query`` with the candidates in ``active``."""

    @abc.abstractmethod
    def add(self, candidate: Candidate) -> str:
        """Make ``candidate`` visible to the planner; return the index's name."""

    @abc.abstractmethod
    def drop(self, candidate: Candidate) -> None:
        """Take ``candidate`` away again."""

    def supports(self, candidate: Candidate) -> bool:
        return True

    def close(self) -> None:  # noqa: B027 - an optional hook
        """Undo everything (hypothetical indexes, the transaction, the copy)."""


class PostgresPlanner(Planner):
    """hypopg, or real indexes in savepoints of a transaction that is rolled back."""

    def __init__(self, alias: str, *, hypothetical: bool, allow_build: bool) -> None:
        from django.db import connections

        super().__init__(alias)
        self.hypothetical = hypothetical
        self.allow_build = allow_build
        self.method = "hypopg" if hypothetical else "rolled back"
        self.connection = connections[alias]
        self.connection.ensure_connection()
        self._was_autocommit = self.connection.get_autocommit()
        if self._was_autocommit:
            self.connection.set_autocommit(False)
        self._savepoints: dict[Candidate, str] = {}
        self._hypothetical: dict[Candidate, int] = {}
        self._trgm: bool | None = None
        self._counter = 0
        with self.connection.cursor() as cursor:
            cursor.execute("SAVEPOINT headroom_indexes")
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            if hypothetical:
                cursor.execute("SELECT hypopg_reset()")

    def supports(self, candidate: Candidate) -> bool:
        if candidate.hypothetical_ok and self.hypothetical:
            return True
        return self.allow_build

    def _execute(self, sql: str, params: list[Any] | None = None) -> Any:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else None

    def trigram_available(self) -> bool:
        if self._trgm is None:
            rows = self._execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
            self._trgm = bool(rows)
        return self._trgm

    def add(self, candidate: Candidate) -> str:
        quote = self.connection.ops.quote_name
        if candidate.hypothetical_ok and self.hypothetical:
            rows = self._execute(
                "SELECT indexrelid, indexname FROM hypopg_create_index(%s)",
                [candidate.ddl(None, quote)],
            )
            self._hypothetical[candidate] = int(rows[0][0])
            name = str(rows[0][1])
        else:
            self._counter += 1
            name = f"headroom_candidate_{self._counter}"
            savepoint = f"headroom_candidate_sp_{self._counter}"
            self._execute(f"SAVEPOINT {savepoint}")
            self._savepoints[candidate] = savepoint
            try:
                if candidate.opclass == "gin_trgm_ops":
                    self._execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                self._execute(candidate.ddl(name, quote))
            except Exception:
                self._execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                del self._savepoints[candidate]
                raise
        self.active[candidate] = name
        return name

    def drop(self, candidate: Candidate) -> None:
        name = self.active.pop(candidate)
        savepoint = self._savepoints.pop(candidate, None)
        if savepoint:
            self._execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
        else:
            self._execute("SELECT hypopg_drop_index(%s)", [self._hypothetical.pop(candidate)])
        del name

    def _explain(self, sql: str, params: list[Any]) -> dict[str, Any]:
        from django.db import DatabaseError

        self._execute("SAVEPOINT headroom_explain")
        try:
            rows = self._execute("EXPLAIN (FORMAT JSON) " + sql, params)
        except DatabaseError as exc:
            self._execute("ROLLBACK TO SAVEPOINT headroom_explain")
            raise PlannerError(str(exc).strip()) from exc
        self._execute("RELEASE SAVEPOINT headroom_explain")
        raw = rows[0][0]
        tree = raw if isinstance(raw, list) else json.loads(raw)
        return dict(tree[0]["Plan"])

    def _generic(self, sql: str) -> dict[str, Any]:
        from django.db import DatabaseError

        count = max((int(n) for n in re.findall(r"\$(\d+)", sql)), default=0)
        self._execute("SAVEPOINT headroom_explain")
        try:
            self._execute("SET LOCAL plan_cache_mode = force_generic_plan")
            self._execute(f"PREPARE headroom_generic AS {sql.replace('%', '%%')}")
            args = ", ".join(["NULL"] * count)
            rows = self._execute(
                f"EXPLAIN (FORMAT JSON) EXECUTE headroom_generic{f'({args})' if count else ''}"
            )
            self._execute("DEALLOCATE headroom_generic")
        except DatabaseError as exc:
            self._execute("ROLLBACK TO SAVEPOINT headroom_explain")
            raise PlannerError(str(exc).strip()) from exc
        self._execute("RELEASE SAVEPOINT headroom_explain")
        raw = rows[0][0]
        tree = raw if isinstance(raw, list) else json.loads(raw)
        return dict(tree[0]["Plan"])

    def _cost(self, query: Query) -> Costing:
        plans: list[dict[str, Any]] = []
        dollar = "$1" in query.sql
        if query.samples:
            for sample in query.samples:
                sql, params = dollar_to_format(query.sql, sample) if dollar else (query.sql, sample)
                plans.append(self._explain(sql, params))
        elif dollar:
            plans.append(self._generic(query.sql))
        elif "%s" not in query.sql:
            plans.append(self._explain(query.sql.replace("%", "%%"), []))
        else:
            raise PlannerError("no parameter values were recorded for this statement")
        first = plans[0]
        nodes = list(_walk(first))
        return Costing(
            cost=sum(float(p.get("Total Cost", 0.0)) for p in plans) / len(plans),
            plan=pg_plan_lines(first),
            indexes_used={
                str(n["Index Name"]) for p in plans for n in _walk(p) if "Index Name" in n
            },
            full_scans={str(n["Relation Name"]) for n in nodes if n.get("Node Type") == "Seq Scan"},
        )

    def close(self) -> None:
        from django.db import DatabaseError

        try:
            if self.hypothetical:
                self._execute("SELECT hypopg_reset()")
            self._execute("ROLLBACK TO SAVEPOINT headroom_indexes")
            self._execute("RELEASE SAVEPOINT headroom_indexes")
        except DatabaseError:
            pass
        finally:
            if self._was_autocommit:
                self.connection.rollback()
                self.connection.set_autocommit(True)


class SQLiteCopyPlanner(Planner):
    """Real indexes on a copy of the SQLite database; statements are timed there."""

    method = "sqlite copy"
    unit = "ms"

    def __init__(self, alias: str, *, runs: int = 3) -> None:
        import sqlite3

        from django.db import connections
        from django.db.backends.sqlite3.base import DatabaseWrapper

        super().__init__(alias)
        self.runs = runs
        source = connections[alias]
        source.ensure_connection()
        self._dir = tempfile.mkdtemp(prefix="headroom-indexes-")
        self.path = Path(self._dir) / "copy.sqlite3"
        target = sqlite3.connect(self.path)
        try:
            source.connection.backup(target)
        finally:
            target.close()
        settings = {**source.settings_dict, "NAME": str(self.path)}
        settings.setdefault("OPTIONS", {})
        settings["OPTIONS"] = {
            k: v for k, v in settings["OPTIONS"].items() if k not in ("init_command",)
        }
        self.copy = DatabaseWrapper(settings, alias=f"headroom_copy_{alias}")
        self.copy.ensure_connection()
        self._counter = 0

    def _execute(self, sql: str, params: list[Any] | None = None) -> list[Any]:
        with self.copy.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []

    def add(self, candidate: Candidate) -> str:
        self._counter += 1
        name = f"headroom_candidate_{self._counter}"
        self._execute(candidate.ddl(name, self.copy.ops.quote_name, vendor="sqlite"))
        self.active[candidate] = name
        return name

    def drop(self, candidate: Candidate) -> None:
        name = self.active.pop(candidate)
        self._execute(f"DROP INDEX {self.copy.ops.quote_name(name)}")

    def supports(self, candidate: Candidate) -> bool:
        return candidate.method == "btree"

    def _cost(self, query: Query) -> Costing:
        from django.db import DatabaseError

        samples = query.samples or ([[]] if "%s" not in query.sql else [])
        if not samples:
            raise PlannerError("no parameter values were recorded for this statement")
        timings = []
        plan: list[str] = []
        used: set[str] = set()
        scans: set[str] = set()
        try:
            for sample in samples:
                rows = self._execute("EXPLAIN QUERY PLAN " + query.sql, sample)
                details = [str(r[-1]) for r in rows]
                plan = plan or details
                used |= {m.group(1) for d in details if (m := re.search(r"INDEX (\w+)", d))}
                scans |= {
                    m.group(1) for d in details if (m := re.match(r"SCAN (\w+)(?: AS \w+)?$", d))
                }
                best = float("inf")
                for _ in range(self.runs):
                    started = time.perf_counter()
                    self._execute(query.sql, sample)
                    best = min(best, (time.perf_counter() - started) * 1000)
                timings.append(best)
        except DatabaseError as exc:
            raise PlannerError(str(exc).strip()) from exc
        return Costing(sum(timings) / len(timings), plan, used, scans)

    def close(self) -> None:
        try:
            self.copy.close()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)


def hypopg_state(alias: str) -> str:
    """ "installed", "available" (CREATE EXTENSION hypopg would work) or "missing"."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT installed_version IS NOT NULL FROM pg_available_extensions "
            "WHERE name = 'hypopg'"
        )
        row = cursor.fetchone()
    if row is None:
        return "missing"
    return "installed" if row[0] else "available"


@contextmanager
def open_planner(alias: str, *, allow_build: bool) -> Iterator[Planner | None]:
    """The best way to prove indexes on ``alias``; None when there is none (MySQL, or
    PostgreSQL without hypopg when building is not allowed)."""
    from django.db import connections

    vendor = connections[alias].vendor
    planner: Planner | None = None
    if vendor == "postgresql":
        hypothetical = hypopg_state(alias) == "installed"
        if hypothetical or allow_build:
            planner = PostgresPlanner(alias, hypothetical=hypothetical, allow_build=allow_build)
    elif vendor == "sqlite":
        planner = SQLiteCopyPlanner(alias)
    try:
        yield planner
    finally:
        if planner is not None:
            planner.close()
