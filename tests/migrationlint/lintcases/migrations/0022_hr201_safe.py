from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("lintcases", "0021_hr201_bad")]

    operations = [
        AddIndexConcurrently(
            model_name="product", index=models.Index(fields=["f201s"], name="prod_f201s_idx")
        ),
    ]
