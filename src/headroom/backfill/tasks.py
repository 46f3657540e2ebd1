"""The Celery tasks behind ``HEADROOM["BACKFILL_EXECUTOR"] = "celery"``: one batch, the
coordinator of a run started with ``headroom backfill run --detach``, and the watchdog that
hands a run whose coordinator is gone to a new one (run it from celery beat).

The worker must import this module; with the usual ``proj/celery.py``::

    app.autodiscover_tasks(["headroom.backfill"])

The task acknowledges late and is rejected (so redelivered) when its worker process dies: a
batch whose worker was killed runs again elsewhere. It is idempotent: the batch's row is
locked, its token and state checked, the work done and the batch marked done in one
transaction, so a second delivery of the same message does nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_init

log = logging.getLogger("headroom.backfill")


@worker_init.connect(weak=False, dispatch_uid="headroom.backfill.tasks.import_ahead")
def import_ahead(**_: Any) -> None:
    """Import what a batch task needs, and every app's ``backfills`` module, as the worker
    starts (before its pool's processes are forked, so they have them too). Otherwise the
    first batch each process runs imports them while the run waits: on the benchmark's
    2-core machine that batch took 59-95 ms from the task's start to its ``UPDATE``,
    against 4-15 ms for the batches after it."""
    from django.apps import apps

    if not apps.ready:
        # Django is not set up yet (an app without Celery's Django fixup): the models
        # cannot be imported before it is.
        return
    try:
        from headroom.backfill import registry, worker  # noqa: F401

        registry.autodiscover()
    except Exception:
        log.warning(
            "could not import the backfills as the worker started; the first batch task "
            "will try again",
            exc_info=True,
        )


@shared_task(
    bind=True,
    name="headroom.backfill.run_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_batch(
    self: Task[Any, Any],
    using: str,
    run_id: int,
    batch_id: int,
    token: int,
    options: dict[str, Any] | None = None,
) -> str:
    """Run one planned batch of a backfill run; returns what happened, for the worker log.

    ``options`` are the run's batch options (lock_timeout, statement_timeout,
    synchronous_commit) as its coordinator resolved them; a message without them (sent by an
    older coordinator) runs the batch with this worker's settings.
    """
    from headroom.backfill.worker import process_batch

    return process_batch(
        using,
        run_id,
        batch_id,
        token,
        worker=str(self.request.hostname or ""),
        options=options,
    )


@shared_task(
    bind=True,
    name="headroom.backfill.coordinate",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def coordinate(self: Task[Any, Any], using: str, run_id: int, overrides: dict[str, Any]) -> str:
    """Coordinate one run to its end (``headroom backfill run --detach``).

    Acknowledged late and requeued when its worker process dies: the next delivery takes the
    run over (its generation goes up, so the dead coordinator's writes would fail) and goes on
    from the last checkpoint. It holds one worker process for the whole run.
    """
    from headroom.backfill.coordinator import coordinate_run

    return coordinate_run(using, run_id, overrides)


@shared_task(name="headroom.backfill.watchdog", ignore_result=True)
def watchdog(databases: list[str] | None = None) -> dict[str, Any]:
    """Hand every unfinished Celery run whose coordinator is gone to a new coordinator task.

    Meant for celery beat (every minute or so). ``databases``: the aliases to look in;
    default, every database a registered backfill writes to, and ``default``. Returns what it
    found and did (also logged to ``headroom.backfill``), as ``headroom backfill watchdog
    --json`` prints it.
    """
    from headroom.backfill.watchdog import sweep

    return sweep(databases).as_dict()
