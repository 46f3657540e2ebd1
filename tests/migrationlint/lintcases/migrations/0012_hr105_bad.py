from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0011_hr104_safe")]

    operations = [
        migrations.AddField(
            model_name="product", name="f105", field=models.CharField(max_length=10, default="x")
        ),
    ]
