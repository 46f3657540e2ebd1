"""Settings for the migrate-guard test: a throwaway PostgreSQL database named by the test."""

from __future__ import annotations

import os

SECRET_KEY = "headroom-guard-tests"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "headroom",
    "tests.migrationlint.guardapp",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["HEADROOM_GUARD_DB"],
        "USER": os.environ.get("HEADROOM_TEST_PG_USER", "postgres"),
        "HOST": os.environ.get("HEADROOM_TEST_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("HEADROOM_TEST_PG_PORT", "5432"),
    }
}
HEADROOM: dict[str, object] = {}
