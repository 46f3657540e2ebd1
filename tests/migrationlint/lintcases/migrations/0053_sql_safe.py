from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("lintcases", "0052_sql_bad")]

    operations = [
        migrations.RunSQL(
            [
                "SET lock_timeout = '5s'",
                'CREATE INDEX CONCURRENTLY "prod_sql_idx2" ON "lintcases_product" ("f201")',
                'DROP INDEX CONCURRENTLY "prod_sql_idx2"',
                'ALTER TABLE "lintcases_product" ADD COLUMN "fsql_ok" integer NULL',
                'ALTER TABLE "lintcases_product" ADD COLUMN "fsql_ok2" integer NOT NULL DEFAULT 0',
                'ALTER TABLE "lintcases_product" ADD CONSTRAINT "prod_sql_fk2" '
                'FOREIGN KEY ("category2_id") REFERENCES "lintcases_category" ("id") NOT VALID',
                'ALTER TABLE "lintcases_product" ADD CONSTRAINT "prod_sql_check2" '
                'CHECK ("f206" > 0) NOT VALID',
                'ALTER TABLE "lintcases_product" VALIDATE CONSTRAINT "prod_sql_check2"',
                'ALTER TABLE "lintcases_product" ALTER COLUMN "fsql_nn" DROP NOT NULL',
                'ALTER TABLE "lintcases_product" ALTER COLUMN "f107s" TYPE varchar(300)',
                'CREATE TABLE "lintcases_fresh" (id bigint PRIMARY KEY, code text NOT NULL)',
                'CREATE INDEX "fresh_code_idx" ON "lintcases_fresh" ("code")',
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
