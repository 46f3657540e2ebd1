"""The Celery executor: this process plans batches, Celery workers run them.

The coordinator (``headroom backfill run --executor celery``) owns the run like the inline
runner does (lease, generation). It cuts the key space into ranges, records each as a
``BackfillBatch`` row together with the advanced cursor, and sends one task per batch, never
more than ``max_in_flight`` at once. Health checks, the global rate cap and batch sizing
happen here, once for the whole run, however many workers there are. It collects finished
batches (rows, time) to size the next ones; a failed batch is split in two and sent again,
up to ``batch_retries`` times, then its range goes to the failure ledger.

A batch whose task went missing (its worker was killed and the broker will not redeliver it
before its visibility timeout) is sent again after ``lease_seconds`` with a new token; the
old message, if it ever arrives, finds a token that no longer matches and does nothing. A
batch still being worked on holds its row lock, so the coordinator skips it.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from django.db import connections, transaction
from django.db.models import Max
from django.utils import timezone

from headroom.backfill import control, throttle
from headroom.backfill.database import write_lock
from headroom.backfill.keys import Key, Range
from headroom.backfill.models import BackfillBatch, BackfillFailure, BackfillRun, BatchState, State
from headroom.backfill.runner import (
    InlineRunner,
    LostRun,
    Progress,
    describe_range,
    keys,
    retry_hint,
    timeout_hint,
)
from headroom.backfill.settle import unsettled
from headroom.backfill.tidy import BackgroundTidier, Blocks
from headroom.backfill.wakeup import LISTEN_SECONDS, MISSED_NOTIFICATIONS, Listener
from headroom.backfill.worker import batch_options
from headroom.checks.messages import MESSAGES
from headroom.conf import conf

#: How long the coordinator waits between looks for finished batches: at most this long...
POLL_SECONDS = 0.05
#: ...and at least this long. In between, a quarter of the time the oldest batch in flight
#: is expected to take at the run's rate, and no longer than until it is expected to be
#: done; from then on every MIN_POLL_SECONDS. A finished batch is counted (and the next ones
#: sized and sent) within a few milliseconds, the last one included, without looking every
#: few milliseconds all through each batch.
MIN_POLL_SECONDS = 0.005


def poll_seconds(size: int | None, rate: float | None, elapsed: float) -> float:
    """The pause before the next look for finished batches, when the oldest batch in flight
    has ``size`` keys (None: nothing in flight) and has been under way for about ``elapsed``
    seconds, at ``rate`` keys a second (None: not measured yet)."""
    if size is None:
        return POLL_SECONDS
    if not rate:
        return MIN_POLL_SECONDS
    expected = size / rate
    return min(POLL_SECONDS, max(MIN_POLL_SECONDS, min(expected / 4, expected - elapsed)))


#: Batch states a worker has settled, and those still to run (or running).
FINISHED = (BatchState.DONE, BatchState.FAILED)
IN_FLIGHT = (BatchState.PENDING, BatchState.PARKED)


def celery_app() -> Any:
    if conf.BACKFILL_CELERY_APP:
        from django.utils.module_loading import import_string

        return import_string(conf.BACKFILL_CELERY_APP)
    from celery import current_app

    return current_app


def no_celery_app() -> str | None:
    """Why this process has no Celery app to send batches with, or None if it has one.

    Without ``BACKFILL_CELERY_APP``, and with no app created in the process (the project's
    ``celery.py``, imported by its package as Celery's Django guide shows), ``current_app``
    is Celery's unconfigured fallback: its tasks would go to a default broker and queue
    that no worker of the project reads, and the run would wait for ever.
    """
    if conf.BACKFILL_CELERY_APP:
        return None
    from celery import _state

    if _state.get_current_app() is not getattr(_state, "default_app", None):
        return None
    return (
        'no Celery app is set up in this process: set HEADROOM["BACKFILL_CELERY_APP"] to '
        'your app\'s dotted path (say "proj.celery.app"), or import the app in your '
        "project's __init__.py as Celery's Django guide shows"
    )


#: A run whose first batch has not finished this long after it was sent says so (no worker
#: reads its queue?) and waits on.
NO_WORKER_SECONDS = 10.0


#: Said at the start of a run whose workers open a new connection for every batch: the
#: system check's own words (headroom.W202), on one line.
RECONNECTING = " ".join(
    (MESSAGES["headroom.W202"]["msg"], MESSAGES["headroom.W202"]["hint"].replace("\n", " "))
)


def reconnects_per_task(app: Any, using: str = "default") -> bool:
    """Whether ``app``'s workers open a new connection to ``using`` for every task.

    Celery's Django fixup closes every Django connection before and after each task, unless
    the app's ``CELERY_DB_REUSE_MAX`` is set (then once every that many tasks). Earlier
    releases (from 2020 to 2025) closed only connections past their ``CONN_MAX_AGE``: told
    apart by what the fixup's method calls.
    """
    if app.conf.get("CELERY_DB_REUSE_MAX"):
        return False
    if not any(str(fixup).startswith("celery.fixups.django") for fixup in app.fixups or ()):
        return False
    from celery.fixups import django as fixup

    close = getattr(getattr(fixup, "DjangoWorkerFixup", None), "_close_database", None)
    if close is not None and "close_if_unusable_or_obsolete" in close.__code__.co_names:
        return not connections[using].settings_dict.get("CONN_MAX_AGE")
    return True


class CeleryCoordinator(InlineRunner):
    """Plans, sends and collects the batches of one run on Celery."""

    #: Listening for the run's notifications (PostgreSQL); None: polling.
    listener: Listener | None = None

    def _batches(self) -> Any:
        return BackfillBatch.objects.using(self.using).filter(run_id=self.run.pk)

    def _send(self, batch: BackfillBatch) -> None:
        """Send the batch's task, with this run's batch options: the worker applies those,
        not its own settings, so an option given to this coordinator holds on every worker."""
        routing: dict[str, Any] = {}
        if conf.BACKFILL_CELERY_QUEUE:
            routing["queue"] = conf.BACKFILL_CELERY_QUEUE
        celery_app().send_task(
            "headroom.backfill.run_batch",
            args=(self.using, self.run.pk, batch.pk, batch.token),
            kwargs={"options": batch_options(self.options)},
            **routing,
        )

    def _resend(self, batches: list[BackfillBatch]) -> None:
        """Send these batches again with a new token (older copies become no-ops)."""
        for batch in batches:
            batch.token += 1
            batch.state = BatchState.PENDING
            batch.enqueued_at = timezone.now()
            batch.save(using=self.using, update_fields=["token", "state", "enqueued_at"])
            self._send(batch)

    def _unlocked(self, query: Any) -> list[BackfillBatch]:
        """Batches of ``query`` no task is working on right now."""
        features = connections[self.using].features
        with transaction.atomic(using=self.using):
            if features.has_select_for_update_skip_locked:
                query = query.select_for_update(skip_locked=True)
            found = list(query)
            self._resend(found)
        return found

    def _plan(self, r: Range, seq: int, attempt: int = 0) -> BackfillBatch:
        return BackfillBatch(
            run=self.run,
            seq=seq,
            start_key=r.start,
            end_key=r.end,
            size=r.size if r.rows is None else r.rows,
            attempt=attempt,
            enqueued_at=timezone.now(),
        )

    def _split(self, batch: BackfillBatch, seq: int) -> list[BackfillBatch]:
        """Two halves of a failed batch's range."""
        half = max(1, batch.size // 2)
        first = self.planner.next_range(batch.start_key, half, batch.end_key)
        if first is None or first.end == batch.end_key or batch.size <= 1:
            return [
                self._plan(
                    Range(batch.start_key, batch.end_key, batch.size), seq, batch.attempt + 1
                )
            ]
        second = Range(first.end, batch.end_key, max(1, batch.size - first.size))
        return [
            self._plan(first, seq, batch.attempt + 1),
            self._plan(second, seq + 1, batch.attempt + 1),
        ]

    def _pause_listener(self) -> tuple[Listener | None, bool]:
        """The coordinator's own listener, while it has one; none left (its connection was
        lost, or notifications did not arrive) means it polls while paused too."""
        listener = self.listener
        return (listener if listener is not None and not listener.broken else None), False

    #: The options given to this coordinator (run_backfill's keyword arguments, the command
    #: line's), kept on a run it starts or resumes in the foreground, as ``--detach`` keeps
    #: them: a coordinator the watchdog sends in its place goes on with them.
    given: dict[str, Any] | None = None

    def start(self) -> control.Claim:
        problem = no_celery_app()
        if problem:  # before the run is claimed: nothing is left behind
            raise control.RunError(problem)
        claim = super().start()
        if self.run_id is None and self.given is not None:
            kept = {
                k: v
                for k, v in self.given.items()
                if v is not None and k not in ("executor", "take_over", "max_batches")
            }
            self._save(options=kept)
        return claim

    def _loop(self) -> BackfillRun:
        self.listener = Listener.open(self.using, self.run.pk)
        try:
            return self._coordinate()
        finally:
            if self.listener is not None:
                self.listener.close()
                self.listener = None

    def _coordinate(self) -> BackfillRun:
        run, options = self.run, self.options
        if reconnects_per_task(celery_app(), self.using):
            self.reporter.event(RECONNECTING)
        sizer = self._sizer()
        progress = Progress()
        seq = int(self._batches().aggregate(top=Max("seq"))["top"] or 0)
        if seq:
            # Taking over: whatever was sent before may be lost; send it again.
            self._unlocked(self._batches().filter(state__in=IN_FLIGHT))
        frontier: Key | None = run.cursor
        planned_all = False
        rows_done, batches_done, busy = run.rows_done, run.batches_done, run.seconds_busy
        longest, failures, done_share = run.longest_batch_seconds, run.failures, run.progress
        next_health = next_stale = 0.0
        healthy = True
        began = time.monotonic()
        sent_rows = 0
        last_collect = head_since = time.monotonic()
        hold_until = 0.0
        # When the first batch this coordinator sent went out (None: not yet, or one has
        # finished since), for the warning that no worker seems to take them.
        first_sent: float | None = None
        any_finished = False
        # Listening: whether the last wait ended with a notification, and how many looks in a
        # row found a batch finished that no notification announced.
        woken, missed = True, 0
        if options.tidy:
            # Tidied here, on a thread, as each finished batch is collected (the batch's own
            # notification wakes this loop as it commits): the worker is free for its next
            # batch at once, and the tidy read overlaps that batch, as inline.
            self.tidier = BackgroundTidier(self.planner, self.using, options.statement_timeout)
        # Where each batch in flight lies, read as it is planned (tidy.Tidier.locate).
        blocks: dict[int, Blocks | None] = {}
        while True:
            state = self._state()
            if state == State.PAUSED:
                # Tasks that start now park their batch; they are sent again on resume.
                state = self._wait_while_paused()
                if state == State.RUNNING:
                    self._unlocked(self._batches().filter(state=BatchState.PARKED))
            if state in (State.CANCELLING, State.CANCELLED):
                self._stop_batches()
                return self._finish(State.CANCELLED, "cancelled on request")

            # What the workers finished, and what is still in flight, in one look (a batch
            # finishing after it is in flight now, and collected at the next look).
            uncollected = list(
                self._batches()
                .filter(state__in=(*FINISHED, *IN_FLIGHT), collected=False)
                .order_by("seq")
            )
            finished = [b for b in uncollected if b.state in FINISHED]
            waiting = [b.size for b in uncollected if b.state in IN_FLIGHT]
            parked = [b.pk for b in uncollected if b.state == BatchState.PARKED]
            if parked:
                # The run is not paused: a task that read it paused just before it was
                # resumed parked its batch after the parked ones were sent again.
                self._unlocked(self._batches().filter(pk__in=parked, state=BatchState.PARKED))
            if self.listener is not None and finished and not woken:
                missed += 1
                if missed >= MISSED_NOTIFICATIONS:
                    # Behind a pooler in transaction mode (PgBouncer), LISTEN is accepted
                    # but nothing is delivered: waiting for notifications would leave each
                    # finished batch uncollected for LISTEN_SECONDS.
                    self.reporter.event(
                        "finished batches are not announced on this connection (a pooler "
                        "in transaction mode?); looking for them by polling instead"
                    )
                    self.listener.close()
                    self.listener = None
            now_mono = time.monotonic()
            # Failed ranges for the failure ledger: written with the batches marked collected,
            # so that a coordinator taking the run over in between does not enter them twice.
            ledger: list[BackfillFailure] = []
            for batch in finished:
                if batch.state == BatchState.DONE:
                    if self.tidier is not None:
                        problem = self.tidier.after_batch(
                            Range(batch.start_key, batch.end_key, batch.size),
                            blocks.pop(batch.pk, None),
                        )
                        if problem:
                            self.reporter.event(problem)
                    rows_done += batch.rows
                    batches_done += 1
                    busy += batch.seconds
                    longest = max(longest, batch.seconds)
                    sizer.observe(batch.size, batch.seconds)
                    share = self._share(batch)
                    done_share = min(1.0, done_share + share)
                    continue
                if batch.attempt >= options.batch_retries:
                    failures += 1
                    ledger.append(
                        BackfillFailure(
                            run=run,
                            start_key=batch.start_key,
                            end_key=batch.end_key,
                            attempts=batch.attempt + 1,
                            error=batch.error,
                        )
                    )
                    done_share = min(1.0, done_share + self._share(batch))
                    failed_keys = Range(batch.start_key, batch.end_key, batch.size)
                    self.reporter.event(
                        f"keys {describe_range(failed_keys)} failed {batch.attempt + 1} times "
                        f"({batch.error[:80]}); put in the failure ledger ({failures} of "
                        f"{options.error_budget} allowed)"
                        # The worker's error begins with the kind: "statement_timeout: ...".
                        + timeout_hint(batch.error.partition(":")[0], failed_keys, options)
                    )
                else:
                    sizer.shrink(batch.size)
                    with transaction.atomic(using=self.using):
                        halves = self._split(batch, seq + 1)
                        seq += len(halves)
                        BackfillBatch.objects.using(self.using).bulk_create(halves)
                        BackfillBatch.objects.using(self.using).filter(pk=batch.pk).update(
                            state=BatchState.SPLIT
                        )
                    for half in halves:
                        self._send(half)
                        waiting.append(half.size)
                    again = (
                        f"sent again as {len(halves)} batches of about {keys(halves[0].size)}"
                        if len(halves) > 1
                        else "sent again as it is"
                    )
                    self.reporter.event(
                        f"batch {batch.seq} failed ({batch.error[:100]}); {again} (attempt "
                        f"{batch.attempt + 2} of {options.batch_retries + 1})"
                    )
            if finished and self.pacer is not None:
                # Pacing on the probe: while it says pause, one batch at a time, each sent
                # only after a pause in proportion to the last batch's time.
                pause = self._probe_pause_ratio()
                slowest = max((b.seconds for b in finished), default=0.0)
                hold_until = now_mono + pause * slowest
            waited = None if first_sent is None else time.monotonic() - first_sent
            if not finished and waited is not None and waited >= NO_WORKER_SECONDS:
                queue = conf.BACKFILL_CELERY_QUEUE or celery_app().conf.task_default_queue
                self.reporter.event(
                    f"no batch has finished {NO_WORKER_SECONDS:g} s after the first was sent: "
                    f"is a Celery worker of this project reading the queue {queue!r}? Still "
                    "waiting"
                )
                first_sent = None
            if finished:
                first_sent, any_finished = None, True
                # The oldest batch still in flight started about when these finished.
                head_since = now_mono
                interval = max(1e-6, now_mono - last_collect)
                last_collect = now_mono
                new_rows = sum(b.rows for b in finished if b.state == BatchState.DONE)
                progress.observe(new_rows, sum(self._share(b) for b in finished), interval)
                # One transaction: a coordinator that lost the run (LostRun) leaves the batches
                # uncollected, and the one that took it over counts them.
                with transaction.atomic(using=self.using):
                    self._batches().filter(pk__in=[b.pk for b in finished]).update(collected=True)
                    BackfillFailure.objects.using(self.using).bulk_create(ledger)
                    self._save(
                        rows_done=rows_done,
                        batches_done=batches_done,
                        seconds_busy=busy,
                        longest_batch_seconds=longest,
                        failures=failures,
                        batch_size=sizer.size,
                        rows_per_second=progress.rows_per_second or 0.0,
                        progress=done_share,
                        eta_seconds=progress.eta(done_share),
                    )
                self.reporter.update(run)
                if failures > options.error_budget:
                    left = self._stop_batches()
                    stopped = (
                        f", and {left} batch(es) sent were stopped before they were done"
                        if left
                        else ""
                    )
                    return self._finish(
                        State.FAILED,
                        f"error budget spent: {failures} key ranges failed{stopped}; "
                        + retry_hint(run),
                    )

            in_flight = len(waiting)
            if planned_all and in_flight == 0:
                if failures:
                    return self._finish(
                        State.FAILED,
                        f"finished with {failures} key range(s) in the failure ledger; "
                        + retry_hint(run),
                    )
                return self._finish(State.SUCCEEDED, "")

            if time.monotonic() >= next_health:
                reason = throttle.why_wait(self.using, self.backfill)
                next_health = time.monotonic() + options.throttle_check_seconds
                if reason and healthy:
                    self._set_state(State.THROTTLED, (State.RUNNING,), throttle_reason=reason)
                    self.reporter.event(f"throttled: {reason}")
                    self.reporter.update(run)
                elif reason:
                    self._save(throttle_reason=reason)
                elif not healthy:
                    self._set_state(State.RUNNING, (State.THROTTLED,), throttle_reason="")
                    self.reporter.event("healthy again; going on")
                else:
                    self._save()  # heartbeat
                healthy = reason is None

            # Plan and send more, within the in-flight bound and the global rate.
            paced = self.pacer is not None and self.pacer.pause_ratio > 0
            limit = 1 if paced else self._in_flight_limit()
            while healthy and not planned_all and in_flight < limit:
                if time.monotonic() < hold_until:
                    break
                if options.max_rows_per_second:
                    rate, now = options.max_rows_per_second, time.monotonic()
                    # Credit of one target batch time at most: time spent paused, throttled
                    # or idle is not saved up and spent in a burst afterwards.
                    began = max(began, now - sent_rows / rate - options.target_batch_seconds)
                    if sent_rows >= (now - began) * rate:
                        break
                r = self.planner.next_range(frontier, sizer.size, run.stop_key)
                if r is None:
                    planned_all = True
                    break
                with transaction.atomic(using=self.using):
                    seq += 1
                    batch = self._plan(r, seq)
                    batch.save(using=self.using)
                    self._save(cursor=r.end, batch_size=sizer.size)
                if self.tidier is not None:
                    blocks[batch.pk] = self.tidier.locate(r)
                self._send(batch)
                if first_sent is None and not any_finished:
                    first_sent = time.monotonic()
                if not in_flight:
                    head_since = time.monotonic()
                frontier = r.end
                sent_rows += batch.size
                in_flight += 1
                waiting.append(batch.size)

            # Batches sent long ago and held by no task: their message was lost. A task that
            # waits for its run's write slot (concurrent_batches) does not hold its batch's
            # row yet, but it waits behind fewer than max_in_flight batches, well within the
            # lease (see process_batch); a batch sent again is never run twice (its token).
            # Looked for a few times per lease, not at every poll (it is a transaction of its
            # own, and the poll is there to collect finished batches quickly).
            lost = []
            if time.monotonic() >= next_stale:
                next_stale = time.monotonic() + min(1.0, options.lease_seconds / 4)
                stale = timezone.now() - datetime.timedelta(seconds=options.lease_seconds)
                lost = self._unlocked(
                    self._batches().filter(state=BatchState.PENDING, enqueued_at__lt=stale)
                )
            for batch in lost:
                self.reporter.event(
                    f"batch {batch.seq} was not done within {options.lease_seconds:g} s and no "
                    f"worker holds it; sent again (token {batch.token})"
                )
            now = time.monotonic()
            if self.listener is not None and self.listener.broken:
                self.listener = None
            if self.listener is None:
                head = waiting[0] if waiting else None
                self.sleep(poll_seconds(head, sizer.rate, now - head_since))
                continue
            # Woken by the next batch to finish (or a pause or cancel); else at the next thing
            # this loop has to do on its own.
            due = [next_health, next_stale, now + LISTEN_SECONDS]
            if first_sent is not None:
                due.append(first_sent + NO_WORKER_SECONDS)
            if hold_until > now:
                due.append(hold_until)
            if options.max_rows_per_second and not planned_all:
                due.append(began + sent_rows / options.max_rows_per_second)
            woken = self.listener.wait(max(MIN_POLL_SECONDS, min(due) - now))
            if woken:
                missed = 0

    def _stop_batches(self) -> int:
        """The run is stopping: no batch not started yet may start, and the batches done
        since the last look count in its figures. Returns how many batches are left undone
        (parked, or failed since the last look): ``--retry-failed``, or an inline runner
        taking the run, does them (:mod:`headroom.backfill.settle`)."""
        # A batch being written holds its row until it commits: this waits for it.
        with transaction.atomic(using=self.using):
            write_lock(self.using)
            self._batches().filter(state=BatchState.PENDING).update(state=BatchState.PARKED)
        late = list(self._batches().filter(state=BatchState.DONE, collected=False))
        if late:
            run = self.run
            with transaction.atomic(using=self.using):
                write_lock(self.using)
                self._batches().filter(pk__in=[b.pk for b in late]).update(collected=True)
                self._save(
                    rows_done=run.rows_done + sum(b.rows for b in late),
                    batches_done=run.batches_done + len(late),
                    seconds_busy=run.seconds_busy + sum(b.seconds for b in late),
                    longest_batch_seconds=max(
                        [run.longest_batch_seconds, *(b.seconds for b in late)]
                    ),
                )
        return int(unsettled(self.run, self.using).count())

    def _in_flight_limit(self) -> int:
        """Tasks to keep queued or running: ``max_in_flight``, but on PostgreSQL, where only
        ``concurrent_batches`` of them write at once (their slots), no more than two per slot:
        one writing and one waiting on a worker to start as it commits. More would be sized
        before the batches ahead of them report, and only wait longer."""
        options = self.options
        if connections[self.using].vendor != "postgresql":
            return options.max_in_flight
        return max(1, min(options.max_in_flight, 2 * options.concurrent_batches))

    def _share(self, batch: BackfillBatch) -> float:
        run = self.run
        if run.start_key is not None and run.stop_key is not None and self.planner.kind != "keyset":
            span = float(run.stop_key[0]) - float(run.start_key[0])
            return batch.size / span if span > 0 else 1.0
        return batch.rows / run.rows_total if run.rows_total else 0.0


def coordinate_run(using: str, run_id: int, overrides: dict[str, Any]) -> str:
    """The body of the ``headroom.backfill.coordinate`` task: coordinate run ``run_id`` to
    its end, taking it over when its previous coordinator is gone.

    A second delivery of the task while a live coordinator holds the run does nothing; one
    delivered after the run ended does nothing either.
    """
    from headroom.backfill.options import RunOptions
    from headroom.backfill.registry import get_backfill

    run = BackfillRun.objects.using(using).get(pk=run_id)
    if not run.is_active:
        return f"run #{run_id} of {run.name} is {run.state}; nothing to coordinate"
    backfill = get_backfill(run.name)(**run.params)
    backfill.database = using
    coordinator = CeleryCoordinator(
        backfill, RunOptions.build(backfill, **{**overrides, "executor": "celery"})
    )
    coordinator.run_id = run_id
    try:
        finished = coordinator.execute()
    except control.RunError as exc:
        return f"run #{run_id}: {exc}"
    return f"run #{run_id} of {finished.name}: {finished.state}"


def send_coordinator(using: str, run_id: int, overrides: dict[str, Any]) -> None:
    problem = no_celery_app()
    if problem:
        raise control.RunError(problem)
    options: dict[str, Any] = {}
    if conf.BACKFILL_CELERY_QUEUE:
        options["queue"] = conf.BACKFILL_CELERY_QUEUE
    celery_app().send_task(
        "headroom.backfill.coordinate", args=(using, run_id, overrides), **options
    )


__all__ = ["CeleryCoordinator", "LostRun", "coordinate_run", "send_coordinator"]
