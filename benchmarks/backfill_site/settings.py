"""Settings of the backfill benchmark: PostgreSQL database ``HEADROOM_BENCH_DB``."""

from __future__ import annotations

import os

SECRET_KEY = "headroom-backfill-benchmark"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "headroom",
    "benchmarks.backfill_site",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("HEADROOM_BENCH_DB", "headroom_bench_backfill"),
        "USER": os.environ.get("HEADROOM_TEST_PG_USER", "postgres"),
        "HOST": os.environ.get("HEADROOM_TEST_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("HEADROOM_TEST_PG_PORT", "5432"),
        "CONN_MAX_AGE": None,
    }
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Everything at its default except where the batch tasks go.
HEADROOM: dict[str, object] = {
    "BACKFILL_CELERY_APP": "benchmarks.backfill_site.celery_app.app",
    "BACKFILL_CELERY_QUEUE": os.environ.get("HEADROOM_BENCH_QUEUE", "headroom-bench"),
}
