from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0007_hr102_safe")]

    operations = [
        migrations.RenameField(model_name="product", old_name="f103", new_name="f103_renamed"),
    ]
