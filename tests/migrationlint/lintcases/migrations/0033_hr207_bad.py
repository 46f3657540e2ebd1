from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0032_hr206_bad")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="f207",
            field=models.FloatField(db_default=models.functions.Random()),
        ),
    ]
