"""``headroom backfill run NAME --dry-run``: the first batches, then a rollback.

The batches run exactly as a real run would (same planner, time limits and sizing) inside
one transaction that is rolled back at the end, so nothing changes and no run is recorded.
The report holds a few rows as they were before and as the backfill left them, and the
whole run's duration projected from the measured rate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction

from headroom.backfill.database import limit_batch
from headroom.backfill.keys import CsvPlanner, Key, planner_for
from headroom.backfill.options import RunOptions
from headroom.backfill.runner import execute_batch
from headroom.backfill.sizing import BatchSizer

if TYPE_CHECKING:
    from headroom.backfill.base import Backfill


@dataclass
class DryRun:
    name: str
    batches: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0
    progress: float = 0.0
    rows_total: int | None = None
    projected_seconds: float | None = None
    before: list[dict[str, Any]] = field(default_factory=list)
    after: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "batches": self.batches,
            "rows": self.rows,
            "seconds": round(self.seconds, 4),
            "progress": round(self.progress, 6),
            "rows_total": self.rows_total,
            "projected_seconds": None
            if self.projected_seconds is None
            else round(self.projected_seconds, 1),
            "before": self.before,
            "after": self.after,
        }


def _rows(backfill: Backfill, using: str, pks: list[Any]) -> list[dict[str, Any]]:
    if not pks:
        return []
    model = backfill.model()
    found = {
        row["pk"]: row
        for row in model._default_manager.using(using)
        .filter(pk__in=pks)
        .values("pk", *[f.attname for f in model._meta.concrete_fields if not f.primary_key])
    }
    return [{k: _plain(v) for k, v in found[pk].items()} for pk in pks if pk in found]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def dry_run(backfill: Backfill, options: RunOptions, samples: int = 3) -> DryRun:
    using = backfill.database_alias()
    planner = planner_for(backfill, using)
    report = DryRun(backfill.name)
    sizer = BatchSizer(
        options.target_batch_seconds,
        options.batch_size,
        options.min_batch_size,
        options.max_batch_size,
    )
    with transaction.atomic(using=using):
        stop = planner.stop_key()
        start = planner.first_key()
        report.rows_total = planner.estimate_rows()
        cursor: Key | None = start
        first = planner.next_range(cursor, sizer.size, stop)
        sample_pks = planner.sample_keys(first, samples) if first is not None else []
        if isinstance(planner, CsvPlanner) and first is not None:
            report.before = [dict(r) for r in planner.rows(first)[:samples]]
            planner.rewind()
        else:
            report.before = _rows(backfill, using, sample_pks)
        for _ in range(options.dry_run_batches):
            r = planner.next_range(cursor, sizer.size, stop)
            if r is None:
                break
            began = time.monotonic()
            with transaction.atomic(using=using):
                limit_batch(using, options)
                rows = execute_batch(backfill, planner, r)
            seconds = time.monotonic() - began
            sizer.observe(r.size, seconds)
            report.batches.append(
                {"keys": [r.start, r.end], "rows": rows, "seconds": round(seconds, 4)}
            )
            report.rows += rows
            report.seconds += seconds
            cursor = r.end
        if not isinstance(planner, CsvPlanner):
            report.after = _rows(backfill, using, sample_pks)
        report.progress = planner.progress(cursor, start, stop, report.rows, report.rows_total)
        if report.progress >= 1.0:
            report.projected_seconds = report.seconds
        elif report.progress > 0:
            report.projected_seconds = report.seconds / report.progress
        transaction.set_rollback(True, using=using)
    return report
