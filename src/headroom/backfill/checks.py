"""System checks of the backfill options (headroom.E201, headroom.W201-W203)."""

from __future__ import annotations

import importlib.util
from typing import Any

from django.core import checks

from headroom.checks.messages import message
from headroom.conf import conf


@checks.register("headroom")
def check_backfill_options(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    found: list[checks.CheckMessage] = []
    if conf.BACKFILL_EXECUTOR == "celery":
        if importlib.util.find_spec("celery") is None:
            found.append(message("headroom.E201"))
        else:
            from headroom.backfill.coordinator import celery_app, reconnects_per_task

            try:
                app = celery_app()
            except ImportError:
                app = None  # the run says so, with the import's own error
            if app is not None:
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
