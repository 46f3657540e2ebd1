from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0043_hr402_bad")]

    operations = [
        migrations.RunSQL("SELECT 1", reverse_sql=migrations.RunSQL.noop),
    ]
