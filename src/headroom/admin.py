"""The headroom app's admin pages; each capability registers its own."""

from __future__ import annotations

from headroom.backfill import admin as _backfill_admin  # noqa: F401
