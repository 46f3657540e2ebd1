"""The tables behind backfills: one row per run, its batches (Celery) and its failure ledger.

They live in the same database as the rows a backfill changes, so that a batch's work and
the run's checkpoint commit in one transaction: a crash loses both or neither.
"""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class State(models.TextChoices):
    ENQUEUED = "enqueued", "enqueued"
    RUNNING = "running", "running"
    PAUSED = "paused", "paused"
    THROTTLED = "throttled", "throttled"
    CANCELLING = "cancelling", "cancelling"
    CANCELLED = "cancelled", "cancelled"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"


#: States of a run that is not over: a runner works on it, or may pick it up.
ACTIVE_STATES = (
    State.ENQUEUED,
    State.RUNNING,
    State.PAUSED,
    State.THROTTLED,
    State.CANCELLING,
)
FINISHED_STATES = (State.CANCELLED, State.SUCCEEDED, State.FAILED)


class BackfillRun(models.Model):
    """One run of one backfill: where it is, how fast it goes, and who runs it."""

    name = models.CharField(max_length=200, db_index=True, help_text="app_label.ClassName")
    params = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    #: Run options given to a detached run's coordinator (``--lock-timeout``, ...): a new
    #: coordinator, sent when the first is lost, goes on with them.
    options = models.JSONField(default=dict, blank=True, null=True, encoder=DjangoJSONEncoder)
    state = models.CharField(max_length=12, choices=State.choices, default=State.ENQUEUED)
    executor = models.CharField(max_length=10, default="inline")
    #: Bumped each time a runner takes the run over; writes carrying an older number fail.
    generation = models.PositiveIntegerField(default=0)
    owner = models.CharField(max_length=255, blank=True, help_text="host:pid of the runner")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    #: The last key done (inline) or planned (Celery): batches go on after it.
    cursor = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    #: Where the run began (the key before the first row that needed it) ...
    start_key = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    #: ... and the last key that needed the backfill, read when the run started.
    stop_key = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    rows_total = models.BigIntegerField(null=True, blank=True, help_text="estimated at start")
    rows_done = models.BigIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    batch_size = models.PositiveIntegerField(default=0)
    seconds_busy = models.FloatField(default=0.0, help_text="time spent inside batches")
    rows_per_second = models.FloatField(default=0.0, help_text="moving average")
    #: Share of the key space (or of the estimated rows) done, 0..1.
    progress = models.FloatField(default=0.0)
    eta_seconds = models.FloatField(null=True, blank=True, help_text="at the current rate")
    longest_batch_seconds = models.FloatField(default=0.0)
    failures = models.PositiveIntegerField(default=0, help_text="key ranges in the ledger")
    throttle_reason = models.TextField(blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "headroom"
        ordering = ["-id"]
        indexes = [models.Index(fields=["name", "state"], name="headroom_bf_name_state")]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def percent(self) -> float:
        return 100.0 if self.state == State.SUCCEEDED else round(100.0 * self.progress, 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "name": self.name,
            "state": self.state,
            "executor": self.executor,
            "params": self.params,
            "rows_done": self.rows_done,
            "rows_total": self.rows_total,
            "percent": self.percent,
            "rows_per_second": round(self.rows_per_second, 1),
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
            "seconds_busy": round(self.seconds_busy, 3),
            "batches_done": self.batches_done,
            "batch_size": self.batch_size,
            "longest_batch_seconds": round(self.longest_batch_seconds, 3),
            "failures": self.failures,
            "throttle_reason": self.throttle_reason,
            "message": self.message,
            "cursor": self.cursor,
            "owner": self.owner,
            "generation": self.generation,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


class BatchState(models.TextChoices):
    PENDING = "pending", "pending"
    DONE = "done", "done"
    FAILED = "failed", "failed"
    SPLIT = "split", "split"
    PARKED = "parked", "parked"


class BackfillBatch(models.Model):
    """One key range handed to a Celery task (the inline executor needs no batch rows)."""

    run = models.ForeignKey(BackfillRun, on_delete=models.CASCADE, related_name="batches")
    seq = models.PositiveIntegerField()
    #: Exclusive lower bound (None: from the start) and inclusive upper bound.
    start_key = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    end_key = models.JSONField(encoder=DjangoJSONEncoder)
    size = models.PositiveIntegerField(default=0, help_text="keys planned")
    attempt = models.PositiveIntegerField(default=0, help_text="retries of this range")
    #: A task carries the token it was sent with; re-sending bumps it, so an older copy of
    #: the message (redelivered by the broker) does nothing.
    token = models.PositiveIntegerField(default=1)
    #: Tasks that started this batch: one that finds an earlier start that never finished
    #: (its worker died in it) fails the batch instead of running it again.
    #: (A database default too: code of the release before, still running while this one
    #: migrates, inserts batches without the column.)
    deliveries = models.PositiveIntegerField(default=0, db_default=0)
    state = models.CharField(max_length=8, choices=BatchState.choices, default=BatchState.PENDING)
    collected = models.BooleanField(default=False)
    rows = models.BigIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "headroom"
        ordering = ["run", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="headroom_bf_batch_seq"),
        ]
        indexes = [models.Index(fields=["run", "state"], name="headroom_bf_batch_state")]

    def __str__(self) -> str:
        return f"batch {self.seq} of run {self.run_id} ({self.state})"


class BackfillFailure(models.Model):
    """The failure ledger: a key range that kept failing, skipped so the run could go on."""

    run = models.ForeignKey(BackfillRun, on_delete=models.CASCADE, related_name="failed_ranges")
    start_key = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    end_key = models.JSONField(encoder=DjangoJSONEncoder)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField()
    resolved = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "headroom"
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"keys ({self.start_key}, {self.end_key}] of run {self.run_id}"
