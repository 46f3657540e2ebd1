from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0002_hr101_bad")]

    operations = [
        migrations.AlterField(
            model_name="product", name="f101s", field=models.CharField(max_length=20, null=True)
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="product", name="f101s")],
        ),
    ]
