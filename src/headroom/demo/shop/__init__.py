"""The demo shop's one app: catalogue, orders, checkout, accounts, staff pages."""

from __future__ import annotations


def fixed_mode() -> bool:
    """Whether the shop runs with its planted problems fixed (``HEADROOM_DEMO_FIXED=1``)."""
    from django.conf import settings

    return bool(getattr(settings, "HEADROOM_DEMO_FIXED", False))
