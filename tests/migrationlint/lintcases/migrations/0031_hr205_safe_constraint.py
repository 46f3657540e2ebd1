from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0030_hr205_safe")]

    operations = [
        migrations.RunSQL(
            'ALTER TABLE "lintcases_product" ADD CONSTRAINT "product_category2_fk" '
            'FOREIGN KEY ("category2_id") REFERENCES "lintcases_category" ("id") NOT VALID',
            reverse_sql='ALTER TABLE "lintcases_product" DROP CONSTRAINT "product_category2_fk"',
        ),
    ]
