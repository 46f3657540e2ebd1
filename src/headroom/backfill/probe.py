"""Pacing on a latency probe: keep what a reader of the table sees near its idle latency.

gh-ost and pt-online-schema-change throttle on replication lag and server load; those say
nothing about a reader's latency on a small machine, where the batches take CPU and I/O
from the site's own queries. With ``BACKFILL_LATENCY_PROBE_RATIO`` set, a thread of the
runner reads one row of the backfill's table by primary key (or runs
``BACKFILL_LATENCY_PROBE_SQL``) every ``interval`` seconds on its own connection. Before the
first batch it measures the probe's idle p95; after each batch it takes the p95 of the
probes since the previous decision (during the batch and the pause after it, as a reader
would meet them) and adjusts the pause after each batch, as a share of the batch's time:
up by half plus a quarter while that p95 is over ``ratio`` times idle, down by a third once
it is back under 0.8 of that ceiling. The probe costs one indexed read every 10 ms.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from dataclasses import dataclass, field

from django.db import connections

#: The pause after a batch never exceeds this many times the batch's own time.
MAX_PAUSE_RATIO = 8.0


def p95(values: list[float]) -> float | None:
    """The 95th percentile (statistics.quantiles, inclusive of the ends), None under 5 values."""
    if len(values) < 5:
        return None
    return statistics.quantiles(values, n=20, method="inclusive")[18]


@dataclass
class LatencyPacer:
    """The pause ratio from the probe's p95 (pure: fed samples, no clock, no database)."""

    ratio: float
    idle_p95: float | None = None
    pause_ratio: float = 0.0
    last_p95: float | None = None
    history: list[float] = field(default_factory=list)
    pending: list[float] = field(default_factory=list)

    @property
    def ceiling(self) -> float | None:
        return None if self.idle_p95 is None else self.ratio * self.idle_p95

    def set_idle(self, samples: list[float]) -> None:
        self.idle_p95 = p95(samples)

    def decide(self, samples: list[float]) -> float:
        """The pause ratio after a batch, given the probe latencies since the last decision
        (kept for the next one while there are too few for a p95)."""
        self.pending += samples
        recent = p95(self.pending)
        ceiling = self.ceiling
        if recent is None or ceiling is None:
            return self.pause_ratio
        self.pending = []
        self.last_p95 = recent
        if recent > ceiling:
            self.pause_ratio = min(MAX_PAUSE_RATIO, self.pause_ratio * 1.5 + 0.25)
        elif recent < 0.8 * ceiling:
            self.pause_ratio *= 2 / 3
            if self.pause_ratio < 0.05:
                self.pause_ratio = 0.0
        self.history.append(self.pause_ratio)
        return self.pause_ratio

    def describe(self) -> str:
        idle = "?" if self.idle_p95 is None else f"{1000 * self.idle_p95:.2f}"
        last = "?" if self.last_p95 is None else f"{1000 * self.last_p95:.2f}"
        return (
            f"latency probe p95 {last} ms (idle {idle} ms, ceiling {self.ratio:g}x); pausing "
            f"{self.pause_ratio:.2f}x each batch's time"
        )


class LatencyProbe:
    """A thread timing one small query every ``interval`` seconds on its own connection."""

    def __init__(
        self,
        using: str,
        sql: str,
        params: tuple[int, int] | None = None,
        interval: float = 0.01,
    ) -> None:
        self.using = using
        self.sql = sql
        self.key_range = params
        self.interval = interval
        self._samples: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="headroom-latency-probe")
        self.error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        chance = random.Random()
        connection = connections[self.using]  # this thread's own connection
        try:
            with connection.cursor() as cursor:
                while not self._stop.is_set():
                    params = [] if self.key_range is None else [chance.randint(*self.key_range)]
                    began = time.perf_counter()
                    cursor.execute(self.sql, params)
                    cursor.fetchall()
                    seconds = time.perf_counter() - began
                    with self._lock:
                        self._samples.append(seconds)
                    self._stop.wait(self.interval)
        except Exception as exc:  # a probe that fails must not stop the run
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    def take(self) -> list[float]:
        """The latencies measured since the last call."""
        with self._lock:
            samples, self._samples = self._samples, []
        return samples

    def collect(self, seconds: float, at_least: int = 20) -> list[float]:
        """Wait about ``seconds`` (longer until ``at_least`` samples) and return them."""
        self.take()
        deadline = time.monotonic() + max(seconds, 10 * seconds)
        time.sleep(seconds)
        samples = self.take()
        while len(samples) < at_least and time.monotonic() < deadline and self.error is None:
            time.sleep(self.interval)
            samples += self.take()
        return samples

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def default_probe(backfill_model: type, using: str) -> tuple[str, bool]:
    """SQL reading one row of the model's table by primary key; whether it takes a key."""
    meta = backfill_model._meta  # type: ignore[attr-defined]
    quote = connections[using].ops.quote_name
    pk = meta.pk
    if pk is not None and pk.get_internal_type() in (
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
    ):
        sql = f"SELECT * FROM {quote(meta.db_table)} WHERE {quote(pk.column)} = %s"
        return sql, True
    return f"SELECT * FROM {quote(meta.db_table)} LIMIT 1", False
