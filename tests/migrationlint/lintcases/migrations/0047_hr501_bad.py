from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0046_hr404_bad")]

    operations = [
        migrations.AddField(
            model_name="product", name="f501", field=models.IntegerField(null=True)
        ),
        migrations.RemoveField(model_name="product", name="f501old"),
    ]
