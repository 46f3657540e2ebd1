from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0025_hr203_bad")]

    operations = [
        migrations.AlterField(
            model_name="product", name="f204", field=models.CharField(max_length=20, unique=True)
        ),
    ]
