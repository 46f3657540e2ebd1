from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0010_hr104_bad")]

    operations = [
        migrations.RenameModel(old_name="Box", new_name="Crate"),
    ]
