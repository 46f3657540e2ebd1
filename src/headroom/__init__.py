"""django-headroom: find where a Django site will fall over before its users do."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
