from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("lintcases", "0026_hr204_bad")]

    operations = [
        migrations.RunSQL(
            'CREATE UNIQUE INDEX CONCURRENTLY "prod_f204s_uniq" ON "lintcases_product" ("f204s")',
            reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "prod_f204s_uniq"',
        ),
    ]
