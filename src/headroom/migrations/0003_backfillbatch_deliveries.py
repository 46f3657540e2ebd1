from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("headroom", "0002_backfillrun_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="backfillbatch",
            name="deliveries",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
    ]
