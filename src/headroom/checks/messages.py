"""Every system check message of django-headroom, keyed by its id.

Ids are never reused. ``msg`` is one line; ``hint`` says the fix, ready to paste. Both are
``str.format`` templates filled in with the real names and values by the check.
"""

from __future__ import annotations

from typing import Any, Literal

from django.core import checks

Level = Literal["error", "warning", "info"]

MESSAGES: dict[str, dict[str, str]] = {
    # --- configuration -------------------------------------------------------------------
    "headroom.E001": {
        "level": "error",
        "msg": "HEADROOM[{key!r}] is not a django-headroom option.",
        "hint": "Remove it, or fix the spelling. The options are: {options}.",
    },
    "headroom.E002": {
        "level": "error",
        "msg": "HEADROOM[{key!r}] is invalid: {problem}",
        "hint": "See docs/settings.md for {key}'s type and default.",
    },
    # --- deployment (run by `check --deploy` and by `headroom doctor`) ---------------------
    "headroom.W001": {
        "level": "warning",
        "msg": "CACHES[{alias!r}] uses the file-based cache ({backend}).",
        "hint": "Every cache read and write is a disk operation, and workers on different "
        "machines do not share the files. Use a shared in-memory cache:\n"
        "CACHES = {{{alias!r}: {{'BACKEND': 'django.core.cache.backends.redis.RedisCache', "
        "'LOCATION': 'redis://127.0.0.1:6379'}}}}",
    },
    "headroom.W002": {
        "level": "warning",
        "msg": "DEBUG is True.",
        "hint": "With DEBUG on, Django keeps every SQL query of a request in memory and shows "
        "tracebacks to visitors. Set DEBUG = False in production settings.",
    },
    "headroom.W003": {
        "level": "warning",
        "msg": "DATABASES[{alias!r}] ({vendor}) opens a new connection for every request "
        "(CONN_MAX_AGE = 0).",
        "hint": "Connecting to {vendor} costs milliseconds per request. Keep connections open "
        "and check them before use:\n"
        "DATABASES[{alias!r}]['CONN_MAX_AGE'] = 60\n"
        "DATABASES[{alias!r}]['CONN_HEALTH_CHECKS'] = True",
    },
    "headroom.W004": {
        "level": "warning",
        "msg": "LOGGING is not configured: errors in production go nowhere you will read.",
        "hint": "Send Django's logs somewhere you look, e.g.\n"
        "LOGGING = {{'version': 1, 'disable_existing_loggers': False, "
        "'handlers': {{'console': {{'class': 'logging.StreamHandler'}}}}, "
        "'root': {{'handlers': ['console'], 'level': 'INFO'}}}}",
    },
    "headroom.W005": {
        "level": "warning",
        "msg": "EMAIL_BACKEND sends mail synchronously over SMTP ({backend}).",
        "hint": "Each email holds a web worker until the mail server answers. Send from a task "
        "queue instead:\nEMAIL_BACKEND = 'headroom.offload.mail.QueuedEmailBackend'",
    },
    # --- migration lint (headroom.migrationlint) -------------------------------------------
    "headroom.E101": {
        "level": "error",
        "msg": "HEADROOM[{key!r}] names unknown migration-lint rule(s): {rules}.",
        "hint": "Rule ids look like HR101; every rule is listed in docs/migrationlint/. "
        "Known ids: {known}.",
    },
    "headroom.W101": {
        "level": "warning",
        "msg": "Unapplied migration {migration} on database {alias!r} has {count} "
        "migration-lint error(s): {rules}.",
        "hint": "`manage.py migrate` will refuse to apply it. See the findings and their safe "
        "alternatives with:\npython manage.py headroom lint-migrations {migration}",
    },
    "headroom.W102": {
        "level": "warning",
        "msg": "The migrate guard is not active: the {app!r} app's migrate command takes "
        "precedence over headroom's.",
        "hint": "Put 'headroom' before {app!r} in INSTALLED_APPS, or run "
        "`python manage.py headroom lint-migrations` in CI instead.",
    },
    # --- backfill (headroom.backfill) -------------------------------------------------------
    "headroom.E201": {
        "level": "error",
        "msg": "HEADROOM['BACKFILL_EXECUTOR'] is 'celery' but Celery is not installed.",
        "hint": 'Install it with the extra: python -m pip install "django-headroom[celery]", '
        "or run backfills in the command itself: HEADROOM['BACKFILL_EXECUTOR'] = 'inline'",
    },
    "headroom.E202": {
        "level": "error",
        "msg": "HEADROOM[{key!r}] is {value!r}; it must be {allowed}.",
        "hint": "`headroom backfill run` refuses to start until it is fixed. See "
        "docs/settings.md for what {key} means; its default is:\n"
        "HEADROOM[{key!r}] = {default!r}",
    },
    "headroom.E203": {
        "level": "error",
        "msg": "HEADROOM['BACKFILL_MIN_BATCH_SIZE'] is {low}, more than "
        "HEADROOM['BACKFILL_MAX_BATCH_SIZE'] ({high}).",
        "hint": "The adaptive batch size keeps within [BACKFILL_MIN_BATCH_SIZE, "
        "BACKFILL_MAX_BATCH_SIZE]; `headroom backfill run` refuses to start until the smallest "
        "is no larger than the largest, e.g.:\n"
        "HEADROOM['BACKFILL_MIN_BATCH_SIZE'] = 1",
    },
    "headroom.W201": {
        "level": "warning",
        "msg": "Backfill batches may wait {lock} for a lock, longer than the {target} s target "
        "batch time.",
        "hint": "A batch waiting on a lock already holds the locks of the rows it changed, so "
        "other writers queue behind it for that long. Keep the wait within the target:\n"
        "HEADROOM['BACKFILL_LOCK_TIMEOUT'] = {target}",
    },
    "headroom.W202": {
        "level": "warning",
        "msg": "Celery workers open a new database connection for every backfill batch.",
        "hint": "Celery's Django fixup closes each worker's database connections before and "
        "after every task unless the app sets CELERY_DB_REUSE_MAX, so each batch starts a new "
        "server process with cold caches. In the Celery app of BACKFILL_CELERY_APP:\n"
        "app.conf['CELERY_DB_REUSE_MAX'] = 100",
    },
    "headroom.W203": {
        "level": "warning",
        "msg": "Celery workers reserve more than one task per process "
        "(worker_prefetch_multiplier is {multiplier}): a backfill batch can wait behind another "
        "on the same worker.",
        "hint": "A worker process running one batch may hold the next one too, which then starts "
        "only when the first has ended there, not on another worker as the first commits. In "
        "the Celery app of BACKFILL_CELERY_APP (or start the backfill queue's workers with "
        "--prefetch-multiplier 1 and silence this check):\n"
        "app.conf.worker_prefetch_multiplier = 1",
    },
    "headroom.W204": {
        "level": "warning",
        "msg": "BACKFILL_EXECUTOR is 'celery' but this process has no Celery app: a backfill run "
        "would be refused.",
        "hint": 'Name the app, HEADROOM["BACKFILL_CELERY_APP"] = "proj.celery.app", or import it '
        "in your project's __init__.py as Celery's Django guide shows "
        "(from .celery import app as celery_app).",
    },
    # --- database server settings (headroom.dbconfig; `check --database ALIAS`) -------------
    "headroom.E301": {
        "level": "error",
        "msg": "DATABASES[{alias!r}] ({vendor}): {setting} is {current}, fewer connections "
        "than the deployment can open at once.",
        "hint": "{why}.\n{fix}",
    },
    "headroom.W301": {
        "level": "warning",
        "msg": "DATABASES[{alias!r}] ({vendor}): {setting} is {current}, too small for the "
        "host; recommended {recommended}.",
        "hint": "{why}.\n{fix}",
    },
    "headroom.W302": {
        "level": "warning",
        "msg": "DATABASES[{alias!r}] ({vendor}): {setting} is {current}, so slow statements "
        "go unrecorded; recommended {recommended}.",
        "hint": "{why}.\n{fix}",
    },
    "headroom.W303": {
        "level": "warning",
        "msg": "DATABASES[{alias!r}] ({vendor}): {setting} is {current}; recommended "
        "{recommended}.",
        "hint": "{why}.\n{fix}",
    },
    "headroom.W304": {
        "level": "warning",
        "msg": "DATABASES[{alias!r}] (SQLite): {setting} is {current}, which makes several "
        "workers wait on each other; recommended {recommended}.",
        "hint": "{why}.\n{fix}",
    },
    "headroom.I301": {
        "level": "info",
        "msg": "DATABASES[{alias!r}] ({vendor}): the server settings could not be read "
        "({current}).",
        "hint": "{fix}",
    },
}

_LEVELS: dict[str, type[checks.Error] | type[checks.Warning] | type[checks.Info]] = {
    "error": checks.Error,
    "warning": checks.Warning,
    "info": checks.Info,
}


def message(check_id: str, obj: Any = None, **values: Any) -> checks.CheckMessage:
    """Build the check message ``check_id`` with its templates filled from ``values``."""
    spec = MESSAGES[check_id]
    cls = _LEVELS[spec["level"]]
    return cls(
        spec["msg"].format(**values),
        hint=spec["hint"].format(**values),
        obj=obj,
        id=check_id,
    )
