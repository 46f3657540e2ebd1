"""A tiny app whose second migration needs a backfill first (``RequireBackfill``)."""

from __future__ import annotations

from django.db import models


class Order(models.Model):
    quantity = models.IntegerField()
    unit_price = models.IntegerField()
    total = models.IntegerField()  # NOT NULL since 0002, once the backfill filled it
