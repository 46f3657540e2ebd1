from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0016_hr106_validate")]

    operations = [
        migrations.AlterField(
            model_name="product", name="f107", field=models.CharField(max_length=50)
        ),
    ]
