from __future__ import annotations

from django.apps import AppConfig


class HeadroomConfig(AppConfig):
    name = "headroom"
    label = "headroom"
    verbose_name = "Headroom"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing registers the system checks; nothing else runs here.
        from headroom import checks  # noqa: F401
