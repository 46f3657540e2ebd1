from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0013_hr105_safe")]

    operations = [
        migrations.AlterField(model_name="product", name="f106", field=models.TextField()),
    ]
