from __future__ import annotations

from benchmarks.backfill_site.models import Order
from django.db.models import F

from headroom.backfill import Backfill


class FillOrderTotals(Backfill):
    """Orders created before totals were stored have none."""

    queryset = Order.objects.filter(total__isnull=True)
    update = {"total": F("quantity") * F("unit_price")}
