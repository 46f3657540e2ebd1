from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0004_hr101_contract")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="product", name="f110")],
        ),
    ]
