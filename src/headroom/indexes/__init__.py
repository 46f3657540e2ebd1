"""Indexes: proven advice for the missing ones, and an inventory of the ones that cost more
than they give. See docs/indexes.md.

Importing this package imports nothing heavy; the functions below load pglast and the
database machinery when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headroom.indexes.advisor import AdviceReport
    from headroom.indexes.inventory import InventoryReport
    from headroom.indexes.workload import Workload

__all__ = ["advise", "inventory"]


def advise(workload: Workload, alias: str = "default", **options: Any) -> AdviceReport:
    """Advise the indexes the planner proves would serve ``workload`` on database ``alias``.

    See :func:`headroom.indexes.advisor.advise` for the options.
    """
    from headroom.indexes.advisor import advise as run

    return run(workload, alias, **options)


def inventory(alias: str = "default", **options: Any) -> InventoryReport:
    """Unused, duplicate and invalid indexes of database ``alias``, mapped to the models.

    See :func:`headroom.indexes.inventory.inventory` for the options.
    """
    from headroom.indexes.inventory import inventory as run

    return run(alias, **options)
