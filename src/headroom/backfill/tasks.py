"""The Celery tasks behind ``HEADROOM["BACKFILL_EXECUTOR"] = "celery"``: one batch, and the
coordinator of a run started with ``headroom backfill run --detach``.

The worker must import this module; with the usual ``proj/celery.py``::

    app.autodiscover_tasks(["headroom.backfill"])

The task acknowledges late and is rejected (so redelivered) when its worker process dies: a
batch whose worker was killed runs again elsewhere. It is idempotent: the batch's row is
locked, its token and state checked, the work done and the batch marked done in one
transaction, so a second delivery of the same message does nothing.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task


@shared_task(
    bind=True,
    name="headroom.backfill.run_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def run_batch(self: Task[Any, Any], using: str, run_id: int, batch_id: int, token: int) -> str:
    """Run one planned batch of a backfill run; returns what happened, for the worker log."""
    from headroom.backfill.worker import process_batch

    return process_batch(using, run_id, batch_id, token, worker=str(self.request.hostname or ""))


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
