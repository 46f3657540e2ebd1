from __future__ import annotations

from django.contrib.postgres.operations import ValidateConstraint
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0015_hr106_safe")]

    operations = [
        ValidateConstraint(model_name="product", name="product_f106s_not_null"),
    ]
