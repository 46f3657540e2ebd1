from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("headroom", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="backfillrun",
            name="options",
            field=models.JSONField(blank=True, default=dict, encoder=DjangoJSONEncoder, null=True),
        ),
    ]
