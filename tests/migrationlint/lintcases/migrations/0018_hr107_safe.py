from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0017_hr107_bad")]

    operations = [
        migrations.AlterField(
            model_name="product", name="f107s", field=models.CharField(max_length=200)
        ),
    ]
