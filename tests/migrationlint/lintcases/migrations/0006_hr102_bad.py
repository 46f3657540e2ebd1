from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0005_hr110_bad")]

    operations = [
        migrations.DeleteModel(name="Tag"),
    ]
