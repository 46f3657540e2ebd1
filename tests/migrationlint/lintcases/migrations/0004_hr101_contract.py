from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0003_hr101_safe")]

    operations = [
        migrations.RunSQL(
            'ALTER TABLE "lintcases_product" DROP COLUMN "f101s"',
            reverse_sql='ALTER TABLE "lintcases_product" ADD COLUMN "f101s" varchar(20) NULL',
        ),
    ]
