from __future__ import annotations

from django.db import migrations, models


def fill(apps, schema_editor):
    Product = apps.get_model("lintcases", "Product")
    Product.objects.filter(f403__isnull=True).update(f403="")


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0037_hr209_safe")]

    operations = [
        migrations.AddField(
            model_name="product", name="f301", field=models.IntegerField(null=True)
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
