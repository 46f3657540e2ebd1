"""Candidate indexes for a workload, from the shape of each statement.

Per statement and table: the equality columns first, then a range column or the ORDER BY
columns (the order that lets one index both find and sort the rows); each equality column
alone (so several statements can share one narrow index); an expression index for
``UPPER(col) = UPPER(%s)`` / ``LOWER(col) = %s``; a trigram GIN index for ``icontains``
(``LIKE '%...%'``) when ``pg_trgm`` is available; and, where the same constant predicate
(``is_active``, ``deleted_at IS NULL``) appears in two or more statements on a table, the
same candidates as partial indexes carrying it.

Which of them are worth building is decided by the planner, not here (see ``select``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from headroom.indexes.sqlshape import Constant, TableUse


@dataclass(frozen=True)
class Candidate:
    """One index that could be built."""

    table: str
    columns: tuple[str, ...] = ()
    #: One flag per column: sort it descending.
    descending: tuple[bool, ...] = ()
    #: ("upper", "email"): an index on UPPER("email"::text).
    expression: tuple[str, str] | None = None
    method: str = "btree"
    opclass: str | None = None
    condition: Constant | None = None

    @property
    def key_columns(self) -> tuple[str, ...]:
        return (self.expression[1],) if self.expression else self.columns

    @property
    def hypothetical_ok(self) -> bool:
        """hypopg can simulate btree indexes, not GIN."""
        return self.method == "btree"

    def describe(self) -> str:
        if self.expression:
            inner = f"{self.expression[0].upper()}({self.expression[1]})"
        else:
            inner = ", ".join(
                f"{c} DESC" if d else c for c, d in zip(self.columns, self.descending, strict=True)
            )
        text = f"{self.table} ({inner})"
        if self.method != "btree":
            opclass = f" {self.opclass}" if self.opclass else ""
            text = f"{self.table} USING {self.method} ({inner}{opclass})"
        if self.condition is not None:
            text += f" WHERE {self.condition.sql}"
        return text

    def ddl(self, name: str | None, quote: Any, vendor: str = "postgresql") -> str:
        """``CREATE INDEX`` for this candidate (``name`` None: let the server name it)."""
        if self.expression:
            func, column = self.expression
            cast = "::text" if vendor == "postgresql" else ""
            part = f"{func.upper()}({quote(column)}{cast})"
            inner = f"{part} {self.opclass}" if self.opclass else f"({part})"
        else:
            inner = ", ".join(
                quote(c) + (" DESC" if d else "")
                for c, d in zip(self.columns, self.descending, strict=True)
            )
        using = f" USING {self.method}" if self.method != "btree" else ""
        named = f"{quote(name)} " if name else ""
        sql = f"CREATE INDEX {named}ON {quote(self.table)}{using} ({inner})"
        if self.condition is not None:
            sql += " WHERE " + self.condition.sql.replace(
                f'"{self.condition.column}"', quote(self.condition.column)
            )
        return sql

    def sort_key(self) -> tuple[int, int, str]:
        """Prefer the narrower, plainer index when two serve equally well."""
        return (len(self.key_columns), 0 if self.method == "btree" else 1, self.describe())


def _btree(
    table: str, columns: Sequence[str], descending: Sequence[bool] = (), cond: Any = None
) -> Candidate | None:
    cols = tuple(dict.fromkeys(columns))
    if not cols:
        return None
    flags = tuple(descending) if len(descending) == len(cols) else (False,) * len(cols)
    return Candidate(table, cols, flags, condition=cond)


def _sort_part(order: list[tuple[str, bool]]) -> tuple[list[str], list[bool]]:
    """ORDER BY columns; directions kept only when they are mixed (a btree scans backwards
    just as well, so one direction needs no flags)."""
    columns = [c for c, _ in order]
    flags = [d for _, d in order]
    if len(set(flags)) <= 1:
        return columns, [False] * len(columns)
    if flags[0]:  # (a DESC, b ASC) is served by (a ASC, b DESC) scanned backwards
        flags = [not f for f in flags]
    return columns, flags


def for_use(use: TableUse, samples: list[list[Any]], trigram: bool) -> list[Candidate]:
    """Candidates for one statement's use of one table (no partial variants)."""
    found: list[Candidate | None] = []
    eq = list(dict.fromkeys(use.equality))
    sort_cols, sort_flags = _sort_part(use.order)
    if eq:
        found.append(_btree(use.table, eq))
        for column in eq:
            found.append(_btree(use.table, [column]))
    for column in dict.fromkeys(use.ranges):
        found.append(_btree(use.table, [*eq, column]))
    if sort_cols and not set(sort_cols) <= set(eq):
        rest = [(c, f) for c, f in zip(sort_cols, sort_flags, strict=True) if c not in eq]
        found.append(
            _btree(
                use.table, [*eq, *(c for c, _ in rest)], [False] * len(eq) + [f for _, f in rest]
            )
        )
    for column in dict.fromkeys(use.joins):
        found.append(_btree(use.table, [column]))
    for func, column in dict.fromkeys(use.expressions):
        found.append(Candidate(use.table, expression=(func, column)))
    if trigram:
        for func, column, number, literal in use.likes:
            patterns = [literal] if literal else []
            if number is not None:
                patterns += [s[number - 1] for s in samples if len(s) >= number]
            if patterns and all(isinstance(p, str) and p.startswith("%") for p in patterns):
                found.append(
                    Candidate(
                        use.table,
                        expression=(func or "upper", column),
                        method="gin",
                        opclass="gin_trgm_ops",
                    )
                )
    return [c for c in dict.fromkeys(found) if c is not None]


def repeated_constants(uses: list[TableUse]) -> list[Constant]:
    """Constant predicates that two or more statements on a table share."""
    counts: Counter[Constant] = Counter()
    for use in uses:
        counts.update(set(use.constants))
    return [c for c, n in counts.items() if n >= 2]


def with_condition(candidate: Candidate, condition: Constant) -> Candidate | None:
    """The partial version of ``candidate``: its columns, minus the one the condition fixes."""
    if candidate.method != "btree" or candidate.expression:
        return None
    keep = [
        (c, d)
        for c, d in zip(candidate.columns, candidate.descending, strict=True)
        if c != condition.column
    ]
    return Candidate(
        candidate.table,
        tuple(c for c, _ in keep),
        tuple(d for _, d in keep),
        condition=condition,
    )


def partial_for_use(use: TableUse, conditions: list[Constant]) -> list[Candidate]:
    """Partial candidates for a statement that carries one of the repeated constants."""
    found: list[Candidate] = []
    mine = [c for c in conditions if c in use.constants]
    for condition in mine:
        for base in for_use(use, [], trigram=False):
            partial = with_condition(base, condition)
            if partial is not None and partial.columns:
                found.append(partial)
    return list(dict.fromkeys(found))


def covered_by(candidate: Candidate, existing: list[tuple[tuple[str, ...], bool]]) -> bool:
    """Whether an existing plain btree index already starts with the candidate's columns.

    ``existing`` holds (columns, is_plain) per index of the table; expressions, partial and
    non-btree indexes are never counted as covering.
    """
    if candidate.expression or candidate.condition is not None or candidate.method != "btree":
        return False
    n = len(candidate.columns)
    return any(plain and cols[:n] == candidate.columns for cols, plain in existing)
