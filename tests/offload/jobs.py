"""Functions the offload tests hand to ``headroom.offload.submit`` (by dotted path)."""

from __future__ import annotations

import threading
import time
from pathlib import Path


def write_file(path: str, text: str) -> None:
    Path(path).write_text(text)


def fail(message: str) -> None:
    raise ValueError(message)


#: How many ``hold`` calls ran at the same time, at most.
concurrency = {"now": 0, "peak": 0, "calls": 0}
_lock = threading.Lock()


def hold(seconds: float) -> None:
    """Sleep, counting how many calls overlap."""
    with _lock:
        concurrency["now"] += 1
        concurrency["calls"] += 1
        concurrency["peak"] = max(concurrency["peak"], concurrency["now"])
    time.sleep(seconds)
    with _lock:
        concurrency["now"] -= 1
