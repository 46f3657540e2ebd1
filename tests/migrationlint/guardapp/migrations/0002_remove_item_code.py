from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("guardapp", "0001_initial")]

    operations = [
        migrations.RemoveField(model_name="item", name="code"),
    ]
