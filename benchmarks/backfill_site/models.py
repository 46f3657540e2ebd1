from __future__ import annotations

from django.db import models


class Order(models.Model):
    """An order table whose ``total`` column was added later and is empty on old rows."""

    customer = models.IntegerField()
    quantity = models.IntegerField()
    unit_price = models.IntegerField()
    note = models.CharField(max_length=60)
    total = models.BigIntegerField(null=True)

    class Meta:
        app_label = "backfill_site"
