from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0020_hr109_safe")]

    operations = [
        migrations.AddIndex(
            model_name="product", index=models.Index(fields=["f201"], name="prod_f201_idx")
        ),
    ]
