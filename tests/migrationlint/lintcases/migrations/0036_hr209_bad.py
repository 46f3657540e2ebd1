from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0035_hr208_bad")]

    operations = [
        migrations.AddField(
            model_name="product", name="f209", field=models.IntegerField(null=True)
        ),
    ]
