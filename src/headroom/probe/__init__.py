"""In-request capture: SQL (every alias, fingerprinted), N+1s, slow queries, outbound HTTP,
email and response shape, cheap enough to leave on in production.

Add ``"headroom.probe.ProbeMiddleware"`` first in ``MIDDLEWARE``; read production mode's
figures with :func:`snapshot`. See docs/probe.md.
"""

from __future__ import annotations

from headroom.probe.aggregates import reset, snapshot
from headroom.probe.middleware import ProbeMiddleware
from headroom.probe.sql import fingerprint_sql
from headroom.probe.state import probe_errors_total

__all__ = ["ProbeMiddleware", "fingerprint_sql", "probe_errors_total", "reset", "snapshot"]
