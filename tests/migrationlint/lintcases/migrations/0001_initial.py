from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Category",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("title", models.CharField(max_length=50)),
            ],
        ),
        migrations.CreateModel(
            name="Product",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("f101", models.CharField(max_length=20)),
                ("f101s", models.CharField(max_length=20)),
                ("f110", models.IntegerField()),
                ("f103", models.CharField(max_length=20)),
                ("f103s", models.CharField(max_length=20)),
                ("f106", models.TextField(null=True)),
                ("f106s", models.TextField(null=True)),
                ("f107", models.CharField(max_length=100)),
                ("f107s", models.CharField(max_length=100)),
                ("f109", models.IntegerField(db_default=0)),
                ("f109s", models.IntegerField(null=True, db_default=0)),
                ("f201", models.IntegerField(default=0)),
                ("f201s", models.IntegerField(default=0)),
                ("f203", models.IntegerField(default=0)),
                ("f204", models.CharField(max_length=20)),
                ("f204s", models.CharField(max_length=20)),
                ("f206", models.IntegerField(default=0)),
                ("f208", models.IntegerField(default=0)),
                ("f403", models.CharField(max_length=20, null=True)),
                ("f404", models.IntegerField(default=0)),
                ("f501old", models.CharField(max_length=20, null=True)),
                ("f901", models.CharField(max_length=20, null=True)),
                ("fsup", models.CharField(max_length=20, null=True)),
                ("fsql_drop", models.CharField(max_length=20, null=True)),
                ("fsql_ren", models.CharField(max_length=20, null=True)),
                ("fsql_nn", models.CharField(max_length=20, null=True)),
                ("fsql_def", models.IntegerField(db_default=0)),
                ("idx_a", models.IntegerField(default=0)),
                ("idx_b", models.IntegerField(default=0)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["idx_a"], name="prod_idx_a"),
                    models.Index(fields=["idx_b"], name="prod_idx_b"),
                ],
            },
        ),
        migrations.CreateModel(
            name="Tag",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False))
            ],
        ),
        migrations.CreateModel(
            name="Legacy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False))
            ],
        ),
        migrations.CreateModel(
            name="Shelf",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False))
            ],
        ),
        migrations.CreateModel(
            name="Box",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False))
            ],
            options={"db_table": "lintcases_box_table"},
        ),
        migrations.CreateModel(
            name="Keyed",
            fields=[
                ("id", models.AutoField(primary_key=True, serialize=False)),
                ("code", models.CharField(max_length=10)),
            ],
        ),
        migrations.CreateModel(
            name="External",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("code", models.CharField(max_length=10)),
            ],
            options={"managed": False, "db_table": "somebody_elses_table"},
        ),
        # On a table created in the same migration nothing locks anybody: all silent.
        migrations.AddIndex(
            model_name="product", index=models.Index(fields=["f206"], name="prod_f206_new")
        ),
        migrations.AddField(
            model_name="product",
            name="created_here",
            field=models.CharField(max_length=10, default="x", unique=True),
        ),
    ]
