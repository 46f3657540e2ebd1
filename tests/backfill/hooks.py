"""A throttle hook for the tests: waits while its flag file exists."""

from __future__ import annotations

import os
from pathlib import Path

FLAG = Path(os.environ.get("HEADROOM_TEST_THROTTLE_FLAG", "/nonexistent/headroom-flag"))


def flag_file(using: str) -> str | None:
    if FLAG.exists():
        return f"maintenance flag {FLAG.name} is set (database {using})"
    return None
