"""Settings for the test suite: a real SQLite file by default, PostgreSQL as ``postgres``,
MariaDB as ``mariadb``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

try:
    # PyMySQL (the `mysql` extra, pure Python) stands in for mysqlclient, which needs a C
    # compiler and the MariaDB headers to install.
    import pymysql

    pymysql.install_as_MySQLdb()
except ImportError:
    pass

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "headroom-tests"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "headroom",
    "tests.testapp",
    "tests.backfill.app",
    # The demo shop (planted mode): its models type-check against these settings, and tests
    # may import them. tests/demo runs the shop itself on its own settings.
    "headroom.demo.shop",
    # The index advisor's generated workload (tests/indexes).
    "tests.indexes.ticketapp",
]

MIDDLEWARE = [
    "headroom.probe.ProbeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    },
    # Jinja2 templates (the probe's template lines): tests/testapp/jinja2 only.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "testapp" / "jinja2"],
        "APP_DIRS": False,
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "test.sqlite3",
        "TEST": {"NAME": str(BASE_DIR / "test-db.sqlite3")},
    },
    "postgres": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("HEADROOM_TEST_PG_NAME", "test"),
        "USER": os.environ.get("HEADROOM_TEST_PG_USER", "postgres"),
        "HOST": os.environ.get("HEADROOM_TEST_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("HEADROOM_TEST_PG_PORT", "5432"),
        "TEST": {"NAME": "headroom_test"},
    },
    # MariaDB (tests/dbconfig): needs mysqlclient, the "mysql" extra.
    "mariadb": {
        "ENGINE": "django.db.backends.mysql",
        "NAME": os.environ.get("HEADROOM_TEST_MARIADB_NAME", "test"),
        "USER": os.environ.get("HEADROOM_TEST_MARIADB_USER", "root"),
        "PASSWORD": os.environ.get("HEADROOM_TEST_MARIADB_PASSWORD", ""),
        "HOST": os.environ.get("HEADROOM_TEST_MARIADB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("HEADROOM_TEST_MARIADB_PORT", "3306"),
        "TEST": {"NAME": "headroom_test"},
    },
}

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}
HEADROOM: dict[str, object] = {}
STATIC_URL = "/static/"

# Test databases of their own, for a second test run side by side with another on the same
# machine (HEADROOM_TEST_DB_SUFFIX=alice): the two would otherwise drop each other's.
_TEST_DB_SUFFIX = os.environ.get("HEADROOM_TEST_DB_SUFFIX", "")
if _TEST_DB_SUFFIX:
    _TEST_NAMES = {
        "default": str(BASE_DIR / f"test-db-{_TEST_DB_SUFFIX}.sqlite3"),
        "postgres": f"headroom_test_{_TEST_DB_SUFFIX}",
        "mariadb": f"headroom_test_{_TEST_DB_SUFFIX}",
    }
    for _alias, _name in _TEST_NAMES.items():
        _entry = dict(cast(dict[str, Any], DATABASES[_alias]))
        _entry["TEST"] = {"NAME": _name}
        DATABASES[_alias] = _entry
