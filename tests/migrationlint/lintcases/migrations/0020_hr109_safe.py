from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0019_hr109_bad")]

    operations = [
        migrations.AlterField(
            model_name="product", name="f109s", field=models.IntegerField(null=True)
        ),
    ]
