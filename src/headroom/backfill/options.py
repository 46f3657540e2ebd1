"""The knobs of one run: settings, overridden by the backfill class, overridden by the CLI."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headroom.conf import conf

if TYPE_CHECKING:
    from headroom.backfill.base import Backfill


@dataclass
class RunOptions:
    executor: str = "inline"
    target_batch_seconds: float = 0.5
    batch_size: int = 1000
    min_batch_size: int = 1
    max_batch_size: int = 100_000
    lock_timeout: float | None = 0.5
    statement_timeout: float | None = 5.0
    batch_retries: int = 3
    error_budget: int = 10
    throttle_check_seconds: float = 1.0
    max_rows_per_second: float | None = None
    sleep_ratio: float = 0.0
    #: Keep a latency probe's p95 within this many times its idle p95 (None: no probe).
    latency_probe_ratio: float | None = None
    latency_probe_sql: str | None = None
    #: PostgreSQL ``synchronous_commit`` for each batch's transaction (None: the server's).
    synchronous_commit: str | None = None
    max_in_flight: int = 4
    lease_seconds: float = 60.0
    dry_run_batches: int = 3
    take_over: bool = False
    #: Stop after this many batches (tests, and ``--batches``); None: until done.
    max_batches: int | None = None

    @classmethod
    def build(cls, backfill: Backfill | None = None, **overrides: Any) -> RunOptions:
        values: dict[str, Any] = {
            "executor": conf.BACKFILL_EXECUTOR,
            "target_batch_seconds": conf.BACKFILL_TARGET_BATCH_SECONDS,
            "batch_size": conf.BACKFILL_BATCH_SIZE,
            "min_batch_size": conf.BACKFILL_MIN_BATCH_SIZE,
            "max_batch_size": conf.BACKFILL_MAX_BATCH_SIZE,
            "lock_timeout": conf.BACKFILL_LOCK_TIMEOUT,
            "statement_timeout": conf.BACKFILL_STATEMENT_TIMEOUT,
            "batch_retries": conf.BACKFILL_BATCH_RETRIES,
            "error_budget": conf.BACKFILL_ERROR_BUDGET,
            "throttle_check_seconds": conf.BACKFILL_THROTTLE_CHECK_SECONDS,
            "max_rows_per_second": conf.BACKFILL_MAX_ROWS_PER_SECOND,
            "sleep_ratio": conf.BACKFILL_SLEEP_RATIO,
            "latency_probe_ratio": conf.BACKFILL_LATENCY_PROBE_RATIO,
            "latency_probe_sql": conf.BACKFILL_LATENCY_PROBE_SQL,
            "synchronous_commit": conf.BACKFILL_SYNCHRONOUS_COMMIT,
            "max_in_flight": conf.BACKFILL_MAX_IN_FLIGHT,
            "lease_seconds": conf.BACKFILL_LEASE_SECONDS,
            "dry_run_batches": conf.BACKFILL_DRY_RUN_BATCHES,
        }
        if backfill is not None:
            for name in ("target_batch_seconds", "batch_size", "min_batch_size", "max_batch_size"):
                value = getattr(backfill, name, None)
                if value is not None:
                    values[name] = value
        names = {f.name for f in dataclasses.fields(cls)}
        for key, value in overrides.items():
            if key not in names:
                raise TypeError(f"unknown run option {key!r}")
            if value is not None:
                values[key] = value
        return cls(**values)
