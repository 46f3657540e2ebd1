from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0050_suppressed")]

    operations = [
        migrations.RunSQL("THIS IS NOT SQL", reverse_sql=migrations.RunSQL.noop),
    ]
