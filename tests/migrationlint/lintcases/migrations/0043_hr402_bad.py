from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0042_hr401_bad")]

    operations = [
        migrations.RunSQL("SELECT 1"),
    ]
