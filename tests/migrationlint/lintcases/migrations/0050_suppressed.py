from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    headroom_ignore = {"HR101:0": "fsup unused since release 4.2"}
    dependencies = [("lintcases", "0049_hr902_bad")]

    operations = [
        migrations.RemoveField(model_name="product", name="fsup"),
    ]
