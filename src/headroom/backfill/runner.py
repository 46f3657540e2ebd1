"""The inline runner: the batch loop that ``headroom backfill run`` executes by default.

Each batch is one transaction holding the batch's changes and the run's checkpoint (the
cursor, counts and timings, conditional on the runner's generation). Killed at any moment,
the process loses nothing: either the batch committed with its checkpoint, or neither did
and the next runner repeats that one batch. Between batches the runner reads pause and
cancel requests, checks database health (at most every ``throttle_check_seconds``), and
sizes the next batch to the target batch time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from django.db import connections, transaction
from django.db.models import F, Q, Subquery
from django.utils import timezone

from headroom.backfill import control, throttle
from headroom.backfill.count import BackgroundCount
from headroom.backfill.database import limit_batch, timeout_kind
from headroom.backfill.keys import CsvPlanner, IntegerRangePlanner, Key, Planner, Range, planner_for
from headroom.backfill.models import BackfillFailure, BackfillRun, State
from headroom.backfill.options import RunOptions
from headroom.backfill.probe import LatencyPacer, LatencyProbe, default_probe
from headroom.backfill.settle import settle_batches, unsettled_runs
from headroom.backfill.sizing import BatchSizer
from headroom.backfill.tidy import BackgroundTidier
from headroom.backfill.wakeup import Listener

if TYPE_CHECKING:
    from headroom.backfill.base import Backfill


class LostRun(Exception):
    """Another runner took the run over; this one must stop writing."""


class Reporter(Protocol):
    def update(self, run: BackfillRun) -> None: ...

    def event(self, text: str) -> None: ...


class SilentReporter:
    def update(self, run: BackfillRun) -> None:
        pass

    def event(self, text: str) -> None:
        pass


#: Backfill classes whose ``process`` returned None (True) or a count (False), as seen.
_RETURNS_NONE: dict[type, bool] = {}


def execute_batch(backfill: Backfill, planner: Planner, r: Range) -> int:
    """Run ``process`` (or ``update``) over the range; return the rows it reports.

    Where ``process`` returns None and the range's rows are not known (integer key ranges),
    they are counted before it runs (after, a narrowing queryset would match none of them):
    for the first batch of a class, and for every batch of a class seen returning None.
    """
    if isinstance(planner, CsvPlanner):
        rows = planner.rows(r)
        changed = backfill.process(rows)  # type: ignore[arg-type]
        return len(rows) if changed is None else int(changed)
    cls = type(backfill)
    counted = None
    if r.rows is None and _RETURNS_NONE.get(cls, True):
        counted = planner.batch(r).count()
    changed = backfill.process(planner.batch(r))
    _RETURNS_NONE[cls] = changed is None
    if changed is None:
        return r.rows if r.rows is not None else (counted or 0)
    return int(changed)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]


def describe_range(r: Range) -> str:
    start = "start" if r.start is None else ", ".join(map(str, r.start))
    return f"({start} .. {', '.join(map(str, r.end))}]"


class Progress:
    """Rows per second and ETA from the recent batches (moving averages)."""

    def __init__(self, alpha: float = 0.3) -> None:
        self.alpha = alpha
        self.rows_per_second: float | None = None
        self.share_per_second: float | None = None

    def observe(self, rows: int, share: float, seconds: float) -> None:
        if seconds <= 0:
            return
        for name, value in (
            ("rows_per_second", rows / seconds),
            ("share_per_second", share / seconds),
        ):
            old = getattr(self, name)
            setattr(
                self, name, value if old is None else self.alpha * value + (1 - self.alpha) * old
            )

    def eta(self, progress: float) -> float | None:
        if progress >= 1.0:
            return 0.0
        if not self.share_per_second:
            return None
        return (1.0 - progress) / self.share_per_second


#: Pacing between batches longer than this is slept in steps of this length.
PACING_STEP_SECONDS = 1.0

#: While paused and listening on its run's channel, a runner looks at the run (and sends its
#: heartbeat, well within ``BACKFILL_LEASE_SECONDS``) this often; a notification from
#: ``resume`` or ``cancel`` ends the wait at once.
PAUSED_LOOK_SECONDS = 5.0


class InlineRunner:
    """Runs one backfill's batches in this process until done, cancelled or failed."""

    def __init__(
        self,
        backfill: Backfill,
        options: RunOptions,
        reporter: Reporter | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.backfill = backfill
        self.options = options
        self.reporter = reporter or SilentReporter()
        self.using = backfill.database_alias()
        self.vendor = connections[self.using].vendor
        self.sleep = sleep
        self.planner: Planner = planner_for(backfill, self.using)
        self.run: BackfillRun
        #: Take only this run (a detached coordinator's task); None: the backfill's own.
        self.run_id: int | None = None
        self.tidier: BackgroundTidier | None = None
        self.counter: BackgroundCount | None = None

    # --- state on the run row ------------------------------------------------------------

    def _runs(self) -> Any:
        return BackfillRun.objects.using(self.using).filter(
            pk=self.run.pk, generation=self.run.generation
        )

    def _save(self, **fields: Any) -> None:
        """Write runner-owned fields, conditional on still owning the run."""
        now = timezone.now()
        fields.setdefault("heartbeat_at", now)
        fields["updated_at"] = now
        if not self._runs().update(**fields):
            raise LostRun(f"run #{self.run.pk} was taken over by another runner")
        for key, value in fields.items():
            setattr(self.run, key, value)

    def _state(self) -> str:
        state: str = (
            BackfillRun.objects.using(self.using)
            .filter(pk=self.run.pk)
            .values_list("state", flat=True)
            .get()
        )
        self.run.state = state
        return state

    def _set_state(self, new: str, only_from: tuple[str, ...], **fields: Any) -> bool:
        changed = (
            self._runs()
            .filter(state__in=only_from)
            .update(state=new, heartbeat_at=timezone.now(), updated_at=timezone.now(), **fields)
        )
        if changed:
            self.run.state = new
            for key, value in fields.items():
                setattr(self.run, key, value)
        return bool(changed)

    # --- the loop ------------------------------------------------------------------------

    def start(self) -> control.Claim:
        claim = control.claim(
            self.backfill.name,
            self.backfill.param_values(),
            self.using,
            self.options.executor,
            take_over=self.options.take_over,
            run_id=self.run_id,
        )
        self.run = claim.run
        if claim.resumed and self.run.params != self.backfill.param_values():
            # Resumed without --param (claim refuses other values): the run goes on with the
            # parameters it was started with, not with the defaults.
            database = self.backfill.database
            self.backfill = type(self.backfill)(**self.run.params)
            self.backfill.database = database
            self.planner = planner_for(self.backfill, self.using)
        if self.run.stop_key is None and self.run.batches_done == 0 and self.run.cursor is None:
            try:
                self._plan_run()
            except LostRun:
                raise
            except Exception as exc:
                # Not left "running" for a process that is about to exit: paused and free,
                # for a later `run` to start again once the cause is fixed.
                message = (
                    f"could not start: {type(exc).__name__}: {_first_line(exc)}; once that "
                    "is fixed, go on with: "
                    + control.command("run", self.run.name, self.run.params)
                )
                self._runs().update(
                    state=State.PAUSED, owner="", message=message, updated_at=timezone.now()
                )
                raise control.RunError(f"run #{self.run.pk} of {self.run.name} {message}") from exc
        return claim

    def _plan_run(self) -> None:
        """A new run's first key, last key and row count."""
        planner = self.planner
        start = planner.first_key()
        if self.vendor == "postgresql" and isinstance(planner, IntegerRangePlanner):
            # Progress runs along the key: the first batch need not wait for the count
            # (headroom.backfill.count).
            total, exact = planner.estimated_rows()
            if exact:
                self.counter = BackgroundCount(planner.queryset, self.using, self.run.pk)
        else:
            total = planner.estimate_rows()
        self._save(
            stop_key=planner.stop_key(),
            start_key=start,
            cursor=start,
            rows_total=total,
            batch_size=self.options.batch_size,
        )
        if self.counter is not None:
            self.counter.start()

    def _already_done(self) -> BackfillRun | None:
        """The run that already did this backfill (same parameters), when no run is
        unfinished and no row matches its queryset now: another run would record nothing
        but hide that one's figures in ``status``."""
        if self.run_id is not None or control.active_run(self.backfill.name, self.using):
            return None
        done = (
            BackfillRun.objects.using(self.using)
            .filter(name=self.backfill.name, state=State.SUCCEEDED)
            .order_by("-id")
            .first()
        )
        if done is None or done.params != self.backfill.param_values():
            return None
        return done if self.planner.stop_key() is None else None

    def execute(self) -> BackfillRun:
        done = self._already_done()
        if done is not None:
            self.reporter.event(f"nothing to do: no row needs {done.name}; run #{done.pk} did it")
            self.reporter.update(done)
            return done
        claim = self.start()
        run = self.run
        with control.holding(run):  # another thread of this process cannot take it
            self.reporter.event(
                f"{'resumed' if claim.resumed else 'started'} run #{run.pk} of {run.name} "
                f"(generation {run.generation}, {self.planner.kind} batches over "
                f"{', '.join(self.planner.fields)})"
            )
            self._start_probe()
            try:
                return self._loop()
            except LostRun as exc:
                self.reporter.event(f"stopped: {exc}")
                run.refresh_from_db(using=self.using)
                return run
            finally:
                self._join_count()
                if self.probe is not None:
                    self.probe.stop()
                if self.tidier is not None:
                    self.tidier.close()

    # --- pacing on the latency probe -----------------------------------------------------

    def _start_probe(self) -> None:
        """Start the latency probe and measure its idle p95, when the options ask for it."""
        self.probe: LatencyProbe | None = None
        self.pacer: LatencyPacer | None = None
        ratio = self.options.latency_probe_ratio
        if not ratio:
            return
        sql, keyed = self.options.latency_probe_sql, False
        if not sql:
            model = getattr(getattr(self.planner, "queryset", None), "model", None)
            if model is None:
                self.reporter.event(
                    "no latency probe: this backfill has no table to read; set "
                    'HEADROOM["BACKFILL_LATENCY_PROBE_SQL"]'
                )
                return
            sql, keyed = default_probe(model, self.using)
        key_range = None
        if keyed:
            low, high = self.run.start_key, self.run.stop_key
            if not (low and high and isinstance(low[0], int) and isinstance(high[0], int)):
                return
            key_range = (int(low[0]) + 1, max(int(low[0]) + 1, int(high[0])))
        self.probe = LatencyProbe(self.using, sql, key_range)
        self.probe.start()
        self.pacer = LatencyPacer(ratio)
        self.pacer.set_idle(self.probe.collect(0.5))
        if self.probe.error or self.pacer.idle_p95 is None:
            self.reporter.event(f"no latency probe: {self.probe.error or 'no measurement'}")
            self.probe.stop()
            self.probe = self.pacer = None
            return
        self.reporter.event(
            f"latency probe: idle p95 {1000 * self.pacer.idle_p95:.2f} ms; keeping it under "
            f"{ratio:g}x by pausing between batches"
        )

    def _probe_pause_ratio(self) -> float:
        """After a batch: the pause ratio the probe's recent latencies call for."""
        if self.probe is None or self.pacer is None:
            return 0.0
        before = self.pacer.pause_ratio
        after = self.pacer.decide(self.probe.take())
        if (before == 0) != (after == 0):
            self.reporter.event(self.pacer.describe())
        return after

    def _sizer(self) -> BatchSizer:
        """The batch sizer, starting from the run's last size (or the first batch's).

        Under a rate cap no batch is larger than the cap allows in one target batch time:
        a larger one would write faster than the cap while it runs, then sleep it off.
        """
        options = self.options
        high = options.max_batch_size
        if options.max_rows_per_second:
            capped = int(options.max_rows_per_second * options.target_batch_seconds)
            high = max(options.min_batch_size, min(high, capped))
        return BatchSizer(
            target=options.target_batch_seconds,
            size=self.run.batch_size or options.batch_size,
            low=options.min_batch_size,
            high=high,
        )

    def _loop(self) -> BackfillRun:
        run, options = self.run, self.options
        # A Celery run taken over: the batches it sent and never saw done lie before its
        # cursor (where it had planned up to), so they are done first.
        settled = settle_batches(self.backfill, self.planner, run, options, self.reporter)
        if run.failures > options.error_budget:
            return self._finish(
                State.FAILED,
                f"error budget spent: {run.failures} key ranges failed; " + retry_hint(run),
            )
        if settled.batches:
            self.reporter.update(run)
        sizer = self._sizer()
        progress = Progress()
        cursor: Key | None = run.cursor
        rows_done, batches_done, busy = run.rows_done, run.batches_done, run.seconds_busy
        longest, failures = run.longest_batch_seconds, run.failures
        attempts, failed_size = 0, 0
        next_health = 0.0
        batches_this_process = 0
        tidier = self.tidier = None
        if options.tidy:
            tidier = self.tidier = BackgroundTidier(
                self.planner, self.using, options.statement_timeout
            )
        state = self._state()
        while True:
            if state in (State.PAUSED, State.CANCELLING, State.CANCELLED):
                state = self._wait_while_paused()
                if state != State.RUNNING:
                    return self._finish(State.CANCELLED, "cancelled on request")
            if (
                options.max_batches is not None
                and batches_this_process >= options.max_batches
                # Keys left: else the batches asked for did it all, and the run succeeds.
                and self.planner.next_range(cursor, 1, run.stop_key) is not None
            ):
                return self._stop_early(batches_this_process)
            if time.monotonic() >= next_health:
                state = self._wait_while_unhealthy()
                next_health = time.monotonic() + options.throttle_check_seconds
                if state != State.RUNNING:
                    continue
            size = failed_size or sizer.size
            r = self.planner.next_range(cursor, size, run.stop_key)
            if r is None:
                if failures:
                    return self._finish(
                        State.FAILED,
                        f"finished with {failures} key range(s) in the failure ledger; "
                        + retry_hint(run),
                    )
                return self._finish(State.SUCCEEDED, "")
            # Where the batch's rows lie, read before it changes them (tidy.Tidier.locate).
            blocks = tidier.locate(r) if tidier is not None else None
            began = time.monotonic()
            try:
                with transaction.atomic(using=self.using):
                    limit_batch(self.using, options)
                    rows = execute_batch(self.backfill, self.planner, r)
                    seconds = time.monotonic() - began
                    self._take_count()
                    share = (
                        self.planner.progress(
                            r.end, run.start_key, run.stop_key, rows_done + rows, run.rows_total
                        )
                        - run.progress
                    )
                    # Rows/s and ETA at the run's pace: the batch and the pause after it.
                    pause = self._pause(rows, seconds)
                    progress.observe(rows, max(0.0, share), seconds + pause)
                    done = self.planner.progress(
                        r.end, run.start_key, run.stop_key, rows_done + rows, run.rows_total
                    )
                    self._save(
                        cursor=r.end,
                        rows_done=rows_done + rows,
                        batches_done=batches_done + 1,
                        batch_size=sizer.size,
                        seconds_busy=busy + seconds,
                        rows_per_second=progress.rows_per_second or 0.0,
                        longest_batch_seconds=max(longest, seconds),
                        progress=done,
                        eta_seconds=progress.eta(done),
                    )
                    state = self._state()
                held = time.monotonic() - began
            except LostRun:
                raise
            except Exception as exc:
                if isinstance(self.planner, CsvPlanner):
                    self.planner.rewind()
                attempts += 1
                kind = timeout_kind(exc) or type(exc).__name__
                if attempts > options.batch_retries:
                    failures += 1
                    cursor = self._record_failure(r, attempts, exc, failures)
                    self.reporter.event(
                        f"keys {describe_range(r)} failed {attempts} times ({kind}); put in the "
                        f"failure ledger ({failures} of {options.error_budget} allowed)"
                        + timeout_hint(kind, r, options)
                    )
                    attempts, failed_size = 0, 0
                    if failures > options.error_budget:
                        return self._finish(
                            State.FAILED,
                            f"error budget spent: {failures} key ranges failed (last: {kind}: "
                            f"{_first_line(exc)}); " + retry_hint(run),
                        )
                    continue
                failed_size = sizer.shrink(r.size)
                again = (
                    f"retrying with {keys(failed_size)}"
                    if failed_size < r.size
                    else "retrying the same keys"
                )
                self.reporter.event(
                    f"batch {describe_range(r)} failed ({kind}: {_first_line(exc)}); {again} "
                    f"(attempt {attempts + 1} of {options.batch_retries + 1})"
                )
                continue
            attempts, failed_size = 0, 0
            batches_this_process += 1
            if tidier is not None:
                # After the commit: the batch's old row versions are prunable only now.
                problem = tidier.after_batch(r, blocks)
                if problem:
                    self.reporter.event(problem)
            sizer.observe(r.size, held)
            cursor = r.end
            rows_done += rows
            batches_done += 1
            busy += held
            longest = max(longest, held)
            self.run.longest_batch_seconds = longest
            if rows == 0 and isinstance(self.planner, IntegerRangePlanner):
                cursor = self.planner.seek(r.end, run.stop_key) or run.stop_key
            self.reporter.update(run)
            state = self._pace(pause) or state

    def _pause(self, rows: int, seconds: float) -> float:
        """How long to wait after a batch of ``rows`` that took ``seconds``."""
        pause = max(self.options.sleep_ratio, self._probe_pause_ratio()) * seconds
        if self.vendor == "sqlite":
            # One writer at a time: leave the lock free for a moment, or a pause request (or
            # the site itself) could wait on it for the whole run.
            pause = max(pause, 0.01)
        if self.options.max_rows_per_second:
            pause = max(pause, rows / self.options.max_rows_per_second - seconds)
        return pause

    def _pace(self, pause: float) -> str | None:
        """Sleep ``pause`` seconds; the run's state if a request (pause, cancel) cut the
        sleep short.

        A long pause is slept a second at a time: the heartbeat and the progress line go on,
        and a pause or cancel request is seen within the second.
        """
        while pause > 0:
            step = min(pause, PACING_STEP_SECONDS)
            self.sleep(step)
            pause -= step
            if pause > 0:
                self._save()
                self.reporter.update(self.run)
                state = self._state()
                if state != State.RUNNING:
                    return state
        return None

    def _record_failure(self, r: Range, attempts: int, exc: BaseException, failures: int) -> Key:
        with transaction.atomic(using=self.using):
            BackfillFailure.objects.using(self.using).create(
                run=self.run,
                start_key=r.start,
                end_key=r.end,
                attempts=attempts,
                error=f"{type(exc).__name__}: {exc}".strip()[:2000],
            )
            self._save(cursor=r.end, failures=failures)
        return r.end

    def _pause_listener(self) -> tuple[Listener | None, bool]:
        """A listener on the run's channel for the pause, and whether it is the pause's own
        (to close after it): a new one (None where listening is not possible, and the pause
        polls)."""
        return Listener.open(self.using, self.run.pk), True

    def _wait_while_paused(self) -> str:
        """Wait while the run is paused. On PostgreSQL ``resume`` and ``cancel`` notify the
        run's channel and the wait ends at once; the runner still looks every
        :data:`PAUSED_LOOK_SECONDS` (its heartbeat). Elsewhere it looks every 0.5 s."""
        state = self.run.state
        announced = False
        listener: Listener | None = None
        own = False
        try:
            while state == State.PAUSED:
                if not announced:
                    self.reporter.event(
                        f"paused; resume with: headroom backfill resume {self.run.name}"
                    )
                    self.reporter.update(self.run)
                    announced = True
                    listener, own = self._pause_listener()
                    if listener is not None:
                        # A resume sent before LISTEN took effect was not heard.
                        state = self._state()
                        continue
                if listener is not None and not listener.broken:
                    listener.wait(PAUSED_LOOK_SECONDS)
                else:
                    self.sleep(0.5)
                self._save()  # heartbeat: the run is still ours
                state = self._state()
        finally:
            if own and listener is not None:
                listener.close()
        if state == State.ENQUEUED:  # resumed while we held it
            self._set_state(State.RUNNING, (State.ENQUEUED,))
            state = State.RUNNING
        if announced and state == State.RUNNING:
            self.reporter.event("resumed")
        return state

    def _wait_while_unhealthy(self) -> str:
        reason = throttle.why_wait(self.using, self.backfill)
        if reason is None:
            return self._state()
        self._set_state(State.THROTTLED, (State.RUNNING,), throttle_reason=reason)
        self.reporter.event(f"throttled: {reason}")
        self.reporter.update(self.run)
        while reason is not None:
            self.sleep(self.options.throttle_check_seconds)
            state = self._state()
            if state not in (State.THROTTLED, State.RUNNING):
                return state
            previous, reason = reason, throttle.why_wait(self.using, self.backfill)
            if reason is not None:
                fields = {"throttle_reason": reason} if reason != previous else {}
                self._save(**fields)
                self.reporter.update(self.run)
        self._set_state(State.RUNNING, (State.THROTTLED,), throttle_reason="")
        self.reporter.event("healthy again; going on")
        return self._state()

    def _take_count(self) -> None:
        """The count's total once it is there (not waiting for it): the progress shown from
        then on is out of the exact number, not the planner's estimate."""
        if self.counter is not None and self.counter.finished():
            self._join_count()

    def _stop_early(self, batches: int) -> BackfillRun:
        """``--batches N`` done: leave the run paused and nobody's, to go on with later."""
        hint = control.command("run", self.run.name, self.run.params)
        message = f"stopped after {batches} batch(es) as asked; go on with: {hint}"
        self._join_count()
        self._set_state(State.PAUSED, (State.RUNNING, State.THROTTLED), owner="", message=message)
        self.reporter.event(message)
        self.run.refresh_from_db(using=self.using)
        self.reporter.update(self.run)
        return self.run

    def _join_count(self) -> None:
        """Wait for the count of the run's rows, if one runs aside, and keep its total."""
        if self.counter is not None:
            total = self.counter.join()
            if total is not None:
                self.run.rows_total = total
            self.counter = None

    def _finish(self, state: str, message: str) -> BackfillRun:
        self._join_count()
        fields: dict[str, Any] = {
            "finished_at": timezone.now(),
            "message": message,
            "owner": "",
            "throttle_reason": "",
        }
        if state == State.SUCCEEDED:
            fields.update(progress=1.0, eta_seconds=0.0)
        self._runs().update(state=state, updated_at=timezone.now(), **fields)
        self.run.refresh_from_db(using=self.using)
        self.reporter.update(self.run)  # the bar's last frame shows how the run ended
        return self.run


def run_backfill(
    backfill: Backfill | str,
    *,
    params: dict[str, Any] | None = None,
    database: str | None = None,
    reporter: Reporter | None = None,
    **options: Any,
) -> BackfillRun:
    """Run (or resume) a backfill to the end in this process and return its run.

    ``backfill`` is an instance or a registered name; ``options`` override
    :class:`~headroom.backfill.options.RunOptions` fields (``target_batch_seconds=1.0``).
    """
    from headroom.backfill.registry import get_backfill

    if isinstance(backfill, str):
        backfill = get_backfill(backfill)(**(params or {}))
    if database:
        backfill.database = database
    run_options = RunOptions.build(backfill, **options)
    if run_options.executor == "celery":
        from headroom.backfill.coordinator import CeleryCoordinator

        coordinator = CeleryCoordinator(backfill, run_options, reporter)
        coordinator.given = options
        return coordinator.execute()
    return InlineRunner(backfill, run_options, reporter).execute()


def retry_hint(run: BackfillRun) -> str:
    """What to do with a run that ended with key ranges in its failure ledger."""
    return "after fixing the cause, retry them: " + control.command(
        "run", run.name, run.params, "--retry-failed"
    )


def keys(n: int) -> str:
    return f"{n:,} key" if n == 1 else f"{n:,} keys"


def timeout_hint(kind: str, r: Range, options: RunOptions) -> str:
    """For a range put in the failure ledger because its batches ran out of statement time
    (``kind``), however small they were retried: what to do about it."""
    if kind != "statement_timeout" or not options.statement_timeout:
        return ""
    more = "--statement-timeout SECONDS"
    if options.statement_timeout_auto:
        more += ", or a longer --target-seconds (the time-out is twice the target)"
    return (
        f". {keys(r.size)} took longer than the statement time-out, "
        f"{options.statement_timeout:g} s; if this work cannot be done faster, give it "
        f"more time: {more}"
    )


def retry_failed(
    backfill: Backfill, options: RunOptions, reporter: Reporter | None = None
) -> BackfillRun:
    """Run the key ranges in the failure ledger of the backfill's last failed run again.

    Each range is one batch (with the usual time limits) committed together with marking its
    ledger entry resolved. When none is left the run becomes ``succeeded``, or ``paused``
    (and free) when it had stopped before walking all its keys (its error budget spent):
    :func:`run_backfill` then goes on from its cursor.
    """
    reporter = reporter or SilentReporter()
    using = backfill.database_alias()
    failed = list(
        BackfillRun.objects.using(using)
        .filter(name=backfill.name, state=State.FAILED)
        # Ranges in its ledger, or (Celery) batches it stopped before they were done.
        .filter(Q(failed_ranges__resolved=False) | Q(pk__in=Subquery(unsettled_runs(using))))
        .distinct()
        .order_by("-id")
    )
    if not failed:
        raise control.NothingToRetry(f"{backfill.name} has no failed run with key ranges to retry.")
    params = backfill.param_values()
    run = next((r for r in failed if r.params == params), None)
    if run is None:
        other = failed[0]
        raise control.OtherParams(
            f"the failed run #{other.pk} of {backfill.name} ran with other parameters "
            f"({other.params}); retry it with them: "
            + control.command("run", backfill.name, other.params, "--retry-failed")
        )
    generation = run.generation + 1
    taken = (
        BackfillRun.objects.using(using)
        .filter(pk=run.pk, state=State.FAILED)
        .update(
            state=State.RUNNING,
            generation=generation,
            owner=control.owner_id(),
            heartbeat_at=timezone.now(),
            finished_at=None,
            message="",
        )
    )
    if not taken:
        raise control.RunError(f"run #{run.pk} of {backfill.name} changed under us; try again.")
    run.generation = generation
    planner = planner_for(backfill, using)
    mine = BackfillRun.objects.using(using).filter(pk=run.pk, generation=generation)
    left = 0
    for failure in run.failed_ranges.using(using).filter(resolved=False).order_by("id"):
        r = Range(failure.start_key, failure.end_key, 0)
        try:
            with transaction.atomic(using=using):
                limit_batch(using, options)
                rows = execute_batch(backfill, planner, r)
                failure.resolved = True
                failure.save(using=using, update_fields=["resolved"])
                if not mine.update(rows_done=F("rows_done") + rows, heartbeat_at=timezone.now()):
                    raise LostRun(f"run #{run.pk} was taken over by another runner")
            reporter.event(f"keys {describe_range(r)}: done ({rows} rows)")
        except LostRun:
            raise
        except Exception as exc:
            left += 1
            reporter.event(f"keys {describe_range(r)} failed again: {type(exc).__name__}: {exc}")
    # Batches a Celery run sent and stopped before they were done: before its cursor (where
    # it had planned up to) but in no ledger.
    left += settle_batches(backfill, planner, run, options, reporter).failed
    final = State.SUCCEEDED if left == 0 else State.FAILED
    message = "" if left == 0 else f"{left} key range(s) still fail; see the failure ledger"
    fields: dict[str, Any] = {"failures": left, "message": message, "owner": ""}
    if left == 0 and run.stop_key is not None and run.cursor != run.stop_key:
        # The run stopped when its error budget was spent: the keys after its cursor were
        # never walked. Paused and free, it goes on from there with the next `run`.
        final = State.PAUSED
        fields["message"] = (
            "its failed key ranges are done; the keys after its cursor were never walked. "
            "Go on with: " + control.command("run", backfill.name, run.params)
        )
        mine.update(state=final, updated_at=timezone.now(), **fields)
    else:
        if left == 0:
            fields.update(progress=1.0, eta_seconds=0.0)
        mine.update(state=final, finished_at=timezone.now(), updated_at=timezone.now(), **fields)
    run.refresh_from_db(using=using)
    reporter.update(run)
    return run
