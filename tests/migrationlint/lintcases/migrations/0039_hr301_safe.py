from __future__ import annotations

from django.db import migrations


def fill(apps, schema_editor):
    Product = apps.get_model("lintcases", "Product")
    Product.objects.filter(f403__isnull=True).update(f403="")


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0038_hr301_bad")]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
