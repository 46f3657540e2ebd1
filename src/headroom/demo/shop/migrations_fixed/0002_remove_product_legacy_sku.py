"""Product.legacy_sku, retired the expand/contract way (the fixed twin of
``migrations/0002_remove_product_legacy_sku.py``).

This release: the column becomes nullable and the field leaves Django's state only, so the
new code stops reading and writing it while the column stays for the old code still running
during the deploy (and for a rollback). A later release, once no running code knows the
column, drops it::

    migrations.RunSQL(
        'ALTER TABLE "shop_product" DROP COLUMN "legacy_sku"',
        reverse_sql='ALTER TABLE "shop_product" ADD COLUMN "legacy_sku" varchar(32) NULL',
    )
"""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        # Rows the new code inserts leave the column NULL.
        migrations.AlterField(
            model_name="product",
            name="legacy_sku",
            field=models.CharField(max_length=32, null=True),
        ),
        # Rolling back restores NOT NULL: fill in the NULLs written meanwhile first.
        migrations.RunSQL(
            migrations.RunSQL.noop,
            reverse_sql='UPDATE "shop_product" SET "legacy_sku" = \'\' WHERE "legacy_sku" IS NULL',
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="product", name="legacy_sku"),
            ],
        ),
    ]
