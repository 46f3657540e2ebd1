from __future__ import annotations

from django.apps import AppConfig


class BackfillTestsConfig(AppConfig):
    name = "tests.backfill.app"
    label = "backfilltests"
    default_auto_field = "django.db.models.BigAutoField"
