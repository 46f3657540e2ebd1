from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0036_hr209_bad")]

    operations = [
        migrations.RunSQL("SET lock_timeout = '5s'", reverse_sql=migrations.RunSQL.noop),
        migrations.AddField(
            model_name="product", name="f209s", field=models.IntegerField(null=True)
        ),
    ]
