"""The database server settings audit. See docs/dbconfig.md.

:func:`audit` reads the live settings of one database alias and returns the ones to change,
each with its current and recommended value, why, and the line to run (``ALTER SYSTEM``
for PostgreSQL, ``SET GLOBAL`` / ``SET PERSIST`` for MySQL/MariaDB, the ``DATABASES``
option for SQLite). Nothing heavy is imported until it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headroom.dbconfig.findings import Audit

__all__ = ["audit"]


def audit(
    alias: str = "default",
    *,
    ram: str | int | None = None,
    storage: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    web_servers: int | None = None,
    celery: int | None = None,
) -> Audit:
    """Audit the server behind ``alias``.

    ``ram``: the database host's RAM ("16GB" or bytes); default ``HEADROOM["DB_HOST_RAM"]``,
    else this machine's. ``storage``: "ssd" or "hdd"; default ``HEADROOM["DB_STORAGE"]``.
    The deployment figures default to the ``HEADROOM`` options, gunicorn's configuration
    and the Celery settings (see :func:`headroom.dbconfig.host.demand`).
    """
    from django.conf import settings
    from django.db import DatabaseError, connections

    from headroom.conf import conf
    from headroom.dbconfig import host
    from headroom.dbconfig.findings import Audit, Recommendation

    databases: dict[str, Any] = settings.DATABASES
    config: dict[str, Any] = databases[alias]
    vendor = connections[alias].vendor
    if ram is None and conf.DB_HOST_RAM:
        ram = conf.DB_HOST_RAM
    if isinstance(ram, str):
        ram_bytes, source = host.parse_size(ram), "as given"
    elif isinstance(ram, int):
        ram_bytes, source = ram, "as given"
    else:
        ram_bytes = host.local_ram()
        source = "this machine's" + (
            "" if host.is_local(config) else "; pass --ram for the database host's"
        )
    result = Audit(alias, vendor, ram_bytes, source)
    need = host.demand(
        alias, workers=workers, threads=threads, web_servers=web_servers, celery=celery
    )
    budget = conf.SLO_P95_MS / 5
    try:
        if vendor == "postgresql":
            from headroom.dbconfig.postgresql import audit_postgresql

            chosen = storage or conf.DB_STORAGE
            if chosen == "auto":
                found = None
                if host.is_local(config):
                    with connections[alias].cursor() as cursor:
                        cursor.execute("SHOW data_directory")
                        found = host.local_storage(str(cursor.fetchone()[0]))
                chosen = found or "ssd"
            audit_postgresql(alias, result, need, chosen, budget)
        elif vendor == "mysql":
            from headroom.dbconfig.sqlite_mysql import audit_mysql

            audit_mysql(alias, result, need, budget)
        elif vendor == "sqlite":
            from headroom.dbconfig.sqlite_mysql import audit_sqlite

            audit_sqlite(alias, result, need)
        else:
            result.notes.append(f"{vendor} is not audited")
    except DatabaseError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        result.recommendations.append(
            Recommendation(
                alias,
                vendor,
                "unreadable",
                "(server settings)",
                message,
                "",
                "the settings could not be read",
                "Check the connection and the user's rights (pg_settings, SHOW GLOBAL VARIABLES).",
            )
        )
    return result
