"""Key ranges: how a backfill's rows are cut into batches, never with OFFSET.

Two planners walk a queryset's cursor columns (the primary key by default):

- :class:`IntegerRangePlanner`, for one integer column: a batch is ``lo < pk <= lo + size``,
  computed without reading the table; after an empty range it seeks to the next matching key.
- :class:`KeysetPlanner`, for any other key (text, UUID, several columns): the batch's upper
  bound is the last of the next ``size`` keys (``WHERE key > last ORDER BY key LIMIT size``),
  read from the index; several columns are compared as one row value, ``(a, b) > (x, y)``.

:class:`CsvPlanner` does the same over the data rows of a CSV file. Keys travel as JSON lists
(the cursor stored on the run) and are turned back into Python values by the fields.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connections
from django.db.models import F, Max, Min, Q

if TYPE_CHECKING:
    from django.db.models import Field, QuerySet

    from headroom.backfill.base import Backfill, CsvBackfill

Key = list[Any]


def planned_rows(queryset: QuerySet[Any], using: str) -> int | None:
    """The rows PostgreSQL's planner expects ``queryset`` to return (``EXPLAIN``, not run);
    None on other databases or when the plan cannot be read."""
    import json

    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    try:
        sql, params = queryset.query.get_compiler(using=using).as_sql()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            row = cursor.fetchone()
    except Exception:  # an estimate is optional: the caller counts instead
        return None
    if not row:
        return None
    plan: Any = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    try:
        return int(plan[0]["Plan"]["Plan Rows"])
    except (TypeError, LookupError, ValueError):
        return None


_INTEGER_FIELDS = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}


@dataclass
class Range:
    """Keys after ``start`` (None: from the first) up to and including ``end``."""

    start: Key | None
    end: Key
    #: Keys the range spans (rows for keyset and CSV ranges, key values for integer ranges).
    size: int
    #: Rows in the range, when the planner knows them without running the batch.
    rows: int | None = None


def _after(fields: Sequence[str], values: Sequence[Any]) -> Q:
    if len(fields) == 1:
        return Q(**{f"{fields[0]}__gt": values[0]})
    from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan

    return Q(TupleGreaterThan(Tuple(*(F(f) for f in fields)), tuple(values)))


def _up_to(fields: Sequence[str], values: Sequence[Any]) -> Q:
    if len(fields) == 1:
        return Q(**{f"{fields[0]}__lte": values[0]})
    from django.db.models.fields.tuple_lookups import Tuple, TupleLessThanOrEqual

    return Q(TupleLessThanOrEqual(Tuple(*(F(f) for f in fields)), tuple(values)))


class QuerysetPlanner:
    """What both queryset planners share: the key fields and JSON round trips."""

    def __init__(self, backfill: Backfill, using: str) -> None:
        self.backfill = backfill
        self.using = using
        self.queryset = backfill.get_queryset().using(using)
        self.model = self.queryset.model
        self.fields = backfill.key_fields()
        opts = self.model._meta
        self._field_objs: list[Field[Any, Any]] = [
            next(f for f in opts.concrete_fields if f.attname == name) for name in self.fields
        ]

    def load(self, key: Key | None) -> Key | None:
        if key is None:
            return None
        return [f.to_python(v) for f, v in zip(self._field_objs, key, strict=True)]

    def dump(self, key: Sequence[Any]) -> Key:
        out: Key = []
        for value in key:
            if value is None or isinstance(value, (bool, int, float, str)):
                out.append(value)
            elif hasattr(value, "isoformat"):
                out.append(value.isoformat())
            else:
                out.append(str(value))
        return out

    def order(self) -> list[str]:
        return list(self.fields)

    def stop_key(self) -> Key | None:
        """The last key needing the backfill now; rows added later are left alone."""
        last = (
            self.queryset.order_by(*(f"-{f}" for f in self.fields))
            .values_list(*self.fields)
            .first()
        )
        return None if last is None else self.dump(last)

    def batch(self, r: Range, stop: Key | None = None) -> QuerySet[Any]:
        """The queryset's rows in ``r``."""
        qs = self.queryset
        if r.start is not None:
            qs = qs.filter(_after(self.fields, self.load(r.start) or []))
        return qs.filter(_up_to(self.fields, self.load(r.end) or []))

    def span(self, r: Range) -> QuerySet[Any]:
        """Every row of the table in ``r``, whether the backfill's filter matches it or not
        (what a batch may have changed)."""
        qs: QuerySet[Any] = self.model._base_manager.using(self.using).all()
        if r.start is not None:
            qs = qs.filter(_after(self.fields, self.load(r.start) or []))
        return qs.filter(_up_to(self.fields, self.load(r.end) or []))

    def sample_keys(self, r: Range, limit: int) -> list[Any]:
        """Primary keys of the first rows of ``r`` (for the dry run's before/after)."""
        return list(self.batch(r).order_by(*self.fields).values_list("pk", flat=True)[:limit])

    def estimate_rows(self) -> int | None:
        """The rows the backfill will touch (``BackfillRun.rows_total``, for progress and the
        ETA): counted, except on PostgreSQL when the planner expects more than
        ``BACKFILL_EXACT_COUNT_LIMIT`` rows. Counting those would read the whole table (or
        index) in one statement before the first batch, holding a snapshot all along; the
        planner's estimate is then taken instead."""
        planned, count = self.estimated_rows()
        return self.queryset.count() if count else planned

    def estimated_rows(self) -> tuple[int | None, bool]:
        """The planner's estimate of the rows (None when not asked: no limit set, or not
        PostgreSQL), and whether to count them exactly: unless the planner expects more than
        ``BACKFILL_EXACT_COUNT_LIMIT``."""
        from headroom.conf import conf

        limit = conf.BACKFILL_EXACT_COUNT_LIMIT
        if limit is None:
            return None, True
        planned = planned_rows(self.queryset, self.using)
        return planned, planned is None or planned <= limit

    def progress(
        self, cursor: Key | None, start: Key | None, stop: Key | None, rows: int, total: int | None
    ) -> float:
        if stop is None:
            return 1.0
        if total:
            return min(1.0, rows / total)
        return 0.0


class IntegerRangePlanner(QuerysetPlanner):
    kind = "range"

    def first_key(self) -> Key | None:
        first = self.queryset.aggregate(low=Min(self.fields[0]))["low"]
        return None if first is None else [first - 1]

    def stop_key(self) -> Key | None:
        last = self.queryset.aggregate(high=Max(self.fields[0]))["high"]
        return None if last is None else [last]

    def next_range(self, after: Key | None, size: int, stop: Key | None) -> Range | None:
        if stop is None:
            return None
        if after is None:
            after = self.first_key()
            if after is None:
                return None
        low = int(after[0])
        if low >= int(stop[0]):
            return None
        high = min(low + max(1, size), int(stop[0]))
        return Range([low], [high], high - low)

    def seek(self, after: Key, stop: Key | None) -> Key | None:
        """After an empty range: the key just before the next matching row (None: none)."""
        query = self.queryset.filter(**{f"{self.fields[0]}__gt": after[0]})
        if stop is not None:
            query = query.filter(**{f"{self.fields[0]}__lte": stop[0]})
        found = query.aggregate(low=Min(self.fields[0]))["low"]
        return None if found is None else [found - 1]

    def progress(
        self, cursor: Key | None, start: Key | None, stop: Key | None, rows: int, total: int | None
    ) -> float:
        if stop is None:
            return 1.0
        if cursor is None or start is None:
            return 0.0
        span = int(stop[0]) - int(start[0])
        return 1.0 if span <= 0 else min(1.0, (int(cursor[0]) - int(start[0])) / span)


class KeysetPlanner(QuerysetPlanner):
    kind = "keyset"

    def first_key(self) -> Key | None:
        return None

    def next_range(self, after: Key | None, size: int, stop: Key | None) -> Range | None:
        if stop is None:
            return None
        qs = self.queryset
        if after is not None:
            qs = qs.filter(_after(self.fields, self.load(after) or []))
        qs = qs.filter(_up_to(self.fields, self.load(stop) or []))
        aliases = {f"k{i}": F(name) for i, name in enumerate(self.fields)}
        inner = qs.order_by(*self.fields).values(**aliases)[: max(1, size)]
        sql, params = inner.query.get_compiler(self.using).as_sql()
        columns = ", ".join(f"s.k{i}" for i in range(len(self.fields)))
        descending = ", ".join(f"s.k{i} DESC" for i in range(len(self.fields)))
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                f"SELECT {columns}, count(*) OVER () FROM ({sql}) s ORDER BY {descending} LIMIT 1",
                params,
            )
            row = cursor.fetchone()
        if row is None:
            return None
        *last, rows = row
        return Range(after, self.dump(last), int(rows), int(rows))

    def seek(self, after: Key, stop: Key | None) -> Key | None:
        return after  # a keyset range is never empty


class CsvPlanner:
    """Data rows of a CSV file, numbered from 1; the key is the row number."""

    kind = "csv"
    fields = ["row"]

    def __init__(self, backfill: CsvBackfill, using: str) -> None:
        self.backfill = backfill
        self.using = using
        self._iter: Iterator[dict[str, str]] | None = None
        self._position = 0

    def load(self, key: Key | None) -> Key | None:
        return key

    def dump(self, key: Sequence[Any]) -> Key:
        return list(key)

    def first_key(self) -> Key | None:
        return [0]

    def stop_key(self) -> Key | None:
        total = self.backfill.count_rows()
        return [total] if total else None

    def estimate_rows(self) -> int | None:
        stop = self.stop_key()
        return stop[0] if stop else 0

    def next_range(self, after: Key | None, size: int, stop: Key | None) -> Range | None:
        if stop is None:
            return None
        low = int(after[0]) if after else 0
        if low >= int(stop[0]):
            return None
        high = min(low + max(1, size), int(stop[0]))
        return Range([low], [high], high - low, high - low)

    def seek(self, after: Key, stop: Key | None) -> Key | None:
        return after

    def rows(self, r: Range) -> list[dict[str, str]]:
        low = int(r.start[0]) if r.start else 0
        high = int(r.end[0])
        if self._iter is None or self._position != low:
            self._iter = self.backfill.rows(after=low)
            self._position = low
        batch = list(itertools.islice(self._iter, high - low))
        self._position = low + len(batch)
        return batch

    def rewind(self) -> None:
        """Forget the open file position (after a batch was rolled back)."""
        self._iter = None
        self._position = -1

    def sample_keys(self, r: Range, limit: int) -> list[Any]:
        return []

    def progress(
        self, cursor: Key | None, start: Key | None, stop: Key | None, rows: int, total: int | None
    ) -> float:
        if not stop:
            return 1.0
        return min(1.0, int(cursor[0] if cursor else 0) / int(stop[0]))


Planner = IntegerRangePlanner | KeysetPlanner | CsvPlanner


def planner_for(backfill: Backfill, using: str) -> Planner:
    """The planner that fits the backfill's cursor columns."""
    from headroom.backfill.base import CsvBackfill

    if isinstance(backfill, CsvBackfill):
        return CsvPlanner(backfill, using)
    fields = backfill.key_fields()
    if len(fields) == 1:
        model = backfill.model()
        field = next(f for f in model._meta.concrete_fields if f.attname == fields[0])
        if field.get_internal_type() in _INTEGER_FIELDS:
            return IntegerRangePlanner(backfill, using)
    return KeysetPlanner(backfill, using)
