from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    headroom_ignore = {"HR101": "nothing is dropped here any more"}
    dependencies = [("lintcases", "0048_hr901_bad")]

    operations = [
        migrations.AddField(
            model_name="product", name="f902", field=models.IntegerField(null=True)
        ),
    ]
