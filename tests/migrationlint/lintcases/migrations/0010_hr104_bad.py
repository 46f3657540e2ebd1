from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0009_hr103_safe")]

    operations = [
        migrations.RenameModel(old_name="Shelf", new_name="Rack"),
    ]
