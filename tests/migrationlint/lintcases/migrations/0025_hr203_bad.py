from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0024_hr202_safe")]

    operations = [
        AddIndexConcurrently(
            model_name="product", index=models.Index(fields=["f203"], name="prod_f203_idx")
        ),
    ]
