"""Adaptive batch size: aim each batch at a target duration, like pt-online-schema-change's
``--chunk-time``.

The sizer keeps an exponential moving average of keys per second over recent batches and
sizes the next batch to take ``target`` seconds at that rate, within ``[low, high]``. It grows
at most twofold per batch (one fast batch on a cold table is not a trend) and shrinks at once
(a slow batch holds its locks too long already). After a failure it halves.
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
        self.size = self._clamp(min(ideal, self.size * 2))

    def shrink(self, keys: int | None = None) -> int:
        """Halve the size (of ``keys``, the failed batch, when given) after a failure."""
        base = keys if keys is not None else self.size
        self.size = self._clamp(max(1, base // 2))
        return self.size
