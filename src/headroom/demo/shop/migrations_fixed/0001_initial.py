"""The fixed shop starts from the same initial schema as the planted one: the same migration.

The migration loader reads the ``Migration`` class of each module in this package; this one
reuses the planted package's initial migration, so the two schemas cannot drift apart.
"""

from __future__ import annotations

import importlib

Migration = importlib.import_module("headroom.demo.shop.migrations.0001_initial").Migration
