from __future__ import annotations

from django.db import migrations

from tests.migrationlint.lintcases.models import LiveProduct


def use_live_model(apps, schema_editor):
    LiveProduct.objects.update(f403="")


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0039_hr301_safe")]

    operations = [
        migrations.RunPython(use_live_model, migrations.RunPython.noop),
    ]
