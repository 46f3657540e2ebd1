"""The server settings audit as system checks (headroom.E301, W301-W304, I301).

Tagged ``database``: Django runs them only when asked for databases, as in
``python manage.py check --database default``.
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from headroom.checks.messages import message


@checks.register(checks.Tags.database)
def check_database_settings(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    if not databases:
        return []
    from headroom.dbconfig import audit

    found = []
    for alias in databases:
        for item in audit(alias).recommendations:
            found.append(
                message(
                    item.check_id,
                    alias=item.alias,
                    vendor=item.vendor,
                    setting=item.setting,
                    current=item.current,
                    recommended=item.recommended,
                    why=item.why,
                    fix=item.fix,
                )
            )
    return found
