from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0012_hr105_bad")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="f105s",
            field=models.CharField(max_length=10, db_default="x"),
        ),
        migrations.AddField(
            model_name="product", name="f105n", field=models.CharField(max_length=10, null=True)
        ),
    ]
