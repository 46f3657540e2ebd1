from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0029_hr205_bad")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="category2",
            field=models.ForeignKey(
                null=True,
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.CASCADE,
                to="lintcases.category",
            ),
        ),
    ]
