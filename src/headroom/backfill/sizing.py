"""Adaptive batch size: aim each batch at a target duration, like pt-online-schema-change's
``--chunk-time``.

The sizer keeps an exponential moving average of keys per second over recent batches and
sizes the next batch to take ``target`` seconds at that rate, within ``[low, high]``. It
shrinks at once (a slow batch holds its locks too long already) and halves after a failure.

It grows to at most :data:`GROWTH` times the largest batch measured so far (one fast batch on
a cold table is not a trend; and with Celery, batches sized before the ones ahead of them
reported do not count), except while batches are far below the target, as the first ones
are when the run starts from a small size: then the next may grow to what would take half
the target at the last batch's own rate, up to :data:`FAST_GROWTH` times. Half, so that even
a batch twice as slow per key as the one it was sized on stays within the target, and one
four times as slow within twice the target (a lock held no longer than 2x the target).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Growth per batch, at most...
GROWTH = 2.0
#: ...or up to this much while a batch of the new size would take at most half the target.
FAST_GROWTH = 8.0


@dataclass
class BatchSizer:
    target: float
    size: int
    low: int
    high: int
    #: Weight of the newest batch in the moving average.
    alpha: float = 0.3
    rate: float | None = None
    #: The largest batch measured since the start or the last failure.
    measured: int = 0

    def __post_init__(self) -> None:
        self.size = self._clamp(self.size)

    def _clamp(self, value: float) -> int:
        return max(self.low, min(self.high, int(value)))

    def observe(self, keys: int, seconds: float) -> None:
        """Record a batch of ``keys`` keys that took ``seconds``, and size the next one."""
        if keys <= 0 or seconds <= 0:
            return
        rate = keys / seconds
        self.rate = rate if self.rate is None else self.alpha * rate + (1 - self.alpha) * self.rate
        ideal = self.rate * self.target
        self.measured = max(self.measured, keys)
        half_target = rate * self.target / 2
        grown = max(GROWTH * self.measured, min(FAST_GROWTH * self.measured, half_target))
        self.size = self._clamp(min(ideal, grown))

    def shrink(self, keys: int | None = None) -> int:
        """Halve the size (of ``keys``, the failed batch, when given) after a failure."""
        base = keys if keys is not None else self.size
        self.size = self._clamp(max(1, base // 2))
        self.measured = min(self.measured, self.size)
        return self.size
