from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    headroom_ignore = {"HR101": "", "HR999": "no such rule"}
    dependencies = [("lintcases", "0047_hr501_bad")]

    operations = [
        migrations.RemoveField(model_name="product", name="f901"),
    ]
