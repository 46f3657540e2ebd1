"""Runs: start one, take one over, and pause, resume or cancel it from anywhere.

Control requests are plain state changes on the ``BackfillRun`` row; the runner reads them
between batches. A runner owns a run through a lease: ``owner`` (host:pid), ``heartbeat_at``
(renewed at each batch and while waiting) and ``generation``, bumped at each take-over. Every
checkpoint is conditional on the generation it started with, so a runner that lost its run
(it was frozen past its lease and someone took over) fails its next checkpoint and rolls
its batch back instead of writing on.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shlex
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from headroom.backfill.database import write_lock
from headroom.backfill.models import ACTIVE_STATES, BackfillRun, State
from headroom.backfill.wakeup import notify
from headroom.conf import conf


class RunError(Exception):
    """A run cannot be started or changed; the message says why and what to do."""


class RunHeld(RunError):
    """Another live runner owns the run."""


class NothingToRetry(RunError):
    """``--retry-failed``: no failed run of the backfill has ranges left in its ledger."""


class OtherParams(RunError):
    """``--retry-failed`` with other parameters than the failed run's: a usage error."""


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def command(action: str, name: str, params: dict[str, Any] | None = None, *extra: str) -> str:
    """The shell command that does ``action`` on ``name`` with a run's stored ``params``
    (a hint in a message: the user can paste it)."""
    words = ["headroom", "backfill", action, name]
    for key, value in (params or {}).items():
        if value is not None:  # a default left unset: given again, None would not parse
            words += ["--param", f"{key}={value}"]
    return shlex.join([*words, *extra])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


#: Runs a runner of this process is working on now, by database alias and id. Two runners
#: of one process (coordinator tasks on a Celery worker's threads pool) share its owner id;
#: the run's owner being this process says nothing without it.
_HELD_HERE: set[tuple[str, int]] = set()
_held_lock = threading.Lock()


@contextlib.contextmanager
def holding(run: BackfillRun) -> Iterator[None]:
    """Mark ``run`` as worked on by this process while the block runs."""
    key = (run._state.db or "default", int(run.pk))
    with _held_lock:
        _HELD_HERE.add(key)
    try:
        yield
    finally:
        with _held_lock:
            _HELD_HERE.discard(key)


def holder_alive(run: BackfillRun, now: datetime.datetime | None = None) -> bool:
    """Whether the run's owner may still be working on it."""
    if not run.owner or run.heartbeat_at is None:
        return False
    now = now or timezone.now()
    if (now - run.heartbeat_at).total_seconds() > conf.BACKFILL_LEASE_SECONDS:
        return False
    host, _, pid = run.owner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            # This process: alive while one of its runners is on the run (another thread's),
            # not when a runner of it stopped without giving the run up.
            with _held_lock:
                return (run._state.db or "default", int(run.pk)) in _HELD_HERE
        # Same machine: a dead process is known dead at once, no need to wait for the lease.
        return _pid_alive(int(pid))
    return True


def lease_lost(run: BackfillRun, now: datetime.datetime | None = None) -> bool:
    """Whether an unfinished run has nobody working on it and nobody about to.

    Either its owner's lease ran out (or, on this machine, its process is gone), or it has
    waited with no owner for longer than a lease: it was enqueued (``--detach``) or handed
    over by the watchdog and no coordinator task has claimed it since.
    """
    if not run.is_active or holder_alive(run, now):
        return False
    if run.owner:
        return True
    now = now or timezone.now()
    since = run.heartbeat_at or run.updated_at or run.created_at
    return since is None or (now - since).total_seconds() > conf.BACKFILL_LEASE_SECONDS


def lost_reason(run: BackfillRun, now: datetime.datetime | None = None) -> str:
    """Why :func:`lease_lost` says so, in words."""
    now = now or timezone.now()
    lease = f"lease {conf.BACKFILL_LEASE_SECONDS:g} s"
    if run.owner:
        if run.heartbeat_at is None:
            return f"its runner {run.owner} never sent a heartbeat"
        age = (now - run.heartbeat_at).total_seconds()
        if age > conf.BACKFILL_LEASE_SECONDS:
            return f"no heartbeat from its runner {run.owner} for {age:.0f} s ({lease})"
        return f"its runner {run.owner} is gone (that process has ended)"
    since = run.heartbeat_at or run.updated_at or run.created_at
    age = (now - since).total_seconds() if since else 0.0
    return f"no runner has taken it for {age:.0f} s ({lease})"


def latest(name: str, using: str) -> BackfillRun | None:
    return BackfillRun.objects.using(using).filter(name=name).order_by("-id").first()


def active_run(name: str, using: str) -> BackfillRun | None:
    return (
        BackfillRun.objects.using(using)
        .filter(name=name, state__in=ACTIVE_STATES)
        .order_by("-id")
        .first()
    )


@dataclass
class Claim:
    run: BackfillRun
    resumed: bool


def claim(
    name: str,
    params: dict[str, Any],
    using: str,
    executor: str,
    *,
    take_over: bool = False,
    run_id: int | None = None,
) -> Claim:
    """Start a run of ``name``, or take over its unfinished one; bump the generation.

    With ``run_id`` (a detached coordinator's task), only that run is taken, and only while
    it is unfinished.
    """
    # A run found cancelling is marked cancelled and refused, after the commit: raised inside
    # the transaction, the refusal would roll the change back.
    cancelled: BackfillRun | None = None
    with transaction.atomic(using=using):
        write_lock(using)
        runs = BackfillRun.objects.using(using).select_for_update()
        if run_id is not None:
            runs = runs.filter(pk=run_id)
        run = runs.filter(name=name, state__in=ACTIVE_STATES).order_by("-id").first()
        resumed = run is not None
        if run is None and run_id is not None:
            raise RunError(f"run #{run_id} of {name} is over; nothing to coordinate.")
        if run is None:
            run = BackfillRun(name=name, params=params, executor=executor)
        else:
            if run.params != params and params:
                raise RunError(
                    f"run #{run.pk} of {name} is not finished and has other parameters "
                    f"({run.params}). Finish it first ({command('run', name, run.params)}), "
                    f"or cancel it: headroom backfill cancel {name}"
                )
            if holder_alive(run) and not take_over:
                age = (timezone.now() - run.heartbeat_at).total_seconds() if run.heartbeat_at else 0
                raise RunHeld(
                    f"run #{run.pk} of {name} is being run by {run.owner} (last heartbeat "
                    f"{age:.0f} s ago). Watch it with: headroom backfill status {name}"
                )
            if run.state == State.CANCELLING:
                run.state = State.CANCELLED
                run.finished_at = timezone.now()
                run.owner = ""
                cancelled = run
        if cancelled is None:
            run.generation += 1
            run.owner = owner_id()
            run.heartbeat_at = timezone.now()
            run.executor = executor
            if run.state in (State.ENQUEUED, State.PAUSED, State.THROTTLED):
                run.state = State.RUNNING
            run.started_at = run.started_at or timezone.now()
        run.save(using=using)
    if cancelled is not None:
        raise RunError(f"run #{run.pk} of {name} was being cancelled; it is cancelled now.")
    return Claim(run, resumed)


def _change(name: str, using: str, allowed: tuple[str, ...], verb: str) -> BackfillRun:
    run = active_run(name, using)
    if run is None:
        last = latest(name, using)
        where = f" (its last run, #{last.pk}, {last.state})" if last else ""
        raise RunError(f"{name} has no unfinished run to {verb}{where}.")
    if run.state not in allowed:
        raise RunError(f"run #{run.pk} of {name} is {run.state}; it cannot be {verb}d now.")
    return run


def pause(name: str, using: str) -> BackfillRun:
    """Ask the run to stop after its current batch and wait."""
    run = _change(name, using, (State.ENQUEUED, State.RUNNING, State.THROTTLED), "pause")
    BackfillRun.objects.using(using).filter(
        pk=run.pk, state__in=(State.ENQUEUED, State.RUNNING, State.THROTTLED)
    ).update(state=State.PAUSED, updated_at=timezone.now())
    notify(using, run.pk, "pause")
    run.refresh_from_db(using=using)
    return run


def resume(name: str, using: str) -> BackfillRun:
    """Let a paused run go on (its runner picks it up; else ``headroom backfill run``)."""
    run = _change(name, using, (State.PAUSED,), "resume")
    target = State.RUNNING if holder_alive(run) else State.ENQUEUED
    if (
        BackfillRun.objects.using(using)
        .filter(pk=run.pk, state=State.PAUSED)
        .update(state=target, updated_at=timezone.now())
    ):
        notify(using, run.pk, "resume")  # a paused runner waits on its channel
    run.refresh_from_db(using=using)
    return run


def cancel(name: str, using: str) -> BackfillRun:
    """Stop the run for good after its current batch (at once when nobody runs it)."""
    run = _change(name, using, ACTIVE_STATES, "cancel")
    now = timezone.now()
    if holder_alive(run):
        BackfillRun.objects.using(using).filter(pk=run.pk, state__in=ACTIVE_STATES).update(
            state=State.CANCELLING, updated_at=now
        )
        notify(using, run.pk, "cancel")
    else:
        BackfillRun.objects.using(using).filter(pk=run.pk, state__in=ACTIVE_STATES).update(
            state=State.CANCELLED, finished_at=now, updated_at=now, owner=""
        )
    run.refresh_from_db(using=using)
    return run


def steer(run_id: int, using: str, action: str) -> BackfillRun:
    """Pause, resume or cancel run ``run_id`` itself, through :func:`pause`, :func:`resume`
    or :func:`cancel` (the admin acts on the rows it was shown, not on a name).

    Those act on the backfill's latest unfinished run, so a finished run is refused here
    instead of handed on to a newer run. The row stays locked meanwhile: no new run (whose
    start locks the unfinished ones) slips in between the check and the change.
    """
    change = {"pause": pause, "resume": resume, "cancel": cancel}[action]
    with transaction.atomic(using=using):
        write_lock(using)
        run = BackfillRun.objects.using(using).select_for_update().filter(pk=run_id).first()
        if run is None:
            raise RunError(f"run #{run_id} is gone; nothing to {action}.")
        if not run.is_active:
            raise RunError(f"run #{run.pk} of {run.name} is {run.state}; nothing to {action}.")
        current = active_run(run.name, using)
        if current is not None and current.pk != run.pk:
            raise RunError(
                f"run #{run.pk} of {run.name} is {run.state} but not its latest unfinished "
                f"run (#{current.pk}); it is left as it is."
            )
        return change(run.name, using)


def enqueue(name: str, params: dict[str, Any], using: str, executor: str) -> BackfillRun:
    """The run a detached coordinator will take: the unfinished one, or a new ``enqueued``
    run. Refused while a live runner holds the unfinished run."""
    with transaction.atomic(using=using):
        write_lock(using)
        run = (
            BackfillRun.objects.using(using)
            .select_for_update()
            .filter(name=name, state__in=ACTIVE_STATES)
            .order_by("-id")
            .first()
        )
        if run is None:
            run = BackfillRun(name=name, params=params, executor=executor)
            run.save(using=using)
            return run
        if run.params != params and params:
            raise RunError(
                f"run #{run.pk} of {name} is not finished and has other parameters "
                f"({run.params}). Finish it first, or cancel it: headroom backfill cancel {name}"
            )
        if holder_alive(run):
            raise RunHeld(
                f"run #{run.pk} of {name} is being run by {run.owner}. Watch it with: "
                f"headroom backfill status {name}"
            )
        return run
