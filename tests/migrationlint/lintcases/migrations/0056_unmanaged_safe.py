from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0055_hr904_bad")]

    operations = [
        # Django does not manage this table: removing the field or model changes no schema.
        migrations.RemoveField(model_name="external", name="code"),
        migrations.DeleteModel(name="External"),
    ]
