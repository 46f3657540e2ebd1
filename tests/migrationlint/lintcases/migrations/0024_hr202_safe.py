from __future__ import annotations

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("lintcases", "0023_hr202_bad")]

    operations = [
        RemoveIndexConcurrently(model_name="product", name="prod_idx_b"),
    ]
