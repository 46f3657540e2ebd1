from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0044_hr402_safe")]

    operations = [
        migrations.RemoveField(model_name="product", name="f403"),
    ]
