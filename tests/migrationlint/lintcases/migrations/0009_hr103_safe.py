from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0008_hr103_bad")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField(
                    model_name="product", old_name="f103s", new_name="f103s_new"
                ),
                migrations.AlterField(
                    model_name="product",
                    name="f103s_new",
                    field=models.CharField(max_length=20, db_column="f103s"),
                ),
            ],
        ),
    ]
