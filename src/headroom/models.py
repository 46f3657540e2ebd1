"""The headroom app's own tables; each capability keeps its models in its own package."""

from __future__ import annotations

from headroom.backfill import checks as _backfill_checks  # noqa: F401  (registers the checks)
from headroom.backfill.models import BackfillBatch, BackfillFailure, BackfillRun

__all__ = ["BackfillBatch", "BackfillFailure", "BackfillRun"]
