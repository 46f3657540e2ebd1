from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0053_sql_safe")]

    operations = [
        migrations.AlterField(
            model_name="keyed",
            name="code",
            field=models.CharField(max_length=10, primary_key=True, serialize=False),
        ),
    ]
