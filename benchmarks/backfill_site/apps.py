from __future__ import annotations

from django.apps import AppConfig


class BackfillSiteConfig(AppConfig):
    name = "benchmarks.backfill_site"
    label = "backfill_site"
