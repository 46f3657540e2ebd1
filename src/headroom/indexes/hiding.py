"""Proof that removing an index slows nothing: plan the workload without it.

With hypopg 1.4+ the index is hidden from this session's planner (``hypopg_hide_index``);
with ``allow_build`` on a non-production database it is dropped inside a transaction that
is rolled back (``DROP INDEX`` takes a lock that blocks the table meanwhile). Each recorded
statement on the table is planned with and without it.
"""

from __future__ import annotations

from typing import Any

from headroom.indexes.planner import PlannerError, PostgresPlanner, hypopg_state
from headroom.indexes.sqlshape import shape_of


def _can_hide(planner: PostgresPlanner) -> bool:
    rows = planner._execute("SELECT 1 FROM pg_proc WHERE proname = 'hypopg_hide_index'")
    return bool(rows)


def prove_removals(
    alias: str, problems: list[Any], indexes: list[Any], workload: Any, *, allow_build: bool
) -> None:
    """Fill ``problem.proof`` for each problem whose removal could be planned."""
    hypothetical = hypopg_state(alias) == "installed"
    if not hypothetical and not allow_build:
        return
    oids = {info.name: info.oid for info in indexes}
    planner = PostgresPlanner(alias, hypothetical=hypothetical, allow_build=allow_build)
    try:
        hide = hypothetical and _can_hide(planner)
        if not hide and not allow_build:
            return
        for problem in problems:
            if problem.kind == "invalid":
                problem.proof = "an invalid index is never used by the planner"
                continue
            queries = []
            for query in workload.for_alias(alias):
                shape = shape_of(query.sql)
                if shape is not None and problem.table in shape.tables:
                    queries.append(query)
            if not queries:
                problem.proof = "no recorded statement reads this table"
                continue
            before = {}
            for query in queries:
                try:
                    before[query.fingerprint] = planner.cost(query)
                except PlannerError:
                    continue
            if hide:
                planner._execute("SELECT hypopg_hide_index(%s)", [oids[problem.index]])
            else:
                planner._execute("SAVEPOINT headroom_hide")
                planner._execute(f'DROP INDEX "{problem.index}"')
            planner._cache.clear()
            try:
                after = {}
                for query in queries:
                    if query.fingerprint in before:
                        try:
                            after[query.fingerprint] = planner.cost(query)
                        except PlannerError:
                            continue
            finally:
                if hide:
                    planner._execute("SELECT hypopg_unhide_index(%s)", [oids[problem.index]])
                else:
                    planner._execute("ROLLBACK TO SAVEPOINT headroom_hide")
                planner._cache.clear()
            cost_before = sum(before[k].cost for k in after)
            cost_after = sum(c.cost for c in after.values())
            how = (
                "hidden with hypopg_hide_index" if hide else "dropped in a rolled-back transaction"
            )
            users = sum(1 for k in after if problem.index in before[k].indexes_used)
            problem.proof = (
                f"{len(after)} recorded statement(s) on {problem.table} planned with the index "
                f"{how}: total cost {cost_before:,.1f} -> {cost_after:,.1f}"
                + (f"; {users} of them used it and switch to another index" if users else "")
            )
    finally:
        planner.close()
