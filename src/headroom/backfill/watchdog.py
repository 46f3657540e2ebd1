"""Runs whose coordinator is gone, handed to a new one: ``headroom backfill watchdog`` and the
``headroom.backfill.watchdog`` task (for celery beat).

A detached coordinator is a Celery task acknowledged late. When its pool process dies,
Celery requeues the message at once; when the whole worker dies, RabbitMQ redelivers it as
soon as the connection drops, but Redis only after its ``visibility_timeout`` (an hour by
default), and until then the run stands still with a stale heartbeat. The same happens to a
run coordinated by a ``headroom backfill run --executor celery`` command that was killed.

The watchdog looks at every unfinished run and acts on those whose lease is lost
(:func:`headroom.backfill.control.lease_lost`): a Celery run is handed over in one
transaction on its locked row, checked again first: its generation goes up, so the lost
coordinator can write no checkpoint if it ever comes back, it becomes ``enqueued`` with no
owner and a heartbeat of now, and a new ``headroom.backfill.coordinate`` task is sent for
it. Whichever coordinator claims the run first (that task, a late copy of the old one,
``headroom backfill run``) takes it; the others find it held, or over, and do nothing. A run
handed over counts as lost again only after another lease without a claim, so a watchdog
every minute does not pile up tasks while the first one waits in the queue.

A ``cancelling`` run whose coordinator is gone is cancelled at once; a paused one, and a run
of the inline executor, are left as they are, with the command that goes on with them.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, transaction
from django.utils import timezone

from headroom.backfill import control
from headroom.backfill.database import write_lock
from headroom.backfill.models import ACTIVE_STATES, BackfillRun, State

logger = logging.getLogger("headroom.backfill")

#: What the watchdog did with a run.
HANDED_OVER = "handed over"
CANCELLED = "cancelled"
LEFT = "left"
ERROR = "error"


@dataclass
class Finding:
    """One run whose coordinator (or runner) is gone, or a database that could not be read."""

    database: str
    action: str
    detail: str
    run_id: int | None = None
    name: str = ""
    state: str = ""
    executor: str = ""
    #: The run's generation after the watchdog (bumped when handed over).
    generation: int | None = None

    def describe(self) -> str:
        if self.run_id is None:
            return f"database {self.database!r}: {self.detail}"
        return f"run #{self.run_id} of {self.name} (database {self.database!r}): {self.detail}"


@dataclass
class Sweep:
    """What one pass of the watchdog found and did."""

    databases: list[str]
    findings: list[Finding] = field(default_factory=list)
    #: Unfinished runs whose runner or coordinator is alive (left alone).
    live: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.action == ERROR for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "databases": self.databases,
            "live": self.live,
            "findings": [asdict(f) for f in self.findings],
        }


def default_databases() -> list[str]:
    """Where runs are looked for when no alias is given: ``default`` and every database a
    registered backfill writes to (and keeps its runs in)."""
    from headroom.backfill.registry import all_backfills, default_database

    aliases = {DEFAULT_DB_ALIAS}
    aliases.update(default_database(cls) for cls in all_backfills().values())
    return sorted(
        (a for a in aliases if a in settings.DATABASES), key=lambda a: (a != DEFAULT_DB_ALIAS, a)
    )


def _database_flag(using: str, default: str | None = None) -> str:
    """`` --database ALIAS`` when a command would not look in ``using`` by itself."""
    if default is not None:
        return "" if using == default else f" --database {using}"
    return "" if using in default_databases() else f" --database {using}"


def _named_default(name: str) -> str | None:
    from headroom.backfill.registry import UnknownBackfill, default_database, get_backfill

    try:
        return default_database(get_backfill(name))
    except UnknownBackfill:
        return None


def recovery(run: BackfillRun, using: str) -> str:
    """The command that gets a run whose lease is lost going again."""
    named = _database_flag(using, _named_default(run.name) or "")
    # A run is started again with its own parameters: a required one left out is refused.
    again = control.command("run", run.name, run.params) + named
    if run.state == State.PAUSED:
        then = (
            f"headroom backfill watchdog{_database_flag(using)}"
            if run.executor == "celery"
            else again
        )
        return f"headroom backfill resume {run.name}{named}, then {then}"
    if run.executor == "celery":
        return f"headroom backfill watchdog{_database_flag(using)}"
    if run.state == State.CANCELLING:
        return f"headroom backfill cancel {run.name}{named}"
    return again


def _finding(run: BackfillRun, using: str, action: str, detail: str) -> Finding:
    return Finding(
        database=using,
        action=action,
        detail=detail,
        run_id=run.pk,
        name=run.name,
        state=run.state,
        executor=run.executor,
        generation=run.generation,
    )


def _send(using: str, run_id: int) -> None:
    from headroom.backfill.coordinator import send_coordinator

    # The options the lost coordinator was started with (``run --detach --lock-timeout``).
    options = BackfillRun.objects.using(using).filter(pk=run_id).values_list("options", flat=True)
    send_coordinator(using, run_id, dict(options.first() or {}))


def _recover(run: BackfillRun, using: str) -> Finding | None:
    reason = control.lost_reason(run)
    if run.executor != "celery" or run.state == State.PAUSED:
        what = "paused, and " if run.state == State.PAUSED else ""
        return _finding(run, using, LEFT, f"{what}{reason}; go on with: {recovery(run, using)}")
    now = timezone.now()
    with transaction.atomic(using=using):
        write_lock(using)
        locked = BackfillRun.objects.using(using).select_for_update().filter(pk=run.pk).first()
        if (
            locked is None
            or not control.lease_lost(locked, now)
            or locked.executor != "celery"
            or locked.state == State.PAUSED
        ):
            return None  # claimed, finished or paused since: nothing to do
        rows = BackfillRun.objects.using(using).filter(pk=locked.pk, generation=locked.generation)
        if locked.state == State.CANCELLING:
            rows.update(
                state=State.CANCELLED,
                owner="",
                finished_at=now,
                updated_at=now,
                message="cancelled on request (its coordinator was gone)",
            )
            locked.state = State.CANCELLED
            return _finding(locked, using, CANCELLED, f"{reason}; it was being cancelled: done")
        before = locked.generation
        rows.update(
            generation=before + 1,
            state=State.ENQUEUED,
            owner="",
            heartbeat_at=now,
            throttle_reason="",
            updated_at=now,
        )
        locked.generation, locked.state = before + 1, State.ENQUEUED
    try:
        _send(using, locked.pk)
    except Exception as exc:
        return _finding(
            locked,
            using,
            ERROR,
            f"{reason}; its generation is now {locked.generation}, but sending a coordinator "
            f"task failed ({type(exc).__name__}: {exc}); the watchdog tries again after "
            "the lease",
        )
    return _finding(
        locked,
        using,
        HANDED_OVER,
        f"{reason}; handed to a new coordinator task (generation {before} -> "
        f"{locked.generation}, so the lost coordinator can no longer write)",
    )


def sweep(databases: list[str] | None = None, *, log: bool = True) -> Sweep:
    """Look at the unfinished runs of ``databases`` (default: :func:`default_databases`) and
    recover each whose lease is lost; return what was found and done, and with ``log`` (the
    Celery task) also log it to ``headroom.backfill``."""
    result = Sweep(list(databases or default_databases()))
    for using in result.databases:
        try:
            runs = list(
                BackfillRun.objects.using(using).filter(state__in=ACTIVE_STATES).order_by("id")
            )
        except DatabaseError as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            result.findings.append(Finding(using, ERROR, f"could not read the runs: {first}"))
            continue
        for run in runs:
            if not control.lease_lost(run):
                result.live += 1
                continue
            try:
                found = _recover(run, using)
            except DatabaseError as exc:
                found = _finding(run, using, ERROR, f"could not hand it over: {exc}")
            if found is None:
                result.live += 1
                continue
            result.findings.append(found)
            if log:
                level = logging.INFO if found.action == LEFT else logging.WARNING
                logger.log(level, "headroom backfill watchdog: %s", found.describe())
    return result
