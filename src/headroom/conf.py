"""The one reader of ``settings.HEADROOM``.

Every option is a field of :class:`HeadroomSettings`, with its type and default next to it.
Code reads options through ``headroom.conf.conf`` (``conf.SLO_P95_MS``); nothing else in the
package touches ``settings.HEADROOM``. Values are validated once and cached; the cache is
cleared when a test changes settings.

A few options can be overridden from the environment (``HEADROOM_PROBE_MODE``,
``HEADROOM_SPOOL_DIR``): ``headroom doctor`` uses them to switch the server it starts into
capture mode without editing the project's settings.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from django.core.signals import setting_changed
from django.dispatch import receiver

ProbeMode = Literal["off", "production", "capture"]
OffloadExecutor = Literal["inline", "thread", "celery"]
BackfillExecutor = Literal["inline", "celery"]

#: Environment variables that override an option, and the option they override.
ENVIRONMENT_OVERRIDES: dict[str, str] = {
    "HEADROOM_PROBE_MODE": "PROBE_MODE",
    "HEADROOM_SPOOL_DIR": "SPOOL_DIR",
}


@dataclass(frozen=True)
class HeadroomSettings:
    """Options read from ``settings.HEADROOM``; see docs/settings.md for each one."""

    # --- probe -----------------------------------------------------------------------------
    #: "production" keeps aggregates and events in memory; "capture" also writes one JSON
    #: record per request to SPOOL_DIR (used by ``headroom doctor``); "off" disables it.
    PROBE_MODE: ProbeMode = "production"
    #: Directory for capture-mode records.
    SPOOL_DIR: str | None = None
    #: The same SQL fingerprint this many times in one request is an N+1.
    N_PLUS_ONE_THRESHOLD: int = 5
    #: A single query slower than this is recorded as a slow-query event.
    SLOW_QUERY_MS: float = 100.0
    #: A request slower than this is recorded as a slow-request event.
    SLOW_REQUEST_MS: float = 1000.0
    #: Add a ``Server-Timing`` header (database time and query count).
    SERVER_TIMING: bool = True
    #: Accept an incoming ``X-Headroom-Request-Id`` (or make one) and echo it on the response.
    REQUEST_ID_HEADER: bool = True
    #: Directories holding the project's own code; the first stack frame inside one of them
    #: is reported as the source of a problem. Empty: ``settings.BASE_DIR``, else the
    #: directory above the settings module's package; installed libraries never count.
    PROJECT_PATHS: list[str] = field(default_factory=list)
    #: Path prefixes the probe does not record (static files, health checks).
    IGNORE_PATHS: list[str] = field(default_factory=lambda: ["/static/", "/media/"])
    #: How many N+1 and slow events production mode keeps in memory.
    EVENT_BUFFER_SIZE: int = 200

    # --- doctor ----------------------------------------------------------------------------
    #: What to load: a list of {"path", "method", "weight", "data", "user", "name"} dicts.
    SCENARIOS: list[dict[str, Any]] = field(default_factory=list)
    #: The latency objective: the 95th percentile of every URL pattern, in milliseconds.
    SLO_P95_MS: float = 500.0
    #: The error rate (0..1) past which a load step counts as broken.
    MAX_ERROR_RATE: float = 0.01
    #: Concurrency doubles each step (1, 2, 4, ...) up to this many simulated users.
    MAX_USERS: int = 64
    #: How long each load step lasts, in seconds.
    STEP_SECONDS: float = 10.0
    #: Gunicorn worker processes for the doctor's server; None: 2 x CPU cores + 1.
    GUNICORN_WORKERS: int | None = None
    #: Threads per gunicorn worker (1: the sync worker).
    GUNICORN_THREADS: int = 1
    #: Where ``headroom doctor`` writes index.html and report.json.
    REPORT_DIR: str = "headroom-report"
    #: Locust processes generating the doctor's load (one core each).
    LOAD_PROCESSES: int = 1

    # --- migration lint --------------------------------------------------------------------
    #: Which database's locking rules apply: "auto" takes the ENGINE of the linted alias
    #: (``--database``, else "default"); set "postgresql" when you develop on SQLite and
    #: deploy to PostgreSQL.
    MIGRATION_LINT_VENDOR: Literal["auto", "postgresql", "mysql", "sqlite"] = "auto"
    #: Rule ids (``HR209``) that are never reported.
    MIGRATION_LINT_DISABLE: list[str] = field(default_factory=list)
    #: Rule ids whose warnings count as errors; ``["*"]`` promotes every warning.
    MIGRATION_LINT_WARNINGS_AS_ERRORS: list[str] = field(default_factory=list)
    #: With table sizes known (``--database``), a lock on a table with fewer rows is a note.
    MIGRATION_LINT_SMALL_TABLE_ROWS: int = 10_000
    #: With table sizes known, a lock on a table with at least this many rows is an error.
    MIGRATION_LINT_LARGE_TABLE_ROWS: int = 1_000_000
    #: ``manage.py migrate`` refuses to apply migrations with lint errors (False: it warns).
    MIGRATION_GUARD: bool = True

    # --- offload ---------------------------------------------------------------------------
    #: Where ``headroom.offload`` runs work handed to it: "thread" (a small in-process pool;
    #: queued work is lost if the process dies), "celery" (a Celery task: survives restarts,
    #: retried with backoff) or "inline" (at once, in the caller: tests and scripts).
    OFFLOAD_EXECUTOR: OffloadExecutor = "thread"
    #: The email backend that really sends what ``QueuedEmailBackend`` queued.
    OFFLOAD_EMAIL_BACKEND: str = "django.core.mail.backends.smtp.EmailBackend"
    #: Threads of the "thread" executor's pool (per process).
    OFFLOAD_THREADS: int = 4
    #: Celery executor: seconds before a task is asked to stop (SoftTimeLimitExceeded) ...
    OFFLOAD_SOFT_TIME_LIMIT: float = 60.0
    #: ... and before its worker process is killed.
    OFFLOAD_TIME_LIMIT: float = 90.0
    #: Celery executor: retries (with exponential backoff) after a network error.
    OFFLOAD_MAX_RETRIES: int = 5

    # --- backfill --------------------------------------------------------------------------
    #: Where ``headroom backfill run`` runs batches: "inline" (in the command itself) or
    #: "celery" (batch tasks on your Celery workers, the command coordinating them).
    BACKFILL_EXECUTOR: BackfillExecutor = "inline"
    #: Batch size adapts so that one batch takes about this long (seconds); it is also about
    #: how long a batch holds its row locks.
    BACKFILL_TARGET_BATCH_SECONDS: float = 0.5
    #: Rows (or keys) in the first batch, before the size adapts.
    BACKFILL_BATCH_SIZE: int = 1000
    #: The adaptive batch size never goes below this ...
    BACKFILL_MIN_BATCH_SIZE: int = 1
    #: ... nor above this.
    BACKFILL_MAX_BATCH_SIZE: int = 100_000
    #: A run counts the rows it will touch (for progress and the ETA) unless PostgreSQL's
    #: planner expects more than this many; it then takes the planner's estimate rather than
    #: scan the table in one statement before the first batch. None: always count.
    BACKFILL_EXACT_COUNT_LIMIT: int | None = 1_000_000
    #: PostgreSQL ``lock_timeout`` for each batch (seconds); None: no limit.
    BACKFILL_LOCK_TIMEOUT: float | None = 0.5
    #: PostgreSQL ``statement_timeout`` for each batch (seconds); "auto": twice the target
    #: batch time, so that a batch slowed down (a stall of the disk, say) is cancelled and
    #: retried smaller rather than hold its row locks longer; None: no limit.
    BACKFILL_STATEMENT_TIMEOUT: float | Literal["auto"] | None = "auto"
    #: A failing batch is retried this many times, each time half as large, before its key
    #: range goes to the failure ledger.
    BACKFILL_BATCH_RETRIES: int = 3
    #: Key ranges a run may put in the failure ledger before it stops as failed.
    BACKFILL_ERROR_BUDGET: int = 10
    #: Wait while a replica replays this many seconds behind (None: do not check).
    BACKFILL_MAX_REPLICA_LAG: float | None = 5.0
    #: Database aliases of replicas to ask for their replay lag, besides the primary's
    #: ``pg_stat_replication``.
    BACKFILL_REPLICAS: list[str] = field(default_factory=list)
    #: Wait while more than this many other backends are running a statement (None: no check).
    BACKFILL_MAX_ACTIVE_BACKENDS: int | None = 32
    #: Wait while another transaction in the database has been open this long, in seconds
    #: (it holds back vacuum, so the batches' dead rows pile up); None: do not check.
    BACKFILL_MAX_TRANSACTION_SECONDS: float | None = 60.0
    #: Dotted path of a function taking the database alias and returning why to wait (a str),
    #: or None to go on.
    BACKFILL_THROTTLE: str | None = None
    #: How often the health signals are read, in seconds.
    BACKFILL_THROTTLE_CHECK_SECONDS: float = 1.0
    #: A global cap on rows per second for the whole run (all workers together); None: none.
    BACKFILL_MAX_ROWS_PER_SECOND: float | None = None
    #: After each batch, sleep this fraction of the batch's own time (0.5: run at most 2/3
    #: of the time).
    BACKFILL_SLEEP_RATIO: float = 0.0
    #: Pace the run on a latency probe (a primary-key read of the backfill's table every
    #: 10 ms): pause between batches as long as needed to keep the probe's p95 within this
    #: many times its idle p95, measured before the first batch (1.25); None: no probe.
    BACKFILL_LATENCY_PROBE_RATIO: float | None = None
    #: The probe's SQL instead of the primary-key read (no parameters), e.g. a query of
    #: the site's own hot path.
    BACKFILL_LATENCY_PROBE_SQL: str | None = None
    #: PostgreSQL ``synchronous_commit`` for each batch ("off": commits do not wait for the
    #: WAL flush; a server crash may lose the last batches, with their checkpoint, so they
    #: run again); None: the server's setting.
    BACKFILL_SYNCHRONOUS_COMMIT: str | None = None
    #: PostgreSQL: after each batch commits, read its rows' pages once so that the batch's old
    #: row versions are pruned by the backfill rather than by the site's next reads of those
    #: pages (docs/backfill.md, "Tidying after each batch").
    BACKFILL_TIDY: bool = True
    #: Celery executor: batch tasks queued or running at once, for the whole run (on
    #: PostgreSQL at most two per BACKFILL_CONCURRENT_BATCHES slot).
    BACKFILL_MAX_IN_FLIGHT: int = 4
    #: Celery executor, PostgreSQL: batches of one run that write at once (each takes one of
    #: this many advisory-lock slots of the run before it locks a row); the other tasks in
    #: flight wait on a worker and start the moment a slot is free.
    BACKFILL_CONCURRENT_BATCHES: int = 1
    #: Seconds without a heartbeat after which a run's process, or a batch task nobody holds,
    #: counts as lost and is taken over.
    BACKFILL_LEASE_SECONDS: float = 60.0
    #: Celery executor: dotted path of your Celery app (``proj.celery.app``), imported before
    #: sending; None: Celery's current app.
    BACKFILL_CELERY_APP: str | None = None
    #: Celery executor: the queue batch tasks go to; None: the app's default queue.
    BACKFILL_CELERY_QUEUE: str | None = None
    #: ``--dry-run`` runs this many batches in a transaction that is rolled back.
    BACKFILL_DRY_RUN_BATCHES: int = 3

    # --- database ----------------------------------------------------------------------------
    #: RAM of the database host ("16GB"), for ``headroom dbconfig``'s memory figures; None:
    #: this machine's RAM (``--ram`` overrides it).
    DB_HOST_RAM: str | None = None
    #: The database's storage: "ssd" or "hdd" ("auto": read from this machine when the
    #: database is local, else taken as SSD).
    DB_STORAGE: Literal["auto", "ssd", "hdd"] = "auto"
    #: Machines running the web workers (each with GUNICORN_WORKERS x GUNICORN_THREADS
    #: connections), for the connection demand against max_connections.
    WEB_SERVERS: int = 1
    #: Celery worker processes (over all machines) that use the database; None: the
    #: ``CELERY_WORKER_CONCURRENCY`` setting when Celery is configured, else 0.
    CELERY_CONCURRENCY: int | None = None
    #: ``headroom indexes`` leaves tables with fewer rows alone.
    INDEX_MIN_TABLE_ROWS: int = 10_000
    #: An index is advised only when it cuts a statement's cost by this fraction (0..1).
    INDEX_MIN_SAVING: float = 0.5


SCENARIO_KEYS: dict[str, Any] = {
    "path": str,
    "method": str,
    "weight": int,
    "data": dict[str, Any],
    "user": str,
    "name": str,
    "headers": dict[str, str],
}
SCENARIO_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})


class ConfigError(Exception):
    """A ``settings.HEADROOM`` value is wrong; ``key`` names it."""

    def __init__(self, key: str, message: str, *, unknown: bool = False) -> None:
        super().__init__(f"HEADROOM[{key!r}]: {message}")
        self.key = key
        self.message = message
        self.unknown = unknown


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "None"
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    if typing.get_origin(tp) in (types.UnionType, typing.Union):  # float | Literal["auto"]
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    return str(tp).replace("typing.", "")


def _matches(value: Any, tp: Any) -> bool:
    """A small structural check for the handful of types options use."""
    if tp is Any:
        return True
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return value in args
    if origin in (types.UnionType, typing.Union):
        return any(_matches(value, a) for a in args)
    if origin is list:
        return isinstance(value, (list, tuple)) and all(_matches(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(
            _matches(k, args[0]) and _matches(v, args[1]) for k, v in value.items()
        )
    if tp is type(None):
        return value is None
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, tp)


def _field_types() -> dict[str, Any]:
    return typing.get_type_hints(HeadroomSettings, globals(), {"Literal": Literal})


def _check_scenarios(scenarios: list[dict[str, Any]]) -> None:
    for i, scenario in enumerate(scenarios):
        where = f"SCENARIOS[{i}]"
        for key, value in scenario.items():
            if key not in SCENARIO_KEYS:
                allowed = ", ".join(SCENARIO_KEYS)
                raise ConfigError(where, f"unknown key {key!r}; a scenario takes {allowed}.")
            if not _matches(value, SCENARIO_KEYS[key]):
                raise ConfigError(
                    f"{where}.{key}",
                    f"expected {_type_name(SCENARIO_KEYS[key])}, got {type(value).__name__} "
                    f"{value!r}.",
                )
        path = scenario.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError(f"{where}.path", "is required and must start with '/'.")
        method = str(scenario.get("method", "GET")).upper()
        if method not in SCENARIO_METHODS:
            raise ConfigError(
                f"{where}.method",
                f"{method!r} is not one of {', '.join(sorted(SCENARIO_METHODS))}.",
            )
        if scenario.get("weight", 1) < 1:
            raise ConfigError(f"{where}.weight", "must be 1 or more.")


_POSITIVE = (
    "N_PLUS_ONE_THRESHOLD",
    "SLOW_QUERY_MS",
    "SLOW_REQUEST_MS",
    "EVENT_BUFFER_SIZE",
    "SLO_P95_MS",
    "MAX_USERS",
    "STEP_SECONDS",
    "GUNICORN_THREADS",
    "LOAD_PROCESSES",
    "OFFLOAD_THREADS",
    "OFFLOAD_SOFT_TIME_LIMIT",
    "OFFLOAD_TIME_LIMIT",
    "WEB_SERVERS",
    "INDEX_MIN_TABLE_ROWS",
)


@dataclass(frozen=True)
class Range:
    """The values a numeric ``BACKFILL_*`` setting may take."""

    low: float
    #: Whether ``low`` itself is allowed.
    inclusive: bool = True
    #: What None means, where None is allowed.
    none: str | None = None
    #: A word the setting's type allows besides numbers, and what it means.
    word: tuple[str, str] | None = None

    def allows(self, value: float | str) -> bool:
        if isinstance(value, str):
            return self.word is not None and value == self.word[0]
        if not math.isfinite(value):
            return False
        return value >= self.low if self.inclusive else value > self.low

    def describe(self) -> str:
        bound = f"{self.low:g} or more" if self.inclusive else f"more than {self.low:g}"
        if self.word:
            bound += f", {self.word[0]!r} ({self.word[1]})"
        return bound + (f", or None ({self.none})" if self.none else "")


#: Every numeric ``BACKFILL_*`` setting and its range: :func:`build` stops at the first key
#: outside it (headroom.E002), the system check names every one (headroom.E202).
BACKFILL_RANGES: dict[str, Range] = {
    "BACKFILL_TARGET_BATCH_SECONDS": Range(0, inclusive=False),
    "BACKFILL_BATCH_SIZE": Range(1),
    "BACKFILL_MIN_BATCH_SIZE": Range(1),
    "BACKFILL_MAX_BATCH_SIZE": Range(1),
    "BACKFILL_EXACT_COUNT_LIMIT": Range(0, none="always count"),
    "BACKFILL_LOCK_TIMEOUT": Range(0, none="no limit"),
    "BACKFILL_STATEMENT_TIMEOUT": Range(
        0, none="no limit", word=("auto", "twice the target batch time")
    ),
    "BACKFILL_BATCH_RETRIES": Range(0),
    "BACKFILL_ERROR_BUDGET": Range(0),
    "BACKFILL_MAX_REPLICA_LAG": Range(0, none="do not check"),
    "BACKFILL_MAX_ACTIVE_BACKENDS": Range(0, none="do not check"),
    "BACKFILL_MAX_TRANSACTION_SECONDS": Range(0, none="do not check"),
    "BACKFILL_THROTTLE_CHECK_SECONDS": Range(0, inclusive=False),
    # 0 is not "no cap": None is.
    "BACKFILL_MAX_ROWS_PER_SECOND": Range(0, inclusive=False, none="no cap"),
    "BACKFILL_SLEEP_RATIO": Range(0),
    "BACKFILL_LATENCY_PROBE_RATIO": Range(1, inclusive=False, none="no probe"),
    "BACKFILL_MAX_IN_FLIGHT": Range(1),
    "BACKFILL_CONCURRENT_BATCHES": Range(1),
    "BACKFILL_LEASE_SECONDS": Range(0, inclusive=False),
    "BACKFILL_DRY_RUN_BATCHES": Range(1),
}


def _check_backfill(values: dict[str, Any]) -> None:
    for key, allowed in BACKFILL_RANGES.items():
        value = values.get(key)
        if value is not None and not allowed.allows(value):
            raise ConfigError(key, f"must be {allowed.describe()}, got {value!r}.")
    low = values.get("BACKFILL_MIN_BATCH_SIZE", HeadroomSettings.BACKFILL_MIN_BATCH_SIZE)
    high = values.get("BACKFILL_MAX_BATCH_SIZE", HeadroomSettings.BACKFILL_MAX_BATCH_SIZE)
    if low > high:
        raise ConfigError(
            "BACKFILL_MIN_BATCH_SIZE", f"is {low}, more than BACKFILL_MAX_BATCH_SIZE ({high})."
        )
    commit = values.get("BACKFILL_SYNCHRONOUS_COMMIT")
    if commit is not None and commit not in ("on", "off", "local", "remote_write", "remote_apply"):
        raise ConfigError(
            "BACKFILL_SYNCHRONOUS_COMMIT",
            f'must be "on", "off", "local", "remote_write" or "remote_apply", got {commit!r}.',
        )
    if "BACKFILL_REPLICAS" in values:
        values["BACKFILL_REPLICAS"] = list(values["BACKFILL_REPLICAS"])


def build(raw: Any, environ: typing.Mapping[str, str] | None = None) -> HeadroomSettings:
    """Validate a ``HEADROOM`` dict (plus environment overrides) into settings.

    Raises :class:`ConfigError` naming the first bad key.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("", f"HEADROOM must be a dict, got {type(raw).__name__}.")
    values = dict(raw)
    env = os.environ if environ is None else environ
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        if env.get(variable):
            values[key] = env[variable]
    hints = _field_types()
    for key, value in values.items():
        if key not in hints:
            raise ConfigError(key, "is not a django-headroom option.", unknown=True)
        if not _matches(value, hints[key]):
            raise ConfigError(
                key,
                f"expected {_type_name(hints[key])}, got {type(value).__name__} {value!r}.",
            )
    for key in _POSITIVE:
        if key in values and values[key] <= 0:
            raise ConfigError(key, f"must be greater than 0, got {values[key]!r}.")
    if values.get("N_PLUS_ONE_THRESHOLD", 2) < 2:
        raise ConfigError("N_PLUS_ONE_THRESHOLD", "must be 2 or more.")
    if "INDEX_MIN_SAVING" in values and not 0 < values["INDEX_MIN_SAVING"] < 1:
        raise ConfigError("INDEX_MIN_SAVING", "must be between 0 and 1, e.g. 0.5.")
    if "MAX_ERROR_RATE" in values and not 0 <= values["MAX_ERROR_RATE"] <= 1:
        raise ConfigError("MAX_ERROR_RATE", "must be between 0 and 1.")
    if values.get("PROBE_MODE") == "capture" and not values.get("SPOOL_DIR"):
        raise ConfigError("SPOOL_DIR", "is required when PROBE_MODE is 'capture'.")
    _check_scenarios(values.get("SCENARIOS", []))
    _check_backfill(values)
    for key in ("PROJECT_PATHS", "IGNORE_PATHS", "SCENARIOS"):
        if key in values:
            values[key] = list(values[key])
    return HeadroomSettings(**values)


def option_names() -> list[str]:
    return [f.name for f in dataclasses.fields(HeadroomSettings)]


class _LazySettings:
    """Attribute access to the validated options, built on first use."""

    _cached: HeadroomSettings | None = None

    def _load(self) -> HeadroomSettings:
        if self._cached is None:
            from django.conf import settings

            try:
                self._cached = build(getattr(settings, "HEADROOM", {}))
            except ConfigError:
                # A broken HEADROOM is reported by the system check (headroom.E001/E002);
                # until it is fixed the package runs on its defaults rather than failing
                # every request.
                self._cached = build({}, environ={})
        return self._cached

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)

    def get(self) -> HeadroomSettings:
        return self._load()

    def clear(self) -> None:
        self._cached = None


_lazy = _LazySettings()
#: The validated options: ``from headroom.conf import conf; conf.SLO_P95_MS``.
conf = typing.cast(HeadroomSettings, _lazy)


def get_settings() -> HeadroomSettings:
    """The validated options as a frozen dataclass."""
    return _lazy.get()


@receiver(setting_changed)
def _clear_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "HEADROOM":
        _lazy.clear()


def clear_cache() -> None:
    """Forget the validated options (after changing the environment overrides)."""
    _lazy.clear()
