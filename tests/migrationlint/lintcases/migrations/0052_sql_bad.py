from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0051_hr903_bad")]

    operations = [
        migrations.RunSQL(
            [
                'ALTER TABLE "lintcases_product" DROP COLUMN "fsql_drop"',
                'ALTER TABLE "lintcases_product" RENAME COLUMN "fsql_ren" TO "fsql_ren2"',
                'ALTER TABLE "lintcases_product" ALTER COLUMN "fsql_nn" SET NOT NULL',
                'ALTER TABLE "lintcases_product" ALTER COLUMN "fsql_def" DROP DEFAULT',
                'ALTER TABLE "lintcases_product" ALTER COLUMN "f208" TYPE text',
                'ALTER TABLE "lintcases_product" ADD COLUMN "fsql_new" integer NOT NULL',
                'ALTER TABLE "lintcases_product" ADD COLUMN "fsql_uuid" uuid '
                "DEFAULT gen_random_uuid()",
                'CREATE INDEX "prod_sql_idx" ON "lintcases_product" ("f201")',
                'DROP INDEX "prod_f201_idx"',
                'CREATE INDEX CONCURRENTLY "prod_sql_cidx" ON "lintcases_product" ("f203")',
                'ALTER TABLE "lintcases_product" ADD CONSTRAINT "prod_sql_uniq" UNIQUE ("f204")',
                'ALTER TABLE "lintcases_product" ADD CONSTRAINT "prod_sql_fk" '
                'FOREIGN KEY ("category2_id") REFERENCES "lintcases_category" ("id")',
                'ALTER TABLE "lintcases_product" ADD CONSTRAINT "prod_sql_check" '
                'CHECK ("f206" > 0)',
                'ALTER TABLE "lintcases_category" RENAME TO "lintcases_cat"',
                'DROP TABLE "lintcases_keyed"',
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
