"""Settings of the processes the backfill tests start (CLI runs, Celery workers, migrate).

They reach the test's own databases: ``HEADROOM_TEST_SQLITE`` (a file),
``HEADROOM_TEST_PG_DB`` and ``HEADROOM_TEST_MARIADB_DB`` name them; ``HEADROOM_TEST_OPTIONS``
(JSON) is ``HEADROOM``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

_default: dict[str, Any] = dict(DATABASES["default"])  # type: ignore[arg-type]
_postgres: dict[str, Any] = dict(DATABASES["postgres"])  # type: ignore[arg-type]
_default["NAME"] = os.environ.get("HEADROOM_TEST_SQLITE", str(_default["NAME"]))
_mariadb: dict[str, Any] = dict(DATABASES["mariadb"])  # type: ignore[arg-type]
_postgres["NAME"] = os.environ.get("HEADROOM_TEST_PG_DB", str(_postgres["NAME"]))
_mariadb["NAME"] = os.environ.get("HEADROOM_TEST_MARIADB_DB", str(_mariadb["NAME"]))
DATABASES = {"default": _default, "postgres": _postgres, "mariadb": _mariadb}
HEADROOM: dict[str, object] = json.loads(os.environ.get("HEADROOM_TEST_OPTIONS", "{}"))
