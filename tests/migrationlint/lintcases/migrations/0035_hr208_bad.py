from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0034_hr207_safe")]

    operations = [
        migrations.AlterField(
            model_name="product", name="f208", field=models.BigIntegerField(default=0)
        ),
    ]
