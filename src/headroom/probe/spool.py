"""Capture mode's output: one JSON record per request, per docs/spool.md.

Each process appends to its own ``SPOOL_DIR/probe-<pid>.jsonl`` with a single ``write()`` per
record (under a lock, on a file opened with ``O_APPEND``), so records never interleave.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

#: The record format version; bump on an incompatible change and update docs/spool.md.
VERSION = 1
#: Longer strings in parameters are cut to this many characters.
MAX_PARAM_CHARS = 200

_lock = threading.Lock()
_file: tuple[int, str, int] | None = None  # (pid, path, fd)


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-safe data: parameters of any database driver, cut to size."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_PARAM_CHARS else value[:MAX_PARAM_CHARS] + "…"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if depth < 3:
        if isinstance(value, dict):
            return {str(k): jsonable(v, depth + 1) for k, v in list(value.items())[:50]}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [jsonable(v, depth + 1) for v in list(value)[:50]]
    text = str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[:MAX_PARAM_CHARS] + "…"


def spool_path(directory: str) -> str:
    return os.path.join(directory, f"probe-{os.getpid()}.jsonl")


def _fd(directory: str) -> int:
    global _file
    pid = os.getpid()
    path = spool_path(directory)
    if _file is not None and _file[0] == pid and _file[1] == path:
        return _file[2]
    if _file is not None and _file[0] == pid:
        os.close(_file[2])
    os.makedirs(directory, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    _file = (pid, path, fd)
    return fd


def write(directory: str, record: dict[str, Any]) -> None:
    """Append ``record`` as one line to this process's spool file in ``directory``."""
    line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
    with _lock:
        fd = _fd(directory)
        os.write(fd, line)


def close() -> None:
    """Close this process's spool file (tests, and before a fork)."""
    global _file
    with _lock:
        if _file is not None and _file[0] == os.getpid():
            os.close(_file[2])
        _file = None
