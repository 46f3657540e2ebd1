"""Settings of the demo shop. Read from the environment (``headroom.demo.environment`` sets
these for you):

- ``HEADROOM_DEMO_DB``: the SQLite file (default ``.headroom-demo/shop.sqlite3``);
- ``HEADROOM_DEMO_FIXED``: ``1`` serves the shop with every planted problem fixed;
- ``HEADROOM_DEMO_SMTP_PORT``: the slow SMTP server on 127.0.0.1 (default 1025);
- ``HEADROOM_DEMO_PAYMENT_URL``: the slow payment API (default http://127.0.0.1:8025/charges);
- ``HEADROOM_DEMO_CACHE_DIR``: the file cache's directory (planted mode only).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from headroom.demo import DEMO_DIR
from headroom.demo.catalogue import category_slug, product_slug

HEADROOM_DEMO_FIXED = os.environ.get("HEADROOM_DEMO_FIXED", "") not in ("", "0", "false")
HEADROOM_DEMO_PAYMENT_URL = os.environ.get(
    "HEADROOM_DEMO_PAYMENT_URL", "http://127.0.0.1:8025/charges"
)
_DATABASE = Path(os.environ.get("HEADROOM_DEMO_DB", ".headroom-demo/shop.sqlite3")).resolve()

SECRET_KEY = os.environ.get(
    "HEADROOM_DEMO_SECRET_KEY", "headroom-demo-only-3f9c1e7a52d84b06a1c9e2f70b4d8a63c5e1f09b"
)
DEBUG = False
# The demo serves plain HTTP on 127.0.0.1, so the HTTPS-only deployment checks do not apply.
SILENCED_SYSTEM_CHECKS = ["security.W004", "security.W008", "security.W012", "security.W016"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ROOT_URLCONF = "headroom.demo.urls"
WSGI_APPLICATION = "headroom.demo.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sitemaps",
    "headroom",
    "headroom.demo.shop",
]

MIDDLEWARE = [
    "headroom.probe.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                "headroom.demo.shop.context_processors.navigation",
            ]
        },
    }
]

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _DATABASE,
        "OPTIONS": {
            # Several gunicorn workers write (sessions, orders): WAL lets readers go on while
            # one writes, and IMMEDIATE makes writers queue instead of failing to upgrade.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

LOGIN_URL = "/account/login/"
LOGIN_REDIRECT_URL = "/account/"
STATIC_URL = "/static/"

DEFAULT_FROM_EMAIL = "Headroom Demo Shop <shop@demo.headroom.invalid>"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ.get("HEADROOM_DEMO_SMTP_PORT", "1025"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"headroom": {"level": "INFO"}},
}

_CHECKOUT_FORM = {
    "product": product_slug(42),
    "quantity": "1",
    "name": "Load Tester",
    "email": "load-tester@example.com",
    "address": "1 Test Street",
    "city": "Testville",
    "postcode": "T1 1ST",
}

HEADROOM: dict[str, Any] = {
    # Findings point at the demo's own files.
    "PROJECT_PATHS": [str(DEMO_DIR)],
    # What `headroom demo` loads, weighted like a small shop's traffic: mostly browsing,
    # a few checkouts, a little staff work.
    "SCENARIOS": [
        {"name": "home", "path": "/", "weight": 20},
        {"name": "product list", "path": "/products/", "weight": 8},
        {"name": "product list, page 2", "path": "/products/?page=2", "weight": 4},
        {"name": "product list, page 7", "path": "/products/?page=7", "weight": 2},
        {"name": "product list, 48 a page", "path": "/products/?per_page=48", "weight": 1},
        {"name": "product detail", "path": f"/products/{product_slug(42)}/", "weight": 8},
        {"name": "product detail", "path": f"/products/{product_slug(777)}/", "weight": 6},
        {"name": "product detail", "path": f"/products/{product_slug(1500)}/", "weight": 4},
        {"name": "product detail", "path": f"/products/{product_slug(1999)}/", "weight": 2},
        {"name": "category", "path": f"/categories/{category_slug(0)}/", "weight": 6},
        {"name": "category", "path": f"/categories/{category_slug(3)}/", "weight": 4},
        {
            "name": "category, page 2",
            "path": f"/categories/{category_slug(8)}/?page=2",
            "weight": 2,
        },
        {
            "name": "checkout",
            "path": "/checkout/",
            "method": "POST",
            "data": _CHECKOUT_FORM,
            "weight": 3,
        },
        {"name": "account", "path": "/account/", "user": "demo-customer", "weight": 3},
        {
            "name": "price list CSV",
            "path": f"/categories/{category_slug(1)}/prices.csv",
            "weight": 1,
        },
        {
            "name": "staff order search",
            "path": "/staff/orders/?status=paid&since=2025-01-01",
            "user": "demo-staff",
            "weight": 2,
        },
        {"name": "admin orders", "path": "/admin/shop/order/", "user": "demo-staff", "weight": 1},
    ],
}

if not HEADROOM_DEMO_FIXED:
    FILE_CACHE = "django.core.cache.backends.filebased.FileBasedCache"
    CACHES = {
        "default": {
            "BACKEND": FILE_CACHE,  # headroom-demo: planted file_cache
            "LOCATION": os.environ.get("HEADROOM_DEMO_CACHE_DIR", f"{_DATABASE}.cache"),
        }
    }
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    # Fixed: a cache in memory (a shared Redis or Memcached in a real deployment), mail
    # sent from a background executor with a timeout, and the expand/contract migrations.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    EMAIL_BACKEND = "headroom.offload.mail.QueuedEmailBackend"
    EMAIL_TIMEOUT = 10
    HEADROOM["OFFLOAD_EXECUTOR"] = "thread"
    HEADROOM["OFFLOAD_EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    MIGRATION_MODULES = {"shop": "headroom.demo.shop.migrations_fixed"}
