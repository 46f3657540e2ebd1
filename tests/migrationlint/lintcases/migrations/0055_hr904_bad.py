from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0054_hr108_bad")]

    operations = [
        migrations.RemoveField(model_name="product", name="does_not_exist"),
    ]
