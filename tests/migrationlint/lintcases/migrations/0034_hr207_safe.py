from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0033_hr207_bad")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="f207s",
            field=models.DateTimeField(db_default=models.functions.Now()),
        ),
    ]
