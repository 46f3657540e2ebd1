"""System checks of the backfill options (headroom.E201-E203, headroom.W201-W203)."""

from __future__ import annotations

import importlib.util
from typing import Any

from django.conf import settings
from django.core import checks

from headroom import conf as headroom_conf
from headroom.checks.messages import message
from headroom.conf import BACKFILL_RANGES, conf


def _config_error() -> headroom_conf.ConfigError | None:
    """What headroom.E001/E002 report (the first bad key of ``HEADROOM``), if anything."""
    try:
        headroom_conf.build(getattr(settings, "HEADROOM", {}))
    except headroom_conf.ConfigError as exc:
        return exc
    return None


def range_errors() -> list[checks.CheckMessage]:
    """headroom.E202/E203 for each numeric ``BACKFILL_*`` setting out of its range.

    Read from ``settings.HEADROOM`` itself: ``conf`` falls back to the defaults while any
    option is invalid. A key headroom.E002 already names is left to it.
    """
    raw = getattr(settings, "HEADROOM", None)
    if not isinstance(raw, dict):
        return []  # headroom.E002 says so
    error = _config_error()
    reported = error.key if error is not None else None
    defaults = headroom_conf.HeadroomSettings
    found: list[checks.CheckMessage] = []
    for key, allowed in BACKFILL_RANGES.items():
        value = raw.get(key)
        if key == reported or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # unset, None, or of the wrong type (headroom.E002)
        if not allowed.allows(value):
            found.append(
                message(
                    "headroom.E202",
                    key=key,
                    value=value,
                    allowed=allowed.describe(),
                    default=getattr(defaults, key),
                )
            )
    low = raw.get("BACKFILL_MIN_BATCH_SIZE", defaults.BACKFILL_MIN_BATCH_SIZE)
    high = raw.get("BACKFILL_MAX_BATCH_SIZE", defaults.BACKFILL_MAX_BATCH_SIZE)
    if (
        reported not in ("BACKFILL_MIN_BATCH_SIZE", "BACKFILL_MAX_BATCH_SIZE")
        and all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high))
        and low > high
    ):
        found.append(message("headroom.E203", low=low, high=high))
    return found


def backfill_settings_errors() -> list[checks.CheckMessage]:
    """The check errors that stop ``headroom backfill run``: a run would not go on the
    backfill settings as written.

    Those of :func:`range_errors`, and headroom.E001/E002 when they name a ``BACKFILL_*``
    key or ``HEADROOM`` sets any: until the error is fixed every option is its default, the
    backfill's included. Silenced ids (``SILENCED_SYSTEM_CHECKS``) do not count.
    """
    from headroom.checks.settings_checks import check_headroom_setting

    raw = getattr(settings, "HEADROOM", None)
    found: list[checks.CheckMessage] = []
    error = _config_error()
    if error is not None and (
        error.key.startswith("BACKFILL_")
        or not isinstance(raw, dict)
        or any(str(key).startswith("BACKFILL_") for key in raw)
    ):
        found += check_headroom_setting()
    found += range_errors()
    silenced = set(getattr(settings, "SILENCED_SYSTEM_CHECKS", []))
    return [m for m in found if m.is_serious() and m.id not in silenced]


@checks.register("headroom")
def check_backfill_options(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = range_errors()
    if conf.BACKFILL_EXECUTOR == "celery":
        if importlib.util.find_spec("celery") is None:
            found.append(message("headroom.E201"))
        else:
            from headroom.backfill.coordinator import (
                celery_app,
                no_celery_app,
                reconnects_per_task,
            )

            try:
                app = celery_app()
            except ImportError:
                app = None  # the run says so, with the import's own error
            if app is not None and no_celery_app():
                # Celery's fallback app: its settings say nothing of the project's workers.
                found.append(message("headroom.W204"))
            elif app is not None:
                if reconnects_per_task(app):
                    found.append(message("headroom.W202"))
                multiplier = app.conf.worker_prefetch_multiplier
                if multiplier != 1:
                    found.append(message("headroom.W203", multiplier=multiplier))
    lock = conf.BACKFILL_LOCK_TIMEOUT
    target = conf.BACKFILL_TARGET_BATCH_SECONDS
    if lock is None or lock > target:
        found.append(
            message(
                "headroom.W201",
                lock="no limit" if lock is None else f"{lock:g} s",
                target=f"{target:g}",
            )
        )
    return found
