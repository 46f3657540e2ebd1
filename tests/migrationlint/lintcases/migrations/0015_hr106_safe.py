from __future__ import annotations

from django.contrib.postgres.operations import AddConstraintNotValid
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0014_hr106_bad")]

    operations = [
        AddConstraintNotValid(
            model_name="product",
            constraint=models.CheckConstraint(
                condition=models.Q(f106s__isnull=False), name="product_f106s_not_null"
            ),
        ),
    ]
