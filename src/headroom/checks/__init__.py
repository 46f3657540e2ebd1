"""System checks tagged ``headroom``; importing this package registers them.

Every message lives in :mod:`headroom.checks.messages`, keyed by its id.
"""

from __future__ import annotations

from headroom.checks import deployment, settings_checks  # noqa: F401
from headroom.dbconfig import checks as dbconfig_checks  # noqa: F401
from headroom.migrationlint import checks as migrationlint_checks  # noqa: F401

TAG = "headroom"
