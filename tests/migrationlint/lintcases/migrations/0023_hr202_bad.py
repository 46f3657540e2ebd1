from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0022_hr201_safe")]

    operations = [
        migrations.RemoveIndex(model_name="product", name="prod_idx_a"),
    ]
