from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0018_hr107_safe")]

    operations = [
        migrations.AlterField(model_name="product", name="f109", field=models.IntegerField()),
    ]
