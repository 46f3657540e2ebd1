"""headroom.E001/E002: ``settings.HEADROOM`` holds only known options of the right type."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from headroom import conf
from headroom.checks.messages import message


@checks.register("headroom")
def check_headroom_setting(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    try:
        conf.build(getattr(settings, "HEADROOM", {}))
    except conf.ConfigError as exc:
        if exc.unknown:
            return [message("headroom.E001", key=exc.key, options=", ".join(conf.option_names()))]
        return [message("headroom.E002", key=exc.key, problem=exc.message)]
    return []
