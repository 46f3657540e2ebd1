from __future__ import annotations

from django.db import migrations, models

from headroom.backfill import RequireBackfill


class Migration(migrations.Migration):
    dependencies = [("requireapp", "0001_initial"), ("headroom", "0001_initial")]

    operations = [
        RequireBackfill("requireapp.FillTotals"),
        migrations.AlterField(model_name="order", name="total", field=models.IntegerField()),
    ]
