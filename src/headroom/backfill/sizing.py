"""Adaptive batch size: aim each batch at a target duration, like pt-online-schema-change's
``--chunk-time``.

The sizer keeps an exponential moving average of keys per second over recent batches and
sizes the next batch to take ``target`` seconds at that rate, within ``[low, high]``. It grows
at most twofold per batch (one fast batch on a cold table is not a trend) and shrinks at once
(a slow batch holds its locks too long already). After a failure it halves.

On PostgreSQL it also keeps each batch's WAL under a cap (``wal_cap``, bytes: a share of the
server's ``wal_buffers``), from a moving average of the WAL written per key. A batch whose
WAL outgrows the WAL buffers before its commit flushes them makes every other session that
writes WAL meanwhile (the site's own updates, and even its reads, which prune pages) wait for
buffer space behind a WAL write; measured in docs/backfill.md, "Batches and the WAL buffers".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BatchSizer:
    target: float
    size: int
    low: int
    high: int
    #: Weight of the newest batch in the moving average.
    alpha: float = 0.3
    rate: float | None = None
    #: Largest WAL of one batch, in bytes (None: no cap).
    wal_cap: int | None = None
    #: Moving average of WAL bytes written per key.
    wal_per_key: float | None = None

    def __post_init__(self) -> None:
        self.size = self._clamp(self.size)

    def _clamp(self, value: float) -> int:
        return max(self.low, min(self.high, int(value)))

    def _average(self, old: float | None, new: float) -> float:
        return new if old is None else self.alpha * new + (1 - self.alpha) * old

    def observe(self, keys: int, seconds: float, wal_bytes: int | None = None) -> None:
        """Record a batch of ``keys`` keys that took ``seconds`` (and wrote ``wal_bytes`` of
        WAL, when known), and size the next one."""
        if keys <= 0 or seconds <= 0:
            return
        self.rate = self._average(self.rate, keys / seconds)
        ideal = min(self.rate * self.target, self.size * 2)
        if wal_bytes is not None and wal_bytes >= 0:
            self.wal_per_key = self._average(self.wal_per_key, wal_bytes / keys)
        if self.wal_cap and self.wal_per_key:
            ideal = min(ideal, self.wal_cap / self.wal_per_key)
        self.size = self._clamp(ideal)

    def shrink(self, keys: int | None = None) -> int:
        """Halve the size (of ``keys``, the failed batch, when given) after a failure."""
        base = keys if keys is not None else self.size
        self.size = self._clamp(max(1, base // 2))
        return self.size
