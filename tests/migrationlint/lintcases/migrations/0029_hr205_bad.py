from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("lintcases", "0028_hr204_safe")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="category",
            field=models.ForeignKey(
                null=True, on_delete=models.deletion.CASCADE, to="lintcases.category"
            ),
        ),
    ]
