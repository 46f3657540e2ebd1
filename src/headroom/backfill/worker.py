"""One batch, as a Celery worker runs it (see :mod:`headroom.backfill.tasks`)."""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from headroom.backfill.database import backend_pid, limit_batch, take_slot, timeout_kind
from headroom.backfill.keys import IntegerRangePlanner, Range, planner_for
from headroom.backfill.models import BackfillBatch, BackfillRun, BatchState, State
from headroom.backfill.options import RunOptions
from headroom.backfill.registry import get_backfill
from headroom.backfill.runner import execute_batch
from headroom.backfill.wakeup import notify

#: The options a batch applies itself (its transaction's time limits and commit mode, and how
#: many batches of the run may write at once): with the Celery executor the coordinator sends
#: them with each batch task, so that a worker runs the batch with the run's values rather
#: than with its own settings. (Tidying is the coordinator's: headroom.backfill.tidy.)
BATCH_OPTIONS = (
    "lock_timeout",
    "statement_timeout",
    "synchronous_commit",
    "concurrent_batches",
)


#: The error of a batch whose worker died while running it.
WORKER_LOST = (
    "WorkerLost: the worker running this batch died before it finished (killed, or out of memory?)"
)


def batch_options(options: RunOptions) -> dict[str, Any]:
    """The run's batch options, as a batch task carries them (JSON)."""
    return {name: getattr(options, name) for name in BATCH_OPTIONS}


def with_batch_options(options: RunOptions, sent: dict[str, Any] | None) -> RunOptions:
    """``options`` with a batch task's own: each of :data:`BATCH_OPTIONS` that ``sent`` has
    wins, None included (no limit, as the coordinator decided); a task sent without them
    (by an older coordinator) keeps ``options``."""
    if not sent:
        return options
    return dataclasses.replace(options, **{k: sent[k] for k in BATCH_OPTIONS if k in sent})


def process_batch(
    using: str,
    run_id: int,
    batch_id: int,
    token: int,
    worker: str = "",
    options: dict[str, Any] | None = None,
) -> str:
    """Run batch ``batch_id`` of run ``run_id`` if it is still pending with ``token``.

    ``options`` are the run's batch options as the coordinator sent them (lock_timeout,
    statement_timeout, synchronous_commit, concurrent_batches): they win over this
    worker's settings, so that a value given on the coordinator's command line or to
    ``run_backfill`` holds for every batch. A task sent without them uses the settings.

    On PostgreSQL the batch first waits for one of the run's ``concurrent_batches`` write
    slots (:func:`~headroom.backfill.database.take_slot`), then sets its time limits, locks
    its row and runs; the slot is freed when its transaction ends. The batch's ``seconds``
    count from the moment it has its slot: the coordinator sizes batches on them, and the
    wait says nothing about how long the batch's rows take.
    """
    run = BackfillRun.objects.using(using).get(pk=run_id)
    if run.state in (State.CANCELLING, State.CANCELLED, State.FAILED, State.SUCCEEDED):
        return f"skipped batch {batch_id}: run #{run_id} is {run.state}"
    batches = BackfillBatch.objects.using(using).filter(
        pk=batch_id, token=token, state=BatchState.PENDING
    )
    if run.state == State.PAUSED:
        # The coordinator sends it again on resume.
        batches.update(state=BatchState.PARKED)
        return f"parked batch {batch_id}: run #{run_id} is paused"
    who = f"{worker or 'worker'} pid {os.getpid()}"
    # An earlier task started this batch and never finished it: its worker died in it
    # (killed, out of memory; the broker then delivers the task again). Running it again
    # may kill this worker too: it fails as one attempt instead, and the coordinator splits
    # it, or puts its range in the failure ledger once the retries are spent.
    if batches.filter(deliveries__gt=0).update(
        state=BatchState.FAILED,
        error=WORKER_LOST,
        worker=who,
        finished_at=timezone.now(),
    ):
        notify(using, run_id, str(batch_id))
        return f"batch {batch_id} failed: its earlier task's worker died in it"
    batches.update(deliveries=F("deliveries") + 1)
    backfill = get_backfill(run.name)(**run.params)
    planner = planner_for(backfill, using)
    run_options = with_batch_options(RunOptions.build(backfill), options)
    began = time.monotonic()
    waited = 0.0
    try:
        with transaction.atomic(using=using):
            # Before any row lock, transaction id or lock_timeout (which would cut the wait).
            # While it waits, the batch's row is not locked yet: the coordinator's check for
            # lost tasks (a pending batch sent lease_seconds ago that no task holds) would
            # take it for lost once sent that long ago. Its wait is bounded by the batches
            # ahead of it, fewer than max_in_flight (4) of about target_batch_seconds (0.5 s)
            # each, far within the lease (60 s), so it is not sent again. If it ever were,
            # the copy carries a new token and this task, once it has the slot, finds the
            # token changed and does nothing: the batch runs once.
            slot = take_slot(using, run_id, batch_id, run_options.concurrent_batches)
            waited = time.monotonic() - began
            began += waited
            limit_batch(using, run_options)
            server = backend_pid(using)
            if server is not None:
                # Which connection ran it: a new one for every batch means Celery closes the
                # worker's connections after each task (coordinator.reconnects_per_task).
                who += f" backend {server}"
            batch = BackfillBatch.objects.using(using).select_for_update().get(pk=batch_id)
            if batch.token != token or batch.state != BatchState.PENDING:
                return f"skipped batch {batch_id}: {batch.state}, token {batch.token} not {token}"
            known = None if isinstance(planner, IntegerRangePlanner) else batch.size
            rows = execute_batch(
                backfill, planner, Range(batch.start_key, batch.end_key, batch.size, known)
            )
            batch.state = BatchState.DONE
            batch.rows = rows
            batch.seconds = time.monotonic() - began
            batch.worker = who
            batch.finished_at = timezone.now()
            batch.save(
                using=using, update_fields=["state", "rows", "seconds", "worker", "finished_at"]
            )
            notify(using, run_id, str(batch_id))  # sent as the batch commits
    except Exception as exc:
        kind = timeout_kind(exc) or type(exc).__name__
        with transaction.atomic(using=using):
            batches.update(
                state=BatchState.FAILED,
                error=f"{kind}: {exc}".strip()[:2000],
                seconds=time.monotonic() - began,
                worker=who,
                finished_at=timezone.now(),
            )
            notify(using, run_id, str(batch_id))
        return f"batch {batch_id} failed: {kind}"
    done = f"batch {batch_id} done: {rows} rows in {batch.seconds:.3f} s"
    if slot is not None:
        done += f" (slot {slot}, after waiting {waited:.3f} s for it)"
    return done
