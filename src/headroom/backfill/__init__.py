"""Backfills: change many rows in small, throttled, resumable batches.

::

    from headroom.backfill import Backfill

    class FillOrderTotals(Backfill):
        queryset = Order.objects.filter(total__isnull=True)

        def process(self, batch):
            return batch.update(total=F("quantity") * F("unit_price"))

Run with ``python manage.py headroom backfill run orders.FillOrderTotals``; see
docs/backfill.md. Importing this package loads nothing from Django: the names below are
imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headroom.backfill.base import Backfill, CsvBackfill
    from headroom.backfill.operations import RequireBackfill
    from headroom.backfill.params import Param
    from headroom.backfill.registry import register
    from headroom.backfill.runner import run_backfill

__all__ = ["Backfill", "CsvBackfill", "Param", "RequireBackfill", "register", "run_backfill"]

_WHERE = {
    "Backfill": "headroom.backfill.base",
    "CsvBackfill": "headroom.backfill.base",
    "Param": "headroom.backfill.params",
    "RequireBackfill": "headroom.backfill.operations",
    "register": "headroom.backfill.registry",
    "run_backfill": "headroom.backfill.runner",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'headroom.backfill' has no attribute {name!r}")
