from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0045_hr403_safe")]

    operations = [
        migrations.AlterField(
            model_name="product", name="f404", field=models.IntegerField(null=True)
        ),
    ]
