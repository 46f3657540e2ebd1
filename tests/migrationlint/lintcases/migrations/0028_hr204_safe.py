from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0027_hr204_safe_index")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'ALTER TABLE "lintcases_product" ADD CONSTRAINT "prod_f204s_uniq" '
                    'UNIQUE USING INDEX "prod_f204s_uniq"',
                    reverse_sql='ALTER TABLE "lintcases_product" DROP CONSTRAINT "prod_f204s_uniq"',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="product",
                    name="f204s",
                    field=models.CharField(max_length=20, unique=True),
                ),
            ],
        ),
    ]
