"""Settings that make a site fall over under load (headroom.W001-W005).

They are deployment checks: ``manage.py check --deploy`` and ``headroom doctor`` run them.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core import checks

from headroom.checks.messages import message

FILE_CACHE = "django.core.cache.backends.filebased.FileBasedCache"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
_POOLING_VENDORS = {
    "django.db.backends.postgresql": "PostgreSQL",
    "django.db.backends.mysql": "MySQL",
}


@checks.register("headroom", deploy=True)
def check_file_cache(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [
        message("headroom.W001", alias=alias, backend=config.get("BACKEND"))
        for alias, config in getattr(settings, "CACHES", {}).items()
        if config.get("BACKEND") == FILE_CACHE
    ]


@checks.register("headroom", deploy=True)
def check_debug(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [message("headroom.W002")] if settings.DEBUG else []


@checks.register("headroom", deploy=True)
def check_conn_max_age(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    found = []
    databases: dict[str, dict[str, Any]] = getattr(settings, "DATABASES", {})
    for alias, config in databases.items():
        vendor = _POOLING_VENDORS.get(str(config.get("ENGINE", "")))
        if vendor is None:
            continue
        pooled = bool(config.get("OPTIONS", {}).get("pool"))
        if not pooled and not config.get("CONN_MAX_AGE", 0):
            found.append(message("headroom.W003", alias=alias, vendor=vendor))
    return found


@checks.register("headroom", deploy=True)
def check_logging(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return [] if getattr(settings, "LOGGING", None) else [message("headroom.W004")]


@checks.register("headroom", deploy=True)
def check_email_backend(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    # Django's default is SMTP too, but a project that never set it may send no mail at all;
    # the doctor still catches a real synchronous send at run time (sync_email).
    if not cast(Any, settings).is_overridden("EMAIL_BACKEND"):
        return []
    backend = settings.EMAIL_BACKEND
    return [message("headroom.W005", backend=backend)] if backend == SMTP_BACKEND else []
