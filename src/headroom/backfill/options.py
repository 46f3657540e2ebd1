"""The knobs of one run: settings, overridden by the backfill class, overridden by the CLI."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headroom.conf import conf

if TYPE_CHECKING:
    from headroom.backfill.base import Backfill


#: ``BACKFILL_STATEMENT_TIMEOUT = "auto"``: this many times the target batch time. The sizer
#: aims each batch at the target, so a batch only runs past this when the database slows
#: down under it; cancelled, it is retried at half the size.
AUTO_TIMEOUT_TARGETS = 2


@dataclass
class RunOptions:
    """Every field but the last three is ``HEADROOM["BACKFILL_<FIELD>"]`` (defaults and
    meanings in :mod:`headroom.conf`), overridden by the class, then by the command line."""

    executor: str
    target_batch_seconds: float
    batch_size: int
    min_batch_size: int
    max_batch_size: int
    lock_timeout: float | None
    statement_timeout: float | None
    batch_retries: int
    error_budget: int
    throttle_check_seconds: float
    max_rows_per_second: float | None
    sleep_ratio: float
    latency_probe_ratio: float | None
    latency_probe_sql: str | None
    synchronous_commit: str | None
    tidy: bool
    max_in_flight: int
    concurrent_batches: int
    lease_seconds: float
    dry_run_batches: int
    take_over: bool = False
    #: Stop after this many batches (tests, and ``--batches``); None: until done.
    max_batches: int | None = None
    #: Whether ``statement_timeout`` is "auto" (twice the target), resolved by :meth:`build`.
    statement_timeout_auto: bool = False

    @classmethod
    def build(cls, backfill: Backfill | None = None, **overrides: Any) -> RunOptions:
        values: dict[str, Any] = {
            f.name: getattr(conf, f"BACKFILL_{f.name.upper()}")
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING
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
        if values["statement_timeout"] == "auto":
            values["statement_timeout"] = AUTO_TIMEOUT_TARGETS * values["target_batch_seconds"]
            values["statement_timeout_auto"] = True
        return cls(**values)
