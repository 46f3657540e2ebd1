"""Finishing what a stopped Celery run left behind: its batches sent but never done.

The Celery coordinator's cursor is where it *planned* up to, not where the work is done:
when a run stops with batches still queued (its error budget spent, its coordinator lost,
or taken over by an inline runner), their key ranges lie before the cursor and in no
failure ledger. A run that goes on from the cursor (``--retry-failed``, an inline ``run``)
would walk past them. :func:`settle_batches` does them first, each exactly once:

- it takes the batch's row lock, as a worker does before it runs a batch, so a task still
  running it finishes first (and is then only counted), and a task that starts it later
  finds it done and does nothing;
- the batch's work, its row marked done and collected, and the run's figures commit in one
  transaction, conditional on the runner's generation;
- a batch that still fails goes to the failure ledger, as the coordinator would have put it.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from headroom.backfill.database import (
    limit_batch,
    set_batch_timeouts,
    take_slot,
    timeout_kind,
    write_lock,
)
from headroom.backfill.keys import IntegerRangePlanner, Planner, Range
from headroom.backfill.models import BackfillBatch, BackfillFailure, BackfillRun, BatchState

if TYPE_CHECKING:
    from headroom.backfill.base import Backfill
    from headroom.backfill.options import RunOptions
    from headroom.backfill.runner import Reporter

#: Batches of a stopped run still to settle: never run (pending, parked), failed or done
#: but not yet collected by a coordinator (neither split nor in the ledger, nor counted).
UNSETTLED = Q(state__in=(BatchState.PENDING, BatchState.PARKED)) | Q(
    state__in=(BatchState.DONE, BatchState.FAILED), collected=False
)


def unsettled(run: BackfillRun, using: str) -> Any:
    return BackfillBatch.objects.using(using).filter(UNSETTLED, run_id=run.pk).order_by("seq")


def unsettled_runs(using: str) -> Any:
    """The ids of the runs with unsettled batches (a subquery)."""
    return BackfillBatch.objects.using(using).filter(UNSETTLED).values("run_id")


@dataclasses.dataclass
class Settled:
    """What :func:`settle_batches` did."""

    ran: int = 0  #: batches it ran itself
    counted: int = 0  #: batches a worker had done, counted now
    rows: int = 0
    failed: int = 0  #: batches that failed again: now in the failure ledger

    @property
    def batches(self) -> int:
        return self.ran + self.counted


def settle_batches(
    backfill: Backfill,
    planner: Planner,
    run: BackfillRun,
    options: RunOptions,
    reporter: Reporter,
) -> Settled:
    """Run (or count) the unsettled batches of ``run``; ``run`` must be this runner's now
    (its generation). Each batch gets ``options.batch_retries`` retries of its whole range;
    one that fails them all goes to the failure ledger (``run.failures`` counts it).

    Raises :class:`~headroom.backfill.runner.LostRun` when another runner takes the run over.
    """
    from headroom.backfill.runner import LostRun, describe_range, execute_batch

    using = backfill.database_alias()
    mine = BackfillRun.objects.using(using).filter(pk=run.pk, generation=run.generation)
    done = Settled()
    for batch in list(unsettled(run, using)):
        r = Range(batch.start_key, batch.end_key, batch.size)
        where = f"batch {batch.seq} (keys {describe_range(r)}), left by the run's last runner"
        attempts = 0
        while True:
            began = time.monotonic()
            try:
                with transaction.atomic(using=using):
                    # As a worker: a write slot of the run, then the batch's row, waiting as
                    # long as a task holding it takes (no time limits yet), then the limits.
                    write_lock(using)
                    take_slot(using, run.pk, batch.pk, options.concurrent_batches)
                    set_batch_timeouts(using, None, None)
                    locked = BackfillBatch.objects.using(using).select_for_update().get(pk=batch.pk)
                    if locked.collected or locked.state == BatchState.SPLIT:
                        break  # a coordinator counted it meanwhile
                    ran = locked.state != BatchState.DONE
                    if ran:
                        limit_batch(using, options)
                        known = None if isinstance(planner, IntegerRangePlanner) else batch.size
                        rows = execute_batch(
                            backfill, planner, Range(r.start, r.end, r.size, known)
                        )
                        seconds = time.monotonic() - began
                    else:
                        rows, seconds = locked.rows, locked.seconds
                    BackfillBatch.objects.using(using).filter(pk=batch.pk).update(
                        state=BatchState.DONE,
                        collected=True,
                        rows=rows,
                        seconds=seconds,
                        finished_at=locked.finished_at or timezone.now(),
                    )
                    if not mine.update(
                        rows_done=F("rows_done") + rows,
                        batches_done=F("batches_done") + 1,
                        seconds_busy=F("seconds_busy") + seconds,
                        heartbeat_at=timezone.now(),
                        updated_at=timezone.now(),
                    ):
                        raise LostRun(f"run #{run.pk} was taken over by another runner")
            except LostRun:
                raise
            except Exception as exc:
                attempts += 1
                kind = timeout_kind(exc) or type(exc).__name__
                if attempts <= options.batch_retries:
                    reporter.event(
                        f"{where}, failed ({kind}: {exc}); retrying it (attempt "
                        f"{attempts + 1} of {options.batch_retries + 1})"
                    )
                    continue
                error = f"{kind}: {exc}".strip()[:2000]
                with transaction.atomic(using=using):
                    write_lock(using)
                    BackfillBatch.objects.using(using).filter(pk=batch.pk).update(
                        state=BatchState.FAILED,
                        collected=True,
                        error=error,
                        finished_at=timezone.now(),
                    )
                    BackfillFailure.objects.using(using).create(
                        run_id=run.pk,
                        start_key=batch.start_key,
                        end_key=batch.end_key,
                        attempts=batch.attempt + attempts,
                        error=error,
                    )
                    if not mine.update(failures=F("failures") + 1, updated_at=timezone.now()):
                        raise LostRun(f"run #{run.pk} was taken over by another runner") from exc
                done.failed += 1
                reporter.event(
                    f"{where}, failed {attempts} times ({kind}); put in the failure ledger"
                )
                break
            if ran:
                done.ran += 1
            else:
                done.counted += 1
            done.rows += rows
            reporter.event(
                f"{where}: " + (f"done ({rows} rows)" if ran else f"done by a worker ({rows} rows)")
            )
            break
    if done.batches or done.failed:
        run.refresh_from_db(using=using)
    return done
