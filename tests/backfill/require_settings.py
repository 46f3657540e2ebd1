"""Settings of the ``RequireBackfill`` test: a throwaway PostgreSQL database it names."""

from __future__ import annotations

import os

SECRET_KEY = "headroom-backfill-tests"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "headroom",
    "tests.backfill.requireapp",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["HEADROOM_REQUIRE_DB"],
        "USER": os.environ.get("HEADROOM_TEST_PG_USER", "postgres"),
        "HOST": os.environ.get("HEADROOM_TEST_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("HEADROOM_TEST_PG_PORT", "5432"),
    }
}
# The migrate guard would flag 0002's SET NOT NULL (HR106); this test is about the backfill.
HEADROOM: dict[str, object] = {"MIGRATION_GUARD": False}
