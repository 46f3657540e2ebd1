"""A model class of the "running code", for the data-migration rule HR302 to catch."""

from __future__ import annotations

from django.db import models


class LiveProduct(models.Model):
    f403 = models.CharField(max_length=20, null=True)

    class Meta:
        app_label = "lintcases"
        db_table = "lintcases_product"
        managed = False
