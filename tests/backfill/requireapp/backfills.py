from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from headroom.backfill import Backfill
from tests.backfill.requireapp.models import Order


class FillTotals(Backfill):
    """Orders placed before totals were stored have none."""

    queryset = Order.objects.filter(total__isnull=True)

    def process(self, batch: QuerySet[Any]) -> int:
        return batch.update(total=F("quantity") * F("unit_price"))
